/**
 * nft ruleset text (what `nft list ruleset` prints, and what a user writes in a lab file for
 * `nft -f`) → RulesetIR.
 *
 * The text is turned into the JSON objects `nft -j list ruleset` would print for it, and those go
 * through the same code as nft.json (nft_json.ts): one place decides what each construct means, and
 * a ruleset reads the same from either form (tests/netfilter/parse_nft_text.test.ts checks this
 * against the real nft). What nft itself does while parsing is done here too: named priorities,
 * implicit operators (`ct state new` is a bitmask test, `tcp dport 22` an equality), the default
 * reject type of each family.
 *
 * Supported: `table` blocks with `chain`, `set` and `map` blocks; `flush ruleset`; `define` /
 * `$var`; the `add|create|insert table|chain|rule|set|map|element` commands; `# handle N` comments
 * (from `nft -a list ruleset`) give rule handles, otherwise a rule's handle is its 1-based number in
 * its chain. Errors name the line and column.
 */

import { ConfigError } from '../../errors.js';
import type { BaseChainIR, ChainIR, ExprIR, Family, HookName, RuleIR, RulesetIR, TableIR } from './ir.js';
import { type RulesetParseOpts, UnsupportedError, parseSetJson, parseStmt } from './nft_json.js';

type J = unknown;
type JObj = Record<string, J>;

// ---------------------------------------------------------------------------------------------
// Tokens

type TokKind = 'word' | 'str' | 'nl' | 'semi' | '{' | '}' | '(' | ')' | ',' | '=' | 'op' | 'handle' | 'eof';

interface Tok {
  k: TokKind;
  v: string;
  line: number;
  col: number;
  /** Offsets in the source, for a rule's text. */
  start: number;
  end: number;
}

const WORD_STOP = new Set([' ', '\t', '\r', '\n', '{', '}', '(', ')', ',', ';', '=', '"', '#', '&', '|', '^', '<', '>', '!']);

function tokenize(src: string, file: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const n = src.length;
  const push = (k: TokKind, v: string, s: number, e: number): void => {
    out.push({ k, v, line, col: s - lineStart + 1, start: s, end: e });
  };
  while (i < n) {
    const c = src[i]!;
    if (c === ' ' || c === '\t' || c === '\r') {
      i++;
      continue;
    }
    if (c === '\\' && (src[i + 1] === '\n' || (src[i + 1] === '\r' && src[i + 2] === '\n'))) {
      i += src[i + 1] === '\n' ? 2 : 3;
      line++;
      lineStart = i;
      continue;
    }
    if (c === '\n') {
      push('nl', '\n', i, i + 1);
      i++;
      line++;
      lineStart = i;
      continue;
    }
    if (c === '#') {
      let j = i;
      while (j < n && src[j] !== '\n') j++;
      const m = /^#\s*handle\s+(\d+)\s*$/.exec(src.slice(i, j));
      if (m) push('handle', m[1]!, i, j);
      i = j;
      continue;
    }
    if (c === '"') {
      let j = i + 1;
      let v = '';
      while (j < n && src[j] !== '"' && src[j] !== '\n') {
        if (src[j] === '\\' && j + 1 < n && src[j + 1] !== '\n') j++;
        v += src[j];
        j++;
      }
      if (src[j] !== '"') throw new ConfigError(file, `line ${line} col ${i - lineStart + 1}`, 'unterminated string');
      push('str', v, i, j + 1);
      i = j + 1;
      continue;
    }
    if (c === '{' || c === '}' || c === '(' || c === ')' || c === ',') {
      push(c, c, i, i + 1);
      i++;
      continue;
    }
    if (c === ';') {
      push('semi', c, i, i + 1);
      i++;
      continue;
    }
    const two = src.slice(i, i + 2);
    if (two === '==' || two === '!=' || two === '<=' || two === '>=') {
      push('op', two, i, i + 2);
      i += 2;
      continue;
    }
    if (c === '=') {
      push('=', c, i, i + 1);
      i++;
      continue;
    }
    if (c === '&' || c === '|' || c === '^' || c === '<' || c === '>' || c === '!') {
      push('op', c, i, i + 1);
      i++;
      continue;
    }
    let j = i;
    while (j < n && !WORD_STOP.has(src[j]!)) j++;
    push('word', src.slice(i, j), i, j);
    i = j;
  }
  push('eof', '', n, n);
  return out;
}

/** `define NAME = tokens` and `$NAME` substitution (nft's variables, textually). */
function expandDefines(toks: Tok[], file: string): Tok[] {
  const defs = new Map<string, Tok[]>();
  const out: Tok[] = [];
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i]!;
    const atLineStart = i === 0 || toks[i - 1]!.k === 'nl' || toks[i - 1]!.k === 'semi';
    if (t.k === 'word' && (t.v === 'define' || t.v === 'redefine') && atLineStart) {
      const name = toks[i + 1];
      if (name?.k !== 'word' || toks[i + 2]?.k !== '=') throw new ConfigError(file, `line ${t.line} col ${t.col}`, 'expected "define NAME = value"');
      let j = i + 3;
      const val: Tok[] = [];
      let depth = 0;
      for (; toks[j]!.k !== 'eof'; j++) {
        const x = toks[j]!;
        if (depth === 0 && (x.k === 'nl' || x.k === 'semi')) break;
        if (x.k === '{') depth++;
        if (x.k === '}') depth--;
        if (x.k === 'word' && x.v.startsWith('$')) val.push(...lookup(x));
        else if (x.k !== 'nl') val.push(x);
      }
      defs.set(name.v, val);
      i = j - 1;
      continue;
    }
    if (t.k === 'word' && t.v.startsWith('$')) out.push(...lookup(t).map((x) => ({ ...x, line: t.line, col: t.col, start: t.start, end: t.end })));
    else out.push(t);
  }
  return out;

  function lookup(t: Tok): Tok[] {
    const v = defs.get(t.v.slice(1));
    if (!v) throw new ConfigError(file, `line ${t.line} col ${t.col}`, `variable ${t.v} is not defined`);
    return v;
  }
}

// ---------------------------------------------------------------------------------------------
// Constants

/** nft named chain priorities (nft 1.0.6, observed): ip/ip6/inet/arp/netdev, and bridge. */
const PRIO_INET: Readonly<Record<string, number>> = { raw: -300, mangle: -150, dstnat: -100, filter: 0, security: 50, srcnat: 100 };
const PRIO_BRIDGE: Readonly<Record<string, number>> = { dstnat: -300, filter: -200, out: 100, srcnat: 300 };

const FAMILIES: ReadonlySet<string> = new Set(['ip', 'ip6', 'inet', 'arp', 'bridge', 'netdev']);
const HOOKS: ReadonlySet<string> = new Set(['prerouting', 'input', 'forward', 'output', 'postrouting', 'ingress', 'egress']);

