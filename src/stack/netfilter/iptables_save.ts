/**
 * `iptables-save` / `ip6tables-save` output (with or without `-c` counters) → RulesetIR.
 *
 * Each rule becomes what iptables-nft would load for it: generic matches (-i -o -s -d -p -f) first,
 * then each `-m` match in order, then a counter (iptables rules always count), then the target's
 * statements — the order the kernel evaluates them in (ip_packet_match() runs before the
 * extensions). Builtin chains become base chains with the kernel's iptables priorities
 * (include/uapi/linux/netfilter_ipv4.h). A rule's handle is its 1-based number within its chain
 * (as `iptables -L --line-numbers` counts), its text the line after `-A CHAIN `.
 *
 * Symbolic values stay strings where nft would print the same name (`-p tcp` → l4proto "tcp",
 * `--ctstate NEW` → "new", `--dst-type LOCAL` → "local"); iptables-only spellings become numbers
 * (tcp flags, icmp types and codes, marks).
 */

import { ConfigError } from '../../errors.js';
import type {
  BaseChainIR,
  ChainIR,
  CmpOp,
  ExprIR,
  HookName,
  LogExpr,
  MangleExpr,
  MatchExpr,
  NatExpr,
  RejectExpr,
  RulesetIR,
  Selector,
  TableIR,
  Value,
  VerdictExpr,
} from './ir.js';
import { FLAG_BITS, type RulesetParseOpts, UnsupportedError } from './nft_json.js';

const U32 = 0xffffffff;

/** Builtin chains per table: priority and chain type (net/ipv4/netfilter/iptable_*.c). */
const BUILTIN: Readonly<Record<string, Readonly<Record<string, { prio: number; type: BaseChainIR['type'] }>>>> = {
  raw: { PREROUTING: { prio: -300, type: 'filter' }, OUTPUT: { prio: -300, type: 'filter' } },
  mangle: {
    PREROUTING: { prio: -150, type: 'filter' },
    INPUT: { prio: -150, type: 'filter' },
    FORWARD: { prio: -150, type: 'filter' },
    OUTPUT: { prio: -150, type: 'route' },
    POSTROUTING: { prio: -150, type: 'filter' },
  },
  nat: {
    PREROUTING: { prio: -100, type: 'nat' },
    INPUT: { prio: 100, type: 'nat' },
    OUTPUT: { prio: -100, type: 'nat' },
    POSTROUTING: { prio: 100, type: 'nat' },
  },
  filter: { INPUT: { prio: 0, type: 'filter' }, FORWARD: { prio: 0, type: 'filter' }, OUTPUT: { prio: 0, type: 'filter' } },
  security: { INPUT: { prio: 50, type: 'filter' }, FORWARD: { prio: 50, type: 'filter' }, OUTPUT: { prio: 50, type: 'filter' } },
};

// ---------------------------------------------------------------------------------------------
// Entry point

