// nft -j list ruleset → RulesetIR. Fixtures were made by the real nft 1.0.6 in a namespace
// (tests/fixtures/netfilter/make_fixtures.sh); the oracle snapshots are read in place.
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import type { ExprIR, RuleIR, RulesetIR } from '../../src/stack/netfilter/ir.js';
import { parseNftJson } from '../../src/stack/netfilter/nft_json.js';
import {
  accept, bw, cont, counter, ct, drop, eq, fib, goto, jump, m, mangle, meta, nat, ne, pay, pfx, ports, ret,
} from '../fixtures/netfilter/ir_builders.js';

const FIX = new URL('../fixtures/netfilter/', import.meta.url);
const read = (p: string): string => readFileSync(new URL(p, FIX), 'utf8');
const strict = () => ({ allowUnsupported: false, warnings: [] as string[] });

function rule(r: RulesetIR, family: string, table: string, chain: string, handle: number): RuleIR {
  const t = r.tables.find((x) => x.family === family && x.name === table);
  const c = t?.chains.find((x) => x.name === chain);
  const found = c?.rules.find((x) => x.handle === handle);
  if (!found) throw new Error(`no rule ${family} ${table} ${chain} #${handle}`);
  return found;
}

describe('datapath-facts §2 listing (real nft -j output)', () => {
  const r = parseNftJson(read('nft/demo.json'), 'nft.json', strict());

  test('whole ruleset, exactly', () => {
    const R = (handle: number, at: number, text: string, exprs: ExprIR[]): RuleIR => ({ handle, text, origin: `nft.json [${at}]`, exprs });
    const base = (type: 'filter' | 'nat', hook: 'input' | 'forward' | 'prerouting' | 'postrouting', prio: number, policy: 'accept' | 'drop') => ({
      type, hook, prio, policy, device: null,
    });
    expect(r).toEqual({
      tables: [
        {
          family: 'inet', name: 'demo', source: 'nft-json', file: 'nft.json',
          sets: [
            { name: 'allowed', type: 'ipv4_addr', map: null, flags: [], elems: ['10.99.0.2'], data: null },
            { name: 'portmap', type: 'inet_service', map: 'ipv4_addr', flags: [], elems: [8080], data: ['10.99.0.2'] },
          ],
          chains: [
            {
              name: 'input', base: base('filter', 'input', 0, 'drop'),
              rules: [
                R(8, 9, 'ct state established,related accept', [m(ct('state'), 'in', { set: ['established', 'related'] }), accept]),
                R(9, 10, 'iifname "lo" accept', [eq(meta('iifname'), 'lo'), accept]),
                R(10, 11, 'ip saddr @allowed tcp dport 22 counter accept', [
                  eq(pay('ip', 'saddr'), { ref: 'allowed' }), eq(pay('tcp', 'dport'), 22), counter, accept,
                ]),
                R(11, 12, 'tcp dport 23 reject with tcp reset', [eq(pay('tcp', 'dport'), 23), { op: 'reject', type: 'tcp reset', code: null }]),
                R(12, 13, 'ip daddr 192.0.2.0/24 goto logchain', [eq(pay('ip', 'daddr'), pfx('192.0.2.0', 24)), goto('logchain')]),
                R(13, 14, 'jump logchain', [jump('logchain')]),
              ],
            },
            {
              name: 'logchain', base: null,
              rules: [
                R(14, 15, 'log prefix "dropped: "', [{ op: 'log', prefix: 'dropped: ', level: null }]),
                R(15, 16, 'return', [ret]),
              ],
            },
            {
              name: 'forward', base: base('filter', 'forward', 0, 'accept'),
              rules: [
                R(17, 17, 'ip protocol vmap { tcp : accept, udp : drop }', [
                  { op: 'vmap', key: pay('ip', 'protocol'), map: [['tcp', accept], ['udp', drop]] },
                ]),
                R(18, 18, 'meta mark set 0x00000001 ct mark set meta mark', [
                  mangle(meta('mark'), null, 0, 1),
                  mangle(ct('mark'), meta('mark'), 0xffffffff, 0),
                ]),
                R(19, 19, 'ct state new limit rate 10/second counter', [
                  m(ct('state'), 'in', 'new'),
                  { op: 'limit', rate: 10, per: 'second', burst: 5, unit: 'packets', inv: false },
                  counter,
                ]),
              ],
            },
            {
              name: 'nat_pre', base: base('nat', 'prerouting', -100, 'accept'),
              rules: [
                R(20, 20, 'tcp dport 80 dnat ip to 10.99.0.2:8080', [eq(pay('tcp', 'dport'), 80), nat('dnat', { addr: '10.99.0.2' }, ports(8080), [], 'ip')]),
                R(21, 21, 'dnat ip to tcp dport map @portmap', [
                  nat('dnat', { map: { key: pay('tcp', 'dport'), data: { ref: 'portmap' } } }, null, [], 'ip'),
                ]),
                R(22, 22, 'tcp dport 8081 redirect to :8080', [eq(pay('tcp', 'dport'), 8081), nat('redirect', null, ports(8080))]),
              ],
            },
            {
              name: 'nat_post', base: base('nat', 'postrouting', 100, 'accept'),
              rules: [
                R(23, 23, 'oifname "br0" masquerade', [eq(meta('oifname'), 'br0'), nat('masquerade')]),
                R(24, 24, 'ip saddr 10.1.0.0/16 snat ip to 10.99.0.1', [eq(pay('ip', 'saddr'), pfx('10.1.0.0', 16)), nat('snat', { addr: '10.99.0.1' }, null, [], 'ip')]),
              ],
            },
          ],
        },
      ],
    });
  });

  test('rule text equals `nft list ruleset` with counters elided', () => {
    const lines = new Set(read('nft/demo.txt').split('\n').map((l) => l.trim().replace(/counter packets \d+ bytes \d+/g, 'counter')));
    for (const c of r.tables[0]!.chains) for (const x of c.rules) expect(lines, x.text).toContain(x.text);
  });
});

