// The snapshot rule: iptables-nft tables come from iptables-save text, every other table from nft.json.
// Fixtures: the same rulesets listed both ways by the real tools (tests/fixtures/netfilter/make_fixtures.sh).
import { readFileSync } from 'node:fs';
import { describe, expect, test } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import type { RulesetIR } from '../../src/stack/netfilter/ir.js';
import { parseIptablesSave } from '../../src/stack/netfilter/iptables_save.js';
import { mergeRulesets } from '../../src/stack/netfilter/merge.js';
import { parseNftJson } from '../../src/stack/netfilter/nft_json.js';

const FIX = new URL('../fixtures/netfilter/', import.meta.url);
const read = (p: string): string => readFileSync(new URL(p, FIX), 'utf8');
const strict = () => ({ allowUnsupported: false, warnings: [] as string[] });
const nftOf = (p: string): RulesetIR => parseNftJson(read(p), 'nft.json', strict());
const iptOf = (p: string, fam: 'ip' | 'ip6' = 'ip'): RulesetIR =>
  parseIptablesSave(read(p), fam === 'ip' ? 'iptables.txt' : 'ip6tables.txt', fam, strict());

describe('mergeRulesets', () => {
  test('Docker 28 on iptables-nft: ip tables come from iptables-save, in nft order', () => {
    const ipt = iptOf('ipt/docker28.save');
    const { ruleset, sources } = mergeRulesets(nftOf('ipt/docker28.nft.json'), ipt, null, 'nft.json', strict());
    expect(sources).toEqual([
      { family: 'ip', table: 'raw', source: 'iptables-save', file: 'iptables.txt' },
      { family: 'ip', table: 'filter', source: 'iptables-save', file: 'iptables.txt' },
      { family: 'ip', table: 'nat', source: 'iptables-save', file: 'iptables.txt' },
    ]);
    expect(ruleset.tables[2]).toBe(ipt.tables.find((t) => t.name === 'nat'));
    const dnat = ruleset.tables[2]!.chains.find((c) => c.name === 'DOCKER')!.rules[1]!;
    expect(dnat.exprs.at(-1)).toEqual({ op: 'nat', kind: 'dnat', family: null, addr: { addr: '172.17.0.2' }, port: { range: [80, 80] }, flags: [] });
  });

  test('an xt expression without iptables-save text is refused, naming table, chain and handle', () => {
    const nft = nftOf('ipt/docker28.nft.json');
    const ct = nft.tables.find((t) => t.name === 'filter')!.chains.find((c) => c.name === 'DOCKER-CT')!.rules[0]!;
    expect(() => mergeRulesets(nft, null, null, 'ns/host/nft.json', strict())).toThrow(
      new ConfigError(
        'ns/host/nft.json',
        `table ip filter chain DOCKER-CT rule handle ${ct.handle} (${ct.origin})`,
        'uses the iptables extension match "conntrack", which `nft -j list ruleset` lists without its arguments; add `iptables-save` output to the snapshot as iptables.txt',
      ),
    );
  });

  test('the same for ip6 tables asks for ip6tables.txt', () => {
    expect(() => mergeRulesets(nftOf('ipt/constructs6.nft.json'), null, null, 'nft.json', strict())).toThrow(
      /table ip6 filter chain INPUT rule handle \d+ \(nft\.json \[\d+\]\): uses the iptables extension match "icmp6", .*ip6tables-save.* as ip6tables\.txt$/,
    );
  });

  test('with allowUnsupported the xt rules are dropped, the rest of the table kept', () => {
    const warnings: string[] = [];
    const nft = nftOf('ipt/docker28.nft.json');
    const { ruleset, sources } = mergeRulesets(nft, null, null, 'nft.json', { allowUnsupported: true, warnings });
    expect(warnings).toHaveLength(5);
    expect(warnings[0]).toMatch(/^nft\.json table ip filter chain DOCKER-CT rule handle \d+ .*; rule dropped$/);
    expect(sources.map((s) => s.source)).toEqual(['nft-json', 'nft-json', 'nft-json']);
    const filter = ruleset.tables.find((t) => t.name === 'filter')!;
    expect(filter.chains.find((c) => c.name === 'DOCKER-CT')!.rules).toEqual([]);
    expect(filter.chains.find((c) => c.name === 'FORWARD')!.rules).toHaveLength(2);
    // the input is not modified
    expect(nft.tables.find((t) => t.name === 'filter')!.chains.find((c) => c.name === 'DOCKER-CT')!.rules).toHaveLength(1);
  });

  test('ip6tables-save replaces the ip6 iptables-nft tables', () => {
    const { sources } = mergeRulesets(nftOf('ipt/constructs6.nft.json'), null, iptOf('ipt/constructs6.save', 'ip6'), 'nft.json', strict());
    expect(sources).toEqual([
      { family: 'ip6', table: 'filter', source: 'ip6tables-save', file: 'ip6tables.txt' },
      { family: 'ip6', table: 'nat', source: 'ip6tables-save', file: 'ip6tables.txt' },
    ]);
  });

  test('kube-proxy: comment/statistic xt matches are covered by iptables-save', () => {
    const { ruleset } = mergeRulesets(nftOf('ipt/kube-proxy.nft.json'), iptOf('ipt/kube-proxy.save'), null, 'nft.json', strict());
    const xt = ruleset.tables.flatMap((t) => t.chains.flatMap((c) => c.rules.flatMap((r) => r.exprs.filter((e) => e.op === 'xt'))));
    expect(xt).toEqual([]);
  });

  test('native nft tables stay from nft.json (oracle: ip nat / ip filter written with nft, no iptables.txt)', () => {
    const nft = parseNftJson(readFileSync('/work/shared/oracle/docker-egress/truth/world/ns/host/nft.json', 'utf8'), 'ns/host/nft.json', strict());
    const { ruleset, sources } = mergeRulesets(nft, null, null, 'ns/host/nft.json', strict());
    expect(ruleset.tables).toEqual(nft.tables);
    expect(sources.map((s) => `${s.family} ${s.table} ${s.source}`)).toEqual([
      'inet oracle_trace nft-json', 'bridge oracle_trace nft-json', 'ip nat nft-json', 'ip filter nft-json',
    ]);
  });

  test('other nft tables are kept beside the iptables ones', () => {
    const nft = parseNftJson(read('nft/constructs.json'), 'nft.json', { allowUnsupported: true, warnings: [] });
    const both: RulesetIR = { tables: [...nft.tables, ...nftOf('ipt/docker28.nft.json').tables] };
    const { sources } = mergeRulesets(both, iptOf('ipt/docker28.save'), null, 'nft.json', strict());
    expect(sources.map((s) => `${s.family} ${s.table} ${s.source}`)).toEqual([
      'inet t nft-json', 'netdev n nft-json', 'bridge b nft-json', 'arp a nft-json', 'ip t2 nft-json', 'ip t3 nft-json',
      'ip raw iptables-save', 'ip filter iptables-save', 'ip nat iptables-save',
    ]);
  });

  test('legacy iptables: iptables.txt alone, added after the nft tables', () => {
    const nft = nftOf('nft/demo.json');
    const { sources } = mergeRulesets(nft, iptOf('ipt/docker-old.save'), null, 'nft.json', strict());
    expect(sources.map((s) => `${s.family} ${s.table} ${s.source}`)).toEqual(['inet demo nft-json', 'ip filter iptables-save', 'ip nat iptables-save']);
    expect(mergeRulesets(null, iptOf('ipt/docker-old.save'), null, 'nft.json', strict()).sources).toHaveLength(2);
  });

  test('a native nft `ip nat` beside a legacy iptables nat table (different chains): both kept', () => {
    const oracle = parseNftJson(readFileSync('/work/shared/oracle/docker-egress/truth/world/ns/host/nft.json', 'utf8'), 'nft.json', strict());
    const { sources } = mergeRulesets(oracle, iptOf('ipt/docker28.save'), null, 'nft.json', strict());
    expect(sources.map((s) => `${s.family} ${s.table} ${s.source}`)).toEqual([
      'inet oracle_trace nft-json', 'bridge oracle_trace nft-json', 'ip nat nft-json', 'ip filter nft-json',
      'ip raw iptables-save', 'ip filter iptables-save', 'ip nat iptables-save',
    ]);
  });

  test('empty inputs', () => {
    expect(mergeRulesets(null, null, null, 'nft.json', strict())).toEqual({ ruleset: { tables: [] }, sources: [] });
  });
});
