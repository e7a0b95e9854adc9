/**
 * Compile a RulesetIR once into closures, and evaluate chains the way nf_tables_core.c's
 * nft_do_chain() does: rules in order, expressions left to right, a failed match ends the rule,
 * jump/goto with a stack (limit 16, like NFT_JUMP_STACK_SIZE / XT_JUMP_STACK_MAX), return, policy.
 *
 * Validation happens here, so evaluation never throws: an unknown construct is a ConfigError naming the
 * table, chain, rule and construct.
 */
import { ConfigError } from '../../errors.js';
import { maskOf, parseIpv4, parseMac } from '../inet.js';
import { parseIpv6 } from '../wire/decode.js';
import { Flowi6, Fib6Result, RTN_LOCAL as RTN6_LOCAL, RTN_ANYCAST as RTN6_ANYCAST, needStrict6, isMulticast6, isLoopback6, isLinkLocal6 } from '../route6.js';
import type { Skb } from '../skb.js';
import { NFPROTO_IPV4, NFPROTO_IPV6, PACKET_BROADCAST, PACKET_HOST, PACKET_MULTICAST, PACKET_OTHERHOST } from '../skb.js';
import type { BaseChainIR, ChainIR, ExprIR, Family, MatchExpr, NatExpr, RulesetIR, Selector, SetIR, TableIR, Value, VerdictExpr } from './ir.js';
import { Flowi4, FibResult, RTN_NAMES } from '../route.js';
import { formatIpv4 } from '../inet.js';
import type { Final, Step } from '../record.js';

/** Verdict codes returned by ops and chains. */
export const V_NEXT = 0, // go on with the next expression of this rule
  V_BREAK = 1, // a match failed: next rule
  V_ACCEPT = 2,
  V_DROP = 3,
  V_CONTINUE = 4,
  V_RETURN = 5,
  V_JUMP = 6,
  V_GOTO = 7,
  V_QUEUE = 8;

/** Verdict names as the trace prints them. */
export const VERDICT_NAMES = ['next', 'break', 'accept', 'drop', 'continue', 'return', 'jump', 'goto', 'queue'];

/** Reject request left by a `reject` statement for the datapath to act on. */
export interface RejectReq {
  type: 'tcp reset' | 'icmp' | 'icmpv6' | 'icmpx' | null;
  code: string | null;
}

/** NAT request left by a nat statement (nft_nat_eval): the datapath binds the conntrack entry. */
export class NatReq {
  kind: NatExpr['kind'] = 'snat';
  /** Address range (IPv4 u32), 0/0 = none given (masquerade picks the device address). */
  minAddr = 0;
  maxAddr = 0;
  /** Port range, 0/0 = none given. */
  minPort = 0;
  maxPort = 0;
  flags: string[] = [];
}

/** Per-evaluation scratch state, reused. */
export class EvalState {
  now = 0;
  jumpTarget: CompiledChain | null = null;
  reject: RejectReq | null = null;
  nat: NatReq | null = null;
  /** Steps are reported through this callback (null = tracing off). */
  onRule: ((chain: CompiledChain, rule: CompiledRule | null, verdict: number) => void) | null = null;
  logs: string[] = [];
  /** Packet hash for deterministic `statistic random` / `numgen random` (set by the datapath). */
  flowHash = 0;
  notrack = false;
  /** Rules looked at (the queue model's per-rule cost); the caller resets it. */
  rulesVisited = 0;
}

type Op = (skb: Skb, st: EvalState) => number;

/** One compiled rule. */
export class CompiledRule {
  packets = 0;
  bytes = 0;
  hasCounter = false;
  /** The nft handle of an iptables-nft rule (what nft trace prints), -1 when the source has none. */
  nftHandle = -1;
  /** Interned trace steps of this rule, per base chain and verdict (nf_hook.ts nfStep); null until traced. */
  traceSteps: Map<CompiledChain, object[]> | null = null;
  /** Drops here, per base chain (nf_hook.ts runChain): where, step and final, made once. */
  dropRecords: Map<CompiledChain, { step: Step; final: Final; reason: string }> | null = null;
  constructor(
    readonly handle: number,
    readonly text: string,
    readonly ops: Op[],
    readonly chain: CompiledChain,
  ) {}
}

/** One compiled chain. */
export class CompiledChain {
  rules: CompiledRule[] = [];
  /** Policy packets counter. */
  policyPackets = 0;
  /** Interned trace steps: policy accept/drop of this base chain, end of this chain per base chain. */
  traceSteps: Map<CompiledChain, object[]> | null = null;
  /** Drops here, per base chain (nf_hook.ts runChain): where, step and final, made once. */
  dropRecords: Map<CompiledChain, { step: Step; final: Final; reason: string }> | null = null;
  constructor(
    readonly table: CompiledTable,
    readonly name: string,
    readonly base: BaseChainIR | null,
  ) {}
}

/** One compiled table. */
export class CompiledTable {
  chains = new Map<string, CompiledChain>();
  constructor(readonly ir: TableIR) {}
  get family(): Family {
    return this.ir.family;
  }
  get name(): string {
    return this.ir.name;
  }
}

const NO_CHAINS: CompiledChain[] = [];

/** A compiled ruleset: tables, and base chains per (family, hook) sorted by priority. */
export class CompiledRuleset {
  tables: CompiledTable[] = [];
  /** key `${family}:${hook}` → base chains in priority order (ties: table order, as registered). */
  hooks = new Map<string, CompiledChain[]>();
  /** True when some rule needs connection tracking (ct match, nat chain, ...). */
  needsConntrack = false;
  /** True when a nat-type chain exists: the NAT core hooks are registered (nf_nat_register_fn). */
  hasNat = false;

  /** Base chains that run for a packet of `nfproto` at `hook` (ip/ip6 chains plus inet ones), in priority order. */
  chainsFor(family: 'ip' | 'ip6' | 'bridge' | 'arp' | 'netdev', hook: string): CompiledChain[] {
    // Called for every hook a packet meets: a two-level lookup without building the key string.
    const f = (this.byHook[family] ??= Object.create(null) as Record<string, CompiledChain[]>);
    return (f[hook] ??= this.hooks.get(`${family}:${hook}`) ?? NO_CHAINS);
  }
  private byHook: Record<string, Record<string, CompiledChain[]>> = Object.create(null);
}

