// nft ruleset text → RulesetIR, checked against the real nft: each tests/fixtures/netfilter/nft/X.nft
// was loaded with `nft -f` in a namespace and listed as X.json (nft -j), X.txt (nft list) and
// X.handles.txt (nft -a list) by make_fixtures.sh. Parsing any of the text forms must give the IR that
// parsing nft's own JSON gives.
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import type { RulesetIR } from '../../src/stack/netfilter/ir.js';
import { parseNftJson } from '../../src/stack/netfilter/nft_json.js';
import { parseNftText } from '../../src/stack/netfilter/nft_text.js';
import { accept, counter, ct, drop, eq, mangle, meta, nat, ne, pay, pfx } from '../fixtures/netfilter/ir_builders.js';

const FIX = new URL('../fixtures/netfilter/', import.meta.url);
const read = (p: string): string => readFileSync(new URL(p, FIX), 'utf8');
const strict = () => ({ allowUnsupported: false, warnings: [] as string[] });
const lenient = () => ({ allowUnsupported: true, warnings: [] as string[] });

const byJson = (v: unknown): string => JSON.stringify(v);
/** Order-insensitive where nft reorders (set elements, anonymous maps, NAT flags). */
function canon(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canon);
  if (v === null || typeof v !== 'object') return v;
  const o: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) o[k] = canon(x);
  if (Array.isArray(o.set)) o.set = [...o.set].sort((a, b) => (byJson(a) < byJson(b) ? -1 : 1));
  if (o.op === 'nat') o.flags = [...(o.flags as string[])].sort();
  if (o.op === 'vmap' && Array.isArray(o.map)) o.map = [...o.map].sort((a, b) => (byJson(a) < byJson(b) ? -1 : 1));
  if (Array.isArray(o.elems)) {
    const e = o.elems;
    const d = o.data as unknown[] | null;
    const idx = e.map((_, i) => i).sort((a, b) => (byJson(e[a]) < byJson(e[b]) ? -1 : 1));
    o.elems = idx.map((i) => e[i]);
    if (d) o.data = idx.map((i) => d[i]);
  }
  return o;
}

/**
 * The IR without what legitimately differs between the forms: text/origin/source/file, and two things
 * nft 1.0.6 leaves out of its JSON (the `dynamic` set flag, the netdev chain's device).
 */
function comparable(r: RulesetIR, handles: boolean): unknown {
  return canon(
    r.tables.map((t) => ({
      family: t.family,
      name: t.name,
      chains: t.chains.map((c) => ({
        name: c.name,
        base: c.base && { ...c.base, device: null },
        rules: c.rules.map((x) => (handles ? { handle: x.handle, exprs: x.exprs } : { exprs: x.exprs })),
      })),
      sets: t.sets.map((s) => ({ ...s, flags: s.flags.filter((f) => f !== 'dynamic') })),
    })),
  );
}

