/**
 * Egress of the queue model: every packet the datapath transmitted on an edge device goes through
 * that device's root qdisc and leaves at the device's line rate (stack/sched TxDevice). It is handed
 * to dev_queue_xmit when the softirq that processed its cause finished (the CPU model's completion
 * time, so CPU latency and rx-ring drops are accounted for: a packet whose cause died in the ring is
 * never sent). Devices share nothing, so each is simulated on its own, in time order.
 */
import { DROP_REASON_NAMES, DR } from '../stack/drop_reason.js';
import { TxDevice, type Qdisc, type QdiscPacket } from '../stack/sched/qdisc.js';
import { formatRate } from '../stack/sched/tc_spec.js';
import { grow } from './typed.js';

/** One transmitting device of the model. */
export interface EgressDevice {
  /** `ns:dev`. */
  name: string;
  /** The qdisc spec (tc syntax) the device's root qdisc was built from. */
  qdisc: string;
  /** Line rate, bytes/s; 0 when unknown (then nothing queues: the qdisc never backs up). */
  rate: number;
  /** Builds a fresh root qdisc (null = noqueue). */
  make: () => Qdisc<TxPkt> | null;
}

/** A packet on its way out (the fields the qdiscs read). */
export class TxPkt implements QdiscPacket {
  constructor(
    readonly len: number,
    readonly priority: number,
    readonly hash: number,
    public ecn: number,
    /** Time it was handed to the qdisc, ns. */
    readonly enq: number,
    /** The transmit event it came from (TxEvents row). */
    readonly ev = -1,
  ) {}
}

/** Transmit events in typed columns, in the order the datapath made them. */
export class TxEvents {
  n = 0;
  cause = new Int32Array(1024);
  dev = new Int32Array(1024);
  len = new Int32Array(1024);
  prio = new Int32Array(1024);
  hash = new Int32Array(1024);
  ecn = new Int8Array(1024);
  /** 1 when the frame was one the stack generated (ARP, ICMP error, RST), not the input packet. */
  gen = new Int8Array(1024);

  push(cause: number, dev: number, len: number, prio: number, hash: number, ecn: number, gen = 0): void {
    if (this.n === this.cause.length) {
      this.cause = grow(this.cause);
      this.dev = grow(this.dev);
      this.len = grow(this.len);
      this.prio = grow(this.prio);
      this.hash = grow(this.hash);
      this.ecn = grow(this.ecn);
      this.gen = grow(this.gen);
    }
    const i = this.n++;
    this.cause[i] = cause;
    this.dev[i] = dev;
    this.len[i] = len;
    this.prio[i] = prio;
    this.hash[i] = hash;
    this.ecn[i] = ecn;
    this.gen[i] = gen;
  }
}

/** Called for each frame a qdisc dropped: its transmit event row, the reason name and the time (ns). */
export type EgressDropSink = (ev: number, reason: string, t: number) => void;

/** One device's egress totals (`tc -s qdisc show` and the wire). */
export interface EgressSummary {
  dev: string;
  qdisc: string;
  /** Line rate, bits/s (0: unknown, not queued). */
  rateBits: number;
  /** Packets handed to the qdisc, and those whose cause was dropped on receive (never sent). */
  offered: number;
  rxDropped: number;
  sent: number;
  sentBytes: number;
  /** Qdisc drops by kernel reason. */
  drops: Record<string, number>;
  overlimits: number;
  ecnMarked: number;
  backlogPeak: number;
  backlogBytesPeak: number;
  /** Wire busy as % of the time from the first to the last transmission. */
  busyPct: number;
  /** Longest time a packet waited in the qdisc, ns. */
  maxDelayNs: number;
  /** Time of the first qdisc drop, ns (null: none). */
  firstDropNs: number | null;
}

/** One device in one window. */
export interface EgressWindow {
  dev: string;
  /** Window start, ns. */
  t: number;
  sent: number;
  drops: number;
  /** Most packets queued at once during the window. */
  backlogPeak: number;
}

