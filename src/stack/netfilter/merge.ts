/**
 * One namespace's ruleset from its snapshot sources (docs/snapshot-format.md, "iptables and nftables
 * together"):
 *
 *   nft.json ──────────────┐   every nft table, except…
 *   iptables.txt (ip) ─────┼─▶ …the iptables-nft tables (ip filter/nat/mangle/raw/security and ip6 …),
 *   ip6tables.txt (ip6) ───┘   whose extensions nft -j lists as opaque `xt`: these come from *-save.
 *
 * An nft table is iptables-nft's when it holds an `xt` expression, or when iptables-save lists a table
 * of the same family and name with the same chains. With legacy iptables (x_tables, not nf_tables)
 * the iptables tables are absent from nft.json and are simply added; a native nft table that happens
 * to be called `ip filter` beside a legacy `filter` table has other chains and is kept as well.
 */

import { ConfigError } from '../../errors.js';
import type { Family, RulesetIR, RulesetSource, TableIR } from './ir.js';
import type { RulesetParseOpts } from './nft_json.js';

/** Which source a table of the merged ruleset came from. */
export interface TableSourceInfo {
  family: Family;
  table: string;
  source: RulesetSource;
  file: string;
}

/** Merge nft.json, iptables.txt and ip6tables.txt rulesets; `file` is nft.json's name for errors. */
export function mergeRulesets(
  nft: RulesetIR | null,
  ipt4: RulesetIR | null,
  ipt6: RulesetIR | null,
  file: string,
  opts: RulesetParseOpts,
): { ruleset: RulesetIR; sources: TableSourceInfo[] } {
  const tables: TableIR[] = [];
  const used = new Set<TableIR>();
  const iptOf = (fam: Family): RulesetIR | null => (fam === 'ip' ? ipt4 : fam === 'ip6' ? ipt6 : null);

  for (const t of nft?.tables ?? []) {
    const twin = iptOf(t.family)?.tables.find((x) => x.name === t.name && !used.has(x)) ?? null;
    const xt = hasXt(t);
    if (twin && (xt || sameChains(t, twin))) {
      used.add(twin);
      tables.push(twin);
      continue;
    }
    if (!xt) {
      tables.push(t);
      continue;
    }
    // An iptables-nft table without its iptables-save text: its xt rules cannot be evaluated.
    const kept: TableIR = { ...t, chains: [] };
    for (const c of t.chains) {
      const rules = [];
      for (const r of c.rules) {
        const x = r.exprs.find((e) => e.op === 'xt');
        if (!x || x.op !== 'xt') {
          rules.push(r);
          continue;
        }
        const where = `table ${t.family} ${t.name} chain ${c.name} rule handle ${r.handle} (${r.origin})`;
        const what = `uses the iptables extension ${x.type} "${x.name}", which \`nft -j list ruleset\` lists without its arguments; ${howToFix(t.family)}`;
        if (!opts.allowUnsupported) throw new ConfigError(file, where, what);
        opts.warnings.push(`${file} ${where}: ${what}; rule dropped`);
      }
      kept.chains.push({ ...c, rules });
    }
    tables.push(kept);
  }
  for (const ipt of [ipt4, ipt6]) for (const t of ipt?.tables ?? []) if (!used.has(t)) tables.push(t);

  return {
    ruleset: { tables },
    sources: tables.map((t) => ({ family: t.family, table: t.name, source: t.source, file: t.file })),
  };
}

function howToFix(fam: Family): string {
  if (fam === 'ip') return 'add `iptables-save` output to the snapshot as iptables.txt';
  if (fam === 'ip6') return 'add `ip6tables-save` output to the snapshot as ip6tables.txt';
  return `${fam === 'bridge' ? 'ebtables' : 'arptables'}-nft rules are not supported`;
}

function hasXt(t: TableIR): boolean {
  for (const c of t.chains) for (const r of c.rules) for (const e of r.exprs) if (e.op === 'xt') return true;
  return false;
}

function sameChains(a: TableIR, b: TableIR): boolean {
  if (a.chains.length !== b.chains.length) return false;
  const names = new Set(a.chains.map((c) => c.name));
  return b.chains.every((c) => names.has(c.name));
}