describe('text and nft -j give the same IR (real nft)', () => {
  const cases = ['demo', 'constructs', 'lab'];
  test.each(cases)('nft/%s.nft (the source as written) ≡ its nft -j listing', (b) => {
    const fromJson = parseNftJson(read(`nft/${b}.json`), 'nft.json', lenient());
    const wt = lenient();
    const fromText = parseNftText(read(`nft/${b}.nft`), `${b}.nft`, wt);
    expect(comparable(fromText, false)).toEqual(comparable(fromJson, false));
  });
  test.each(cases)('nft/%s.txt (nft list ruleset) ≡ its nft -j listing', (b) => {
    const fromJson = parseNftJson(read(`nft/${b}.json`), 'nft.json', lenient());
    expect(comparable(parseNftText(read(`nft/${b}.txt`), 'nft.txt', lenient()), false)).toEqual(comparable(fromJson, false));
  });
  test.each(cases)('nft/%s.handles.txt (nft -a list ruleset) ≡ its nft -j listing, handles included', (b) => {
    const fromJson = parseNftJson(read(`nft/${b}.json`), 'nft.json', lenient());
    expect(comparable(parseNftText(read(`nft/${b}.handles.txt`), 'nft.txt', lenient()), true)).toEqual(comparable(fromJson, true));
  });
  test.each(['docker-egress', 'policy-routing'])('oracle %s: nft.txt and nft -a output ≡ nft.json', (s) => {
    const o = `/work/shared/oracle/${s}`;
    const fromJson = parseNftJson(readFileSync(`${o}/truth/world/ns/host/nft.json`, 'utf8'), 'nft.json', strict());
    expect(comparable(parseNftText(readFileSync(`${o}/truth/world/ns/host/nft.txt`, 'utf8'), 'nft.txt', strict()), false)).toEqual(comparable(fromJson, false));
    expect(comparable(parseNftText(readFileSync(`${o}/config/host/nft-ruleset.nft`, 'utf8'), 'nft.txt', strict()), true)).toEqual(comparable(fromJson, true));
  });

  test('refusals are the same rules, found at their line and column', () => {
    const wj = lenient();
    parseNftJson(read('nft/constructs.json'), 'nft.json', wj);
    const wt = lenient();
    parseNftText(read('nft/constructs.nft'), 'constructs.nft', wt);
    expect(wt.warnings).toEqual([
      'constructs.nft line 57 col 5: setting meta mark from a map lookup is not supported; rule in inet t c dropped',
      'constructs.nft line 87 col 5: statement "ct count" is not supported; rule in inet t c dropped',
      'constructs.nft line 148 col 40: setting ip dscp is not supported (only meta mark, meta priority, meta nftrace and ct mark); rule in ip t2 c dropped',
      'constructs.nft line 149 col 5: setting ct zone is not supported (only meta mark, meta priority, meta nftrace and ct mark); rule in ip t2 c dropped',
      'constructs.nft line 150 col 5: expression "osf" is not supported; rule in ip t2 c dropped',
    ]);
    expect(wt.warnings).toHaveLength(wj.warnings.length);
    const lab = lenient();
    parseNftText(read('nft/lab.nft'), 'lab.nft', lab);
    expect(lab.warnings).toEqual(['lab.nft line 31 col 27: expression "tcp option" is not supported; rule in inet fw forward dropped']);
  });
});

describe('lab file details', () => {
  const r = parseNftText(read('nft/lab.nft'), 'lab.nft', lenient());
  const chain = (t: string, c: string) => r.tables.find((x) => x.name === t)!.chains.find((x) => x.name === c)!;

  test('variables, priorities with arithmetic, one-line blocks, commands', () => {
    expect(chain('fw', 'forward').rules[1]).toEqual({
      handle: 2,
      text: 'ip saddr $LAN_NET oifname $WAN accept',
      origin: 'lab.nft:29',
      exprs: [eq(pay('ip', 'saddr'), pfx('192.168.1.0', 24)), eq(meta('oifname'), 'eth0'), accept],
    });
    expect(chain('fw', 'input').rules[5]!.exprs[0]).toEqual(eq(pay('tcp', 'dport'), { set: [80, 443] }));
    expect(chain('extra', 'mark_in').base).toEqual({ type: 'filter', hook: 'prerouting', prio: -145, policy: 'accept', device: null });
    expect(chain('br', 'pre').base?.prio).toBe(-300); // bridge dstnat
    expect(chain('br', 'forward_br').base?.prio).toBe(-190); // bridge filter + 10
    expect(chain('ingress', 'lo_in').base).toEqual({ type: 'filter', hook: 'ingress', prio: -500, policy: 'accept', device: 'lo' });
    // `insert rule` goes first; handles are rule numbers in the file's order when nft gave none
    expect(chain('extra', 'mark_in').rules.map((x) => [x.handle, x.exprs])).toEqual([
      [2, [{ op: 'match', left: meta('iifname'), cmp: '==', right: 'veth*' }, mangle(meta('mark'), null, 0, 1)]],
      [1, [ne(ct('mark'), 0), mangle(meta('mark'), ct('mark'), 0xffffffff, 0)]],
      [3, [ne(pay('ip', 'saddr'), { ref: 'seen' }), { op: 'setupdate', verb: 'add', set: 'seen', key: pay('ip', 'saddr') }]],
    ]);
    expect(r.tables.find((t) => t.name === 'extra')!.sets).toEqual([
      { name: 'seen', type: 'ipv4_addr', map: null, flags: ['dynamic'], elems: ['10.0.0.1'], data: null },
    ]);
    expect(chain('fw', 'prerouting').rules[0]!.exprs).toEqual([
      eq(meta('iifname'), 'eth0'),
      nat('dnat', { map: { key: pay('tcp', 'dport'), data: { ref: 'fwd_ports' } } }, null, [], 'ip'),
    ]);
  });

  test('explicit protocol matches before a header match are folded as nft folds them', () => {
    // `meta l4proto icmp icmp type echo-request` is stored by nft as `icmp type echo-request`.
    expect(chain('fw', 'input').rules[3]!.exprs).toEqual([
      eq(pay('icmp', 'type'), 'echo-request'),
      { op: 'limit', rate: 5, per: 'second', burst: 5, unit: 'packets', inv: false },
      accept,
    ]);
    expect(chain('br', 'pre').rules[1]!.exprs).toEqual([eq(pay('ip', 'daddr'), pfx('10.1.0.0', 16)), eq(meta('pkttype'), 'broadcast'), drop]);
  });
});