/** Header protocols and their fields (nft payload expressions). */
const PAYLOAD: Readonly<Record<string, ReadonlySet<string>>> = {
  ip: new Set(['saddr', 'daddr', 'protocol', 'ttl', 'length', 'id', 'dscp', 'ecn', 'tos', 'version', 'hdrlength', 'frag-off', 'checksum']),
  ip6: new Set(['saddr', 'daddr', 'nexthdr', 'hoplimit', 'flowlabel', 'length', 'dscp', 'ecn', 'version', 'priority']),
  tcp: new Set(['sport', 'dport', 'flags', 'sequence', 'ackseq', 'window', 'checksum', 'urgptr', 'doff']),
  udp: new Set(['sport', 'dport', 'length', 'checksum']),
  udplite: new Set(['sport', 'dport', 'checksum']),
  sctp: new Set(['sport', 'dport', 'vtag', 'checksum']),
  dccp: new Set(['sport', 'dport']),
  th: new Set(['sport', 'dport']),
  icmp: new Set(['type', 'code', 'id', 'sequence', 'mtu', 'gateway', 'checksum']),
  icmpv6: new Set(['type', 'code', 'id', 'sequence', 'mtu', 'max-delay', 'checksum']),
  ether: new Set(['saddr', 'daddr', 'type']),
  vlan: new Set(['id', 'pcp', 'cfi', 'dei', 'type']),
  arp: new Set(['htype', 'ptype', 'hlen', 'plen', 'operation', 'saddr', 'daddr']),
};

/** meta keys nft accepts without `meta`. */
const UNQUALIFIED_META: ReadonlySet<string> = new Set([
  'mark', 'iif', 'iifname', 'iiftype', 'oif', 'oifname', 'oiftype', 'skuid', 'skgid', 'nftrace', 'rtclassid',
  'ibriport', 'obriport', 'ibrname', 'obrname', 'pkttype', 'cpu', 'iifgroup', 'oifgroup', 'cgroup',
]);

/** Expressions nft has that the model does not evaluate (refused by name). */
const UNSUPPORTED_EXPR: ReadonlySet<string> = new Set([
  'osf', 'socket', 'rt', 'exthdr', 'hash', 'jhash', 'symhash', 'ipsec', 'tunnel', 'hbh', 'rt0', 'rt2', 'srh', 'frag', 'dst', 'mh', 'ah', 'esp', 'comp', 'cgroupv2',
]);
const UNSUPPORTED_STMT: ReadonlySet<string> = new Set(['dup', 'fwd', 'tproxy', 'synproxy', 'flow', 'meter', 'quota', 'last', 'secmark', 'numgen-set']);

const NAT_FLAGS: ReadonlySet<string> = new Set(['random', 'fully-random', 'persistent', 'netmap']);
const BITMASK_SEL = (j: J): boolean => {
  if (!isObj(j)) return false;
  if (isObj(j.ct)) return j.ct.key === 'state' || j.ct.key === 'status';
  if (isObj(j.payload)) return j.payload.protocol === 'tcp' && j.payload.field === 'flags';
  return false;
};

/** `typeof` selectors → the data type nft lists for the set. */
function typeofName(j: J): string | null {
  if (!isObj(j)) return null;
  if (isObj(j.payload)) {
    const p = String(j.payload.protocol);
    const f = String(j.payload.field);
    if (f === 'saddr' || f === 'daddr') return p === 'ip' ? 'ipv4_addr' : p === 'ip6' ? 'ipv6_addr' : p === 'ether' ? 'ether_addr' : null;
    if (f === 'sport' || f === 'dport') return 'inet_service';
    if ((p === 'ip' && f === 'protocol') || (p === 'ip6' && f === 'nexthdr')) return 'inet_proto';
    if (f === 'dscp') return 'dscp';
    if (p === 'icmp' && f === 'type') return 'icmp_type';
    if (p === 'icmpv6' && f === 'type') return 'icmpv6_type';
    return null;
  }
  if (isObj(j.meta)) {
    const k = String(j.meta.key);
    return ({ mark: 'mark', iifname: 'ifname', oifname: 'ifname', iif: 'iface_index', oif: 'iface_index', l4proto: 'inet_proto', nfproto: 'nf_proto', skuid: 'uid', skgid: 'gid', pkttype: 'pkt_type' } as Record<string, string>)[k] ?? null;
  }
  if (isObj(j.ct)) {
    const k = String(j.ct.key);
    return ({ mark: 'mark', state: 'ct_state', status: 'ct_status', 'ip saddr': 'ipv4_addr', 'ip daddr': 'ipv4_addr', 'ip6 saddr': 'ipv6_addr', 'ip6 daddr': 'ipv6_addr', 'proto-src': 'inet_service', 'proto-dst': 'inet_service' } as Record<string, string>)[k] ?? null;
  }
  if (Array.isArray(j.concat)) {
    const parts = j.concat.map(typeofName);
    return parts.every((x) => x !== null) ? parts.join(' . ') : null;
  }
  return null;
}

function isObj(j: J): j is JObj {
  return typeof j === 'object' && j !== null && !Array.isArray(j);
}

// ---------------------------------------------------------------------------------------------
// Parser

/** Parse nft ruleset text (`nft list ruleset` output or an `nft -f` file) into the ruleset IR. */
export function parseNftText(text: string, file: string, opts: RulesetParseOpts): RulesetIR {
  return new Parser(text, file, opts).parse();
}

class Parser {
  toks: Tok[];
  pos = 0;
  out: RulesetIR = { tables: [] };
  tables = new Map<string, TableIR>();
  chains = new Map<TableIR, Map<string, ChainIR>>();
  /** The table being read (its family decides named priorities, reject defaults, NAT families). */
  fam: Family = 'ip';

  constructor(readonly src: string, readonly file: string, readonly opts: RulesetParseOpts) {
    this.toks = expandDefines(tokenize(src, file), file);
  }

  // -- token helpers ---------------------------------------------------------------------------

