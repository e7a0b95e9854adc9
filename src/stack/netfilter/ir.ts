/**
 * Ruleset intermediate representation: what every ruleset source (nft JSON, nft text, iptables-save)
 * is parsed into, and what compile.ts turns into matchers. It follows nftables' own model (a rule is
 * a list of expressions; matches compare a selector with a constant, statements act), because
 * iptables-nft itself compiles iptables rules into that model.
 *
 * Pure data: no functions, so it can be printed, compared in tests and sent to workers.
 */

/** Netfilter families (nft `table <family>`). */
export type Family = 'ip' | 'ip6' | 'inet' | 'arp' | 'bridge' | 'netdev';

/** Hook names as nft spells them. */
export type HookName = 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting' | 'ingress' | 'egress';

/** Where a table was read from: the source a user should look at when a rule is questioned. */
export type RulesetSource = 'nft-json' | 'nft-text' | 'iptables-save' | 'ip6tables-save';

/** A ruleset: all tables of one namespace. */
export interface RulesetIR {
  tables: TableIR[];
}

/** One table. */
export interface TableIR {
  family: Family;
  name: string;
  /** The file (and for iptables, `*table` line) the table came from. */
  source: RulesetSource;
  file: string;
  chains: ChainIR[];
  sets: SetIR[];
}

/** A base chain's hook attachment. */
export interface BaseChainIR {
  type: 'filter' | 'nat' | 'route';
  hook: HookName;
  prio: number;
  policy: 'accept' | 'drop';
  /** netdev chains: the device. */
  device: string | null;
}

/** A chain: base (attached to a hook) or regular (reached by jump/goto). */
export interface ChainIR {
  name: string;
  base: BaseChainIR | null;
  rules: RuleIR[];
}

/** One rule. */
export interface RuleIR {
  /** nft handle; for iptables the 1-based rule number within its chain. */
  handle: number;
  /**
   * For iptables-nft rules read from iptables-save: the nft handle the kernel gives the same rule
   * (from nft.json, by position), which `nft monitor trace` prints. Absent otherwise.
   */
  nftHandle?: number;
  /** The rule as its source prints it (nft text, or the iptables-save line without `-A CHAIN`). */
  text: string;
  /** Where in the source it came from, for error messages: `nft.json [12]` or `iptables.txt:34`. */
  origin: string;
  exprs: ExprIR[];
}

// ---------------------------------------------------------------------------------------------
// Selectors: the left-hand side of a match, or the key of a map lookup.

/**
 * Header field. `proto`: 'ip' | 'ip6' | 'tcp' | 'udp' | 'th' (transport header: ports of TCP, UDP,
 * SCTP, DCCP, UDP-Lite) | 'icmp' | 'icmpv6' | 'ether' | 'vlan' | 'arp'.
 * Fields: ip saddr/daddr/protocol/ttl/length/id/dscp/tos/version/hdrlength/frag-off/checksum;
 * ip6 saddr/daddr/nexthdr/hoplimit/flowlabel/length; tcp/udp/th sport/dport (+ tcp flags/sequence/
 * ackseq/window); icmp/icmpv6 type/code/id/sequence/mtu; ether saddr/daddr/type; vlan id/pcp/type;
 * arp operation/saddr ip/daddr ip/saddr ether/daddr ether (fields spelled 'saddr ip' etc.).
 */
export interface PayloadSel {
  kind: 'payload';
  proto: string;
  field: string;
}

/**
 * Packet metadata (nft `meta KEY`): iifname oifname iif oif iiftype oiftype l4proto nfproto protocol
 * mark pkttype length skuid skgid cpu ibrname obrname (bridge port's bridge) iifgroup oifgroup
 * priority nftrace random (a fresh u32 per evaluation: iptables-nft's `-m statistic --mode random`).
 * `ibrport` / `obrport`: the name of the bridge port the packet entered / will leave by when
 * br_netfilter passes a bridged packet through the IP hooks (iptables `-m physdev --physdev-in/out`,
 * the kernel's physindev/physoutdev); the empty string when there is none (not bridged, or not known
 * yet), so `meta obrport != ""` is `--physdev-is-bridged` and `meta ibrport != ""` is `--physdev-is-in`.
 */
export interface MetaSel {
  kind: 'meta';
  key: string;
}

/**
 * Connection tracking (nft `ct [original|reply] KEY`): state status mark direction expiration
 * l3proto protocol saddr daddr proto-src proto-dst (with dir), zone.
 * iptables `-m conntrack --ctorigdst X` is `ct original daddr`.
 */
