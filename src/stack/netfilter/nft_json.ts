/**
 * `nft -j list ruleset` (nftables 1.0.6 JSON schema 1) → RulesetIR.
 *
 * The listing is flat: `{"nftables":[metainfo, table…, set/map…, chain…, rule…]}`; sets, chains and
 * rules name their table (and chain). Every rule keeps its handle, a `text` close to what
 * `nft list ruleset` prints, and its origin (`nft.json [12]`). A construct the model cannot evaluate
 * is a ConfigError naming the JSON path; with `allowUnsupported` the whole rule is dropped with a
 * warning instead, because a rule missing part of its logic must not run.
 *
 * Two listing habits to know (observed with nft 1.0.6):
 * - dependencies are hidden: `tcp dport 22` is listed without the `meta l4proto tcp` the kernel
 *   evaluates first, `ip saddr` in an inet table without `meta nfproto ipv4`. compile.ts adds them back.
 * - iptables-nft tables list extensions as opaque `{"xt":{...}}`; they become XtExpr (merge.ts
 *   replaces such tables with the iptables-save text).
 */

import { ConfigError } from '../../errors.js';
import type {
  BaseChainIR,
  BitwiseSel,
  ChainIR,
  CmpOp,
  CtSel,
  ExprIR,
  Family,
  HookName,
  LimitExpr,
  MangleExpr,
  MatchExpr,
  MetaSel,
  NatAddr,
  NatExpr,
  NatPort,
  RejectExpr,
  RuleIR,
  RulesetIR,
  Selector,
  SetIR,
  TableIR,
  Value,
  VerdictExpr,
} from './ir.js';

/** Options shared by the ruleset parsers. */
export interface RulesetParseOpts {
  /** Drop (with a warning) rules using constructs the model cannot evaluate, instead of failing. */
  allowUnsupported: boolean;
  /** Receives one line per dropped rule. */
  warnings: string[];
}

/** A construct inside a rule that the model refuses; becomes a ConfigError or a dropped rule. */
export class UnsupportedError extends Error {
  constructor(readonly where: string, readonly what: string) {
    super(`${where}: ${what}`);
  }
}

type J = unknown;
type JObj = Record<string, J>;

const FAMILIES: ReadonlySet<string> = new Set(['ip', 'ip6', 'inet', 'arp', 'bridge', 'netdev']);
const HOOKS: ReadonlySet<string> = new Set(['prerouting', 'input', 'forward', 'output', 'postrouting', 'ingress', 'egress']);
const CHAIN_TYPES: ReadonlySet<string> = new Set(['filter', 'nat', 'route']);
const CMP_OPS: ReadonlySet<string> = new Set(['==', '!=', '<', '>', '<=', '>=', 'in']);
const SIMPLE_VERDICTS: ReadonlySet<string> = new Set(['accept', 'drop', 'continue', 'return']);
const REJECT_TYPES: ReadonlySet<string> = new Set(['tcp reset', 'icmp', 'icmpv6', 'icmpx']);
const LIMIT_PER: ReadonlySet<string> = new Set(['second', 'minute', 'hour', 'day', 'week']);
const NAT_FLAGS: ReadonlySet<string> = new Set(['random', 'fully-random', 'persistent', 'netmap']);
/** fib results the model evaluates. */
const FIB_RESULTS: ReadonlySet<string> = new Set(['oif', 'oifname', 'type']);
const U32 = 0xffffffff;

/**
 * Bit values of the bitmask types whose flag lists nft prints as JSON arrays: `tcp flags`
 * (include/net/tcp.h), `ct state` (NF_CT_STATE_BIT), `ct status` (enum ip_conntrack_status).
 */
export const FLAG_BITS: Readonly<Record<string, Readonly<Record<string, number>>>> = {
  'tcp flags': { fin: 0x01, syn: 0x02, rst: 0x04, psh: 0x08, ack: 0x10, urg: 0x20, ecn: 0x40, cwr: 0x80 },
  'ct state': { invalid: 1, established: 2, related: 4, new: 8, untracked: 64 },
  'ct status': { expected: 1, 'seen-reply': 2, assured: 4, confirmed: 8, snat: 16, dnat: 32, dying: 512 },
};

// ---------------------------------------------------------------------------------------------
// Entry point

/** Parse `nft -j list ruleset` output into the ruleset IR. */
export function parseNftJson(text: string, file: string, opts: RulesetParseOpts): RulesetIR {
  let doc: J;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(file, '', `not valid JSON (${(e as Error).message}); expected the output of \`nft -j list ruleset\``);
  }
  if (!isObj(doc) || !Array.isArray(doc.nftables)) {
    throw new ConfigError(file, '', 'expected a JSON object {"nftables": [...]} as `nft -j list ruleset` prints it');
  }
  const items = doc.nftables as J[];
  const tables = new Map<string, TableIR>();
  const chains = new Map<string, ChainIR>();
  const out: RulesetIR = { tables: [] };

  const tableOf = (o: JObj, where: string): TableIR => {
    const fam = str(o.family, `${where}.family`, file);
    const tname = str(o.table, `${where}.table`, file);
    const t = tables.get(`${fam} ${tname}`);
    if (!t) throw new ConfigError(file, where, `table ${fam} ${tname} is not declared before its use`);
    return t;
  };

  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    const at = `[${i}]`;
    if (!isObj(item)) throw new ConfigError(file, at, 'expected an object');
    if ('table' in item) {
      const o = obj(item.table, `${at}.table`, file);
      const fam = str(o.family, `${at}.table.family`, file);
      if (!FAMILIES.has(fam)) throw new ConfigError(file, `${at}.table.family`, `family "${fam}" is not supported`);
      const name = str(o.name, `${at}.table.name`, file);
      const key = `${fam} ${name}`;
      if (tables.has(key)) throw new ConfigError(file, at, `table ${key} is listed twice`);
      const t: TableIR = { family: fam as Family, name, source: 'nft-json', file, chains: [], sets: [] };
      tables.set(key, t);
      out.tables.push(t);
    } else if ('chain' in item) {
      const o = obj(item.chain, `${at}.chain`, file);
      const t = tableOf(o, `${at}.chain`);
      const name = str(o.name, `${at}.chain.name`, file);
      const c: ChainIR = { name, base: parseBaseChain(o, `${at}.chain`, file), rules: [] };
      const key = `${t.family} ${t.name} ${name}`;
      if (chains.has(key)) throw new ConfigError(file, at, `chain ${name} of table ${t.family} ${t.name} is listed twice`);
      chains.set(key, c);
      t.chains.push(c);
    } else if ('set' in item || 'map' in item) {
      const isMap = 'map' in item;
      const where = `${at}.${isMap ? 'map' : 'set'}`;
      const o = obj(isMap ? item.map : item.set, where, file);
      const t = tableOf(o, where);
      try {
        t.sets.push(parseSetJson(o, isMap, where));
      } catch (e) {
        if (e instanceof UnsupportedError) throw new ConfigError(file, e.where, e.what);
        throw e;
      }
    } else if ('rule' in item) {
      const o = obj(item.rule, `${at}.rule`, file);
      const t = tableOf(o, `${at}.rule`);
      const cname = str(o.chain, `${at}.rule.chain`, file);
      const c = chains.get(`${t.family} ${t.name} ${cname}`);
      if (!c) throw new ConfigError(file, `${at}.rule.chain`, `chain ${cname} of table ${t.family} ${t.name} is not declared before its rules`);
      try {
        c.rules.push(parseRule(o, at, file));
      } catch (e) {
        if (!(e instanceof UnsupportedError)) throw e;
        if (!opts.allowUnsupported) throw new ConfigError(file, e.where, e.what);
        opts.warnings.push(`${file} ${e.where}: ${e.what}; rule ${t.family} ${t.name} ${cname} handle ${String(o.handle)} dropped`);
      }
    }
    // metainfo, named counters/quotas/limits, flowtables, ct helpers: nothing to model by themselves
    // (a rule that uses one is refused where it uses it).
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Tables, chains, sets

