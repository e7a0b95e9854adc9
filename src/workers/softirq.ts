/**
 * NET_RX softirq model: NIC rx rings, NAPI polling per CPU, per-CPU backlogs, softnet_stat.
 *
 *   rx(t, queue) ──ring full? FULL_RING──► ring[queue] ──IRQ → napi_schedule on queueCpu[queue]
 *                                                │
 *   CPU c: net_rx_action ── polls NAPIs in poll_list order, ≤ weight (64) packets each,
 *          budget 300 / budget_usecs per invocation ── time_squeeze when either runs out
 *                                                │ per packet: CPU busy for the stage's cost
 *               ┌────────── RPS target? ─────────┴────── else: the stage runs here ──┐
 *               ▼ enqueue_to_backlog(target): qlen > max_backlog? CPU_BACKLOG         ▼
 *          backlog NAPI of the target (process_backlog, weight 64)          more stages (veth/lo hop)?
 *                                                                          → enqueue_to_backlog(this CPU)
 *
 * A discrete-event simulation driven by arrivals on the replay clock (ns, float, from 0). Every rule
 * names the kernel function it mirrors (net/core/dev.c unless said otherwise). Deterministic: ties are
 * broken by CPU index and arrival order; nothing reads the wall clock.
 *
 * Simplifications (documented where they apply): CPUs do nothing but softirq work (no user tasks, so
 * a re-raised softirq runs at once instead of waiting for ksoftirqd); the IPI that wakes an RPS target
 * is immediate (the kernel sends it at the end of net_rx_action); interrupt and poll overheads are
 * part of the per-packet costs; netdev_budget_usecs is compared in ns, not jiffies; RFS and flow_limit
 * are off (their kernel defaults).
 */
import type { EgressReport } from './egress.js';
import { DR, type DropReason } from '../stack/drop_reason.js';

/** Kernel defaults (net/core/hotdata.c; datapath-facts §6). */
export const NAPI_WEIGHT = 64;
export const NETDEV_BUDGET = 300;
/** 2·USEC_PER_SEC/HZ: 8000 at HZ=250 (observed here), 2000 at HZ=1000. */
export const NETDEV_BUDGET_USECS = 8000;
export const NETDEV_MAX_BACKLOG = 1000;
/** Default rx ring when the snapshot has no `ethtool -g`. */
export const DEFAULT_RX_RING = 1024;
/** Most stages one packet may have (NIC stage + veth/loopback hops). */
export const MAX_STAGES = 8;

/** One NIC rx queue. */
export interface RxQueueSpec {
  /** Label for reports, e.g. `eth0:rx-0`. */
  name: string;
  /** CPU that serves its IRQ (runs its NAPI poll). */
  cpu: number;
  /** Ring size in packets (`ethtool -g` RX); default DEFAULT_RX_RING. */
  ring?: number;
}

/** Model parameters. */
export interface SoftirqOptions {
  cpus: number;
  queues: RxQueueSpec[];
  /** dev_weight / dev_rx_weight: packets per NAPI poll. */
  weight?: number;
  /** net.core.netdev_budget. */
  budget?: number;
  /** net.core.netdev_budget_usecs. */
  budgetUsecs?: number;
  /** net.core.netdev_max_backlog. */
  maxBacklog?: number;
  /** Statistics window, ns; default 10 ms. */
  windowNs?: number;
  /** CPU time the interrupted CPU spends per packet it steers with RPS (cost.ts rpsEnqueue). */
  rpsCostNs?: number;
}

/** The host's softnet sysctls (net.core.*); absent ones are the kernel defaults. */
export interface Softnet {
  budget?: number;
  budgetUsecs?: number;
  maxBacklog?: number;
}

/**
 * net.core.netdev_budget, netdev_budget_usecs and netdev_max_backlog as a world's sysctls give them
 * (they live in the initial namespace only: the first namespace that has one is it), with where each
 * came from.
 */
