/**
 * Helpers for tests/golden/nft_trace.test.ts: turn the kernel's `nft monitor trace` (as parsed by the
 * oracle harness into trace/nft-trace.json) into per-input-packet sequences of base-chain evaluations,
 * turn the model's `nf` steps into the same shape, and compare. The matching rules are described in
 * tests/golden/NFT_TRACE.md.
 *
 * Pure data in, data out: no dependency on the model beyond the Step shape of its trace records.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Emitted, Step } from '../../src/stack/record.js';

// ---------------------------------------------------------------------------------------------------
// Kernel side: events → hook visits

/** One event of trace/nft-trace.json. */
export interface TraceEvent {
  line: number;
  rx_time: number;
  id: string;
  family: string;
  table: string;
  chain: string;
  kind: string; // packet | rule | policy | return (others are kept as unknown kinds)
  packet?: string;
  iif?: string;
  oif?: string;
  verdict?: string;
  handle?: number;
  rule?: string;
}

/** Header fields of a visit's `packet:` line (only those printed). */
export interface PktFields {
  iif?: string;
  oif?: string;
  etherSrc?: string;
  etherDst?: string;
  /** 'ip' | 'arp' | 'ip6' | undefined */
  l3?: string;
  saddr?: string;
  daddr?: string;
  ipid?: number;
  proto?: string;
  sport?: number;
  dport?: number;
  tcpFlags?: number;
  icmpType?: number;
  icmpCode?: number;
  icmpId?: number;
  arpOp?: number;
}

/** One rule line of a visit. */
export interface VisitRule {
  chain: string;
  handle: number | null;
  verdict: string;
}

/** One base-chain evaluation seen by the kernel. */
export interface KVisit {
  /** Position in monitor order (0-based). */
  seq: number;
  id: string;
  line: number;
  rx: number;
  family: string;
  table: string;
  chain: string;
  packet: string;
  fields: PktFields;
  rules: VisitRule[];
  /** accept | drop | queue | policy-accept | policy-drop | null (no terminal event seen). */
  final: string | null;
}

/** Result of grouping events into visits. */
export interface VisitParse {
  visits: KVisit[];
  /** Events that belong to no open visit (their `packet` line was not seen): lost events. */
  orphans: TraceEvent[];
}

const TERMINAL = new Set(['accept', 'drop', 'queue', 'stolen']);

/** First word of a verdict (`jump sub` → `jump`), lower case. */
export function verdictWord(v: string | undefined): string {
  return (v ?? '').trim().split(/\s+/)[0].toLowerCase();
}

/**
 * Group events into hook visits: a `packet` event opens a visit of (id, family, table, chain); the
 * following `rule` / `policy` / `return` events with the same id, family and table belong to the
 * most recent open visit with that key (rules of a jumped-to chain carry that chain's name). A
 * terminal rule verdict (accept/drop/queue) or a `policy` event closes the visit.
 */
export function groupVisits(events: TraceEvent[]): VisitParse {
  const visits: KVisit[] = [];
  const orphans: TraceEvent[] = [];
  const open = new Map<string, KVisit>();
  for (const e of events) {
    const key = `${e.id}|${e.family}|${e.table}`;
    if (e.kind === 'packet') {
      const v: KVisit = {
        seq: visits.length, id: e.id, line: e.line, rx: e.rx_time, family: e.family, table: e.table, chain: e.chain,
        packet: e.packet ?? '', fields: parsePacketFields(e.packet ?? ''), rules: [], final: null,
      };
      visits.push(v);
      open.set(key, v); // an unterminated previous visit stays with final = null
      continue;
    }
    const v = open.get(key);
    if (!v) {
      orphans.push(e);
      continue;
    }
    if (e.kind === 'rule') {
      const verdict = verdictWord(e.verdict);
      v.rules.push({ chain: e.chain, handle: e.handle ?? null, verdict });
      if (TERMINAL.has(verdict)) {
        v.final = verdict;
        open.delete(key);
      }
    } else if (e.kind === 'policy') {
      v.final = `policy-${verdictWord(e.verdict)}`;
      open.delete(key);
    } else if (e.kind === 'return') {
      // NFT_TRACETYPE_RETURN: leaving a jumped-to chain (no handle when it fell off its end; the
      // model records that as rule 'end of chain', verdict return).
      v.rules.push({ chain: e.chain, handle: e.handle ?? null, verdict: 'return' });
    } else {
      orphans.push(e);
    }
  }
  return { visits, orphans };
}