function parseBaseChain(o: JObj, where: string, file: string): BaseChainIR | null {
  if (o.hook === undefined && o.type === undefined) return null;
  const type = str(o.type, `${where}.type`, file);
  if (!CHAIN_TYPES.has(type)) throw new ConfigError(file, `${where}.type`, `chain type "${type}" is not supported`);
  const hook = str(o.hook, `${where}.hook`, file);
  if (!HOOKS.has(hook)) throw new ConfigError(file, `${where}.hook`, `hook "${hook}" is not supported`);
  const prio = num(o.prio, `${where}.prio`, file);
  const policy = o.policy === undefined ? 'accept' : str(o.policy, `${where}.policy`, file);
  if (policy !== 'accept' && policy !== 'drop') throw new ConfigError(file, `${where}.policy`, `policy "${policy}" is not supported`);
  // nft 1.0.6 omits the netdev device from JSON (observed); later versions print "dev" (string or list).
  let device: string | null = null;
  if (typeof o.dev === 'string') device = o.dev;
  else if (Array.isArray(o.dev) && typeof o.dev[0] === 'string') device = o.dev[0];
  return { type: type as BaseChainIR['type'], hook: hook as HookName, prio, policy, device };
}

function typeName(v: J, where: string): string {
  if (typeof v === 'string') return v;
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v.join(' . ');
  throw new UnsupportedError(where, 'expected a type name or a list of type names');
}

/** A set or map object as `nft -j` lists it (`{name, type, map?, flags?, elem?}`) → SetIR. */
export function parseSetJson(o: JObj, isMap: boolean, where: string): SetIR {
  const name = strU(o.name, `${where}.name`);
  const type = typeName(o.type, `${where}.type`);
  const map = isMap ? typeName(o.map, `${where}.map`) : null;
  let flags: string[] = [];
  if (typeof o.flags === 'string') flags = [o.flags];
  else if (Array.isArray(o.flags)) flags = o.flags.map((f, k) => strU(f, `${where}.flags[${k}]`));
  const elems: Value[] = [];
  const data: Array<Value | VerdictExpr> | null = isMap ? [] : null;
  const list = o.elem === undefined ? [] : o.elem;
  if (!Array.isArray(list)) throw new UnsupportedError(`${where}.elem`, 'expected a list');
  for (let k = 0; k < list.length; k++) {
    const e = list[k];
    const ew = `${where}.elem[${k}]`;
    if (isMap) {
      if (!Array.isArray(e) || e.length !== 2) throw new UnsupportedError(ew, 'expected a [key, data] pair');
      elems.push(parseValue(e[0], `${ew}[0]`));
      data!.push(map === 'verdict' ? parseVerdict(e[1], `${ew}[1]`) : parseValue(e[1], `${ew}[1]`));
    } else {
      elems.push(parseValue(e, ew));
    }
  }
  return { name, type, map, flags, elems, data };
}

// ---------------------------------------------------------------------------------------------
// Rules

function parseRule(o: JObj, at: string, file: string): RuleIR {
  const handle = num(o.handle, `${at}.rule.handle`, file);
  if (!Array.isArray(o.expr)) throw new ConfigError(file, `${at}.rule.expr`, 'expected a list of expressions');
  const exprs: ExprIR[] = [];
  const words: string[] = [];
  for (let k = 0; k < o.expr.length; k++) {
    const w = `${at}.rule.expr[${k}]`;
    exprs.push(parseStmt(o.expr[k], w));
    words.push(fmtStmt(o.expr[k]));
  }
  return { handle, text: words.filter((x) => x !== '').join(' '), origin: `${file} ${at}`, exprs };
}

/** The single key of an nft JSON expression object. */
function exprKey(j: J, where: string): [string, J] {
  if (!isObj(j)) throw new UnsupportedError(where, 'expected an expression object');
  const keys = Object.keys(j);
  if (keys.length !== 1) throw new UnsupportedError(where, `expected one expression, found keys ${JSON.stringify(keys)}`);
  return [keys[0]!, j[keys[0]!]];
}