export function softnetFromSysctl(values: Array<(key: string) => string | undefined>): { softnet: Softnet; text: string } {
  const softnet: Softnet = {};
  const parts: string[] = [];
  for (const [key, field, dflt] of [['netdev_budget', 'budget', NETDEV_BUDGET], ['netdev_budget_usecs', 'budgetUsecs', NETDEV_BUDGET_USECS], ['netdev_max_backlog', 'maxBacklog', NETDEV_MAX_BACKLOG]] as const) {
    let v: number | null = null;
    for (const get of values) {
      const s = get(`net.core.${key}`);
      if (s === undefined) continue;
      const n = Number(s.trim());
      if (!Number.isInteger(n) || n < 1) throw new RangeError(`net.core.${key} = ${s}: expected a positive integer`);
      v = n;
      break;
    }
    if (v !== null) softnet[field] = v;
    parts.push(`${key} ${v ?? dflt}${v === null ? ' (default)' : ''}`);
  }
  return { softnet, text: parts.join(', ') };
}

/** Drop callback: the caller's packet tag, the reason, when, and on which CPU (or -1). */
export type SoftirqDropSink = (tag: number, reason: DropReason, t: number, cpu: number) => void;
/** Completion callback: the packet's last stage finished at `t` on `cpu`. */
export type SoftirqDoneSink = (tag: number, t: number, cpu: number) => void;
/** Poll callback (tracing, tests): one napi_poll() on `cpu` returned `work`; `budget` is what is left. */
export type SoftirqPollSink = (cpu: number, napi: string, work: number, budget: number, t: number) => void;

/** A growable circular FIFO of int32 packet slots. */
class IntQueue {
  buf = new Int32Array(64);
  head = 0;
  length = 0;
  peak = 0;

  push(v: number): void {
    if (this.length === this.buf.length) {
      const n = this.buf.length, next = new Int32Array(n * 2);
      for (let i = 0; i < this.length; i++) next[i] = this.buf[(this.head + i) & (n - 1)]!;
      this.buf = next;
      this.head = 0;
    }
    this.buf[(this.head + this.length) & (this.buf.length - 1)] = v;
    this.length++;
    if (this.length > this.peak) this.peak = this.length;
  }

  shift(): number {
    if (this.length === 0) return -1;
    const v = this.buf[this.head]!;
    this.head = (this.head + 1) & (this.buf.length - 1);
    this.length--;
    return v;
  }

  /** Move every element of `from` to the tail of this queue (skb_queue_splice_tail_init). */
  spliceTail(from: IntQueue): void {
    while (from.length > 0) this.push(from.shift());
  }

  clear(): void {
    this.head = 0;
    this.length = 0;
  }
}

/** Growable per-window counters. */
class Series {
  a = new Float64Array(16);
  len = 0;

  add(i: number, v: number): void {
    if (i >= this.a.length) {
      let n = this.a.length;
      while (n <= i) n *= 2;
      const next = new Float64Array(n);
      next.set(this.a);
      this.a = next;
    }
    this.a[i] = this.a[i]! + v;
    if (i >= this.len) this.len = i + 1;
  }

  get(i: number): number {
    return i < this.len ? this.a[i]! : 0;
  }
}

// CPU phases.
const IDLE = 0, RAISED = 1, ACTION = 2, BUSY = 3;

/** Per-CPU state: struct softnet_data plus the model's program counter. */
class Cpu {
  phase = IDLE;
  /** Time of the next event of this CPU (Infinity when idle). */
  nextT = Infinity;
  /** sd->poll_list: NAPI ids (queue index, or nQueues + cpu for the backlog NAPI). */
  readonly pollList = new IntQueue();
  /** net_rx_action's local `list` and `repoll`. */
  readonly list = new IntQueue();
  readonly repoll = new IntQueue();
  budget = 0;
  tStart = 0;
  curNapi = -1;
  curWork = 0;
  curSlot = -1;
  /** True while the packet in curSlot only costs the RPS steering step here. */
  curRps = false;
  busyStart = 0;
  /** sd->input_pkt_queue and sd->process_queue. */
  readonly input = new IntQueue();
  readonly process = new IntQueue();
  /** NAPI_STATE_SCHED of sd->backlog. */
  backlogSched = false;
  // softnet_stat counters
  processed = 0;
  dropped = 0;
  timeSqueeze = 0;
  receivedRps = 0;
  // model counters
  invocations = 0;
  busyNs = 0;
  ringDrops = 0;
  firstDropT = Infinity;
  readonly wBusy = new Series();
  readonly wProcessed = new Series();
  readonly wRing = new Series();
  readonly wBacklog = new Series();
  readonly wSqueeze = new Series();

