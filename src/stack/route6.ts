/**
 * IPv6 routing: rules (net/ipv6/fib6_rules.c) and tables (net/ipv6/ip6_fib.c, route.c), as data with
 * a lookup that mirrors fib6_rule_lookup() → fib6_table_lookup(): rules in ascending priority; in a
 * table the longest prefix, among its routes the lowest metric (rt6_select: a route through the
 * flow's interface scores higher; with RT6_LOOKUP_F_IFACE — link-local and multicast destinations —
 * only routes through that interface qualify), then back off to shorter prefixes (fib6_backtrack).
 * A table without a match, or a `throw` route, goes on to the next rule; no rule left gives
 * ip6_null_entry (ENETUNREACH).
 *
 * Also here: IPv6 address helpers for configuration and the slow path (16-byte arrays, text only at
 * the edge), the kernel's own routes for each address (addrconf), and source address selection
 * (ipv6_dev_get_saddr, RFC 6724).
 */
import type { NetDevice, IfAddr6 } from './netdev.js';
import type { Netns } from './netns.js';
import { RTN_ANYCAST, RTN_BLACKHOLE, RTN_LOCAL, RTN_MULTICAST, RTN_NAMES, RTN_PROHIBIT, RTN_THROW, RTN_UNICAST, RTN_UNREACHABLE, RT_TABLE_LOCAL, RT_TABLE_MAIN, tableName, fibRulesLookup, fibRuleMatchCommon, FibBase, FibRuleBase, RouteList, type FibError, type RuleAction, type RuleOps } from './route.js';
import { ipv6ToString, parseIpv6 } from './wire/decode.js';

// ---------------------------------------------------------------------------------------------
// Addresses (RFC 4291).

/** Parse IPv6 text into a new 16-byte array; null when malformed. */
export function parseIpv6Addr(s: string): Uint8Array | null {
  const b = new Uint8Array(16);
  return parseIpv6(s, b, 0) ? b : null;
}

/** RFC 5952 text of the 16 bytes at `off`. */
export function formatIpv6(b: Uint8Array, off = 0): string {
  return ipv6ToString(b, off);
}

/** An IPv6 prefix. */
export interface Prefix6 {
  addr: Uint8Array;
  len: number;
}

/** Parse 'A[/len]', 'default', '::/0'; the address is masked to the prefix. Null when malformed. */
export function parsePrefix6(s: string): Prefix6 | null {
  if (s === 'default' || s === 'any' || s === 'all') return { addr: new Uint8Array(16), len: 0 };
  const slash = s.indexOf('/');
  const a = parseIpv6Addr(slash < 0 ? s : s.slice(0, slash));
  const len = slash < 0 ? 128 : Number(s.slice(slash + 1));
  if (!a || !Number.isInteger(len) || len < 0 || len > 128) return null;
  maskInPlace6(a, len);
  return { addr: a, len };
}

/** Clear the bits of `a` after the first `len`. */
export function maskInPlace6(a: Uint8Array, len: number): void {
  for (let i = 0; i < 16; i++) {
    const bits = len - i * 8;
    if (bits >= 8) continue;
    a[i] = bits <= 0 ? 0 : a[i] & ((0xff << (8 - bits)) & 0xff);
  }
}

/** The device with an on-link IPv6 prefix holding `gw` (the last such, as both loaders have it); null when none. */
export function onLinkDev6(ns: Netns, gw: Uint8Array): NetDevice | null {
  let dev: NetDevice | null = null;
  for (const d of ns.devs) for (const a of d.ifa6) {
    const net = a.addr.slice();
    maskInPlace6(net, a.prefixlen);
    const g = gw.slice();
    maskInPlace6(g, a.prefixlen);
    if (net.every((x, k) => x === g[k])) dev = d;
  }
  return dev;
}

/** True when the 16 bytes at b[off] lie in prefix (p, len). */
export function inPrefix6(b: Uint8Array, off: number, p: Uint8Array, len: number): boolean {
  let i = 0;
  for (; len >= 8; i++, len -= 8) if (b[off + i] !== p[i]) return false;
  if (len === 0) return true;
  const m = (0xff << (8 - len)) & 0xff;
  return (b[off + i] & m) === p[i];
}