/** One rule expression as `nft -j` lists it (`{"match": ...}`, `{"accept": null}`, ...) → ExprIR. */
export function parseStmt(j: J, w: string): ExprIR {
  const [k, v] = exprKey(j, w);
  switch (k) {
    case 'match':
      return parseMatch(v, `${w}.match`);
    case 'counter':
      return { op: 'counter' };
    case 'accept':
    case 'drop':
    case 'continue':
    case 'return':
    case 'jump':
    case 'goto':
    case 'queue':
      return parseVerdict(j, w);
    case 'reject':
      return parseReject(v, `${w}.reject`);
    case 'snat':
    case 'dnat':
    case 'masquerade':
    case 'redirect':
      return parseNat(k, v, `${w}.${k}`);
    case 'log': {
      const o = v === null ? {} : objU(v, `${w}.log`);
      return {
        op: 'log',
        prefix: o.prefix === undefined ? null : strU(o.prefix, `${w}.log.prefix`),
        level: o.level === undefined ? null : strU(o.level, `${w}.log.level`),
      };
    }
    case 'limit':
      return parseLimit(v, `${w}.limit`);
    case 'mangle':
      return parseMangle(v, `${w}.mangle`);
    case 'notrack':
      return { op: 'notrack' };
    case 'vmap': {
      const o = objU(v, `${w}.vmap`);
      const key = parseSelector(o.key, `${w}.vmap.key`);
      if (typeof o.data === 'string' && o.data.startsWith('@')) return { op: 'vmap', key, map: { ref: o.data.slice(1) } };
      const d = isObj(o.data) && Array.isArray(o.data.set) ? o.data.set : null;
      if (!d) throw new UnsupportedError(`${w}.vmap.data`, 'expected "@map" or {"set": [[key, verdict], ...]}');
      const pairs: Array<[Value, VerdictExpr]> = d.map((p, n) => {
        const pw = `${w}.vmap.data.set[${n}]`;
        if (!Array.isArray(p) || p.length !== 2) throw new UnsupportedError(pw, 'expected a [key, verdict] pair');
        return [parseValue(p[0], `${pw}[0]`), parseVerdict(p[1], `${pw}[1]`)];
      });
      return { op: 'vmap', key, map: pairs };
    }
    case 'set': {
      const o = objU(v, `${w}.set`);
      const verb = strU(o.op, `${w}.set.op`);
      if (verb !== 'add' && verb !== 'update' && verb !== 'delete') throw new UnsupportedError(`${w}.set.op`, `set operation "${verb}" is not supported`);
      const set = strU(o.set, `${w}.set.set`);
      let elem = o.elem;
      // `add @s { ip saddr timeout 10s }` wraps the key: {"elem": {"val": key, "timeout": 10}}.
      if (isObj(elem) && isObj(elem.elem)) elem = elem.elem.val;
      return { op: 'setupdate', verb, set: set.startsWith('@') ? set.slice(1) : set, key: parseSelector(elem, `${w}.set.elem`) };
    }
    case 'xt': {
      const o = objU(v, `${w}.xt`);
      const type = strU(o.type, `${w}.xt.type`);
      if (type !== 'match' && type !== 'target') throw new UnsupportedError(`${w}.xt.type`, `xt type "${type}" is not supported`);
      return { op: 'xt', type, name: strU(o.name, `${w}.xt.name`) };
    }
    default:
      throw new UnsupportedError(w, `${STATEMENTS.has(k) ? 'statement' : 'expression'} "${k}" is not supported`);
  }
}

/** Statement keys of the nft JSON schema the model does not evaluate (for the error wording). */
const STATEMENTS: ReadonlySet<string> = new Set([
  'dup', 'fwd', 'tproxy', 'synproxy', 'flow', 'quota', 'ct helper', 'ct timeout', 'ct expectation',
  'secmark', 'meter', 'map', 'last', 'ct count',
]);

function parseVerdict(j: J, w: string): VerdictExpr {
  const [k, v] = exprKey(j, w);
  if (SIMPLE_VERDICTS.has(k)) return { op: 'verdict', verdict: k as VerdictExpr['verdict'], target: null };
  if (k === 'jump' || k === 'goto') {
    const o = objU(v, `${w}.${k}`);
    return { op: 'verdict', verdict: k, target: strU(o.target, `${w}.${k}.target`) };
  }
  if (k === 'queue') {
    // Without a userspace listener (offline) a queued packet is dropped, unless "bypass" lets it go on.
    const o = v === null ? {} : objU(v, `${w}.queue`);
    const flags = o.flags === undefined ? [] : Array.isArray(o.flags) ? o.flags : [o.flags];
    if (flags.includes('bypass')) throw new UnsupportedError(`${w}.queue`, 'queue with "bypass" is not supported (no userspace queue in the model)');
    return { op: 'verdict', verdict: 'queue', target: null };
  }
  throw new UnsupportedError(w, `verdict "${k}" is not supported`);
}

function parseReject(v: J, w: string): RejectExpr {
  if (v === null) return { op: 'reject', type: null, code: null };
  const o = objU(v, w);
  let type: RejectExpr['type'] = null;
  if (o.type !== undefined) {
    const t = strU(o.type, `${w}.type`);
    if (!REJECT_TYPES.has(t)) throw new UnsupportedError(`${w}.type`, `reject type "${t}" is not supported`);
    type = t as RejectExpr['type'];
  }
  const code = o.expr === undefined ? null : strU(o.expr, `${w}.expr`);
  return { op: 'reject', type, code };
}

