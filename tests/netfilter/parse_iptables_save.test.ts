// iptables-save / ip6tables-save → RulesetIR. The *.save fixtures are real iptables-save output of the
// *.rules files loaded with iptables-nft-restore in a namespace (tests/fixtures/netfilter/make_fixtures.sh).
import { kubeProxyRuleset } from '../../src/bench/kube_gen.js';
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import type { ExprIR, RulesetIR, TableIR } from '../../src/stack/netfilter/ir.js';
import { parseIptablesSave, tokenize } from '../../src/stack/netfilter/iptables_save.js';
import {
  accept, bw, counter, ct, drop, eq, fib, goto, jump, m, mangle, meta, nat, ne, pay, pfx, ports, ret,
} from '../fixtures/netfilter/ir_builders.js';

const FIX = new URL('../fixtures/netfilter/', import.meta.url);
const read = (p: string): string => readFileSync(new URL(p, FIX), 'utf8');
const strict = () => ({ allowUnsupported: false, warnings: [] as string[] });
const M = 0xffffffff;

function table(r: RulesetIR, name: string): TableIR {
  const t = r.tables.find((x) => x.name === name);
  if (!t) throw new Error(`no table ${name}`);
  return t;
}
function exprs(r: RulesetIR, tname: string, chain: string, n: number): ExprIR[] {
  const c = table(r, tname).chains.find((x) => x.name === chain);
  const found = c?.rules.find((x) => x.handle === n);
  if (!found) throw new Error(`no rule ${tname} ${chain} #${n}`);
  return found.exprs;
}

