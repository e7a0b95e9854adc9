/**
 * fq_codel: fair queuing with CoDel per flow (net/sched/sch_fq_codel.c, include/net/codel_impl.h).
 *
 *   enqueue ─► flow = reciprocal_scale(hash, flows) ─► flow FIFO (tail) ─► new_flows list if idle
 *              qlen > limit → fq_codel_drop(): up to drop_batch heads of the fattest flow (QDISC_OVERLIMIT)
 *   dequeue ─► DRR over new_flows then old_flows (deficit += quantum) ─► codel_dequeue() on the flow:
 *              sojourn > target for an interval → drop (QDISC_CONGESTED) or ECN-mark, next drop at
 *              t + interval/√count (the control law)
 *
 * CoDel time is the kernel's: ns >> 10 in a wrapping u32 (codel.h CODEL_SHIFT), and 1/√count is the
 * kernel's Q0.16 Newton iteration, so drop times match the kernel's to the microsecond.
 */
import { DR, type DropReason } from '../drop_reason.js';
import { DR_QDISC_CONGESTED, Fifo, QdiscBase, type QdiscPacket } from './qdisc.js';

const CODEL_SHIFT = 10;
const REC_INV_SQRT_SHIFT = 16;
const MASK64 = (1n << 64n) - 1n;

/** fq_codel parameters; defaults are fq_codel_init()'s. Times in ns. */
export interface FqCodelOptions {
  /** Packets (sch->limit), default 10240. */
  limit?: number;
  /** Flow slots, default 1024. */
  flows?: number;
  /** DRR quantum in bytes, default psched_mtu = MTU + hard header (1514). */
  quantum?: number;
  /** CoDel target sojourn, default 5 ms. */
  target?: number;
  /** CoDel interval, default 100 ms. */
  interval?: number;
  /** Mark ECN-capable packets instead of dropping them, default true. */
  ecn?: boolean;
  /** Packets dropped per overflow, default 64. */
  dropBatch?: number;
  /** Bytes of skb truesize, default 32 MB (x86_64). */
  memoryLimit?: number;
  /** psched_mtu of the device (CoDel never drops while the backlog is ≤ one MTU), default 1514. */
  mtu?: number;
}

/** fq_codel's own counters (`tc -s qdisc show` second line). */
export class FqCodelXstats {
  maxpacket = 0;
  dropOverlimit = 0;
  dropOvermemory = 0;
  newFlowCount = 0;
  ecnMark = 0;
  /** Packets dropped by CoDel at dequeue. */
  codelDrops = 0;
}

// Linked-list membership of a flow.
const NONE = 0, NEW = 1, OLD = 2;

/** include/linux/kernel.h reciprocal_scale(): (u32)(((u64)val * ep_ro) >> 32); exact below 2^53. */
function reciprocalScale(val: number, epRo: number): number {
  return Math.floor(((val >>> 0) * epRo) / 4294967296);
}

/** `((s32)(a - b)) > 0` on u32 codel times. */
function after(a: number, b: number): boolean {
  return ((a - b) | 0) > 0;
}

/** One FIFO of (packet, enqueue time) for a flow. */
class FlowQueue<P> {
  readonly pkts = new Fifo<P>();
  readonly times = new Fifo<number>();
}

/**
 * fq_codel. Mirrors fq_codel_enqueue / fq_codel_drop / fq_codel_dequeue and codel_dequeue /
 * codel_should_drop / codel_Newton_step / codel_control_law.
 */
export class FqCodel<P extends QdiscPacket = QdiscPacket> extends QdiscBase<P> {
  readonly kind = 'fq_codel';
  readonly xstats = new FqCodelXstats();
  readonly limit: number;
  readonly flowsCnt: number;
  readonly quantum: number;
  readonly dropBatch: number;
  readonly memoryLimit: number;
  /** CoDel params in codel time units (1024 ns). */
  private readonly target: number;
  private readonly interval: number;
  private readonly ecn: boolean;
  private readonly mtu: number;
  private memoryUsage = 0;
  /** Enqueue time of the packet dequeue_func() returned last (codel_get_enqueue_time). */
  private lastEnqueueTime = 0;