describe('one rule per construct (real nft -j output)', () => {
  const warnings: string[] = [];
  const r = parseNftJson(read('nft/constructs.json'), 'nft.json', { allowUnsupported: true, warnings });
  const M = 0xffffffff;
  const cases: Array<[string, string, string, number, ExprIR[]]> = [
    ['inet', 't', 'c', 14, [eq(meta('nfproto'), 'ipv4'), eq(ct('saddr', 'original'), '10.0.0.1'), eq(ct('daddr', 'reply'), '10.0.0.2'), accept]],
    ['inet', 't', 'c', 15, [eq(ct('direction'), 'original'), m(ct('status'), 'in', 'dnat'), accept]],
    ['inet', 't', 'c', 17, [ne(ct('state'), { set: ['established', 'related'] }), drop]],
    ['inet', 't', 'c', 19, [eq(bw(ct('mark'), 0xff), 1), accept]],
    ['inet', 't', 'c', 21, [ne(bw(meta('mark'), 0x4000), 0x4000), ret]],
    ['inet', 't', 'c', 22, [eq(fib(['daddr'], 'type'), 'local'), accept]],
    ['inet', 't', 'c', 23, [eq(fib(['saddr', 'iif'], 'oif'), 0), drop]], // oif missing
    ['inet', 't', 'c', 25, [ne(fib(['daddr', 'iif'], 'type'), { set: ['local', 'broadcast'] }), drop]],
    ['inet', 't', 'c', 26, [eq({ kind: 'numgen', mode: 'random', mod: 2, offset: 0 }, 0), accept]],
    ['inet', 't', 'c', 28, [{
      op: 'vmap', key: { kind: 'numgen', mode: 'inc', mod: 3, offset: 1 },
      map: [[1, jump('c2')], [2, goto('c2')], [3, cont]],
    }]],
    ['inet', 't', 'c', 30, [eq({ kind: 'concat', parts: [pay('ip', 'saddr'), pay('tcp', 'dport')] }, { set: [{ concat: ['10.0.0.1', 80] }, { concat: ['10.0.0.2', 443] }] }), accept]],
    ['inet', 't', 'c', 31, [eq({ kind: 'concat', parts: [pay('ip', 'saddr'), meta('l4proto'), pay('th', 'dport')] }, { ref: 'sc' }), accept]],
    ['inet', 't', 'c', 32, [{ op: 'vmap', key: pay('tcp', 'dport'), map: { ref: 'vm' } }]],
    ['inet', 't', 'c', 33, [ne(pay('tcp', 'dport'), { range: [1, 1024] }), accept]],
    ['inet', 't', 'c', 35, [eq(pay('tcp', 'dport'), { set: [80, 443, { range: [1000, 2000] }] }), accept]],
    ['inet', 't', 'c', 36, [eq(bw(pay('tcp', 'flags'), 0x12), 'syn'), accept]],
    ['inet', 't', 'c', 37, [m(pay('tcp', 'flags'), 'in', 'syn'), accept]],
    ['inet', 't', 'c', 38, [ne(bw(pay('tcp', 'flags'), 0x17), 'syn'), drop]],
    ['inet', 't', 'c', 39, [m(pay('ip', 'ttl'), '<', 5), drop]],
    ['inet', 't', 'c', 52, [eq(meta('iifname'), 'veth*'), accept]],
    ['inet', 't', 'c', 54, [ne(meta('iifname'), 'lo'), eq(meta('oifname'), { set: ['eth0', 'eth1'] }), accept]],
    ['inet', 't', 'c', 58, [mangle(meta('mark'), null, 0, 1)]],
    ['inet', 't', 'c', 59, [mangle(meta('mark'), null, ~0x4000 >>> 0, 0x4000)]], // | 0x4000
    ['inet', 't', 'c', 60, [mangle(meta('mark'), null, 0xffffbfff, 0)]], // & 0xffffbfff
    ['inet', 't', 'c', 61, [mangle(meta('mark'), null, M, 0x4000)]], // ^ 0x4000
    ['inet', 't', 'c', 63, [mangle(ct('mark'), null, 0xffff0000, 5)]], // ct mark & 0xffff0005 | 5
    ['inet', 't', 'c', 64, [mangle(meta('mark'), ct('mark'), 0xff, 0)]],
    ['inet', 't', 'c', 65, [mangle(meta('priority'), null, 0, 0x10002)]],
    ['inet', 't', 'c', 66, [mangle(meta('nftrace'), null, 0, 1)]],
    ['inet', 't', 'c', 69, [{ op: 'limit', rate: 1024 * 1024, per: 'second', burst: 0, unit: 'bytes', inv: true }, drop]],
    ['inet', 't', 'c', 70, [{ op: 'limit', rate: 100, per: 'minute', burst: 5, unit: 'packets', inv: false }]],
    ['inet', 't', 'c', 76, [{ op: 'reject', type: 'icmpx', code: 'port-unreachable' }]],
    ['inet', 't', 'c', 77, [{ op: 'reject', type: 'icmp', code: 'host-unreachable' }]],
    ['inet', 't', 'c', 80, [{ op: 'setupdate', verb: 'add', set: 'st', key: pay('ip', 'saddr') }]],
    ['inet', 't', 'c', 81, [{ op: 'setupdate', verb: 'update', set: 'st', key: pay('ip', 'saddr') }]],
    ['inet', 't', 'c', 83, [ne(pay('ip', 'saddr'), { ref: 's4' }), drop]],
    ['inet', 't', 'c', 85, [ne(pay('ip', 'saddr'), { range: ['10.0.0.0', '10.0.0.255'] }), drop]],
    ['inet', 't', 'c', 86, [eq(pay('ip6', 'saddr'), pfx('2001:db8::', 32)), drop]],
    ['inet', 't', 'c', 96, [eq(meta('l4proto'), 'tcp'), eq(ct('proto-dst', 'original'), 80), accept]],
    ['inet', 't', 'raw', 98, [{ op: 'notrack' }]],
    ['inet', 't', 'nat', 100, [eq(meta('l4proto'), 'tcp'), nat('dnat', { range: ['10.0.0.1', '10.0.0.5'] }, ports(80, 90), [], 'ip')]],
    ['inet', 't', 'nat', 101, [nat('dnat', { map: { key: { kind: 'concat', parts: [pay('ip', 'daddr'), pay('tcp', 'dport')] }, data: { ref: 'nm' } } }, null, [], 'ip')]],
    ['inet', 't', 'nat', 103, [nat('dnat', { map: { key: pay('tcp', 'dport'), data: { map: [[80, '10.0.0.1'], [81, '10.0.0.2']] } } }, null, [], 'ip')]],
    ['inet', 't', 'nat', 106, [nat('dnat', { addr: '10.0.0.1' }, null, ['random', 'persistent'], 'ip')]],
    ['inet', 't', 'nat', 110, [eq(meta('l4proto'), 'tcp'), nat('dnat', { addr: '2001:db8::1' }, ports(80), [], 'ip6')]],
    ['inet', 't', 'natpost', 112, [eq(meta('l4proto'), 'tcp'), nat('masquerade', null, ports(1000, 2000), ['random'])]],
    ['inet', 't', 'natpost', 117, [nat('snat', { map: { key: pay('ip', 'saddr'), data: { map: [[pfx('10.0.0.0', 24), pfx('192.168.0.0', 24)]] } } }, null, ['netmap'], 'ip')]],
    ['bridge', 'b', 'f', 2, [eq(meta('iifname'), 'veth0'), eq(pay('vlan', 'id'), 10), accept]],
    ['arp', 'a', 'i', 2, [eq(pay('arp', 'operation'), 'request'), accept]],
    ['ip', 't2', 'c', 5, [eq(pay('tcp', 'flags'), 0x12), accept]], // tcp flags == syn|ack
    ['ip', 't2', 'c', 6, [eq(bw(pay('tcp', 'flags'), 0x12), 0x12), accept]],
    ['ip', 't2', 'c', 7, [m(pay('tcp', 'flags'), 'in', { set: ['syn', 'ack'] }), accept]], // tcp flags syn,ack
    ['ip', 't2', 'c', 10, [m(meta('random'), '<', 100), accept]],
    ['ip', 't2', 'c', 11, [counter]], // counter name "cnt"
    ['ip', 't2', 'c', 12, [eq(bw(pay('ip', 'saddr'), 0x0000ff00), '0.0.1.0'), accept]],
    ['ip', 't2', 'c', 16, [ne(fib(['daddr'], 'oif'), 0), accept]], // oif exists
    ['ip', 't2', 'n', 23, [eq(pay('ip', 'daddr'), '10.0.0.1'), eq(meta('l4proto'), 'tcp'), nat('dnat', { addr: '10.0.0.2' }, ports(80))]],
    // nft 1.0.6 bytecode (nft --debug=netlink): `!= established,related` is `cmp neq 0x6`, an exact compare.
    ['ip', 't3', 'c', 2, [ne(ct('state'), 6), drop]],
    ['ip', 't3', 'c', 3, [ne(pay('tcp', 'flags'), 0x12), drop]],
    ['ip', 't3', 'c', 4, [ne(bw(pay('tcp', 'flags'), 0x12), 0x12), drop]],
    ['ip', 't3', 'c', 5, [eq(bw(pay('tcp', 'flags'), 0x12), 'syn'), accept]], // tcp flags syn / syn,ack
    ['ip', 't3', 'c', 6, [eq(bw(pay('tcp', 'flags'), 0x12), 0), drop]], // tcp flags ! syn,ack (op "!")
    ['ip', 't3', 'c', 7, [eq(bw(ct('status'), 0x20), 0), drop]], // ct status ! dnat
    ['ip', 't3', 'c', 8, [eq(meta('mark'), 16), accept]],
    ['ip', 't3', 'c', 10, [{ op: 'vmap', key: { kind: 'concat', parts: [pay('ip', 'saddr'), pay('ip', 'daddr')] }, map: [[{ concat: ['1.1.1.1', '2.2.2.2'] }, accept]] }]],
  ];
  test.each(cases)('%s %s %s #%i', (fam, table, chain, handle, exprs) => {
    expect(rule(r, fam, table, chain, handle).exprs).toEqual(exprs);
  });

  test('chains, priorities, sets', () => {
    const t = r.tables.find((x) => x.name === 't')!;
    expect(t.chains.map((c) => [c.name, c.base?.hook ?? null, c.base?.prio ?? null, c.base?.type ?? null])).toEqual([
      ['c2', null, null, null],
      ['c', 'forward', -10, 'filter'],
      ['raw', 'prerouting', -300, 'filter'],
      ['nat', 'prerouting', -100, 'nat'],
      ['natpost', 'postrouting', 100, 'nat'],
      ['out', 'output', -150, 'route'],
    ]);
    expect(t.sets).toEqual([
      { name: 's4', type: 'ipv4_addr', map: null, flags: ['interval'], elems: [pfx('10.0.0.0', 8), '172.16.0.1', { range: ['192.168.1.1', '192.168.1.9'] }], data: null },
      { name: 'sc', type: 'ipv4_addr . inet_proto . inet_service', map: null, flags: [], elems: [{ concat: ['10.0.0.2', 'udp', 53] }, { concat: ['10.0.0.1', 'tcp', 80] }], data: null },
      { name: 'st', type: 'ipv4_addr', map: null, flags: ['timeout'], elems: ['1.2.3.4'], data: null }, // {"elem":{"val":..., "timeout", "expires"}}
      { name: 'sci', type: 'ipv4_addr . inet_service', map: null, flags: ['interval'], elems: [{ concat: [pfx('10.0.0.0', 24), { range: [80, 90] }] }], data: null },
      { name: 'vm', type: 'inet_service', map: 'verdict', flags: [], elems: [22, 23, 24], data: [accept, drop, jump('c2')] },
      { name: 'nm', type: 'ipv4_addr . inet_service', map: 'ipv4_addr . inet_service', flags: [], elems: [{ concat: ['1.1.1.1', 80] }], data: [{ concat: ['10.0.0.1', 8080] }] },
      { name: 'mm', type: 'ipv4_addr', map: 'mark', flags: [], elems: ['1.1.1.1'], data: [16] },
    ]);
    const n = r.tables.find((x) => x.family === 'netdev')!;
    expect(n.chains[0]!.base).toEqual({ type: 'filter', hook: 'ingress', prio: 0, policy: 'accept', device: null }); // 1.0.6 omits the device
  });

  test('unsupported constructs drop their whole rule, with a warning naming the JSON path', () => {
    expect(warnings).toEqual([
      'nft.json [59].rule.expr[0].mangle.value: setting meta mark from a map lookup is not supported; rule inet t c handle 67 dropped',
      'nft.json [89].rule.expr[0]: statement "ct count" is not supported; rule inet t c handle 97 dropped',
      'nft.json [136].rule.expr[2].mangle.key: setting ip dscp is not supported (only meta mark, meta priority, meta nftrace and ct mark); rule ip t2 c handle 20 dropped',
      'nft.json [137].rule.expr[0].mangle.key: setting ct zone is not supported (only meta mark, meta priority, meta nftrace and ct mark); rule ip t2 c handle 21 dropped',
      'nft.json [138].rule.expr[0].match.left: expression "osf" is not supported; rule ip t2 c handle 22 dropped',
    ]);
    const c = r.tables.find((x) => x.name === 't2')!.chains[0]!;
    expect(c.rules.map((x) => x.handle)).not.toContain(22);
  });

  test('without allowUnsupported the first one is a ConfigError', () => {
    expect(() => parseNftJson(read('nft/constructs.json'), 'nft.json', strict())).toThrow(
      new ConfigError('nft.json', '[59].rule.expr[0].mangle.value', 'setting meta mark from a map lookup is not supported'),
    );
  });

  test('most rule texts equal `nft list ruleset`', () => {
    const lines = new Set(read('nft/constructs.txt').split('\n').map((l) => l.trim().replace(/counter packets \d+ bytes \d+/g, 'counter')));
    const all = r.tables.flatMap((t) => t.chains.flatMap((c) => c.rules));
    const same = all.filter((x) => lines.has(x.text));
    expect(same.length).toBeGreaterThanOrEqual(all.length - 8);
    expect(rule(r, 'ip', 't3', 'c', 2).text).toBe('ct state != established | related drop');
    expect(rule(r, 'inet', 't', 'natpost', 115).text).toBe('meta l4proto tcp snat ip to 1.2.3.4:1000-2000 fully-random,persistent');
    expect(rule(r, 'inet', 't', 'c', 20).text).toBe('meta mark & 0x00004000 == 0x00004000 accept');
  });
});