/** Byte-wise equality of two addresses. */
export function eq6(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number): boolean {
  for (let i = 0; i < 16; i++) if (a[aOff + i] !== b[bOff + i]) return false;
  return true;
}

/** Number of leading bits two addresses share (ipv6_addr_diff). */
export function commonPrefixLen6(a: Uint8Array, aOff: number, b: Uint8Array, bOff: number): number {
  for (let i = 0; i < 16; i++) {
    const x = a[aOff + i] ^ b[bOff + i];
    if (x !== 0) return i * 8 + Math.clz32(x) - 24;
  }
  return 128;
}

/** ff00::/8. */
export function isMulticast6(b: Uint8Array, off = 0): boolean {
  return b[off] === 0xff;
}
/** fe80::/10. */
export function isLinkLocal6(b: Uint8Array, off = 0): boolean {
  return b[off] === 0xfe && (b[off + 1] & 0xc0) === 0x80;
}
/** ::1. */
export function isLoopback6(b: Uint8Array, off = 0): boolean {
  for (let i = 0; i < 15; i++) if (b[off + i] !== 0) return false;
  return b[off + 15] === 1;
}
/** ::. */
export function isUnspecified6(b: Uint8Array, off = 0): boolean {
  for (let i = 0; i < 16; i++) if (b[off + i] !== 0) return false;
  return true;
}
/** ::ffff:0:0/96. */
export function isV4Mapped6(b: Uint8Array, off = 0): boolean {
  for (let i = 0; i < 10; i++) if (b[off + i] !== 0) return false;
  return b[off + 10] === 0xff && b[off + 11] === 0xff;
}
/** Multicast scope nibble (RFC 4291 §2.7). */
export function mcScope6(b: Uint8Array, off = 0): number {
  return b[off + 1] & 0x0f;
}

/** Scope values of __ipv6_addr_src_scope (include/net/ipv6.h IPV6_ADDR_SCOPE_*). */
export const SCOPE6_NODELOCAL = 0x01, SCOPE6_LINKLOCAL = 0x02, SCOPE6_SITELOCAL = 0x05, SCOPE6_GLOBAL = 0x0e;

/** __ipv6_addr_src_scope(): the scope of an address for source selection. */
export function scope6(b: Uint8Array, off = 0): number {
  if (isMulticast6(b, off)) return mcScope6(b, off);
  if (isLinkLocal6(b, off)) return SCOPE6_LINKLOCAL;
  if (isLoopback6(b, off)) return SCOPE6_NODELOCAL;
  if (b[off] === 0xfe && (b[off + 1] & 0xc0) === 0xc0) return SCOPE6_SITELOCAL;
  return SCOPE6_GLOBAL;
}

/** rt6_need_strict(): link-local and multicast destinations are bound to an interface. */
export function needStrict6(b: Uint8Array, off = 0): boolean {
  return isMulticast6(b, off) || isLinkLocal6(b, off);
}

/** A map key for an address: 32 hex digits. */
export function key6(b: Uint8Array, off = 0): string {
  let s = '';
  for (let i = 0; i < 16; i++) s += HEX[b[off + i]];
  return s;
}
const HEX: string[] = [];
for (let i = 0; i < 256; i++) HEX.push((i < 16 ? '0' : '') + i.toString(16));

/** The solicited-node multicast address of `target` (RFC 4291 §2.7.1): ff02::1:ffXX:XXXX. */
export function solicitedNode6(target: Uint8Array, tOff: number, out: Uint8Array): Uint8Array {
  out.fill(0);
  out[0] = 0xff;
  out[1] = 0x02;
  out[11] = 0x01;
  out[12] = 0xff;
  out[13] = target[tOff + 13];
  out[14] = target[tOff + 14];
  out[15] = target[tOff + 15];
  return out;
}

