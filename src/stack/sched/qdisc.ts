/**
 * Egress queueing disciplines (net/sched) and the device that drains them at its line rate.
 *
 *   ip_finish_output2 ─► __dev_queue_xmit ─► qdisc.enqueue(pkt, now) ──► [qdisc] ──► qdisc.dequeue(now)
 *                                                 │ drop: reason                        │ when the wire is free
 *                                                 ▼                                      ▼
 *                                           kfree_skb_reason                 wire busy len/rate seconds
 *
 * Times are nanoseconds on the replay clock (a float; relative to the first packet, see softirq.ts
 * ArrivalClock). A qdisc never looks at the wall clock: the same calls give the same answers.
 */
import { DROP_REASON_NAMES, DR, type DropReason } from '../drop_reason.js';

/** What a qdisc needs to know about a packet. The caller's skb (or a wrapper) provides these fields. */
export interface QdiscPacket {
  /** qdisc_pkt_len(): bytes on the wire from the MAC header (skb->len). */
  len: number;
  /** skb->priority (pfifo_fast band selection: prio2band[priority & 15]). */
  priority: number;
  /** skb_get_hash(): a 32-bit flow hash (fq_codel's flow choice). */
  hash: number;
  /** The IP header's 2-bit ECN field; fq_codel sets it to 3 (CE) instead of dropping when it is 1..3. */
  ecn: number;
}

/** Counters as `tc -s qdisc` prints them, plus peaks. */
export class QdiscStats {
  /** Packets and bytes dequeued for transmission ("Sent N bytes M pkt"). */
  sent = 0;
  sentBytes = 0;
  /** Packets dropped by the qdisc ("dropped N"). */
  dropped = 0;
  /** Times the qdisc was over its limit or throttled ("overlimits N"). */
  overlimits = 0;
  /** Packets handed back by the driver ("requeues N"); the model's wire never refuses one, so 0. */
  requeues = 0;
  /** Packets marked CE instead of dropped (fq_codel "ecn_mark"). */
  ecnMarked = 0;
  /** Largest queue seen, in packets and bytes. */
  backlogPeak = 0;
  backlogBytesPeak = 0;
}

/** Receives packets a qdisc dropped other than the one being enqueued (head drops, CoDel drops). */
export type DropSink<P> = (pkt: P, reason: DropReason, now: number) => void;

/** The common interface of sch_*.ts. */
export interface Qdisc<P extends QdiscPacket = QdiscPacket> {
  /** tc kind: `pfifo_fast`, `pfifo`, `bfifo`, `fq_codel`, `tbf`. */
  readonly kind: string;
  /** Queue `pkt` at `now`; 0 when queued, else the drop reason of *this* packet. Other packets the
   * qdisc drops to make room go to `onDrop`. */
  enqueue(pkt: P, now: number): DropReason;
  /** The next packet to transmit at `now`, or null (empty, or throttled: see nextReady()). */
  dequeue(now: number): P | null;
  /** When dequeue() returned null with packets queued, the earliest time it may succeed (tbf's
   * watchdog); Infinity when no timer is pending. */
  nextReady(): number;
  /** Packets queued (sch->q.qlen). */
  readonly qlen: number;
  /** Bytes queued (sch->qstats.backlog). */
  readonly backlog: number;
  readonly stats: QdiscStats;
  onDrop: DropSink<P> | null;
}

/**
 * SKB_DROP_REASON_QDISC_CONGESTED (CoDel and other AQM drops at dequeue, kernel ≥ 6.12). Our
 * DROP_REASON_NAMES may not list it yet; until it does, such drops read as QDISC_DROP.
 */
export const DR_QDISC_CONGESTED: DropReason = (() => {
  const i = (DROP_REASON_NAMES as readonly string[]).indexOf('QDISC_CONGESTED');
  return i >= 0 ? i : DR.QDISC_DROP;
})();

/** Shared bookkeeping of a qdisc: qlen/backlog and peaks. */
export abstract class QdiscBase<P extends QdiscPacket> implements Qdisc<P> {
  abstract readonly kind: string;
  qlen = 0;
  backlog = 0;
  readonly stats = new QdiscStats();
  onDrop: DropSink<P> | null = null;

  abstract enqueue(pkt: P, now: number): DropReason;
  abstract dequeue(now: number): P | null;

  nextReady(): number {
    return Infinity;
  }

  /** qdisc_qstats_backlog_inc + qlen++. */
  protected added(len: number): void {
    this.qlen++;
    this.backlog += len;
    if (this.qlen > this.stats.backlogPeak) this.stats.backlogPeak = this.qlen;
    if (this.backlog > this.stats.backlogBytesPeak) this.stats.backlogBytesPeak = this.backlog;
  }

  /** qlen--, backlog -= len (a packet left the queue, sent or dropped). */
  protected removed(len: number): void {
    this.qlen--;
    this.backlog -= len;
  }

  /** qdisc_bstats_update(). */
  protected sentOne(len: number): void {
    this.stats.sent++;
    this.stats.sentBytes += len;
  }

  /** Report a drop of a queued packet through onDrop. */
  protected dropQueued(pkt: P, reason: DropReason, now: number): void {
    this.stats.dropped++;
    if (this.onDrop !== null) this.onDrop(pkt, reason, now);
  }
}

/** A FIFO of objects on a growable circular array (no per-operation allocation). */
export class Fifo<T> {
  private buf: (T | undefined)[] = new Array(16);
  private head = 0;
  length = 0;

  push(v: T): void {
    if (this.length === this.buf.length) this.grow();
    this.buf[(this.head + this.length) & (this.buf.length - 1)] = v;
    this.length++;
  }