const ICMP_TYPES: Record<string, number> = {
  'echo-reply': 0, 'destination-unreachable': 3, 'source-quench': 4, redirect: 5, 'echo-request': 8,
  'router-advertisement': 9, 'router-solicitation': 10, 'time-exceeded': 11, 'parameter-problem': 12,
  'timestamp-request': 13, 'timestamp-reply': 14, 'info-request': 15, 'info-reply': 16,
  'address-mask-request': 17, 'address-mask-reply': 18,
};
const ICMP_CODES: Record<string, number> = {
  'net-unreachable': 0, 'host-unreachable': 1, 'prot-unreachable': 2, 'port-unreachable': 3, 'frag-needed': 4,
  'net-prohibited': 9, 'host-prohibited': 10, 'admin-prohibited': 13,
};
const TCP_FLAG_BITS: Record<string, number> = { fin: 1, syn: 2, rst: 4, psh: 8, ack: 16, urg: 32, ecn: 64, cwr: 128 };
const TCP_FLAG_LETTERS: Record<string, number> = { F: 1, S: 2, R: 4, P: 8, A: 16, U: 32, E: 64, C: 128 };

function num(s: string | undefined, names?: Record<string, number>): number | undefined {
  if (s === undefined) return undefined;
  if (names && s in names) return names[s];
  const n = s.startsWith('0x') ? parseInt(s, 16) : Number(s);
  return Number.isFinite(n) ? n : undefined;
}

/** `syn`, `0x12`, `syn | ack` → bits. */
export function parseTcpFlags(s: string): number | undefined {
  let bits = 0;
  for (const part of s.split('|').map((x) => x.trim()).filter(Boolean)) {
    const v = num(part, TCP_FLAG_BITS);
    if (v === undefined) return undefined;
    bits |= v;
  }
  return bits;
}

/** Truth's `SA`, `FA`, `PA` → bits. */
export function tcpLetters(s: string): number {
  let bits = 0;
  for (const c of s) bits |= TCP_FLAG_LETTERS[c] ?? 0;
  return bits;
}

/** Parse the header part of an nft trace `packet:` line. */
export function parsePacketFields(text: string): PktFields {
  const f: PktFields = {};
  const m = (re: RegExp) => re.exec(text)?.[1];
  f.iif = m(/(?:^|\s)iif "([^"]*)"/);
  f.oif = m(/(?:^|\s)oif "([^"]*)"/);
  f.etherSrc = m(/ether saddr (\S+)/);
  f.etherDst = m(/ether daddr (\S+)/);
  if (/(?:^|\s)ip saddr /.test(text)) {
    f.l3 = 'ip';
    f.saddr = m(/(?:^|\s)ip saddr (\S+)/);
    f.daddr = m(/(?:^|\s)ip daddr (\S+)/);
    f.ipid = num(m(/(?:^|\s)ip id (\S+)/));
    f.proto = m(/(?:^|\s)ip protocol (\S+)/);
  } else if (/(?:^|\s)arp /.test(text)) {
    f.l3 = 'arp';
    const op = m(/arp operation (\S+)/);
    f.arpOp = op === 'request' ? 1 : op === 'reply' ? 2 : num(op);
  } else if (/(?:^|\s)ip6 /.test(text)) f.l3 = 'ip6';
  if (f.l3 === 'ip') {
    // `ip protocol` is not printed in ip-family chains: infer it from the transport header printed.
    const l4 = m(/(?:^|\s)(tcp|udp|icmp) (?:sport|dport|type|flags)/);
    if (f.proto === undefined) f.proto = l4;
    if (f.proto === 'tcp' || f.proto === 'udp') {
      f.sport = num(m(new RegExp(`(?:^|\\s)${f.proto} sport (\\S+)`)));
      f.dport = num(m(new RegExp(`(?:^|\\s)${f.proto} dport (\\S+)`)));
    }
    if (f.proto === 'tcp') {
      const fl = m(/tcp flags == ((?:\S+)(?: \| \S+)*)/);
      if (fl !== undefined) f.tcpFlags = parseTcpFlags(fl);
    }
    if (f.proto === 'icmp') {
      f.icmpType = num(m(/icmp type (\S+)/), ICMP_TYPES);
      f.icmpCode = num(m(/icmp code (\S+)/), ICMP_CODES);
      f.icmpId = num(m(/icmp id (\S+)/));
    }
  }
  return f;
}