const CT_STATE: Record<string, number> = { invalid: 1, established: 2, related: 4, new: 8, untracked: 64 };
const CT_STATUS: Record<string, number> = { expected: 1, 'seen-reply': 2, assured: 4, confirmed: 8, snat: 16, dnat: 32, 'dying': 512 };
const CT_DIR: Record<string, number> = { original: 0, reply: 1 };
const L4PROTO: Record<string, number> = { icmp: 1, igmp: 2, tcp: 6, udp: 17, gre: 47, esp: 50, ah: 51, icmpv6: 58, 'ipv6-icmp': 58, sctp: 132, udplite: 136, dccp: 33 };
const NFPROTO: Record<string, number> = { ipv4: NFPROTO_IPV4, ipv6: NFPROTO_IPV6 };
const ICMP_TYPE: Record<string, number> = {
  'echo-reply': 0, 'destination-unreachable': 3, 'source-quench': 4, redirect: 5, 'echo-request': 8,
  'router-advertisement': 9, 'router-solicitation': 10, 'time-exceeded': 11, 'parameter-problem': 12,
  'timestamp-request': 13, 'timestamp-reply': 14, 'info-request': 15, 'info-reply': 16,
  'address-mask-request': 17, 'address-mask-reply': 18,
};
const ICMPV6_TYPE: Record<string, number> = {
  'destination-unreachable': 1, 'packet-too-big': 2, 'time-exceeded': 3, 'parameter-problem': 4,
  'echo-request': 128, 'echo-reply': 129, 'mld-listener-query': 130, 'mld-listener-report': 131,
  'nd-router-solicit': 133, 'nd-router-advert': 134, 'nd-neighbor-solicit': 135, 'nd-neighbor-advert': 136, 'nd-redirect': 137,
};
const PKTTYPE: Record<string, number> = { host: PACKET_HOST, unicast: PACKET_HOST, broadcast: PACKET_BROADCAST, multicast: PACKET_MULTICAST, other: PACKET_OTHERHOST };
const ETHERTYPE: Record<string, number> = { ip: 0x0800, ip6: 0x86dd, arp: 0x0806, vlan: 0x8100, '8021ad': 0x88a8 };
const FIB_TYPE: Record<string, number> = Object.fromEntries(RTN_NAMES.map((n, i) => [n || 'unspec', i]));
const SERVICES: Record<string, number> = {
  ssh: 22, telnet: 23, smtp: 25, domain: 53, http: 80, https: 443, ntp: 123, bootps: 67, bootpc: 68,
  'http-alt': 8080, submission: 587, imap: 143, imaps: 993, pop3: 110, pop3s: 995, ftp: 21, snmp: 161,
  ldap: 389, ldaps: 636, mysql: 3306, postgresql: 5432, 'mdns': 5353, isakmp: 500, syslog: 514,
};

/** Where a construct sits, for errors. */
interface Where {
  file: string;
  path: string;
}

function fail(w: Where, what: string): never {
  throw new ConfigError(w.file, w.path, what);
}

/** Options for compiling. */
export interface CompileOptions {
  allowUnsupported: boolean;
  warnings: string[];
}

/** Compile a ruleset. */
export function compileRuleset(ir: RulesetIR, opts: CompileOptions): CompiledRuleset {
  const out = new CompiledRuleset();
  for (const t of ir.tables) {
    const ct = new CompiledTable(t);
    out.tables.push(ct);
    for (const c of t.chains) ct.chains.set(c.name, new CompiledChain(ct, c.name, c.base));
  }
  for (const ct of out.tables) {
    const t = ct.ir;
    for (const c of t.chains) {
      const cc = ct.chains.get(c.name)!;
      for (const r of c.rules) {
        const where: Where = { file: t.file, path: `${r.origin} (table ${t.family} ${t.name}, chain ${c.name}, rule ${r.handle})` };
        try {
          const ops = r.exprs.map((e, k) => compileExpr(e, ct, { file: where.file, path: `${where.path} expr[${k}]` }, out, c));
          const rule = new CompiledRule(r.handle, r.text, ops, cc);
          if (r.nftHandle !== undefined) rule.nftHandle = r.nftHandle;
          rule.hasCounter = r.exprs.some((e) => e.op === 'counter');
          cc.rules.push(rule);
        } catch (e) {
          if (!(e instanceof ConfigError) || !opts.allowUnsupported) throw e;
          opts.warnings.push(`${e.message} — rule skipped (--allow-unsupported)`);
        }
      }
      if (c.base) {
        if (c.base.type === 'nat') out.hasNat = true;
        const fams = t.family === 'inet' ? ['ip', 'ip6'] : [t.family];
        for (const f of fams) {
          const key = `${f}:${c.base.hook}`;
          const list = out.hooks.get(key) ?? [];
          list.push(cc);
          out.hooks.set(key, list);
        }
      }
    }
  }
  // nf_register_net_hook keeps equal priorities in registration order: a stable sort keeps table order.
  for (const list of out.hooks.values()) list.sort((a, b) => a.base!.prio - b.base!.prio);
  return out;
}

function compileExpr(e: ExprIR, t: CompiledTable, w: Where, rs: CompiledRuleset, chain: ChainIR): Op {
  switch (e.op) {
    case 'match':
      return compileMatch(e, t, w, rs);
    case 'counter':
      return (skb, st) => {
        void skb;
        void st;
        return V_NEXT;
      };
    case 'verdict':
      return compileVerdict(e, t, w);
    case 'reject': {
      const req: RejectReq = { type: e.type, code: e.code };
      return (_skb, st) => {
        st.reject = req;
        return V_DROP;
      };
    }
    case 'nat':
      return compileNat(e, t, w, rs, chain);
    case 'log': {
      const prefix = e.prefix ?? '';
      return (_skb, st) => {
        st.logs.push(prefix);
        return V_NEXT;
      };
    }
    case 'limit':
      return compileLimit(e.rate, e.per, e.burst, e.unit, e.inv);
    case 'mangle': {
      const from = e.from ? compileSelector(e.from, t, w, rs) : null;
      const and = e.and >>> 0;
      const xor = e.xor >>> 0;
      const key = e.key;
      if (key.kind === 'meta' && key.key === 'mark')
        return (skb) => {
          skb.mark = (((from ? Number(from(skb)) : skb.mark) & and) ^ xor) >>> 0;
          return V_NEXT;
        };
      if (key.kind === 'meta' && key.key === 'nftrace')
        return (skb) => {
          skb.nftrace = xor !== 0; // tracing only: no effect on the verdict (oracle README)
          return V_NEXT;
        };
      if (key.kind === 'meta' && key.key === 'priority')
        return (skb) => {
          skb.priority = (((from ? Number(from(skb)) : skb.priority) & and) ^ xor) >>> 0;
          return V_NEXT;
        };
      if (key.kind === 'ct' && key.key === 'mark') {
        rs.needsConntrack = true;
        return (skb) => {
          if (skb.ct) skb.ct.mark = (((from ? Number(from(skb)) : skb.ct.mark) & and) ^ xor) >>> 0;
          return V_NEXT;
        };
      }
      return fail(w, `setting ${key.kind} ${key.key} is not supported`);
    }
    case 'notrack':
      return (skb, st) => {
        skb.untracked = true;
        st.notrack = true;
        return V_NEXT;
      };
    case 'vmap': {
      const key = compileSelector(e.key, t, w, rs);
      const entries: Array<[Value, VerdictExpr]> = Array.isArray(e.map) ? e.map : mapEntries(t, e.map.ref, w);
      const find = firstMatch(entries.map(([v]) => v), e.key, t, w);
      const verdicts = entries.map(([, verdict]) => compileVerdict(verdict, t, w));
      return (skb, st) => {
        const i = find(key(skb));
        return i < 0 ? V_BREAK : verdicts[i](skb, st);
      };
    }
    case 'statistic': {
      if (e.mode === 'random') {
        // Deterministic stand-in for get_random_u32(): a hash of the flow and the rule (README: determinism).
        const threshold = Math.floor(e.probability * 0x100000000);
        const salt = hashString(w.path);
        const inv = e.inv;
        return (_skb, st) => ((mix32(st.flowHash ^ salt) >>> 0) < threshold) !== inv ? V_NEXT : V_BREAK;
      }
      let count = 0;
      const every = e.every, packet = e.packet, inv = e.inv;
      return () => {
        // xt_statistic.c nth mode: a per-rule counter.
        const hit = count === packet;
        count = (count + 1) % every;
        return hit !== inv ? V_NEXT : V_BREAK;
      };
    }
    case 'matchany': {
      // Any one of the matches (iptables multiport --ports, --ctstate mixing states and NAT flags).
      const parts = e.matches.map((m, k) => compileMatch(m, t, { file: w.file, path: `${w.path}.matches[${k}]` }, rs));
      return (skb, st) => {
        for (let k = 0; k < parts.length; k++) if (parts[k](skb, st) === V_NEXT) return V_NEXT;
        return V_BREAK;
      };
    }
    case 'xt':
      return fail(w, `opaque iptables-nft extension "${e.name}" (${e.type}): add the \`iptables-save\` output for this table (iptables.txt)`);
    case 'setupdate':
      return fail(w, `dynamic set updates (${e.verb} @${e.set}) are not modelled`);
    default:
      return fail(w, `expression "${(e as { op: string }).op}" is not supported`);
  }
}

