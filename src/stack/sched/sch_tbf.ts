/**
 * tbf: token bucket filter (net/sched/sch_tbf.c), with its default bfifo child.
 *
 * Tokens are kept as time, like the kernel: the bucket holds `buffer` = burst / rate nanoseconds and a
 * packet costs psched_l2t_ns(rate, len) = len / rate. No peakrate (the second bucket).
 */
import { DR, type DropReason } from '../drop_reason.js';
import { Pfifo } from './sch_fifo.js';
import { QdiscBase, type QdiscPacket } from './qdisc.js';

/** `tc qdisc add … tbf rate R burst B (limit L | latency T)`. */
export interface TbfOptions {
  /** Bytes per second (tc `rate 8mbit` = 1_000_000). */
  rate: number;
  /** Bucket size in bytes (tc `burst`/`buffer`/`maxburst`). */
  burst: number;
  /** Bytes the child bfifo may hold (tc `limit`). */
  limit?: number;
  /** Alternative to limit, seconds: tc sets limit = rate × latency + burst (tc/q_tbf.c). */
  latency?: number;
}

/**
 * tbf. Mirrors tbf_enqueue(): a packet longer than max_size (≈ burst) is dropped (qdisc_drop →
 * QDISC_DROP; GSO segmentation is not modelled); otherwise it goes to the bfifo child, which drops it
 * with QDISC_DROP when backlog + len > limit. tbf_dequeue(): toks = min(now − t_c, buffer) + tokens,
 * capped at buffer, minus the head packet's cost; if ≥ 0 the packet leaves and tokens = toks, else
 * overlimits++ and the watchdog is set to now + (−toks) (nextReady()).
 */
export class Tbf<P extends QdiscPacket = QdiscPacket> extends QdiscBase<P> {
  readonly kind = 'tbf';
  readonly limit: number;
  /** Bucket depth in ns (q->buffer). */
  readonly bufferNs: number;
  /** Largest packet that can ever be sent (q->max_size). */
  readonly maxSize: number;
  private readonly child: Pfifo<P>;
  private tokens: number;
  private tC: number;
  private watchdog = Infinity;

  constructor(readonly opts: TbfOptions, now = 0) {
    super();
    const { rate, burst } = opts;
    if (!(rate > 0) || !Number.isFinite(rate)) throw new RangeError(`tbf rate ${rate} B/s is not a positive number`);
    if (!(burst > 0) || !Number.isFinite(burst)) throw new RangeError(`tbf burst ${burst} bytes is not a positive number`);
    if (opts.limit === undefined && opts.latency === undefined) throw new RangeError('tbf needs limit or latency (tc refuses it otherwise)');
    this.limit = Math.floor(opts.limit ?? rate * opts.latency! + burst);
    this.bufferNs = (burst * 1e9) / rate;
    // tbf_change(): max_size = psched_ns_t2l(&rate, buffer), the bytes the full bucket can pay for.
    this.maxSize = Math.floor(burst);
    this.child = new Pfifo<P>(this.limit, true);
    this.tokens = this.bufferNs;
    this.tC = now;
  }

  enqueue(pkt: P, _now: number): DropReason {
    if (pkt.len > this.maxSize) {
      this.stats.dropped++;
      return DR.QDISC_DROP;
    }
    const r = this.child.enqueue(pkt, _now);
    if (r !== DR.NONE) {
      this.stats.dropped++;
      return r;
    }
    this.added(pkt.len);
    return DR.NONE;
  }

  dequeue(now: number): P | null {
    const pkt = this.child.peek();
    if (pkt === null) return null;
    let toks = Math.min(now - this.tC, this.bufferNs) + this.tokens;
    if (toks > this.bufferNs) toks = this.bufferNs;
    toks -= (pkt.len * 1e9) / this.opts.rate;
    // The kernel counts integer ns; allow float rounding (1 ps) so a watchdog wake-up always succeeds.
    if (toks >= -1e-3) {
      this.child.dequeue(now);
      this.tC = now;
      this.tokens = toks;
      this.watchdog = Infinity;
      this.removed(pkt.len);
      this.sentOne(pkt.len);
      return pkt;
    }
    this.watchdog = now - toks;
    this.stats.overlimits++;
    return null;
  }

  override nextReady(): number {
    return this.watchdog;
  }
}