function newSummary(d: EgressDevice): EgressSummary {
  return {
    dev: d.name, qdisc: d.qdisc, rateBits: d.rate * 8, offered: 0, rxDropped: 0, sent: 0, sentBytes: 0, drops: {},
    overlimits: 0, ecnMarked: 0, backlogPeak: 0, backlogBytesPeak: 0, busyPct: 0, maxDelayNs: 0, firstDropNs: null,
  };
}

/** Egress results. */
export interface EgressReport {
  devices: EgressSummary[];
  windows: EgressWindow[];
}

/**
 * Simulate every device's qdisc and wire. `doneAt[index]` is when the softirq finished input packet
 * `index` (NaN: dropped on receive).
 */
export function simulateEgress(devices: EgressDevice[], ev: TxEvents, doneAt: Float64Array, windowNs: number, onDrop: EgressDropSink | null = null): EgressReport {
  // Devices without a rate: nothing queues, so counting needs no order.
  const counted = countOnly(devices, ev, doneAt, windowNs);
  const out: EgressReport = { devices: [], windows: counted.windows };
  // Events per device with a line rate, taken in time order (ties: the order the datapath made them).
  const per: number[][] = devices.map(() => []);
  for (let i = 0; i < ev.n; i++) if (devices[ev.dev[i]].rate > 0) per[ev.dev[i]].push(i);
  devices.forEach((d, k) => {
    if (d.rate <= 0) {
      const s = counted.summaries.get(k);
      if (s) out.devices.push(s);
      return;
    }
    const list = per[k];
    if (list.length === 0) return;
    const s = newSummary(d);
    const timed = list.filter((i) => {
      if (Number.isNaN(doneAt[ev.cause[i]])) {
        s.rxDropped++;
        return false;
      }
      return true;
    });
    // Completion times are nearly in order already (one CPU's packets are); sort only when needed.
    let sorted = true;
    for (let j = 1; j < timed.length && sorted; j++) sorted = doneAt[ev.cause[timed[j - 1]]] <= doneAt[ev.cause[timed[j]]];
    if (!sorted) timed.sort((a, b) => doneAt[ev.cause[a]] - doneAt[ev.cause[b]] || a - b);
    s.offered = timed.length;
    const wins = new Map<number, EgressWindow>();
    const win = (t: number): EgressWindow => {
      const w0 = Math.floor(t / windowNs);
      let w = wins.get(w0);
      if (!w) wins.set(w0, (w = { dev: d.name, t: w0 * windowNs, sent: 0, drops: 0, backlogPeak: 0 }));
      return w;
    };
    const drop = (reason: number, t: number, row: number): void => {
      const name = DROP_REASON_NAMES[reason] ?? String(reason);
      if (onDrop !== null) onDrop(row, name, t);
      s.drops[name] = (s.drops[name] ?? 0) + 1;
      if (s.firstDropNs === null) s.firstDropNs = t;
      win(t).drops++;
    };
    let first = Infinity, last = 0, busy = 0;
    const sent = (p: TxPkt, start: number, end: number): void => {
      s.sent++;
      s.sentBytes += p.len;
      s.maxDelayNs = Math.max(s.maxDelayNs, start - p.enq);
      busy += end - start;
      first = Math.min(first, start);
      last = Math.max(last, end);
      win(start).sent++;
    };
    const q = d.make();
    if (q === null) {
      // noqueue: every packet leaves when handed over.
      for (const i of timed) {
        const t = doneAt[ev.cause[i]];
        s.sent++;
        s.sentBytes += ev.len[i];
        win(t).sent++;
      }
      out.devices.push(s);
      out.windows.push(...[...wins.values()].sort((a, b) => a.t - b.t));
      return;
    }
    // Ethernet on the wire: preamble + SFD 8, FCS 4, inter-frame gap 12 bytes per frame.
    const tx = new TxDevice<TxPkt>(q, d.rate, 24);
    tx.onXmit = sent;
    tx.onDrop = (p, reason, t) => drop(reason, t, p.ev);
    for (const i of timed) {
      const t = doneAt[ev.cause[i]];
      const p = new TxPkt(ev.len[i], ev.prio[i], ev.hash[i], ev.ecn[i], t, i);
      const r = tx.xmit(p, t);
      if (r !== DR.NONE) drop(r, t, i);
      const w = win(t);
      if (q.qlen > w.backlogPeak) w.backlogPeak = q.qlen;
    }
    tx.flush();
    s.overlimits = q.stats.overlimits;
    s.ecnMarked = q.stats.ecnMarked;
    s.backlogPeak = q.stats.backlogPeak;
    s.backlogBytesPeak = q.stats.backlogBytesPeak;
    s.busyPct = last > first ? Math.round((busy / (last - first)) * 1e4) / 100 : 0;
    out.devices.push(s);
    out.windows.push(...[...wins.values()].sort((a, b) => a.t - b.t));
  });
  out.windows.sort((a, b) => a.t - b.t || (a.dev < b.dev ? -1 : a.dev > b.dev ? 1 : 0));
  return out;
}