export interface CtSel {
  kind: 'ct';
  key: string;
  dir: 'original' | 'reply' | null;
}

/**
 * fib expression (nft `fib saddr . iif oif`, `fib daddr type`): the routing lookup the kernel would
 * do. flags: 'saddr' | 'daddr' | 'mark' | 'iif' | 'oif'; result: 'oif' | 'oifname' | 'type'.
 * iptables `-m addrtype --dst-type LOCAL` is `fib daddr type local`; `--limit-iface-in` adds 'iif'.
 * nft's `fib ... oif missing` / `exists` are `oif == 0` / `oif != 0` (ifindex 0: no route).
 */
export interface FibSel {
  kind: 'fib';
  flags: string[];
  result: 'oif' | 'oifname' | 'type';
}

/** Random number 0..mod-1 per packet (`numgen random mod N`), or a per-rule counter (`inc`). */
export interface NumgenSel {
  kind: 'numgen';
  mode: 'random' | 'inc';
  mod: number;
  offset: number;
}

/** Concatenation of selectors (`ip saddr . tcp dport`), for set/map lookups. */
export interface ConcatSel {
  kind: 'concat';
  parts: Selector[];
}

/** A selector masked and xored: `(sel & mask) ^ xor` (iptables `-m mark --mark v/m` uses mask). */
export interface BitwiseSel {
  kind: 'bitwise';
  sel: Selector;
  mask: number;
  xor: number;
}

/** Any selector. */
export type Selector = PayloadSel | MetaSel | CtSel | FibSel | NumgenSel | ConcatSel | BitwiseSel;

// ---------------------------------------------------------------------------------------------
// Constants: the right-hand side of a match, set elements, map data.

/**
 * A constant value. Numbers are numbers; addresses are text ('192.0.2.1', '2001:db8::1',
 * '02:42:ac:11:00:02') and are converted to numeric form by the compiler; symbolic names stay as the
 * source spelled them (ct state 'established', fib type 'local', pkttype 'broadcast', l4proto 'tcp',
 * icmp type 'echo-request', interface names) and are resolved by the compiler, which refuses unknown
 * ones.
 */
export type Scalar = number | string;

/** A constant or a structured constant. */
export type Value =
  | Scalar
  | { prefix: { addr: string; len: number } }
  | { range: [Scalar, Scalar] }
  | { concat: Value[] }
  /** Several names ORed as a bitmask (ct state established,related), or an anonymous set. */
  | { set: Value[] }
  /** A reference to a named set in the same table: `@name`. */
  | { ref: string }
  /** An anonymous map: [key, data] pairs (`dnat to tcp dport map { 80 : 10.0.0.1 }`). */
  | { map: Array<[Value, Value]> };

/** Comparison operators. 'in' is nft's bitmask/set membership (`ct state established,related`). */
export type CmpOp = '==' | '!=' | '<' | '>' | '<=' | '>=' | 'in';

// ---------------------------------------------------------------------------------------------
// Expressions: matches and statements, evaluated left to right; the first failing match ends the rule.

/** `left op right`. Interface names may end with '*' (nft) or '+' (iptables) for a prefix match. */
export interface MatchExpr {
  op: 'match';
  left: Selector;
  cmp: CmpOp;
  right: Value;
}

/** Count packets and bytes (the counter of `nft list ruleset` / `iptables -L -v`). */
export interface CounterExpr {
  op: 'counter';
}

/** A verdict statement. */
export interface VerdictExpr {
  op: 'verdict';
  verdict: 'accept' | 'drop' | 'continue' | 'return' | 'jump' | 'goto' | 'queue';
  /** jump/goto target chain. */
  target: string | null;
}

/**
 * reject. type: 'tcp reset' | 'icmp' | 'icmpv6' | 'icmpx'; code: the nft/iptables name
 * ('port-unreachable', 'host-unreachable', 'net-unreachable', 'prot-unreachable', 'net-prohibited',
 * 'host-prohibited', 'admin-prohibited', 'no-route', 'addr-unreachable'), or null for the default
 * (port unreachable; tcp reset for type 'tcp reset').
 */
export interface RejectExpr {
  op: 'reject';
  type: 'tcp reset' | 'icmp' | 'icmpv6' | 'icmpx' | null;
  code: string | null;
}

