/**
 * IPv4 policy routing: rules (net/core/fib_rules.c) and tables (net/ipv4/fib_trie.c), as data with a
 * lookup that mirrors fib_lookup(): rules in ascending priority, a table miss or a `throw` route goes
 * on to the next rule, blackhole/unreachable/prohibit end the lookup with their error.
 */
import type { NetDevice } from './netdev.js';
import { formatIpv4, maskOf } from './inet.js';

/** Route types (include/uapi/linux/rtnetlink.h RTN_*). */
export const RTN_UNICAST = 1,
  RTN_LOCAL = 2,
  RTN_BROADCAST = 3,
  RTN_ANYCAST = 4,
  RTN_MULTICAST = 5,
  RTN_BLACKHOLE = 6,
  RTN_UNREACHABLE = 7,
  RTN_PROHIBIT = 8,
  RTN_THROW = 9,
  RTN_NAT = 10;

/** Route type names as `ip route` prints them. */
export const RTN_NAMES = ['', 'unicast', 'local', 'broadcast', 'anycast', 'multicast', 'blackhole', 'unreachable', 'prohibit', 'throw', 'nat'];

/** Well-known table ids (rtnetlink.h RT_TABLE_*). */
export const RT_TABLE_DEFAULT = 253,
  RT_TABLE_MAIN = 254,
  RT_TABLE_LOCAL = 255;

/** Table name as `ip` prints it. */
export function tableName(id: number): string {
  return id === RT_TABLE_MAIN ? 'main' : id === RT_TABLE_LOCAL ? 'local' : id === RT_TABLE_DEFAULT ? 'default' : String(id);
}

/** One next hop (struct fib_nh). gw 0 = directly connected. */
export interface FibNh {
  gw: number;
  dev: NetDevice | null;
  weight: number;
}

/** One route (struct fib_alias + fib_info). */
export class FibRoute {
  type = RTN_UNICAST;
  dst = 0;
  len = 0;
  tos = 0;
  metric = 0;
  table = RT_TABLE_MAIN;
  scope: 'global' | 'link' | 'host' | 'nowhere' | 'site' = 'global';
  /** Preferred source, 0 when none. */
  prefsrc = 0;
  nh: FibNh[] = [];
  proto = '';
  /** The route as `ip route` prints it, for traces. */
  text = '';
  /** Interned trace steps of input lookups that found this route, per rule and result (ip_input.ts). */
  traceSteps: Map<FibRule | null, object[]> | null = null;
}

/** Render a route like `ip route show table all`. */
export function routeText(r: FibRoute): string {
  const parts: string[] = [];
  if (r.type !== RTN_UNICAST) parts.push(RTN_NAMES[r.type]);
  parts.push(r.len === 0 && r.dst === 0 ? 'default' : r.len === 32 ? formatIpv4(r.dst) : `${formatIpv4(r.dst)}/${r.len}`);
  if (r.nh.length === 1) {
    const nh = r.nh[0];
    if (nh.gw) parts.push('via', formatIpv4(nh.gw));
    if (nh.dev) parts.push('dev', nh.dev.name);
  } else {
    for (const nh of r.nh) parts.push('nexthop', ...(nh.gw ? ['via', formatIpv4(nh.gw)] : []), ...(nh.dev ? ['dev', nh.dev.name] : []), 'weight', String(nh.weight));
  }
  if (r.table !== RT_TABLE_MAIN) parts.push('table', tableName(r.table));
  if (r.proto) parts.push('proto', r.proto);
  if (r.scope !== 'global') parts.push('scope', r.scope);
  if (r.prefsrc) parts.push('src', formatIpv4(r.prefsrc));
  if (r.metric) parts.push('metric', String(r.metric));
  return parts.join(' ');
}

/** Tables up to this size are scanned; larger ones get a prefix index (a full BGP table has ~1M routes). */
export const FIB_LINEAR_MAX = 32;

/**
 * The routes of one table in lookup order: longest prefix first, then metric, then insertion (the
 * fib_trie leaf / fib6 node order). Adds only append; one stable sort runs before the next read, not
 * one per add (a BGP-sized snapshot adds a million routes).
 */
export class RouteList<R extends { len: number; metric: number }> {
  private list: R[] = [];
  private sorted = true;

  constructor(readonly id: number) {}

  /** The routes in lookup order. */
  get routes(): readonly R[] {
    if (!this.sorted) {
      this.list.sort((a, b) => b.len - a.len || a.metric - b.metric); // stable: equal keys keep insertion order
      this.sorted = true;
    }
    return this.list;
  }

