/**
 * `--report FILE.html`: one self-contained HTML page (inline CSS, JS and SVG; a CSP that forbids every
 * fetch) with the path diagram, drops, NAT bindings, conntrack occupancy, device counters, verdicts,
 * top flows and warnings of a replay.
 *
 * Records are aggregated as they arrive and then dropped, so memory stays bounded for any capture size:
 *
 *   add(r) ──┬─ path: ingress → stage nodes → fate      nodes/edges keyed by (ns, stage): ≤ kMaxNodes
 *            ├─ drops by (reason, ns, place)             ≤ kMaxDropRows, rest in one "other" row
 *            ├─ NAT bindings created                     first kMaxNatRows rows + per-target totals
 *            ├─ conntrack ids per time bucket            kCtBuckets buckets; exact sets, HyperLogLog past kCtExact
 *            ├─ flows                                    Misra–Gries heavy hitters, kFlowSlots counters
 *            └─ example packets (text trace)             ≤ kMaxExamples, first packet of each fate and drop place
 */
import type { TraceRecord } from './schema.js';
import type { Final, HdrTuple, NatRecord, Step } from '../stack/record.js';
import { formatText } from './format_text.js';

/** Most example packets kept (text trace of the first packet of each fate / drop place). */
const kMaxExamples = 200;
/** Longest example trace kept, in characters. */
const kMaxExampleChars = 6000;
/** NAT binding rows kept (the rest are only counted). */
const kMaxNatRows = 200;
/** Distinct drop places tracked; later places share one "other" row. */
const kMaxDropRows = 1000;
/** Distinct graph nodes (stages per namespace, ingress devices, fates); later ones share "other" nodes. */
const kMaxNodes = 600;
/** Fates drawn in the diagram; the rest are merged into one node. */
const kMaxFateNodes = 14;
/** Stage nodes drawn; the least used are left out (and said so). */
const kMaxStageNodes = 90;
/** Flow counters (Misra–Gries): counts are exact while fewer distinct flows were seen. */
const kFlowSlots = 2048;
/** Time buckets of the conntrack chart; the bucket width doubles when the capture outgrows them. */
const kCtBuckets = 120;
/** First bucket width, seconds. */
const kCtWidth0 = 0.001;
/** Distinct ct ids a bucket keeps exactly before switching to a HyperLogLog sketch. */
const kCtExact = 1024;
/** HyperLogLog precision: 2^10 one-byte registers per bucket, ~3 % standard error. */
const kHllP = 10;
/** Small keyed tables (problems, generated packets, NAT targets). */
const kMaxSmallKeys = 256;

/** Device counters the report shows (DevStats). */
export interface ReportDevStats {
  rxPackets: number;
  rxBytes: number;
  rxDropped: number;
  txPackets: number;
  txBytes: number;
  txDropped: number;
}

/** The part of a World the report reads; stats are read at render time, after the replay. */
export interface ReportWorld {
  namespaces: Array<{ name: string; devs: Array<{ name: string; kind: string; stats: ReportDevStats }> }>;
}

/** Report options. */
export interface HtmlReportOptions {
  title: string;
  world: ReportWorld;
  warnings: string[];
  /** Extra header lines, e.g. [['World', dir], ['Captures', 'a.pcap@host:eth0']]. */
  meta?: Array<[string, string]>;
}

const VERDICTS = ['transmitted', 'delivered', 'consumed', 'dropped', 'unmodelled'] as const;
type VerdictClass = 0 | 1 | 2 | 3 | 4;

function verdictClass(v: string): VerdictClass {
  const i = (VERDICTS as readonly string[]).indexOf(v);
  return (i < 0 ? 3 : i) as VerdictClass;
}

/** A node of the path graph: an ingress device, a stage in a namespace, or a fate. */
interface GNode {
  id: string;
  col: 0 | 1 | 2;
  ns: string;
  label: string;
  sub: string;
  /** Third line (fates: rule text). */
  extra: string;
  cls: VerdictClass | -1;
  count: number;
  /** Last packet index counted, to count each packet once. */
  lastPkt: number;
  /** First packet that reached it. */
  first: number;
}

/** An edge of the path graph with packets per verdict class. */
interface GEdge {
  from: string;
  to: string;
  count: number;
  by: [number, number, number, number, number];
  lastPkt: number;
}

interface DropRow {
  reason: string;
  ns: string;
  stage: string;
  place: string;
  rule: string;
  detail: string;
  count: number;
  first: number;
}

interface NatRow {
  index: number;
  ns: string;
  kind: string;
  hook: string;
  proto: string;
  before: HdrTuple;
  after: HdrTuple;
  ct: number;
  applied: boolean;
}

interface FlowCounter {
  n: number;
  bytes: number;
  drops: number;
  first: number;
}

interface Example {
  index: number;
  why: string;
  text: string;
}

/** One conntrack time bucket: distinct ct keys (exact set, or HLL registers once large), NEW steps, packets. */
interface CtBucket {
  set: Set<number> | null;
  hll: Uint8Array | null;
  news: number;
  packets: number;
}

/** Aggregates trace records into a self-contained HTML report. */
export class HtmlReport {
  private readonly opts: HtmlReportOptions;
  private packets = 0;
  private bytes = 0;
  private firstTs = '';
  private lastTs = '';
  private noSteps = 0;
  private byVerdict = new Map<string, number>();
  private nodes = new Map<string, GNode>();
  private edges = new Map<string, GEdge>();
  private drops = new Map<string, DropRow>();
  private dropOverflow: DropRow | null = null;
  private natRows: NatRow[] = [];
  private natCreated = 0;
  private natApplied = 0;
  private natTargets = new Map<string, number>();
  private flows = new Map<string, FlowCounter>();
  private flowsApprox = false;
  private problems = new Map<string, { count: number; first: number }>();
  private generated = new Map<string, number>();
  private examples: Example[] = [];
  private exampleOf = new Set<string>();
  private nsIds = new Map<string, number>();
  private ct: CtBucket[] = [];
  private ctT0 = NaN;
  private ctWidth = kCtWidth0;
  private ctApprox = false;
  private ctSeen = new Set<number>();
  private ctSeenApprox = false;
  /** Scratch for one record's path (node ids), reused. */
  private path: string[] = [];
  /** Device kinds by `ns\0dev`, for the ingress nodes. */
  private devKinds = new Map<string, string>();

  constructor(opts: HtmlReportOptions) {
    if (!opts || typeof opts.title !== 'string') throw new TypeError('HtmlReport: opts.title must be a string');
    if (!opts.world || !Array.isArray(opts.world.namespaces)) throw new TypeError('HtmlReport: opts.world.namespaces must be an array');
    if (!Array.isArray(opts.warnings)) throw new TypeError('HtmlReport: opts.warnings must be an array');
    this.opts = opts;
    for (const ns of opts.world.namespaces) for (const d of ns.devs) this.devKinds.set(`${ns.name}\u0000${d.name}`, d.kind);
    for (let i = 0; i < kCtBuckets; i++) this.ct.push({ set: null, hll: null, news: 0, packets: 0 });
  }

  /** Count one record (call once per record, in order). The record is not kept. */
  add(r: TraceRecord): void {
    const idx = r.index;
    this.packets++;
    this.bytes += r.pkt.len;
    if (!this.firstTs) this.firstTs = r.ts;
    this.lastTs = r.ts;
    const f = r.final as Final;
    const vc = verdictClass(f.verdict);
    inc(this.byVerdict, f.verdict);
    const steps = (r.steps ?? []) as Step[];
    if (steps.length === 0) this.noSteps++;

    // Path: ingress → stages → fate; one count per packet per node and edge.
    const path = this.path;
    path.length = 0;
    const first = steps.length && steps[0].kind === 'rx' ? (steps[0] as { ns: string; dev: string }) : { ns: r.in.ns, dev: r.in.dev };
    path.push(this.rxNode(first.ns, first.dev));
    for (const s of steps) {
      const id = this.stepNode(s);
      if (id !== null && id !== path[path.length - 1]) path.push(id);
    }
    const fin = this.finalNode(f);
    path.push(fin);
    if (path.length > 64) path.splice(32, path.length - 64); // pathological loops: keep both ends
    for (let i = 0; i < path.length; i++) {
      const n = this.nodes.get(path[i])!;
      if (n.lastPkt !== idx || n.count === 0) {
        if (n.count === 0) n.first = idx;
        n.lastPkt = idx;
        n.count++;
      }
      if (i === 0) continue;
      const key = path[i - 1] + '\u0000' + path[i];
      let e = this.edges.get(key);
      if (!e) {
        e = { from: path[i - 1], to: path[i], count: 0, by: [0, 0, 0, 0, 0], lastPkt: -1 };
        this.edges.set(key, e);
      }
      if (e.lastPkt !== idx || e.count === 0) {
        e.lastPkt = idx;
        e.count++;
        e.by[vc]++;
      }
    }

    if (vc === 3) this.addDrop(r, f);
    this.addNat(r, steps);
    this.addCt(r, steps);
    this.addFlow(r, vc === 3);
    for (const p of r.problems ?? []) {
      const e = this.problems.get(p);
      if (e) e.count++;
      else if (this.problems.size < kMaxSmallKeys) this.problems.set(p, { count: 1, first: idx });
    }
    for (const e of (r.emitted ?? []) as Array<{ type: string; fate?: string }>) {
      const k = `${e.type}\u0000${e.fate ?? ''}`;
      if (this.generated.has(k) || this.generated.size < kMaxSmallKeys) inc(this.generated, k);
    }
    this.example(r, fin, fin);
  }

  /** How much the report holds (tests and diagnostics): every figure stays bounded however many records were added. */
  footprint(): { packets: number; nodes: number; edges: number; dropRows: number; natRows: number; natTargets: number; flows: number; examples: number; ctKeys: number; ctBucketWidth: number } {
    let ctKeys = 0;
    for (const b of this.ct) ctKeys += b.set ? b.set.size : 0;
    return {
      packets: this.packets, nodes: this.nodes.size, edges: this.edges.size, dropRows: this.drops.size + (this.dropOverflow ? 1 : 0), natRows: this.natRows.length,
      natTargets: this.natTargets.size, flows: this.flows.size, examples: this.examples.length, ctKeys: ctKeys + this.ctSeen.size, ctBucketWidth: this.ctWidth,
    };
  }