/**
 * NAT statement. addr: a single address, a range 'A-B' or a map lookup; port: [min, max] or null.
 * flags: 'random' | 'fully-random' | 'persistent' | 'netmap'.
 */
export interface NatExpr {
  op: 'nat';
  kind: 'snat' | 'dnat' | 'masquerade' | 'redirect';
  /** ip or ip6, when the rule names it (inet tables). */
  family: 'ip' | 'ip6' | null;
  addr: NatAddr | null;
  port: NatPort | null;
  flags: string[];
}

/** NAT target address: fixed or range, or looked up in a map by a selector. */
export type NatAddr =
  | { addr: string }
  | { range: [string, string] }
  | { map: { key: Selector; data: Value } };

/** NAT target port: fixed or range, or looked up in a map. */
export type NatPort = { range: [number, number] } | { map: { key: Selector; data: Value } };

/** log statement (iptables LOG). */
export interface LogExpr {
  op: 'log';
  prefix: string | null;
  level: string | null;
}

/**
 * limit: rate per unit time, with burst. unit 'packets' or 'bytes'; inv for `limit rate over`
 * (matches when over the rate). Token bucket as net/netfilter/nft_limit.c.
 */
export interface LimitExpr {
  op: 'limit';
  rate: number;
  per: 'second' | 'minute' | 'hour' | 'day' | 'week';
  burst: number;
  unit: 'packets' | 'bytes';
  inv: boolean;
}

/**
 * Set a mark or similar field: `meta mark set V`, `ct mark set V`, `meta nftrace set 1`,
 * `meta priority set`, iptables MARK/CONNMARK. The new value is `((from ?? current) & and) ^ xor`
 * with `from` a selector (e.g. `ct mark set meta mark`), which covers set/or/xor/and/save/restore.
 */
export interface MangleExpr {
  op: 'mangle';
  key: MetaSel | CtSel;
  from: Selector | null;
  and: number;
  xor: number;
}

/** notrack (raw table): the packet is UNTRACKED. */
export interface NotrackExpr {
  op: 'notrack';
}

/** Verdict map: look up `key` in `map` (anonymous list of [key, verdict] or @ref) and apply it. */
export interface VmapExpr {
  op: 'vmap';
  key: Selector;
  map: Array<[Value, VerdictExpr]> | { ref: string };
}

/** iptables `-m statistic`: random with probability, or every Nth starting at packet. */
export interface StatisticExpr {
  op: 'statistic';
  mode: 'random' | 'nth';
  probability: number;
  every: number;
  packet: number;
  inv: boolean;
}

/** Dynamic set update (`add @set { ip saddr }`, `update @set ...`), or iptables `-m recent --set`. */
export interface SetUpdateExpr {
  op: 'setupdate';
  verb: 'add' | 'update' | 'delete';
  set: string;
  key: Selector;
}

/**
 * Matches when any of `matches` matches (an OR; each part alone is an ordinary MatchExpr). Needed by
 * iptables `-m multiport --ports P` (source port or destination port in P).
 */
export interface MatchAnyExpr {
  op: 'matchany';
  matches: MatchExpr[];
}

/**
 * An iptables extension kept opaque by `nft -j list ruleset` (iptables-nft tables):
 * `{"xt":{"type":"match","name":"conntrack"}}`. Its arguments are lost, so it cannot be evaluated:
 * the snapshot reader replaces such tables with the iptables-save text, and compile refuses it.
 */
export interface XtExpr {
  op: 'xt';
  type: 'match' | 'target';
  name: string;
}

/** Any expression. */
export type ExprIR =
  | MatchExpr
  | CounterExpr
  | VerdictExpr
  | RejectExpr
  | NatExpr
  | LogExpr
  | LimitExpr
  | MangleExpr
  | NotrackExpr
  | VmapExpr
  | StatisticExpr
  | SetUpdateExpr
  | MatchAnyExpr
  | XtExpr;

/** A named set or map of a table. `type` is nft's type name, possibly concatenated ('ipv4_addr . inet_service'). */
export interface SetIR {
  name: string;
  type: string;
  /** Map data type ('verdict', 'ipv4_addr', 'inet_service', ...) or null for a plain set. */
  map: string | null;
  /** 'interval', 'constant', 'dynamic', 'timeout'. */
  flags: string[];
  elems: Value[];
  /** Map data, parallel to elems (for verdict maps: VerdictExpr). */
  data: Array<Value | VerdictExpr> | null;
}