/** Parse iptables-save (family 'ip') or ip6tables-save (family 'ip6') output. */
export function parseIptablesSave(text: string, file: string, family: 'ip' | 'ip6', opts: RulesetParseOpts): RulesetIR {
  const out: RulesetIR = { tables: [] };
  const source = family === 'ip' ? 'iptables-save' : 'ip6tables-save';
  let table: TableIR | null = null;
  let tableLine = 0;
  let chains = new Map<string, ChainIR>();
  /** Rule numbers per chain, counting rules dropped under allowUnsupported too. */
  let ruleNo = new Map<string, number>();
  const seen = new Set<string>();

  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const where = `line ${lineNo}`;
    let line = lines[i]!;
    if (line.endsWith('\r')) line = line.slice(0, -1);
    const t = line.trim();
    if (t === '' || t.startsWith('#')) continue;

    if (t.startsWith('*')) {
      const name = t.slice(1).trim();
      if (!BUILTIN[name]) throw new ConfigError(file, where, `table "${name}" is not supported (filter, nat, mangle, raw, security)`);
      if (seen.has(name)) throw new ConfigError(file, where, `table "${name}" is listed twice`);
      seen.add(name);
      table = { family, name, source, file, chains: [], sets: [] };
      tableLine = lineNo;
      chains = new Map();
      ruleNo = new Map();
      out.tables.push(table);
      continue;
    }
    if (t === 'COMMIT') {
      if (!table) throw new ConfigError(file, where, 'COMMIT outside a table (expected a "*table" line first)');
      table = null;
      continue;
    }
    if (!table) throw new ConfigError(file, where, 'expected a "*table" line (iptables-save output) before this line');

    if (t.startsWith(':')) {
      const m = /^:(\S+)\s+(\S+)(?:\s+\[\d+:\d+\])?$/.exec(t);
      if (!m) throw new ConfigError(file, where, `chain declaration "${t}" is not ":CHAIN POLICY [packets:bytes]"`);
      const name = m[1]!;
      const policy = m[2]!;
      if (chains.has(name)) throw new ConfigError(file, where, `chain ${name} is declared twice in table ${table.name}`);
      const bi = BUILTIN[table.name]![name];
      let base: BaseChainIR | null = null;
      if (bi) {
        if (policy !== 'ACCEPT' && policy !== 'DROP') throw new ConfigError(file, where, `policy "${policy}" of builtin chain ${name} is not supported (ACCEPT or DROP)`);
        base = { type: bi.type, hook: name.toLowerCase() as HookName, prio: bi.prio, policy: policy === 'ACCEPT' ? 'accept' : 'drop', device: null };
      } else if (policy !== '-') {
        throw new ConfigError(file, where, `chain ${name} is not a builtin chain of table ${table.name}, so its policy must be "-"`);
      }
      const c: ChainIR = { name, base, rules: [] };
      chains.set(name, c);
      table.chains.push(c);
      continue;
    }

    const m = /^(?:\[(\d+):(\d+)\]\s+)?-A\s+(\S+)(?:\s+(.*))?$/.exec(t);
    if (!m) {
      const word = t.split(/\s+/)[0];
      throw new ConfigError(file, where, `"${word}" lines are not supported: expected "-A CHAIN ..." rules as iptables-save prints them`);
    }
    const cname = m[3]!;
    let chain = chains.get(cname);
    if (!chain) {
      const bi = BUILTIN[table.name]![cname];
      if (!bi) throw new ConfigError(file, where, `chain ${cname} is not declared in table ${table.name} (add a ":${cname} - [0:0]" line)`);
      // A builtin chain used without a declaration: the kernel's default policy is ACCEPT.
      chain = { name: cname, base: { type: bi.type, hook: cname.toLowerCase() as HookName, prio: bi.prio, policy: 'accept', device: null }, rules: [] };
      chains.set(cname, chain);
      table.chains.push(chain);
    }
    const n = (ruleNo.get(cname) ?? 0) + 1;
    ruleNo.set(cname, n);
    const body = m[4] ?? '';
    try {
      const exprs = parseRuleBody(tokenize(body, where), { family, table: table.name, chain: cname, chains, where });
      chain.rules.push({ handle: n, text: body, origin: `${file}:${lineNo}`, exprs });
    } catch (e) {
      if (!(e instanceof UnsupportedError)) throw e;
      if (!opts.allowUnsupported) throw new ConfigError(file, e.where, e.what);
      opts.warnings.push(`${file} ${e.where}: ${e.what}; rule ${family} ${table.name} ${cname} #${n} dropped`);
    }
  }
  if (table) throw new ConfigError(file, `line ${tableLine}`, `table ${table.name} has no COMMIT line (truncated iptables-save output?)`);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Tokenizer: the subset of shell quoting iptables-save emits (xtables_save_string: "..." with \" and \\).

/** Split a rule line into words: whitespace-separated, with "double" and 'single' quotes and \ escapes. */
export function tokenize(s: string, where: string): string[] {
  const out: string[] = [];
  let i = 0;
  const n = s.length;
  while (i < n) {
    while (i < n && (s[i] === ' ' || s[i] === '\t')) i++;
    if (i >= n) break;
    // Fast path: a plain word is one slice (building words char by char made GC dominate a
    // 35k-rule kube-proxy file).
    let j = i;
    while (j < n) {
      const c = s.charCodeAt(j);
      if (c === 32 || c === 9 || c === 34 || c === 39 || c === 92) break;
      j++;
    }
    if (j >= n || s.charCodeAt(j) === 32 || s.charCodeAt(j) === 9) {
      out.push(s.slice(i, j));
      i = j;
      continue;
    }
    let word = '';
    while (i < n && s[i] !== ' ' && s[i] !== '\t') {
      const c = s[i]!;
      if (c === '"') {
        i++;
        while (i < n && s[i] !== '"') {
          if (s[i] === '\\' && i + 1 < n) i++;
          word += s[i];
          i++;
        }
        if (i >= n) throw new UnsupportedError(where, 'unterminated double quote');
        i++;
      } else if (c === "'") {
        i++;
        while (i < n && s[i] !== "'") word += s[i++];
        if (i >= n) throw new UnsupportedError(where, 'unterminated single quote');
        i++;
      } else if (c === '\\' && i + 1 < n) {
        word += s[i + 1];
        i += 2;
      } else {
        word += c;
        i++;
      }
    }
    out.push(word);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Rule bodies

interface Ctx {
  family: 'ip' | 'ip6';
  table: string;
  chain: string;
  chains: Map<string, ChainIR>;
  where: string;
}

/** A loaded `-m` match or `-j` target: knows its options' arities, collects them, then emits IR. */
interface Ext {
  name: string;
  /** Number of arguments an option takes, or undefined if the option is not this extension's. */
  arity(opt: string): number | undefined;
  take(opt: string, args: string[], neg: boolean): void;
  finish(): ExprIR[];
}

interface RuleState {
  ctx: Ctx;
  /** l4 protocol named by -p (lowercase), for multiport and the implicit tcp/udp/icmp match. */
  proto: string | null;
}

function parseRuleBody(tok: string[], ctx: Ctx): ExprIR[] {
  const w = ctx.where;
  const st: RuleState = { ctx, proto: null };
  const iif: ExprIR[] = [];
  const oif: ExprIR[] = [];
  const saddr: ExprIR[] = [];
  const daddr: ExprIR[] = [];
  const proto: ExprIR[] = [];
  const frag: ExprIR[] = [];
  const matches: Ext[] = [];
  let target: Ext | null = null;
  let verdict: VerdictExpr | null = null;
  let neg = false;

  const arg = (i: number, opt: string): string => {
    const v = tok[i];
    if (v === undefined) throw new UnsupportedError(w, `option "${opt}" needs an argument`);
    return v;
  };

  let i = 0;
  while (i < tok.length) {
    const t = tok[i]!;
    if (t === '!') {
      if (neg) throw new UnsupportedError(w, 'double "!"');
      neg = true;
      i++;
      continue;
    }
    const wasNeg = neg;
    neg = false;
    switch (t) {
      case '-s':
      case '--source':
      case '-d':
      case '--destination': {
        const field = t === '-s' || t === '--source' ? 'saddr' : 'daddr';
        const v = addrValue(arg(i + 1, t), ctx.family, w);
        const m = addrMatch({ kind: 'payload', proto: ctx.family, field }, v, wasNeg);
        (field === 'saddr' ? saddr : daddr).push(m);
        i += 2;
        continue;
      }
      case '-i':
      case '--in-interface':
      case '-o':
      case '--out-interface': {
        const key = t === '-i' || t === '--in-interface' ? 'iifname' : 'oifname';
        const m = match({ kind: 'meta', key }, wasNeg ? '!=' : '==', ifname(arg(i + 1, t)));
        (key === 'iifname' ? iif : oif).push(m);
        i += 2;
        continue;
      }
      case '-p':
      case '--protocol': {
        const p = arg(i + 1, t).toLowerCase();
        if (p !== 'all' && p !== '0') {
          const v: Value = /^\d+$/.test(p) ? Number(p) : p;
          proto.push(match({ kind: 'meta', key: 'l4proto' }, wasNeg ? '!=' : '==', v));
          if (!wasNeg) st.proto = typeof v === 'number' ? (PROTO_NUMBERS[v] ?? p) : p;
        }
        i += 2;
        continue;
      }
      case '-f':
      case '--fragment':
        if (ctx.family === 'ip6') throw new UnsupportedError(w, 'option "-f" does not exist in ip6tables (use -m frag)');
        // Non-first fragment: fragment offset != 0 (xt's IPT_F_FRAG).
        frag.push(match({ kind: 'bitwise', sel: { kind: 'payload', proto: 'ip', field: 'frag-off' }, mask: 0x1fff, xor: 0 }, wasNeg ? '==' : '!=', 0));
        i += 1;
        continue;
      case '-m':
      case '--match': {
        if (wasNeg) throw new UnsupportedError(w, '"!" before -m is not supported');
        const name = arg(i + 1, t);
        matches.push(makeMatch(name, st));
        i += 2;
        continue;
      }
      case '-j':
      case '--jump':
      case '-g':
      case '--goto': {
        if (wasNeg) throw new UnsupportedError(w, `"!" before ${t} is not supported`);
        if (target || verdict) throw new UnsupportedError(w, 'more than one target');
        const name = arg(i + 1, t);
        const isGoto = t === '-g' || t === '--goto';
        if (ctx.chains.has(name)) verdict = { op: 'verdict', verdict: isGoto ? 'goto' : 'jump', target: name };
        else if (isGoto) throw new UnsupportedError(w, `goto target chain "${name}" is not declared in table ${ctx.table}`);
        else {
          const v = SIMPLE_TARGETS[name];
          if (v) verdict = { op: 'verdict', verdict: v, target: null };
          else target = makeTarget(name, st);
        }
        i += 2;
        continue;
      }
      case '-c':
      case '--set-counters':
        i += 3;
        continue;
      case '-4':
        if (ctx.family !== 'ip') throw new UnsupportedError(w, 'rule is for IPv4 (-4) in ip6tables output');
        i++;
        continue;
      case '-6':
        if (ctx.family !== 'ip6') throw new UnsupportedError(w, 'rule is for IPv6 (-6) in iptables output');
        i++;
        continue;
      default:
        break;
    }
    if (!t.startsWith('-')) throw new UnsupportedError(w, `unexpected word "${t}"`);
    // Extension option: the target's first, then the most recently loaded match that knows it.
    let owner: Ext | null = null;
    if (target && target.arity(t) !== undefined) owner = target;
    for (let k = matches.length - 1; k >= 0 && !owner; k--) if (matches[k]!.arity(t) !== undefined) owner = matches[k]!;
    if (!owner && st.proto && IMPLICIT_MATCH[st.proto]) {
      // `-p tcp --dport 22` loads the tcp match implicitly (iptables does the same).
      const impl = makeMatch(IMPLICIT_MATCH[st.proto]!, st);
      if (impl.arity(t) !== undefined) {
        matches.push(impl);
        owner = impl;
      }
    }
    if (!owner) {
      const known = [...matches.map((x) => `match "${x.name}"`), ...(target ? [`target "${target.name}"`] : [])];
      throw new UnsupportedError(w, `option "${t}" is not supported${known.length ? ` (by ${known.join(', ')})` : ''}`);
    }
    const n = owner.arity(t)!;
    const args: string[] = [];
    for (let k = 1; k <= n; k++) args.push(arg(i + k, t));
    owner.take(t, args, wasNeg);
    i += 1 + n;
  }
  if (neg) throw new UnsupportedError(w, '"!" at the end of the rule');

  const exprs: ExprIR[] = [...iif, ...oif, ...saddr, ...daddr, ...proto, ...frag];
  for (const m of matches) for (const e of m.finish()) exprs.push(e);
  exprs.push({ op: 'counter' });
  if (verdict) exprs.push(verdict);
  if (target) for (const e of target.finish()) exprs.push(e);
  return exprs;
}

const SIMPLE_TARGETS: Readonly<Record<string, VerdictExpr['verdict']>> = { ACCEPT: 'accept', DROP: 'drop', RETURN: 'return', QUEUE: 'queue' };
const IMPLICIT_MATCH: Readonly<Record<string, string>> = { tcp: 'tcp', udp: 'udp', sctp: 'sctp', icmp: 'icmp', 'ipv6-icmp': 'icmp6', icmpv6: 'icmp6', icmp6: 'icmp6' };
const PROTO_NUMBERS: Readonly<Record<number, string>> = { 1: 'icmp', 6: 'tcp', 17: 'udp', 58: 'ipv6-icmp', 132: 'sctp', 33: 'dccp', 136: 'udplite' };

// ---------------------------------------------------------------------------------------------
// Value helpers

function match(left: Selector, cmp: CmpOp, right: Value): MatchExpr {
  return { op: 'match', left, cmp, right };
}

/** `veth+` (iptables wildcard) → `veth*` (the IR's prefix convention, as iptables-nft translates it). */
function ifname(s: string): string {
  return s.endsWith('+') ? `${s.slice(0, -1)}*` : s;
}

function parseIntStrict(s: string, where: string, what: string): number {
  if (!/^(0x[0-9a-fA-F]+|\d+)$/.test(s)) throw new UnsupportedError(where, `${what} "${s}" is not a number`);
  return Number(s);
}

function ipv4(s: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s);
  if (!m) return null;
  let v = 0;
  for (let i = 1; i <= 4; i++) {
    const o = Number(m[i]);
    if (o > 255) return null;
    v = v * 256 + o;
  }
  return v;
}

function isIpv6(s: string): boolean {
  return /^[0-9a-fA-F:.]+$/.test(s) && s.includes(':');
}

/** Length of a contiguous IPv4 netmask, or -1. */
function maskLen(m: number): number {
  const inv = ~m >>> 0;
  if ((inv & (inv + 1)) !== 0) return -1;
  return 32 - Math.log2(inv + 1);
}

type AddrV = { v: Value; mask: number | null };

/** `A`, `A/len`, `A/dotted-mask` → a constant (plain, prefix) or a masked IPv4 compare. */
function addrValue(s: string, family: 'ip' | 'ip6', where: string): AddrV {
  const slash = s.indexOf('/');
  const a = slash < 0 ? s : s.slice(0, slash);
  const ml = slash < 0 ? null : s.slice(slash + 1);
  if (family === 'ip') {
    if (ipv4(a) === null) throw new UnsupportedError(where, `"${s}" is not an IPv4 address (host names are not resolved)`);
    if (ml === null) return { v: a, mask: null };
    let len: number;
    if (/^\d+$/.test(ml)) len = Number(ml);
    else {
      const m = ipv4(ml);
      if (m === null) throw new UnsupportedError(where, `"${s}": bad netmask`);
      len = maskLen(m);
      if (len < 0) return { v: a, mask: m };
    }
    if (len > 32) throw new UnsupportedError(where, `"${s}": prefix length over 32`);
    return len === 32 ? { v: a, mask: null } : { v: { prefix: { addr: a, len } }, mask: null };
  }
  if (!isIpv6(a)) throw new UnsupportedError(where, `"${s}" is not an IPv6 address (host names are not resolved)`);
  if (ml === null) return { v: a, mask: null };
  if (!/^\d+$/.test(ml)) throw new UnsupportedError(where, `"${s}": non-prefix IPv6 masks are not supported`);
  const len = Number(ml);
  if (len > 128) throw new UnsupportedError(where, `"${s}": prefix length over 128`);
  return len === 128 ? { v: a, mask: null } : { v: { prefix: { addr: a, len } }, mask: null };
}

function addrMatch(sel: Selector, a: AddrV, neg: boolean): MatchExpr {
  const cmp: CmpOp = neg ? '!=' : '==';
  if (a.mask === null) return match(sel, cmp, a.v);
  // Non-contiguous mask (`-s 10.0.0.0/255.0.255.0`): (addr & mask) == net.
  return match({ kind: 'bitwise', sel, mask: a.mask, xor: 0 }, cmp, a.v);
}

/** `80`, `a:b`, `:b`, `a:` → number or range. */
function portValue(s: string, where: string): number | { range: [number, number] } {
  const c = s.indexOf(':');
  if (c < 0) return port(s, where);
  const lo = c === 0 ? 0 : port(s.slice(0, c), where);
  const hi = c === s.length - 1 ? 65535 : port(s.slice(c + 1), where);
  return lo === hi ? lo : { range: [lo, hi] };
}

function port(s: string, where: string): number {
  if (!/^\d+$/.test(s) || Number(s) > 65535) throw new UnsupportedError(where, `port "${s}" is not a number 0-65535 (service names are not resolved)`);
  return Number(s);
}

/** `v` or `v/m` (marks: hex or decimal). */
function markMask(s: string, where: string): [number, number | null] {
  const slash = s.indexOf('/');
  if (slash < 0) return [parseIntStrict(s, where, 'mark') >>> 0, null];
  return [parseIntStrict(s.slice(0, slash), where, 'mark') >>> 0, parseIntStrict(s.slice(slash + 1), where, 'mask') >>> 0];
}

/** Comma list of names → single value or a set, lowercased through `map`. */
function nameList(s: string, map: (x: string) => string): Value {
  const items = s.split(',').map(map);
  return items.length === 1 ? items[0]! : { set: items };
}

// ---------------------------------------------------------------------------------------------
// Matches

/** Define an extension from an option → arity table and handlers. */
function ext(name: string, arities: Readonly<Record<string, number>>, take: Ext['take'], finish: Ext['finish']): Ext {
  return { name, arity: (o) => arities[o], take, finish };
}

/** Extensions refused on purpose, with the reason a user needs. */
const REFUSED_MATCHES: Readonly<Record<string, string>> = {
  set: 'match "set" (ipset --match-set) is not supported: ipset contents are not part of the snapshot',
  recent: 'match "recent" is not supported: its address lists are kernel state that is not in the snapshot',
  string: 'match "string" (payload search) is not supported',
  u32: 'match "u32" is not supported',
  bpf: 'match "bpf" is not supported',
  hashlimit: 'match "hashlimit" is not supported',
  connlimit: 'match "connlimit" is not supported',
  socket: 'match "socket" is not supported',
  policy: 'match "policy" (IPsec) is not supported',
  time: 'match "time" is not supported',
  cgroup: 'match "cgroup" is not supported',
  quota: 'match "quota" is not supported',
  rpfilter: 'match "rpfilter" is not supported (use the rp_filter sysctl, which the model applies)',
};

function makeMatch(name: string, st: RuleState): Ext {
  const { ctx } = st;
  const w = ctx.where;
  const fam = ctx.family;
  const out: ExprIR[] = [];
  const done = (): ExprIR[] => out;
  const cmpOf = (neg: boolean): CmpOp => (neg ? '!=' : '==');
  if (REFUSED_MATCHES[name]) throw new UnsupportedError(w, REFUSED_MATCHES[name]!);
  switch (name) {
    case 'comment':
      return ext(name, { '--comment': 1 }, () => {}, done);
    case 'tcp':
    case 'udp':
    case 'sctp': {
      const proto = name === 'sctp' ? 'th' : name;
      const ar: Record<string, number> = { '--sport': 1, '--source-port': 1, '--dport': 1, '--destination-port': 1 };
      if (name === 'tcp') Object.assign(ar, { '--tcp-flags': 2, '--syn': 0, '--tcp-option': 1 });
      return ext(name, ar, (o, a, neg) => {
        if (o === '--tcp-option') throw new UnsupportedError(w, 'option "--tcp-option" is not supported');
        if (o === '--tcp-flags' || o === '--syn') {
          const [mask, comp] = o === '--syn' ? [0x17, 0x02] : [tcpFlags(a[0]!, w), tcpFlags(a[1]!, w)];
          out.push(match({ kind: 'bitwise', sel: { kind: 'payload', proto: 'tcp', field: 'flags' }, mask, xor: 0 }, cmpOf(neg), comp));
          return;
        }
        const field = o === '--sport' || o === '--source-port' ? 'sport' : 'dport';
        out.push(match({ kind: 'payload', proto, field }, cmpOf(neg), portValue(a[0]!, w)));
      }, done);
    }
    case 'icmp':
    case 'icmp6': {
      const six = name === 'icmp6';
      if (six !== (fam === 'ip6')) throw new UnsupportedError(w, `match "${name}" is not available in ${fam === 'ip' ? 'iptables' : 'ip6tables'}`);
      const opt = six ? '--icmpv6-type' : '--icmp-type';
      const proto = six ? 'icmpv6' : 'icmp';
      return ext(name, { [opt]: 1 }, (_o, a, neg) => {
        const s = a[0]!;
        if (!six && s === 'any') {
          if (neg) throw new UnsupportedError(w, '"! --icmp-type any" matches nothing');
          return;
        }
        const [type, code] = icmpType(s, six, w);
        if (code === null) out.push(match({ kind: 'payload', proto, field: 'type' }, cmpOf(neg), type));
        else if (!neg) {
          out.push(match({ kind: 'payload', proto, field: 'type' }, '==', type));
          out.push(match({ kind: 'payload', proto, field: 'code' }, '==', code));
        } else {
          const sel: Selector = { kind: 'concat', parts: [{ kind: 'payload', proto, field: 'type' }, { kind: 'payload', proto, field: 'code' }] };
          out.push(match(sel, '!=', { concat: [type, code] }));
        }
      }, done);
    }
    case 'conntrack':
    case 'state': {
      const ar: Record<string, number> =
        name === 'state'
          ? { '--state': 1 }
          : {
              '--ctstate': 1, '--ctproto': 1, '--ctorigsrc': 1, '--ctorigdst': 1, '--ctreplsrc': 1, '--ctrepldst': 1,
              '--ctorigsrcport': 1, '--ctorigdstport': 1, '--ctreplsrcport': 1, '--ctrepldstport': 1,
              '--ctstatus': 1, '--ctexpire': 1, '--ctdir': 1,
            };
      return ext(name, ar, (o, a, neg) => out.push(...conntrackOpt(o, a[0]!, neg, fam, w)), done);
    }
    case 'addrtype': {
      const types: Array<{ field: 'saddr' | 'daddr'; v: Value; neg: boolean }> = [];
      let iface: string | null = null;
      return ext(
        name,
        { '--src-type': 1, '--dst-type': 1, '--limit-iface-in': 0, '--limit-iface-out': 0 },
        (o, a, neg) => {
          if (o === '--limit-iface-in') iface = 'iif';
          else if (o === '--limit-iface-out') iface = 'oif';
          else types.push({ field: o === '--src-type' ? 'saddr' : 'daddr', v: nameList(a[0]!, (x) => x.toLowerCase()), neg });
        },
        () => types.map((t) => match({ kind: 'fib', flags: iface ? [t.field, iface] : [t.field], result: 'type' }, t.neg ? '!=' : '==', t.v)),
      );
    }
    case 'statistic': {
      let mode: 'random' | 'nth' | null = null;
      let probability = 0;
      let every = 0;
      let packet = 0;
      let inv = false;
      return ext(
        name,
        { '--mode': 1, '--probability': 1, '--every': 1, '--packet': 1 },
        (o, a, neg) => {
          const s = a[0]!;
          if (neg) inv = true;
          if (o === '--mode') {
            if (s !== 'random' && s !== 'nth') throw new UnsupportedError(w, `statistic mode "${s}" is not supported`);
            mode = s;
          } else if (o === '--probability') {
            probability = Number(s);
            if (!(probability >= 0 && probability <= 1)) throw new UnsupportedError(w, `probability "${s}" is not between 0 and 1`);
          } else if (o === '--every') every = parseIntStrict(s, w, '--every');
          else packet = parseIntStrict(s, w, '--packet');
        },
        () => {
          if (!mode) throw new UnsupportedError(w, 'match "statistic" needs --mode');
          if (mode === 'nth' && every < 1) throw new UnsupportedError(w, 'statistic --mode nth needs --every N');
          return [{ op: 'statistic', mode, probability: mode === 'random' ? probability : 0, every: mode === 'nth' ? every : 0, packet: mode === 'nth' ? packet : 0, inv }];
        },
      );
    }
    case 'mark':
    case 'connmark': {
      const sel: Selector = name === 'mark' ? { kind: 'meta', key: 'mark' } : { kind: 'ct', key: 'mark', dir: null };
      return ext(name, { '--mark': 1 }, (_o, a, neg) => {
        const [v, m] = markMask(a[0]!, w);
        const left: Selector = m === null || m === U32 ? sel : { kind: 'bitwise', sel, mask: m, xor: 0 };
        out.push(match(left, cmpOf(neg), v));
      }, done);
    }
    case 'multiport': {
      const proto = st.proto === 'tcp' || st.proto === 'udp' ? st.proto : 'th';
      return ext(
        name,
        { '--dports': 1, '--destination-ports': 1, '--sports': 1, '--source-ports': 1, '--ports': 1 },
        (o, a, neg) => {
          const items = a[0]!.split(',').map((p) => portValue(p, w));
          const v: Value = { set: items };
          if (o === '--ports') {
            const sp = match({ kind: 'payload', proto, field: 'sport' }, cmpOf(neg), v);
            const dp = match({ kind: 'payload', proto, field: 'dport' }, cmpOf(neg), v);
            // Either port in the list; negated: neither is.
            if (neg) out.push(sp, dp);
            else out.push({ op: 'matchany', matches: [sp, dp] });
            return;
          }
          const field = o === '--dports' || o === '--destination-ports' ? 'dport' : 'sport';
          out.push(match({ kind: 'payload', proto, field }, cmpOf(neg), v));
        },
        done,
      );
    }
    case 'physdev':
      return ext(
        name,
        { '--physdev-in': 1, '--physdev-out': 1, '--physdev-is-bridged': 0, '--physdev-is-in': 0, '--physdev-is-out': 0 },
        (o, a, neg) => {
          if (o === '--physdev-in' || o === '--physdev-out') {
            out.push(match({ kind: 'meta', key: o === '--physdev-in' ? 'ibrport' : 'obrport' }, cmpOf(neg), ifname(a[0]!)));
            return;
          }
          // is-in: there is an input bridge port; is-out / is-bridged: there is an output bridge port.
          const key = o === '--physdev-is-in' ? 'ibrport' : 'obrport';
          out.push(match({ kind: 'meta', key }, neg ? '==' : '!=', ''));
        },
        done,
      );
    case 'limit': {
      let rate = 3;
      let per: 'second' | 'minute' | 'hour' | 'day' = 'hour';
      let burst = 5;
      return ext(
        name,
        { '--limit': 1, '--limit-burst': 1 },
        (o, a, neg) => {
          if (neg) throw new UnsupportedError(w, `"! ${o}" is not supported`);
          if (o === '--limit-burst') burst = parseIntStrict(a[0]!, w, 'burst');
          else [rate, per] = limitRate(a[0]!, w);
        },
        () => [{ op: 'limit', rate, per, burst, unit: 'packets', inv: false }],
      );
    }
    case 'iprange':
      return ext(name, { '--src-range': 1, '--dst-range': 1 }, (o, a, neg) => {
        const [lo, hi] = a[0]!.split('-');
        for (const x of [lo, hi]) {
          if (x === undefined || (fam === 'ip' ? ipv4(x) === null : !isIpv6(x))) throw new UnsupportedError(w, `"${a[0]}" is not an address range A-B`);
        }
        out.push(match({ kind: 'payload', proto: fam, field: o === '--src-range' ? 'saddr' : 'daddr' }, cmpOf(neg), { range: [lo!, hi!] }));
      }, done);
    case 'length':
      return ext(name, { '--length': 1 }, (_o, a, neg) => {
        let v = portValue(a[0]!, w);
        // xt_length compares the IPv4 total length, or the IPv6 payload length + 40.
        if (fam === 'ip6') {
          const sub = (x: number): number => Math.max(0, x - 40);
          v = typeof v === 'number' ? sub(v) : { range: [sub(v.range[0]), sub(v.range[1])] };
        }
        out.push(match({ kind: 'payload', proto: fam, field: 'length' }, cmpOf(neg), v));
      }, done);
    case 'pkttype':
      return ext(name, { '--pkt-type': 1 }, (_o, a, neg) => out.push(match({ kind: 'meta', key: 'pkttype' }, cmpOf(neg), a[0]!.toLowerCase())), done);
    case 'owner':
      return ext(name, { '--uid-owner': 1, '--gid-owner': 1, '--socket-exists': 0, '--suppl-groups': 0 }, (o, a, neg) => {
        if (o === '--socket-exists' || o === '--suppl-groups') throw new UnsupportedError(w, `option "${o}" of match "owner" is not supported`);
        const s = a[0]!;
        const m = /^(\d+)(?:-(\d+))?$/.exec(s);
        if (!m) throw new UnsupportedError(w, `owner "${s}" is not numeric (user and group names cannot be resolved offline)`);
        const v: Value = m[2] === undefined ? Number(m[1]) : { range: [Number(m[1]), Number(m[2])] };
        out.push(match({ kind: 'meta', key: o === '--uid-owner' ? 'skuid' : 'skgid' }, cmpOf(neg), v));
      }, done);
    case 'mac':
      return ext(name, { '--mac-source': 1 }, (_o, a, neg) => {
        const s = a[0]!.toLowerCase();
        if (!/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/.test(s)) throw new UnsupportedError(w, `"${a[0]}" is not a MAC address`);
        out.push(match({ kind: 'payload', proto: 'ether', field: 'saddr' }, cmpOf(neg), s));
      }, done);
    case 'ttl':
    case 'hl': {
      const six = name === 'hl';
      if (six !== (fam === 'ip6')) throw new UnsupportedError(w, `match "${name}" is not available in ${fam === 'ip' ? 'iptables' : 'ip6tables'}`);
      const sel: Selector = six ? { kind: 'payload', proto: 'ip6', field: 'hoplimit' } : { kind: 'payload', proto: 'ip', field: 'ttl' };
      const p = six ? '--hl' : '--ttl';
      return ext(name, { [`${p}-eq`]: 1, [`${p}-lt`]: 1, [`${p}-gt`]: 1 }, (o, a, neg) => {
        const v = parseIntStrict(a[0]!, w, name);
        const kind = o.slice(-2);
        const cmp: CmpOp = kind === 'eq' ? (neg ? '!=' : '==') : kind === 'lt' ? (neg ? '>=' : '<') : neg ? '<=' : '>';
        out.push(match(sel, cmp, v));
      }, done);
    }
    case 'dscp':
      return ext(name, { '--dscp': 1 }, (_o, a, neg) => {
        out.push(match({ kind: 'payload', proto: fam, field: 'dscp' }, cmpOf(neg), parseIntStrict(a[0]!, w, 'dscp')));
      }, done);
    default:
      throw new UnsupportedError(w, `match "${name}" is not supported`);
  }
}

const TCP_FLAG_NAMES: Readonly<Record<string, number>> = {
  FIN: 0x01, SYN: 0x02, RST: 0x04, PSH: 0x08, ACK: 0x10, URG: 0x20, ECE: 0x40, CWR: 0x80, ALL: 0x3f, NONE: 0,
};

function tcpFlags(s: string, where: string): number {
  let v = 0;
  for (const f of s.split(',')) {
    const b = TCP_FLAG_NAMES[f.toUpperCase()];
    if (b === undefined) throw new UnsupportedError(where, `unknown TCP flag "${f}"`);
    v |= b;
  }
  return v;
}

/** iptables ICMP type names (libxt_icmp.c) → [type, code or null]. */
const ICMP_NAMES: Readonly<Record<string, [number, number | null]>> = {
  'echo-reply': [0, null], pong: [0, null], 'destination-unreachable': [3, null], 'network-unreachable': [3, 0],
  'host-unreachable': [3, 1], 'protocol-unreachable': [3, 2], 'port-unreachable': [3, 3], 'fragmentation-needed': [3, 4],
  'source-route-failed': [3, 5], 'network-unknown': [3, 6], 'host-unknown': [3, 7], 'network-prohibited': [3, 9],
  'host-prohibited': [3, 10], 'tos-network-unreachable': [3, 11], 'tos-host-unreachable': [3, 12],
  'communication-prohibited': [3, 13], 'host-precedence-violation': [3, 14], 'precedence-cutoff': [3, 15],
  'source-quench': [4, null], redirect: [5, null], 'network-redirect': [5, 0], 'host-redirect': [5, 1],
  'tos-network-redirect': [5, 2], 'tos-host-redirect': [5, 3], 'echo-request': [8, null], ping: [8, null],
  'router-advertisement': [9, null], 'router-solicitation': [10, null], 'time-exceeded': [11, null],
  'ttl-exceeded': [11, null], 'ttl-zero-during-transit': [11, 0], 'ttl-zero-during-reassembly': [11, 1],
  'parameter-problem': [12, null], 'ip-header-bad': [12, 0], 'required-option-missing': [12, 1],
  'timestamp-request': [13, null], 'timestamp-reply': [14, null], 'address-mask-request': [17, null],
  'address-mask-reply': [18, null],
};

/** ip6tables ICMPv6 type names (libxt_icmp6.c). */
const ICMP6_NAMES: Readonly<Record<string, [number, number | null]>> = {
  'destination-unreachable': [1, null], 'no-route': [1, 0], 'communication-prohibited': [1, 1], 'beyond-scope': [1, 2],
  'address-unreachable': [1, 3], 'port-unreachable': [1, 4], 'failed-policy': [1, 5], 'reject-route': [1, 6],
  'packet-too-big': [2, null], 'time-exceeded': [3, null], 'ttl-exceeded': [3, null], 'ttl-zero-during-transit': [3, 0],
  'ttl-zero-during-reassembly': [3, 1], 'parameter-problem': [4, null], 'bad-header': [4, 0],
  'unknown-header-type': [4, 1], 'unknown-option': [4, 2], 'echo-request': [128, null], ping: [128, null],
  'echo-reply': [129, null], pong: [129, null], 'mld-listener-query': [130, null], 'mld-listener-report': [131, null],
  'mld-listener-done': [132, null], 'mld-listener-reduction': [132, null], 'router-solicitation': [133, null],
  'router-advertisement': [134, null], 'neighbour-solicitation': [135, null], 'neighbor-solicitation': [135, null],
  'neighbour-advertisement': [136, null], 'neighbor-advertisement': [136, null], redirect: [137, null],
};

function icmpType(s: string, six: boolean, where: string): [number, number | null] {
  const m = /^(\d+)(?:\/(\d+))?$/.exec(s);
  if (m) return [Number(m[1]), m[2] === undefined ? null : Number(m[2])];
  const t = (six ? ICMP6_NAMES : ICMP_NAMES)[s.toLowerCase()];
  if (!t) throw new UnsupportedError(where, `unknown ICMP${six ? 'v6' : ''} type "${s}"`);
  return t;
}

/** conntrack / state options. */
function conntrackOpt(o: string, s: string, neg: boolean, fam: 'ip' | 'ip6', w: string): ExprIR[] {
  const cmp: CmpOp = neg ? '!=' : '==';
  const ct = (key: string, dir: 'original' | 'reply' | null = null): Selector => ({ kind: 'ct', key, dir });
  switch (o) {
    case '--state':
    case '--ctstate': {
      const states: string[] = [];
      const status: string[] = [];
      for (const x of s.split(',')) {
        const l = x.toLowerCase();
        if (l === 'snat' || l === 'dnat') status.push(l);
        else if (FLAG_BITS['ct state']![l] !== undefined) states.push(l);
        else throw new UnsupportedError(w, `unknown conntrack state "${x}"`);
      }
      // ct state is a bitmask: 'in' = any of these bits. SNAT/DNAT are ct status bits in xt_conntrack.
      const parts: MatchExpr[] = [];
      const one = (xs: string[]): Value => (xs.length === 1 ? xs[0]! : { set: xs });
      if (states.length) parts.push(match(ct('state'), neg ? '!=' : 'in', one(states)));
      if (status.length) {
        const bits = status.reduce((b, x) => b | FLAG_BITS['ct status']![x]!, 0);
        parts.push(neg ? match({ kind: 'bitwise', sel: ct('status'), mask: bits, xor: 0 }, '==', 0) : match(ct('status'), 'in', one(status)));
      }
      if (parts.length === 2 && !neg) return [{ op: 'matchany', matches: parts }];
      return parts;
    }
    case '--ctstatus': {
      const xs = s.split(',').map((x) => x.toLowerCase().replace(/_/g, '-'));
      let bits = 0;
      for (const x of xs) {
        const b = FLAG_BITS['ct status']![x];
        if (b === undefined) throw new UnsupportedError(w, `unknown conntrack status "${x}"`);
        bits |= b;
      }
      // Any of the bits (xt_conntrack); negated: none of them. ct status is a multi-bit field, so
      // the negation is a mask test, not `!=` (which nft evaluates as an exact compare).
      if (neg) return [match({ kind: 'bitwise', sel: ct('status'), mask: bits, xor: 0 }, '==', 0)];
      return [match(ct('status'), 'in', xs.length === 1 ? xs[0]! : { set: xs })];
    }
    case '--ctproto': {
      const p = s.toLowerCase();
      return [match(ct('protocol'), cmp, /^\d+$/.test(p) ? Number(p) : p)];
    }
    case '--ctorigsrc':
    case '--ctorigdst':
    case '--ctreplsrc':
    case '--ctrepldst': {
      const dir = o.startsWith('--ctorig') ? 'original' : 'reply';
      const key = o.endsWith('src') ? 'saddr' : 'daddr';
      return [addrMatch(ct(key, dir), addrValue(s, fam, w), neg)];
    }
    case '--ctorigsrcport':
    case '--ctorigdstport':
    case '--ctreplsrcport':
    case '--ctrepldstport': {
      const dir = o.startsWith('--ctorig') ? 'original' : 'reply';
      const key = o.includes('src') ? 'proto-src' : 'proto-dst';
      return [match(ct(key, dir), cmp, portValue(s, w))];
    }
    case '--ctexpire':
      return [match(ct('expiration'), cmp, portValue(s, w))];
    case '--ctdir': {
      const d = s.toLowerCase();
      if (d !== 'original' && d !== 'reply') throw new UnsupportedError(w, `--ctdir "${s}" is not ORIGINAL or REPLY`);
      return [match(ct('direction'), cmp, d)];
    }
    default:
      throw new UnsupportedError(w, `option "${o}" is not supported`);
  }
}

/** `N/unit` (unit: any prefix of second, minute, hour, day, as libxt_limit accepts). */
function limitRate(s: string, where: string): [number, 'second' | 'minute' | 'hour' | 'day'] {
  const m = /^(\d+)(?:\/([a-z]+))?$/i.exec(s);
  if (!m) throw new UnsupportedError(where, `limit "${s}" is not N/second, N/minute, N/hour or N/day`);
  const u = (m[2] ?? 'second').toLowerCase();
  for (const full of ['second', 'minute', 'hour', 'day'] as const) if (full.startsWith(u)) return [Number(m[1]), full];
  throw new UnsupportedError(where, `limit unit "${m[2]}" is not second, minute, hour or day`);
}

// ---------------------------------------------------------------------------------------------
// Targets

const REFUSED_TARGETS: Readonly<Record<string, string>> = {
  TPROXY: 'target "TPROXY" is not supported (transparent proxying needs local sockets the model does not have)',
  TCPMSS: 'target "TCPMSS" is not supported (it rewrites TCP options)',
};

const REJECT4: Readonly<Record<string, [RejectExpr['type'], string | null]>> = {
  'icmp-net-unreachable': ['icmp', 'net-unreachable'], 'net-unreach': ['icmp', 'net-unreachable'],
  'icmp-host-unreachable': ['icmp', 'host-unreachable'], 'host-unreach': ['icmp', 'host-unreachable'],
  'icmp-port-unreachable': ['icmp', 'port-unreachable'], 'port-unreach': ['icmp', 'port-unreachable'],
  'icmp-proto-unreachable': ['icmp', 'prot-unreachable'], 'proto-unreach': ['icmp', 'prot-unreachable'],
  'icmp-net-prohibited': ['icmp', 'net-prohibited'], 'net-prohib': ['icmp', 'net-prohibited'],
  'icmp-host-prohibited': ['icmp', 'host-prohibited'], 'host-prohib': ['icmp', 'host-prohibited'],
  'icmp-admin-prohibited': ['icmp', 'admin-prohibited'], 'admin-prohib': ['icmp', 'admin-prohibited'],
  'tcp-reset': ['tcp reset', null],
};
const REJECT6: Readonly<Record<string, [RejectExpr['type'], string | null]>> = {
  'icmp6-no-route': ['icmpv6', 'no-route'], 'no-route': ['icmpv6', 'no-route'],
  'icmp6-adm-prohibited': ['icmpv6', 'admin-prohibited'], 'adm-prohibited': ['icmpv6', 'admin-prohibited'],
  'icmp6-addr-unreachable': ['icmpv6', 'addr-unreachable'], 'addr-unreach': ['icmpv6', 'addr-unreachable'],
  'icmp6-port-unreachable': ['icmpv6', 'port-unreachable'], 'port-unreach': ['icmpv6', 'port-unreachable'],
  'icmp6-policy-fail': ['icmpv6', 'policy-fail'], 'policy-fail': ['icmpv6', 'policy-fail'],
  'icmp6-reject-route': ['icmpv6', 'reject-route'], 'reject-route': ['icmpv6', 'reject-route'],
  'tcp-reset': ['tcp reset', null],
};

const LOG_LEVELS = ['emerg', 'alert', 'crit', 'err', 'warn', 'notice', 'info', 'debug'];
const LOG_LEVEL_ALIASES: Readonly<Record<string, string>> = { error: 'err', warning: 'warn', panic: 'emerg' };

function makeTarget(name: string, st: RuleState): Ext {
  const { ctx } = st;
  const w = ctx.where;
  const fam = ctx.family;
  if (REFUSED_TARGETS[name]) throw new UnsupportedError(w, REFUSED_TARGETS[name]!);
  const noNeg = (o: string, neg: boolean): void => {
    if (neg) throw new UnsupportedError(w, `"! ${o}" is not supported`);
  };
  switch (name) {
    case 'REJECT': {
      let r: [RejectExpr['type'], string | null] = fam === 'ip' ? ['icmp', 'port-unreachable'] : ['icmpv6', 'port-unreachable'];
      return ext(name, { '--reject-with': 1 }, (o, a, neg) => {
        noNeg(o, neg);
        const v = (fam === 'ip' ? REJECT4 : REJECT6)[a[0]!];
        if (!v) throw new UnsupportedError(w, `REJECT --reject-with "${a[0]}" is not supported`);
        r = v;
      }, () => [{ op: 'reject', type: r[0], code: r[1] }]);
    }
    case 'DNAT':
    case 'SNAT':
    case 'MASQUERADE':
    case 'REDIRECT': {
      const kind = name.toLowerCase() as NatExpr['kind'];
      const nat: NatExpr = { op: 'nat', kind, family: null, addr: null, port: null, flags: [] };
      const ar: Record<string, number> =
        name === 'DNAT' ? { '--to-destination': 1, '--random': 0, '--persistent': 0 }
        : name === 'SNAT' ? { '--to-source': 1, '--random': 0, '--random-fully': 0, '--persistent': 0 }
        : name === 'MASQUERADE' ? { '--to-ports': 1, '--random': 0, '--random-fully': 0 }
        : { '--to-ports': 1, '--random': 0 };
      let seenTo = false;
      return ext(name, ar, (o, a, neg) => {
        noNeg(o, neg);
        if (o === '--random') nat.flags.push('random');
        else if (o === '--random-fully') nat.flags.push('fully-random');
        else if (o === '--persistent') nat.flags.push('persistent');
        else if (o === '--to-ports') nat.port = { range: portRange(a[0]!, w) };
        else {
          if (seenTo) throw new UnsupportedError(w, `several ${o} options are not supported`);
          seenTo = true;
          parseNatTo(a[0]!, fam, nat, w);
        }
      }, () => {
        if ((name === 'DNAT' || name === 'SNAT') && !seenTo) throw new UnsupportedError(w, `${name} needs ${name === 'DNAT' ? '--to-destination' : '--to-source'}`);
        return [nat];
      });
    }
    case 'MARK':
    case 'CONNMARK': {
      const key: MangleExpr['key'] = name === 'MARK' ? { kind: 'meta', key: 'mark' } : { kind: 'ct', key: 'mark', dir: null };
      let res: MangleExpr | null = null;
      let mode: 'save' | 'restore' | null = null;
      let nfmask = U32;
      let ctmask = U32;
      const ar: Record<string, number> = { '--set-mark': 1, '--set-xmark': 1, '--and-mark': 1, '--or-mark': 1, '--xor-mark': 1 };
      if (name === 'CONNMARK') Object.assign(ar, { '--save-mark': 0, '--restore-mark': 0, '--nfmask': 1, '--ctmask': 1, '--mask': 1 });
      return ext(name, ar, (o, a, neg) => {
        noNeg(o, neg);
        if (res || (mode && (o === '--save-mark' || o === '--restore-mark'))) throw new UnsupportedError(w, `${name}: only one action per rule`);
        if (o === '--save-mark') mode = 'save';
        else if (o === '--restore-mark') mode = 'restore';
        else if (o === '--nfmask') nfmask = parseIntStrict(a[0]!, w, 'mask') >>> 0;
        else if (o === '--ctmask') ctmask = parseIntStrict(a[0]!, w, 'mask') >>> 0;
        else if (o === '--mask') nfmask = ctmask = parseIntStrict(a[0]!, w, 'mask') >>> 0;
        else res = markAction(o, a[0]!, key, w);
      }, () => {
        if (res) return [res];
        if (!mode) throw new UnsupportedError(w, `${name} needs an action (--set-mark, --set-xmark, ...)`);
        return [connmarkCopy(mode, nfmask, ctmask, w)];
      });
    }
    case 'LOG':
    case 'NFLOG': {
      const log: LogExpr = { op: 'log', prefix: null, level: null };
      const ar: Record<string, number> =
        name === 'LOG'
          ? { '--log-prefix': 1, '--log-level': 1, '--log-tcp-sequence': 0, '--log-tcp-options': 0, '--log-ip-options': 0, '--log-uid': 0, '--log-macdecode': 0 }
          : { '--nflog-prefix': 1, '--nflog-group': 1, '--nflog-range': 1, '--nflog-size': 1, '--nflog-threshold': 1 };
      return ext(name, ar, (o, a, neg) => {
        noNeg(o, neg);
        if (o === '--log-prefix' || o === '--nflog-prefix') log.prefix = a[0]!;
        else if (o === '--log-level') log.level = logLevel(a[0]!, w);
      }, () => [log]);
    }
    case 'NOTRACK':
      return ext(name, {}, () => {}, () => [{ op: 'notrack' }]);
    case 'CT': {
      let notrack = false;
      return ext(
        name,
        { '--notrack': 0, '--zone': 1, '--zone-orig': 1, '--zone-reply': 1, '--helper': 1, '--ctevents': 1, '--expevents': 1, '--timeout': 1 },
        (o, _a, neg) => {
          noNeg(o, neg);
          if (o !== '--notrack') throw new UnsupportedError(w, `target "CT ${o}" is not supported (only CT --notrack)`);
          notrack = true;
        },
        () => {
          if (!notrack) throw new UnsupportedError(w, 'target "CT" without --notrack is not supported');
          return [{ op: 'notrack' }];
        },
      );
    }
    case 'TRACE':
      return ext(name, {}, () => {}, () => [{ op: 'mangle', key: { kind: 'meta', key: 'nftrace' }, from: null, and: 0, xor: 1 }]);
    case 'CHECKSUM':
      // Fills in a checksum the NIC would have offloaded; no effect on where the packet goes.
      return ext(name, { '--checksum-fill': 0 }, () => {}, () => []);
    case 'CLASSIFY': {
      let cls = 0;
      return ext(name, { '--set-class': 1 }, (o, a, neg) => {
        noNeg(o, neg);
        const m = /^([0-9a-fA-F]{1,4}):([0-9a-fA-F]{1,4})$/.exec(a[0]!);
        if (!m) throw new UnsupportedError(w, `--set-class "${a[0]}" is not MAJOR:MINOR`);
        cls = ((parseInt(m[1]!, 16) << 16) | parseInt(m[2]!, 16)) >>> 0;
      }, () => [{ op: 'mangle', key: { kind: 'meta', key: 'priority' }, from: null, and: 0, xor: cls }]);
    }
    case 'NFQUEUE':
      return ext(name, { '--queue-num': 1, '--queue-balance': 1, '--queue-bypass': 0, '--fail-open': 0, '--queue-cpu-fanout': 0 }, (o) => {
        if (o === '--queue-bypass' || o === '--fail-open') throw new UnsupportedError(w, `NFQUEUE ${o} is not supported (no userspace queue in the model)`);
      }, () => [{ op: 'verdict', verdict: 'queue', target: null }]);
    default:
      if (/^[A-Z][A-Z0-9_]*$/.test(name)) throw new UnsupportedError(w, `target "${name}" is not supported`);
      throw new UnsupportedError(w, `target "${name}" is not supported, and no chain of that name is declared in table ${ctx.table}`);
  }
}

/** MARK / CONNMARK value actions (libxt_MARK.c, libxt_CONNMARK.c): new = (old & ~mask) ^ mark. */
function markAction(o: string, s: string, key: MangleExpr['key'], w: string): MangleExpr {
  const [v, m] = markMask(s, w);
  let mark: number;
  let mask: number;
  switch (o) {
    case '--set-xmark':
      mark = v;
      mask = m ?? U32;
      break;
    case '--set-mark':
      mark = v;
      mask = (v | (m ?? U32)) >>> 0;
      break;
    case '--and-mark':
      mark = 0;
      mask = ~v >>> 0;
      break;
    case '--or-mark':
      mark = v;
      mask = v;
      break;
    default: // --xor-mark
      mark = v;
      mask = 0;
  }
  return { op: 'mangle', key, from: null, and: ~mask >>> 0, xor: mark };
}

/**
 * CONNMARK --save-mark: ct = (ct & ~ctmask) ^ (mark & nfmask); --restore-mark: mark = (mark & ~nfmask)
 * ^ (ct & ctmask) (net/netfilter/xt_connmark.c). The IR's mangle keeps one source, so the kept part of
 * the destination must be empty (the default masks) or the copied part must be.
 */
function connmarkCopy(mode: 'save' | 'restore', nfmask: number, ctmask: number, w: string): MangleExpr {
  const ctm: MangleExpr['key'] = { kind: 'ct', key: 'mark', dir: null };
  const nfm: MangleExpr['key'] = { kind: 'meta', key: 'mark' };
  const [key, other, keep, take] = mode === 'save' ? [ctm, nfm, ctmask, nfmask] : [nfm, ctm, nfmask, ctmask];
  if (keep === U32) return { op: 'mangle', key, from: other, and: take, xor: 0 };
  if (take === 0) return { op: 'mangle', key, from: null, and: ~keep >>> 0, xor: 0 };
  throw new UnsupportedError(w, `CONNMARK --${mode}-mark with --nfmask 0x${nfmask.toString(16)} --ctmask 0x${ctmask.toString(16)} is not supported (only the default all-ones masks)`);
}

function logLevel(s: string, w: string): string {
  if (/^[0-7]$/.test(s)) return LOG_LEVELS[Number(s)]!;
  const l = LOG_LEVEL_ALIASES[s.toLowerCase()] ?? s.toLowerCase();
  if (!LOG_LEVELS.includes(l)) throw new UnsupportedError(w, `log level "${s}" is not supported`);
  return l;
}

/** `p` or `p-q` → [p, q]. */
function portRange(s: string, w: string): [number, number] {
  const d = s.indexOf('-');
  if (d < 0) {
    const p = port(s, w);
    return [p, p];
  }
  return [port(s.slice(0, d), w), port(s.slice(d + 1), w)];
}

/** DNAT --to-destination / SNAT --to-source: `A[-B][:p[-q]]`, IPv6 `[A][-[B]][:p[-q]]` or bare `A[-B]`. */
function parseNatTo(s: string, fam: 'ip' | 'ip6', nat: NatExpr, w: string): void {
  let addrs = s;
  let ports: string | null = null;
  if (fam === 'ip6') {
    if (s.startsWith('[')) {
      const m = /^\[([^\]]+)\](?:-\[([^\]]+)\])?(?::(.+))?$/.exec(s);
      if (!m) throw new UnsupportedError(w, `"${s}" is not [ADDR][-[ADDR]][:PORT[-PORT]]`);
      addrs = m[2] ? `${m[1]}-${m[2]}` : m[1]!;
      ports = m[3] ?? null;
    }
  } else {
    const c = s.indexOf(':');
    if (c >= 0) {
      addrs = s.slice(0, c);
      ports = s.slice(c + 1);
    }
  }
  if (addrs !== '') {
    const d = addrs.indexOf('-');
    const parts = d < 0 ? [addrs] : [addrs.slice(0, d), addrs.slice(d + 1)];
    for (const p of parts) if (fam === 'ip' ? ipv4(p) === null : !isIpv6(p)) throw new UnsupportedError(w, `NAT address "${p}" is not an ${fam === 'ip' ? 'IPv4' : 'IPv6'} address`);
    nat.addr = parts.length === 1 ? { addr: parts[0]! } : { range: [parts[0]!, parts[1]!] };
  }
  if (ports !== null) nat.port = { range: portRange(ports, w) };
}