describe('oracle snapshots', () => {
  test('docker-egress host nft.json', () => {
    const text = readFileSync('/work/shared/oracle/docker-egress/truth/world/ns/host/nft.json', 'utf8');
    const r = parseNftJson(text, 'ns/host/nft.json', strict());
    expect(r.tables.map((t) => `${t.family} ${t.name}`)).toEqual(['inet oracle_trace', 'bridge oracle_trace', 'ip nat', 'ip filter']);
    expect(r.tables[1]!.chains[0]!.base).toEqual({ type: 'filter', hook: 'prerouting', prio: -300, policy: 'accept', device: null });
    expect(r.tables[0]!.chains[0]!.rules[0]).toEqual({
      handle: 3, text: 'meta nftrace set 1', origin: 'ns/host/nft.json [4]', exprs: [mangle(meta('nftrace'), null, 0, 1)],
    });
    expect(r.tables[2]!.chains[0]!.rules[0]).toEqual({
      handle: 2,
      text: 'ip saddr 172.17.0.0/16 oifname "eth0" counter masquerade',
      origin: 'ns/host/nft.json [13]',
      exprs: [eq(pay('ip', 'saddr'), pfx('172.17.0.0', 16)), eq(meta('oifname'), 'eth0'), counter, nat('masquerade')],
    });
    const fwd = r.tables[3]!.chains[0]!;
    expect(fwd.base?.policy).toBe('drop');
    expect(fwd.rules.map((x) => x.exprs)).toEqual([
      [m(ct('state'), 'in', { set: ['established', 'related'] }), counter, accept],
      [eq(pay('tcp', 'dport'), 25), counter, drop],
      [eq(meta('iifname'), 'br0'), eq(meta('oifname'), 'eth0'), counter, accept],
    ]);
  });

  test('policy-routing host nft.json', () => {
    const text = readFileSync('/work/shared/oracle/policy-routing/truth/world/ns/host/nft.json', 'utf8');
    const r = parseNftJson(text, 'nft.json', strict());
    const post = r.tables.find((t) => t.name === 'nat')!.chains[0]!;
    expect(post.rules.map((x) => x.text)).toEqual([
      'ip saddr 172.17.0.0/16 oifname != "br0" counter masquerade',
      'ip saddr 172.18.0.0/16 oifname != "br1" counter masquerade',
    ]);
    expect(post.rules[1]!.exprs).toEqual([eq(pay('ip', 'saddr'), pfx('172.18.0.0', 16)), ne(meta('oifname'), 'br1'), counter, nat('masquerade')]);
    expect(r.tables.find((t) => t.name === 'filter')!.chains[0]!.rules[0]!.exprs).toEqual([counter]);
  });
});