  /** The whole page. `summaryJson` is Summary.toJSON() (optional: its span and rule hits are shown when present). */
  render(summaryJson: unknown): string {
    const s = (summaryJson && typeof summaryJson === 'object' ? summaryJson : {}) as Record<string, unknown>;
    const o = this.opts;
    const multiNs = o.world.namespaces.length > 1;
    const firstTs = typeof s.first_ts === 'string' && s.first_ts ? s.first_ts : this.firstTs;
    const lastTs = typeof s.last_ts === 'string' && s.last_ts ? s.last_ts : this.lastTs;
    const span = Number(lastTs) - Number(firstTs);
    const notes = this.notes();

    const meta: Array<[string, string]> = [...(o.meta ?? [])];
    meta.push(['Packets', `${fmtInt(this.packets)} (${fmtBytes(this.bytes)})`]);
    if (firstTs) meta.push(['Capture span', `${isoTime(firstTs)} → ${isoTime(lastTs)}${Number.isFinite(span) ? ` (${fmtSecs(span)})` : ''}`]);
    meta.push(['Namespaces', o.world.namespaces.map((n) => n.name).join(', ') || '—']);

    const sections: Array<[string, string, string]> = [
      ['fates', 'Packets by verdict', this.verdictSection()],
      ['path', 'Path diagram', this.pathSection(multiNs)],
      ['drops', 'Drops', this.dropSection()],
      ['nat', 'NAT bindings created', this.natSection()],
      ['conntrack', 'Conntrack occupancy', this.ctSection()],
      ['devices', 'Device counters', this.deviceSection()],
      ['flows', 'Top flows', this.flowSection()],
    ];
    const rules = Array.isArray(s.rules) ? (s.rules as unknown[]) : [];
    if (rules.length) sections.push(['rules', 'Rule hits', genericTable(rules, 'Rule hit counters from the summary')]);
    if (s.softirq && typeof s.softirq === 'object') sections.push(['softirq', 'Softirq load per CPU (queue model)', softirqSection(s.softirq as SoftirqLike)]);
    if (this.generated.size) sections.push(['generated', 'Packets the stack generated', this.generatedSection()]);
    sections.push(['warnings', `Warnings${notes.length ? ` (${notes.length})` : ''}`, this.warningSection(notes)]);
    sections.push(['examples', 'Example packets', this.exampleSection()]);

    let h = '<!doctype html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n';
    h += `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">\n`;
    h += '<meta name="viewport" content="width=device-width, initial-scale=1">\n<meta name="color-scheme" content="light dark">\n';
    h += `<title>${esc(o.title)}</title>\n<style>${CSS}</style>\n</head>\n<body>\n`;
    h += `<header><h1>${esc(o.title)}</h1><dl class="meta">`;
    for (const [k, v] of meta) h += `<div><dt>${esc(k)}</dt><dd>${esc(v)}</dd></div>`;
    h += '</dl>';
    h += `<nav aria-label="Sections"><ul>${sections.map(([id, t]) => `<li><a href="#${id}">${esc(t)}</a></li>`).join('')}</ul></nav></header>\n<main>\n`;
    for (const [id, t, body] of sections) h += `<section id="${id}" aria-labelledby="${id}-h"><h2 id="${id}-h">${esc(t)}</h2>\n${body}</section>\n`;
    h += `</main>\n<footer>Generated by pktpath from the replay trace. Self-contained: no external resources are loaded.</footer>\n`;
    h += `<script>${JS}</script>\n</body>\n</html>\n`;
    return h;
  }

  // ---- aggregation --------------------------------------------------------------------------------

  private node(id: string, col: 0 | 1 | 2, ns: string, label: string, sub: string, extra: string, cls: VerdictClass | -1): string {
    if (this.nodes.has(id)) return id;
    if (this.nodes.size >= kMaxNodes) {
      const oid = col === 2 ? 'f|other' : col === 0 ? 'rx|other' : 's|other';
      if (!this.nodes.has(oid)) this.nodes.set(oid, mkNode(oid, col, '', col === 2 ? 'other fates' : 'other', col === 2 ? 'node table full' : 'stage', '', col === 2 ? cls : -1));
      return oid;
    }
    this.nodes.set(id, mkNode(id, col, ns, label, sub, extra, cls));
    return id;
  }

  /** The graph node a step belongs to, or null for steps drawn elsewhere (ct, nat binding notes, tx, drop). */
  private stepNode(s: Step): string | null {
    switch (s.kind) {
      case 'rx':
        return this.rxNode(s.ns, s.dev);
      case 'nf':
        if (s.family === 'bridge') {
          // Bridge-family output hooks run inside br_dev_xmit: same node as the bridge's transmit side.
          if (s.hook === 'output') return this.node(`brout|${s.ns}`, 1, s.ns, 'bridge out', 'from the host', '', -1);
          return this.node(`brnf|${s.ns}|${s.hook}`, 1, s.ns, s.hook, 'bridge hook', '', -1);
        }
        return this.hookNode(s.ns, s.hook);
      case 'nat':
        return this.hookNode(s.ns, s.hook);
      case 'forward':
        return this.hookNode(s.ns, 'forward');
      case 'bridge':
        if (s.port === '(local)') return this.node(`brout|${s.ns}`, 1, s.ns, 'bridge out', 'from the host', '', -1);
        return this.node(`brin|${s.ns}|${s.bridge}`, 1, s.ns, s.bridge, 'bridging', '', -1);
      case 'route':
      case 'rpfilter':
        return this.node(`route|${s.ns}`, 1, s.ns, 'routing', 'decision', '', -1);
      case 'neigh':
        return this.node(`neigh|${s.ns}`, 1, s.ns, 'neighbour', 'ARP / L2 addr', '', -1);
      default:
        return null;
    }
  }

  private rxNode(ns: string, dev: string): string {
    const id = `rx|${ns}|${dev}`;
    return this.nodes.has(id) ? id : this.node(id, 0, ns, dev, this.devKinds.get(`${ns}\u0000${dev}`) ?? 'device', '', -1);
  }

  private hookNode(ns: string, hook: string): string {
    return this.node(`hook|${ns}|${hook}`, 1, ns, hook, 'IP hook', '', -1);
  }

  private finalNode(f: Final): string {
    const ns = f.ns ?? '';
    switch (f.verdict) {
      case 'transmitted':
        return this.node(`f|tx|${ns}|${f.dev}`, 2, ns, 'transmitted', `on ${f.dev ?? '?'}`, f.also?.length ? `flooded copies also on ${f.also.join(', ')}` : '', 0);
      case 'delivered':
        return this.node(`f|dl|${ns}|${f.socket}`, 2, ns, 'delivered', `to socket ${f.socket ?? '?'}`, '', 1);
      case 'consumed':
        return this.node(`f|co|${ns}|${f.dev ?? ''}|${f.detail ?? ''}`, 2, ns, 'consumed', `by the stack${f.dev ? ` on ${f.dev}` : ''}`, f.detail ?? '', 2);
      case 'unmodelled':
        return this.node(`f|un|${ns}|${f.detail ?? ''}`, 2, ns, 'unmodelled', f.dev ? `on ${f.dev}` : '', f.detail ?? '', 4);
      default: {
        const p = dropPlace(f);
        return this.node(`f|dr|${f.reason}|${ns}|${p.stage}|${p.place}|${p.rule}`, 2, ns, `dropped: ${f.reason ?? 'NOT_SPECIFIED'}`, `at ${[p.stage, p.place].filter(Boolean).join(' · ')}`, p.rule.replace(/ \(handle \d+\)$/, ''), 3);
      }
    }
  }

  private addDrop(r: TraceRecord, f: Final): void {
    const p = dropPlace(f);
    const reason = f.reason ?? 'NOT_SPECIFIED';
    const key = `${reason}\u0000${f.ns}\u0000${p.stage}\u0000${p.place}\u0000${p.rule}`;
    let row = this.drops.get(key);
    if (!row) {
      if (this.drops.size >= kMaxDropRows) {
        row = this.dropOverflow ??= { reason: '(other)', ns: '', stage: '', place: 'drop table full', rule: '', detail: '', count: 0, first: r.index };
      } else {
        row = { reason, ns: f.ns ?? '', stage: p.stage, place: p.place, rule: p.rule, detail: f.detail ?? '', count: 0, first: r.index };
        this.drops.set(key, row);
        this.example(r, 'drop:' + key, `first drop: ${reason}`);
      }
    }
    row.count++;
  }

  private addNat(r: TraceRecord, steps: Step[]): void {
    const nat = (r.nat ?? []) as NatRecord[];
    for (let i = 0; i < nat.length; i++) {
      const n = nat[i];
      if (!n.created) {
        this.natApplied++;
        continue;
      }
      this.natCreated++;
      // The binding is recorded before the packet is rewritten (before === after); the translation
      // itself follows as the next non-created record of the same kind, hook and namespace.
      let after = n.after, applied = !sameTuple(n.before, n.after);
      for (let j = i + 1; j < nat.length; j++) {
        const m = nat[j];
        if (!m.created && m.kind === n.kind && m.ns === n.ns && m.hook === n.hook) {
          after = m.after;
          applied = true;
          break;
        }
      }
      const target = n.kind === 'snat' ? after.src : after.dst;
      const tk = `${n.ns}\u0000${n.kind}\u0000${n.hook}\u0000${applied ? target : '(not applied)'}`;
      if (this.natTargets.has(tk) || this.natTargets.size < kMaxSmallKeys) inc(this.natTargets, tk);
      if (this.natRows.length < kMaxNatRows) {
        let ct = (r.ct as { id?: number } | null)?.id ?? 0;
        for (const s of steps) if (s.kind === 'nat' && s.ns === n.ns && s.hook === n.hook) ct = Number(s.binding.replace(/^ct /, '')) || ct;
        this.natRows.push({ index: r.index, ns: n.ns, kind: n.kind, hook: n.hook, proto: r.pkt.proto || r.pkt.l3, before: n.before, after, ct, applied });
      }
    }
  }

  private addCt(r: TraceRecord, steps: Step[]): void {
    const t = Number(r.ts);
    if (!Number.isFinite(t)) return;
    if (Number.isNaN(this.ctT0)) this.ctT0 = t;
    let bi = Math.floor(Math.max(0, t - this.ctT0) / this.ctWidth);
    while (bi >= kCtBuckets) {
      this.ctMerge();
      bi = Math.floor(Math.max(0, t - this.ctT0) / this.ctWidth);
    }
    const b = this.ct[bi];
    b.packets++;
    let any = false;
    for (const s of steps) {
      if (s.kind !== 'ct' || !s.id) continue;
      any = true;
      this.ctAdd(b, this.nsId(s.ns), s.id);
      if (s.state === 'NEW') b.news++;
    }
    const c = r.ct as { state: string; id: number } | null;
    if (!any && c && c.id) {
      this.ctAdd(b, this.nsId(r.in.ns), c.id);
      if (c.state === 'NEW') b.news++;
    }
  }