/** True for a solicited-node multicast address (ff02::1:ff00:0/104). */
export function isSolicitedNode6(b: Uint8Array, off = 0): boolean {
  if (b[off] !== 0xff || b[off + 1] !== 0x02) return false;
  for (let i = 2; i < 11; i++) if (b[off + i] !== 0) return false;
  return b[off + 11] === 1 && b[off + 12] === 0xff;
}

/** The Ethernet address of an IPv6 multicast group (RFC 2464 §7): 33:33 and the last 4 bytes. */
export function mcastMac6(b: Uint8Array, off: number): { hi: number; lo: number } {
  return { hi: 0x3333, lo: ((b[off + 12] << 24) | (b[off + 13] << 16) | (b[off + 14] << 8) | b[off + 15]) >>> 0 };
}

/** The modified EUI-64 link-local address of a MAC (RFC 4291 §2.5.1, addr_gen_mode eui64). */
export function eui64LinkLocal(macHi: number, macLo: number): Uint8Array {
  const a = new Uint8Array(16);
  a[0] = 0xfe;
  a[1] = 0x80;
  a[8] = ((macHi >>> 8) & 0xff) ^ 0x02;
  a[9] = macHi & 0xff;
  a[10] = (macLo >>> 24) & 0xff;
  a[11] = 0xff;
  a[12] = 0xfe;
  a[13] = (macLo >>> 16) & 0xff;
  a[14] = (macLo >>> 8) & 0xff;
  a[15] = macLo & 0xff;
  return a;
}

/**
 * Interning of IPv6 addresses to small integers, so the IPv4 NeighTable (keyed by dev and a number)
 * can hold IPv6 neighbours: `id()` gives the same number for the same 16 bytes; `addr()` gives the
 * bytes back.
 */
export class Addr6Ids {
  private ids = new Map<string, number>();
  private list: Uint8Array[] = [];

  /** The id of the address at b[off] (created on first use). */
  id(b: Uint8Array, off = 0): number {
    const k = key6(b, off);
    let id = this.ids.get(k);
    if (id === undefined) {
      id = this.list.length;
      this.list.push(b.slice(off, off + 16));
      this.ids.set(k, id);
    }
    return id;
  }

  /** The address of an id (do not modify). */
  addr(id: number): Uint8Array {
    return this.list[id];
  }
}

// ---------------------------------------------------------------------------------------------
// Routes, tables, rules.

/** One IPv6 next hop (struct fib6_nh). gw null = directly connected. */
export interface Fib6Nh {
  gw: Uint8Array | null;
  dev: NetDevice | null;
  weight: number;
}

/** One route (struct fib6_info). */
export class Fib6Route {
  type = RTN_UNICAST;
  dst: Uint8Array = new Uint8Array(16);
  len = 0;
  metric = 1024;
  table = RT_TABLE_MAIN;
  proto = '';
  pref = 'medium';
  /** Preferred source, null when none. */
  prefsrc: Uint8Array | null = null;
  nh: Fib6Nh[] = [];
  /** The route as `ip -6 route` prints it, for traces. */
  text = '';
}

/** Render a route like `ip -6 route show table all`. */
export function route6Text(r: Fib6Route): string {
  const parts: string[] = [];
  if (r.type !== RTN_UNICAST) parts.push(RTN_NAMES[r.type]);
  parts.push(r.len === 0 ? 'default' : r.len === 128 ? formatIpv6(r.dst) : `${formatIpv6(r.dst)}/${r.len}`);
  if (r.nh.length === 1) {
    const nh = r.nh[0];
    if (nh.gw) parts.push('via', formatIpv6(nh.gw));
    if (nh.dev) parts.push('dev', nh.dev.name);
  } else {
    for (const nh of r.nh) parts.push('nexthop', ...(nh.gw ? ['via', formatIpv6(nh.gw)] : []), ...(nh.dev ? ['dev', nh.dev.name] : []), 'weight', String(nh.weight));
  }
  if (r.table !== RT_TABLE_MAIN) parts.push('table', tableName(r.table));
  if (r.proto) parts.push('proto', r.proto);
  if (r.prefsrc) parts.push('src', formatIpv6(r.prefsrc));
  parts.push('metric', String(r.metric));
  if (r.pref) parts.push('pref', r.pref);
  return parts.join(' ');
}