describe('Docker 28.x (iptables-nft, real iptables-save)', () => {
  const r = parseIptablesSave(read('ipt/docker28.save'), 'iptables.txt', 'ip', strict());
  const base = (type: 'filter' | 'nat', hook: string, prio: number, policy: 'accept' | 'drop' = 'accept') => ({ type, hook, prio, policy, device: null });
  const user = (name: string) => ({ name, base: null });

  test('tables and chains, with the kernel iptables priorities', () => {
    expect(r.tables.map((t) => [t.family, t.name, t.source, t.file])).toEqual([
      ['ip', 'raw', 'iptables-save', 'iptables.txt'],
      ['ip', 'filter', 'iptables-save', 'iptables.txt'],
      ['ip', 'nat', 'iptables-save', 'iptables.txt'],
    ]);
    const strip = (t: TableIR) => t.chains.map((c) => ({ name: c.name, base: c.base }));
    expect(strip(table(r, 'raw'))).toEqual([
      { name: 'PREROUTING', base: base('filter', 'prerouting', -300) },
      { name: 'OUTPUT', base: base('filter', 'output', -300) },
    ]);
    expect(strip(table(r, 'filter'))).toEqual([
      { name: 'INPUT', base: base('filter', 'input', 0) },
      { name: 'FORWARD', base: base('filter', 'forward', 0, 'drop') },
      { name: 'OUTPUT', base: base('filter', 'output', 0) },
      user('DOCKER'), user('DOCKER-BRIDGE'), user('DOCKER-CT'), user('DOCKER-FORWARD'),
      user('DOCKER-ISOLATION-STAGE-1'), user('DOCKER-ISOLATION-STAGE-2'), user('DOCKER-USER'),
    ]);
    expect(strip(table(r, 'nat'))).toEqual([
      { name: 'PREROUTING', base: base('nat', 'prerouting', -100) },
      { name: 'INPUT', base: base('nat', 'input', 100) },
      { name: 'OUTPUT', base: base('nat', 'output', -100) },
      { name: 'POSTROUTING', base: base('nat', 'postrouting', 100) },
      user('DOCKER'),
    ]);
  });

  test('every rule, exactly', () => {
    const rules = (t: string) => table(r, t).chains.flatMap((c) => c.rules.map((x) => [c.name, x.handle, x.text, x.exprs]));
    const tcp = eq(meta('l4proto'), 'tcp');
    expect(rules('raw')).toEqual([
      ['PREROUTING', 1, '-d 172.17.0.2/32 ! -i docker0 -j DROP', [ne(meta('iifname'), 'docker0'), eq(pay('ip', 'daddr'), '172.17.0.2'), counter, drop]],
    ]);
    expect(rules('filter')).toEqual([
      ['FORWARD', 1, '-j DOCKER-USER', [counter, jump('DOCKER-USER')]],
      ['FORWARD', 2, '-j DOCKER-FORWARD', [counter, jump('DOCKER-FORWARD')]],
      ['DOCKER', 1, '-d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT', [
        ne(meta('iifname'), 'docker0'), eq(meta('oifname'), 'docker0'), eq(pay('ip', 'daddr'), '172.17.0.2'), tcp, eq(pay('tcp', 'dport'), 80), counter, accept,
      ]],
      ['DOCKER', 2, '! -i docker0 -o docker0 -j DROP', [ne(meta('iifname'), 'docker0'), eq(meta('oifname'), 'docker0'), counter, drop]],
      ['DOCKER-BRIDGE', 1, '-o docker0 -j DOCKER', [eq(meta('oifname'), 'docker0'), counter, jump('DOCKER')]],
      ['DOCKER-CT', 1, '-o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT', [
        eq(meta('oifname'), 'docker0'), m(ct('state'), 'in', { set: ['related', 'established'] }), counter, accept,
      ]],
      ['DOCKER-FORWARD', 1, '-j DOCKER-CT', [counter, jump('DOCKER-CT')]],
      ['DOCKER-FORWARD', 2, '-j DOCKER-ISOLATION-STAGE-1', [counter, jump('DOCKER-ISOLATION-STAGE-1')]],
      ['DOCKER-FORWARD', 3, '-j DOCKER-BRIDGE', [counter, jump('DOCKER-BRIDGE')]],
      ['DOCKER-FORWARD', 4, '-i docker0 -j ACCEPT', [eq(meta('iifname'), 'docker0'), counter, accept]],
      ['DOCKER-ISOLATION-STAGE-1', 1, '-i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2', [
        eq(meta('iifname'), 'docker0'), ne(meta('oifname'), 'docker0'), counter, jump('DOCKER-ISOLATION-STAGE-2'),
      ]],
      ['DOCKER-ISOLATION-STAGE-2', 1, '-o docker0 -j DROP', [eq(meta('oifname'), 'docker0'), counter, drop]],
      ['DOCKER-USER', 1, '-j RETURN', [counter, ret]],
    ]);
    expect(rules('nat')).toEqual([
      ['PREROUTING', 1, '-m addrtype --dst-type LOCAL -j DOCKER', [eq(fib(['daddr'], 'type'), 'local'), counter, jump('DOCKER')]],
      ['OUTPUT', 1, '! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER', [
        ne(pay('ip', 'daddr'), pfx('127.0.0.0', 8)), eq(fib(['daddr'], 'type'), 'local'), counter, jump('DOCKER'),
      ]],
      ['POSTROUTING', 1, '-s 172.17.0.0/16 ! -o docker0 -j MASQUERADE', [
        ne(meta('oifname'), 'docker0'), eq(pay('ip', 'saddr'), pfx('172.17.0.0', 16)), counter, nat('masquerade'),
      ]],
      ['DOCKER', 1, '-i docker0 -j RETURN', [eq(meta('iifname'), 'docker0'), counter, ret]],
      ['DOCKER', 2, '! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80', [
        ne(meta('iifname'), 'docker0'), tcp, eq(pay('tcp', 'dport'), 8080), counter, nat('dnat', { addr: '172.17.0.2' }, ports(80)),
      ]],
    ]);
  });

  test('origins are file:line', () => {
    const lines = read('ipt/docker28.save').split('\n');
    for (const t of r.tables) for (const c of t.chains) for (const x of c.rules) {
      const n = Number(x.origin.split(':')[1]);
      expect(x.origin).toBe(`iptables.txt:${n}`);
      expect(lines[n - 1]).toBe(`-A ${c.name} ${x.text}`);
    }
  });

  test('iptables-save -c gives the same IR', () => {
    const rc = parseIptablesSave(read('ipt/docker28.save-c'), 'iptables.txt', 'ip', strict());
    const noOrigin = (x: RulesetIR) => x.tables.map((t) => t.chains.map((c) => [c.name, c.base, c.rules.map((y) => [y.handle, y.text, y.exprs])]));
    expect(noOrigin(rc)).toEqual(noOrigin(r));
  });
});