function compileVerdict(e: VerdictExpr, t: CompiledTable, w: Where): Op {
  switch (e.verdict) {
    case 'accept':
      return () => V_ACCEPT;
    case 'drop':
      return () => V_DROP;
    case 'continue':
      return () => V_CONTINUE;
    case 'return':
      return () => V_RETURN;
    case 'queue':
      return () => V_QUEUE;
    case 'jump':
    case 'goto': {
      const target = t.chains.get(e.target ?? '');
      if (!target) return fail(w, `${e.verdict} to chain "${e.target}", which table ${t.family} ${t.name} does not have`);
      const code = e.verdict === 'jump' ? V_JUMP : V_GOTO;
      return (_skb, st) => {
        st.jumpTarget = target;
        return code;
      };
    }
  }
}

function compileNat(e: NatExpr, t: CompiledTable, w: Where, rs: CompiledRuleset, chain: ChainIR): Op {
  rs.needsConntrack = true;
  void chain;
  const req = new NatReq();
  req.kind = e.kind;
  req.flags = e.flags;
  if (e.family === 'ip6') return fail(w, 'IPv6 NAT is not modelled yet');
  let addrMap: ((skb: Skb) => number) | null = null;
  if (e.addr) {
    if ('addr' in e.addr) {
      const a = parseIpv4(e.addr.addr);
      if (Number.isNaN(a)) return fail(w, `NAT address "${e.addr.addr}" is not an IPv4 address`);
      req.minAddr = req.maxAddr = a;
    } else if ('range' in e.addr) {
      const a = parseIpv4(e.addr.range[0]), b = parseIpv4(e.addr.range[1]);
      if (Number.isNaN(a) || Number.isNaN(b)) return fail(w, `NAT range "${e.addr.range.join('-')}" is not IPv4`);
      req.minAddr = a;
      req.maxAddr = b;
    } else {
      const key = compileSelector(e.addr.map.key, t, w, rs);
      const lookup = compileMapLookup(e.addr.map.data, e.addr.map.key, t, w);
      addrMap = (skb) => {
        const v = lookup(key(skb));
        return typeof v === 'string' ? parseIpv4(v) : NaN;
      };
    }
  }
  if (e.port) {
    if ('range' in e.port) {
      req.minPort = e.port.range[0];
      req.maxPort = e.port.range[1];
    } else return fail(w, 'NAT port maps are not supported');
  }
  return (skb, st) => {
    if (addrMap) {
      const a = addrMap(skb);
      if (Number.isNaN(a)) return V_DROP; // nft_nat_eval: map miss → NFT_BREAK; we treat as no match
      req.minAddr = req.maxAddr = a;
    }
    st.nat = req;
    return V_ACCEPT;
  };
}

function compileLimit(rate: number, per: string, burst: number, unit: string, inv: boolean): Op {
  // nft_limit.c token bucket: tokens refill at rate per unit time, capacity rate + burst... we use
  // capacity = max(burst, 1) packets (or bytes) like xt_limit, refilled continuously.
  const perSec = { second: 1, minute: 60, hour: 3600, day: 86400, week: 604800 }[per] ?? 1;
  const ratePerSec = rate / perSec;
  const cap = Math.max(burst, unit === 'packets' ? 1 : 0) || 1;
  let tokens = cap;
  let last = NaN;
  return (skb, st) => {
    if (Number.isNaN(last)) last = st.now;
    tokens = Math.min(cap, tokens + (st.now - last) * ratePerSec);
    last = st.now;
    const cost = unit === 'bytes' ? skb.len : 1;
    const ok = tokens >= cost;
    if (ok) tokens -= cost;
    return ok !== inv ? V_NEXT : V_BREAK;
  };
}

// ---------------------------------------------------------------------------------------------
// Selectors produce a number (or string for names); tests compare.

type Sel = (skb: Skb) => number | string;

function l4Of(skb: Skb): number {
  return skb.info.l4proto;
}

function compileSelector(s: Selector, t: CompiledTable, w: Where, rs: CompiledRuleset): Sel {
  switch (s.kind) {
    case 'payload':
      return compilePayload(s.proto, s.field, w);
    case 'meta':
      return compileMeta(s.key, w);
    case 'ct': {
      rs.needsConntrack = true;
      const dir = s.dir === 'reply' ? 1 : s.dir === 'original' ? 0 : -1;
      switch (s.key) {
        case 'state':
          return (skb) => ctStateBit(skb);
        case 'status':
          return (skb) => (skb.ct ? skb.ct.status : 0);
        case 'mark':
          return (skb) => (skb.ct ? skb.ct.mark : 0);
        case 'direction':
          return (skb) => (skb.ct ? (skb.ctinfo >= 3 ? 1 : 0) : -1);
        case 'saddr':
        case 'daddr':
        case 'proto-src':
        case 'proto-dst': {
          const d = dir < 0 ? 0 : dir;
          const k = s.key;
          return (skb) => {
            const c = skb.ct;
            if (!c) return -1;
            const tu = d === 0 ? c.orig : c.reply;
            return k === 'saddr' ? tu.src4 : k === 'daddr' ? tu.dst4 : k === 'proto-src' ? tu.sport : tu.dport;
          };
        }
        case 'l3proto':
          return (skb) => (skb.ct ? (skb.ct.orig.l3 === 4 ? NFPROTO_IPV4 : NFPROTO_IPV6) : -1);
        case 'protocol':
          return (skb) => (skb.ct ? skb.ct.orig.proto : -1);
        default:
          return fail(w, `ct ${s.key} is not supported`);
      }
    }
    case 'fib':
      return compileFib(s.flags, s.result, w);
    case 'numgen': {
      const mod = s.mod, off = s.offset;
      if (s.mode === 'random') return (skb) => ((mix32(skb.index * 2654435761) >>> 0) % mod) + off;
      let n = 0;
      return () => {
        const v = (n % mod) + off;
        n++;
        return v;
      };
    }
    case 'bitwise': {
      const inner = compileSelector(s.sel, t, w, rs);
      const mask = s.mask >>> 0, xor = s.xor >>> 0;
      return (skb) => ((Number(inner(skb)) & mask) ^ xor) >>> 0;
    }
    case 'concat': {
      const parts = s.parts.map((p) => compileSelector(p, t, w, rs));
      return (skb) => parts.map((p) => String(p(skb))).join('\u0001');
    }
  }
}

