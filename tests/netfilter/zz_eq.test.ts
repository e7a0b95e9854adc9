import { readFileSync } from 'node:fs';
import { test, expect } from 'vitest';
import { parseNftJson } from '../../src/stack/netfilter/nft_json.js';
import { parseNftText } from '../../src/stack/netfilter/nft_text.js';
const F = '/work/main/tests/fixtures/netfilter/';
const strip = (r: any) => r.tables.map((t: any) => ({ ...t, source: '', file: '', chains: t.chains.map((c: any) => ({ ...c, base: c.base && { ...c.base, device: null }, rules: c.rules.map((x: any) => ({ exprs: x.exprs })) })), sets: t.sets.map((s: any) => ({ ...s, flags: s.flags.filter((f: string) => f !== 'dynamic') })) }));
test.each(['nft/demo', 'nft/constructs', 'ipt/docker28.nft', 'ipt/kube-proxy.nft', 'ipt/constructs4.nft', 'ipt/constructs6.nft', 'ipt/docker-old.nft'])('%s', (b) => {
  const w1: string[] = [], w2: string[] = [];
  const j = parseNftJson(readFileSync(F + b + '.json', 'utf8'), 'j', { allowUnsupported: true, warnings: w1 });
  const t = parseNftText(readFileSync(F + b + '.txt', 'utf8'), 't', { allowUnsupported: true, warnings: w2 });
  console.log(b, w1.length, w2.length, w2.join('\n'));
  expect(strip(t)).toEqual(strip(j));
});