  peek(o = 0): Tok {
    return this.toks[Math.min(this.pos + o, this.toks.length - 1)]!;
  }
  next(): Tok {
    const t = this.peek();
    if (t.k !== 'eof') this.pos++;
    return t;
  }
  at(t: Tok): string {
    return t.k === 'eof' ? 'end of file' : `line ${t.line} col ${t.col}`;
  }
  fail(t: Tok, what: string): never {
    throw new ConfigError(this.file, this.at(t), what);
  }
  unsupported(t: Tok, what: string): never {
    throw new UnsupportedError(this.at(t), what);
  }
  show(t: Tok): string {
    return t.k === 'eof' ? 'end of file' : t.k === 'nl' ? 'end of line' : `"${t.v}"`;
  }
  isWord(v: string, o = 0): boolean {
    const t = this.peek(o);
    return t.k === 'word' && t.v === v;
  }
  word(what = 'a word'): string {
    const t = this.next();
    if (t.k !== 'word' && t.k !== 'str') this.fail(t, `expected ${what}, found ${this.show(t)}`);
    return t.v;
  }
  expectWord(v: string): void {
    const t = this.next();
    if (t.k !== 'word' || t.v !== v) this.fail(t, `expected "${v}", found ${this.show(t)}`);
  }
  expect(k: TokKind, what: string): Tok {
    const t = this.next();
    if (t.k !== k) this.fail(t, `expected ${what}, found ${this.show(t)}`);
    return t;
  }
  skipSeparators(): void {
    for (;;) {
      const k = this.peek().k;
      if (k === 'nl' || k === 'semi' || k === 'handle') this.pos++;
      else return;
    }
  }
  skipNl(): void {
    while (this.peek().k === 'nl') this.pos++;
  }
  endOfStatement(): boolean {
    const k = this.peek().k;
    return k === 'nl' || k === 'semi' || k === '}' || k === 'eof' || k === 'handle';
  }
  /** Skip a balanced `{ ... }` block (named objects the model does not need). */
  skipBlock(): void {
    this.expect('{', '"{"');
    let depth = 1;
    while (depth > 0) {
      const t = this.next();
      if (t.k === 'eof') this.fail(t, 'unterminated block (missing "}")');
      if (t.k === '{') depth++;
      else if (t.k === '}') depth--;
    }
  }

  // -- top level ---------------------------------------------------------------------------------

  parse(): RulesetIR {
    for (;;) {
      this.skipSeparators();
      const t = this.peek();
      if (t.k === 'eof') break;
      if (t.k !== 'word') this.fail(t, `expected "table", found ${this.show(t)}`);
      this.pos++;
      switch (t.v) {
        case 'table':
          this.tableCmd(true);
          break;
        case 'flush':
          this.flushCmd(t);
          break;
        case 'add':
        case 'create':
        case 'insert': {
          const what = this.word('table, chain, rule, set, map or element');
          if (what === 'table') this.tableCmd(false);
          else if (what === 'chain') this.chainCmd();
          else if (what === 'rule') this.ruleCmd(t.v === 'insert');
          else if (what === 'set' || what === 'map') this.setCmd(what === 'map');
          else if (what === 'element') this.elementCmd();
          else this.fail(t, `"${t.v} ${what}" is not supported`);
          break;
        }
        case 'include':
          this.fail(t, 'include is not supported: put the included rules in this file');
        default:
          this.fail(t, `expected "table" (or add/insert/flush/define), found "${t.v}"`);
      }
    }
    return this.out;
  }

  flushCmd(t: Tok): void {
    const what = this.word();
    if (what === 'ruleset') {
      for (const tb of this.out.tables) this.chains.delete(tb);
      this.out.tables = [];
      this.tables.clear();
      return;
    }
    this.fail(t, `"flush ${what}" is not supported (only "flush ruleset")`);
  }

  /** `[family] name` → the table, created on first mention. */
  tableRef(): TableIR {
    const t = this.peek();
    let fam = 'ip';
    if (t.k === 'word' && FAMILIES.has(t.v) && (this.peek(1).k === 'word' || this.peek(1).k === 'str')) {
      fam = t.v;
      this.pos++;
    }
    const name = this.word('a table name');
    const key = `${fam} ${name}`;
    let tb = this.tables.get(key);
    if (!tb) {
      tb = { family: fam as Family, name, source: 'nft-text', file: this.file, chains: [], sets: [] };
      this.tables.set(key, tb);
      this.chains.set(tb, new Map());
      this.out.tables.push(tb);
    }
    this.fam = tb.family;
    return tb;
  }

  tableCmd(block: boolean): void {
    const tb = this.tableRef();
    if (this.peek().k !== '{') {
      if (block) this.fail(this.peek(), `expected "{" after table ${tb.family} ${tb.name}`);
      return;
    }
    this.pos++;
    for (;;) {
      this.skipSeparators();
      const t = this.next();
      if (t.k === '}') break;
      if (t.k !== 'word') this.fail(t, `expected chain, set, map or "}", found ${this.show(t)}`);
      switch (t.v) {
        case 'chain':
          this.chainDef(tb, this.word('a chain name'), true);
          break;
        case 'set':
        case 'map':
          this.setDef(tb, this.word('a set name'), t.v === 'map');
          break;
        case 'comment':
          this.word('a comment');
          break;
        case 'flags': {
          const fl = this.wordList();
          if (fl.includes('dormant')) {
            // A dormant table's chains are not attached to any hook.
            this.opts.warnings.push(`${this.file} ${this.at(t)}: table ${tb.family} ${tb.name} is dormant; its chains do not run`);
            for (const c of tb.chains) c.base = null;
            this.dormant.add(tb);
          }
          break;
        }
        case 'counter':
        case 'quota':
        case 'limit':
        case 'secmark':
        case 'synproxy':
        case 'flowtable':
          this.word('a name');
          this.skipBlock();
          break;
        case 'ct': {
          const kind = this.word();
          if (kind !== 'helper' && kind !== 'timeout' && kind !== 'expectation') this.fail(t, `"ct ${kind}" objects are not supported`);
          this.word('a name');
          this.skipBlock();
          break;
        }
        default:
          this.fail(t, `expected chain, set, map or "}" in table ${tb.name}, found "${t.v}"`);
      }
    }
  }

  dormant = new Set<TableIR>();

  chainOf(tb: TableIR, name: string): ChainIR {
    const m = this.chains.get(tb)!;
    let c = m.get(name);
    if (!c) {
      c = { name, base: null, rules: [] };
      m.set(name, c);
      tb.chains.push(c);
    }
    return c;
  }

  chainCmd(): void {
    const tb = this.tableRef();
    const name = this.word('a chain name');
    if (this.peek().k === '{') this.chainDef(tb, name, true);
    else this.chainOf(tb, name);
  }

  chainDef(tb: TableIR, name: string, block: boolean): void {
    const c = this.chainOf(tb, name);
    if (!block) return;
    this.expect('{', '"{"');
    for (;;) {
      this.skipSeparators();
      const t = this.peek();
      if (t.k === '}') {
        this.pos++;
        break;
      }
      if (t.k === 'eof') this.fail(t, `chain ${name}: missing "}"`);
      if (t.k === 'word' && t.v === 'type' && this.peek(1).k === 'word' && this.peek(2).k === 'word' && this.peek(2).v === 'hook') {
        this.pos++;
        this.chainHeader(tb, c);
        continue;
      }
      if (t.k === 'word' && t.v === 'policy' && c.base) {
        this.pos++;
        const p = this.word('accept or drop');
        if (p !== 'accept' && p !== 'drop') this.fail(t, `policy "${p}" is not supported`);
        c.base.policy = p;
        continue;
      }
      if (t.k === 'word' && t.v === 'comment' && this.peek(1).k === 'str') {
        this.pos += 2;
        continue;
      }
      this.ruleInto(tb, c, false);
    }
  }