function ctStateBit(skb: Skb): number {
  if (skb.untracked) return CT_STATE.untracked;
  if (!skb.ct) return CT_STATE.invalid;
  switch (skb.ctinfo) {
    case 0:
    case 3:
      return CT_STATE.established;
    case 1:
    case 4:
      return CT_STATE.related;
    case 2:
      return CT_STATE.new;
    default:
      return CT_STATE.invalid;
  }
}

function compilePayload(proto: string, field: string, w: Where): Sel {
  const NONE = -1;
  const isV4 = (skb: Skb) => skb.info.l3 === 1;
  switch (`${proto} ${field}`) {
    case 'ip saddr':
      return (skb) => (isV4(skb) ? skb.info.src4 : NONE);
    case 'ip daddr':
      return (skb) => (isV4(skb) ? skb.info.dst4 : NONE);
    case 'ip protocol':
      return (skb) => (isV4(skb) ? skb.info.l4proto : NONE);
    case 'ip ttl':
      return (skb) => (isV4(skb) ? skb.info.ttl : NONE);
    case 'ip length':
      return (skb) => (isV4(skb) ? skb.info.l3Len : NONE);
    case 'ip id':
      return (skb) => (isV4(skb) ? skb.info.ipId : NONE);
    case 'ip dscp':
      return (skb) => (isV4(skb) ? skb.info.tos >> 2 : NONE);
    case 'ip tos':
      return (skb) => (isV4(skb) ? skb.info.tos : NONE);
    case 'ip version':
      return (skb) => (isV4(skb) ? 4 : NONE);
    case 'ip hdrlength':
      return (skb) => (isV4(skb) ? skb.info.ipHdrLen >> 2 : NONE);
    case 'ip frag-off':
      return (skb) => (isV4(skb) ? (skb.info.fragOff >> 3) | (skb.info.moreFrags ? 0x2000 : 0) | (skb.info.dontFrag ? 0x4000 : 0) : NONE);
    case 'ip6 nexthdr':
      return (skb) => (skb.info.l3 === 2 ? skb.info.l4proto : NONE);
    case 'ip6 hoplimit':
      return (skb) => (skb.info.l3 === 2 ? skb.info.ttl : NONE);
    // IPv6 addresses are compared as 32 hex digits (addr6Hex): prefixes and ranges then work on text.
    case 'ip6 saddr':
      return (skb) => (skb.info.l3 === 2 && skb.info.srcOff >= 0 ? addr6Hex(skb.data, skb.info.srcOff) : NONE);
    case 'ip6 daddr':
      return (skb) => (skb.info.l3 === 2 && skb.info.dstOff >= 0 ? addr6Hex(skb.data, skb.info.dstOff) : NONE);
    case 'ip6 length':
      return (skb) => (skb.info.l3 === 2 ? (skb.data[skb.info.l3Off + 4] << 8) | skb.data[skb.info.l3Off + 5] : NONE);
    case 'ip6 flowlabel':
      return (skb) => (skb.info.l3 === 2 ? ((skb.data[skb.info.l3Off + 1] & 0x0f) << 16) | (skb.data[skb.info.l3Off + 2] << 8) | skb.data[skb.info.l3Off + 3] : NONE);
    case 'ip6 dscp':
      return (skb) => (skb.info.l3 === 2 ? skb.info.tos >> 2 : NONE);
    case 'ip6 ecn':
      return (skb) => (skb.info.l3 === 2 ? skb.info.tos & 3 : NONE);
    case 'ip6 version':
      return (skb) => (skb.info.l3 === 2 ? 6 : NONE);
    case 'tcp sport':
      return (skb) => (l4Of(skb) === 6 ? skb.info.sport : NONE);
    case 'tcp dport':
      return (skb) => (l4Of(skb) === 6 ? skb.info.dport : NONE);
    case 'tcp flags':
      return (skb) => (l4Of(skb) === 6 ? skb.info.tcpFlags : NONE);
    case 'udp sport':
      return (skb) => (l4Of(skb) === 17 ? skb.info.sport : NONE);
    case 'udp dport':
      return (skb) => (l4Of(skb) === 17 ? skb.info.dport : NONE);
    case 'th sport':
      return (skb) => skb.info.sport;
    case 'th dport':
      return (skb) => skb.info.dport;
    case 'icmp type':
      return (skb) => (l4Of(skb) === 1 ? skb.info.icmpType : NONE);
    case 'icmp code':
      return (skb) => (l4Of(skb) === 1 ? skb.info.icmpCode : NONE);
    case 'icmp id':
      return (skb) => (l4Of(skb) === 1 ? skb.info.icmpId : NONE);
    case 'icmpv6 type':
      return (skb) => (l4Of(skb) === 58 ? skb.info.icmpType : NONE);
    case 'icmpv6 code':
      return (skb) => (l4Of(skb) === 58 ? skb.info.icmpCode : NONE);
    case 'ether saddr':
      return (skb) => (skb.info.srcMacHi < 0 ? NONE : skb.info.srcMacHi * 0x100000000 + skb.info.srcMacLo);
    case 'ether daddr':
      return (skb) => (skb.info.dstMacHi < 0 ? NONE : skb.info.dstMacHi * 0x100000000 + skb.info.dstMacLo);
    case 'ether type':
      return (skb) => skb.info.ethertype;
    case 'vlan id':
      return (skb) => skb.info.vlan0;
    case 'arp operation':
      return (skb) => skb.info.arpOp;
    default:
      return fail(w, `payload "${proto} ${field}" is not supported`);
  }
}