/**
 * Canonical text of one visit: `family table chain [handle:verdict ...] final`; rules of a jumped-to
 * chain as `chain/handle:verdict`, an implicit return (no rule) as `chain/return`.
 */
export function visitText(family: string, table: string, chain: string, rules: VisitRule[], final: string | null): string {
  const r = rules.map((x) => `${x.chain !== chain ? x.chain + '/' : ''}${x.handle === null ? '' : x.handle + ':'}${x.verdict}`).join(' ');
  return `${family} ${table} ${chain} [${r}] ${final ?? '(no verdict)'}`;
}

export function kVisitText(v: KVisit): string {
  return visitText(v.family, v.table, v.chain, v.rules, v.final);
}

// ---------------------------------------------------------------------------------------------------
// Model side: nf steps → visits

type NfStep = Extract<Step, { kind: 'nf' }>;

/**
 * Group the model's nf steps into base-chain evaluations: consecutive nf steps of the same namespace,
 * family, table, hook and priority form one visit (the base chain is the first step's chain: a
 * jumped-to chain is only entered through a traced jump rule of the base chain); a terminal verdict
 * (accept/drop/queue/policy-*) or any other step closes it. Only steps of namespace `ns`.
 */
export function modelVisits(steps: readonly unknown[], ns: string): string[] {
  const out: string[] = [];
  let cur: { s: NfStep; rules: VisitRule[]; final: string | null } | null = null;
  const close = () => {
    if (cur) out.push(visitText(cur.s.family, cur.s.table, cur.s.chain, cur.rules, cur.final));
    cur = null;
  };
  for (const raw of steps) {
    const st = raw as Step;
    if (st.kind !== 'nf') {
      close();
      continue;
    }
    if (st.ns !== ns) continue;
    if (cur && (cur.s.family !== st.family || cur.s.table !== st.table || cur.s.hook !== st.hook || cur.s.prio !== st.prio)) close();
    if (!cur) cur = { s: st, rules: [], final: null };
    if (st.rule === 'policy') {
      cur.final = st.verdict; // policy-accept | policy-drop
      close();
      continue;
    }
    const m = /^(\d+) /.exec(st.rule);
    const verdict = verdictWord(st.verdict);
    cur.rules.push({ chain: st.chain, handle: m ? Number(m[1]) : null, verdict });
    if (TERMINAL.has(verdict)) {
      cur.final = verdict;
      close();
    }
  }
  close();
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Truth, inputs, world

/** Header view of truth.jsonl (`key`, `out`). */
export interface TruthKey {
  l3: string;
  proto?: string;
  src?: string;
  dst?: string;
  ipid?: number;
  sport?: number;
  dport?: number;
  tcp_flags?: string;
  icmp_type?: number;
  icmp_code?: number;
  icmp_id?: number;
  arp_op?: number;
  sha?: string;
  spa?: string;
  tpa?: string;
}

export interface TruthEmitted {
  type: string;
  dev?: string;
  src?: string;
  dst?: string;
  spa?: string;
  tpa?: string;
  icmp_type?: number;
  icmp_code?: number;
  host_any_frame?: number;
}

export interface TruthRec {
  index: number;
  ts: string;
  in: { ns: string; dev: string };
  key: TruthKey;
  final: { verdict: string; dev?: string };
  out?: { src?: string; dst?: string; sport?: number; dport?: number; icmp_id?: number };
  emitted?: TruthEmitted[];
  source?: { input?: string };
}

/** Ethernet addresses of each frame of a classic pcap file (µs or ns), Ethernet link type only. */
export function pcapEtherAddrs(path: string): { src: string; dst: string }[] | null {
  const b = readFileSync(path);
  if (b.length < 24) return null;
  const magicLE = b.readUInt32LE(0);
  let le: boolean;
  if (magicLE === 0xa1b2c3d4 || magicLE === 0xa1b23c4d) le = true;
  else if (b.readUInt32BE(0) === 0xa1b2c3d4 || b.readUInt32BE(0) === 0xa1b23c4d) le = false;
  else return null;
  const u32 = (o: number) => (le ? b.readUInt32LE(o) : b.readUInt32BE(o));
  if ((u32(20) & 0x0fffffff) !== 1) return null; // not Ethernet
  const mac = (o: number) => Array.from(b.subarray(o, o + 6), (x) => x.toString(16).padStart(2, '0')).join(':');
  const out: { src: string; dst: string }[] = [];
  for (let o = 24; o + 16 <= b.length; ) {
    const incl = u32(o + 8);
    const d = o + 16;
    out.push(incl >= 14 ? { dst: mac(d), src: mac(d + 6) } : { dst: '', src: '' });
    o = d + incl;
  }
  return out;
}

/** Master (bridge) of each device, and ports of each bridge, from a world's `ns/<ns>/link.json`. */
export function bridgeTopology(worldDir: string, ns: string): { master: Map<string, string>; ports: Map<string, string[]> } {
  const master = new Map<string, string>();
  const ports = new Map<string, string[]>();
  const p = join(worldDir, 'ns', ns, 'link.json');
  if (existsSync(p)) {
    for (const l of JSON.parse(readFileSync(p, 'utf8')) as { ifname: string; master?: string }[]) {
      if (!l.master) continue;
      master.set(l.ifname, l.master);
      ports.set(l.master, [...(ports.get(l.master) ?? []), l.ifname]);
    }
  }
  return { master, ports };
}

// ---------------------------------------------------------------------------------------------------
// Attribution of visits to input packets

/** An input packet as the matcher sees it. */
export interface InputPkt {
  t: TruthRec;
  ts: number;
  ether: { src: string; dst: string } | null;
}

/** A model record reduced to what the comparison needs. */
export interface ModelRec {
  index: number;
  steps: readonly unknown[];
  emitted: readonly Emitted[];
}

/** An explicit exclusion of a kernel visit (not caused by any input packet). */
export interface ExcludedVisit {
  visit: KVisit;
  reason: string;
}

/** Background frames the harness could not attribute (truth/summary.json). */
export interface Unattributed {
  host_any_frame?: number;
  dev: string;
  what: string;
  why: string;
}

export interface Attribution {
  /** Input packet index → its own visits, in monitor order. */
  own: Map<number, KVisit[]>;
  /** Input packet index → emitted label → visits of that generated packet. */
  gen: Map<number, Map<string, KVisit[]>>;
  excluded: ExcludedVisit[];
  unattributed: KVisit[];
  /** Visits for which more than one input packet fitted (resolved by earliest arrival). */
  ambiguous: { visit: KVisit; candidates: number[]; chosen: number }[];
  incomplete: KVisit[];
}

function sameOrUndef<T>(a: T | undefined, choices: (T | undefined)[]): boolean {
  if (a === undefined) return true;
  return choices.some((c) => c !== undefined && c === a);
}

/** Devices that can stand for `dev` at a hook: itself, its bridge master, and (for a bridge) its ports. */
function devViews(dev: string | undefined, topo: ReturnType<typeof bridgeTopology>): Set<string> {
  const s = new Set<string>();
  if (!dev) return s;
  s.add(dev);
  const m = topo.master.get(dev);
  if (m) s.add(m);
  for (const p of topo.ports.get(dev) ?? []) s.add(p);
  return s;
}

/**
 * Does visit v show input packet p (as it entered, or after NAT)? See NFT_TRACE.md "Matching".
 * Exported for the unit tests of the matcher.
 */
export function visitMatchesInput(v: KVisit, p: InputPkt, topo: ReturnType<typeof bridgeTopology>): boolean {
  const f = v.fields;
  const k = p.t.key;
  const o = p.t.out ?? {};
  if (p.ts > v.rx) return false; // the monitor cannot report a packet before it arrived
  if (f.iif !== undefined) {
    if (f.iif !== p.t.in.dev && topo.master.get(p.t.in.dev) !== f.iif) return false;
    // With an input device printed, the MAC header is still the one the frame arrived with.
    if (p.ether && f.etherSrc !== undefined && f.etherSrc !== p.ether.src) return false;
    if (p.ether && f.etherDst !== undefined && f.etherDst !== p.ether.dst) return false;
  }
  if (f.oif !== undefined) {
    // Output-side hooks (no iif printed: bridge/inet output, and what follows) see an input packet
    // only when it is transmitted, towards its egress device (or that device's bridge).
    if (f.iif === undefined && p.t.final.verdict !== 'transmitted') return false;
    const d = p.t.final.dev;
    if (p.t.final.verdict === 'transmitted' && d && f.oif !== d && topo.master.get(d) !== f.oif) return false;
  }
  if (f.iif === undefined && f.oif === undefined) return false;
  if (f.l3 === 'arp') {
    // An ARP frame the host sends (no iif) is never an input packet: input ARP is bridged (iif and
    // oif printed) or consumed.
    if (f.iif === undefined) return false;
    if (k.l3 !== 'arp' || f.arpOp !== k.arp_op) return false;
    if (!p.ether && f.etherSrc !== undefined && k.sha !== undefined && f.iif !== undefined && f.etherSrc !== k.sha) return false;
    return true;
  }
  if (f.l3 !== 'ip' || k.l3 !== 'ipv4') return false;
  if (f.ipid === undefined || f.ipid !== k.ipid) return false;
  if (f.proto !== undefined && f.proto !== k.proto) return false;
  if (!sameOrUndef(f.saddr, [k.src, o.src]) || !sameOrUndef(f.daddr, [k.dst, o.dst])) return false;
  if (!sameOrUndef(f.sport, [k.sport, o.sport]) || !sameOrUndef(f.dport, [k.dport, o.dport])) return false;
  if (f.tcpFlags !== undefined && (k.tcp_flags === undefined || f.tcpFlags !== tcpLetters(k.tcp_flags))) return false;
  if (f.icmpType !== undefined && f.icmpType !== k.icmp_type) return false;
  if (f.icmpCode !== undefined && f.icmpCode !== k.icmp_code) return false;
  if (!sameOrUndef(f.icmpId, [k.icmp_id, o.icmp_id])) return false;
  return true;
}

/** The egress device a model emitted packet left by (`fate: transmitted on ns:dev`), else its dev. */
export function modelEmittedDev(e: Emitted): string {
  const m = /on [^:\s]+:(\S+)/.exec(e.fate ?? '');
  return m ? m[1] : e.dev ?? '-';
}

/** Labels `type@dev#n` of a list of emitted packets (n counts earlier ones with the same type@dev). */
export function emittedLabels(list: { type: string; dev: string }[]): string[] {
  const seen = new Map<string, number>();
  return list.map((e) => {
    const base = `${e.type}@${e.dev}`;
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    return `${base}#${n}`;
  });
}

/**
 * Assign every kernel visit to an input packet (its own visits), to a packet the host generated
 * because of an input packet (truth `emitted`), or to an explicit exclusion (background frames the
 * harness itself lists as unattributed); the rest is `unattributed`.
 */
export function attribute(
  visits: KVisit[],
  inputs: InputPkt[],
  models: Map<number, ModelRec>,
  topo: ReturnType<typeof bridgeTopology>,
  background: Unattributed[],
): Attribution {
  const own = new Map<number, KVisit[]>();
  const gen = new Map<number, Map<string, KVisit[]>>();
  const excluded: ExcludedVisit[] = [];
  const unattributed: KVisit[] = [];
  const ambiguous: Attribution['ambiguous'] = [];
  const incomplete = visits.filter((v) => v.final === null);
  const consumed = new Set<string>(); // `${index}|${family} ${table} ${chain} ${oif}`
  const rest: KVisit[] = [];

  // 1. The input packets' own visits: header fields, then earliest arrival among those not yet seen
  //    at that chain (towards that output device).
  for (const v of visits) {
    const ck = `${v.family} ${v.table} ${v.chain} ${v.fields.oif ?? ''}`;
    const cands = inputs.filter((p) => !consumed.has(`${p.t.index}|${ck}`) && visitMatchesInput(v, p, topo));
    if (cands.length === 0) {
      rest.push(v);
      continue;
    }
    const chosen = cands.reduce((a, b) => (b.ts < a.ts ? b : a));
    if (cands.length > 1) ambiguous.push({ visit: v, candidates: cands.map((c) => c.t.index), chosen: chosen.t.index });
    consumed.add(`${chosen.t.index}|${ck}`);
    if (!own.has(chosen.t.index)) own.set(chosen.t.index, []);
    own.get(chosen.t.index)!.push(v);
  }

  // 2. Packets the host generated. IPv4 visits of one generated packet share trace id, ip id and
  //    l4 descriptors; ARP ones are single visits (bridge output).
  interface Slot { p: InputPkt; e: TruthEmitted; label: string; model: Emitted | null; used: boolean }
  const slots: Slot[] = [];
  for (const p of inputs) {
    const te = p.t.emitted ?? [];
    const labels = emittedLabels(te.map((e) => ({ type: e.type, dev: e.dev ?? '-' })));
    const m = models.get(p.t.index);
    const mEm = m ? [...m.emitted] : [];
    const mLabels = emittedLabels(mEm.map((e) => ({ type: e.type, dev: modelEmittedDev(e) })));
    te.forEach((e, i) => {
      const j = mLabels.indexOf(labels[i]);
      slots.push({ p, e, label: labels[i], model: j >= 0 ? mEm[j] : null, used: false });
    });
  }
  const groups = new Map<string, KVisit[]>();
  const order: string[] = [];
  for (const v of rest) {
    const f = v.fields;
    const g = f.l3 === 'ip' ? `ip|${v.id}|${f.ipid}|${f.proto}|${f.icmpType}|${f.icmpCode}|${f.tcpFlags}` : `v|${v.seq}`;
    if (!groups.has(g)) {
      groups.set(g, []);
      order.push(g);
    }
    groups.get(g)!.push(v);
  }
  const bg = background.map((b) => ({ ...b, used: false }));
  for (const g of order) {
    const vs = groups.get(g)!;
    const first = vs[0];
    const fits = (s: Slot): boolean => {
      if (s.used || s.p.ts > first.rx) return false;
      const e = s.e;
      const f = first.fields;
      if (f.l3 === 'arp') {
        return vs.length === 1 && f.iif === undefined && e.type === (f.arpOp === 1 ? 'arp-request' : f.arpOp === 2 ? 'arp-reply' : '?') &&
          f.oif !== undefined && devViews(e.dev, topo).has(f.oif);
      }
      if (f.l3 !== 'ip') return false;
      if (e.icmp_type !== undefined && (f.proto !== 'icmp' || f.icmpType !== e.icmp_type || (e.icmp_code !== undefined && f.icmpCode !== e.icmp_code))) return false;
      if (/rst|reset/.test(e.type) && (f.proto !== 'tcp' || ((f.tcpFlags ?? 0) & 4) === 0)) return false;
      if (e.icmp_type === undefined && !/rst|reset/.test(e.type)) return false;
      // Some visit shows it with the addresses the harness saw on the egress device (after NAT),
      // or with those the model generated it with (before NAT), towards that device.
      const views = [[e.src, e.dst], ...(s.model ? [[s.model.src, s.model.dst]] : [])];
      return vs.some((v) => views.some(([a, b]) => v.fields.saddr === a && v.fields.daddr === b)) &&
        vs.some((v) => v.fields.oif !== undefined && devViews(e.dev, topo).has(v.fields.oif));
    };
    const cands = slots.filter(fits);
    if (cands.length > 0) {
      const s = cands.reduce((a, b) => (b.p.ts < a.p.ts ? b : a));
      s.used = true;
      if (!gen.has(s.p.t.index)) gen.set(s.p.t.index, new Map());
      const m = gen.get(s.p.t.index)!;
      m.set(s.label, [...(m.get(s.label) ?? []), ...vs]);
      continue;
    }
    // 3. Background frames the harness lists as host-originated and not caused by any input packet.
    const f = first.fields;
    const b = vs.length === 1 && f.l3 === 'arp' && f.iif === undefined
      ? bg.find((x) => !x.used && x.dev === f.oif && x.what.startsWith(f.arpOp === 1 ? 'ARP request' : 'ARP reply'))
      : undefined;
    if (b) {
      b.used = true;
      excluded.push({ visit: first, reason: `${b.what} out ${b.dev}: ${b.why} — listed in truth/summary.json host_originated_frames_not_attributed (host-any frame ${b.host_any_frame}); caused by no input packet` });
      continue;
    }
    unattributed.push(...vs);
  }
  return { own, gen, excluded, unattributed, ambiguous, incomplete };
}

// ---------------------------------------------------------------------------------------------------
// Per-packet sequences

/** The kernel's sequence for one input packet: own visits, then `label: visit` for generated ones. */
export function kernelSequence(index: number, a: Attribution): string[] {
  const own = (a.own.get(index) ?? []).map(kVisitText);
  const gen: string[] = [];
  const g = a.gen.get(index);
  if (g) for (const label of [...g.keys()].sort()) for (const v of g.get(label)!) gen.push(`${label}: ${kVisitText(v)}`);
  return [...own, ...gen];
}

/** The model's sequence for one input packet, in the same shape. */
export function modelSequence(m: ModelRec, ns: string): string[] {
  const own = modelVisits(m.steps, ns);
  const labels = emittedLabels(m.emitted.map((e) => ({ type: e.type, dev: modelEmittedDev(e) })));
  const byLabel: [string, string[]][] = m.emitted.map((e, i) => [labels[i], modelVisits(e.steps ?? [], ns)]);
  const gen: string[] = [];
  for (const [label, vs] of byLabel.sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0))) for (const v of vs) gen.push(`${label}: ${v}`);
  return [...own, ...gen];
}