  private nsId(ns: string): number {
    let id = this.nsIds.get(ns);
    if (id === undefined) this.nsIds.set(ns, (id = this.nsIds.size));
    return id;
  }

  private ctAdd(b: CtBucket, nsId: number, id: number): void {
    // ct ids are per-namespace u32s; one float64 key holds both exactly.
    const key = nsId * 4294967296 + (id >>> 0);
    if (!this.ctSeenApprox) {
      this.ctSeen.add(key);
      if (this.ctSeen.size > kCtExact * 64) {
        this.ctSeen.clear();
        this.ctSeenApprox = true;
      }
    }
    if (b.hll) {
      hllAdd(b.hll, key);
      return;
    }
    b.set ??= new Set();
    b.set.add(key);
    if (b.set.size > kCtExact) {
      b.hll = new Uint8Array(1 << kHllP);
      for (const k of b.set) hllAdd(b.hll, k);
      b.set = null;
      this.ctApprox = true;
    }
  }

  /** Halve the resolution: bucket i absorbs 2i and 2i+1. */
  private ctMerge(): void {
    const out: CtBucket[] = [];
    for (let i = 0; i < kCtBuckets; i++) out.push({ set: null, hll: null, news: 0, packets: 0 });
    for (let i = 0; i < kCtBuckets; i++) {
      const src = this.ct[i], dst = out[i >> 1];
      dst.news += src.news;
      dst.packets += src.packets;
      if (src.hll) {
        if (!dst.hll) {
          dst.hll = new Uint8Array(1 << kHllP);
          if (dst.set) for (const k of dst.set) hllAdd(dst.hll, k);
          dst.set = null;
        }
        for (let j = 0; j < src.hll.length; j++) if (src.hll[j] > dst.hll[j]) dst.hll[j] = src.hll[j];
      } else if (src.set) {
        if (dst.hll) for (const k of src.set) hllAdd(dst.hll, k);
        else if (!dst.set) dst.set = src.set;
        else {
          for (const k of src.set) dst.set.add(k);
          if (dst.set.size > kCtExact) {
            dst.hll = new Uint8Array(1 << kHllP);
            for (const k of dst.set) hllAdd(dst.hll, k);
            dst.set = null;
            this.ctApprox = true;
          }
        }
      }
    }
    this.ct = out;
    this.ctWidth *= 2;
  }

  private addFlow(r: TraceRecord, dropped: boolean): void {
    const p = r.pkt;
    if (!p.src) return;
    const key = `${p.proto || p.l3} ${ep(p.src, p.sport)} > ${ep(p.dst ?? '', p.dport)}${p.icmp_id !== undefined ? ` id ${p.icmp_id}` : ''}`;
    const c = this.flows.get(key);
    if (c) {
      c.n++;
      c.bytes += p.len;
      if (dropped) c.drops++;
      return;
    }
    if (this.flows.size < kFlowSlots) {
      this.flows.set(key, { n: 1, bytes: p.len, drops: dropped ? 1 : 0, first: r.index });
      return;
    }
    // Misra–Gries: a new flow with every slot taken decrements all counters (amortised O(1): each
    // decrement pass removes kFlowSlots units that earlier increments added).
    this.flowsApprox = true;
    for (const [k, v] of this.flows) if (--v.n <= 0) this.flows.delete(k);
  }

  private example(r: TraceRecord, key: string, why: string): void {
    if (this.examples.length >= kMaxExamples || this.exampleOf.has(key)) return;
    this.exampleOf.add(key);
    let text = formatText(r);
    if (text.length > kMaxExampleChars) text = text.slice(0, kMaxExampleChars) + '… (truncated)\n';
    const prev = this.examples.find((e) => e.index === r.index);
    if (prev) return;
    this.examples.push({ index: r.index, why: why.startsWith('f|') ? `first packet with this fate` : why, text });
  }

  private hasExample(index: number): boolean {
    for (const e of this.examples) if (e.index === index) return true;
    return false;
  }

  private notes(): string[] {
    const n = [...this.opts.warnings];
    if (this.noSteps) n.push(`${fmtInt(this.noSteps)} of ${fmtInt(this.packets)} records carry no steps (replay without tracing): their path shows only ingress → fate.`);
    if (this.flowsApprox) n.push(`More than ${fmtInt(kFlowSlots)} distinct flows: top-flow counts are lower bounds (Misra–Gries counters).`);
    if (this.ctApprox) n.push(`Some conntrack buckets held more than ${fmtInt(kCtExact)} connections: those counts are HyperLogLog estimates (about ±3 %).`);
    if (this.dropOverflow) n.push(`More than ${fmtInt(kMaxDropRows)} distinct drop places: the rest are counted in one "(other)" row.`);
    if (this.nodes.has('f|other') || this.nodes.has('s|other') || this.nodes.has('rx|other')) n.push(`More than ${fmtInt(kMaxNodes)} distinct path nodes: later ones were merged into "other".`);
    for (const [p, v] of this.problems) n.push(`Packet problem "${p}": ${fmtInt(v.count)} packet(s), first #${v.first}.`);
    return n;
  }

  // ---- sections -----------------------------------------------------------------------------------

  private verdictSection(): string {
    const total = this.packets || 1;
    const ordered = [...VERDICTS.filter((v) => this.byVerdict.has(v)), ...[...this.byVerdict.keys()].filter((v) => !(VERDICTS as readonly string[]).includes(v))];
    let h = '<div class="cards">';
    h += `<div class="card"><div class="k">packets</div><div class="v">${fmtInt(this.packets)}</div></div>`;
    for (const v of VERDICTS) h += `<div class="card c${verdictClass(v)}"><div class="k">${v}</div><div class="v">${fmtInt(this.byVerdict.get(v) ?? 0)}</div></div>`;
    h += '</div>';
    if (this.packets) {
      h += `<div class="stack" role="img" aria-label="${esc(ordered.map((v) => `${v} ${this.byVerdict.get(v)}`).join(', '))}">`;
      for (const v of ordered) {
        const n = this.byVerdict.get(v)!;
        h += `<span class="c${verdictClass(v)}" style="width:${((100 * n) / total).toFixed(3)}%" title="${esc(`${v}: ${fmtInt(n)} (${pct(n, total)})`)}"></span>`;
      }
      h += '</div>';
    }
    h += table(['Verdict', 'Packets', 'Share'], ordered.map((v) => [cell(`<span class="dot c${verdictClass(v)}"></span>${esc(v)}`, v), num(this.byVerdict.get(v)!), cell(pct(this.byVerdict.get(v)!, total), this.byVerdict.get(v)!)]), 'Packets by verdict', 'narrow');
    return h;
  }

  private pathSection(multiNs: boolean): string {
    if (!this.packets) return '<p class="muted">No packets.</p>';
    const d = layoutPath(this.nodes, this.edges, multiNs);
    let h = `<p class="muted">Each packet's steps, in order, folded into stages per namespace. Edge labels count packets; hover or focus a node to highlight its edges, hover an edge or node for details. Edges into a fate take its colour.${d.omitted ? ` ${d.omitted} rarely used stage(s) omitted.` : ''}</p>`;
    h += `<div class="tools"><button type="button" id="zoom" aria-pressed="false" aria-controls="path-svg">Actual size</button></div>`;
    h += `<div class="scroll">${d.svg}</div>`;
    const rows = [...this.edges.values()].sort((a, b) => b.count - a.count).slice(0, 300);
    h += `<details><summary>Edges as a table (${fmtInt(this.edges.size)})</summary>`;
    h += table(['From', 'To', 'Packets', 'Transmitted', 'Delivered', 'Consumed', 'Dropped', 'Unmodelled'], rows.map((e) => [
      cell(esc(nodeText(this.nodes.get(e.from)!, multiNs))), cell(esc(nodeText(this.nodes.get(e.to)!, multiNs))), num(e.count), ...e.by.map((n) => num(n)),
    ]), 'Edges of the path diagram', '');
    h += '</details>';
    return h;
  }

  private dropSection(): string {
    const rows = [...this.drops.values()];
    if (this.dropOverflow) rows.push(this.dropOverflow);
    if (!rows.length) return '<p class="muted">No packet was dropped.</p>';
    rows.sort((a, b) => b.count - a.count || a.first - b.first);
    return table(['Reason', 'Namespace', 'Hook / stage', 'Table / chain', 'Rule / detail', 'Packets', 'First packet'], rows.map((r) => [
      cell(`<span class="dot c3"></span><code>${esc(r.reason)}</code>`, r.reason),
      cell(esc(r.ns)),
      cell(esc(r.stage)),
      cell(esc(r.place)),
      cell(r.rule ? `<code class="rule">${esc(r.rule)}</code>` : r.detail ? `<span class="muted">${esc(r.detail)}</span>` : ''),
      num(r.count),
      cell(this.hasExample(r.first) ? `<a href="#p${r.first}">#${r.first}</a>` : `#${r.first}`, r.first),
    ]), 'Drops by reason and place', 'drops');
  }

  private natSection(): string {
    if (!this.natCreated) return `<p class="muted">No NAT binding was created${this.natApplied ? ` (${fmtInt(this.natApplied)} translations on existing bindings)` : ''}.</p>`;
    let h = `<p>${fmtInt(this.natCreated)} binding(s) created, ${fmtInt(this.natApplied)} translation(s) applied to packets.${this.natRows.length < this.natCreated ? ` The first ${this.natRows.length} are listed.` : ''}</p>`;
    const targets = [...this.natTargets].sort((a, b) => b[1] - a[1]);
    h += table(['Namespace', 'Kind', 'Hook', 'Translated to', 'Bindings'], targets.map(([k, n]) => {
      const [ns, kind, hook, to] = k.split('\u0000');
      return [cell(esc(ns)), cell(esc(kind)), cell(esc(hook)), cell(`<code>${esc(to)}</code>`), num(n)];
    }), 'NAT bindings by translated address', 'narrow');
    h += table(['Packet', 'Namespace', 'Kind', 'Hook', 'Proto', 'Before', '', 'After', 'ct'], this.natRows.map((n) => [
      cell(this.hasExample(n.index) ? `<a href="#p${n.index}">#${n.index}</a>` : `#${n.index}`, n.index),
      cell(esc(n.ns)), cell(esc(n.kind)), cell(esc(n.hook)), cell(esc(n.proto)),
      cell(`<code>${esc(tupleText(n.before))}</code>`), cell('→'),
      cell(n.applied ? `<code>${esc(tupleText(n.after))}</code>` : '<span class="muted">not applied to this packet</span>'),
      num(n.ct),
    ]), 'NAT bindings created (before → after)', 'nat');
    return h;
  }