function compileMeta(key: string, w: Where): Sel {
  switch (key) {
    case 'iifname':
      return (skb) => skb.iif?.name ?? '';
    case 'oifname':
      return (skb) => skb.oif?.name ?? '';
    case 'iif':
      return (skb) => skb.iif?.name ?? '';
    case 'oif':
      return (skb) => skb.oif?.name ?? '';
    case 'iiftype':
      return (skb) => (skb.iif ? (skb.iif.kind === 'loopback' ? 772 : 1) : -1);
    case 'oiftype':
      return (skb) => (skb.oif ? (skb.oif.kind === 'loopback' ? 772 : 1) : -1);
    case 'l4proto':
      return (skb) => skb.info.l4proto;
    case 'nfproto':
      return (skb) => (skb.info.l3 === 1 ? NFPROTO_IPV4 : skb.info.l3 === 2 ? NFPROTO_IPV6 : -1);
    case 'protocol':
      return (skb) => skb.info.ethertype;
    case 'mark':
      return (skb) => skb.mark;
    case 'priority':
      return (skb) => skb.priority;
    case 'pkttype':
      return (skb) => skb.pktType;
    case 'length':
      return (skb) => (skb.info.l3Len > 0 ? skb.info.l3Len : skb.len);
    case 'nftrace':
      return (skb) => (skb.nftrace ? 1 : 0);
    case 'ibrname':
      return (skb) => skb.physin?.master?.name ?? '';
    case 'obrname':
      return (skb) => skb.physout?.master?.name ?? '';
    case 'ibrport':
      return (skb) => skb.physin?.name ?? '';
    case 'obrport':
      return (skb) => skb.physout?.name ?? '';
    case 'cpu':
      return () => 0;
    case 'random':
      // A fresh u32 per evaluation in the kernel; here a hash of the flow (deterministic, README).
      return (skb) => mix32(skb.info.src4 ^ Math.imul(skb.info.dst4, 0x9e3779b1) ^ ((skb.info.sport << 16) | (skb.info.dport & 0xffff)) ^ skb.info.l4proto) >>> 0;
    case 'skuid':
    case 'skgid':
      // Only locally generated packets have a socket; ours (RST, ICMP errors) are the kernel's own (uid 0).
      return (skb) => (skb.generated ? 0 : -1);
    case 'iifgroup':
    case 'oifgroup':
      return () => 0;
    default:
      return fail(w, `meta ${key} is not supported`);
  }
}

/** nft_fib_ipv4.c: nft_fib4_eval_type / nft_fib4_eval. */
function compileFib(flags: string[], result: 'oif' | 'oifname' | 'type', w: Where): Sel {
  const useSaddr = flags.includes('saddr');
  const useIif = flags.includes('iif');
  const useOif = flags.includes('oif');
  const useMark = flags.includes('mark');
  if (useSaddr === flags.includes('daddr')) return fail(w, 'fib needs exactly one of saddr and daddr');
  const fl = new Flowi4();
  const res = new FibResult();
  const fib6 = compileFib6(useSaddr, useIif, useOif, useMark, result);
  return (skb) => {
    if (skb.info.l3 === 2) return fib6(skb);
    if (skb.info.l3 !== 1) return -1;
    const ns = skb.ns!;
    if (result === 'type' && !useIif && !useOif) {
      // inet_dev_addr_type() / inet_addr_type(): the local table decides local/broadcast, else unicast.
      const a = useSaddr ? skb.info.src4 : skb.info.dst4;
      return addrType(skb, a);
    }
    fl.daddr = useSaddr ? skb.info.src4 : skb.info.dst4;
    fl.saddr = useSaddr ? skb.info.dst4 : 0;
    fl.iif = useIif ? skb.iif : ns.loopback();
    fl.oif = useOif ? skb.oif : null;
    fl.mark = useMark ? skb.mark : 0;
    fl.tos = 0;
    ns.fib4.lookup(fl, res);
    const r = res.route;
    if (result === 'type') return r ? r.type : 7; // RTN_UNREACHABLE when nothing
    if (!r || res.err || r.nh.length === 0) return result === 'oifname' ? '' : 0; // no route: `oif missing` (== 0)
    const dev = r.nh[0].dev;
    if (useIif && dev !== skb.iif && r.type !== 2) return result === 'oifname' ? '' : 0; // no route: `oif missing` (== 0)
    return dev ? dev.name : '';
  };
}

/**
 * nft_fib_ipv6.c: nft_fib6_eval_type / nft_fib6_eval. The lookup is ip6_route_lookup from loopback
 * (link-local addresses bound to the device); `type` answers local / anycast / multicast / reject
 * types / unicast; `oif` the route's device, when it is the one given (`. iif` / `. oif`).
 */
function compileFib6(useSaddr: boolean, useIif: boolean, useOif: boolean, useMark: boolean, result: 'oif' | 'oifname' | 'type'): (skb: Skb) => number | string {
  const fl = new Flowi6();
  const res = new Fib6Result();
  // No route: ifindex 0, which `missing` compares against (nft_json turns exists/missing into != 0 / == 0).
  const miss = result === 'oifname' ? '' : result === 'type' ? 7 : 0;
  return (skb) => {
    const ns = skb.ns!;
    const i = skb.info, b = skb.data;
    const aOff = useSaddr ? i.srcOff : i.dstOff;
    fl.setAddrs(b, aOff, useSaddr ? i.dstOff : i.srcOff);
    const dev = useIif ? skb.iif : useOif ? skb.oif : null;
    fl.iif = null;
    fl.oif = isLinkLocal6(b, aOff) ? dev ?? skb.dev : dev;
    fl.strict = isLinkLocal6(b, aOff) || (needStrict6(b, aOff) && fl.oif !== null);
    fl.mark = useMark ? skb.mark : 0;
    fl.proto = i.l4proto;
    fl.sport = fl.dport = 0;
    fl.tclass = 0;
    if (result === 'type') {
      if (dev && dev.ifa6.some((a) => a.addr.every((x, k) => x === b[aOff + k]))) return RTN6_LOCAL;
      ns.fib6.lookup(fl, res);
      if (res.err === 'EINVAL') return 6;
      if (res.err === 'EACCES') return 8;
      if (res.err) return 7;
      const r = res.route!;
      if (r.type === RTN6_ANYCAST) return RTN6_ANYCAST;
      if (!dev && r.type === RTN6_LOCAL) return RTN6_LOCAL;
      if (isMulticast6(b, aOff)) return 5;
      if (isLoopback6(b, aOff)) return RTN6_LOCAL;
      return 1;
    }
    if (useIif && skb.iif && skb.iif.kind === 'loopback') return result === 'oifname' ? skb.iif.name : skb.iif.name;
    ns.fib6.lookup(fl, res);
    const r = res.route;
    if (!r || res.err || r.type === RTN6_LOCAL || r.type === RTN6_ANYCAST || r.type >= 6) return miss;
    const out = res.nh?.dev ?? r.nh[0]?.dev ?? null;
    if (!out || (dev && out !== dev)) return miss;
    return out.name;
  };
}

/** inet_addr_type_table(): the type of an address by the local table (RTN_LOCAL/BROADCAST) or unicast. */
export function addrType(skb: Skb, a: number): number {
  if (a === 0xffffffff) return 3;
  if ((a >>> 28) === 0xe) return 5;
  const ns = skb.ns!;
  const local = ns.fib4.tables.get(255);
  if (local) {
    const r = local.lookup(a, 0, null);
    if (r && (r.type === 2 || r.type === 3)) return r.type;
  }
  return 1;
}

// ---------------------------------------------------------------------------------------------
// Match compilation: `left cmp right`.

type Test = (v: number | string) => boolean;