describe('pre-28 Docker and kube-proxy (real iptables-save)', () => {
  test('old Docker FORWARD', () => {
    const r = parseIptablesSave(read('ipt/docker-old.save-c'), 'iptables.txt', 'ip', strict());
    const fwd = table(r, 'filter').chains.find((c) => c.name === 'FORWARD')!;
    expect(fwd.base?.policy).toBe('drop');
    expect(fwd.rules.map((x) => x.exprs)).toEqual([
      [counter, jump('DOCKER-USER')],
      [counter, jump('DOCKER-ISOLATION-STAGE-1')],
      [eq(meta('oifname'), 'docker0'), m(ct('state'), 'in', { set: ['related', 'established'] }), counter, accept],
      [eq(meta('oifname'), 'docker0'), counter, jump('DOCKER')],
      [eq(meta('iifname'), 'docker0'), ne(meta('oifname'), 'docker0'), counter, accept],
      [eq(meta('iifname'), 'docker0'), eq(meta('oifname'), 'docker0'), counter, accept],
    ]);
    expect(exprs(r, 'nat', 'POSTROUTING', 2)).toEqual([
      eq(pay('ip', 'saddr'), '172.17.0.2'), eq(pay('ip', 'daddr'), '172.17.0.2'), eq(meta('l4proto'), 'tcp'), eq(pay('tcp', 'dport'), 80), counter, nat('masquerade'),
    ]);
  });

  test('kube-proxy nat and filter', () => {
    const r = parseIptablesSave(read('ipt/kube-proxy.save'), 'iptables.txt', 'ip', strict());
    expect(exprs(r, 'nat', 'KUBE-MARK-MASQ', 1)).toEqual([counter, mangle(meta('mark'), null, ~0x4000 >>> 0, 0x4000)]); // --or-mark 0x4000
    expect(exprs(r, 'nat', 'KUBE-POSTROUTING', 1)).toEqual([ne(bw(meta('mark'), 0x4000), 0x4000), counter, ret]);
    expect(exprs(r, 'nat', 'KUBE-POSTROUTING', 2)).toEqual([counter, mangle(meta('mark'), null, M, 0x4000)]); // --xor-mark 0x4000
    expect(exprs(r, 'nat', 'KUBE-POSTROUTING', 3)).toEqual([counter, nat('masquerade', null, null, ['fully-random'])]);
    expect(exprs(r, 'nat', 'KUBE-SVC-4SW47YFZTEDKD3PK', 1)).toEqual([
      ne(pay('ip', 'saddr'), pfx('10.0.0.0', 8)), eq(pay('ip', 'daddr'), '172.30.0.44'), eq(meta('l4proto'), 'tcp'), eq(pay('tcp', 'dport'), 80), counter, jump('KUBE-MARK-MASQ'),
    ]);
    expect(exprs(r, 'nat', 'KUBE-SVC-4SW47YFZTEDKD3PK', 2)).toEqual([
      { op: 'statistic', mode: 'random', probability: 0.5, every: 0, packet: 0, inv: false }, counter, jump('KUBE-SEP-UKSFD7AGPMPPLUHC'),
    ]);
    expect(exprs(r, 'nat', 'KUBE-SEP-UKSFD7AGPMPPLUHC', 2)).toEqual([eq(meta('l4proto'), 'tcp'), counter, nat('dnat', { addr: '10.180.0.4' }, ports(80))]);
    expect(exprs(r, 'nat', 'KUBE-SERVICES', 2)).toEqual([eq(fib(['daddr'], 'type'), 'local'), counter, jump('KUBE-NODEPORTS')]);
    expect(table(r, 'nat').chains.find((c) => c.name === 'KUBE-SERVICES')!.rules[1]!.text).toBe(
      '-m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS',
    );
    expect(exprs(r, 'filter', 'KUBE-FORWARD', 1)).toEqual([m(ct('state'), 'in', 'invalid'), counter, drop]);
    expect(exprs(r, 'filter', 'KUBE-FORWARD', 2)).toEqual([eq(bw(meta('mark'), 0x4000), 0x4000), counter, accept]);
  });

  test('kube-proxy restore input (option order as kube-proxy writes it) gives the same rules as the saved form', () => {
    // -m tcp -p tcp -d X --dport 80: options after -m tcp still belong to it.
    const r = parseIptablesSave(read('ipt/kube-proxy.rules'), 'rules', 'ip', strict());
    expect(exprs(r, 'nat', 'KUBE-SERVICES', 1)).toEqual([
      eq(pay('ip', 'daddr'), '172.30.0.44'), eq(meta('l4proto'), 'tcp'), eq(pay('tcp', 'dport'), 80), counter, jump('KUBE-SVC-4SW47YFZTEDKD3PK'),
    ]);
    expect(exprs(r, 'nat', 'KUBE-MARK-MASQ', 1)).toEqual([counter, mangle(meta('mark'), null, ~0x4000 >>> 0, 0x4000)]);
  });
});