  private ctSection(): string {
    let last = -1;
    for (let i = 0; i < kCtBuckets; i++) if (this.ct[i].packets) last = i;
    if (last < 0) return '<p class="muted">No timestamps.</p>';
    const n = last + 1;
    const vals: number[] = [], news: number[] = [];
    for (let i = 0; i < n; i++) {
      const b = this.ct[i];
      vals.push(b.hll ? Math.round(hllCount(b.hll)) : b.set ? b.set.size : 0);
      news.push(b.news);
    }
    const w = this.ctWidth;
    const total = this.ctSeenApprox ? '' : ` ${fmtInt(this.ctSeen.size)} distinct connection(s) seen in all.`;
    let h = `<p class="muted">Approximation: the trace has no conntrack table dumps, so each bar counts the <em>distinct conntrack ids seen on packets</em> in a ${fmtSecs(w)} bucket. Connections idle during a bucket are not counted, entries are not aged out, and unconfirmed entries of dropped first packets count too. The narrow bars count packets that created an entry (ct state NEW).${total}${this.ctApprox ? ' Large buckets are HyperLogLog estimates.' : ''}</p>`;
    h += ctChart(vals, news, w);
    const rows: string[][] = [];
    for (let i = 0; i < n; i++) if (this.ct[i].packets) rows.push([cell(`+${fmtSecs(i * w)}`, i * w), num(vals[i]), num(news[i]), num(this.ct[i].packets)]);
    h += `<details><summary>As a table (${rows.length} non-empty buckets)</summary>${table(['Bucket start', 'Connections seen', 'NEW', 'Packets'], rows, 'Conntrack ids seen per time bucket', 'narrow')}</details>`;
    return h;
  }

  private deviceSection(): string {
    const rows: string[][] = [];
    for (const ns of this.opts.world.namespaces)
      for (const d of ns.devs) {
        const s = d.stats;
        const idle = !(s.rxPackets || s.txPackets || s.rxDropped || s.txDropped);
        rows.push([cell(esc(ns.name)), cell(`${idle ? '<span class="muted">' : ''}${esc(d.name)}${idle ? '</span>' : ''}`, d.name), cell(esc(d.kind)),
          num(s.rxPackets), num(s.rxBytes), num(s.rxDropped, s.rxDropped ? 'bad' : ''), num(s.txPackets), num(s.txBytes), num(s.txDropped, s.txDropped ? 'bad' : '')]);
      }
    if (!rows.length) return '<p class="muted">No devices.</p>';
    return '<p class="muted">Counters of the modelled devices after the replay, as <code>ip -s link</code> would show them (packets generated by the stack included).</p>' +
      table(['Namespace', 'Device', 'Kind', 'RX packets', 'RX bytes', 'RX dropped', 'TX packets', 'TX bytes', 'TX dropped'], rows, 'Per-device counters', '');
  }

  private flowSection(): string {
    if (!this.flows.size) return '<p class="muted">No IP flows.</p>';
    const top = [...this.flows].sort((a, b) => b[1].n - a[1].n || a[1].first - b[1].first).slice(0, 20);
    const lb = this.flowsApprox ? '≥ ' : '';
    return `<p class="muted">Flows as the packets entered (before NAT), by packets${this.flowsApprox ? '; counts are lower bounds' : ''}.</p>` +
      table(['Flow', 'Packets', 'Bytes', 'Dropped', 'First packet'], top.map(([k, v]) => [
        cell(`<code>${esc(k)}</code>`, k), cell(lb + fmtInt(v.n), v.n), num(v.bytes), num(v.drops, v.drops ? 'bad' : ''),
        cell(this.hasExample(v.first) ? `<a href="#p${v.first}">#${v.first}</a>` : `#${v.first}`, v.first),
      ]), 'Top flows', '');
  }

  private generatedSection(): string {
    const rows = [...this.generated].sort((a, b) => b[1] - a[1]).map(([k, n]) => {
      const [type, fate] = k.split('\u0000');
      return [cell(`<code>${esc(type)}</code>`, type), cell(esc(fate)), num(n)];
    });
    return '<p class="muted">ARP requests and replies, ICMP errors and TCP resets the modelled stack sent because of the replayed packets.</p>' +
      table(['Type', 'Fate', 'Packets'], rows, 'Generated packets', 'narrow');
  }

  private warningSection(notes: string[]): string {
    if (!notes.length) return '<p class="muted">None.</p>';
    return `<ul class="warn">${notes.map((w) => `<li>${esc(w)}</li>`).join('')}</ul>`;
  }

  private exampleSection(): string {
    if (!this.examples.length) return '<p class="muted">None.</p>';
    const ex = [...this.examples].sort((a, b) => a.index - b.index);
    let h = `<p class="muted">The text trace of the first packet of each fate and drop place (at most ${kMaxExamples}).</p>`;
    for (const e of ex) h += `<details id="p${e.index}"><summary>#${e.index} <span class="muted">— ${esc(e.why)}</span>: ${esc(e.text.split('\n').find((l) => l.startsWith('  => '))?.slice(5) ?? '')}</summary><pre>${esc(e.text)}</pre></details>`;
    return h;
  }
}

// ---- path layout ------------------------------------------------------------------------------------

/** Layout constants (px). Node columns are kPitch apart; fates get a wider last column. */
const kNodeW = 100, kGap = 24, kPitch = kNodeW + kGap, kFateW = 212, kVGap = 14, kDummyH = 8, kMargin = 14, kHead = 26;

interface LNode {
  g: GNode | null;
  layer: number;
  order: number;
  x: number;
  y: number;
  w: number;
  h: number;
  lines: Array<[string, string]>;
  ins: LSeg[];
  outs: LSeg[];
}

interface LSeg {
  from: LNode;
  to: LNode;
  e: GEdge;
  py0: number;
  py1: number;
}

/**
 * A small Sugiyama layout: break cycles by DFS, longest-path layers (fates in the last column), dummy
 * nodes on long edges, barycentre ordering sweeps, then y positions by isotonic regression (each column
 * keeps its order and gaps while nodes sit as close as possible to their neighbours' mean).
 */