function compileMatch(e: MatchExpr, t: CompiledTable, w: Where, rs: CompiledRuleset): Op {
  const sel = compileSelector(e.left, t, w, rs);
  const left = e.left;
  if (e.cmp === 'in' || (left.kind === 'ct' && (left.key === 'state' || left.key === 'status'))) {
    // Bitmask membership (`ct state established,related`) or set membership.
    if (left.kind === 'ct' && (left.key === 'state' || left.key === 'status')) {
      // nft bytecode (nft --debug=netlink): `in` = any listed bit set (bitwise & mask != 0); `==`/`!=`
      // with one value = exact compare; `== {a, b}` = the value is one of the set's members.
      const names = left.key === 'state' ? CT_STATE : CT_STATUS;
      const bit = (v: unknown): number => {
        if (typeof v === 'number') return v;
        if (typeof v === 'string' && names[v] !== undefined) return names[v];
        return fail(w, `ct ${left.key} value ${JSON.stringify(v)} is not known`);
      };
      const isSet = typeof e.right === 'object' && 'set' in e.right;
      const list = isSet ? (e.right as { set: Value[] }).set : [e.right];
      if (e.cmp === 'in') {
        let mask = 0;
        for (const v of list) mask |= bit(v);
        return (skb) => ((Number(sel(skb)) & mask) !== 0 ? V_NEXT : V_BREAK);
      }
      const neg = e.cmp === '!=';
      if (isSet) {
        const members = new Set(list.map(bit));
        return (skb) => (members.has(Number(sel(skb))) !== neg ? V_NEXT : V_BREAK);
      }
      const want = bit(list[0]);
      return (skb) => ((Number(sel(skb)) === want) !== neg ? V_NEXT : V_BREAK);
    }
    const test = compileValueTest(e.right, left, t, w);
    return (skb) => (test(sel(skb)) ? V_NEXT : V_BREAK);
  }
  if (e.cmp === '==' || e.cmp === '!=') {
    const test = compileValueTest(e.right, left, t, w);
    const neg = e.cmp === '!=';
    return (skb) => (test(sel(skb)) !== neg ? V_NEXT : V_BREAK);
  }
  const c = scalarOf(e.right, left, w);
  if (typeof c !== 'number') return fail(w, `comparison ${e.cmp} needs a number`);
  switch (e.cmp) {
    case '<':
      return (skb) => (Number(sel(skb)) < c ? V_NEXT : V_BREAK);
    case '>':
      return (skb) => (Number(sel(skb)) > c ? V_NEXT : V_BREAK);
    case '<=':
      return (skb) => (Number(sel(skb)) <= c ? V_NEXT : V_BREAK);
    default:
      return (skb) => (Number(sel(skb)) >= c ? V_NEXT : V_BREAK);
  }
}

/** Whether a selector's value is an IPv6 address (compared as addr6Hex text). */
function isAddr6Sel(s: Selector): boolean {
  return s.kind === 'payload' && s.proto === 'ip6' && (s.field === 'saddr' || s.field === 'daddr');
}

const HEX2: string[] = [];
for (let k = 0; k < 256; k++) HEX2.push((k < 16 ? '0' : '') + k.toString(16));

/** The 16 bytes at `off` as 32 lowercase hex digits: equal, prefix and range tests become string tests. */
function addr6Hex(b: Uint8Array, off: number): string {
  let s = '';
  for (let k = 0; k < 16; k++) s += HEX2[b[off + k]];
  return s;
}

/** IPv6 text to addr6Hex, or null. */
function parseAddr6Hex(v: string): string | null {
  const b = new Uint8Array(16);
  return parseIpv6(v, b, 0) ? addr6Hex(b, 0) : null;
}

/** Whether a selector's value is an IPv4 address. */
function isAddrSel(s: Selector): boolean {
  return (s.kind === 'payload' && (s.proto === 'ip' || s.proto === 'arp') && (s.field.includes('saddr') || s.field.includes('daddr'))) ||
    (s.kind === 'ct' && (s.key === 'saddr' || s.key === 'daddr'));
}

function isIfnameSel(s: Selector): boolean {
  return s.kind === 'meta' && ['iifname', 'oifname', 'iif', 'oif', 'ibrname', 'obrname', 'ibrport', 'obrport'].includes(s.key);
}

/** Resolve a scalar constant for a selector: names → numbers, addresses → u32. */
function scalarOf(v: Value, sel: Selector, w: Where): number | string {
  if (typeof v === 'number') return v;
  if (typeof v !== 'string') return fail(w, `expected a single value, found ${JSON.stringify(v)}`);
  if (isIfnameSel(sel)) return v;
  if (isAddr6Sel(sel)) {
    const h = parseAddr6Hex(v);
    if (h === null) return fail(w, `"${v}" is not an IPv6 address`);
    return h;
  }
  if (isAddrSel(sel)) {
    const a = parseIpv4(v);
    if (Number.isNaN(a)) return fail(w, `"${v}" is not an IPv4 address`);
    return a;
  }
  if (sel.kind === 'payload' && sel.proto === 'ether' && sel.field !== 'type') {
    const m = parseMac(v);
    if (!m) return fail(w, `"${v}" is not a MAC address`);
    return m.hi * 0x100000000 + m.lo;
  }
  const key = sel.kind === 'meta' ? sel.key : sel.kind === 'payload' ? `${sel.proto} ${sel.field}` : sel.kind === 'ct' ? `ct ${sel.key}` : sel.kind;
  let table: Record<string, number> | null = null;
  if (key === 'l4proto' || key === 'ip protocol' || key === 'ip6 nexthdr' || key === 'ct protocol') table = L4PROTO;
  else if (key === 'nfproto' || key === 'ct l3proto') table = NFPROTO;
  else if (key === 'icmp type') table = ICMP_TYPE;
  else if (key === 'icmpv6 type') table = ICMPV6_TYPE;
  else if (key === 'pkttype') table = PKTTYPE;
  else if (key === 'protocol' || key === 'ether type') table = ETHERTYPE;
  else if (key === 'ct direction') table = CT_DIR;
  else if (sel.kind === 'fib' && sel.result === 'type') table = FIB_TYPE;
  else if (sel.kind === 'fib') return v;
  else if (key.endsWith('sport') || key.endsWith('dport') || key === 'ct proto-src' || key === 'ct proto-dst') table = SERVICES;
  else if (key === 'tcp flags') table = { fin: 1, syn: 2, rst: 4, psh: 8, ack: 16, urg: 32, ecn: 64, cwr: 128 };
  if (table && table[v] !== undefined) return table[v];
  if (/^\d+$/.test(v)) return Number(v);
  if (/^0x[0-9a-f]+$/i.test(v)) return parseInt(v, 16);
  return fail(w, `value "${v}" is not known for ${key}`);
}