  /** Add a route. */
  add(r: R): void {
    this.list.push(r);
    this.sorted = false;
    this.changed();
  }

  /** The routes changed: a subclass drops what it built from them. */
  protected changed(): void {}
}

/** One IPv4 routing table. */
export class FibTable extends RouteList<FibRoute> {
  /**
   * Per prefix length present (longest first), the routes by destination, in lookup order: a lookup
   * tries at most one bucket per length instead of every route (fib_trie's role).
   */
  private lens: Uint8Array | null = null;
  private masks: Uint32Array | null = null;
  private byDst: Map<number, FibRoute[]>[] = [];
  /** Per length, which top-16-bit blocks hold a route of that length: most misses cost one byte read. */
  private blocks: Uint8Array[] = [];

  protected override changed(): void {
    this.lens = null;
  }

  /**
   * fib_table_lookup(): longest prefix, TOS (a route with tos 0 matches any), then lowest metric;
   * routes whose every next hop's device is down are skipped (fib_info dead). `oif` restricts
   * unicast routes to that device (output lookups bound to a device).
   */
  lookup(dst: number, tos: number, oif: NetDevice | null): FibRoute | null {
    const rs = this.routes;
    if (rs.length <= FIB_LINEAR_MAX) {
      for (let i = 0; i < rs.length; i++) {
        const r = rs[i];
        if (((dst & maskOf(r.len)) >>> 0) === r.dst && usable(r, tos, oif)) return r;
      }
      return null;
    }
    if (this.lens === null) this.buildIndex(rs);
    const lens = this.lens!, masks = this.masks!;
    for (let g = 0; g < lens.length; g++) {
      const key = dst & masks[g]; // int32 keys: small integers in the map, not heap numbers
      if (this.blocks[g][key >>> 16] === 0) continue;
      const bucket = this.byDst[g].get(key);
      if (bucket === undefined) continue;
      for (let i = 0; i < bucket.length; i++) if (usable(bucket[i], tos, oif)) return bucket[i];
    }
    return null;
  }

  /** The same answer as lookup(), always by scanning (tests hold the index to it). */
  lookupLinear(dst: number, tos: number, oif: NetDevice | null): FibRoute | null {
    for (const r of this.routes) if (((dst & maskOf(r.len)) >>> 0) === r.dst && usable(r, tos, oif)) return r;
    return null;
  }

  private buildIndex(rs: readonly FibRoute[]): void {
    const lens: number[] = [];
    this.byDst = [];
    this.blocks = [];
    for (const r of rs) {
      if (lens.length === 0 || lens[lens.length - 1] !== r.len) {
        lens.push(r.len);
        this.byDst.push(new Map());
        this.blocks.push(new Uint8Array(65536));
      }
      this.blocks[this.blocks.length - 1][r.dst >>> 16] = 1;
      const m = this.byDst[this.byDst.length - 1];
      const b = m.get(r.dst | 0);
      if (b === undefined) m.set(r.dst | 0, [r]);
      else b.push(r);
    }
    this.lens = Uint8Array.from(lens);
    this.masks = Uint32Array.from(lens, maskOf);
  }
}

/** The route fits the lookup's TOS and has a live next hop (through `oif` when bound). */
function usable(r: FibRoute, tos: number, oif: NetDevice | null): boolean {
  if (r.tos !== 0 && r.tos !== tos) return false;
  if (r.nh.length === 0) return true;
  for (const nh of r.nh) if (!nh.dev || (nh.dev.up && (!oif || nh.dev === oif))) return true;
  return false;
}

/** Rule actions (FR_ACT_*). */
export type RuleAction = 'lookup' | 'goto' | 'nop' | 'blackhole' | 'unreachable' | 'prohibit';

/** What IPv4 and IPv6 policy rules share (struct fib_rule): the generic selectors and the action. */
export class FibRuleBase {
  pref = 0;
  invert = false;
  iif: string | null = null;
  oif: string | null = null;
  fwmark = 0;
  fwmask = 0;
  ipproto = 0;
  sportLo = 0;
  sportHi = 0;
  dportLo = 0;
  dportHi = 0;
  action: RuleAction = 'lookup';
  table = RT_TABLE_MAIN;
  /** goto target priority. */
  gotoPref = 0;
  /** `suppress_prefixlength N`: ignore lookups whose route prefix is ≤ N (−1 off). */
  suppressPrefixlen = -1;
  text = '';
}

