/**
 * The original ruleset text of each namespace, to load into the kernel as the world's author wrote
 * it: a lab's `nft:` / `nft-json:` / `iptables:` blocks, or a snapshot's `nft.json` (fed back with
 * `nft -j -f`) and `iptables.txt` (fed to `iptables-restore`).
 *
 * In a snapshot from an iptables-nft host the iptables tables appear in nft.json too, with opaque `xt`
 * expressions that `nft -j -f` cannot load: those tables are taken out of the JSON and come from
 * iptables.txt instead, exactly as the model does (stack/netfilter/merge.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { World } from '../stack/netns.js';

/** What to load into one namespace. */
export interface RawRuleset {
  nftText: string | null;
  nftJson: string | null;
  iptables: string | null;
  notes: string[];
}

/** Read the raw rulesets of every namespace of `world` (loaded from `path`). */
export function readRawRulesets(path: string, world: World): Map<string, RawRuleset> {
  const out = new Map<string, RawRuleset>();
  const isDir = existsSync(join(path, 'snapshot.json'));
  if (!isDir) {
    const root = parse(readFileSync(path, 'utf8')) as { namespaces?: Record<string, Record<string, unknown> | null> } | null;
    for (const [name, spec] of Object.entries(root?.namespaces ?? {})) {
      if (!spec) continue;
      const rs: RawRuleset = { nftText: null, nftJson: null, iptables: null, notes: [] };
      if (typeof spec.nft === 'string') rs.nftText = spec.nft;
      if (spec['nft-json'] !== undefined) rs.nftJson = typeof spec['nft-json'] === 'string' ? spec['nft-json'] : JSON.stringify(spec['nft-json']);
      if (typeof spec.iptables === 'string') rs.iptables = spec.iptables;
      if (spec.ip6tables !== undefined) rs.notes.push(`${name}: ip6tables rules are not loaded (IPv6 is not modelled yet and is disabled in the namespaces)`);
      if (rs.nftJson) rs.nftJson = stripJson(rs.nftJson, name, world, rs.notes);
      out.set(name, rs);
    }
    return out;
  }
  for (const ns of world.namespaces) {
    const dir = join(path, 'ns', ns.name);
    const read = (f: string): string | null => (existsSync(join(dir, f)) ? readFileSync(join(dir, f), 'utf8') : null);
    const rs: RawRuleset = { nftText: null, nftJson: null, iptables: null, notes: [] };
    const ipt = read('iptables.txt');
    const fromIpt = ns.rulesetSources.some((s) => s.source === 'iptables-save');
    if (ipt && ipt.trim() && fromIpt) rs.iptables = ipt;
    const json = read('nft.json');
    if (json && json.trim()) rs.nftJson = stripJson(json, ns.name, world, rs.notes);
    if (read('ip6tables.txt')?.trim()) rs.notes.push(`${ns.name}: ip6tables rules are not loaded (IPv6 is not modelled yet and is disabled in the namespaces)`);
    out.set(ns.name, rs);
  }
  return out;
}

/**
 * Keep only the nft tables the model took from nft JSON (ns.rulesetSources), drop `handle`s (in an
 * add command a handle names a position that does not exist yet) and rules with `xt` expressions
 * (the model drops them too, with --allow-unsupported). Returns null when nothing is left.
 */
function stripJson(text: string, nsName: string, world: World, notes: string[]): string | null {
  const ns = world.byName.get(nsName);
  let doc: { nftables?: Array<Record<string, Record<string, unknown>>> };
  try {
    doc = JSON.parse(text);
  } catch {
    return text; // nft reports the syntax error itself
  }
  const keep = new Set((ns?.rulesetSources ?? []).filter((s) => s.source === 'nft-json').map((s) => `${s.family} ${s.table}`));
  const items: Array<Record<string, Record<string, unknown>>> = [];
  let droppedXt = 0;
  for (const obj of doc.nftables ?? []) {
    const [kind] = Object.keys(obj);
    const v = obj[kind];
    if (kind === 'metainfo' || !v || typeof v !== 'object') continue;
    const table = kind === 'table' ? v.name : v.table;
    if (!keep.has(`${v.family} ${table}`)) continue;
    if (kind === 'rule' && JSON.stringify(v.expr ?? []).includes('"xt"')) {
      droppedXt++;
      continue;
    }
    const copy: Record<string, unknown> = { ...v };
    delete copy.handle;
    items.push({ [kind]: copy });
  }
  if (droppedXt) notes.push(`${nsName}: ${droppedXt} nft rule(s) with iptables extensions (xt) left out, as in the model`);
  return items.length ? JSON.stringify({ nftables: items }) : null;
}