  constructor(readonly index: number) {}
}

/** One CPU's totals. */
export interface CpuSummary {
  cpu: number;
  /** Packets entering the stack here (__netif_receive_skb_core; softnet_stat col 1). */
  processed: number;
  /** Backlog drops (enqueue_to_backlog; softnet_stat col 2). */
  dropped: number;
  timeSqueeze: number;
  receivedRps: number;
  /** FULL_RING drops on the queues this CPU serves. */
  ringDrops: number;
  /** net_rx_action invocations (the NET_RX column of /proc/softirqs). */
  softirqs: number;
  /** ns spent in softirq. */
  busyNs: number;
  /** Largest input_pkt_queue / process_queue seen. */
  inputPeak: number;
  processPeak: number;
  /** Time of the first drop charged to this CPU (null: none). */
  firstDropNs: number | null;
}

/** One CPU in one window. */
export interface CpuWindow {
  cpu: number;
  /** Window start, ns. */
  t: number;
  /** Softirq time as % of the window. */
  loadPct: number;
  processed: number;
  drops: { FULL_RING: number; CPU_BACKLOG: number };
  timeSqueeze: number;
}

/** One rx queue's totals. */
export interface QueueSummary {
  name: string;
  cpu: number;
  ring: number;
  packets: number;
  drops: number;
  /** Most packets waiting in the ring at once. */
  peak: number;
}

/** The model's results. */
export interface SoftirqReport {
  windowNs: number;
  cpus: CpuSummary[];
  queues: QueueSummary[];
  /** Windows with any activity, by window then CPU. */
  windows: CpuWindow[];
  /** /proc/net/softnet_stat text (15 hex columns per CPU). */
  softnetStat: string;
  /** Egress qdiscs and wires of the edge devices (egress.ts), when the datapath transmitted. */
  egress?: EgressReport;
  /** Packets the model dropped: how many, and the first ones (queue_model.ts QueueDrop; --queue-drops has all). */
  drops?: { total: number; first: Array<{ index: number; ts: string; generated: boolean; reason: string; where: Record<string, unknown>; t_ms: number }> };
}

/**
 * The model. Feed arrivals in time order with rx() / netifRx(), then call finish() and report().
 * Packet data lives in typed columns indexed by a recycled slot; nothing is allocated per packet once
 * the columns have grown to the peak number of packets in flight. About 110 ns per packet with 4 CPUs
 * (Node 20, 2-vCPU CI machine, 2M packets); the next-event search is a scan over CPUs, fine up to a
 * few dozen.
 */
export class SoftirqModel {
  readonly nCpus: number;
  readonly nQueues: number;
  readonly weight: number;
  readonly budget: number;
  readonly budgetNs: number;
  readonly maxBacklog: number;
  readonly windowNs: number;
  readonly rpsCostNs: number;
  onDrop: SoftirqDropSink | null = null;
  onDone: SoftirqDoneSink | null = null;
  onPoll: SoftirqPollSink | null = null;

  private readonly cpus: Cpu[];
  /** CPUs by next event time (ties: lower index first), and each CPU's place in it. */
  private readonly heap: Int32Array;
  private readonly heapPos: Int32Array;
  /** Each CPU's nextT, where the heap compares it. */
  private readonly heapT: Float64Array;
  private readonly queueCpu: Int32Array;
  private readonly ringSize: Int32Array;
  private readonly rings: IntQueue[];
  private readonly queueNames: string[];
  private readonly queuePackets: Float64Array;
  private readonly queueDrops: Float64Array;
  /** NAPI_STATE_SCHED per NIC queue NAPI. */
  private readonly napiSched: Uint8Array;
  // Packet columns.
  private cap = 0;
  private tag = new Float64Array(0);
  private stage = new Int32Array(0);
  private nStages = new Int32Array(0);
  private rpsTarget = new Int32Array(0);
  private costs = new Float64Array(0);
  private free = new Int32Array(0);
  private nFree = 0;
  private lastT = -Infinity;
  private finished = false;