  shift(): T | undefined {
    if (this.length === 0) return undefined;
    const v = this.buf[this.head];
    this.buf[this.head] = undefined;
    this.head = (this.head + 1) & (this.buf.length - 1);
    this.length--;
    return v;
  }

  peek(): T | undefined {
    return this.length === 0 ? undefined : this.buf[this.head];
  }

  private grow(): void {
    const old = this.buf, n = old.length;
    const next: (T | undefined)[] = new Array(n * 2);
    for (let i = 0; i < this.length; i++) next[i] = old[(this.head + i) & (n - 1)];
    this.buf = next;
    this.head = 0;
  }
}

/** Counters of a transmitting device. */
export class TxStats {
  /** Packets that went on the wire (or straight through a noqueue device). */
  xmitPackets = 0;
  xmitBytes = 0;
  /** Packets the qdisc dropped, by reason name. */
  drops: Record<string, number> = {};
  /** Time the wire was busy, ns. */
  busyNs = 0;
}

/** Called for each packet the device puts on the wire: start and end of its transmission. */
export type XmitSink<P> = (pkt: P, start: number, end: number) => void;

/**
 * A device's transmit side: its root qdisc drained at `rateBytesPerSec` (null qdisc = noqueue).
 *
 * Mirrors net/core/dev.c __dev_queue_xmit → __dev_xmit_skb (enqueue, then __qdisc_run) and
 * net/sched/sch_generic.c qdisc_restart (dequeue → driver) with one simplification: the driver's tx
 * ring is one packet deep (the wire). A packet is dequeued when the wire is free and occupies it for
 * (len + overheadBytes) / rate; with BQL the real ring holds a few packets more, which only shifts
 * queueing from the qdisc to the ring.
 */
export class TxDevice<P extends QdiscPacket = QdiscPacket> {
  readonly stats = new TxStats();
  /** Time the wire becomes free. */
  private wireFree = 0;
  /** Pending tbf watchdog (Infinity: none). */
  private watchdog = Infinity;
  onXmit: XmitSink<P> | null = null;
  onDrop: DropSink<P> | null = null;

  /**
   * @param qdisc root qdisc, or null for noqueue (veth, bridge: transmit at once, no rate).
   * @param rateBytesPerSec line rate; Infinity for a device without one.
   * @param overheadBytes bytes added per packet on the wire (24 for Ethernet preamble, SFD, FCS, IFG).
   */
  constructor(readonly qdisc: Qdisc<P> | null, readonly rateBytesPerSec: number, readonly overheadBytes = 0) {
    if (!(rateBytesPerSec > 0)) throw new RangeError(`device rate ${rateBytesPerSec} B/s is not positive`);
    if (qdisc !== null) qdisc.onDrop = (p, r, t) => this.dropped(p, r, t);
  }

  /** dev_queue_xmit(pkt) at `now`: 0 when queued or sent, else the reason this packet was dropped. */
  xmit(pkt: P, now: number): DropReason {
    this.advance(now);
    const q = this.qdisc;
    if (q === null) {
      // noqueue: dev_hard_start_xmit directly (net/core/dev.c __dev_queue_xmit, !q->enqueue branch).
      this.transmit(pkt, now);
      return DR.NONE;
    }
    const r = q.enqueue(pkt, now);
    if (r !== DR.NONE) this.count(r);
    this.run(now);
    return r;
  }

  /** Drain everything that would have left the qdisc by `now` (qdisc_run at each wire-free time and
   * watchdog expiry up to now). Call before reading statistics at a given time. */
  advance(now: number): void {
    const q = this.qdisc;
    if (q === null) return;
    for (;;) {
      // Next dequeue attempt: when the wire frees up, or later when a throttled qdisc's timer fires.
      const t = this.watchdog === Infinity ? this.wireFree : Math.max(this.wireFree, this.watchdog);
      if (q.qlen === 0 || t > now) return;
      const qlen = q.qlen;
      this.watchdog = Infinity;
      this.run(t);
      if (q.qlen === qlen && !(this.watchdog > t && this.watchdog !== Infinity)) return; // stuck: stop
    }
  }

  /** Drain the qdisc completely (end of replay). */
  flush(): void {
    this.advance(Infinity);
  }

  /** Time the last queued packet leaves, assuming no more arrivals (for reports). */
  get busyUntil(): number {
    return this.wireFree;
  }

  /** qdisc_restart loop at `now` while the wire is free (one packet fills the wire). */
  private run(now: number): void {
    const q = this.qdisc!;
    while (this.wireFree <= now && q.qlen > 0) {
      const pkt = q.dequeue(now);
      if (pkt === null) {
        const t = q.nextReady();
        this.watchdog = t > now ? t : Infinity;
        return;
      }
      this.transmit(pkt, now);
    }
  }

  private transmit(pkt: P, now: number): void {
    const start = Math.max(now, this.wireFree);
    const dur = this.rateBytesPerSec === Infinity ? 0 : ((pkt.len + this.overheadBytes) * 1e9) / this.rateBytesPerSec;
    const end = start + dur;
    if (this.qdisc !== null) this.wireFree = end;
    this.stats.xmitPackets++;
    this.stats.xmitBytes += pkt.len;
    this.stats.busyNs += dur;
    if (this.onXmit !== null) this.onXmit(pkt, start, end);
  }

  private dropped(pkt: P, reason: DropReason, now: number): void {
    this.count(reason);
    if (this.onDrop !== null) this.onDrop(pkt, reason, now);
  }

  private count(reason: DropReason): void {
    const name = DROP_REASON_NAMES[reason] ?? 'NOT_SPECIFIED';
    this.stats.drops[name] = (this.stats.drops[name] ?? 0) + 1;
  }
}