  private readonly queues: (FlowQueue<P> | null)[];
  /** Bytes queued per flow (q->backlogs). */
  readonly backlogs: Uint32Array;
  private readonly deficit: Int32Array;
  private readonly list: Uint8Array;
  private readonly next: Int32Array;
  private readonly prev: Int32Array;
  private readonly headOf = new Int32Array([-1, -1, -1]);
  private readonly tailOf = new Int32Array([-1, -1, -1]);
  // struct codel_vars per flow.
  private readonly count: Uint32Array;
  private readonly lastcount: Uint32Array;
  private readonly dropping: Uint8Array;
  private readonly recInvSqrt: Uint16Array;
  private readonly firstAboveTime: Uint32Array;
  private readonly dropNext: Uint32Array;
  private readonly ldelay: Uint32Array;

  constructor(opts: FqCodelOptions = {}) {
    super();
    this.limit = opts.limit ?? 10240;
    this.flowsCnt = opts.flows ?? 1024;
    this.mtu = opts.mtu ?? 1514;
    this.quantum = opts.quantum ?? this.mtu;
    this.dropBatch = Math.max(1, opts.dropBatch ?? 64);
    this.memoryLimit = Math.min(2 ** 31, opts.memoryLimit ?? 32 << 20);
    this.target = Math.floor((opts.target ?? 5e6) / 1024);
    this.interval = Math.floor((opts.interval ?? 100e6) / 1024);
    this.ecn = opts.ecn ?? true;
    if (!Number.isInteger(this.flowsCnt) || this.flowsCnt < 1 || this.flowsCnt > 65536) throw new RangeError(`fq_codel flows ${this.flowsCnt} is not between 1 and 65536`);
    if (!Number.isInteger(this.limit) || this.limit < 1) throw new RangeError(`fq_codel limit ${this.limit} is not a positive integer`);
    if (!(this.quantum >= 256)) throw new RangeError(`fq_codel quantum ${this.quantum} is below 256`);
    const n = this.flowsCnt;
    this.queues = new Array<FlowQueue<P> | null>(n).fill(null);
    this.backlogs = new Uint32Array(n);
    this.deficit = new Int32Array(n);
    this.list = new Uint8Array(n);
    this.next = new Int32Array(n).fill(-1);
    this.prev = new Int32Array(n).fill(-1);
    this.count = new Uint32Array(n);
    this.lastcount = new Uint32Array(n);
    this.dropping = new Uint8Array(n);
    this.recInvSqrt = new Uint16Array(n);
    this.firstAboveTime = new Uint32Array(n);
    this.dropNext = new Uint32Array(n);
    this.ldelay = new Uint32Array(n);
  }

  /** The flow slot of a hash: fq_codel_hash() = reciprocal_scale(skb_get_hash(skb), flows_cnt). */
  flowOf(hash: number): number {
    return reciprocalScale(hash, this.flowsCnt);
  }

  /** Packets queued in a flow slot. */
  flowQlen(idx: number): number {
    return this.queues[idx]?.pkts.length ?? 0;
  }

  enqueue(pkt: P, now: number): DropReason {
    const idx = this.flowOf(pkt.hash);
    let fq = this.queues[idx];
    if (fq === null) this.queues[idx] = fq = new FlowQueue<P>();
    fq.pkts.push(pkt);
    fq.times.push(codelTime(now));
    this.backlogs[idx] = this.backlogs[idx]! + pkt.len;
    this.added(pkt.len);
    if (this.list[idx] === NONE) {
      this.addTail(idx, NEW);
      this.xstats.newFlowCount++;
      this.deficit[idx] = this.quantum;
    }
    this.memoryUsage += truesize(pkt.len);
    const memoryLimited = this.memoryUsage > this.memoryLimit;
    if (this.qlen <= this.limit && !memoryLimited) return DR.NONE;

    // fq_codel_drop(): the fattest flow (first maximum), half its bytes, at most drop_batch packets.
    let maxBacklog = 0, fat = 0;
    for (let i = 0; i < this.flowsCnt; i++) {
      if (this.backlogs[i]! > maxBacklog) { maxBacklog = this.backlogs[i]!; fat = i; }
    }
    const threshold = maxBacklog >>> 1;
    const ffq = this.queues[fat]!;
    let len = 0, i = 0, self = false;
    do {
      const victim = ffq.pkts.shift()!;
      ffq.times.shift();
      len += victim.len;
      this.memoryUsage -= truesize(victim.len);
      this.removed(victim.len);
      if (victim === pkt) { self = true; this.stats.dropped++; } else this.dropQueued(victim, DR.QDISC_OVERLIMIT, now);
    } while (++i < this.dropBatch && len < threshold);
    this.count[fat] = this.count[fat]! + i; // "Tell codel to increase its signal strength also"
    this.backlogs[fat] = this.backlogs[fat]! - len;
    this.xstats.dropOverlimit += i;
    if (memoryLimited) this.xstats.dropOvermemory += i;
    return self ? DR.QDISC_OVERLIMIT : DR.NONE;
  }