  /** `type T hook H [device D | devices = { ... }] priority P` (after `type`). */
  chainHeader(tb: TableIR, c: ChainIR): void {
    const t0 = this.peek();
    const type = this.word('a chain type');
    if (type !== 'filter' && type !== 'nat' && type !== 'route') this.fail(t0, `chain type "${type}" is not supported`);
    this.expectWord('hook');
    const th = this.peek();
    const hook = this.word('a hook');
    if (!HOOKS.has(hook)) this.fail(th, `hook "${hook}" is not supported`);
    let device: string | null = null;
    let prio = 0;
    let sawPrio = false;
    while (!this.endOfStatement()) {
      const t = this.next();
      if (t.k === 'word' && t.v === 'device') device = this.word('a device name');
      else if (t.k === 'word' && t.v === 'devices') {
        this.expect('=', '"="');
        const list = this.braceWords();
        device = list[0] ?? null;
      } else if (t.k === 'word' && t.v === 'priority') {
        prio = this.priority(tb.family);
        sawPrio = true;
      } else this.fail(t, `unexpected ${this.show(t)} in the chain's type line`);
    }
    if (!sawPrio) this.fail(t0, 'a base chain needs a priority');
    const base: BaseChainIR = { type, hook: hook as HookName, prio, policy: c.base?.policy ?? 'accept', device };
    c.base = this.dormant.has(tb) ? null : base;
  }

  /** `NUM`, `NAME`, `NAME + NUM`, `NAME - NUM` (nft's named priorities). */
  priority(fam: Family): number {
    const t = this.next();
    if (t.k !== 'word') this.fail(t, `expected a priority, found ${this.show(t)}`);
    let v: number;
    if (/^-?\d+$/.test(t.v)) v = Number(t.v);
    else {
      const names = fam === 'bridge' ? PRIO_BRIDGE : PRIO_INET;
      const p = names[t.v];
      if (p === undefined) this.fail(t, `unknown priority name "${t.v}" for family ${fam} (${Object.keys(names).join(', ')})`);
      v = p;
    }
    const op = this.peek();
    if (op.k === 'word' && (op.v === '+' || op.v === '-')) {
      this.pos++;
      const nt = this.next();
      if (nt.k !== 'word' || !/^\d+$/.test(nt.v)) this.fail(nt, 'expected a number after the priority name');
      v += op.v === '+' ? Number(nt.v) : -Number(nt.v);
    } else if (op.k === 'word' && /^[+-]\d+$/.test(op.v)) {
      this.pos++;
      v += Number(op.v);
    }
    return v;
  }

  /** `{ a, b }` of words/strings. */
  braceWords(): string[] {
    this.expect('{', '"{"');
    const out: string[] = [];
    for (;;) {
      this.skipNl();
      const t = this.next();
      if (t.k === '}') return out;
      if (t.k === ',') continue;
      if (t.k !== 'word' && t.k !== 'str') this.fail(t, `expected a name, found ${this.show(t)}`);
      out.push(t.v);
    }
  }

  /** `a,b,c` (comma-separated words on one line). */
  wordList(): string[] {
    const out = [this.word()];
    while (this.peek().k === ',') {
      this.pos++;
      out.push(this.word());
    }
    return out;
  }

  ruleCmd(insert: boolean): void {
    const tb = this.tableRef();
    const c = this.chainOf(tb, this.word('a chain name'));
    this.ruleInto(tb, c, insert);
  }

  // -- sets ------------------------------------------------------------------------------------

  setCmd(isMap: boolean): void {
    const tb = this.tableRef();
    this.setDef(tb, this.word('a set name'), isMap);
  }

  elementCmd(): void {
    const tb = this.tableRef();
    const t = this.peek();
    const name = this.word('a set name');
    const set = tb.sets.find((s) => s.name === name);
    if (!set) this.fail(t, `set ${name} is not declared in table ${tb.family} ${tb.name}`);
    const elems = this.setElements(set.map !== null);
    const parsed = this.setFromJson(t, { name, type: set.type, ...(set.map !== null ? { map: set.map } : {}), elem: elems }, set.map !== null);
    set.elems.push(...parsed.elems);
    if (set.data && parsed.data) set.data.push(...parsed.data);
  }

  setDef(tb: TableIR, name: string, isMap: boolean): void {
    const t0 = this.peek();
    this.expect('{', '"{"');
    const o: JObj = { name };
    for (;;) {
      this.skipSeparators();
      const t = this.next();
      if (t.k === '}') break;
      if (t.k !== 'word') this.fail(t, `expected a set property, found ${this.show(t)}`);
      switch (t.v) {
        case 'type': {
          const [k, d] = this.typeSpec();
          o.type = k;
          if (d !== null) o.map = d;
          break;
        }
        case 'typeof': {
          const key = this.selector();
          const kt = typeofName(key);
          if (!kt) this.fail(t, 'this typeof expression is not supported; use "type"');
          o.type = kt;
          if (this.isWord(':')) {
            this.pos++;
            const data = this.selector();
            const dt = typeofName(data);
            if (!dt) this.fail(t, 'this typeof expression is not supported; use "type"');
            o.map = dt;
          }
          break;
        }
        case 'flags':
          o.flags = this.wordList();
          break;
        case 'elements':
          this.expect('=', '"="');
          o.elem = this.setElements(isMap);
          break;
        case 'timeout':
        case 'gc-interval':
        case 'size':
        case 'policy':
          this.word();
          break;
        case 'comment':
          this.word('a comment');
          break;
        case 'auto-merge':
        case 'counter':
          break;
        default:
          this.fail(t, `unknown set property "${t.v}"`);
      }
    }
    if (o.type === undefined) this.fail(t0, `set ${name} has no type`);
    if (isMap && o.map === undefined) this.fail(t0, `map ${name} needs "type KEY : DATA"`);
    tb.sets.push(this.setFromJson(t0, o, isMap));
  }

  setFromJson(t: Tok, o: JObj, isMap: boolean) {
    try {
      return parseSetJson(o, isMap, this.at(t));
    } catch (e) {
      if (e instanceof UnsupportedError) throw new ConfigError(this.file, this.at(t), e.what);
      throw e;
    }
  }

