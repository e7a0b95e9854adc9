/**
 * The model against the kernel, per packet: verdict and place (the verdict, and the egress device or
 * the namespace that kept it), then the details — drop reason, netfilter table/chain of a drop,
 * post-NAT header, devices crossed, the answers generated (RST, ICMP errors, echo replies) — and the
 * conntrack tables after the traffic. Also the agreement table and the text and JSON reports.
 */
import { ICMP_NAMES } from '../stack/icmp.js';
import { icmp6Name } from '../stack/icmp6.js'; // the model's names, so both sides compare by type/code
import type { TraceRecord } from '../trace/schema.js';
import type { Final, HdrTuple, Step } from '../stack/record.js';
import type { KernelFate } from './truth.js';

/** The model's view of one packet, reduced to what the kernel can be compared with. */
export interface ModelFate {
  verdict: string;
  ns: string;
  dev?: string;
  also?: string[];
  reason?: string;
  where?: { family: string; table: string; chain: string; rule: string };
  out?: HdrTuple;
  socket?: string;
  sockPort?: number;
  detail?: string;
  devices: string[];
  emitted: Array<{ type: string; ns: string; detail: string }>;
  /** The packet met a random choice (statistic random, numgen random): the endpoint is the kernel's dice. */
  random: boolean;
  /** Its source port was mapped at random (masquerade / snat with random or fully-random): the port is the kernel's dice. */
  randomPort: boolean;
}

/** One difference. */
export interface Diff {
  field: 'verdict' | 'place' | 'reason' | 'where' | 'out' | 'socket' | 'devices' | 'emitted';
  kernel: string;
  model: string;
}

/** One packet compared. */
export interface PacketResult {
  index: number;
  ts: string;
  /** The input (scenario) it came from: FILE@NS:DEV. */
  input: string;
  pkt: string;
  kernel: KernelFate;
  model: ModelFate;
  verdictAgrees: boolean;
  detailAgrees: boolean;
  diffs: Diff[];
  notes: string[];
}

/** Conntrack tables compared, per namespace. */
export interface ConntrackResult {
  ns: string;
  kernel: string[];
  model: string[];
  agree: number;
  total: number;
}

/** Chains holding a random match, as "ns family table chain". */
export const RANDOM_RULE = /statistic\b.*\brandom\b|numgen random|meta random/;
/** Source NAT whose port is drawn at random (NF_NAT_RANGE_PROTO_RANDOM, _RANDOM_FULLY). */
export const RANDOM_PORT_RULE = /\b(masquerade|snat)\b.*\b(random|fully-random|random-fully)\b/i;

/** The model's view of a trace record; `randomChains` are the chains that hold a random match. */
export function modelFate(r: TraceRecord, randomChains: Set<string> = new Set()): ModelFate {
  const f = r.final as Final;
  const steps = r.steps as Step[];
  const devices = new Set<string>();
  let random = false, randomPort = false;
  for (const s of steps) {
    if (s.kind === 'nf' && RANDOM_PORT_RULE.test(s.rule)) randomPort = true;
    if (s.kind === 'rx' || s.kind === 'tx') devices.add(`${s.ns}:${s.dev}`);
    // A frame passed up to the bridge, or sent by the host through it, shows on the bridge device too.
    else if (s.kind === 'bridge' && (s.action === 'local' || s.action === 'flood' || s.port === '(local)')) devices.add(`${s.ns}:${s.bridge}`);
    else if (s.kind === 'nf' && (RANDOM_RULE.test(s.rule) || randomChains.has(`${s.ns} ${s.family} ${s.table} ${s.chain}`))) random = true;
  }
  const m: ModelFate = { verdict: f.verdict, ns: f.ns, devices: [...devices].sort(), emitted: [], random, randomPort };
  if (f.dev) m.dev = f.dev;
  if (f.also) m.also = f.also;
  if (f.reason) m.reason = f.reason;
  if (f.detail) m.detail = f.detail;
  if (f.where && 'table' in f.where) m.where = { family: f.where.family, table: f.where.table, chain: f.where.chain, rule: f.where.rule };
  if (f.out) m.out = f.out;
  if (f.socket) {
    m.socket = f.socket;
    const p = /:(\d+) /.exec(f.socket);
    if (p) m.sockPort = Number(p[1]);
  }
  // The answers the model sent: one it generated and then dropped (NAT, a neighbour failure...)
  // never reached a wire, as the kernel's capture would show.
  for (const e of r.emitted as Array<{ type: string; ns: string; detail?: string; src: string; dst: string; fate?: string }>) {
    if (e.fate?.startsWith('dropped')) continue;
    if (e.type === 'tcp-rst' || e.type === 'icmp-error' || e.type === 'icmp-echo-reply') m.emitted.push({ type: e.type, ns: e.ns, detail: e.detail ?? '' });
  }
  return m;
}