/** A test for `== right`: scalar, prefix, range, set (anonymous or @named), concat. */
function compileValueTest(v: Value, sel: Selector, t: CompiledTable, w: Where): Test {
  if (typeof v === 'object' && 'ref' in v) {
    const set = findSet(t, v.ref, w);
    return compileValueTest({ set: set.elems }, sel, t, w);
  }
  if (typeof v === 'object' && 'set' in v) {
    const exact = new Set<number | string>();
    const others: Test[] = [];
    const spans: Array<[number, number]> = [];
    for (const el of v.set) {
      if (typeof el === 'object') {
        const key = exactKey(el, sel, w);
        if (key !== null) {
          exact.add(key);
          continue;
        }
        const span = numericSpan(el, sel, w);
        if (span !== null) spans.push(span);
        else others.push(compileValueTest(el, sel, t, w));
      } else {
        const s = scalarOf(el, sel, w);
        if (typeof s === 'string' && (s.endsWith('*') || s.endsWith('+'))) others.push(compileValueTest(el, sel, t, w));
        else exact.add(s);
      }
    }
    // IPv4 prefixes and numeric ranges (an interval set, nft_set_rbtree / pipapo): one binary search
    // over their merged union, not one test per element (a blocklist may hold 100k prefixes).
    const inSpans = spans.length > 0 ? spanTest(spans) : null;
    if (others.length === 0) return inSpans === null ? (x) => exact.has(x) : (x) => exact.has(x) || inSpans(x);
    return (x) => exact.has(x) || (inSpans !== null && inSpans(x)) || others.some((f) => f(x));
  }
  if (typeof v === 'object' && 'prefix' in v && isAddr6Sel(sel)) {
    const h = parseAddr6Hex(v.prefix.addr);
    const len = v.prefix.len;
    if (h === null || len < 0 || len > 128) return fail(w, `prefix "${v.prefix.addr}/${len}" is not IPv6`);
    const whole = h.slice(0, len >> 2), bits = len & 3;
    const mask = (0xf << (4 - bits)) & 0xf, nib = parseInt(h[len >> 2] ?? '0', 16) & mask;
    return (x) => typeof x === 'string' && x.startsWith(whole) && (bits === 0 || (parseInt(x[len >> 2], 16) & mask) === nib);
  }
  if (typeof v === 'object' && 'prefix' in v) {
    const a = parseIpv4(v.prefix.addr);
    if (Number.isNaN(a)) return fail(w, `prefix "${v.prefix.addr}/${v.prefix.len}" is not IPv4`);
    const mask = maskOf(v.prefix.len), net = (a & mask) >>> 0;
    return (x) => typeof x === 'number' && x >= 0 && ((x & mask) >>> 0) === net;
  }
  if (typeof v === 'object' && 'range' in v) {
    const lo = scalarOf(v.range[0], sel, w), hi = scalarOf(v.range[1], sel, w);
    if (isAddr6Sel(sel) && typeof lo === 'string' && typeof hi === 'string') return (x) => typeof x === 'string' && x.length === 32 && x >= lo && x <= hi;
    if (typeof lo !== 'number' || typeof hi !== 'number') return fail(w, 'a range needs numeric bounds');
    return (x) => typeof x === 'number' && x >= lo && x <= hi;
  }
  if (typeof v === 'object' && 'concat' in v) {
    if (sel.kind !== 'concat' || sel.parts.length !== v.concat.length) return fail(w, 'concatenation does not match its key');
    const parts = v.concat.map((p, i) => compileValueTest(p, (sel as { parts: Selector[] }).parts[i], t, w));
    const sub = (sel as { parts: Selector[] }).parts;
    return (x) => {
      const xs = String(x).split('\u0001');
      for (let i = 0; i < parts.length; i++) {
        const raw = xs[i];
        const num = isIfnameSel(sub[i]) || isAddr6Sel(sub[i]) || (sub[i].kind === 'fib' && (sub[i] as { result: string }).result === 'oifname') ? raw : Number(raw);
        if (!parts[i](num)) return false;
      }
      return true;
    };
  }
  const c = scalarOf(v, sel, w);
  if (typeof c === 'string' && isIfnameSel(sel) && (c.endsWith('*') || c.endsWith('+'))) {
    const pre = c.slice(0, -1);
    return (x) => typeof x === 'string' && x.startsWith(pre);
  }
  return (x) => x === c;
}

/**
 * An IPv4 prefix or numeric range element as [lo, hi], or null for anything else (IPv6, wildcards,
 * concatenations): exactly the values compileValueTest's own test for the element would accept.
 */
function numericSpan(v: Value, sel: Selector, w: Where): [number, number] | null {
  if (typeof v !== 'object' || isAddr6Sel(sel)) return null;
  if ('prefix' in v) {
    const a = parseIpv4(v.prefix.addr);
    if (Number.isNaN(a)) return null; // compileValueTest reports it
    const mask = maskOf(v.prefix.len), net = (a & mask) >>> 0;
    return [net, net + (~mask >>> 0)];
  }
  if ('range' in v) {
    const lo = scalarOf(v.range[0], sel, w), hi = scalarOf(v.range[1], sel, w);
    return typeof lo === 'number' && typeof hi === 'number' ? [lo, hi] : null;
  }
  return null;
}

/** Membership in a union of closed numeric intervals: merged, sorted, binary searched. */
export function spanTest(spans: Array<[number, number]>): Test {
  const sorted = spans.filter(([lo, hi]) => lo <= hi).sort((a, b) => a[0] - b[0]);
  const los: number[] = [], his: number[] = [];
  for (const [lo, hi] of sorted) {
    if (los.length > 0 && lo <= his[his.length - 1]) his[his.length - 1] = Math.max(his[his.length - 1], hi);
    else {
      los.push(lo);
      his.push(hi);
    }
  }
  const L = Float64Array.from(los), H = Float64Array.from(his);
  return (x) => {
    if (typeof x !== 'number') return false;
    // The last interval starting at or below x.
    let a = 0, b = L.length - 1, k = -1;
    while (a <= b) {
      const m = (a + b) >> 1;
      if (L[m] <= x) {
        k = m;
        a = m + 1;
      } else b = m - 1;
    }
    return k >= 0 && x <= H[k];
  };
}

function findSet(t: CompiledTable, name: string, w: Where): SetIR {
  const n = name.startsWith('@') ? name.slice(1) : name;
  const s = t.ir.sets.find((x) => x.name === n);
  if (!s) return fail(w, `set @${n} is not defined in table ${t.family} ${t.name}`);
  return s;
}

function mapEntries(t: CompiledTable, ref: string, w: Where): Array<[Value, VerdictExpr]> {
  const s = findSet(t, ref, w);
  if (!s.data) return fail(w, `@${s.name} is a set, not a verdict map`);
  return s.elems.map((e, i) => {
    const d = s.data![i];
    if (typeof d !== 'object' || d === null || !('op' in d)) return fail(w, `@${s.name} element ${i} has no verdict`);
    return [e, d as VerdictExpr];
  });
}