function layoutPath(allNodes: Map<string, GNode>, allEdges: Map<string, GEdge>, multiNs: boolean): { svg: string; omitted: number } {
  // Keep the busiest fates and stages; merge the other fates into one node.
  const fates = [...allNodes.values()].filter((n) => n.col === 2).sort((a, b) => b.count - a.count);
  const keepFate = new Set(fates.slice(0, kMaxFateNodes).map((n) => n.id));
  const stages = [...allNodes.values()].filter((n) => n.col !== 2).sort((a, b) => b.count - a.count);
  const keepStage = new Set(stages.slice(0, kMaxStageNodes).map((n) => n.id));
  const omitted = stages.length - keepStage.size;
  const nodes = new Map<string, GNode>();
  for (const id of [...keepStage, ...keepFate]) nodes.set(id, allNodes.get(id)!);
  const edges = new Map<string, GEdge>();
  if (fates.length > kMaxFateNodes) {
    const rest = fates.slice(kMaxFateNodes);
    const other = mkNode('f|rest', 2, '', `${rest.length} other fates`, '(in the tables below)', '', -1);
    other.first = Infinity;
    for (const f of rest) {
      other.count += f.count;
      other.first = Math.min(other.first, f.first);
    }
    nodes.set(other.id, other);
  }
  for (const e of allEdges.values()) {
    const to = keepFate.has(e.to) || keepStage.has(e.to) ? e.to : allNodes.get(e.to)!.col === 2 ? 'f|rest' : null;
    if (!to || !keepStage.has(e.from)) continue;
    const key = e.from + '\u0000' + to;
    const m = edges.get(key);
    if (m) {
      m.count += e.count;
      for (let i = 0; i < 5; i++) m.by[i] += e.by[i];
    } else edges.set(key, { from: e.from, to, count: e.count, by: [...e.by] as GEdge['by'], lastPkt: -1 });
  }

  // Adjacency; back edges by DFS from the ingress nodes, busiest first.
  const out = new Map<string, GEdge[]>();
  for (const id of nodes.keys()) out.set(id, []);
  for (const e of edges.values()) out.get(e.from)!.push(e);
  for (const l of out.values()) l.sort((a, b) => b.count - a.count);
  const back = new Set<GEdge>();
  const state = new Map<string, number>();
  const roots = [...nodes.values()].sort((a, b) => a.col - b.col || b.count - a.count);
  for (const r of roots) {
    if (state.has(r.id)) continue;
    const stack: Array<[string, number]> = [[r.id, 0]];
    state.set(r.id, 1);
    while (stack.length) {
      const top = stack[stack.length - 1];
      const l = out.get(top[0])!;
      if (top[1] >= l.length) {
        state.set(top[0], 2);
        stack.pop();
        continue;
      }
      const e = l[top[1]++];
      const st = state.get(e.to);
      if (st === 1) back.add(e);
      else if (st === undefined) {
        state.set(e.to, 1);
        stack.push([e.to, 0]);
      }
    }
  }

  // Longest-path layers over the forward edges (Kahn order); fates all in the last column.
  const indeg = new Map<string, number>();
  for (const id of nodes.keys()) indeg.set(id, 0);
  for (const e of edges.values()) if (!back.has(e)) indeg.set(e.to, indeg.get(e.to)! + 1);
  const layer = new Map<string, number>();
  const queue = [...nodes.keys()].filter((id) => indeg.get(id) === 0);
  for (const id of queue) layer.set(id, 0);
  for (let qi = 0; qi < queue.length; qi++) {
    const id = queue[qi];
    for (const e of out.get(id)!) {
      if (back.has(e)) continue;
      layer.set(e.to, Math.max(layer.get(e.to) ?? 0, layer.get(id)! + 1));
      indeg.set(e.to, indeg.get(e.to)! - 1);
      if (indeg.get(e.to) === 0) queue.push(e.to);
    }
  }
  let maxStage = 0;
  for (const [id, l] of layer) if (nodes.get(id)!.col !== 2) maxStage = Math.max(maxStage, l);
  const fateLayer = maxStage + 1;
  const L = fateLayer + 1;

  const lnodes = new Map<string, LNode>();
  const layers: LNode[][] = Array.from({ length: L }, () => []);
  for (const g of nodes.values()) {
    const l = g.col === 2 ? fateLayer : layer.get(g.id) ?? 0;
    const lines = nodeLines(g, multiNs);
    const n: LNode = { g, layer: l, order: 0, x: 0, y: 0, w: g.col === 2 ? kFateW : kNodeW, h: 0, lines, ins: [], outs: [] };
    lnodes.set(g.id, n);
    layers[l].push(n);
  }
  const segs: LSeg[] = [];
  const chains: Array<{ e: GEdge; segs: LSeg[]; back: boolean }> = [];
  for (const e of edges.values()) {
    const a = lnodes.get(e.from)!, b = lnodes.get(e.to)!;
    if (back.has(e) || b.layer <= a.layer) {
      const s: LSeg = { from: a, to: b, e, py0: 0, py1: 0 };
      chains.push({ e, segs: [s], back: true });
      continue;
    }
    const chain: LSeg[] = [];
    let prev = a;
    for (let l = a.layer + 1; l < b.layer; l++) {
      const d: LNode = { g: null, layer: l, order: 0, x: 0, y: 0, w: kNodeW, h: kDummyH, lines: [], ins: [], outs: [] };
      layers[l].push(d);
      const s: LSeg = { from: prev, to: d, e, py0: 0, py1: 0 };
      prev.outs.push(s);
      d.ins.push(s);
      chain.push(s);
      prev = d;
    }
    const s: LSeg = { from: prev, to: b, e, py0: 0, py1: 0 };
    prev.outs.push(s);
    b.ins.push(s);
    chain.push(s);
    segs.push(...chain);
    chains.push({ e, segs: chain, back: false });
  }
  for (const n of lnodes.values()) n.h = nodeHeight(n);

  // Ordering: initial by traffic, then barycentre sweeps.
  layers[0].sort((a, b) => (b.g?.count ?? 0) - (a.g?.count ?? 0));
  const renumber = (ls: LNode[]) => ls.forEach((n, i) => (n.order = i));
  layers.forEach(renumber);
  const bary = (n: LNode, up: boolean): number => {
    const s = up ? n.ins : n.outs;
    if (!s.length) return n.order;
    let w = 0, t = 0;
    for (const x of s) {
      const o = up ? x.from : x.to;
      const k = Math.log2(1 + x.e.count);
      w += k;
      t += k * o.order;
    }
    return t / w;
  };
  for (let it = 0; it < 8; it++) {
    const down = it % 2 === 0;
    const range = down ? [...Array(L).keys()].slice(1) : [...Array(L).keys()].reverse().slice(1);
    for (const l of range) {
      const b = new Map<LNode, number>();
      for (const n of layers[l]) b.set(n, bary(n, down));
      layers[l].sort((x, y) => b.get(x)! - b.get(y)! || x.order - y.order);
      renumber(layers[l]);
    }
  }

  // x; then y by isotonic regression towards neighbour centres, alternating directions.
  for (const ls of layers) for (const n of ls) n.x = kMargin + n.layer * kPitch;
  for (const ls of layers) {
    let y = kMargin + kHead;
    for (const n of ls) {
      n.y = y;
      y += n.h + kVGap;
    }
  }
  const centre = (n: LNode) => n.y + n.h / 2;
  for (let it = 0; it < 10; it++) {
    const mode = it % 3; // 0: from left, 1: from right, 2: both
    const order = mode === 1 ? [...Array(L).keys()].reverse() : [...Array(L).keys()];
    for (const l of order) {
      const ls = layers[l];
      const want: number[] = [], wt: number[] = [];
      for (const n of ls) {
        let t = 0, w = 0;
        const add = (s: LSeg[], other: (x: LSeg) => LNode) => {
          for (const x of s) {
            const k = Math.log2(1 + x.e.count) + (n.g ? 0 : 2);
            t += k * centre(other(x));
            w += k;
          }
        };
        if (mode !== 1) add(n.ins, (x) => x.from);
        if (mode !== 0) add(n.outs, (x) => x.to);
        want.push(w ? t / w - n.h / 2 : n.y);
        wt.push(w ? w : 0.01);
      }
      isotonic(ls, want, wt);
    }
  }
  let minY = Infinity;
  for (const ls of layers) for (const n of ls) minY = Math.min(minY, n.y);
  for (const ls of layers) for (const n of ls) n.y += kMargin + kHead - minY;

  // Ports: spread each node's edges along its sides, in the order of the other ends.
  const far = 1e9;
  for (const n of lnodes.values()) {
    const outs = chains.filter((c) => c.back && c.segs[0].from === n).map((c) => c.segs[0]);
    const ins = chains.filter((c) => c.back && c.segs[0].to === n).map((c) => c.segs[0]);
    ports(n, [...n.outs, ...outs], (s) => (outs.includes(s) ? far : centre(s.to)), true);
    ports(n, [...n.ins, ...ins], (s) => (ins.includes(s) ? far : centre(s.from)), false);
  }
  for (const ls of layers) for (const d of ls) if (!d.g) for (const s of [...d.ins, ...d.outs]) if (s.to === d) s.py1 = centre(d); else s.py0 = centre(d);

  let width = 0, height = 0;
  for (const ls of layers) for (const n of ls) {
    width = Math.max(width, n.x + n.w + kMargin);
    height = Math.max(height, n.y + n.h + kMargin);
  }
  const nBack = chains.filter((c) => c.back).length;
  const backBase = height + 6;
  height += nBack * 12 + (nBack ? 10 : 0);

  const maxCount = Math.max(1, ...[...edges.values()].map((e) => e.count));
  const ids = new Map<string, string>();
  let k = 0;
  for (const id of nodes.keys()) ids.set(id, `n${k++}`);

  let svg = `<svg id="path-svg" class="path" viewBox="0 0 ${r1(width)} ${r1(height)}" width="${r1(width)}" height="${r1(height)}" style="max-width:${r1(width)}px;min-width:${Math.round(width * 0.55)}px" role="img" aria-labelledby="path-title path-desc">`;
  svg += `<title id="path-title">Packet path diagram</title><desc id="path-desc">${esc(`${nodes.size} nodes and ${edges.size} edges: ingress devices on the left, stages per namespace in the middle, fates on the right. The same data is in the edge table below.`)}</desc>`;
  svg += `<text class="colhead" x="${kMargin}" y="${kMargin + 12}">ingress</text><text class="colhead" x="${kMargin + kPitch}" y="${kMargin + 12}">stages →</text><text class="colhead" x="${kMargin + fateLayer * kPitch}" y="${kMargin + 12}">fate</text>`;
  svg += '<g class="edges">';
  let bi = 0;
  const labels: string[] = [];
  for (const c of chains.sort((a, b) => b.e.count - a.e.count)) {
    const e = c.e;
    const sw = 1.2 + 7 * Math.sqrt(e.count / maxCount);
    const toFate = lnodes.get(e.to)!.g!.col === 2;
    const dom = e.by.indexOf(Math.max(...e.by));
    const cls = toFate ? `e c${lnodes.get(e.to)!.g!.cls >= 0 ? lnodes.get(e.to)!.g!.cls : dom}` : 'e';
    let d: string;
    const s0 = c.segs[0];
    const last = c.segs[c.segs.length - 1];
    if (c.back) {
      const yb = backBase + 12 * bi++;
      const x0 = s0.from.x + s0.from.w, x1 = s0.to.x;
      d = `M${r1(x0)},${r1(s0.py0)} C${r1(x0 + 40)},${r1(s0.py0)} ${r1(x0 + 40)},${r1(yb)} ${r1(x0)},${r1(yb)} L${r1(x1)},${r1(yb)} C${r1(x1 - 40)},${r1(yb)} ${r1(x1 - 40)},${r1(s0.py1)} ${r1(x1)},${r1(s0.py1)}`;
    } else {
      d = `M${r1(s0.from.x + s0.from.w)},${r1(s0.py0)}`;
      for (const s of c.segs) {
        const x0 = s.from.x + s.from.w, x1 = s.to.x, mx = (x1 - x0) / 2;
        d += ` C${r1(x0 + mx)},${r1(s.py0)} ${r1(x1 - mx)},${r1(s.py1)} ${r1(x1)},${r1(s.py1)}`;
        if (!s.to.g) d += ` L${r1(s.to.x + s.to.w)},${r1(s.py1)}`;
      }
    }
    const fromN = nodes.get(e.from)!, toN = nodes.get(e.to)!;
    const tip = `${nodeText(fromN, multiNs)} → ${nodeText(toN, multiNs)}: ${fmtInt(e.count)} packet(s) (${VERDICTS.map((v, i) => (e.by[i] ? `${fmtInt(e.by[i])} ${v}` : '')).filter(Boolean).join(', ')})${c.back ? ', drawn as a loop back' : ''}`;
    svg += `<g class="${cls}${c.back ? ' back' : ''}" data-from="${ids.get(e.from)}" data-to="${ids.get(e.to)}"><title>${esc(tip)}</title><path d="${d}" style="stroke-width:${sw.toFixed(2)}"/></g>`;
    labels.push(`<text class="elabel" data-from="${ids.get(e.from)}" data-to="${ids.get(e.to)}" x="${r1(last.to.x - 4)}" y="${r1(last.py1 - 3)}">${esc(fmtCompact(e.count))}</text>`);
  }
  svg += '</g><g class="nodes">';
  for (const n of lnodes.values()) {
    const g = n.g!;
    const cls = g.col === 2 ? `node fate c${g.cls < 0 ? 'x' : g.cls}` : g.col === 0 ? 'node ingress' : 'node stage';
    svg += `<g class="${cls}" data-id="${ids.get(g.id)}" tabindex="0"><title>${esc(`${nodeText(g, multiNs)}${g.extra ? ` — ${g.extra}` : ''}: ${fmtInt(g.count)} packet(s), first #${g.first}`)}</title>`;
    svg += `<rect x="${r1(n.x)}" y="${r1(n.y)}" width="${n.w}" height="${r1(n.h)}" rx="6"/>`;
    if (g.col === 2) svg += `<rect class="bar" x="${r1(n.x)}" y="${r1(n.y)}" width="5" height="${r1(n.h)}" rx="2"/>`;
    let ty = n.y + 15;
    const pad = g.col === 2 ? 12 : 8;
    for (const [cl, t] of n.lines) {
      svg += `<text class="${cl}" x="${r1(n.x + pad)}" y="${r1(ty)}">${esc(t)}</text>`;
      ty += cl === 't1' ? 15 : 13;
    }
    svg += '</g>';
  }
  svg += `</g><g class="labels">${labels.join('')}</g></svg>`;
  return { svg, omitted };
}