const hdrText = (h: HdrTuple | undefined): string =>
  !h ? '-' : h.sport !== undefined ? `${h.src}:${h.sport} > ${h.dst}:${h.dport}` : h.icmp_id !== undefined ? `${h.src} > ${h.dst} id ${h.icmp_id}` : `${h.src} > ${h.dst}`;

/** Where the packet ended, as one phrase. */
export function placeText(v: { verdict: string; ns: string; dev?: string; also?: string[] }): string {
  if (v.verdict === 'transmitted') return `transmitted on ${v.ns}:${v.dev}${v.also?.length ? ` (also ${v.also.join(', ')})` : ''}`;
  return `${v.verdict} in ${v.ns}`;
}

/**
 * Compare one packet. `endpoints` lists the DNAT targets of the rulesets ("addr" and "addr:port"),
 * used when the model's path met a random choice.
 */
export function comparePacket(input: string, ts: string, k: KernelFate, m: ModelFate, endpoints: Set<string>): PacketResult {
  const diffs: Diff[] = [];
  const notes: string[] = [];
  const kv = k.verdict, mv = m.verdict;
  if (kv !== mv) diffs.push({ field: 'verdict', kernel: kv, model: mv });
  else {
    const kPlace = kv === 'transmitted' ? [`${k.ns}:${k.dev}`, ...(k.also ?? [])].sort().join(' ') : k.ns;
    const mPlace = mv === 'transmitted' ? [`${m.ns}:${m.dev}`, ...(m.also ?? []).map((d) => (d.includes(':') ? d : `${m.ns}:${d}`))].sort().join(' ') : m.ns;
    if (kPlace !== mPlace) diffs.push({ field: 'place', kernel: placeText(k), model: placeText(m) });
  }
  const verdictAgrees = diffs.length === 0;
  if (verdictAgrees) {
    if (kv === 'dropped') {
      if (k.reasonFrom === 'unknown' || !k.reason) notes.push('the kernel left no drop reason to compare (no kfree_skb event, no answer)');
      else if (k.reason !== m.reason) diffs.push({ field: 'reason', kernel: `${k.reason} (${k.reasonFrom}${k.location ? ` at ${k.location}` : ''})`, model: m.reason ?? '-' });
      if (k.reason === 'NETFILTER_DROP' && k.where && m.where) {
        const kw = `${k.where.family} ${k.where.table} ${k.where.chain}`, mw = `${m.where.family} ${m.where.table} ${m.where.chain}`;
        if (kw !== mw) diffs.push({ field: 'where', kernel: `${kw}: ${k.where.rule}`, model: `${mw}: ${m.where.rule}` });
      }
    }
    if (kv === 'transmitted' && k.out && m.out) {
      const keys = ['src', 'dst', 'sport', 'dport', 'icmp_id'] as const;
      const differ = keys.filter((x) => k.out![x] !== m.out![x]);
      // The kernel's dice: a random endpoint (dst, dport) and a randomly mapped source port (sport).
      const dice = differ.filter((x) => (m.random && (x === 'dst' || x === 'dport')) || (m.randomPort && x === 'sport'));
      if (differ.length && dice.length === differ.length) {
        const kd = `${k.out.dst}${k.out.dport !== undefined ? `:${k.out.dport}` : ''}`, md = `${m.out.dst}${m.out.dport !== undefined ? `:${m.out.dport}` : ''}`;
        const endpointDiffers = differ.includes('dst') || differ.includes('dport');
        if (endpointDiffers && !endpoints.has(kd) && !endpoints.has(k.out.dst)) diffs.push({ field: 'out', kernel: hdrText(k.out), model: hdrText(m.out) });
        else {
          if (endpointDiffers) notes.push(`random endpoint choice: kernel ${kd}, model ${md} (both are endpoints of the rule set; compared as equal)`);
          if (differ.includes('sport')) notes.push(`random source port: kernel ${k.out.sport}, model ${m.out.sport} (source NAT with random ports; compared as equal)`);
        }
      } else if (differ.length) diffs.push({ field: 'out', kernel: hdrText(k.out), model: hdrText(m.out) });
    }
    if (kv === 'delivered') {
      if (k.sockPort !== undefined && k.sockPort >= 0 && m.sockPort !== undefined && k.sockPort !== m.sockPort) {
        diffs.push({ field: 'socket', kernel: `port ${k.sockPort}`, model: m.socket ?? '-' });
      }
      if (k.out && m.out && hdrText(k.out) !== hdrText(m.out)) diffs.push({ field: 'out', kernel: hdrText(k.out), model: hdrText(m.out) });
    }
    const kd = k.devices.join(' '), md = m.devices.join(' ');
    if (k.devices.length && kd !== md) diffs.push({ field: 'devices', kernel: kd || '-', model: md || '-' });
    const ke = emittedText(k.emitted.filter((e) => e.type !== 'tcp-synack')), me = emittedText(m.emitted);
    if (ke !== me) diffs.push({ field: 'emitted', kernel: ke || '-', model: me || '-' });
  }
  if (k.verdict === 'unknown') notes.push('the kernel run left no evidence of this packet\'s fate');
  return { index: k.index, ts, input, pkt: k.pkt, kernel: k, model: m, verdictAgrees, detailAgrees: diffs.length === 0, diffs, notes };
}