  /** `type K [. K]... [: D [. D]...]` → [key type, data type or null]. */
  typeSpec(): [string, string | null] {
    const key = [this.word('a type')];
    while (this.isWord('.')) {
      this.pos++;
      key.push(this.word('a type'));
    }
    if (!this.isWord(':')) return [key.join(' . '), null];
    this.pos++;
    const data = [this.word('a type')];
    while (this.isWord('.')) {
      this.pos++;
      data.push(this.word('a type'));
    }
    return [key.join(' . '), data.join(' . ')];
  }

  /** `{ e, e : d, ... }` → nft JSON elements (maps: [key, data] pairs). */
  setElements(isMap: boolean): J[] {
    this.expect('{', '"{"');
    const out: J[] = [];
    for (;;) {
      this.skipNl();
      if (this.peek().k === '}') {
        this.pos++;
        return out;
      }
      const key = this.elemValue();
      if (isMap) {
        this.skipNl();
        if (!this.isWord(':')) this.fail(this.peek(), `expected ":" and the data of map element, found ${this.show(this.peek())}`);
        this.pos++;
        out.push([key, this.mapData()]);
      } else out.push(key);
      this.skipNl();
      const t = this.next();
      if (t.k === '}') return out;
      if (t.k !== ',') this.fail(t, `expected "," or "}", found ${this.show(t)}`);
    }
  }

  /** A set element: value with optional `timeout/expires/comment/counter` attributes. */
  elemValue(): J {
    const v = this.value(true);
    for (;;) {
      if (this.isWord('timeout') || this.isWord('expires')) {
        this.pos += 2;
      } else if (this.isWord('comment')) {
        this.pos += 2;
      } else if (this.isWord('counter')) {
        this.pos++;
        if (this.isWord('packets')) this.pos += 4;
      } else return v;
    }
  }

  /** Map data: a verdict (`accept`, `jump c`) or a value. */
  mapData(): J {
    const t = this.peek();
    if (t.k === 'word' && ['accept', 'drop', 'continue', 'return'].includes(t.v)) {
      this.pos++;
      return { [t.v]: null };
    }
    if (t.k === 'word' && (t.v === 'jump' || t.v === 'goto')) {
      this.pos++;
      return { [t.v]: { target: this.word('a chain name') } };
    }
    return this.value(true);
  }

  // -- rules -----------------------------------------------------------------------------------

  /** Rules seen per chain, dropped ones included (the default handle is this number). */
  ruleNo = new Map<ChainIR, number>();

  ruleInto(tb: TableIR, c: ChainIR, insert: boolean): void {
    const first = this.peek();
    const n = (this.ruleNo.get(c) ?? 0) + 1;
    this.ruleNo.set(c, n);
    const exprs: J[] = [];
    const starts: Tok[] = [];
    let lastEnd = first.end;
    try {
      while (!this.endOfStatement()) {
        starts.push(this.peek());
        const e = this.statement();
        if (e !== null) exprs.push(e);
        else starts.pop();
        lastEnd = this.toks[this.pos - 1]!.end;
      }
    } catch (e) {
      if (!(e instanceof UnsupportedError)) throw e;
      this.skipRule();
      this.dropRule(tb, c, e);
      return;
    }
    elideDependencies(exprs, starts);
    let handle = 0;
    if (this.peek().k === 'handle') handle = Number(this.next().v);
    const text = this.src.slice(first.start, lastEnd).replace(/\s+/g, ' ').trim();
    const ir: ExprIR[] = [];
    for (let k = 0; k < exprs.length; k++) {
      try {
        ir.push(parseStmt(exprs[k], `@${k}`));
      } catch (e) {
        if (!(e instanceof UnsupportedError)) throw e;
        this.dropRule(tb, c, new UnsupportedError(this.at(starts[k]!), e.what));
        return;
      }
    }
    const rule: RuleIR = { handle: handle || n, text, origin: `${this.file}:${first.line}`, exprs: ir };
    if (insert) c.rules.unshift(rule);
    else c.rules.push(rule);
  }

  dropRule(tb: TableIR, c: ChainIR, e: UnsupportedError): void {
    if (!this.opts.allowUnsupported) throw new ConfigError(this.file, e.where, e.what);
    this.opts.warnings.push(`${this.file} ${e.where}: ${e.what}; rule in ${tb.family} ${tb.name} ${c.name} dropped`);
    if (this.peek().k === 'handle') this.pos++;
  }

  /** After an unsupported construct: skip to the end of the rule (braces balanced). */
  skipRule(): void {
    let depth = 0;
    for (;;) {
      const t = this.peek();
      if (t.k === 'eof') return;
      if (depth === 0 && (t.k === 'nl' || t.k === 'semi' || t.k === '}' || t.k === 'handle')) return;
      if (t.k === '{' || t.k === '(') depth++;
      if (t.k === '}' || t.k === ')') depth--;
      this.pos++;
    }
  }

  /** One statement or match of a rule → its nft JSON object (null: nothing to evaluate). */
  statement(): J | null {
    const t = this.peek();
    if (t.k === '(') return this.relational(this.selector());
    if (t.k !== 'word') this.fail(t, `unexpected ${this.show(t)}`);
    const w = t.v;
    switch (w) {
      case 'accept':
      case 'drop':
      case 'continue':
      case 'return':
        this.pos++;
        return { [w]: null };
      case 'jump':
      case 'goto':
        this.pos++;
        return { [w]: { target: this.word('a chain name') } };
      case 'queue':
        this.pos++;
        return { queue: this.queueArgs() };
      case 'counter':
        this.pos++;
        if (this.isWord('name')) {
          this.pos++;
          return { counter: this.word('a counter name') };
        }
        if (this.isWord('packets')) {
          this.pos++;
          const packets = Number(this.word());
          this.expectWord('bytes');
          return { counter: { packets, bytes: Number(this.word()) } };
        }
        return { counter: null };
      case 'notrack':
        this.pos++;
        return { notrack: null };
      case 'log':
        this.pos++;
        return { log: this.logArgs() };
      case 'limit':
        this.pos++;
        return { limit: this.limitArgs() };
      case 'reject':
        this.pos++;
        return { reject: this.rejectArgs() };
      case 'snat':
      case 'dnat':
      case 'masquerade':
      case 'redirect':
        this.pos++;
        return { [w]: this.natArgs(w) };
      case 'comment':
        this.pos++;
        this.word('a comment');
        return null;
      case 'xt': {
        this.pos++;
        const type = this.word('match or target');
        return { xt: { type, name: this.word('an extension name') } };
      }
      case 'add':
      case 'update':
      case 'delete':
        if (this.peek(1).k === 'word' && this.peek(1).v.startsWith('@')) {
          this.pos++;
          const set = this.next().v;
          this.expect('{', '"{"');
          const key = this.selector();
          let elem: J = key;
          while (!(this.peek().k === '}')) {
            const a = this.word();
            if (a === 'timeout') elem = { elem: { val: key, timeout: timeValue(this.word()) } };
            else if (a === 'expires' || a === 'comment') this.word();
            else if (a === 'counter') continue;
            else this.unsupported(this.toks[this.pos - 1]!, `"${a}" in a set statement is not supported`);
          }
          this.pos++;
          return { set: { op: w, elem, set } };
        }
        break;
      default:
        break;
    }
    if (UNSUPPORTED_STMT.has(w)) this.unsupported(t, `statement "${w}" is not supported`);
    if (w === 'ct' && this.isWord('count', 1)) this.unsupported(t, 'statement "ct count" is not supported');
    const sel = this.selector();
    if (this.isWord('set')) {
      this.pos++;
      return { mangle: { key: sel, value: this.mangleValue() } };
    }
    if (this.isWord('vmap')) {
      this.pos++;
      return { vmap: { key: sel, data: this.mapRef() } };
    }
    return this.relational(sel);
  }