describe('errors name line and column', () => {
  const err = (text: string): string => {
    try {
      parseNftText(text, 'lab.nft', strict());
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      return (e as Error).message;
    }
    throw new Error('no error');
  };

  test.each([
    ['table ip t {\n  chain c {\n    type filter hook input priority 0;\n    tcp dport 22 osf name "Linux" drop\n  }\n}\n', 'lab.nft line 4 col 18: expression "osf" is not supported'],
    ['table ip t {\n  chain c {\n    tcp dport 22 frobnicate\n  }\n}\n', 'lab.nft line 3 col 18: unknown expression "frobnicate"'],
    ['table ip t {\n  chain c {\n    type filter hook input priority fitler;\n  }\n}\n', 'lab.nft line 3 col 37: unknown priority name "fitler" for family ip (raw, mangle, dstnat, filter, security, srcnat)'],
    ['table ip t {\n  chain c {\n    type filter hook sideways priority 0;\n  }\n}\n', 'lab.nft line 3 col 22: hook "sideways" is not supported'],
    ['table ip t {\n  chain c {\n    iifname "eth0 accept\n  }\n}\n', 'lab.nft line 3 col 13: unterminated string'],
    ['table ip t {\n  chain c {\n    ip saddr $NET accept\n  }\n}\n', 'lab.nft line 3 col 14: variable $NET is not defined'],
    ['include "other.nft"\n', 'lab.nft line 1 col 1: include is not supported: put the included rules in this file'],
    ['table ip t {\n  chain c {\n    accept\n', 'lab.nft end of file: chain c: missing "}"'],
    ['table ip t {\n  set s { type ipv4_addr; elements = { 1.2.3.4 } }\n  chain c { ip saddr @s tcp dport 22 ct count 3 drop; }\n}\n', 'lab.nft line 3 col 38: statement "ct count" is not supported'],
  ])('%#', (text, msg) => expect(err(text)).toBe(msg));

  test('with allowUnsupported the rule is dropped and parsing goes on', () => {
    const w = lenient();
    const r = parseNftText('table ip t {\n  chain c {\n    tcp dport 22 osf name "Linux" drop\n    tcp dport 23 counter drop\n  }\n}\n', 'lab.nft', w);
    expect(w.warnings).toEqual(['lab.nft line 3 col 18: expression "osf" is not supported; rule in ip t c dropped']);
    expect(r.tables[0]!.chains[0]!.rules).toEqual([
      { handle: 2, text: 'tcp dport 23 counter drop', origin: 'lab.nft:4', exprs: [eq(pay('tcp', 'dport'), 23), counter, drop] },
    ]);
  });
});