function compileMapLookup(data: Value, keySel: Selector, t: CompiledTable, w: Where): (k: number | string) => Value | undefined {
  let elems: Value[];
  let vals: Array<Value>;
  if (typeof data === 'object' && 'ref' in data) {
    const s = findSet(t, data.ref, w);
    if (!s.data) return fail(w, `@${s.name} is a set, not a map`);
    elems = s.elems;
    vals = s.data as Value[];
  } else if (typeof data === 'object' && 'map' in data) {
    elems = data.map.map(([k]) => k);
    vals = data.map.map(([, v]) => v);
  } else if (typeof data === 'object' && 'set' in data) {
    elems = [];
    vals = [];
    for (const el of data.set) {
      if (typeof el !== 'object' || !('concat' in el) || el.concat.length !== 2) return fail(w, 'anonymous map elements must be [key, value] pairs');
      elems.push(el.concat[0]);
      vals.push(el.concat[1]);
    }
  } else return fail(w, 'map data must be a named or anonymous map');
  const find = firstMatch(elems, keySel, t, w);
  return (k) => {
    const i = find(k);
    return i < 0 ? undefined : vals[i];
  };
}

/**
 * The first element of `elems` that `k` matches, or -1 — what a scan in order would find, with the
 * exact elements (scalars, concatenations of scalars) in a hash map: a map of 10k services is one
 * lookup, not 10k tests. Only the other elements (prefixes, ranges, wildcards) listed before the exact
 * hit are still tested in order.
 */
function firstMatch(elems: Value[], sel: Selector, t: CompiledTable, w: Where): (k: number | string) => number {
  const exact = new Map<number | string, number>();
  const otherAt: number[] = [];
  const otherTest: Test[] = [];
  elems.forEach((e, i) => {
    const key = exactKey(e, sel, w);
    if (key !== null) {
      if (!exact.has(key)) exact.set(key, i);
    } else {
      otherAt.push(i);
      otherTest.push(compileValueTest(e, sel, t, w));
    }
  });
  return (k) => {
    const hit = exact.get(k);
    const before = hit === undefined ? Infinity : hit;
    for (let j = 0; j < otherAt.length && otherAt[j] < before; j++) if (otherTest[j](k)) return otherAt[j];
    return hit === undefined ? -1 : hit;
  };
}

/**
 * The value a selector yields for exactly the packets an element matches, when the element is one
 * value: a scalar (not an interface wildcard) or a concatenation of such, joined as the concat
 * selector joins its parts. Null for prefixes, ranges, wildcards and sets.
 */
function exactKey(v: Value, sel: Selector, w: Where): number | string | null {
  if (typeof v === 'object' && v !== null && 'concat' in v) {
    if (sel.kind !== 'concat' || sel.parts.length !== v.concat.length) return null; // compileValueTest reports it
    const keys: string[] = [];
    for (let i = 0; i < v.concat.length; i++) {
      const sub = sel.parts[i];
      const k = exactKey(v.concat[i], sub, w);
      // The concat test compares text for these parts and numbers for the rest (compileValueTest).
      const text = isIfnameSel(sub) || isAddr6Sel(sub) || (sub.kind === 'fib' && sub.result === 'oifname');
      if (k === null || (typeof k === 'string') !== text) return null;
      keys.push(String(k));
    }
    return keys.join('\u0001');
  }
  if (typeof v === 'object' || sel.kind === 'concat') return null;
  const c = scalarOf(v, sel, w);
  if (typeof c === 'string' && isIfnameSel(sel) && (c.endsWith('*') || c.endsWith('+'))) return null;
  return c;
}

// ---------------------------------------------------------------------------------------------
// Chain evaluation.

const kJumpStackMax = 16; // NFT_JUMP_STACK_SIZE / XT_JUMP_STACK_MAX

/** Result of running one base chain. */
export class ChainResult {
  verdict = V_ACCEPT;
  /** Rule that decided (null = policy). */
  rule: CompiledRule | null = null;
  /** Chain that holds the deciding rule (or the base chain, for the policy). */
  chain: CompiledChain | null = null;
}

const stackChain: CompiledChain[] = new Array(kJumpStackMax);
const stackRule: number[] = new Array(kJumpStackMax).fill(0);

/**
 * nft_do_chain(): evaluate a base chain for a packet. Leaves st.reject / st.nat set when a reject or
 * nat statement decided. `res` gets the final verdict (accept or drop; queue counts as accept here)
 * and the deciding rule.
 */
export function nftDoChain(base: CompiledChain, skb: Skb, st: EvalState, res: ChainResult): void {
  let chain = base;
  let ri = 0;
  let sp = 0;
  const trace = st.onRule;
  for (;;) {
    const rules = chain.rules;
    let verdict = V_CONTINUE;
    let rule: CompiledRule | null = null;
    for (; ri < rules.length; ri++) {
      rule = rules[ri];
      st.rulesVisited++;
      const ops = rule.ops;
      let v = V_NEXT;
      for (let k = 0; k < ops.length; k++) {
        v = ops[k](skb, st);
        if (v !== V_NEXT) break;
      }
      if (v === V_BREAK) continue;
      rule.packets++;
      rule.bytes += skb.len - skb.info.l3Off; // the kernel counts skb->len at the network header
      if (v === V_NEXT || v === V_CONTINUE) {
        if (trace) trace(chain, rule, V_CONTINUE);
        continue;
      }
      if (trace) trace(chain, rule, v);
      verdict = v;
      break;
    }
    if (verdict === V_JUMP || verdict === V_GOTO) {
      if (sp >= kJumpStackMax) {
        // Loop or too-deep nesting: the kernel refuses such rulesets at load; treat as drop.
        res.verdict = V_DROP;
        res.rule = rule;
        res.chain = chain;
        return;
      }
      if (verdict === V_JUMP) {
        stackChain[sp] = chain;
        stackRule[sp] = ri + 1;
        sp++;
      }
      chain = st.jumpTarget!;
      ri = 0;
      continue;
    }
    if (verdict === V_CONTINUE || verdict === V_RETURN) {
      // End of chain or explicit return: pop, or apply the base chain's policy.
      if (sp > 0) {
        // Falling off a jumped-to chain is an implicit return (nft_do_chain: NFT_TRACETYPE_RETURN).
        if (trace && verdict === V_CONTINUE) trace(chain, null, V_RETURN);
        sp--;
        chain = stackChain[sp];
        ri = stackRule[sp];
        continue;
      }
      const policy = base.base?.policy === 'drop' ? V_DROP : V_ACCEPT;
      base.policyPackets++;
      res.verdict = policy;
      res.rule = null;
      res.chain = base;
      return;
    }
    res.verdict = verdict === V_QUEUE ? V_ACCEPT : verdict;
    res.rule = rule;
    res.chain = chain;
    return;
  }
}

/** A 32-bit integer mix (murmur3 finaliser) for deterministic pseudo-random choices. */
export function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function hashString(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** Text of a NAT request for traces. */
export function natReqText(r: NatReq): string {
  const a = r.minAddr ? (r.minAddr === r.maxAddr ? formatIpv4(r.minAddr) : `${formatIpv4(r.minAddr)}-${formatIpv4(r.maxAddr)}`) : '';
  const p = r.minPort ? (r.minPort === r.maxPort ? `:${r.minPort}` : `:${r.minPort}-${r.maxPort}`) : '';
  return `${r.kind}${a || p ? ' to ' + a + p : ''}`;
}