function parseNat(kind: NatExpr['kind'], v: J, w: string): NatExpr {
  const o = v === null ? {} : objU(v, w);
  let family: NatExpr['family'] = null;
  if (o.family !== undefined) {
    const f = strU(o.family, `${w}.family`);
    if (f !== 'ip' && f !== 'ip6') throw new UnsupportedError(`${w}.family`, `NAT family "${f}" is not supported`);
    family = f;
  }
  let addr: NatAddr | null = null;
  if (o.addr !== undefined) {
    const a = o.addr;
    if (typeof a === 'string') addr = { addr: a };
    else if (isObj(a) && Array.isArray(a.range) && a.range.length === 2) addr = { range: [strU(a.range[0], `${w}.addr.range[0]`), strU(a.range[1], `${w}.addr.range[1]`)] };
    else if (isObj(a) && isObj(a.map)) addr = { map: parseMapLookup(a.map, `${w}.addr.map`) };
    else if (isObj(a) && isObj(a.prefix)) {
      const p = parsePrefix(a.prefix, `${w}.addr.prefix`);
      addr = { range: prefixRange(p.addr, p.len, `${w}.addr.prefix`) };
    } else throw new UnsupportedError(`${w}.addr`, 'NAT address must be an address, a range or a map lookup');
  }
  let port: NatPort | null = null;
  if (o.port !== undefined) {
    const p = o.port;
    if (typeof p === 'number') port = { range: [p, p] };
    else if (isObj(p) && Array.isArray(p.range) && p.range.length === 2) port = { range: [numU(p.range[0], `${w}.port.range[0]`), numU(p.range[1], `${w}.port.range[1]`)] };
    else if (isObj(p) && isObj(p.map)) port = { map: parseMapLookup(p.map, `${w}.port.map`) };
    else throw new UnsupportedError(`${w}.port`, 'NAT port must be a number, a range or a map lookup');
  }
  const flags: string[] = [];
  const fl = o.flags === undefined ? [] : Array.isArray(o.flags) ? o.flags : [o.flags];
  for (const f of fl) {
    const s = strU(f, `${w}.flags`);
    if (!NAT_FLAGS.has(s)) throw new UnsupportedError(`${w}.flags`, `NAT flag "${s}" is not supported`);
    flags.push(s);
  }
  return { op: 'nat', kind, family, addr, port, flags };
}

/** `{"key": selector, "data": "@map" | {"set": [[k, v], ...]}}` → NAT map lookup. */
function parseMapLookup(m: JObj, w: string): { key: Selector; data: Value } {
  const key = parseSelector(m.key, `${w}.key`);
  const d = m.data;
  if (typeof d === 'string' && d.startsWith('@')) return { key, data: { ref: d.slice(1) } };
  if (isObj(d) && Array.isArray(d.set)) {
    const pairs: Array<[Value, Value]> = d.set.map((p, n) => {
      const pw = `${w}.data.set[${n}]`;
      if (!Array.isArray(p) || p.length !== 2) throw new UnsupportedError(pw, 'expected a [key, data] pair');
      return [parseValue(p[0], `${pw}[0]`), parseValue(p[1], `${pw}[1]`)];
    });
    return { key, data: { map: pairs } };
  }
  throw new UnsupportedError(`${w}.data`, 'expected "@map" or {"set": [[key, data], ...]}');
}

/** Multipliers of nft's byte rate units (nft uses powers of 1024: `1 mbytes/second`). */
const BYTE_UNITS: Readonly<Record<string, number>> = { bytes: 1, kbytes: 1024, mbytes: 1024 * 1024 };

function parseLimit(v: J, w: string): LimitExpr {
  const o = objU(v, w);
  const rate = numU(o.rate, `${w}.rate`);
  const per = o.per === undefined ? 'second' : strU(o.per, `${w}.per`);
  if (!LIMIT_PER.has(per)) throw new UnsupportedError(`${w}.per`, `limit unit "${per}" is not supported`);
  const rateUnit = o.rate_unit === undefined ? 'packets' : strU(o.rate_unit, `${w}.rate_unit`);
  let burst = o.burst === undefined ? (rateUnit === 'packets' ? 5 : 0) : numU(o.burst, `${w}.burst`);
  if (rateUnit === 'packets') {
    return { op: 'limit', rate, per: per as LimitExpr['per'], burst, unit: 'packets', inv: o.inv === true };
  }
  const rm = BYTE_UNITS[rateUnit];
  if (rm === undefined) throw new UnsupportedError(`${w}.rate_unit`, `limit rate unit "${rateUnit}" is not supported`);
  const burstUnit = o.burst_unit === undefined ? 'bytes' : strU(o.burst_unit, `${w}.burst_unit`);
  const bm = BYTE_UNITS[burstUnit];
  if (bm === undefined) throw new UnsupportedError(`${w}.burst_unit`, `limit burst unit "${burstUnit}" is not supported`);
  burst *= bm;
  return { op: 'limit', rate: rate * rm, per: per as LimitExpr['per'], burst, unit: 'bytes', inv: o.inv === true };
}

/** Keys a mangle statement may set (the model keeps no other writable metadata). */
function mangleKey(sel: Selector, w: string): MetaSel | CtSel {
  if (sel.kind === 'meta' && (sel.key === 'mark' || sel.key === 'priority' || sel.key === 'nftrace')) return sel;
  if (sel.kind === 'ct' && sel.key === 'mark' && sel.dir === null) return sel;
  throw new UnsupportedError(w, `setting ${fmtSelIR(sel)} is not supported (only meta mark, meta priority, meta nftrace and ct mark)`);
}

function parseMangle(v: J, w: string): MangleExpr {
  const o = objU(v, w);
  const key = mangleKey(parseSelector(o.key, `${w}.key`), `${w}.key`);
  const val = o.value;
  if (typeof val === 'number') return { op: 'mangle', key, from: null, and: 0, xor: val >>> 0 };
  if (typeof val === 'string') {
    if (key.kind === 'meta' && key.key === 'priority') return { op: 'mangle', key, from: null, and: 0, xor: parseTcHandle(val, `${w}.value`) };
    throw new UnsupportedError(`${w}.value`, `value "${val}" for ${fmtSelIR(key)} is not supported`);
  }
  if (isObj(val) && 'map' in val) throw new UnsupportedError(`${w}.value`, `setting ${fmtSelIR(key)} from a map lookup is not supported`);
  const s = parseSelector(val, `${w}.value`);
  let from: Selector = s;
  let and = U32;
  let xor = 0;
  if (s.kind === 'bitwise') {
    from = s.sel;
    and = s.mask;
    xor = s.xor;
  }
  return { op: 'mangle', key, from: sameSel(from, key) ? null : from, and, xor };
}

/** tc class handle `maj:min` (hex, as tc prints it) → u32; `none` → 0, `root` → 0xffffffff. */
function parseTcHandle(s: string, w: string): number {
  if (s === 'none') return 0;
  if (s === 'root') return U32;
  const m = /^([0-9a-fA-F]{1,4}):([0-9a-fA-F]{0,4})$/.exec(s);
  if (!m) throw new UnsupportedError(w, `priority "${s}" is not a tc class handle (maj:min)`);
  return ((parseInt(m[1]!, 16) << 16) | (m[2] ? parseInt(m[2], 16) : 0)) >>> 0;
}