/** True for the reject types (no next hop): blackhole, unreachable, prohibit, throw. */
function isReject(t: number): boolean {
  return t === RTN_BLACKHOLE || t === RTN_UNREACHABLE || t === RTN_PROHIBIT || t === RTN_THROW;
}

/** The flow key of an IPv6 route lookup (struct flowi6). Reused: fill and pass. */
export class Flowi6 {
  daddr = new Uint8Array(16);
  saddr = new Uint8Array(16);
  /** Input device (input lookups), null for output. */
  iif: NetDevice | null = null;
  /** Output device the flow is bound to (or the device rt6_select prefers), null for none. */
  oif: NetDevice | null = null;
  mark = 0;
  proto = 0;
  sport = 0;
  dport = 0;
  tclass = 0;
  /** RT6_LOOKUP_F_IFACE: only routes through `oif` (input: `iif`) qualify. */
  strict = false;

  /** Copy addresses from packet bytes. */
  setAddrs(b: Uint8Array, dOff: number, sOff: number): void {
    for (let i = 0; i < 16; i++) {
      this.daddr[i] = b[dOff + i];
      this.saddr[i] = sOff < 0 ? 0 : b[sOff + i];
    }
  }
}

/** Result of a lookup: the route and the rule/table that gave it, or an error. Reused. */
export class Fib6Result {
  route: Fib6Route | null = null;
  rule: Fib6Rule | null = null;
  table = 0;
  err: FibError | null = null;
  /** The next hop chosen (multipath: the first). */
  nh: Fib6Nh | null = null;
}

/** Tables up to this size are scanned group by group; larger ones get a prefix index. */
export const FIB6_LINEAR_MAX = 32;

/** One IPv6 routing table. */
export class Fib6Table extends RouteList<Fib6Route> {
  /**
   * Prefix index, built on the first lookup of a large table: per prefix length (longest first, as
   * [start, end) in the sorted list), the positions of its routes by a hash of their masked prefix.
   * A bucket may hold other prefixes (hash collisions): lookups still test each with inPrefix6.
   */
  private groups: Int32Array | null = null;
  private byHash: Map<number, number[]>[] = [];

  protected override changed(): void {
    this.groups = null;
  }

  /**
   * fib6_table_lookup(): for each matching prefix, longest first, rt6_select over its routes — the
   * lowest-metric group first, the best score (through `dev`: 2, else 0; with `strict` only through
   * `dev`), then the remaining routes; dead routes (every next hop's device down) never qualify.
   * Null when no prefix has a usable route (the kernel's fib6_null_entry).
   */
  lookup(fl: Flowi6, dev: NetDevice | null, res: Fib6Result): Fib6Route | null {
    const rs = this.routes;
    if (rs.length <= FIB6_LINEAR_MAX) return this.lookupLinear(fl, dev, res);
    if (this.groups === null) this.buildIndex(rs);
    const g = this.groups!;
    for (let k = 0; k < g.length; k += 2) {
      const len = rs[g[k]].len;
      const cand = this.byHash[k >> 1].get(prefixHash6(fl.daddr, len));
      if (cand === undefined) continue;
      const best = select6(rs, cand, 0, cand.length, fl, dev, res, len);
      if (best !== null) return best;
    }
    return null;
  }

  /** The same answer as lookup(), always by scanning (tests hold the index to it). */
  lookupLinear(fl: Flowi6, dev: NetDevice | null, res: Fib6Result): Fib6Route | null {
    const rs = this.routes;
    let i = 0;
    while (i < rs.length) {
      // One prefix length: routes of equal (len, dst) form a node; only matching ones are considered.
      const len = rs[i].len;
      let j = i;
      while (j < rs.length && rs[j].len === len) j++;
      const best = select6(rs, null, i, j, fl, dev, res, len);
      if (best !== null) return best;
      i = j;
    }
    return null;
  }