/** The flow fields fib_rule_match() reads, both families. */
interface FlowSelectors {
  iif: NetDevice | null;
  oif: NetDevice | null;
  mark: number;
  proto: number;
  sport: number;
  dport: number;
}

/** fib_rule_match()'s generic selectors (iif, oif, fwmark/mask, ipproto, port ranges), before `not`. */
export function fibRuleMatchCommon(r: FibRuleBase, fl: FlowSelectors): boolean {
  if (r.iif !== null && (!fl.iif || fl.iif.name !== r.iif)) return false;
  if (r.oif !== null && (!fl.oif || fl.oif.name !== r.oif)) return false;
  if (r.fwmask !== 0 && ((fl.mark ^ r.fwmark) & r.fwmask) !== 0) return false;
  if (r.fwmask === 0 && r.fwmark !== 0 && fl.mark !== r.fwmark) return false;
  if (r.ipproto && r.ipproto !== fl.proto) return false;
  if (r.sportHi && (fl.sport < r.sportLo || fl.sport > r.sportHi)) return false;
  if (r.dportHi && (fl.dport < r.dportLo || fl.dport > r.dportHi)) return false;
  return true;
}

/** One policy routing rule (struct fib4_rule). */
export class FibRule extends FibRuleBase {
  src = 0;
  srcLen = 0;
  dst = 0;
  dstLen = 0;
  tos = 0;
  private traceTextCache: string | null = null;
  /** `text` with tabs as spaces, as traces show it. */
  get traceText(): string {
    return (this.traceTextCache ??= this.text.replace(/\t/g, ' '));
  }
}

/** The flow key of a route lookup (struct flowi4). Reused: fill and pass. */
export class Flowi4 {
  daddr = 0;
  saddr = 0;
  iif: NetDevice | null = null;
  oif: NetDevice | null = null;
  mark = 0;
  tos = 0;
  proto = 0;
  sport = 0;
  dport = 0;
}

/** Error results of fib_lookup as errno names (datapath-facts §7). */
export type FibError = 'ENETUNREACH' | 'EINVAL' | 'EHOSTUNREACH' | 'EACCES';

/** Result of a lookup: the route and the rule/table that gave it, or an error. Reused. */
export class FibResult {
  route: FibRoute | null = null;
  rule: FibRule | null = null;
  table = 0;
  err: FibError | null = null;
}

/** What the rule walk needs of a rule (struct fib_rule's generic part). */
export interface RuleCore {
  pref: number;
  action: RuleAction;
  gotoPref: number;
  table: number;
  suppressPrefixlen: number;
}

/** What the rule walk needs of a route. */
export interface RouteCore {
  type: number;
  len: number;
}

/** What the rule walk fills in. */
export interface ResultCore<Ru, Ro> {
  route: Ro | null;
  rule: Ru | null;
  table: number;
  err: FibError | null;
}

/** A family's part of the walk (struct fib_rules_ops: match, and the table lookup of its action). */
export interface RuleOps<Ru, Ro, Fl, Res> {
  match(r: Ru, fl: Fl): boolean;
  lookup(table: number, fl: Fl, res: Res): Ro | null;
  /** The error of an `unreachable` rule: EHOSTUNREACH for IPv4, ENETUNREACH for IPv6 (fib6_rule_action). */
  unreachable: FibError;
}

/**
 * fib_rules_lookup() (net/core/fib_rules.c) with the family's action: rules in priority order; nop
 * goes on, goto jumps, blackhole/unreachable/prohibit rules end with their error; a lookup whose table
 * has no route, a `throw` route, or a result suppressed by suppress_prefixlength tries the next rule;
 * an error route ends with its error (blackhole EINVAL, unreachable EHOSTUNREACH, prohibit EACCES).
 * Nothing matched: ENETUNREACH. No allocation: ops is made once per FIB, fl and res are reused.
 */