// ---------------------------------------------------------------------------------------------
// Matches, selectors, values

function parseMatch(v: J, w: string): MatchExpr {
  const o = objU(v, w);
  const op = o.op === undefined ? '==' : strU(o.op, `${w}.op`);
  if (!CMP_OPS.has(op) && op !== '!') throw new UnsupportedError(`${w}.op`, `operator "${op}" is not supported`);
  const left = parseSelector(o.left, `${w}.left`);
  let r = o.right;
  // `ct state != established | related` lists its value as {"|": [a, b]}: one OR'd bitmask value.
  if (isObj(r) && Array.isArray(r['|'])) r = flattenOr(r, `${w}.right`);
  if (op === '!') {
    // `tcp flags ! syn,ack`: none of these bits is set, i.e. (sel & bits) == 0.
    const bits = Array.isArray(r) ? flagsValue(left, r, `${w}.right`) : maskValue(left, r, `${w}.right`);
    return { op: 'match', left: { kind: 'bitwise', sel: left, mask: bits, xor: 0 }, cmp: '==', right: 0 };
  }
  let cmp = op as CmpOp;
  let right: Value;
  if (typeof r === 'boolean') {
    // fib ... oif exists / missing: a route lookup result of ifindex 0 means "no route".
    if (!(left.kind === 'fib' && left.result === 'oif')) throw new UnsupportedError(`${w}.right`, 'a boolean is only supported for fib oif (exists/missing)');
    const isEq = cmp === '==' || cmp === 'in';
    if (!isEq && cmp !== '!=') throw new UnsupportedError(`${w}.op`, `operator "${op}" with exists/missing is not supported`);
    cmp = isEq === r ? '!=' : '==';
    right = 0;
  } else if (Array.isArray(r)) {
    // A bare list is a bitmask value: `ct state established,related` ('in': any of these bits),
    // `tcp flags == syn|ack` ('==': exactly these bits).
    if (cmp === 'in') right = { set: r.map((x, n) => parseValue(x, `${w}.right[${n}]`)) };
    else right = flagsValue(left, r, `${w}.right`);
  } else {
    right = parseValue(r, `${w}.right`);
  }
  return canonicalMatch({ op: 'match', left, cmp, right });
}

/**
 * The forms nft itself folds when it loads a rule, so that text and JSON of one rule give one IR:
 * `(sel & m) ^ x == v` → `sel & m == v ^ x`; `ip saddr & 255.255.0.0 == 10.1.0.0` → `10.1.0.0/16`.
 */
function canonicalMatch(e: MatchExpr): MatchExpr {
  const l = e.left;
  if (l.kind !== 'bitwise' || (e.cmp !== '==' && e.cmp !== '!=')) return e;
  if (l.xor !== 0 && typeof e.right === 'number') {
    return { op: 'match', left: { ...l, xor: 0 }, cmp: e.cmp, right: (e.right ^ l.xor) >>> 0 };
  }
  if (l.xor === 0 && l.sel.kind === 'payload' && l.sel.proto === 'ip' && (l.sel.field === 'saddr' || l.sel.field === 'daddr') && typeof e.right === 'string') {
    const inv = ~l.mask >>> 0;
    const a = ipv4ToU32(e.right);
    if ((inv & (inv + 1)) === 0 && a !== null && (a & inv) === 0) {
      const len = 32 - Math.log2(inv + 1);
      return { op: 'match', left: l.sel, cmp: e.cmp, right: len === 32 ? e.right : { prefix: { addr: e.right, len } } };
    }
  }
  return e;
}

/** `{"|": [a, {"|": [b, c]}]}` → [a, b, c]. */
function flattenOr(j: J, w: string): J[] {
  if (isObj(j) && Array.isArray(j['|']) && j['|'].length === 2) return [...flattenOr(j['|'][0], w), ...flattenOr(j['|'][1], w)];
  if (Array.isArray(j)) return j;
  if (typeof j === 'string' || typeof j === 'number') return [j];
  throw new UnsupportedError(w, 'expected flag names joined by "|"');
}

/** Which FLAG_BITS table a selector's flag names belong to, or null. */
function flagTable(sel: Selector): Readonly<Record<string, number>> | null {
  if (sel.kind === 'bitwise') return flagTable(sel.sel);
  if (sel.kind === 'payload' && sel.proto === 'tcp' && sel.field === 'flags') return FLAG_BITS['tcp flags']!;
  if (sel.kind === 'ct' && (sel.key === 'state' || sel.key === 'status')) return FLAG_BITS[`ct ${sel.key}`]!;
  return null;
}

/** A flag name list ORed into its numeric value. */
function flagsValue(sel: Selector, list: J[], w: string): number {
  const table = flagTable(sel);
  if (!table) throw new UnsupportedError(w, `a flag list is not supported for ${fmtSelIR(sel)}`);
  let v = 0;
  for (const f of list) {
    if (typeof f === 'number') v |= f;
    else if (typeof f === 'string' && table[f] !== undefined) v |= table[f]!;
    else throw new UnsupportedError(w, `unknown flag ${JSON.stringify(f)} for ${fmtSelIR(sel)}`);
  }
  return v >>> 0;
}

/** A bitwise operand: number, flag list, flag name or IPv4 mask. */
function maskValue(sel: Selector, j: J, w: string): number {
  if (typeof j === 'number') return j >>> 0;
  if (Array.isArray(j)) return flagsValue(sel, j, w);
  if (typeof j === 'string') {
    const table = flagTable(sel);
    if (table && table[j] !== undefined) return table[j]!;
    const n = ipv4ToU32(j);
    if (n !== null) return n;
    throw new UnsupportedError(w, `bitwise operand "${j}" is not supported (numbers, flags and IPv4 masks only)`);
  }
  throw new UnsupportedError(w, 'bitwise operand must be a number');
}