  /** `left [op] right [/ mask]` → {"match": ...}. */
  relational(left: J): J {
    const t = this.peek();
    let op: string | null = null;
    if (t.k === 'op' && ['==', '!=', '<', '>', '<=', '>=', '!'].includes(t.v)) {
      op = t.v;
      this.pos++;
    } else if (t.k === 'word' && ['eq', 'ne', 'lt', 'gt', 'le', 'ge'].includes(t.v)) {
      op = ({ eq: '==', ne: '!=', lt: '<', gt: '>', le: '<=', ge: '>=' } as Record<string, string>)[t.v]!;
      this.pos++;
    }
    if (this.endOfStatement()) this.fail(this.peek(), 'expected a value to compare with');
    let right = this.value(false);
    // `tcp flags syn / syn,ack`: (flags & mask) compared with the value.
    if (this.isWord('/')) {
      this.pos++;
      const mask = this.value(false);
      left = { '&': [left, mask] };
      op ??= '==';
    }
    if (op === null) {
      const anon = isObj(right) && ('set' in right);
      const ref = typeof right === 'string' && right.startsWith('@');
      op = BITMASK_SEL(left) && !anon && !ref ? 'in' : '==';
    }
    if (Array.isArray(right) && op === '!=') right = { '|': orChain(right) };
    // nft stores protocol names by their /etc/protocols spelling: `icmpv6` is listed as "ipv6-icmp".
    if (isProtoSel(left)) right = mapStrings(right, (x) => PROTO_ALIAS[x] ?? x);
    return { match: { op, left, right } };
  }

  /** A selector expression: primary (bitwise)* (. primary (bitwise)*)* [map lookup]. */
  selector(): J {
    const parts = [this.bitwise()];
    while (this.isWord('.')) {
      this.pos++;
      parts.push(this.bitwise());
    }
    const sel = parts.length === 1 ? parts[0] : { concat: parts };
    if (this.isWord('map')) {
      this.pos++;
      return { map: { key: sel, data: this.mapRef() } };
    }
    return sel;
  }

  bitwise(): J {
    let s = this.primary();
    for (;;) {
      const t = this.peek();
      let op: string | null = null;
      if (t.k === 'op' && (t.v === '&' || t.v === '|' || t.v === '^')) op = t.v;
      else if (t.k === 'word' && (t.v === 'and' || t.v === 'or' || t.v === 'xor')) op = t.v === 'and' ? '&' : t.v === 'or' ? '|' : '^';
      if (!op) return s;
      this.pos++;
      s = { [op]: [s, this.bitOperand()] };
    }
  }

  /** `0xff`, `255.255.0.0`, `syn`, `(fin | syn | ack)`. */
  bitOperand(): J {
    if (this.peek().k === '(') {
      this.pos++;
      const names: J[] = [scalar(this.word())];
      while (this.peek().k === 'op' && this.peek().v === '|') {
        this.pos++;
        names.push(scalar(this.word()));
      }
      this.expect(')', '")"');
      return names.length === 1 ? names[0] : names;
    }
    return scalar(this.word('a value'));
  }

  primary(): J {
    const t = this.next();
    if (t.k === '(') {
      const s = this.selector();
      this.expect(')', '")"');
      return s;
    }
    if (t.k !== 'word') this.fail(t, `expected an expression, found ${this.show(t)}`);
    const w = t.v;
    if (PAYLOAD[w] && this.peek().k === 'word' && PAYLOAD[w]!.has(this.peek().v)) {
      let field = this.next().v;
      if (w === 'arp' && (field === 'saddr' || field === 'daddr') && (this.isWord('ip') || this.isWord('ether'))) field += ` ${this.next().v}`;
      return { payload: { protocol: w, field } };
    }
    if (w === 'meta') return { meta: { key: this.word('a meta key') } };
    if (UNQUALIFIED_META.has(w)) return { meta: { key: w } };
    if (w === 'ct') {
      const o: JObj = {};
      if (this.isWord('original') || this.isWord('reply')) o.dir = this.next().v;
      let key = this.word('a ct key');
      if ((key === 'ip' || key === 'ip6') && this.peek().k === 'word') key += ` ${this.next().v}`;
      return { ct: { key, ...o } };
    }
    if (w === 'fib') {
      const flags = [this.word('fib flags')];
      while (this.isWord('.')) {
        this.pos++;
        flags.push(this.word('fib flags'));
      }
      return { fib: { result: this.word('oif, oifname or type'), flags } };
    }
    if (w === 'numgen') {
      const mode = this.word('random or inc');
      this.expectWord('mod');
      const mod = Number(this.word('a number'));
      let offset = 0;
      if (this.isWord('offset')) {
        this.pos++;
        offset = Number(this.word('a number'));
      }
      return { numgen: { mode, mod, offset } };
    }
    if (UNSUPPORTED_EXPR.has(w)) this.unsupported(t, `expression "${w}" is not supported`);
    if ((w === 'tcp' && this.isWord('option')) || (w === 'sctp' && this.isWord('chunk')) || (w === 'ip' && this.isWord('option'))) {
      this.unsupported(t, `expression "${w} ${this.peek().v}" is not supported`);
    }
    this.unsupported(t, `unknown expression "${w}"`);
  }

