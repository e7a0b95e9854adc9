// Hostile input: whatever the text, the ruleset parsers either return or throw ConfigError.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { parseIptablesSave } from '../../src/stack/netfilter/iptables_save.js';
import { parseNftJson } from '../../src/stack/netfilter/nft_json.js';
import { parseNftText } from '../../src/stack/netfilter/nft_text.js';

const FIX = new URL('../fixtures/netfilter/', import.meta.url);
const read = (p: string): string => readFileSync(new URL(p, FIX), 'utf8');

function onlyConfigError(f: () => unknown): void {
  try {
    f();
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
  }
}

/** Words of real inputs, recombined: close enough to the grammar to get deep into the parsers. */
function vocabulary(text: string): string[] {
  return [...new Set(text.split(/\s+/).filter((w) => w !== ''))];
}

describe('only ConfigError escapes', () => {
  const opts = (allowUnsupported: boolean) => ({ allowUnsupported, warnings: [] as string[] });

  test('iptables-save: lines recombined from real rules', () => {
    const words = vocabulary(read('ipt/constructs4.save') + read('ipt/kube-proxy.save'));
    const line = fc.array(fc.constantFrom(...words), { maxLength: 14 }).map((ws) => `-A INPUT ${ws.join(' ')}`);
    fc.assert(
      fc.property(fc.array(line, { maxLength: 5 }), fc.boolean(), (lines, allow) => {
        const text = `*filter\n:INPUT ACCEPT [0:0]\n:USER - [0:0]\n${lines.join('\n')}\nCOMMIT\n`;
        onlyConfigError(() => parseIptablesSave(text, 'iptables.txt', 'ip', opts(allow)));
        onlyConfigError(() => parseIptablesSave(text, 'ip6tables.txt', 'ip6', opts(allow)));
      }),
      { numRuns: 3000 },
    );
  });

  test('iptables-save: arbitrary text', () => {
    fc.assert(fc.property(fc.string({ maxLength: 300 }), (s) => onlyConfigError(() => parseIptablesSave(s, 'f', 'ip', opts(true)))), { numRuns: 2000 });
  });

  test('nft JSON: real rule expressions with parts replaced by random JSON', () => {
    const doc = JSON.parse(read('nft/constructs.json')) as { nftables: unknown[] };
    const rules = doc.nftables.filter((o) => typeof o === 'object' && o !== null && 'rule' in o);
    fc.assert(
      fc.property(fc.nat(rules.length - 1), fc.jsonValue({ maxDepth: 3 }), fc.nat(50), fc.boolean(), (i, junk, where, allow) => {
        const r = structuredClone(rules[i]) as { rule: { expr: unknown[] } };
        const paths: Array<[Record<string, unknown> | unknown[], string | number]> = [];
        const walk = (v: unknown): void => {
          if (Array.isArray(v)) v.forEach((x, k) => (paths.push([v, k]), walk(x)));
          else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) (paths.push([v as Record<string, unknown>, k]), walk(x));
        };
        walk(r.rule.expr);
        if (paths.length) {
          const [holder, key] = paths[where % paths.length]!;
          (holder as Record<string | number, unknown>)[key] = junk;
        }
        const text = JSON.stringify({ nftables: [...doc.nftables.filter((o) => !(typeof o === 'object' && o !== null && 'rule' in o)), r] });
        onlyConfigError(() => parseNftJson(text, 'nft.json', opts(allow)));
      }),
      { numRuns: 3000 },
    );
  });

  test('nft JSON: arbitrary JSON', () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 5 }), (j) => onlyConfigError(() => parseNftJson(JSON.stringify({ nftables: j }), 'f', opts(true)))), { numRuns: 2000 });
  });

  test('nft text: rules recombined from real listings', () => {
    const words = vocabulary(read('nft/constructs.txt') + read('nft/lab.nft'));
    const rule = fc.array(fc.constantFrom(...words, '{', '}', ',', ';', '.', ':', '==', '!=', '&', '|', '(', ')'), { maxLength: 12 }).map((ws) => ws.join(' '));
    fc.assert(
      fc.property(fc.array(rule, { maxLength: 4 }), fc.boolean(), (rules, allow) => {
        const text = `table inet t {\n set s { type ipv4_addr; }\n chain c {\n  type filter hook input priority 0;\n  ${rules.join('\n  ')}\n }\n}\n`;
        onlyConfigError(() => parseNftText(text, 'lab.nft', opts(allow)));
      }),
      { numRuns: 3000 },
    );
  });

  test('nft text: arbitrary text', () => {
    fc.assert(fc.property(fc.string({ maxLength: 300 }), (s) => onlyConfigError(() => parseNftText(s, 'f', opts(true)))), { numRuns: 2000 });
  });

  test('the parsers still work afterwards', () => {
    expect(parseNftText(read('nft/demo.txt'), 'f', opts(false)).tables).toHaveLength(1);
  });
});