  private buildIndex(rs: readonly Fib6Route[]): void {
    const groups: number[] = [];
    this.byHash = [];
    for (let i = 0; i < rs.length; i++) {
      if (i === 0 || rs[i].len !== rs[i - 1].len) {
        if (i > 0) groups.push(i);
        groups.push(i);
        this.byHash.push(new Map());
      }
      const m = this.byHash[this.byHash.length - 1];
      const h = prefixHash6(rs[i].dst, rs[i].len);
      const b = m.get(h);
      if (b === undefined) m.set(h, [i]);
      else b.push(i);
    }
    if (rs.length > 0) groups.push(rs.length);
    this.groups = Int32Array.from(groups);
  }
}

/**
 * rt6_select() over the routes of one prefix length that contain fl.daddr: positions start..end of
 * rs, or the positions listed in `cand` (start..end of it). Fills res.nh; null when none is usable.
 */
function select6(rs: readonly Fib6Route[], cand: number[] | null, start: number, end: number, fl: Flowi6, dev: NetDevice | null, res: Fib6Result, len: number): Fib6Route | null {
  let best: Fib6Route | null = null, bestNh: Fib6Nh | null = null, bestScore = -1, bestMetric = Infinity;
  let lowest = Infinity;
  for (let k = start; k < end; k++) {
    const r = rs[cand === null ? k : cand[k]];
    if (inPrefix6(fl.daddr, 0, r.dst, len) && r.metric < lowest) lowest = r.metric;
  }
  for (let pass = 0; pass < 2 && !best; pass++) {
    for (let k = start; k < end; k++) {
      const r = rs[cand === null ? k : cand[k]];
      if (!inPrefix6(fl.daddr, 0, r.dst, len)) continue;
      if ((pass === 0) !== (r.metric === lowest)) continue;
      const m = scoreRoute(r, dev, fl.strict);
      if (m.score < 0) continue;
      if (m.score > bestScore || (m.score === bestScore && r.metric < bestMetric)) {
        best = r;
        bestNh = m.nh;
        bestScore = m.score;
        bestMetric = r.metric;
      }
    }
  }
  if (best) res.nh = bestNh;
  return best;
}

/** A hash of the first `len` bits of an address (the rest masked off). */
function prefixHash6(a: Uint8Array, len: number): number {
  let h = len;
  let i = 0;
  for (; len >= 8; i++, len -= 8) h = Math.imul(h ^ a[i], 0x01000193);
  if (len > 0) h = Math.imul(h ^ (a[i] & ((0xff << (8 - len)) & 0xff)), 0x01000193);
  return h >>> 0;
}

const scoreOut = { score: 0, nh: null as Fib6Nh | null };

/** rt6_score_route() / find_match(): -1 when the route cannot be used for this flow. */
function scoreRoute(r: Fib6Route, dev: NetDevice | null, strict: boolean): { score: number; nh: Fib6Nh | null } {
  scoreOut.nh = null;
  if (isReject(r.type) || r.nh.length === 0) {
    scoreOut.score = strict ? -1 : 0;
    return scoreOut;
  }
  let best = -1;
  for (const nh of r.nh) {
    if (nh.dev && !nh.dev.up) continue; // RTNH_F_DEAD
    const m = !dev || nh.dev === dev ? 2 : 0;
    if (m === 0 && strict) continue;
    if (m > best) {
      best = m;
      scoreOut.nh = nh;
    }
  }
  scoreOut.score = best;
  return scoreOut;
}

/** One IPv6 policy routing rule (struct fib6_rule). */
export class Fib6Rule extends FibRuleBase {
  src: Uint8Array = new Uint8Array(16);
  srcLen = 0;
  dst: Uint8Array = new Uint8Array(16);
  dstLen = 0;
  tclass = 0;
}

/** A namespace's IPv6 FIB. */
export class Fib6 extends FibBase<Fib6Rule, Fib6Route, Fib6Table> {
  constructor() {
    super((id) => new Fib6Table(id), () => new Fib6Rule());
  }

  /** The kernel's default IPv6 rules (fib6_default_rules_init): 0 local, 32766 main. */
  defaultRules(): void {
    this.addDefaultRules([[0, RT_TABLE_LOCAL], [32766, RT_TABLE_MAIN]]);
  }