  dequeue(nowNs: number): P | null {
    const now = codelTime(nowNs);
    for (;;) {
      let head = NEW;
      if (this.headOf[NEW] === -1) {
        head = OLD;
        if (this.headOf[OLD] === -1) return null;
      }
      const idx = this.headOf[head]!;
      if (this.deficit[idx]! <= 0) {
        this.deficit[idx] = this.deficit[idx]! + this.quantum;
        this.moveTail(idx, OLD);
        continue;
      }
      const pkt = this.codelDequeue(idx, now, nowNs);
      if (pkt === null) {
        // Force a pass through old_flows to prevent starvation.
        if (head === NEW && this.headOf[OLD] !== -1) this.moveTail(idx, OLD);
        else this.unlink(idx);
        continue;
      }
      this.sentOne(pkt.len);
      this.deficit[idx] = this.deficit[idx]! - pkt.len;
      return pkt;
    }
  }

  // codel_impl.h codel_dequeue().
  private codelDequeue(idx: number, now: number, nowNs: number): P | null {
    let pkt = this.dequeueFunc(idx);
    if (pkt === null) {
      this.dropping[idx] = 0;
      return null;
    }
    let drop = this.shouldDrop(idx, pkt, now);
    if (this.dropping[idx]) {
      if (!drop) {
        this.dropping[idx] = 0; // sojourn time below target: leave dropping state
      } else if (!after(this.dropNext[idx]!, now)) {
        while (this.dropping[idx] && !after(this.dropNext[idx]!, now)) {
          this.count[idx] = this.count[idx]! + 1;
          this.newtonStep(idx);
          // Still dropping means codel_should_drop() saw a packet: pkt is not null here.
          const cur = pkt!;
          if (this.ecn && cur.ecn !== 0) {
            cur.ecn = 3;
            this.xstats.ecnMark++;
            this.stats.ecnMarked++;
            this.dropNext[idx] = this.controlLaw(this.dropNext[idx]!, idx);
            return cur;
          }
          this.codelDrop(cur, nowNs);
          pkt = this.dequeueFunc(idx);
          if (!this.shouldDrop(idx, pkt, now)) this.dropping[idx] = 0;
          else this.dropNext[idx] = this.controlLaw(this.dropNext[idx]!, idx);
        }
      }
    } else if (drop) {
      if (this.ecn && pkt.ecn !== 0) {
        pkt.ecn = 3;
        this.xstats.ecnMark++;
        this.stats.ecnMarked++;
      } else {
        this.codelDrop(pkt, nowNs);
        pkt = this.dequeueFunc(idx);
        drop = this.shouldDrop(idx, pkt, now);
      }
      this.dropping[idx] = 1;
      // If we went above target soon after leaving the dropping state, resume at the old drop rate.
      const delta = (this.count[idx]! - this.lastcount[idx]!) >>> 0;
      if (delta > 1 && (((((now - this.dropNext[idx]!) >>> 0) - 16 * this.interval) | 0) < 0)) {
        this.count[idx] = delta;
        this.newtonStep(idx);
      } else {
        this.count[idx] = 1;
        this.recInvSqrt[idx] = 0xffff; // ~0U >> REC_INV_SQRT_SHIFT
      }
      this.lastcount[idx] = this.count[idx]!;
      this.dropNext[idx] = this.controlLaw(now, idx);
    }
    return pkt;
  }