// ---------------------------------------------------------------------------------------------------
// Scenario files

export interface TraceFile {
  events: TraceEvent[];
  event_count?: number;
  /** The harness's own grouping (used only as a cross-check of groupVisits). */
  hook_visits?: { id: string; family: string; table: string; chain: string; first_line: number; rules: { chain: string; handle: number; verdict: string }[]; final: string }[];
}

/** The harness's hook_visits in visitText form, for cross-checking groupVisits. */
export function harnessVisitTexts(tf: TraceFile): string[] | null {
  if (!tf.hook_visits) return null;
  return tf.hook_visits.map((h) => visitText(h.family, h.table, h.chain,
    h.rules.map((r) => ({ chain: r.chain, handle: r.handle, verdict: verdictWord(r.verdict) })),
    h.final ? h.final.replace(/^policy /, 'policy-') : null));
}

export function loadTrace(path: string): TraceFile {
  return JSON.parse(readFileSync(path, 'utf8')) as TraceFile;
}

export function loadTruth(path: string): TruthRec[] {
  return readFileSync(path, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TruthRec);
}

/** Input packets with their Ethernet addresses (from truth `source.input` = `inputs/<dev>.pcap#<n>`). */
export function loadInputs(truth: TruthRec[], truthDir: string): InputPkt[] {
  const cache = new Map<string, { src: string; dst: string }[] | null>();
  return truth.map((t) => {
    let ether: { src: string; dst: string } | null = null;
    const m = /^(.+)#(\d+)$/.exec(t.source?.input ?? '');
    if (m) {
      const file = join(truthDir, m[1]);
      if (!cache.has(file)) cache.set(file, existsSync(file) ? pcapEtherAddrs(file) : null);
      ether = cache.get(file)?.[Number(m[2])] ?? null;
    }
    return { t, ts: Number(t.ts), ether };
  });
}

export function loadBackground(truthDir: string): Unattributed[] {
  const p = join(truthDir, 'summary.json');
  if (!existsSync(p)) return [];
  return ((JSON.parse(readFileSync(p, 'utf8')) as { host_originated_frames_not_attributed?: Unattributed[] }).host_originated_frames_not_attributed ?? []);
}

/** `.pcap` inputs of a truth directory as `file@ns:dev` replay arguments. */
export function inputArgs(dir: string, ns: string): string[] {
  return readdirSync(join(dir, 'inputs')).filter((f) => f.endsWith('.pcap')).sort().map((f) => `${join(dir, 'inputs', f)}@${ns}:${f.slice(0, -5)}`);
}