  /**
   * fib6_rule_lookup(): fills `res`. `dev` is the interface the flow prefers (input: iif; output:
   * oif). No route anywhere: ENETUNREACH (ip6_null_entry). Error routes: unreachable EHOSTUNREACH,
   * prohibit EACCES, blackhole EINVAL (ip6_rt_type_to_error).
   */
  lookup(fl: Flowi6, res: Fib6Result): void {
    res.route = null;
    res.rule = null;
    res.table = 0;
    res.err = null;
    res.nh = null;
    fibRulesLookup(this.rules, this.ops, fl, res);
  }

  /** The IPv6 half of the rule walk (the table lookup prefers the flow's interface: iif, else oif). */
  private readonly ops: RuleOps<Fib6Rule, Fib6Route, Flowi6, Fib6Result> = {
    match: rule6Matches,
    lookup: (table, fl, res) => this.tables.get(table)?.lookup(fl, fl.iif ?? fl.oif, res) ?? null,
    unreachable: 'ENETUNREACH',
  };

  /** The local table's verdict on an address: RTN_LOCAL, RTN_ANYCAST, RTN_MULTICAST or RTN_UNICAST (nft fib type). */
  addrType(b: Uint8Array, off: number, dev: NetDevice | null): number {
    if (isMulticast6(b, off)) return RTN_MULTICAST;
    const t = this.tables.get(RT_TABLE_LOCAL);
    if (t) {
      for (const r of t.routes) {
        if ((r.type === RTN_LOCAL || r.type === RTN_ANYCAST) && inPrefix6(b, off, r.dst, r.len)) {
          if (dev && needStrict6(b, off) && r.nh[0]?.dev && r.nh[0].dev !== dev) continue;
          return r.type;
        }
      }
    }
    return RTN_UNICAST;
  }
}

/** fib6_rule_match() plus the generic selectors of fib_rule_match(). */
function rule6Matches(r: Fib6Rule, fl: Flowi6): boolean {
  const ok = fibRuleMatchCommon(r, fl)
    && !(r.srcLen && !inPrefix6(fl.saddr, 0, r.src, r.srcLen))
    && !(r.dstLen && !inPrefix6(fl.daddr, 0, r.dst, r.dstLen))
    && !(r.tclass && r.tclass !== fl.tclass);
  return r.invert ? !ok : ok;
}

// ---------------------------------------------------------------------------------------------
// The kernel's own routes and the namespace's view of its addresses.

/**
 * The routes addrconf adds for each address (net/ipv6/addrconf.c): `local A` in table local for every
 * address, the connected prefix in main (metric 256; fe80::/64 on every device with IPv6), the
 * subnet-router anycast `prefix::` in table local on forwarding interfaces, and `multicast ff00::/8`
 * in table local on every non-loopback device. Used by labs and by snapshots without route6.json.
 */
export function addKernelRoutes6(ns: Netns): void {
  const forwarding = (d: NetDevice) => sysctl6(ns, d.name, 'forwarding') !== 0;
  for (const d of ns.devs) {
    if (d.ifa6.length === 0) continue;
    const add = (type: number, dst: Uint8Array, len: number, table: number, metric: number) => {
      const r = new Fib6Route();
      r.type = type;
      r.dst = dst.slice();
      maskInPlace6(r.dst, len);
      r.len = len;
      r.table = table;
      r.metric = metric;
      r.proto = 'kernel';
      r.nh.push({ gw: null, dev: d, weight: 1 });
      r.text = route6Text(r);
      ns.fib6.add(r);
    };
    const prefixes = new Set<string>();
    for (const a of d.ifa6) {
      add(RTN_LOCAL, a.addr, 128, RT_TABLE_LOCAL, 0);
      if (d.kind === 'loopback' || a.prefixlen >= 128 || a.flags.includes('noprefixroute')) continue;
      const p = a.addr.slice();
      maskInPlace6(p, a.prefixlen);
      const k = `${key6(p)}/${a.prefixlen}`;
      if (prefixes.has(k)) continue;
      prefixes.add(k);
      add(RTN_UNICAST, p, a.prefixlen, RT_TABLE_MAIN, 256);
      if (forwarding(d) && a.prefixlen < 127) add(RTN_ANYCAST, p, 128, RT_TABLE_LOCAL, 0);
    }
    if (d.kind !== 'loopback') {
      const ff = new Uint8Array(16);
      ff[0] = 0xff;
      add(RTN_MULTICAST, ff, 8, RT_TABLE_LOCAL, 256);
    }
  }
  refreshLocal6(ns);
}