  // fq_codel.c dequeue_func(): head of the flow; qlen and backlog drop before codel_should_drop runs.
  private dequeueFunc(idx: number): P | null {
    const fq = this.queues[idx];
    if (fq === null || fq.pkts.length === 0) return null;
    const pkt = fq.pkts.shift()!;
    const t = fq.times.shift()!;
    this.lastEnqueueTime = t;
    this.backlogs[idx] = this.backlogs[idx]! - pkt.len;
    this.memoryUsage -= truesize(pkt.len);
    this.removed(pkt.len);
    return pkt;
  }

  // codel_should_drop().
  private shouldDrop(idx: number, pkt: P | null, now: number): boolean {
    if (pkt === null) {
      this.firstAboveTime[idx] = 0;
      return false;
    }
    const ldelay = (now - this.lastEnqueueTime) >>> 0;
    this.ldelay[idx] = ldelay;
    if (pkt.len > this.xstats.maxpacket) this.xstats.maxpacket = pkt.len;
    if (((ldelay - this.target) | 0) < 0 || this.backlog <= this.mtu) {
      this.firstAboveTime[idx] = 0; // went below: stay below for at least an interval
      return false;
    }
    if (this.firstAboveTime[idx] === 0) {
      this.firstAboveTime[idx] = (now + this.interval) >>> 0;
      return false;
    }
    return after(now, this.firstAboveTime[idx]!);
  }

  // fq_codel.c drop_func(): SKB_DROP_REASON_QDISC_CONGESTED.
  private codelDrop(pkt: P, nowNs: number): void {
    this.xstats.codelDrops++;
    this.dropQueued(pkt, DR_QDISC_CONGESTED, nowNs);
  }

  // codel_Newton_step(): rec_inv_sqrt ≈ 1/√count in Q0.16, u64 arithmetic as in C.
  private newtonStep(idx: number): void {
    const invsqrt = BigInt(this.recInvSqrt[idx]!) << BigInt(REC_INV_SQRT_SHIFT);
    const invsqrt2 = (invsqrt * invsqrt) >> 32n;
    let val = ((3n << 32n) - BigInt(this.count[idx]!) * invsqrt2) & MASK64;
    val >>= 2n;
    val = ((val * invsqrt) & MASK64) >> 31n;
    this.recInvSqrt[idx] = Number((val >> BigInt(REC_INV_SQRT_SHIFT)) & 0xffffn);
  }

  // codel_control_law(): t + interval / √count.
  private controlLaw(t: number, idx: number): number {
    return (t + reciprocalScale(this.interval, (this.recInvSqrt[idx]! << REC_INV_SQRT_SHIFT) >>> 0)) >>> 0;
  }

  private addTail(idx: number, l: number): void {
    this.list[idx] = l;
    this.next[idx] = -1;
    this.prev[idx] = this.tailOf[l]!;
    if (this.tailOf[l] === -1) this.headOf[l] = idx;
    else this.next[this.tailOf[l]!] = idx;
    this.tailOf[l] = idx;
  }

  private unlink(idx: number): void {
    const l = this.list[idx]!;
    const p = this.prev[idx]!, n = this.next[idx]!;
    if (p === -1) this.headOf[l] = n; else this.next[p] = n;
    if (n === -1) this.tailOf[l] = p; else this.prev[n] = p;
    this.list[idx] = NONE;
    this.next[idx] = this.prev[idx] = -1;
  }

  private moveTail(idx: number, l: number): void {
    this.unlink(idx);
    this.addTail(idx, l);
  }
}

/** codel_get_time(): ns >> CODEL_SHIFT as a wrapping u32. */
export function codelTime(ns: number): number {
  return Math.floor(ns / (1 << CODEL_SHIFT)) >>> 0;
}

/** SKB_TRUESIZE(len) on x86_64: data + aligned sk_buff (256) + skb_shared_info (320). Drivers'
 * real rx buffers are larger (half pages), so the memory limit bites later here than on a host. */
function truesize(len: number): number {
  return len + 576;
}