/** Parse an nft JSON expression used as a selector (match left side, map key, mangle value). */
export function parseSelector(j: J, w: string): Selector {
  const [k, v] = exprKey(j, w);
  switch (k) {
    case 'payload': {
      const o = objU(v, `${w}.payload`);
      if (o.protocol === undefined) throw new UnsupportedError(`${w}.payload`, 'raw payload expressions (base/offset/len) are not supported');
      return { kind: 'payload', proto: strU(o.protocol, `${w}.payload.protocol`), field: strU(o.field, `${w}.payload.field`) };
    }
    case 'meta':
      return { kind: 'meta', key: strU(objU(v, `${w}.meta`).key, `${w}.meta.key`) };
    case 'ct': {
      const o = objU(v, `${w}.ct`);
      let key = strU(o.key, `${w}.ct.key`);
      // `ct original ip saddr` lists its key as "ip saddr"; the address family shows in the value.
      const sp = key.indexOf(' ');
      if (sp > 0 && (key.startsWith('ip ') || key.startsWith('ip6 '))) key = key.slice(sp + 1);
      let dir: CtSel['dir'] = null;
      if (o.dir !== undefined) {
        const d = strU(o.dir, `${w}.ct.dir`);
        if (d !== 'original' && d !== 'reply') throw new UnsupportedError(`${w}.ct.dir`, `ct direction "${d}" is not supported`);
        dir = d;
      }
      return { kind: 'ct', key, dir };
    }
    case 'fib': {
      const o = objU(v, `${w}.fib`);
      const result = strU(o.result, `${w}.fib.result`);
      if (!FIB_RESULTS.has(result)) throw new UnsupportedError(`${w}.fib.result`, `fib result "${result}" is not supported`);
      const fl = o.flags === undefined ? [] : Array.isArray(o.flags) ? o.flags : [o.flags];
      return { kind: 'fib', flags: fl.map((f) => strU(f, `${w}.fib.flags`)), result: result as 'oif' | 'oifname' | 'type' };
    }
    case 'numgen': {
      const o = objU(v, `${w}.numgen`);
      const mode = strU(o.mode, `${w}.numgen.mode`);
      if (mode !== 'random' && mode !== 'inc') throw new UnsupportedError(`${w}.numgen.mode`, `numgen mode "${mode}" is not supported`);
      return { kind: 'numgen', mode, mod: numU(o.mod, `${w}.numgen.mod`), offset: o.offset === undefined ? 0 : numU(o.offset, `${w}.numgen.offset`) };
    }
    case 'concat': {
      if (!Array.isArray(v)) throw new UnsupportedError(`${w}.concat`, 'expected a list');
      return { kind: 'concat', parts: v.map((p, n) => parseSelector(p, `${w}.concat[${n}]`)) };
    }
    case '&':
    case '|':
    case '^': {
      if (!Array.isArray(v) || v.length !== 2) throw new UnsupportedError(`${w}.${k}`, 'expected [expression, value]');
      const inner = parseSelector(v[0], `${w}.${k}[0]`);
      const base: BitwiseSel = inner.kind === 'bitwise' ? inner : { kind: 'bitwise', sel: inner, mask: U32, xor: 0 };
      const x = maskValue(base.sel, v[1], `${w}.${k}[1]`);
      // (s & M) ^ X, then: & m → (s & M&m) ^ (X&m); | x → (s & M&~x) ^ (X&~x | x); ^ x → (s & M) ^ (X^x).
      if (k === '&') return { kind: 'bitwise', sel: base.sel, mask: (base.mask & x) >>> 0, xor: (base.xor & x) >>> 0 };
      if (k === '|') return { kind: 'bitwise', sel: base.sel, mask: (base.mask & ~x) >>> 0, xor: ((base.xor & ~x) | x) >>> 0 };
      return { kind: 'bitwise', sel: base.sel, mask: base.mask, xor: (base.xor ^ x) >>> 0 };
    }
    default:
      throw new UnsupportedError(w, `expression "${k}" is not supported`);
  }
}

function parsePrefix(p: JObj, w: string): { addr: string; len: number } {
  return { addr: strU(p.addr, `${w}.addr`), len: numU(p.len, `${w}.len`) };
}

/** Parse an nft JSON constant: number, string, `@set`, prefix, range, set, concat, elem wrapper. */
export function parseValue(j: J, w: string): Value {
  if (typeof j === 'number') return j;
  if (typeof j === 'string') return j.startsWith('@') ? { ref: j.slice(1) } : j;
  if (Array.isArray(j)) return { set: j.map((x, n) => parseValue(x, `${w}[${n}]`)) };
  if (isObj(j)) {
    const keys = Object.keys(j);
    if (keys.length === 1) {
      const k = keys[0]!;
      const v = j[k];
      if (k === 'prefix') return { prefix: parsePrefix(objU(v, `${w}.prefix`), `${w}.prefix`) };
      if (k === 'range') {
        if (!Array.isArray(v) || v.length !== 2) throw new UnsupportedError(`${w}.range`, 'expected [low, high]');
        return { range: [scalar(v[0], `${w}.range[0]`), scalar(v[1], `${w}.range[1]`)] };
      }
      if (k === 'set') {
        if (!Array.isArray(v)) return { set: [parseValue(v, `${w}.set`)] };
        return { set: v.map((x, n) => parseValue(x, `${w}.set[${n}]`)) };
      }
      if (k === 'concat') {
        if (!Array.isArray(v)) throw new UnsupportedError(`${w}.concat`, 'expected a list');
        return { concat: v.map((x, n) => parseValue(x, `${w}.concat[${n}]`)) };
      }
      // Set element with attributes (timeout, expires, comment, counter): only the value matters here.
      if (k === 'elem') return parseValue(objU(v, `${w}.elem`).val, `${w}.elem.val`);
      throw new UnsupportedError(w, `value "${k}" is not supported`);
    }
  }
  throw new UnsupportedError(w, `value ${JSON.stringify(j)} is not supported`);
}