describe('iptables-nft tables keep their opaque xt expressions', () => {
  test('docker28 nft.json', () => {
    const r = parseNftJson(read('ipt/docker28.nft.json'), 'nft.json', strict());
    const post = r.tables.find((t) => t.name === 'nat')!.chains.find((c) => c.name === 'POSTROUTING')!;
    expect(post.rules[0]!.exprs).toEqual([
      ne(meta('oifname'), 'docker0'), eq(pay('ip', 'saddr'), pfx('172.17.0.0', 16)), counter, { op: 'xt', type: 'target', name: 'MASQUERADE' },
    ]);
    expect(post.rules[0]!.text).toBe('oifname != "docker0" ip saddr 172.17.0.0/16 counter xt target MASQUERADE');
  });
});

describe('refusals', () => {
  const doc = (expr: unknown[]): string =>
    JSON.stringify({
      nftables: [
        { metainfo: { json_schema_version: 1 } },
        { table: { family: 'ip', name: 't', handle: 1 } },
        { chain: { family: 'ip', table: 't', name: 'c', handle: 1, type: 'filter', hook: 'input', prio: 0, policy: 'accept' } },
        { rule: { family: 'ip', table: 't', chain: 'c', handle: 2, expr } },
      ],
    });

  test('unknown expression', () => {
    const j = doc([{ match: { op: '==', left: { payload: { protocol: 'tcp', field: 'dport' } }, right: 22 } }, { match: { op: '==', left: { osf: { key: 'name' } }, right: 'Linux' } }, { drop: null }]);
    expect(() => parseNftJson(j, 'nft.json', strict())).toThrow('nft.json [3].rule.expr[1].match.left: expression "osf" is not supported');
  });

  test('unknown statement', () => {
    expect(() => parseNftJson(doc([{ tproxy: { port: 1 } }]), 'nft.json', strict())).toThrow('nft.json [3].rule.expr[0]: statement "tproxy" is not supported');
  });

  test('raw payload expression', () => {
    const j = doc([{ match: { op: '==', left: { payload: { base: 'th', offset: 16, len: 16 } }, right: 1 } }]);
    expect(() => parseNftJson(j, 'nft.json', strict())).toThrow('raw payload expressions (base/offset/len) are not supported');
  });

  test('queue with bypass', () => {
    expect(() => parseNftJson(doc([{ queue: { num: 1, flags: ['bypass'] } }]), 'nft.json', strict())).toThrow('queue with "bypass"');
    expect(parseNftJson(doc([{ queue: { num: 1 } }]), 'nft.json', strict()).tables[0]!.chains[0]!.rules[0]!.exprs).toEqual([
      { op: 'verdict', verdict: 'queue', target: null },
    ]);
  });

  test('allowUnsupported drops the whole rule and keeps the others', () => {
    const warnings: string[] = [];
    const r = parseNftJson(doc([{ 'ct count': { val: 10 } }, { accept: null }]), 'nft.json', { allowUnsupported: true, warnings });
    expect(r.tables[0]!.chains[0]!.rules).toEqual([]);
    expect(warnings).toEqual(['nft.json [3].rule.expr[0]: statement "ct count" is not supported; rule ip t c handle 2 dropped']);
  });

  test('broken JSON names the file and what was expected', () => {
    let err: unknown;
    try {
      parseNftJson('{"nftables": [{"table": ', 'ns/host/nft.json', strict());
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(/^ns\/host\/nft\.json: not valid JSON \(.+\); expected the output of `nft -j list ruleset`$/);
  });

  test('JSON that is not an nft listing', () => {
    expect(() => parseNftJson('[1,2]', 'nft.json', strict())).toThrow('nft.json: expected a JSON object {"nftables": [...]}');
  });

  test('malformed structure is an error even with allowUnsupported', () => {
    const j = JSON.stringify({ nftables: [{ chain: { family: 'ip', table: 'nope', name: 'c' } }] });
    expect(() => parseNftJson(j, 'nft.json', { allowUnsupported: true, warnings: [] })).toThrow('nft.json [0].chain: table ip nope is not declared before its use');
    const k = JSON.stringify({ nftables: [{ table: { family: 'ip', name: 't' } }, { chain: { family: 'ip', table: 't', name: 'c', type: 'filter', hook: 'input', prio: 0, policy: 'queue' } }] });
    expect(() => parseNftJson(k, 'nft.json', { allowUnsupported: true, warnings: [] })).toThrow('nft.json [1].chain.policy: policy "queue" is not supported');
  });
});
