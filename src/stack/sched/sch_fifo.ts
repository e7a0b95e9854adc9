/**
 * FIFO qdiscs: pfifo_fast (the default `net.core.default_qdisc` here, net/sched/sch_generic.c),
 * pfifo and bfifo (net/sched/sch_fifo.c).
 */
import { DR, type DropReason } from '../drop_reason.js';
import { Fifo, QdiscBase, type QdiscPacket } from './qdisc.js';

/** include/net/sch_generic.h / sch_generic.c sch_default_prio2band[TC_PRIO_MAX + 1]. */
export const PRIO2BAND: readonly number[] = [1, 2, 2, 2, 1, 2, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1];

/** Default txqueuelen of an Ethernet device (observed; ether_setup DEFAULT_TX_QUEUE_LEN). */
export const DEFAULT_TXQUEUELEN = 1000;

const PFIFO_FAST_BANDS = 3;

/**
 * pfifo_fast: three bands, each a ring (skb_array) of txqueuelen packets; band 0 is served first.
 *
 * Mirrors pfifo_fast_enqueue(): band = prio2band[skb->priority & TC_PRIO_MAX]; skb_array_produce()
 * fails when that band's ring is full → the reason is set to QDISC_OVERLIMIT, then qdisc_drop_cpu().
 * Observed on Linux 6.18.44 with `perf record -e skb:kfree_skb` (tests/queue/qdisc_reasons.sh:
 * pfifo_fast → QDISC_OVERLIMIT, pfifo and tbf's bfifo → QDISC_DROP); kernels without qdisc drop
 * reasons report QDISC_DROP for all three. A full band drops even when the others have room.
 * pfifo_fast_dequeue() takes the head of the lowest-numbered non-empty band.
 */
export class PfifoFast<P extends QdiscPacket = QdiscPacket> extends QdiscBase<P> {
  readonly kind = 'pfifo_fast';
  private readonly bands: Fifo<P>[] = [new Fifo<P>(), new Fifo<P>(), new Fifo<P>()];
  /** Packets per band now. */
  readonly bandQlen = new Int32Array(PFIFO_FAST_BANDS);

  /** @param txqueuelen the device's tx_queue_len: each band holds this many packets (pfifo_fast_init). */
  constructor(readonly txqueuelen = DEFAULT_TXQUEUELEN) {
    super();
    if (!Number.isInteger(txqueuelen) || txqueuelen < 1) throw new RangeError(`pfifo_fast needs txqueuelen ≥ 1 (pfifo_fast_init refuses 0), got ${txqueuelen}`);
  }

  enqueue(pkt: P, _now: number): DropReason {
    const band = PRIO2BAND[pkt.priority & 15]!;
    if (this.bandQlen[band]! >= this.txqueuelen) {
      this.stats.dropped++;
      return DR.QDISC_OVERLIMIT;
    }
    this.bands[band]!.push(pkt);
    this.bandQlen[band]!++;
    this.added(pkt.len);
    return DR.NONE;
  }

  dequeue(_now: number): P | null {
    for (let b = 0; b < PFIFO_FAST_BANDS; b++) {
      if (this.bandQlen[b] === 0) continue;
      const pkt = this.bands[b]!.shift()!;
      this.bandQlen[b]!--;
      this.removed(pkt.len);
      this.sentOne(pkt.len);
      return pkt;
    }
    return null;
  }
}

/**
 * pfifo (limit in packets) and bfifo (limit in bytes): one tail-drop FIFO.
 *
 * Mirrors pfifo_enqueue(): accept while sch->q.qlen < limit; bfifo_enqueue(): accept while
 * backlog + qdisc_pkt_len(skb) <= limit; otherwise qdisc_drop() → SKB_DROP_REASON_QDISC_DROP.
 * Defaults (fifo_init without options): limit = tx_queue_len packets, or tx_queue_len × MTU bytes.
 */
export class Pfifo<P extends QdiscPacket = QdiscPacket> extends QdiscBase<P> {
  readonly kind: 'pfifo' | 'bfifo';
  private readonly q = new Fifo<P>();

  /** @param limit packets (pfifo) or bytes (bfifo). */
  constructor(readonly limit = DEFAULT_TXQUEUELEN, readonly bytes = false) {
    super();
    if (!Number.isInteger(limit) || limit < 0) throw new RangeError(`fifo limit ${limit} is not a non-negative integer`);
    this.kind = bytes ? 'bfifo' : 'pfifo';
  }

  enqueue(pkt: P, _now: number): DropReason {
    const fits = this.bytes ? this.backlog + pkt.len <= this.limit : this.qlen < this.limit;
    if (!fits) {
      this.stats.dropped++;
      return DR.QDISC_DROP;
    }
    this.q.push(pkt);
    this.added(pkt.len);
    return DR.NONE;
  }

  dequeue(_now: number): P | null {
    const pkt = this.q.shift();
    if (pkt === undefined) return null;
    this.removed(pkt.len);
    this.sentOne(pkt.len);
    return pkt;
  }

  /** The head packet without removing it (qdisc_peek_head), for tbf. */
  peek(): P | null {
    return this.q.peek() ?? null;
  }
}