  constructor(opts: SoftirqOptions) {
    const { cpus, queues } = opts;
    if (!Number.isInteger(cpus) || cpus < 1) throw new RangeError(`CPU count ${cpus} is not a positive integer`);
    this.nCpus = cpus;
    this.nQueues = queues.length;
    this.weight = opts.weight ?? NAPI_WEIGHT;
    this.budget = opts.budget ?? NETDEV_BUDGET;
    this.budgetNs = (opts.budgetUsecs ?? NETDEV_BUDGET_USECS) * 1000;
    this.maxBacklog = opts.maxBacklog ?? NETDEV_MAX_BACKLOG;
    this.windowNs = opts.windowNs ?? 10e6;
    this.rpsCostNs = opts.rpsCostNs ?? 0;
    for (const [k, v] of [['weight', this.weight], ['budget', this.budget], ['maxBacklog', this.maxBacklog]] as const) {
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`${k} ${v} is not a positive integer`);
    }
    if (!(this.windowNs > 0)) throw new RangeError(`window ${this.windowNs} ns is not positive`);
    if (!(this.budgetNs > 0)) throw new RangeError(`netdev_budget_usecs must be positive`);
    this.cpus = Array.from({ length: cpus }, (_, i) => new Cpu(i));
    // Every CPU sits in the event heap; idle ones (Infinity) sink to the bottom.
    this.heap = Int32Array.from({ length: cpus }, (_, i) => i);
    this.heapPos = Int32Array.from({ length: cpus }, (_, i) => i);
    this.heapT = new Float64Array(cpus).fill(Infinity);
    this.queueCpu = new Int32Array(queues.length);
    this.ringSize = new Int32Array(queues.length);
    this.rings = [];
    this.queueNames = [];
    queues.forEach((q, i) => {
      if (!Number.isInteger(q.cpu) || q.cpu < 0 || q.cpu >= cpus) throw new RangeError(`queue ${q.name} is served by CPU ${q.cpu}, but there are ${cpus} CPUs`);
      const ring = q.ring ?? DEFAULT_RX_RING;
      if (!Number.isInteger(ring) || ring < 1) throw new RangeError(`queue ${q.name}: ring size ${ring} is not a positive integer`);
      this.queueCpu[i] = q.cpu;
      this.ringSize[i] = ring;
      this.rings.push(new IntQueue());
      this.queueNames.push(q.name);
    });
    this.queuePackets = new Float64Array(queues.length);
    this.queueDrops = new Float64Array(queues.length);
    this.napiSched = new Uint8Array(queues.length);
    this.grow(256);
  }

  /**
   * A frame arrives on NIC rx `queue` at `t` ns. `costs[0]` is the stack cost of the NIC stage,
   * costs[1..] those of later backlog hops (veth, loopback), each run on the CPU that finished the
   * previous one. `rpsCpu` ≥ 0 steers the NIC stage to that CPU's backlog (Rss.rpsCpuOf).
   * Returns FULL_RING when the ring was full (the NIC drops it; no callback), else 0; later drops
   * arrive through onDrop.
   */
  rx(t: number, queue: number, tag: number, costs: ArrayLike<number>, rpsCpu = -1): DropReason {
    this.arrive(t);
    const q = queue | 0;
    if (q < 0 || q >= this.nQueues) throw new RangeError(`rx queue ${queue} does not exist (${this.nQueues} queues)`);
    this.queuePackets[q]!++;
    const ring = this.rings[q]!;
    if (ring.length >= this.ringSize[q]!) {
      // The NIC finds no free descriptor: rx_missed / rx_fifo_errors, never seen by the stack.
      this.queueDrops[q]!++;
      const c = this.cpus[this.queueCpu[q]!]!;
      c.ringDrops++;
      c.wRing.add(this.win(t), 1);
      if (t < c.firstDropT) c.firstDropT = t;
      return DR.FULL_RING;
    }
    const slot = this.alloc(tag, costs, rpsCpu);
    ring.push(slot);
    if (!this.napiSched[q]) {
      // Interrupt → driver's handler → napi_schedule() (the IRQ stays masked until napi_complete_done).
      this.napiSched[q] = 1;
      this.napiSchedule(this.cpus[this.queueCpu[q]!]!, q, t);
    }
    return DR.NONE;
  }

  /**
   * A packet enters `cpu`'s backlog at `t` from outside the model: netif_rx() of a veth or loopback
   * transmit by a task on that CPU (e.g. a container's packet captured on its veth). Returns
   * CPU_BACKLOG when dropped (no callback), else 0.
   */
  netifRx(t: number, cpu: number, tag: number, costs: ArrayLike<number>): DropReason {
    this.arrive(t);
    if (!Number.isInteger(cpu) || cpu < 0 || cpu >= this.nCpus) throw new RangeError(`CPU ${cpu} does not exist (${this.nCpus} CPUs)`);
    const slot = this.alloc(tag, costs, -1);
    const r = this.enqueueToBacklog(this.cpus[cpu]!, slot, t, -1, false);
    return r;
  }

  /** Run the model until every queued packet is processed. No arrivals may follow. */
  finish(): void {
    this.advance(Infinity);
    this.finished = true;
  }

  /** Statistics so far (after finish(): the final ones). */
  report(): SoftirqReport {
    const w = this.windowNs;
    const cpus: CpuSummary[] = this.cpus.map((c) => ({
      cpu: c.index, processed: c.processed, dropped: c.dropped, timeSqueeze: c.timeSqueeze, receivedRps: c.receivedRps,
      ringDrops: c.ringDrops, softirqs: c.invocations, busyNs: c.busyNs, inputPeak: c.input.peak, processPeak: c.process.peak,
      firstDropNs: c.firstDropT === Infinity ? null : c.firstDropT,
    }));
    const queues: QueueSummary[] = this.queueNames.map((name, i) => ({
      name, cpu: this.queueCpu[i]!, ring: this.ringSize[i]!, packets: this.queuePackets[i]!, drops: this.queueDrops[i]!, peak: this.rings[i]!.peak,
    }));
    let nw = 0;
    for (const c of this.cpus) nw = Math.max(nw, c.wBusy.len, c.wProcessed.len, c.wRing.len, c.wBacklog.len, c.wSqueeze.len);
    const windows: CpuWindow[] = [];
    for (let i = 0; i < nw; i++) {
      for (const c of this.cpus) {
        const busy = c.wBusy.get(i), processed = c.wProcessed.get(i), ring = c.wRing.get(i), backlog = c.wBacklog.get(i), sq = c.wSqueeze.get(i);
        if (busy === 0 && processed === 0 && ring === 0 && backlog === 0 && sq === 0) continue;
        windows.push({ cpu: c.index, t: i * w, loadPct: Math.round((busy / w) * 1e6) / 1e4, processed, drops: { FULL_RING: ring, CPU_BACKLOG: backlog }, timeSqueeze: sq });
      }
    }
    return { windowNs: w, cpus, queues, windows, softnetStat: this.softnetStat() };
  }

  /**
   * /proc/net/softnet_stat as net/core/net-procfs.c softnet_seq_show() prints it (6.18, 15 columns):
   * processed, dropped, time_squeeze, 0×6, received_rps, flow_limit_count, backlog length (input +
   * process queue), CPU index, input_qlen, process_qlen — each %08x of a u32.
   */
  softnetStat(): string {
    const h = (v: number): string => (Math.floor(v) >>> 0).toString(16).padStart(8, '0');
    return this.cpus.map((c) => [
      h(c.processed), h(c.dropped), h(c.timeSqueeze), h(0), h(0), h(0), h(0), h(0), h(0),
      h(c.receivedRps), h(0), h(c.input.length + c.process.length), h(c.index), h(c.input.length), h(c.process.length),
    ].join(' ') + '\n').join('');
  }

  // ---------------------------------------------------------------------------------------------
  // Event loop

  private arrive(t: number): void {
    if (this.finished) throw new Error('SoftirqModel: arrival after finish()');
    if (!(t >= this.lastT)) throw new RangeError(`arrival at ${t} ns is before the previous one (${this.lastT} ns): feed arrivals in time order`);
    this.lastT = t;
    // Everything that happens strictly before t; events at t itself run after all arrivals at t.
    this.advance(t);
  }

  /** Run CPU events with time < until, earliest first (ties: lowest CPU). */
  private advance(until: number): void {
    const heap = this.heap;
    for (;;) {
      const top = heap[0]!;
      if (!(this.heapT[top]! < until)) return;
      this.step(this.cpus[top]!);
    }
  }

  /** CPU c's next event is at t: keep the event heap (by time, then CPU) in order. */
  private setNext(c: Cpu, t: number): void {
    const old = c.nextT;
    c.nextT = t;
    this.heapT[c.index] = t;
    if (t < old) this.siftUp(this.heapPos[c.index]!);
    else if (t > old) this.siftDown(this.heapPos[c.index]!);
  }

  private before(a: number, b: number): boolean {
    const ta = this.heapT[a]!, tb = this.heapT[b]!;
    return ta < tb || (ta === tb && a < b);
  }

  private siftUp(i: number): void {
    const h = this.heap, pos = this.heapPos;
    const x = h[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(x, h[p]!)) break;
      h[i] = h[p]!;
      pos[h[i]!] = i;
      i = p;
    }
    h[i] = x;
    pos[x] = i;
  }

  private siftDown(i: number): void {
    const h = this.heap, pos = this.heapPos, n = h.length;
    const x = h[i]!;
    for (;;) {
      let m = 2 * i + 1;
      if (m >= n) break;
      if (m + 1 < n && this.before(h[m + 1]!, h[m]!)) m++;
      if (!this.before(h[m]!, x)) break;
      h[i] = h[m]!;
      pos[h[i]!] = i;
      i = m;
    }
    h[i] = x;
    pos[x] = i;
  }

  /** Mirrors ____napi_schedule(): append to sd->poll_list, raise NET_RX_SOFTIRQ if the CPU is idle. */
  private napiSchedule(c: Cpu, napi: number, t: number): void {
    c.pollList.push(napi);
    if (c.phase === IDLE) {
      c.phase = RAISED;
      this.setNext(c, t);
    }
  }

  /** Run one event of `c` at c.nextT, then continue until the CPU consumes time or idles. */
  private step(c: Cpu): void {
    const now = c.nextT;
    if (c.phase === BUSY) this.finishPacket(c, now);
    else if (c.phase === RAISED) this.startAction(c, now);
    this.runAction(c, now);
  }

  /** net_rx_action() entry: budget, time limit, splice poll_list into the local list. */
  private startAction(c: Cpu, now: number): void {
    c.invocations++;
    c.budget = this.budget;
    c.tStart = now;
    c.list.clear();
    c.repoll.clear();
    c.list.spliceTail(c.pollList);
    c.curNapi = -1;
    c.phase = ACTION;
  }

  /**
   * The body of net_rx_action() and napi_poll(), one packet at a time:
   *  - pick the first NAPI of `list`; poll it for up to `weight` packets (__napi_poll → n->poll);
   *  - work == weight: it stays scheduled and goes to `repoll`; less: napi_complete_done();
   *  - budget -= work; budget ≤ 0 or now − start ≥ netdev_budget_usecs → time_squeeze++ and stop;
   *  - `list` empty: if `repoll` is empty too and new NAPIs were scheduled meanwhile, `goto start`
   *    (same budget); otherwise stop.
   * On stop, poll_list = rest of list + newly scheduled + repoll; non-empty → the softirq is raised
   * again, which here starts a new invocation at once.
   */
  private runAction(c: Cpu, now: number): void {
    for (;;) {
      if (c.phase !== ACTION) return;
      if (c.curNapi < 0) {
        if (c.list.length === 0) {
          if (c.repoll.length === 0) {
            if (c.pollList.length > 0) { c.list.spliceTail(c.pollList); continue; } // goto start
            c.phase = IDLE;
            this.setNext(c, Infinity);
            return;
          }
          this.endAction(c, now);
          continue;
        }
        c.curNapi = c.list.shift();
        c.curWork = 0;
      }
      // Inside napi->poll(): next packet, unless the weight is used up.
      const slot = c.curWork < this.weight ? this.takeNext(c, c.curNapi) : -1;
      if (slot < 0) {
        const napi = c.curNapi, work = c.curWork;
        c.curNapi = -1;
        c.budget -= work;
        if (this.onPoll !== null) this.onPoll(c.index, this.napiName(napi), work, c.budget, now);
        if (work >= this.weight) c.repoll.push(napi);
        else this.napiComplete(c, napi);
        if (c.budget <= 0 || now - c.tStart >= this.budgetNs) {
          c.timeSqueeze++;
          c.wSqueeze.add(this.win(now), 1);
          this.endAction(c, now);
        }
        continue;
      }
      c.curWork++;
      this.startPacket(c, slot, now);
      return;
    }
  }

  /** End of net_rx_action(): rebuild poll_list; re-raise the softirq if it is not empty. */
  private endAction(c: Cpu, now: number): void {
    c.list.spliceTail(c.pollList);
    c.list.spliceTail(c.repoll);
    c.pollList.spliceTail(c.list);
    if (c.pollList.length > 0) {
      c.phase = RAISED;
      this.setNext(c, now);
    } else {
      c.phase = IDLE;
      this.setNext(c, Infinity);
    }
  }

  /** A NAPI's name for reports: the rx queue's, or `backlog`. */
  napiName(napi: number): string {
    return napi < this.nQueues ? this.queueNames[napi]! : 'backlog';
  }

  /** Next packet for a NAPI: the NIC ring head, or process_backlog()'s process_queue (refilled from
   * input_pkt_queue only when empty, as skb_queue_splice_tail_init does there). */
  private takeNext(c: Cpu, napi: number): number {
    if (napi < this.nQueues) return this.rings[napi]!.shift();
    if (c.process.length === 0) {
      if (c.input.length === 0) return -1;
      c.process.spliceTail(c.input);
    }
    return c.process.shift();
  }

  /** napi_complete_done(): the NAPI leaves the scheduled state (IRQ re-armed / backlog SCHED cleared). */
  private napiComplete(c: Cpu, napi: number): void {
    if (napi < this.nQueues) {
      this.napiSched[napi] = 0;
      // A packet that arrived after the last descriptor check raises the IRQ again at once.
      if (this.rings[napi]!.length > 0) {
        this.napiSched[napi] = 1;
        c.pollList.push(napi);
      }
    } else {
      c.backlogSched = false;
    }
  }

  private startPacket(c: Cpu, slot: number, now: number): void {
    const st = this.stage[slot]!;
    // NIC stage with RPS: this CPU only steers it (get_rps_cpu + enqueue_to_backlog).
    const rps = st === 0 && this.rpsTarget[slot]! >= 0 && c.curNapi < this.nQueues;
    const cost = rps ? this.rpsCostNs : this.costs[slot * MAX_STAGES + st]!;
    c.curSlot = slot;
    c.curRps = rps;
    c.busyStart = now;
    c.phase = BUSY;
    this.setNext(c, now + cost);
    if (!rps) {
      // __netif_receive_skb_core(): sd->processed++.
      c.processed++;
      c.wProcessed.add(this.win(now), 1);
    }
  }

  private finishPacket(c: Cpu, now: number): void {
    const slot = c.curSlot;
    this.chargeBusy(c, c.busyStart, now);
    c.curSlot = -1;
    c.phase = ACTION;
    if (c.curRps) {
      const target = this.rpsTarget[slot]!;
      this.rpsTarget[slot] = -1;
      this.enqueueToBacklog(this.cpus[target]!, slot, now, c.index, true);
      return;
    }
    const next = this.stage[slot]! + 1;
    if (next < this.nStages[slot]!) {
      // veth_xmit / loopback_xmit → __netif_rx → enqueue_to_backlog on the current CPU.
      this.stage[slot] = next;
      this.enqueueToBacklog(c, slot, now, c.index, true);
      return;
    }
    if (this.onDone !== null) this.onDone(this.tag[slot]!, now, c.index);
    this.release(slot);
  }

  /**
   * Mirrors enqueue_to_backlog(): drop when input_pkt_queue qlen > netdev_max_backlog (so at most
   * max_backlog + 1 wait), counting sd->dropped of the target CPU; an empty queue whose backlog NAPI is
   * not scheduled schedules it (napi_schedule_rps: an IPI, received_rps++, when the target is another
   * CPU). `notify`: report a drop through onDrop (false when the caller gets the return value).
   */
  private enqueueToBacklog(target: Cpu, slot: number, now: number, fromCpu: number, notify: boolean): DropReason {
    if (target.input.length > this.maxBacklog) {
      target.dropped++;
      target.wBacklog.add(this.win(now), 1);
      if (now < target.firstDropT) target.firstDropT = now;
      const tag = this.tag[slot]!;
      this.release(slot);
      if (notify && this.onDrop !== null) this.onDrop(tag, DR.CPU_BACKLOG, now, target.index);
      return DR.CPU_BACKLOG;
    }
    if (target.input.length === 0 && !target.backlogSched) {
      target.backlogSched = true;
      if (fromCpu !== target.index && fromCpu >= 0) target.receivedRps++;
      this.napiSchedule(target, this.nQueues + target.index, now);
    }
    target.input.push(slot);
    return DR.NONE;
  }

  /** Add busy time [a, b) to the per-window series. */
  private chargeBusy(c: Cpu, a: number, b: number): void {
    c.busyNs += b - a;
    const w = this.windowNs;
    while (a < b) {
      const i = Math.floor(a / w);
      const end = Math.min(b, (i + 1) * w);
      c.wBusy.add(i, end - a);
      a = end;
    }
  }

  private win(t: number): number {
    return t <= 0 ? 0 : Math.floor(t / this.windowNs);
  }

  // ---------------------------------------------------------------------------------------------
  // Packet slots

  private alloc(tag: number, costs: ArrayLike<number>, rpsCpu: number): number {
    const n = costs.length;
    if (n < 1 || n > MAX_STAGES) throw new RangeError(`a packet needs 1..${MAX_STAGES} stage costs, got ${n}`);
    if (rpsCpu >= this.nCpus) throw new RangeError(`RPS CPU ${rpsCpu} does not exist (${this.nCpus} CPUs)`);
    if (this.nFree === 0) this.grow(this.cap * 2);
    const slot = this.free[--this.nFree]!;
    this.tag[slot] = tag;
    this.stage[slot] = 0;
    this.nStages[slot] = n;
    this.rpsTarget[slot] = rpsCpu;
    const base = slot * MAX_STAGES;
    for (let i = 0; i < n; i++) {
      const v = costs[i]!;
      if (!(v >= 0) || !Number.isFinite(v)) throw new RangeError(`stage cost ${v} ns is not a non-negative number`);
      this.costs[base + i] = v;
    }
    return slot;
  }

  private release(slot: number): void {
    this.free[this.nFree++] = slot;
  }

  private grow(cap: number): void {
    const old = this.cap;
    const g = <T extends Float64Array | Int32Array>(a: T, n: number, make: (n: number) => T): T => {
      const b = make(n);
      b.set(a);
      return b;
    };
    this.tag = g(this.tag, cap, (n) => new Float64Array(n));
    this.stage = g(this.stage, cap, (n) => new Int32Array(n));
    this.nStages = g(this.nStages, cap, (n) => new Int32Array(n));
    this.rpsTarget = g(this.rpsTarget, cap, (n) => new Int32Array(n));
    this.costs = g(this.costs, cap * MAX_STAGES, (n) => new Float64Array(n));
    const free = new Int32Array(cap);
    free.set(this.free.subarray(0, this.nFree));
    // New slots are handed out lowest first (pushed last).
    for (let s = cap - 1; s >= old; s--) free[this.nFree++] = s;
    this.free = free;
    this.cap = cap;
  }
}

/**
 * Maps capture timestamps to the model's clock: ns since the first packet, divided by `speed`
 * ("what if this traffic came X times faster"), or evenly spaced at `rate` packets/s when given.
 * Exact for (sec, nsec) pairs over spans up to 104 days (2^53 ns).
 */
export class ArrivalClock {
  private sec0 = NaN;
  private nsec0 = 0;
  private n = 0;

  constructor(readonly speed = 1, readonly rate = 0) {
    if (!(speed > 0) || !Number.isFinite(speed)) throw new RangeError(`speed ${speed} is not a positive number`);
    if (!(rate >= 0) || !Number.isFinite(rate)) throw new RangeError(`rate ${rate} is not a non-negative number`);
  }

  /** Model time (ns) of a packet captured at sec.nsec; call in capture order. */
  at(sec: number, nsec: number): number {
    if (Number.isNaN(this.sec0)) { this.sec0 = sec; this.nsec0 = nsec; }
    const i = this.n++;
    if (this.rate > 0) return (i * 1e9) / this.rate;
    return ((sec - this.sec0) * 1e9 + (nsec - this.nsec0)) / this.speed;
  }
}