/** Rebuild the namespace's set of local and anycast addresses from its local table. */
export function refreshLocal6(ns: Netns): void {
  ns.local6.clear();
  const t = ns.fib6.tables.get(RT_TABLE_LOCAL);
  if (!t) return;
  for (const r of t.routes) if ((r.type === RTN_LOCAL || r.type === RTN_ANYCAST) && r.len === 128) ns.local6.add(key6(r.dst));
}

/**
 * net.ipv6.conf.<dev>.<key> as the kernel reads it for a device: the device's own value when the
 * snapshot has it (writing conf.all.forwarding propagates to every device), else conf.all for the
 * keys the kernel ORs or takes from all, else conf.default, else the kernel default.
 */
export function sysctl6(ns: Netns, dev: string, key: string): number {
  const v = ns.sysctl.values.get(`net.ipv6.conf.${dev}.${key}`);
  if (v !== undefined) return parseInt(v, 10) || 0;
  const all = ns.sysctl.values.get(`net.ipv6.conf.all.${key}`);
  if (all !== undefined && (key === 'forwarding' || key === 'disable_ipv6')) return parseInt(all, 10) || 0;
  const dflt = ns.sysctl.values.get(`net.ipv6.conf.default.${key}`);
  if (dflt !== undefined) return parseInt(dflt, 10) || 0;
  return CONF6_DEFAULTS[key] ?? 0;
}

/** Kernel defaults of net.ipv6.conf.* in a new namespace. */
const CONF6_DEFAULTS: Record<string, number> = { forwarding: 0, disable_ipv6: 0, hop_limit: 64, accept_untracked_na: 0, drop_unsolicited_na: 0, proxy_ndp: 0 };

/** Kernel defaults of net.ipv6.neigh.default.* (same timers as ARP). */
const NEIGH6_DEFAULTS: Record<string, number> = {
  retrans_time_ms: 1000, ucast_solicit: 3, mcast_solicit: 3, app_solicit: 0, mcast_resolicit: 0,
  delay_first_probe_time: 5, base_reachable_time_ms: 30000, gc_stale_time: 60, unres_qlen: 101,
};

/** net.ipv6.neigh.<dev>.<key>, falling back to neigh.default and the kernel default. */
export function neigh6Param(ns: Netns, dev: string, key: string): number {
  const v = ns.sysctl.values.get(`net.ipv6.neigh.${dev}.${key}`) ?? ns.sysctl.values.get(`net.ipv6.neigh.default.${key}`);
  if (v !== undefined) return parseInt(v, 10) || 0;
  return NEIGH6_DEFAULTS[key] ?? 0;
}

/** net.ipv6.icmp.<key> with the kernel default. */
export function icmp6Param(ns: Netns, key: string, dflt: number): number {
  const v = ns.sysctl.values.get(`net.ipv6.icmp.${key}`);
  if (v === undefined) return dflt;
  const n = parseInt(v, 10);
  return Number.isNaN(n) ? dflt : n;
}

/**
 * Multicast groups an interface is a member of (ipv6_chk_mcast_addr), as the kernel joins them by
 * itself: all-nodes ff01::1 / ff02::1, the solicited-node group of every address and anycast address
 * on the device, and all-routers ff01::2 / ff02::2 / ff05::2 on a forwarding interface. Groups that
 * sockets join (MLD listeners) are not in the snapshot.
 */
