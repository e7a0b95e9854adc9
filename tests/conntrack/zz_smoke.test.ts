import { readFileSync } from 'node:fs';
import { test } from 'vitest';
import { ModelRouter, hex, toHex } from './helpers.js';
import { formatConntrack } from '../../src/stack/conntrack/index.js';
test('smoke', () => {
  const r = JSON.parse(readFileSync('/tmp/r1.json', 'utf8'));
  const m = new ModelRouter({ seed: 1 });
  for (const s of r.steps) {
    const out = m.forward(hex(s.sent), s.t);
    const lines = [...m.table.entries()].map((c) => formatConntrack(c, s.tList)).sort();
    console.log('K', s.ct.join('\n'), '\nM', lines.join('\n'), m.res.detail, m.counters);
    const rx = s.rx.c[0] ?? s.rx.s[0];
    console.log(rx === (out ? toHex(out) : undefined) ? 'bytes ok' : `bytes differ ${rx} ${out && toHex(out)}`);
  }
});