function emittedText(l: Array<{ type: string; ns: string; detail: string }>): string {
  return [...new Set(l.map((e) => {
    if (e.type !== 'icmp-error') return `${e.type}@${e.ns}`;
    const tc = /^type (\d+) code (\d+)$/.exec(e.detail);
    const tc6 = /^icmp6 type (\d+) code (\d+)$/.exec(e.detail);
    // The model names ICMPv6 errors with icmp6Name() ("hop-limit-exceeded (why)"); the kernel's are numbers.
    const name = tc ? ICMP_NAMES[`${tc[1]}/${tc[2]}`] ?? e.detail : tc6 ? icmp6Name(Number(tc6[1]), Number(tc6[2])).split(' (')[0] : e.detail.split(' (')[0].replace(/^(packet-too-big) mtu \d+$/, '$1');
    return `${e.type}:${name}@${e.ns}`;
  }))].sort().join(' ');
}

/** `conntrack -L` lines without the timeout and the reference count (they depend on timing). */
export function normalizeCt(line: string): string {
  const t = line.trim().split(/\s+/);
  if (t.length > 3 && /^\d+$/.test(t[2])) t.splice(2, 1);
  return t.filter((x) => !/^use=\d+$/.test(x)).join(' ');
}

/** Compare conntrack tables of one namespace (multiset of normalised lines). */
export function compareConntrack(ns: string, kernel: string[], model: string[]): ConntrackResult {
  const k = kernel.map(normalizeCt).sort(), m = model.map(normalizeCt).sort();
  const left = [...m];
  let agree = 0;
  for (const x of k) {
    const j = left.indexOf(x);
    if (j >= 0) {
      agree++;
      left.splice(j, 1);
    }
  }
  return { ns, kernel: k, model: m, agree, total: Math.max(k.length, m.length) };
}

/** Agreement counts. */
export interface Agreement {
  name: string;
  packets: number;
  verdict: number;
  detail: number;
}

/** Per-input and overall agreement. */
export function agreementRows(results: PacketResult[]): Agreement[] {
  const rows = new Map<string, Agreement>();
  const all: Agreement = { name: 'overall', packets: 0, verdict: 0, detail: 0 };
  for (const r of results) {
    let row = rows.get(r.input);
    if (!row) rows.set(r.input, (row = { name: r.input, packets: 0, verdict: 0, detail: 0 }));
    for (const x of [row, all]) {
      x.packets++;
      if (r.verdictAgrees) x.verdict++;
      if (r.detailAgrees) x.detail++;
    }
  }
  return [...rows.values(), all];
}

const pct = (a: number, n: number) => (n === 0 ? '-' : `${((100 * a) / n).toFixed(1)}%`);

/** The agreement table as text. */
export function agreementTable(rows: Agreement[], title = 'scenario'): string {
  const w = Math.max(title.length, ...rows.map((r) => r.name.length));
  const line = (a: string, b: string, c: string, d: string) => `${a.padEnd(w)}  ${b.padStart(7)}  ${c.padStart(16)}  ${d.padStart(16)}`;
  const out = [line(title, 'packets', 'verdict+place', 'all details')];
  for (const r of rows) out.push(line(r.name, String(r.packets), `${r.verdict}/${r.packets} ${pct(r.verdict, r.packets)}`, `${r.detail}/${r.packets} ${pct(r.detail, r.packets)}`));
  return out.join('\n') + '\n';
}

/** One disagreement, both views. */
export function disagreementText(r: PacketResult): string {
  const lines = [`#${r.index} ${r.ts} ${r.input.replace(/^.*@/, '')} ${r.pkt}`];
  for (const d of r.diffs) lines.push(`  ${d.field.padEnd(8)} kernel: ${d.kernel}\n  ${''.padEnd(8)} model:  ${d.model}`);
  lines.push(`  kernel   ${placeText(r.kernel)}${r.kernel.reason ? ` ${r.kernel.reason}` : ''}; ${r.kernel.evidence.join('; ')}`);
  lines.push(`  model    ${placeText(r.model)}${r.model.reason ? ` ${r.model.reason}` : ''}${r.model.detail ? ` (${r.model.detail})` : ''}`);
  for (const n of r.notes) lines.push(`  note     ${n}`);
  return lines.join('\n');
}