  /** A constant: `{ set }`, `@ref`, `a . b`, `a,b` (flag list), `a|b`, scalar. */
  value(inBraces: boolean): J {
    const t = this.peek();
    if (t.k === '{') {
      this.pos++;
      const items: J[] = [];
      for (;;) {
        this.skipNl();
        if (this.peek().k === '}') {
          this.pos++;
          break;
        }
        const v = this.elemValue();
        this.skipNl();
        if (this.isWord(':')) {
          this.pos++;
          items.push([v, this.mapData()]);
        } else items.push(v);
        this.skipNl();
        const sep = this.next();
        if (sep.k === '}') break;
        if (sep.k !== ',') this.fail(sep, `expected "," or "}", found ${this.show(sep)}`);
      }
      return { set: items };
    }
    const first = this.atom();
    const parts = [first];
    while (this.isWord('.')) {
      this.pos++;
      parts.push(this.atom());
    }
    const v = parts.length === 1 ? first : { concat: parts };
    if (!inBraces && this.peek().k === ',') {
      const list = [v];
      while (this.peek().k === ',') {
        this.pos++;
        list.push(this.atom());
      }
      return list;
    }
    if (this.peek().k === 'op' && this.peek().v === '|') {
      const list = [v];
      while (this.peek().k === 'op' && this.peek().v === '|') {
        this.pos++;
        list.push(this.atom());
      }
      return { '|': orChain(list) };
    }
    return v;
  }

  atom(): J {
    const t = this.next();
    if (t.k === 'str') return t.v;
    if (t.k === '(') {
      const v = this.value(false);
      this.expect(')', '")"');
      return v;
    }
    if (t.k !== 'word') this.fail(t, `expected a value, found ${this.show(t)}`);
    return scalar(t.v);
  }

  /** `@name` or an anonymous map `{ k : v, ... }` (data: a verdict or a value). */
  mapRef(): J {
    const t = this.peek();
    if (t.k === 'word' && t.v.startsWith('@')) {
      this.pos++;
      return t.v;
    }
    if (t.k !== '{') this.fail(t, `expected "@map" or "{", found ${this.show(t)}`);
    this.pos++;
    const pairs: J[] = [];
    for (;;) {
      this.skipNl();
      if (this.peek().k === '}') {
        this.pos++;
        break;
      }
      const k = this.value(true);
      this.skipNl();
      if (!this.isWord(':')) this.fail(this.peek(), `expected ":", found ${this.show(this.peek())}`);
      this.pos++;
      pairs.push([k, this.mapData()]);
      this.skipNl();
      const sep = this.next();
      if (sep.k === '}') break;
      if (sep.k !== ',') this.fail(sep, `expected "," or "}", found ${this.show(sep)}`);
    }
    return { set: pairs };
  }

  /** Right side of `KEY set ...`: a constant, or an expression of selectors. */
  mangleValue(): J {
    const t = this.peek();
    if (t.k === 'word' && (startsSelector(t.v) || t.v === '(')) return this.selector();
    if (t.k === '(') return this.selector();
    return this.value(false);
  }

  queueArgs(): J {
    const o: JObj = {};
    const flags: string[] = [];
    while (!this.endOfStatement()) {
      const w = this.word();
      if (w === 'num' || w === 'to') {
        const v = scalar(this.word('a queue number'));
        o.num = v;
      } else if (w === 'flags') flags.push(...this.wordList());
      else for (const f of w.split(',')) flags.push(f);
      while (this.peek().k === ',') {
        this.pos++;
        flags.push(this.word());
      }
    }
    if (flags.length) o.flags = flags;
    return Object.keys(o).length ? o : null;
  }

  logArgs(): J {
    const o: JObj = {};
    for (;;) {
      if (this.isWord('prefix')) {
        this.pos++;
        o.prefix = this.word('a prefix');
      } else if (this.isWord('level')) {
        this.pos++;
        const level = this.word('a level');
        if (level !== 'warn') o.level = level; // nft leaves the default level out of its listing
      } else if (this.isWord('group')) {
        this.pos++;
        o.group = Number(this.word('a group'));
      } else if (this.isWord('snaplen') || this.isWord('queue-threshold')) {
        this.pos += 2;
      } else if (this.isWord('flags')) {
        this.pos++;
        o.flags = this.wordList();
      } else break;
    }
    return Object.keys(o).length ? o : null;
  }

  limitArgs(): J {
    this.expectWord('rate');
    const o: JObj = {};
    if (this.isWord('over')) {
      this.pos++;
      o.inv = true;
    }
    const t = this.peek();
    const a = this.word('a rate');
    let m = /^(\d+)\/(second|minute|hour|day|week)$/.exec(a);
    if (m) {
      o.rate = Number(m[1]);
      o.per = m[2];
    } else if (/^\d+$/.test(a)) {
      const u = this.word('a rate unit');
      m = /^(bytes|kbytes|mbytes)\/(second|minute|hour|day|week)$/.exec(u);
      if (!m) this.fail(t, `limit rate "${a} ${u}" is not N/unit or N bytes/unit`);
      o.rate = Number(a);
      o.rate_unit = m[1];
      o.per = m[2];
    } else this.fail(t, `limit rate "${a}" is not N/second, N/minute, ...`);
    if (this.isWord('burst')) {
      this.pos++;
      o.burst = Number(this.word('a burst'));
      if (this.isWord('packets')) this.pos++;
      else if (this.isWord('bytes') || this.isWord('kbytes') || this.isWord('mbytes')) o.burst_unit = this.next().v;
    }
    return o;
  }

  rejectArgs(): J {
    if (!this.isWord('with')) {
      // nft's default per family, as `nft -j` lists it.
      const type = this.fam === 'ip' ? 'icmp' : this.fam === 'ip6' ? 'icmpv6' : 'icmpx';
      return { type, expr: 'port-unreachable' };
    }
    this.pos++;
    let type = this.word('tcp, icmp, icmpv6 or icmpx');
    if (type === 'tcp') {
      this.expectWord('reset');
      return { type: 'tcp reset' };
    }
    if (type === 'icmp6') type = 'icmpv6';
    if (this.isWord('type')) this.pos++;
    return { type, expr: this.word('a reject code') };
  }

  natArgs(kind: string): J {
    const o: JObj = {};
    if ((this.isWord('ip') || this.isWord('ip6')) && (this.isWord('to', 1) || this.isWord('prefix', 1) || this.isWord('addr', 1))) {
      const f = this.next().v;
      if (this.fam === 'inet') o.family = f;
    }
    if (this.isWord('prefix')) {
      this.pos++;
      o.type_flags = 'prefix';
    }
    if (this.isWord('to')) {
      this.pos++;
      const t = this.peek();
      if (t.k === 'word' && startsSelector(t.v)) {
        const sel = this.selector();
        if (!isObj(sel) || !isObj(sel.map)) this.unsupported(t, 'NAT to an expression needs "map"');
        o.addr = sel;
      } else {
        const w = this.word('an address');
        Object.assign(o, natTarget(w, kind === 'masquerade' || kind === 'redirect'));
      }
    }
    const flags: string[] = [];
    while (this.peek().k === 'word' && this.peek().v.split(',').every((f) => NAT_FLAGS.has(f))) {
      flags.push(...this.next().v.split(','));
      while (this.peek().k === ',') {
        this.pos++;
        flags.push(this.word());
      }
    }
    if (o.type_flags === 'prefix' && !flags.includes('netmap')) flags.unshift('netmap');
    if (flags.length) o.flags = flags;
    return Object.keys(o).length ? o : null;
  }
}