function nodeLines(g: GNode, multiNs: boolean): Array<[string, string]> {
  const w = g.col === 2 ? kFateW - 20 : kNodeW - 14;
  // Glyph widths measured in Chromium with DejaVu Sans (the widest common fallback): 12px bold 7.6,
  // 11px 6.1, 11px mono 6.62 px per character.
  const lines: Array<[string, string]> = [['t1', fit(g.label, w, 7.6)]];
  const sub = multiNs && g.ns && g.col !== 2 ? `${g.ns} · ${g.sub}` : multiNs && g.ns ? `${g.ns}: ${g.sub}` : g.sub;
  if (g.col === 2) {
    for (const l of wrap(sub, w, 6.1, 2)) lines.push(['t2', l]);
    if (g.extra) lines.push(['t3', fit(g.extra, w, 6.62)]);
  } else if (sub) lines.push(['t2', fit(sub, w, 6.1)]);
  lines.push(['t4', `${fmtInt(g.count)} pkt${g.count === 1 ? '' : 's'}`]);
  return lines;
}

function nodeHeight(n: LNode): number {
  if (!n.g) return kDummyH;
  let h = 8;
  for (const [cl] of n.lines) h += cl === 't1' ? 15 : 13;
  const ports = Math.max(n.ins.length, n.outs.length);
  return Math.max(h, ports * 12 + 10);
}

function ports(n: LNode, segs: LSeg[], key: (s: LSeg) => number, out: boolean): void {
  if (!n.g || !segs.length) return;
  segs.sort((a, b) => key(a) - key(b));
  const top = n.y + 6, span = n.h - 12;
  segs.forEach((s, i) => {
    const y = segs.length === 1 ? n.y + n.h / 2 : top + (span * (i + 0.5)) / segs.length;
    if (out) s.py0 = y;
    else s.py1 = y;
  });
}

/**
 * y for nodes in fixed order minimising Σ w·(y − want)² subject to y[i+1] ≥ y[i] + h[i] + gap: shift out
 * the gaps and it is isotonic regression, solved by pool-adjacent-violators.
 */
function isotonic(ls: LNode[], want: number[], wt: number[]): void {
  const off: number[] = [];
  let acc = 0;
  for (const n of ls) {
    off.push(acc);
    acc += n.h + (n.g ? kVGap : 4);
  }
  const blocks: Array<{ v: number; w: number; n: number }> = [];
  for (let i = 0; i < ls.length; i++) {
    blocks.push({ v: want[i] - off[i], w: wt[i], n: 1 });
    while (blocks.length > 1 && blocks[blocks.length - 2].v > blocks[blocks.length - 1].v) {
      const b = blocks.pop()!, a = blocks[blocks.length - 1];
      a.v = (a.v * a.w + b.v * b.w) / (a.w + b.w);
      a.w += b.w;
      a.n += b.n;
    }
  }
  let i = 0;
  for (const b of blocks) for (let j = 0; j < b.n; j++, i++) ls[i].y = b.v + off[i];
}

function ctChart(vals: number[], news: number[], width: number): string {
  const W = 900, H = 200, L = 46, R = 12, T = 12, B = 34;
  const n = vals.length;
  const max = Math.max(1, ...vals, ...news);
  const yTicks = niceTicks(max);
  const top = yTicks[yTicks.length - 1];
  const bw = (W - L - R) / n;
  const y = (v: number) => T + (H - T - B) * (1 - v / top);
  let s = `<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" aria-labelledby="ct-title ct-desc"><title id="ct-title">Conntrack ids seen per time bucket</title>`;
  s += `<desc id="ct-desc">${esc(`${n} buckets of ${fmtSecs(width)}; peak ${Math.max(...vals)} connections seen in one bucket.`)}</desc>`;
  for (const t of yTicks) s += `<line class="grid" x1="${L}" x2="${W - R}" y1="${r1(y(t))}" y2="${r1(y(t))}"/><text class="axis" x="${L - 6}" y="${r1(y(t) + 4)}" text-anchor="end">${esc(fmtCompact(t))}</text>`;
  for (let i = 0; i < n; i++) {
    if (!vals[i]) continue;
    s += `<rect class="cbar" x="${r1(L + i * bw + bw * 0.1)}" y="${r1(y(vals[i]))}" width="${r1(Math.max(1, bw * 0.8))}" height="${r1(y(0) - y(vals[i]))}"><title>${esc(`+${fmtSecs(i * width)} … +${fmtSecs((i + 1) * width)}: ${vals[i]} connection(s) seen, ${news[i]} NEW`)}</title></rect>`;
  }
  for (let i = 0; i < n; i++) {
    if (!news[i]) continue;
    s += `<rect class="cnew" x="${r1(L + i * bw + bw * 0.3)}" y="${r1(y(news[i]))}" width="${r1(Math.max(1, bw * 0.4))}" height="${r1(y(0) - y(news[i]))}"><title>${esc(`+${fmtSecs(i * width)}: ${news[i]} packet(s) created an entry`)}</title></rect>`;
  }
  const xt = Math.min(6, n);
  for (let i = 0; i <= xt; i++) {
    const b = Math.round((n * i) / xt);
    s += `<text class="axis" x="${r1(L + b * bw)}" y="${H - B + 16}" text-anchor="${i === 0 ? 'start' : i === xt ? 'end' : 'middle'}">+${esc(fmtSecs(b * width))}</text>`;
  }
  s += `<line class="axisl" x1="${L}" x2="${W - R}" y1="${r1(y(0))}" y2="${r1(y(0))}"/>`;
  s += `<g class="legend"><rect class="cbar" x="${L}" y="${H - 12}" width="10" height="8"/><text class="axis" x="${L + 14}" y="${H - 4}">connections seen</text><rect class="cnew" x="${L + 130}" y="${H - 12}" width="10" height="8"/><text class="axis" x="${L + 144}" y="${H - 4}">NEW (entry created)</text></g>`;
  return s + '</svg>';
}

function niceTicks(max: number): number[] {
  const raw = max / 4;
  const p = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = Math.max(1, [1, 2, 5, 10].map((m) => m * p).find((s) => s >= raw) ?? p * 10);
  const out: number[] = [];
  for (let v = 0; v < max + step; v += step) out.push(v);
  if (out[out.length - 1] < max) out.push(out[out.length - 1] + step);
  return out;
}

// ---- HyperLogLog (Flajolet et al. 2007, with the linear-counting small-range correction) -------------