export function fibRulesLookup<Ru extends RuleCore, Ro extends RouteCore, Fl, Res extends ResultCore<Ru, Ro>>(
  rules: Ru[], ops: RuleOps<Ru, Ro, Fl, Res>, fl: Fl, res: Res,
): void {
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i];
    if (!ops.match(r, fl)) continue;
    switch (r.action) {
      case 'nop':
        continue;
      case 'goto': {
        let j = i + 1;
        while (j < rules.length && rules[j].pref < r.gotoPref) j++;
        i = j - 1;
        continue;
      }
      case 'blackhole':
        res.rule = r;
        res.err = 'EINVAL';
        return;
      case 'unreachable':
        res.rule = r;
        res.err = ops.unreachable;
        return;
      case 'prohibit':
        res.rule = r;
        res.err = 'EACCES';
        return;
    }
    const route = ops.lookup(r.table, fl, res);
    if (!route || route.type === RTN_THROW) continue;
    // fib4_rule_suppress / fib6_rule_suppress: a too-general result is discarded, the next rule tried.
    if (r.suppressPrefixlen >= 0 && route.len <= r.suppressPrefixlen) continue;
    res.route = route;
    res.rule = r;
    res.table = r.table;
    if (route.type === RTN_BLACKHOLE) res.err = 'EINVAL';
    else if (route.type === RTN_UNREACHABLE) res.err = 'EHOSTUNREACH';
    else if (route.type === RTN_PROHIBIT) res.err = 'EACCES';
    return;
  }
  res.err = 'ENETUNREACH';
}

/** A namespace's FIB of one family: policy rules and the tables they look up. */
export class FibBase<Ru extends RuleCore & { text: string }, Ro extends { table: number; len: number; metric: number }, T extends RouteList<Ro>> {
  rules: Ru[] = [];
  tables = new Map<number, T>();
  /** Every route in the order it was added (for display; lookups use the tables). */
  all: Ro[] = [];

  constructor(private readonly newTable: (id: number) => T, private readonly newRule: () => Ru) {}

  /** Add a route to its table. */
  add(r: Ro): void {
    this.table(r.table).add(r);
    this.all.push(r);
  }

  /** The table with this id, created on first use. */
  table(id: number): T {
    let t = this.tables.get(id);
    if (!t) this.tables.set(id, (t = this.newTable(id)));
    return t;
  }

  /** Add the kernel's default rules: [pref, table] pairs (fib_default_rules_init, fib6_default_rules_init). */
  protected addDefaultRules(rules: Array<[number, number]>): void {
    for (const [pref, table] of rules) {
      const r = this.newRule();
      r.pref = pref;
      r.table = table;
      r.text = `${pref}:\tfrom all lookup ${tableName(table)}`;
      this.rules.push(r);
    }
  }

  /** Keep rules in priority order (stable for equal priorities, like the kernel's list). */
  sortRules(): void {
    this.rules.sort((a, b) => a.pref - b.pref);
  }
}

/** A namespace's IPv4 FIB: rules and tables. */
export class Fib4 extends FibBase<FibRule, FibRoute, FibTable> {
  constructor() {
    super((id) => new FibTable(id), () => new FibRule());
  }

  /** The kernel's default rules (fib_default_rules_init): 0 local, 32766 main, 32767 default. */
  defaultRules(): void {
    this.addDefaultRules([[0, RT_TABLE_LOCAL], [32766, RT_TABLE_MAIN], [32767, RT_TABLE_DEFAULT]]);
  }

  /** fib_lookup() → fib_rules_lookup(): fills `res`. */
  lookup(fl: Flowi4, res: FibResult): void {
    res.route = null;
    res.rule = null;
    res.table = 0;
    res.err = null;
    fibRulesLookup(this.rules, this.ops, fl, res);
  }

  /** The IPv4 half of the rule walk. */
  private readonly ops: RuleOps<FibRule, FibRoute, Flowi4, FibResult> = {
    match: ruleMatches,
    lookup: (table, fl) => this.tables.get(table)?.lookup(fl.daddr, fl.tos, fl.oif) ?? null,
    unreachable: 'EHOSTUNREACH',
  };
}

/** fib4_rule_match() plus the generic selectors of fib_rule_match(). */
function ruleMatches(r: FibRule, fl: Flowi4): boolean {
  const ok = fibRuleMatchCommon(r, fl)
    && !(r.srcLen && ((fl.saddr & maskOf(r.srcLen)) >>> 0) !== r.src)
    && !(r.dstLen && ((fl.daddr & maskOf(r.dstLen)) >>> 0) !== r.dst)
    && !(r.tos && r.tos !== fl.tos);
  return r.invert ? !ok : ok;
}

/** Multipath next-hop choice: hash-threshold over weights (fib_select_multipath). Hash is ours: see README. */
export function selectNexthop(r: FibRoute, hash: number): FibNh | null {
  if (r.nh.length <= 1) return r.nh[0] ?? null;
  let total = 0;
  for (const nh of r.nh) total += nh.weight;
  let x = (hash >>> 0) % total;
  for (const nh of r.nh) {
    if (x < nh.weight) return nh;
    x -= nh.weight;
  }
  return r.nh[r.nh.length - 1];
}