export function mcastMember6(ns: Netns, dev: NetDevice, b: Uint8Array, off: number): boolean {
  if (b[off] !== 0xff) return false;
  const scope = mcScope6(b, off);
  let zero = true;
  for (let i = 2; i < 15; i++) if (b[off + i] !== 0) zero = false;
  if (zero && (scope === 1 || scope === 2) && b[off + 15] === 1) return true;
  if (zero && (scope === 1 || scope === 2 || scope === 5) && b[off + 15] === 2) return sysctl6(ns, dev.name, 'forwarding') !== 0;
  if (isSolicitedNode6(b, off)) {
    for (const a of dev.ifa6) if (a.addr[13] === b[off + 13] && a.addr[14] === b[off + 14] && a.addr[15] === b[off + 15]) return true;
    const t = ns.fib6.tables.get(RT_TABLE_LOCAL);
    if (t) for (const r of t.routes) if (r.type === RTN_ANYCAST && r.nh[0]?.dev === dev && r.dst[13] === b[off + 13] && r.dst[14] === b[off + 14] && r.dst[15] === b[off + 15]) return true;
  }
  return false;
}

/**
 * ipv6_dev_get_saddr(): the source address for a destination (RFC 6724 §5, the rules Linux applies:
 * same address, appropriate scope, not deprecated, outgoing interface, longest matching prefix).
 * With a link-local or multicast destination only `dev`'s addresses are candidates. Tentative and
 * dadfailed addresses never are. Null when there is none.
 */
export function ipv6DevGetSaddr(ns: Netns, dev: NetDevice | null, daddr: Uint8Array, dOff: number): Uint8Array | null {
  const dscope = scope6(daddr, dOff);
  const onlyDev = dev !== null && (isMulticast6(daddr, dOff) || dscope <= SCOPE6_LINKLOCAL);
  let best: IfAddr6 | null = null;
  let bestKey: number[] = [];
  for (const d of onlyDev ? [dev!] : ns.devs) {
    if (!d.up) continue;
    for (const a of d.ifa6) {
      if (a.flags.includes('tentative') || a.flags.includes('dadfailed')) continue;
      const same = eq6(a.addr, 0, daddr, dOff) ? 1 : 0;
      let sc = scope6(a.addr, 0);
      sc = sc >= dscope ? -sc : sc - 128;
      const preferred = a.flags.includes('deprecated') ? 0 : 1;
      const oif = dev !== null && d === dev ? 1 : 0;
      const prefix = Math.min(commonPrefixLen6(a.addr, 0, daddr, dOff), a.prefixlen);
      const k = [same, sc, preferred, oif, prefix];
      if (!best || cmpKeys(k, bestKey) > 0) {
        best = a;
        bestKey = k;
      }
    }
  }
  return best ? best.addr : null;
}

function cmpKeys(a: number[], b: number[]): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

/** An address of `dev` equal to b[off], or null (ipv6_get_ifaddr with strict device match). */
export function devAddr6(dev: NetDevice, b: Uint8Array, off: number): IfAddr6 | null {
  for (const a of dev.ifa6) if (eq6(a.addr, 0, b, off)) return a;
  return null;
}

/** True when b[off] is an anycast address of `dev` (ipv6_chk_acast_addr): the subnet-router anycast routes. */
export function devAnycast6(ns: Netns, dev: NetDevice, b: Uint8Array, off: number): boolean {
  const t = ns.fib6.tables.get(RT_TABLE_LOCAL);
  if (!t) return false;
  for (const r of t.routes) if (r.type === RTN_ANYCAST && r.nh[0]?.dev === dev && eq6(r.dst, 0, b, off)) return true;
  return false;
}

/** The first usable link-local address of `dev` (ipv6_get_lladdr without tentative/optimistic), or null. */
export function linkLocal6(dev: NetDevice): Uint8Array | null {
  for (const a of dev.ifa6) if (isLinkLocal6(a.addr, 0) && !a.flags.includes('tentative') && !a.flags.includes('optimistic') && !a.flags.includes('dadfailed')) return a.addr;
  return null;
}

export { RTN_LOCAL, RTN_ANYCAST, RTN_MULTICAST, RTN_UNICAST, RTN_BLACKHOLE, RTN_UNREACHABLE, RTN_PROHIBIT, RTN_THROW };