function mix(key: number): number {
  let h = (key >>> 0) ^ Math.imul(Math.floor(key / 4294967296), 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

function hllAdd(reg: Uint8Array, key: number): void {
  const h = mix(key);
  const i = h >>> (32 - kHllP);
  const w = (h << kHllP) >>> 0;
  const rank = w === 0 ? 32 - kHllP + 1 : Math.clz32(w) + 1;
  if (rank > reg[i]) reg[i] = rank;
}

function hllCount(reg: Uint8Array): number {
  const m = reg.length;
  let sum = 0, zeros = 0;
  for (let i = 0; i < m; i++) {
    sum += Math.pow(2, -reg[i]);
    if (reg[i] === 0) zeros++;
  }
  const e = ((0.7213 / (1 + 1.079 / m)) * m * m) / sum;
  return e <= 2.5 * m && zeros ? m * Math.log(m / zeros) : e;
}

// ---- text helpers ------------------------------------------------------------------------------------

/** HTML-escape text for element content and quoted attributes. */
export function esc(s: string): string {
  return String(s).replace(/[&<>"']/g, (c) => (c === '&' ? '&amp;' : c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '"' ? '&quot;' : '&#39;'));
}

function mkNode(id: string, col: 0 | 1 | 2, ns: string, label: string, sub: string, extra: string, cls: VerdictClass | -1): GNode {
  return { id, col, ns, label, sub, extra, cls, count: 0, lastPkt: -1, first: -1 };
}

function nodeText(g: GNode, multiNs: boolean): string {
  const ns = multiNs && g.ns ? `${g.ns} ` : '';
  if (g.col === 0) return `${ns}${g.label} (ingress, ${g.sub})`;
  if (g.col === 2) return `${g.label} ${g.sub}${multiNs && g.ns ? ` (${g.ns})` : ''}`;
  return `${ns}${g.label} (${g.sub})`;
}

function dropPlace(f: Final): { stage: string; place: string; rule: string } {
  const w = f.where as Record<string, unknown> | undefined;
  if (!w) return { stage: '', place: '', rule: '' };
  if ('table' in w) {
    return { stage: String(w.hook ?? ''), place: `${w.family} ${w.table} ${w.chain}`, rule: `${w.rule}${w.handle !== null && w.handle !== undefined ? ` (handle ${w.handle})` : ''}` };
  }
  return { stage: String(w.stage ?? ''), place: w.dev ? `dev ${w.dev}` : '', rule: w.route ? `route ${w.route}` : '' };
}

function ep(a: string, port: number | undefined): string {
  return port !== undefined ? `${a}:${port}` : a;
}

function tupleText(t: HdrTuple): string {
  return `${ep(t.src, t.sport)} > ${ep(t.dst, t.dport)}${t.icmp_id !== undefined ? ` id ${t.icmp_id}` : ''}`;
}

function sameTuple(a: HdrTuple, b: HdrTuple): boolean {
  return a.src === b.src && a.dst === b.dst && a.sport === b.sport && a.dport === b.dport && a.icmp_id === b.icmp_id;
}

function inc(m: Map<string, number>, k: string): void {
  m.set(k, (m.get(k) ?? 0) + 1);
}

function fmtInt(n: number): string {
  return Math.round(n).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

function fmtCompact(n: number): string {
  if (n < 10000) return String(n);
  if (n < 1e6) return `${+(n / 1e3).toFixed(n < 1e5 ? 1 : 0)}k`;
  if (n < 1e9) return `${+(n / 1e6).toFixed(n < 1e8 ? 1 : 0)}M`;
  return `${+(n / 1e9).toFixed(1)}G`;
}

function fmtBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const u = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024, i = 0;
  while (v >= 1024 && i < u.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${u[i]}`;
}

function fmtSecs(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s === 0) return '0 s';
  if (s < 1e-3) return `${+(s * 1e6).toPrecision(3)} µs`;
  if (s < 1) return `${+(s * 1e3).toPrecision(3)} ms`;
  if (s < 120) return `${+s.toPrecision(3)} s`;
  if (s < 7200) return `${+(s / 60).toPrecision(3)} min`;
  return `${+(s / 3600).toPrecision(3)} h`;
}

/** `1795815899.342449009` → `2026-11-27 23:04:59.342449009 UTC (1795815899.342449009)`. */
function isoTime(ts: string): string {
  const sec = Number(ts.split('.')[0]);
  if (!Number.isFinite(sec) || !/^\d+(\.\d+)?$/.test(ts)) return ts;
  const frac = ts.includes('.') ? '.' + ts.split('.')[1] : '';
  return `${new Date(sec * 1000).toISOString().slice(0, 19).replace('T', ' ')}${frac} UTC`;
}

function pct(n: number, total: number): string {
  return `${((100 * n) / total).toFixed(1)} %`;
}

function r1(n: number): string {
  return String(Math.round(n * 10) / 10);
}

/** Truncate to an estimated pixel width (average glyph width `cw`). */
function fit(s: string, px: number, cw: number): string {
  const max = Math.max(3, Math.floor(px / cw));
  return s.length <= max ? s : s.slice(0, max - 1) + '…';
}

function wrap(s: string, px: number, cw: number, maxLines: number): string[] {
  const max = Math.max(3, Math.floor(px / cw));
  const words = s.split(' ');
  const lines: string[] = [];
  let cur = '';
  for (const w of words) {
    if (!cur) cur = w;
    else if (cur.length + 1 + w.length <= max) cur += ' ' + w;
    else {
      lines.push(cur);
      cur = w;
    }
  }
  if (cur) lines.push(cur);
  if (lines.length > maxLines) {
    const rest = lines.slice(maxLines - 1).join(' ');
    lines.length = maxLines - 1;
    lines.push(rest);
  }
  return lines.map((l) => fit(l, px, cw));
}

/** A table cell: inner HTML (already escaped) and an optional sort value. */
function cell(html: string, sort?: string | number, cls = ''): string {
  const v = sort === undefined ? '' : ` data-v="${esc(String(sort))}"`;
  return `<td${v}${cls ? ` class="${cls}"` : ''}>${html}</td>`;
}

function num(n: number, cls = ''): string {
  return cell(fmtInt(n), n, `num${cls ? ' ' + cls : ''}`);
}

function table(heads: string[], rows: string[][], caption: string, cls: string): string {
  if (!rows.length) return '<p class="muted">None.</p>';
  let h = `<div class="scroll"><table class="sortable ${cls}"><caption>${esc(caption)}</caption><thead><tr>`;
  for (const t of heads) h += t ? `<th scope="col"><button type="button">${esc(t)}</button></th>` : '<th scope="col"><span class="sr">arrow</span></th>';
  h += '</tr></thead><tbody>';
  for (const r of rows) h += `<tr>${r.join('')}</tr>`;
  return h + '</tbody></table></div>';
}

/** A table for an array of flat objects of unknown shape (the summary's rule hits). */
function genericTable(rows: unknown[], caption: string): string {
  const objs = rows.filter((r): r is Record<string, unknown> => !!r && typeof r === 'object').slice(0, 500);
  const keys: string[] = [];
  for (const o of objs) for (const k of Object.keys(o)) if (!keys.includes(k) && keys.length < 12) keys.push(k);
  return table(keys, objs.map((o) => keys.map((k) => {
    const v = o[k];
    return typeof v === 'number' ? num(v) : cell(esc(v === undefined || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v)));
  })), caption, '');
}

// ---- page assets -------------------------------------------------------------------------------------

const CSS = `
:root{--bg:#f6f7f9;--panel:#fff;--fg:#1b2230;--muted:#5b6577;--border:#d9dee7;--accent:#2459c7;--edge:#8793a6;--halo:#fff;
--c0:#1e8449;--c1:#2563c9;--c2:#7a4fc2;--c3:#c62f2f;--c4:#a86a00;--cx:#6b7280;--row:#f1f4f8;--code:#eef1f6}
@media (prefers-color-scheme:dark){:root{--bg:#111418;--panel:#191d23;--fg:#e3e7ee;--muted:#9ba5b5;--border:#2d333d;--accent:#7aa7ff;--edge:#687489;--halo:#191d23;
--c0:#4cc37e;--c1:#6ea2ff;--c2:#b394f5;--c3:#f26d6d;--c4:#e0a640;--cx:#9ca3af;--row:#1f242b;--code:#232932}}
*{box-sizing:border-box}
html{background:var(--bg);color:var(--fg);font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
body{margin:0 auto;max-width:1480px;padding:20px 24px 40px}
h1{font-size:22px;margin:0 0 8px}h2{font-size:17px;margin:0 0 10px}
a{color:var(--accent)}code,pre{font:12.5px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace}
code{background:var(--code);padding:1px 4px;border-radius:4px;overflow-wrap:anywhere}
header{margin-bottom:16px}
.meta{display:flex;flex-wrap:wrap;gap:4px 28px;margin:0 0 10px}.meta div{display:flex;gap:8px}.meta dt{color:var(--muted)}.meta dd{margin:0;overflow-wrap:anywhere}
nav ul{list-style:none;display:flex;flex-wrap:wrap;gap:6px;margin:0;padding:0}
nav a{display:inline-block;padding:3px 10px;border:1px solid var(--border);border-radius:999px;background:var(--panel);text-decoration:none;font-size:13px}
nav a:hover,nav a:focus-visible{border-color:var(--accent)}
section{background:var(--panel);border:1px solid var(--border);border-radius:10px;padding:16px 18px;margin:0 0 16px}
.muted{color:var(--muted)}p{margin:0 0 10px}
.scroll{overflow-x:auto}
table{border-collapse:collapse;margin:4px 0 8px;min-width:40%}
table.narrow{min-width:0}
caption{text-align:left;color:var(--muted);font-size:12px;padding-bottom:4px}
th,td{padding:5px 10px;border-bottom:1px solid var(--border);text-align:left;vertical-align:top}
tbody tr:nth-child(even){background:var(--row)}
th{font-weight:600;white-space:nowrap}
th button{all:unset;cursor:pointer}th button:focus-visible{outline:2px solid var(--accent);outline-offset:2px}
th[aria-sort=ascending] button::after{content:" ▲";font-size:10px}th[aria-sort=descending] button::after{content:" ▼";font-size:10px}
td.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.bad{color:var(--c3);font-weight:600}
code.rule{white-space:pre-wrap}
.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}
.cards{display:flex;flex-wrap:wrap;gap:10px;margin-bottom:12px}
.card{flex:1 1 120px;border:1px solid var(--border);border-top:4px solid var(--cx);border-radius:8px;padding:8px 12px}
.card .k{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}.card .v{font-size:22px;font-weight:650;font-variant-numeric:tabular-nums}
.card.c0{border-top-color:var(--c0)}.card.c1{border-top-color:var(--c1)}.card.c2{border-top-color:var(--c2)}.card.c3{border-top-color:var(--c3)}.card.c4{border-top-color:var(--c4)}
.stack{display:flex;height:14px;border-radius:7px;overflow:hidden;margin:0 0 10px;background:var(--row)}
.stack span{display:block;height:100%}
.stack .c0,.dot.c0{background:var(--c0)}.stack .c1,.dot.c1{background:var(--c1)}.stack .c2,.dot.c2{background:var(--c2)}.stack .c3,.dot.c3{background:var(--c3)}.stack .c4,.dot.c4{background:var(--c4)}
.dot{display:inline-block;width:9px;height:9px;border-radius:50%;margin-right:7px}
svg text{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
svg.path{display:block;width:100%;height:auto}svg.path.actual{width:auto!important;max-width:none!important;min-width:0!important}
.tools{display:flex;justify-content:flex-end;margin:-4px 0 4px}.tools button{font:inherit;font-size:12px;color:var(--fg);background:var(--panel);border:1px solid var(--border);border-radius:6px;padding:2px 10px;cursor:pointer}.tools button:focus-visible{outline:2px solid var(--accent)}.tools button[aria-pressed=true]{border-color:var(--accent)}
svg.path .colhead{fill:var(--muted);font-size:11px;text-transform:uppercase;letter-spacing:.06em}
.e path{fill:none;stroke:var(--edge);stroke-opacity:.55;stroke-linecap:round}
.e.c0 path{stroke:var(--c0)}.e.c1 path{stroke:var(--c1)}.e.c2 path{stroke:var(--c2)}.e.c3 path{stroke:var(--c3)}.e.c4 path{stroke:var(--c4)}
.e.back path{stroke-dasharray:5 4}
.e:hover path{stroke-opacity:.9}
.elabel{font-size:10.5px;font-weight:600;fill:var(--fg);text-anchor:end;paint-order:stroke;stroke:var(--halo);stroke-width:3px;stroke-linejoin:round;pointer-events:none}
.node rect{fill:var(--panel);stroke:var(--border);stroke-width:1.2}
.node.ingress rect{stroke:var(--accent);stroke-width:1.6}
.node.fate rect{stroke:var(--border)}
.node.fate .bar{stroke:none}.node.c0 .bar{fill:var(--c0)}.node.c1 .bar{fill:var(--c1)}.node.c2 .bar{fill:var(--c2)}.node.c3 .bar{fill:var(--c3)}.node.c4 .bar{fill:var(--c4)}.node.cx .bar{fill:var(--cx)}
.node.c3 .t1{fill:var(--c3)}
.node text{fill:var(--fg)}.node .t1{font-size:12px;font-weight:650}.node .t2{font-size:11px;fill:var(--muted)}
.node .t3{font-size:11px;font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace}.node .t4{font-size:10.5px;fill:var(--muted);font-variant-numeric:tabular-nums}
.node{cursor:default;outline:none}.node:focus-visible rect{stroke:var(--accent);stroke-width:2.5}
svg.hl .e:not(.on){opacity:.12}svg.hl .elabel:not(.on){opacity:.15}svg.hl .node:not(.on){opacity:.45}
svg.chart{width:100%;max-width:900px;height:auto;display:block}
.chart .cbar{fill:var(--accent);fill-opacity:.55}.chart .cnew{fill:var(--c4)}
.chart .grid{stroke:var(--border);stroke-width:1}.chart .axisl{stroke:var(--muted)}.chart .axis{fill:var(--muted);font-size:11px}
details{margin-top:6px}summary{cursor:pointer;color:var(--accent)}details[open]>summary{margin-bottom:6px}
#examples details summary{color:var(--fg)}
pre{background:var(--code);padding:10px 12px;border-radius:6px;overflow-x:auto;margin:4px 0 10px}
ul.warn{margin:0;padding-left:20px}ul.warn li{margin:2px 0}
footer{color:var(--muted);font-size:12px;text-align:center}
@media (prefers-color-scheme:dark){.e path{stroke-opacity:.72}}
@media print{section{break-inside:avoid}nav{display:none}}
`;

/** Sortable tables and diagram highlighting; sets data-ready on <html> when it ran to the end. */
const JS = `
(function(){
  'use strict';
  function val(td){var v=td.getAttribute('data-v');if(v===null)v=td.textContent||'';var n=Number(v);return v!==''&&!isNaN(n)?n:v.toLowerCase();}
  document.querySelectorAll('table.sortable').forEach(function(t){
    var ths=t.querySelectorAll('thead th');
    ths.forEach(function(th,i){
      var b=th.querySelector('button');if(!b)return;
      b.addEventListener('click',function(){
        var asc=th.getAttribute('aria-sort')!=='ascending';
        ths.forEach(function(x){x.removeAttribute('aria-sort');});
        th.setAttribute('aria-sort',asc?'ascending':'descending');
        var body=t.tBodies[0],rows=Array.prototype.slice.call(body.rows);
        rows.sort(function(a,b){var x=val(a.cells[i]),y=val(b.cells[i]);var c=typeof x==='number'&&typeof y==='number'?x-y:String(x).localeCompare(String(y));return asc?c:-c;});
        rows.forEach(function(r){body.appendChild(r);});
      });
    });
  });
  var svg=document.getElementById('path-svg');
  var zoom=document.getElementById('zoom');
  if(svg&&zoom)zoom.addEventListener('click',function(){var a=svg.classList.toggle('actual');zoom.setAttribute('aria-pressed',a?'true':'false');zoom.textContent=a?'Fit to width':'Actual size';});
  if(svg){
    var items=svg.querySelectorAll('[data-from]');
    function on(id){
      svg.classList.add('hl');
      items.forEach(function(e){var f=e.getAttribute('data-from'),t=e.getAttribute('data-to');
        if(f===id||t===id){e.classList.add('on');var a=svg.querySelector('[data-id="'+f+'"]'),b=svg.querySelector('[data-id="'+t+'"]');if(a)a.classList.add('on');if(b)b.classList.add('on');}});
    }
    function off(){svg.classList.remove('hl');svg.querySelectorAll('.on').forEach(function(e){e.classList.remove('on');});}
    svg.querySelectorAll('.node').forEach(function(n){var id=n.getAttribute('data-id');
      n.addEventListener('mouseenter',function(){on(id);});n.addEventListener('mouseleave',off);
      n.addEventListener('focus',function(){on(id);});n.addEventListener('blur',off);});
  }
  document.documentElement.setAttribute('data-ready','1');
})();
`;

/** The queue model's report as the summary JSON carries it (workers/softirq.ts SoftirqReport). */
interface SoftirqLike {
  windowNs: number;
  cpus: Array<Record<string, unknown> & { cpu: number }>;
  queues: Array<Record<string, unknown>>;
  windows: Array<{ cpu: number; t: number; loadPct: number; drops: { FULL_RING: number; CPU_BACKLOG: number }; timeSqueeze: number }>;
  softnetStat: string;
  egress?: { devices: Array<Record<string, unknown> & { dev: string; drops: Record<string, number> }>; windows: Array<{ dev: string; t: number; sent: number; drops: number; backlogPeak: number }> };
  drops?: { total: number; first: Array<{ index: number; ts: string; generated: boolean; reason: string; where: Record<string, unknown>; t_ms: number }> };
}

/** The first packets the queue model dropped (all of them: --queue-drops). */
function queueDropsSection(d: NonNullable<SoftirqLike['drops']>): string {
  if (d.total === 0) return '';
  const rows = d.first.map((x) => ({
    packet: `#${x.index}${x.generated ? ' (generated)' : ''}`, ts: x.ts, reason: x.reason,
    where: 'queue' in x.where ? `rx ring ${x.where.queue} (CPU ${x.where.cpu})` : 'backlog' in x.where ? `CPU ${x.where.cpu} backlog` : `qdisc ${x.where.qdisc} of ${x.where.dev}`,
    'at (ms)': Math.round(x.t_ms * 1000) / 1000,
  }));
  return `<h3>Packets the queues dropped</h3>${genericTable(rows, `The first ${rows.length} of ${d.total} (all of them: --queue-drops FILE)`)}`;
}

/** Egress qdiscs: peak backlog per device and window (drop markers), and the per-device table. */
function egressSection(e: NonNullable<SoftirqLike['egress']>, windowNs: number): string {
  if (e.devices.length === 0) return '';
  const W = 760, H = 160, P = 34;
  const nWin = e.windows.reduce((m, w) => Math.max(m, Math.round(w.t / windowNs) + 1), 1);
  const top = Math.max(1, ...e.windows.map((w) => w.backlogPeak));
  const x = (i: number) => P + (nWin <= 1 ? 0 : (i / (nWin - 1)) * (W - 2 * P));
  const y = (v: number) => H - P / 2 - (v / top) * (H - P);
  const colours = ['#0891b2', '#9333ea', '#ea580c', '#16a34a', '#2563eb', '#ca8a04'];
  let svg = `<svg viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-labelledby="eg-t eg-d"><title id="eg-t">Egress qdisc backlog per device</title><desc id="eg-d">Most packets queued in each device's root qdisc per ${windowNs / 1e6} ms window; red marks are windows with qdisc drops.</desc>`;
  for (const v of [0, top]) svg += `<line x1="${P}" x2="${W - P}" y1="${y(v)}" y2="${y(v)}" stroke="currentColor" stroke-opacity="0.2"/><text x="2" y="${y(v) + 4}" font-size="10" fill="currentColor">${v}</text>`;
  e.devices.forEach((d, k) => {
    const peak = new Array<number>(nWin).fill(0);
    for (const w of e.windows) if (w.dev === d.dev) peak[Math.round(w.t / windowNs)] = w.backlogPeak;
    svg += `<polyline fill="none" stroke="${colours[k % colours.length]}" stroke-width="1.5" points="${peak.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ')}"><title>${esc(d.dev)}</title></polyline>`;
  });
  for (const w of e.windows) {
    if (w.drops > 0) svg += `<circle cx="${x(Math.round(w.t / windowNs)).toFixed(1)}" cy="${y(w.backlogPeak).toFixed(1)}" r="3" fill="#dc2626"><title>${esc(w.dev)} at ${(w.t / 1e6).toFixed(1)} ms: ${w.drops} qdisc drops, backlog ${w.backlogPeak}</title></circle>`;
  }
  svg += '</svg>';
  const legend = e.devices.map((d, k) => `<span style="color:${colours[k % colours.length]}">■ ${esc(d.dev)}</span>`).join(' ');
  const rows = e.devices.map((d) => ({ ...d, drops: Object.entries(d.drops).map(([r, n]) => `${r} ${n}`).join(', ') || '0' }));
  return `<h3>Egress qdiscs</h3>${svg}<p>${legend}</p>${genericTable(rows, 'Per edge device: root qdisc, line rate (bits/s), packets offered and sent, qdisc drops, peak backlog, wire busy, longest wait (ns)')}`;
}

/** Per-CPU softirq load over time (one line per CPU), drop markers, the per-CPU and per-queue tables. */
function softirqSection(r: SoftirqLike): string {
  const W = 760, H = 180, P = 34;
  const nCpu = r.cpus.length;
  const nWin = r.windows.reduce((m, w) => Math.max(m, Math.round(w.t / r.windowNs) + 1), 1);
  const x = (i: number) => P + (nWin <= 1 ? 0 : (i / (nWin - 1)) * (W - 2 * P));
  const y = (pct: number) => H - P / 2 - (Math.min(100, pct) / 100) * (H - P);
  const colours = ['#2563eb', '#dc2626', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#ca8a04', '#db2777'];
  let svg = `<svg viewBox="0 0 ${W} ${H}" width="100%" role="img" aria-labelledby="sq-t sq-d"><title id="sq-t">Softirq load per CPU</title><desc id="sq-d">Percent of each ${r.windowNs / 1e6} ms window each CPU spent in NET_RX softirq; red marks are windows with drops.</desc>`;
  for (const pct of [0, 50, 100]) svg += `<line x1="${P}" x2="${W - P}" y1="${y(pct)}" y2="${y(pct)}" stroke="currentColor" stroke-opacity="0.2"/><text x="2" y="${y(pct) + 4}" font-size="10" fill="currentColor">${pct}%</text>`;
  for (let c = 0; c < nCpu; c++) {
    const load = new Array<number>(nWin).fill(0);
    for (const w of r.windows) if (w.cpu === c) load[Math.round(w.t / r.windowNs)] = w.loadPct;
    const pts = load.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    svg += `<polyline fill="none" stroke="${colours[c % colours.length]}" stroke-width="1.5" points="${pts}"><title>CPU ${c}</title></polyline>`;
  }
  for (const w of r.windows) {
    const d = w.drops.FULL_RING + w.drops.CPU_BACKLOG;
    if (d > 0) svg += `<circle cx="${x(Math.round(w.t / r.windowNs)).toFixed(1)}" cy="${y(w.loadPct).toFixed(1)}" r="3" fill="#dc2626"><title>CPU ${w.cpu} at ${(w.t / 1e6).toFixed(1)} ms: ${d} drops (${w.drops.FULL_RING} FULL_RING, ${w.drops.CPU_BACKLOG} CPU_BACKLOG)</title></circle>`;
  }
  svg += '</svg>';
  const legend = r.cpus.map((c) => `<span style="color:${colours[c.cpu % colours.length]}">■ CPU ${c.cpu}</span>`).join(' ');
  return `${svg}<p>${legend}</p>${genericTable(r.cpus, 'Per CPU: packets processed, drops, time_squeeze, softirq runs, busy time')}${genericTable(r.queues, 'Per rx queue: CPU, ring size, packets, drops, peak occupancy')}<h3>/proc/net/softnet_stat</h3><pre>${esc(r.softnetStat)}</pre>${r.egress ? egressSection(r.egress, r.windowNs) : ''}${r.drops ? queueDropsSection(r.drops) : ''}`;
}