describe('one rule per construct (real iptables-save)', () => {
  const warnings: string[] = [];
  const r4 = parseIptablesSave(read('ipt/constructs4.save'), 'iptables.txt', 'ip', { allowUnsupported: true, warnings });
  const r6 = parseIptablesSave(read('ipt/constructs6.save'), 'ip6tables.txt', 'ip6', strict());
  const tcp = eq(meta('l4proto'), 'tcp');
  const icmp = eq(meta('l4proto'), 'icmp');
  const cases4: Array<[string, string, number, ExprIR[]]> = [
    ['raw', 'PREROUTING', 1, [eq(meta('l4proto'), 'udp'), eq(pay('udp', 'dport'), 53), counter, { op: 'notrack' }]],
    ['raw', 'PREROUTING', 2, [eq(meta('l4proto'), 'udp'), eq(pay('udp', 'sport'), 53), counter, { op: 'notrack' }]], // CT --notrack
    ['raw', 'OUTPUT', 1, [icmp, counter, mangle(meta('nftrace'), null, 0, 1)]], // TRACE
    ['mangle', 'PREROUTING', 1, [counter, mangle(meta('mark'), ct('mark'), M, 0)]], // CONNMARK --restore-mark
    ['mangle', 'PREROUTING', 2, [eq(bw(meta('mark'), 0xff), 1), counter, accept]],
    ['mangle', 'PREROUTING', 3, [ne(ct('mark'), 2), counter, mangle(meta('mark'), null, 0, 2)]],
    ['mangle', 'PREROUTING', 4, [counter, mangle(meta('mark'), null, ~0xf0 >>> 0, 0x10)]], // --set-mark 0x10/0xf0
    ['mangle', 'PREROUTING', 5, [counter, mangle(meta('mark'), null, 0xff, 0)]], // --and-mark 0xff
    ['mangle', 'PREROUTING', 6, [counter, mangle(meta('mark'), null, ~0x100 >>> 0, 0x100)]], // --or-mark
    ['mangle', 'PREROUTING', 7, [counter, mangle(meta('mark'), null, M, 0x200)]], // --xor-mark
    ['mangle', 'PREROUTING', 8, [counter, mangle(ct('mark'), meta('mark'), M, 0)]], // CONNMARK --save-mark
    ['mangle', 'PREROUTING', 9, [counter, mangle(ct('mark'), null, 0, 5)]],
    ['mangle', 'PREROUTING', 10, [counter, mangle(ct('mark'), null, ~0xf >>> 0, 5)]],
    ['mangle', 'OUTPUT', 1, [eq(meta('skuid'), 1000), counter, mangle(meta('mark'), null, 0, 1)]],
    ['mangle', 'POSTROUTING', 1, [eq(meta('oifname'), 'eth0'), eq(meta('l4proto'), 'udp'), eq(pay('udp', 'dport'), 68), counter]], // CHECKSUM: no effect
    ['mangle', 'POSTROUTING', 2, [counter, mangle(meta('priority'), null, 0, 0x10002)]], // CLASSIFY 1:2
    ['security', 'INPUT', 1, [counter, accept]],
    ['filter', 'INPUT', 2, [m(ct('state'), 'in', { set: ['related', 'established'] }), counter, accept]], // -m state
    ['filter', 'INPUT', 3, [m(ct('state'), 'in', 'new'), m(ct('status'), 'in', { set: ['seen-reply', 'assured'] }), counter, accept]],
    ['filter', 'INPUT', 4, [
      eq(ct('saddr', 'original'), pfx('10.0.0.0', 8)), eq(ct('daddr', 'original'), '10.1.2.3'),
      eq(ct('saddr', 'reply'), pfx('10.2.0.0', 16)), eq(ct('daddr', 'reply'), '10.3.0.1'), counter, accept,
    ]],
    ['filter', 'INPUT', 5, [eq(ct('proto-src', 'original'), 1000), eq(ct('proto-dst', 'original'), { range: [80, 90] }), eq(ct('direction'), 'reply'), counter, accept]],
    ['filter', 'INPUT', 6, [ne(ct('state'), 'invalid'), counter, accept]],
    ['filter', 'INPUT', 7, [eq(bw(pay('ip', 'saddr'), 0xff00ff00), '10.0.0.0'), eq(pay('ip', 'daddr'), pfx('192.168.0.0', 16)), counter, accept]],
    ['filter', 'INPUT', 8, [ne(pay('ip', 'saddr'), '10.0.0.1'), counter, jump('USER')]],
    ['filter', 'INPUT', 9, [ne(meta('l4proto'), 'udp'), counter, accept]],
    ['filter', 'INPUT', 10, [eq(meta('l4proto'), 'gre'), counter, accept]],
    ['filter', 'INPUT', 11, [ne(bw(pay('ip', 'frag-off'), 0x1fff), 0), counter, drop]], // -f
    ['filter', 'INPUT', 12, [tcp, eq(pay('tcp', 'sport'), { range: [1024, 65535] }), eq(pay('tcp', 'dport'), { range: [0, 1023] }), counter, accept]],
    ['filter', 'INPUT', 13, [tcp, ne(pay('tcp', 'dport'), 22), eq(bw(pay('tcp', 'flags'), 0x17), 0x02), counter, accept]],
    ['filter', 'INPUT', 15, [tcp, ne(bw(pay('tcp', 'flags'), 0x17), 0x02), counter, accept]], // ! --syn
    ['filter', 'INPUT', 16, [tcp, eq(bw(pay('tcp', 'flags'), 0x3f), 0), counter, drop]],
    ['filter', 'INPUT', 17, [icmp, eq(pay('icmp', 'type'), 8), counter, accept]],
    ['filter', 'INPUT', 18, [icmp, eq(pay('icmp', 'type'), 3), eq(pay('icmp', 'code'), 4), counter, accept]],
    ['filter', 'INPUT', 20, [icmp, counter, accept]], // --icmp-type any
    ['filter', 'INPUT', 21, [eq(fib(['saddr', 'iif'], 'type'), 'local'), eq(fib(['daddr', 'iif'], 'type'), { set: ['unicast', 'broadcast'] }), counter, accept]],
    ['filter', 'INPUT', 22, [ne(fib(['daddr'], 'type'), 'local'), counter, accept]],
    ['filter', 'INPUT', 23, [{ op: 'statistic', mode: 'nth', probability: 0, every: 3, packet: 1, inv: false }, counter, accept]],
    ['filter', 'INPUT', 24, [{ op: 'statistic', mode: 'random', probability: 0.25, every: 0, packet: 0, inv: true }, counter, accept]],
    ['filter', 'INPUT', 25, [tcp, eq(pay('tcp', 'dport'), { set: [80, 443, { range: [8000, 8100] }] }), counter, accept]],
    ['filter', 'INPUT', 26, [eq(meta('l4proto'), 'udp'), ne(pay('udp', 'sport'), { set: [53, 67] }), counter, accept]],
    ['filter', 'INPUT', 27, [tcp, {
      op: 'matchany', matches: [eq(pay('tcp', 'sport'), { set: [22, 2222] }), eq(pay('tcp', 'dport'), { set: [22, 2222] })],
    }, counter, accept]],
    ['filter', 'INPUT', 28, [counter, accept]], // comment only
    ['filter', 'INPUT', 29, [{ op: 'limit', rate: 10, per: 'minute', burst: 20, unit: 'packets', inv: false }, counter, { op: 'log', prefix: 'in: ', level: null }]],
    ['filter', 'INPUT', 30, [{ op: 'limit', rate: 3, per: 'hour', burst: 5, unit: 'packets', inv: false }, counter, { op: 'log', prefix: null, level: 'info' }]],
    ['filter', 'INPUT', 31, [eq(pay('ip', 'saddr'), { range: ['10.0.0.1', '10.0.0.9'] }), ne(pay('ip', 'daddr'), { range: ['10.1.0.1', '10.1.0.9'] }), counter, accept]],
    ['filter', 'INPUT', 32, [eq(pay('ip', 'length'), { range: [0, 100] }), counter, accept]],
    ['filter', 'INPUT', 33, [ne(pay('ip', 'length'), 1500), counter, accept]],
    ['filter', 'INPUT', 34, [eq(meta('pkttype'), 'broadcast'), counter, drop]],
    ['filter', 'INPUT', 35, [eq(pay('ether', 'saddr'), '02:42:ac:11:00:02'), counter, accept]],
    ['filter', 'INPUT', 36, [m(pay('ip', 'ttl'), '<', 5), counter, drop]],
    ['filter', 'INPUT', 37, [tcp, counter, { op: 'reject', type: 'tcp reset', code: null }]],
    ['filter', 'INPUT', 38, [counter, { op: 'reject', type: 'icmp', code: 'port-unreachable' }]],
    ['filter', 'INPUT', 39, [counter, { op: 'reject', type: 'icmp', code: 'host-prohibited' }]],
    ['filter', 'INPUT', 40, [counter, { op: 'reject', type: 'icmp', code: 'admin-prohibited' }]],
    ['filter', 'INPUT', 41, [counter, { op: 'reject', type: 'icmp', code: 'prot-unreachable' }]],
    ['filter', 'INPUT', 43, [counter, goto('USER')]],
    ['filter', 'INPUT', 44, [eq(meta('ibrport'), ''), counter, accept]], // ! --physdev-is-in
    ['filter', 'INPUT', 45, [counter, { op: 'verdict', verdict: 'queue', target: null }]],
    ['filter', 'INPUT', 46, [tcp, counter]], // no target: counts and continues
    ['filter', 'FORWARD', 1, [eq(meta('iifname'), 'veth*'), eq(meta('oifname'), 'eth0'), counter, accept]],
    ['filter', 'FORWARD', 2, [eq(meta('ibrport'), 'veth0'), eq(meta('obrport'), 'eth*'), ne(meta('obrport'), ''), counter, accept]],
    ['filter', 'LOGDROP', 1, [counter, { op: 'log', prefix: 'drop: ', level: null }]],
    ['nat', 'PREROUTING', 1, [tcp, eq(pay('tcp', 'dport'), 80), counter, nat('dnat', { range: ['10.0.0.1', '10.0.0.5'] }, ports(8080, 8090), ['random', 'persistent'])]],
    ['nat', 'PREROUTING', 2, [tcp, eq(pay('tcp', 'dport'), 81), counter, nat('dnat', { addr: '10.0.0.1' })]],
    ['nat', 'PREROUTING', 3, [tcp, eq(pay('tcp', 'dport'), 82), counter, nat('redirect', null, ports(8080))]],
    ['nat', 'PREROUTING', 4, [tcp, eq(pay('tcp', 'dport'), 83), counter, nat('redirect')]],
    ['nat', 'POSTROUTING', 1, [eq(meta('oifname'), 'eth0'), counter, nat('snat', { addr: '1.2.3.4' })]],
    ['nat', 'POSTROUTING', 2, [eq(meta('oifname'), 'eth1'), tcp, counter, nat('snat', { addr: '1.2.3.4' }, ports(1000, 2000), ['fully-random'])]],
    ['nat', 'POSTROUTING', 3, [eq(meta('oifname'), 'eth2'), eq(meta('l4proto'), 'udp'), counter, nat('masquerade', null, ports(1000, 2000), ['random'])]],
  ];
  test.each(cases4)('ip %s %s #%i', (t, c, n, e) => expect(exprs(r4, t, c, n)).toEqual(e));

  const icmp6 = eq(meta('l4proto'), 'ipv6-icmp');
  const cases6: Array<[string, string, number, ExprIR[]]> = [
    ['filter', 'INPUT', 1, [eq(pay('ip6', 'saddr'), pfx('2001:db8::', 32)), eq(pay('ip6', 'daddr'), 'fe80::1'), counter, accept]],
    ['filter', 'INPUT', 2, [icmp6, eq(pay('icmpv6', 'type'), 135), counter, accept]],
    ['filter', 'INPUT', 3, [icmp6, eq(pay('icmpv6', 'type'), 1), eq(pay('icmpv6', 'code'), 4), counter, accept]],
    ['filter', 'INPUT', 4, [icmp6, ne(pay('icmpv6', 'type'), 128), counter, accept]],
    ['filter', 'INPUT', 5, [eq(pay('ip6', 'length'), { range: [0, 60] }), counter, accept]], // xt_length counts the 40-byte header
    ['filter', 'INPUT', 6, [m(pay('ip6', 'hoplimit'), '>', 1), counter, accept]],
    ['filter', 'INPUT', 8, [counter, { op: 'reject', type: 'icmpv6', code: 'admin-prohibited' }]],
    ['filter', 'INPUT', 9, [counter, { op: 'reject', type: 'icmpv6', code: 'no-route' }]],
    ['filter', 'INPUT', 10, [counter, { op: 'reject', type: 'icmpv6', code: 'port-unreachable' }]],
    ['filter', 'INPUT', 11, [counter, { op: 'reject', type: 'icmpv6', code: 'addr-unreachable' }]],
    ['nat', 'PREROUTING', 1, [tcp, eq(pay('tcp', 'dport'), 80), counter, nat('dnat', { addr: '2001:db8::1' }, ports(8080))]],
    ['nat', 'PREROUTING', 2, [tcp, eq(pay('tcp', 'dport'), 81), counter, nat('dnat', { addr: '2001:db8::2' })]],
    ['nat', 'POSTROUTING', 1, [eq(pay('ip6', 'saddr'), pfx('fd00::', 64)), counter, nat('masquerade')]],
  ];
  test.each(cases6)('ip6 %s %s #%i', (t, c, n, e) => expect(exprs(r6, t, c, n)).toEqual(e));

  test('ip6 tables are family ip6 from ip6tables-save', () => {
    expect(r6.tables.map((t) => [t.family, t.name, t.source])).toEqual([['ip6', 'filter', 'ip6tables-save'], ['ip6', 'nat', 'ip6tables-save']]);
  });

  test('masked CONNMARK copies are refused; dropped rules keep the numbering', () => {
    expect(warnings).toEqual([
      'iptables.txt line 17: CONNMARK --save-mark with --nfmask 0xff --ctmask 0xff is not supported (only the default all-ones masks); rule ip mangle PREROUTING #11 dropped',
      'iptables.txt line 18: CONNMARK --restore-mark with --nfmask 0xff --ctmask 0xff00 is not supported (only the default all-ones masks); rule ip mangle PREROUTING #12 dropped',
    ]);
    expect(table(r4, 'mangle').chains[0]!.rules.map((x) => x.handle)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  });
});

describe('hand-written lines', () => {
  const one = (rule: string, family: 'ip' | 'ip6' = 'ip', tableName = 'filter', extra = '') =>
    parseIptablesSave(`*${tableName}\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:X - [0:0]\n${extra}-A INPUT ${rule}\nCOMMIT\n`, 'iptables.txt', family, strict());
  const first = (r: RulesetIR) => r.tables[0]!.chains[0]!.rules[0]!;

  test('tokenizer: quotes, escapes, !', () => {
    expect(tokenize(`-m comment --comment "a \\"b\\" c" ! -s 1.2.3.4 --x 'y z' a\\ b`, 'line 1')).toEqual([
      '-m', 'comment', '--comment', 'a "b" c', '!', '-s', '1.2.3.4', '--x', 'y z', 'a b',
    ]);
  });

  test('comments, blank lines, CRLF and counters', () => {
    const text = '# Generated by iptables-save v1.8.9 (nf_tables)\r\n*filter\r\n:INPUT DROP [12:3400]\r\n\r\n[5:300] -A INPUT -i lo -j ACCEPT\r\nCOMMIT\r\n# Completed\r\n';
    const r = parseIptablesSave(text, 'iptables.txt', 'ip', strict());
    expect(r.tables[0]!.chains[0]).toEqual({
      name: 'INPUT',
      base: { type: 'filter', hook: 'input', prio: 0, policy: 'drop', device: null },
      rules: [{ handle: 1, text: '-i lo -j ACCEPT', origin: 'iptables.txt:5', exprs: [eq(meta('iifname'), 'lo'), counter, accept] }],
    });
  });

  test('implicit protocol match (-p tcp --dport without -m tcp), dotted /32, --ports negation', () => {
    expect(first(one('-p tcp --dport 22 -s 10.1.2.3/255.255.255.255 -j ACCEPT')).exprs).toEqual([
      eq(pay('ip', 'saddr'), '10.1.2.3'), eq(meta('l4proto'), 'tcp'), eq(pay('tcp', 'dport'), 22), counter, accept,
    ]);
    expect(first(one('-p udp -m multiport ! --ports 53,67:68')).exprs).toEqual([
      eq(meta('l4proto'), 'udp'), ne(pay('udp', 'sport'), { set: [53, { range: [67, 68] }] }), ne(pay('udp', 'dport'), { set: [53, { range: [67, 68] }] }), counter,
    ]);
  });

  test('ctstate SNAT/DNAT are ct status bits; with other states, either matches', () => {
    expect(first(one('-m conntrack --ctstate DNAT -j ACCEPT')).exprs).toEqual([m(ct('status'), 'in', 'dnat'), counter, accept]);
    expect(first(one('-m conntrack --ctstate NEW,DNAT -j ACCEPT')).exprs).toEqual([
      { op: 'matchany', matches: [m(ct('state'), 'in', 'new'), m(ct('status'), 'in', 'dnat')] }, counter, accept,
    ]);
    // Negated: neither. ct status holds several bits, so "none of these" is a mask test.
    expect(first(one('-m conntrack ! --ctstate NEW,SNAT -j ACCEPT')).exprs).toEqual([ne(ct('state'), 'new'), eq(bw(ct('status'), 16), 0), counter, accept]);
    expect(first(one('-m conntrack ! --ctstatus ASSURED,SEEN_REPLY -j ACCEPT')).exprs).toEqual([eq(bw(ct('status'), 6), 0), counter, accept]);
  });

  test('icmp names, negated type/code, uid range', () => {
    expect(first(one('-p icmp -m icmp --icmp-type port-unreachable')).exprs).toEqual([
      eq(meta('l4proto'), 'icmp'), eq(pay('icmp', 'type'), 3), eq(pay('icmp', 'code'), 3), counter,
    ]);
    expect(first(one('-p icmp -m icmp ! --icmp-type 3/4')).exprs).toEqual([
      eq(meta('l4proto'), 'icmp'),
      ne({ kind: 'concat', parts: [pay('icmp', 'type'), pay('icmp', 'code')] }, { concat: [3, 4] }),
      counter,
    ]);
    expect(first(one('-m owner --uid-owner 1000-1999 -j DROP', 'ip', 'filter')).exprs).toEqual([eq(meta('skuid'), { range: [1000, 1999] }), counter, drop]);
  });

  test('DNAT forms', () => {
    const dn = (to: string, fam: 'ip' | 'ip6' = 'ip') =>
      parseIptablesSave(`*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -p tcp -j DNAT --to-destination ${to}\nCOMMIT\n`, 'f', fam, strict()).tables[0]!.chains[0]!.rules[0]!.exprs[2];
    expect(dn('10.0.0.1:80-90')).toEqual(nat('dnat', { addr: '10.0.0.1' }, ports(80, 90)));
    expect(dn('10.0.0.1-10.0.0.3')).toEqual(nat('dnat', { range: ['10.0.0.1', '10.0.0.3'] }));
    expect(dn('[2001:db8::1]-[2001:db8::9]:443', 'ip6')).toEqual(nat('dnat', { range: ['2001:db8::1', '2001:db8::9'] }, ports(443)));
    expect(dn('2001:db8::1-2001:db8::2', 'ip6')).toEqual(nat('dnat', { range: ['2001:db8::1', '2001:db8::2'] }));
  });

  test('a builtin chain used without a declaration gets policy ACCEPT', () => {
    const r = parseIptablesSave('*raw\n-A PREROUTING -j NOTRACK\nCOMMIT\n', 'f', 'ip', strict());
    expect(r.tables[0]!.chains[0]!.base).toEqual({ type: 'filter', hook: 'prerouting', prio: -300, policy: 'accept', device: null });
  });
});

describe('refusals', () => {
  const doc = (rule: string) => `*filter\n:INPUT ACCEPT [0:0]\n:FOO - [0:0]\n-A INPUT -i lo -j ACCEPT\n-A INPUT ${rule}\nCOMMIT\n`;
  const err = (text: string, family: 'ip' | 'ip6' = 'ip'): string => {
    try {
      parseIptablesSave(text, 'iptables.txt', family, strict());
    } catch (e) {
      expect(e).toBeInstanceOf(ConfigError);
      return (e as Error).message;
    }
    throw new Error('no error');
  };

  test.each([
    ['-m osf --genre Linux -j DROP', 'iptables.txt line 5: match "osf" is not supported'],
    ['-j TARPIT', 'iptables.txt line 5: target "TARPIT" is not supported'],
    ['-j nosuchchain', 'iptables.txt line 5: target "nosuchchain" is not supported, and no chain of that name is declared in table filter'],
    ['-p tcp -m tcp --dport 22 --frobnicate 1 -j ACCEPT', 'iptables.txt line 5: option "--frobnicate" is not supported (by match "tcp")'],
    ['-m set --match-set blocklist src -j DROP', 'iptables.txt line 5: match "set" (ipset --match-set) is not supported: ipset contents are not part of the snapshot'],
    ['-m recent --rcheck --seconds 60 -j DROP', 'iptables.txt line 5: match "recent" is not supported: its address lists are kernel state that is not in the snapshot'],
    ['-m string --algo bm --string foo -j DROP', 'iptables.txt line 5: match "string" (payload search) is not supported'],
    ['-j CT --zone 1', 'iptables.txt line 5: target "CT --zone" is not supported (only CT --notrack)'],
    ['-m owner --uid-owner www-data -j DROP', 'iptables.txt line 5: owner "www-data" is not numeric (user and group names cannot be resolved offline)'],
    ['-s example.com -j DROP', 'iptables.txt line 5: "example.com" is not an IPv4 address (host names are not resolved)'],
    ['-p tcp --dport ssh -j DROP', 'iptables.txt line 5: port "ssh" is not a number 0-65535 (service names are not resolved)'],
    ['-m comment --comment "unterminated -j DROP', 'iptables.txt line 5: unterminated double quote'],
    ['-g NOPE', 'iptables.txt line 5: goto target chain "NOPE" is not declared in table filter'],
    ['-j DNAT', 'iptables.txt line 5: DNAT needs --to-destination'],
  ])('%s', (rule, msg) => expect(err(doc(rule))).toBe(msg));

  test('bad lines name their line number', () => {
    expect(err('*filter\n:INPUT ACCEPT [0:0]\n-I INPUT -j DROP\nCOMMIT\n')).toBe(
      'iptables.txt line 3: "-I" lines are not supported: expected "-A CHAIN ..." rules as iptables-save prints them',
    );
    expect(err('*filter\n:INPUT ACCEPT [0:0]\n-A NOPE -j DROP\nCOMMIT\n')).toBe('iptables.txt line 3: chain NOPE is not declared in table filter (add a ":NOPE - [0:0]" line)');
    expect(err('-A INPUT -j DROP\n')).toBe('iptables.txt line 1: expected a "*table" line (iptables-save output) before this line');
    expect(err('*filter\n:INPUT ACCEPT [0:0]\n')).toBe('iptables.txt line 1: table filter has no COMMIT line (truncated iptables-save output?)');
    expect(err('*broute\nCOMMIT\n')).toBe('iptables.txt line 1: table "broute" is not supported (filter, nat, mangle, raw, security)');
    expect(err('*filter\n:FOO ACCEPT [0:0]\nCOMMIT\n')).toBe('iptables.txt line 2: chain FOO is not a builtin chain of table filter, so its policy must be "-"');
    expect(err('*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -f -j DROP\nCOMMIT\n', 'ip6')).toBe('iptables.txt line 3: option "-f" does not exist in ip6tables (use -m frag)');
  });

  test('allowUnsupported drops the rule with a warning', () => {
    const warnings: string[] = [];
    const r = parseIptablesSave(doc('-m set --match-set x src -j DROP') + '*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -j MASQUERADE\nCOMMIT\n', 'iptables.txt', 'ip', { allowUnsupported: true, warnings });
    expect(warnings).toEqual([
      'iptables.txt line 5: match "set" (ipset --match-set) is not supported: ipset contents are not part of the snapshot; rule ip filter INPUT #2 dropped',
    ]);
    expect(r.tables[0]!.chains[0]!.rules.map((x) => x.handle)).toEqual([1]);
    expect(r.tables[1]!.chains[0]!.rules).toHaveLength(1);
  });
});

describe('kube-proxy with 5000 services', () => {
  test('parses all chains and rules', () => {
    const text = kubeProxyRuleset(5000);
    const r = parseIptablesSave(text, 'iptables.txt', 'ip', strict());
    const nat = r.tables[0]!;
    expect(nat.chains).toHaveLength(6 + 5000 * 4);
    expect(nat.chains.reduce((n, c) => n + c.rules.length, 0)).toBe(2 + 5000 * 11);
    const svc = nat.chains.find((c) => c.name.startsWith('KUBE-SVC-'))!;
    expect(svc.rules[1]!.exprs[0]).toEqual({ op: 'statistic', mode: 'random', probability: 0.33333333333, every: 0, packet: 0, inv: false });
    // Load time (parse + compile) is measured in `npm run bench` (bench "world"), not here.
  });
});