/** Devices without a line rate: every frame leaves when handed over; count them in one pass (no sorting). */
function countOnly(devices: EgressDevice[], ev: TxEvents, doneAt: Float64Array, windowNs: number): { summaries: Map<number, EgressSummary>; windows: EgressWindow[] } {
  const summaries = new Map<number, EgressSummary>();
  const perWin = new Map<number, Map<number, number>>();
  // Runs of one device in one window are counted locally and added to the map when the run ends.
  let runDev = -1, runWin = 0, runN = 0;
  const flush = (): void => {
    if (runN === 0) return;
    let m = perWin.get(runDev);
    if (!m) perWin.set(runDev, (m = new Map()));
    m.set(runWin, (m.get(runWin) ?? 0) + runN);
    runN = 0;
  };
  for (let i = 0; i < ev.n; i++) {
    const k = ev.dev[i];
    const d = devices[k];
    if (d.rate > 0) continue;
    let s = summaries.get(k);
    if (!s) {
      summaries.set(k, (s = newSummary(d)));
    }
    const t = doneAt[ev.cause[i]];
    if (Number.isNaN(t)) {
      s.rxDropped++;
      continue;
    }
    s.offered++;
    s.sent++;
    s.sentBytes += ev.len[i];
    const w = Math.floor(t / windowNs);
    if (k !== runDev || w !== runWin) {
      flush();
      runDev = k;
      runWin = w;
    }
    runN++;
  }
  flush();
  const windows: EgressWindow[] = [];
  for (const [k, m] of perWin) for (const [w, n] of m) windows.push({ dev: devices[k].name, t: w * windowNs, sent: n, drops: 0, backlogPeak: 0 });
  return { summaries, windows };
}

/** Text for the summary. */
export function egressText(r: EgressReport): string {
  if (r.devices.length === 0) return '';
  let s = '  egress (qdisc at the line rate; packets, drops, peak backlog, wire busy, longest wait):\n';
  for (const d of r.devices) {
    const drops = Object.entries(d.drops).map(([k, v]) => `${k} ${v}`).join(', ') || 'no drops';
    const rate = d.rateBits ? formatRate(d.rateBits) : 'no rate (--link-rate to queue)';
    s += `    ${d.dev.padEnd(20)} ${d.qdisc} @ ${rate}: sent ${d.sent}/${d.offered}, ${drops}, peak ${d.backlogPeak} pkts/${d.backlogBytesPeak} B, busy ${d.busyPct.toFixed(1)}%, wait ≤ ${(d.maxDelayNs / 1e6).toFixed(3)} ms`;
    if (d.firstDropNs !== null) s += `, first drop at +${(d.firstDropNs / 1e6).toFixed(3)} ms`;
    if (d.rxDropped) s += `, ${d.rxDropped} not sent (dropped on receive)`;
    s += '\n';
  }
  return s;
}