function scalar(j: J, w: string): number | string {
  if (typeof j === 'number' || typeof j === 'string') return j;
  throw new UnsupportedError(w, 'expected a number or a string');
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function isObj(j: J): j is JObj {
  return typeof j === 'object' && j !== null && !Array.isArray(j);
}
function obj(j: J, where: string, file: string): JObj {
  if (!isObj(j)) throw new ConfigError(file, where, 'expected an object');
  return j;
}
function str(j: J, where: string, file: string): string {
  if (typeof j !== 'string') throw new ConfigError(file, where, `expected a string, found ${JSON.stringify(j)}`);
  return j;
}
function num(j: J, where: string, file: string): number {
  if (typeof j !== 'number') throw new ConfigError(file, where, `expected a number, found ${JSON.stringify(j)}`);
  return j;
}
function objU(j: J, where: string): JObj {
  if (!isObj(j)) throw new UnsupportedError(where, 'expected an object');
  return j;
}
function strU(j: J, where: string): string {
  if (typeof j !== 'string') throw new UnsupportedError(where, `expected a string, found ${JSON.stringify(j)}`);
  return j;
}
function numU(j: J, where: string): number {
  if (typeof j !== 'number') throw new UnsupportedError(where, `expected a number, found ${JSON.stringify(j)}`);
  return j;
}

/** Dotted IPv4 → u32, or null. */
export function ipv4ToU32(s: string): number | null {
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

/** u32 → dotted IPv4. */
export function u32ToIpv4(v: number): string {
  return `${v >>> 24}.${(v >>> 16) & 255}.${(v >>> 8) & 255}.${v & 255}`;
}

/** First and last address of an IPv4 prefix (IPv6 NAT prefixes are refused). */
function prefixRange(addr: string, len: number, w: string): [string, string] {
  const a = ipv4ToU32(addr);
  if (a === null || len < 0 || len > 32) throw new UnsupportedError(w, `NAT prefix ${addr}/${len} is not supported (IPv4 only)`);
  const mask = len === 0 ? 0 : (U32 << (32 - len)) >>> 0;
  return [u32ToIpv4((a & mask) >>> 0), u32ToIpv4(((a & mask) | (~mask >>> 0)) >>> 0)];
}

function sameSel(a: Selector, b: Selector): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

// ---------------------------------------------------------------------------------------------
// Text: the rule as `nft list ruleset` prints it (close enough for a person reading a trace).

/** meta keys nft prints without the `meta` keyword. */
const UNQUALIFIED_META: ReadonlySet<string> = new Set(['iif', 'oif', 'iifname', 'oifname', 'iifgroup', 'oifgroup']);
/** meta keys whose values are strings nft prints in quotes. */
const QUOTED_META: ReadonlySet<string> = new Set(['iif', 'oif', 'iifname', 'oifname', 'ibrname', 'obrname', 'ibrport', 'obrport']);

/** Format an IR selector as nft spells it. */
export function fmtSelIR(s: Selector): string {
  switch (s.kind) {
    case 'payload':
      return `${s.proto} ${s.field}`;
    case 'meta':
      return UNQUALIFIED_META.has(s.key) ? s.key : `meta ${s.key}`;
    case 'ct':
      return s.dir ? `ct ${s.dir} ${s.key}` : `ct ${s.key}`;
    case 'fib':
      return `fib ${s.flags.join(' . ')} ${s.result}`;
    case 'numgen':
      return `numgen ${s.mode} mod ${s.mod}${s.offset ? ` offset ${s.offset}` : ''}`;
    case 'concat':
      return s.parts.map(fmtSelIR).join(' . ');
    case 'bitwise': {
      const inner = fmtSelIR(s.sel);
      const m = s.mask === U32 ? '' : ` & ${hex(s.mask)}`;
      const x = s.xor === 0 ? '' : ` ^ ${hex(s.xor)}`;
      return `${inner}${m}${x}`;
    }
  }
}

function hex(n: number): string {
  return `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
}

function isMarkSel(j: J): boolean {
  if (!isObj(j)) return false;
  if (isObj(j.meta)) return j.meta.key === 'mark';
  if (isObj(j.ct)) return j.ct.key === 'mark';
  const b = j['&'] ?? j['|'] ?? j['^'];
  return Array.isArray(b) && isMarkSel(b[0]);
}

function isQuotedSel(j: J): boolean {
  if (!isObj(j)) return false;
  if (isObj(j.meta)) return QUOTED_META.has(String(j.meta.key));
  if (isObj(j.fib)) return j.fib.result === 'oifname';
  return false;
}

function fmtSel(j: J): string {
  if (!isObj(j)) return String(j);
  const [k, v] = [Object.keys(j)[0]!, Object.values(j)[0]];
  const o = (isObj(v) ? v : {}) as JObj;
  switch (k) {
    case 'payload':
      return `${String(o.protocol)} ${String(o.field)}`;
    case 'meta':
      return UNQUALIFIED_META.has(String(o.key)) ? String(o.key) : `meta ${String(o.key)}`;
    case 'ct':
      return `ct ${o.dir ? `${String(o.dir)} ` : ''}${String(o.key)}`;
    case 'fib': {
      const fl = Array.isArray(o.flags) ? o.flags : [o.flags];
      return `fib ${fl.join(' . ')} ${String(o.result)}`;
    }
    case 'numgen':
      return `numgen ${String(o.mode)} mod ${String(o.mod)}${o.offset ? ` offset ${String(o.offset)}` : ''}`;
    case 'concat':
      return (v as J[]).map(fmtSel).join(' . ');
    case '&':
    case '|':
    case '^': {
      const [a, b] = v as [J, J];
      const mark = isMarkSel(a);
      const rhs = Array.isArray(b) ? `(${b.join('|')})` : fmtVal(b, mark, false);
      return `${fmtSel(a)} ${k} ${rhs}`;
    }
    case 'map': {
      const m = o;
      return `${fmtSel(m.key)} map ${fmtVal(m.data, false, false)}`;
    }
    default:
      return k;
  }
}

function fmtVal(j: J, mark: boolean, quote: boolean): string {
  if (typeof j === 'number') return mark ? hex(j) : String(j);
  if (typeof j === 'string') return quote && !j.startsWith('@') ? JSON.stringify(j) : j;
  if (typeof j === 'boolean') return j ? 'exists' : 'missing';
  if (Array.isArray(j)) {
    if (j.length === 2 && !j.every((x) => typeof x === 'string')) return `${fmtVal(j[0], false, quote)} : ${fmtVerdictOrVal(j[1])}`;
    return j.map((x) => fmtVal(x, mark, quote)).join(',');
  }
  if (isObj(j)) {
    const k = Object.keys(j)[0]!;
    const v = j[k];
    if (k === 'prefix' && isObj(v)) return `${String(v.addr)}/${String(v.len)}`;
    if (k === 'range' && Array.isArray(v)) return `${fmtVal(v[0], mark, quote)}-${fmtVal(v[1], mark, quote)}`;
    if (k === 'set' && Array.isArray(v)) return `{ ${v.map((x) => fmtVal(x, mark, quote)).join(', ')} }`;
    if (k === 'concat' && Array.isArray(v)) return v.map((x) => fmtVal(x, false, quote)).join(' . ');
    if (k === 'elem' && isObj(v)) return fmtVal(v.val, mark, quote);
    return fmtSel(j);
  }
  return String(j);
}

function fmtVerdictOrVal(j: J): string {
  if (isObj(j)) {
    const k = Object.keys(j)[0]!;
    if (SIMPLE_VERDICTS.has(k) || k === 'queue') return k;
    if ((k === 'jump' || k === 'goto') && isObj(j[k])) return `${k} ${String((j[k] as JObj).target)}`;
  }
  return fmtVal(j, false, false);
}

function fmtPortRange(p: J): string {
  if (isObj(p) && Array.isArray(p.range)) return `${String(p.range[0])}-${String(p.range[1])}`;
  if (isObj(p) && isObj(p.map)) return fmtSel(p);
  return String(p);
}

function fmtStmt(j: J): string {
  const k = Object.keys(j as JObj)[0]!;
  const v = (j as JObj)[k];
  const o = (isObj(v) ? v : {}) as JObj;
  switch (k) {
    case 'match': {
      const mark = isMarkSel(o.left);
      const quote = isQuotedSel(o.left);
      // nft elides `==` except after a bitwise expression (`meta mark & 0x00004000 == 0x00004000`).
      const bitwise = isObj(o.left) && ('&' in o.left || '|' in o.left || '^' in o.left);
      const op = o.op === 'in' || ((o.op === '==' || o.op === undefined) && !bitwise) ? '' : `${String(o.op ?? '==')} `;
      if (isObj(o.right) && '|' in o.right) return `${fmtSel(o.left)} ${op}${fmtSel(o.right)}`;
      return `${fmtSel(o.left)} ${op}${fmtVal(o.right, mark, quote)}`;
    }
    case 'counter':
      return 'counter';
    case 'accept':
    case 'drop':
    case 'continue':
    case 'return':
    case 'notrack':
      return k;
    case 'jump':
    case 'goto':
      return `${k} ${String(o.target)}`;
    case 'queue':
      return `queue${o.num !== undefined ? ` num ${fmtVal(o.num, false, false)}` : ''}`;
    case 'reject': {
      if (v === null || o.expr === 'port-unreachable') return 'reject';
      if (o.type === 'tcp reset') return 'reject with tcp reset';
      return `reject with ${String(o.type)}${o.expr !== undefined ? ` ${String(o.expr)}` : ''}`;
    }
    case 'snat':
    case 'dnat':
    case 'masquerade':
    case 'redirect': {
      let s = k;
      if (o.family) s += ` ${String(o.family)}`;
      if (o.type_flags === 'prefix') s += ' prefix';
      const six = o.family === 'ip6' || (typeof o.addr === 'string' && o.addr.includes(':'));
      let to = '';
      if (o.addr !== undefined) {
        const a = o.addr;
        let as = typeof a === 'string' ? a : isObj(a) && isObj(a.map) ? fmtSel(a) : fmtVal(a, false, false);
        if (six && o.port !== undefined && typeof a === 'string') as = `[${as}]`;
        to += as;
      }
      if (o.port !== undefined) to += `:${fmtPortRange(o.port)}`;
      if (to) s += ` to ${to}`;
      // `snat ip prefix to ...` implies netmap; nft does not print the flag.
      const fl = (o.flags === undefined ? [] : Array.isArray(o.flags) ? o.flags : [o.flags]).filter((f) => !(f === 'netmap' && o.type_flags === 'prefix'));
      if (fl.length) s += ` ${fl.join(',')}`;
      return s;
    }
    case 'log': {
      let s = 'log';
      if (o.prefix !== undefined) s += ` prefix ${JSON.stringify(o.prefix)}`;
      if (o.level !== undefined) s += ` level ${String(o.level)}`;
      if (o.group !== undefined) s += ` group ${String(o.group)}`;
      if (o.flags !== undefined) s += ` flags ${Array.isArray(o.flags) ? o.flags.join(',') : String(o.flags)}`;
      return s;
    }
    case 'limit': {
      const unit = o.rate_unit && o.rate_unit !== 'packets' ? ` ${String(o.rate_unit)}` : '';
      let s = `limit rate ${o.inv ? 'over ' : ''}${String(o.rate)}${unit}/${String(o.per ?? 'second')}`;
      if (o.burst !== undefined && o.burst !== 5 && o.burst !== 0) s += ` burst ${String(o.burst)} ${String(o.burst_unit ?? 'packets')}`;
      return s;
    }
    case 'mangle': {
      const mark = isMarkSel(o.key);
      const val = isObj(o.value) ? fmtSel(o.value) : fmtVal(o.value, mark, false);
      return `${fmtSel(o.key)} set ${val}`;
    }
    case 'vmap':
      return `${fmtSel(o.key)} vmap ${typeof o.data === 'string' ? o.data : fmtVal(o.data, false, false)}`;
    case 'set': {
      let e = o.elem;
      let extra = '';
      if (isObj(e) && isObj(e.elem)) {
        if (e.elem.timeout !== undefined) extra = ` timeout ${String(e.elem.timeout)}s`;
        e = e.elem.val;
      }
      return `${String(o.op)} ${String(o.set)} { ${fmtSel(e)}${extra} }`;
    }
    case 'xt':
      return `xt ${String(o.type)} ${String(o.name)}`;
    default:
      return k;
  }
}