/** The payload protocol a `meta l4proto` / `ether type` value is the dependency of. */
const L4_DEP: Readonly<Record<string, string>> = { tcp: 'tcp', udp: 'udp', icmp: 'icmp', 'ipv6-icmp': 'icmpv6', icmpv6: 'icmpv6', sctp: 'sctp', dccp: 'dccp', udplite: 'udplite' };
const L3_DEP: Readonly<Record<string, string>> = { ip: 'ip', ip6: 'ip6', arp: 'arp', '8021q': 'vlan', vlan: 'vlan' };

/**
 * nft drops a protocol match written just before a header match that implies it (`meta l4proto icmp
 * icmp type echo-request` is stored and listed as `icmp type echo-request`); do the same, so text
 * and JSON give one IR. compile.ts adds every header match's dependency back.
 */
function elideDependencies(exprs: J[], starts: Tok[]): void {
  for (let k = exprs.length - 2; k >= 0; k--) {
    const a = exprs[k];
    const b = exprs[k + 1];
    if (!isObj(a) || !isObj(a.match) || a.match.op !== '==' || typeof a.match.right !== 'string') continue;
    if (!isObj(b) || !isObj(b.match) || !isObj(b.match.left) || !isObj(b.match.left.payload)) continue;
    const left = a.match.left;
    const proto = b.match.left.payload.protocol;
    const dep = isObj(left) && isObj(left.meta) && left.meta.key === 'l4proto' ? L4_DEP[a.match.right]
      : isObj(left) && isObj(left.payload) && left.payload.protocol === 'ether' && left.payload.field === 'type' ? L3_DEP[a.match.right]
      : undefined;
    if (dep !== undefined && dep === proto) {
      exprs.splice(k, 1);
      starts.splice(k, 1);
    }
  }
}

const PROTO_ALIAS: Readonly<Record<string, string>> = { icmpv6: 'ipv6-icmp', icmp6: 'ipv6-icmp' };

function isProtoSel(j: J): boolean {
  if (!isObj(j)) return false;
  if (isObj(j.meta)) return j.meta.key === 'l4proto';
  if (isObj(j.payload)) return (j.payload.protocol === 'ip' && j.payload.field === 'protocol') || (j.payload.protocol === 'ip6' && j.payload.field === 'nexthdr');
  if (isObj(j.ct)) return j.ct.key === 'protocol';
  return false;
}

function mapStrings(j: J, f: (s: string) => string): J {
  if (typeof j === 'string') return f(j);
  if (Array.isArray(j)) return j.map((x) => mapStrings(x, f));
  if (isObj(j) && Array.isArray(j.set)) return { set: j.set.map((x) => mapStrings(x, f)) };
  return j;
}

/** Words that begin a selector expression. */
function startsSelector(w: string): boolean {
  return !!PAYLOAD[w] || w === 'meta' || UNQUALIFIED_META.has(w) || w === 'ct' || w === 'fib' || w === 'numgen';
}

/** [a, b, c] → {"|": [{"|": [a, b]}, c]} as nft -j nests it (flattened again by nft_json). */
function orChain(list: J[]): J[] {
  let acc: J = list[0];
  for (let i = 1; i < list.length - 1; i++) acc = { '|': [acc, list[i]] };
  return [acc, list[list.length - 1]];
}

const IPV4 = /^(\d{1,3}\.){3}\d{1,3}$/;
const IPV6 = /^[0-9a-fA-F]*:[0-9a-fA-F:.]*$/;
const MAC = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;
const TIME = /^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+)s)?(?:(\d+)ms)?$/;

function isAddrOrNum(s: string): boolean {
  return /^(0x[0-9a-fA-F]+|\d+)$/.test(s) || IPV4.test(s) || IPV6.test(s) || MAC.test(s);
}

/** Seconds of an nft time value (`10s`, `1h`, `4m59s992ms`), or null. */
function timeValue(s: string): number | null {
  if (!/[dhms]$/.test(s)) return null;
  const m = TIME.exec(s);
  if (!m || s === '') return null;
  const [, d, h, mi, se, ms] = m;
  return Number(d ?? 0) * 86400 + Number(h ?? 0) * 3600 + Number(mi ?? 0) * 60 + Number(se ?? 0) + Math.floor(Number(ms ?? 0) / 1000);
}

/** A word as nft -j would list its value: number, prefix, range, time, exists/missing, or string. */
function scalar(w: string): J {
  if (/^\d+$/.test(w)) return Number(w);
  if (/^0x[0-9a-fA-F]+$/.test(w)) return parseInt(w, 16);
  if (w === 'exists') return true;
  if (w === 'missing') return false;
  const slash = w.indexOf('/');
  if (slash > 0) {
    const a = w.slice(0, slash);
    const l = w.slice(slash + 1);
    if ((IPV4.test(a) || IPV6.test(a)) && /^\d+$/.test(l)) {
      const len = Number(l);
      if ((IPV4.test(a) && len === 32) || (!IPV4.test(a) && len === 128)) return a;
      return { prefix: { addr: a, len } };
    }
  }
  const dash = w.indexOf('-');
  if (dash > 0 && dash === w.lastIndexOf('-')) {
    const a = w.slice(0, dash);
    const b = w.slice(dash + 1);
    if (isAddrOrNum(a) && isAddrOrNum(b)) return { range: [scalar(a), scalar(b)] };
  }
  const t = timeValue(w);
  if (t !== null) return t;
  return w;
}

/** NAT `to` argument: `A`, `A-B`, `A:P`, `A-B:P-Q`, `[A6]:P`, `A6`, `:P`, `A/len`. */
function natTarget(w: string, portOnly: boolean): JObj {
  const o: JObj = {};
  let addr = w;
  let port: string | null = null;
  const br = /^\[([^\]]+)\](?::(.+))?$/.exec(w);
  if (br) {
    addr = br[1]!;
    port = br[2] ?? null;
  } else if (w.startsWith(':')) {
    addr = '';
    port = w.slice(1);
  } else if ((w.match(/:/g) ?? []).length === 1) {
    const c = w.indexOf(':');
    addr = w.slice(0, c);
    port = w.slice(c + 1);
  }
  if (addr !== '' && !portOnly) {
    const v = scalar(addr);
    o.addr = v;
  }
  if (port !== null) {
    const p = scalar(port);
    o.port = p;
  }
  return o;
}
