/**
 * The queue model of a replay: RSS spreads each received packet over its device's rx queues, each
 * queue's interrupt is served by a CPU, and per CPU NET_RX softirq (NAPI) does the work the datapath
 * says the packet needed (cost.ts). The datapath runs first, in input order (its shared state —
 * conntrack, NAT, neighbours — must give the sequential answer); it hands this feeder one arrival per
 * packet (time, queue, cost) in typed columns.
 *
 * Parallel part: without RPS, CPUs do not share anything in the model, so the CPUs are split into
 * groups (CPU c → group c mod N) and each group's arrivals are simulated by its own piscina worker,
 * all at once, with the column buffers transferred (no per-packet messages). Each CPU's result depends
 * only on its own arrivals, so the merged report is the same for any number of workers.
 */
import { DROP_REASON_NAMES } from '../stack/drop_reason.js';
import { formatTs } from '../pcap/reader.js';
import { availableParallelism } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import type { Transferable as WtTransferable } from 'node:worker_threads';
import type { NetDevice } from '../stack/netdev.js';
import type { World } from '../stack/netns.js';
import { PacketInfo, decodeFrame } from '../stack/wire/decode.js';
import { Rss, MS_RSS_KEY, SYMMETRIC_KEY, queueConfigFromSnapshot } from './rss.js';
import { ArrivalClock, DEFAULT_RX_RING, MAX_STAGES, softnetFromSysctl, type Softnet, type SoftirqReport, type RxQueueSpec, type CpuSummary, type QueueSummary, type CpuWindow } from './softirq.js';
import { CostModel } from './cost.js';
import type { QueueTask, QueueResult } from './queue_worker.js';
import type { Skb } from '../stack/skb.js';
import { flowHash } from '../stack/nf_hook.js';
import { makeQdisc, TcSpecError } from '../stack/sched/tc_spec.js';
import { ConfigError, UsageError } from '../errors.js';
import { grow } from './typed.js';
import { simulateEgress, egressText, TxEvents, type EgressDevice, type EgressReport, type TxPkt } from './egress.js';

/** Options of the queue model. */
export interface QueueModelOptions {
  /** Simulated CPUs. */
  cpus: number;
  /** The CPU count came from --cpus: queues go round-robin, not by the snapshot's IRQ affinity. */
  cpusGiven?: boolean;
  /** rx queues per device (default: the device's num_rx_queues from the snapshot). */
  queues: number | null;
  /** RSS key (default: the Microsoft verification key). */
  key: Uint8Array | null;
  symmetric: boolean;
  cost: CostModel;
  /** Replay as if the traffic came `speed` times faster. */
  speed: number;
  /** Space packets evenly at this rate instead (packets/s; 0 = use the capture's times). */
  rate: number;
  /** Statistics window, ms. */
  windowMs: number;
  /** Rx ring size per queue (null: the snapshot's `ethtool -g`, else 1024). */
  ring: number | null;
  /** The world's snapshot directory: RSS key, indirection, queues, IRQ affinity, RPS and rings from its ethtool/ and cpus.txt. */
  snapshotDir?: string;
  /** The world's file or directory, for errors. */
  source?: string;
  /** piscina workers (default: the machine's cores). */
  workers: number;
  /** Line rate per device (`ns:dev` → bytes/s; --link-rate, or the lab's `rate`). */
  linkRates?: Map<string, number>;
  /** Root qdisc per device (`ns:dev` → tc spec; --qdisc), overriding the snapshot's. */
  qdiscs?: Map<string, string>;
}

/** Growable typed columns of arrivals; stage costs flat, `nst[i]` of them per arrival. */
class Columns {
  n = 0;
  t = new Float64Array(1024);
  q = new Int32Array(1024);
  tag = new Float64Array(1024);
  /** RPS target CPU, -1 when none. */
  rps = new Int32Array(1024);
  nst = new Uint8Array(1024);
  nCosts = 0;
  costs = new Float64Array(1024);

  push(t: number, q: number, tag: number, rps: number, costs: Float64Array, nst: number): void {
    if (this.n === this.t.length) {
      this.t = grow(this.t);
      this.q = grow(this.q);
      this.tag = grow(this.tag);
      this.rps = grow(this.rps);
      this.nst = grow(this.nst);
    }
    while (this.nCosts + nst > this.costs.length) this.costs = grow(this.costs);
    const i = this.n++;
    this.t[i] = t;
    this.q[i] = q;
    this.tag[i] = tag;
    this.rps[i] = rps;
    this.nst[i] = nst;
    for (let k = 0; k < nst; k++) this.costs[this.nCosts++] = costs[k];
  }

  /** The columns trimmed to their length, as a worker task's arrays. */
  task(): Pick<QueueTask, 't' | 'q' | 'tag' | 'rps' | 'nst' | 'costs'> {
    return { t: this.t.slice(0, this.n), q: this.q.slice(0, this.n), tag: this.tag.slice(0, this.n), rps: this.rps.slice(0, this.n), nst: this.nst.slice(0, this.n), costs: this.costs.slice(0, this.nCosts) };
  }

  /** Several groups' arrivals as one, in arrival order (time, then input index). */
  static merge(groups: Columns[]): Columns {
    const out = new Columns();
    const at = groups.map(() => 0);
    const off = groups.map(() => 0);
    const stage = new Float64Array(MAX_STAGES);
    for (;;) {
      let best = -1;
      for (let k = 0; k < groups.length; k++) {
        const g = groups[k], i = at[k];
        if (i >= g.n) continue;
        if (best < 0) best = k;
        else {
          const b = groups[best], j = at[best];
          if (g.t[i] < b.t[j] || (g.t[i] === b.t[j] && g.tag[i] < b.tag[j])) best = k;
        }
      }
      if (best < 0) return out;
      const g = groups[best], i = at[best]++;
      for (let s = 0; s < g.nst[i]; s++) stage[s] = g.costs[off[best] + s];
      off[best] += g.nst[i];
      out.push(g.t[i], g.q[i], g.tag[i], g.rps[i], stage, g.nst[i]);
    }
  }
}

/** Work counters at one point of a packet's processing: hooks, rules, ct lookups, ct inserts, NATs. */
const kWork = 5;

/** A packet the queue model dropped (`--queue-drops`). */
export interface QueueDrop {
  /** The input packet (its record's index), and its capture time. */
  index: number;
  ts: string;
  /** True when the dropped frame is one the stack generated because of the input packet. */
  generated: boolean;
  /** Kernel drop reason (FULL_RING, CPU_BACKLOG, QDISC_DROP, QDISC_OVERLIMIT, ...). */
  reason: string;
  /** Where: the rx queue and its CPU, the CPU's backlog, or the egress device's qdisc. */
  where: { cpu: number; queue: string } | { cpu: number; backlog: true } | { dev: string; qdisc: string };
  /** Model time of the drop, ms from the first packet. */
  t_ms: number;
}

/** Dropped packets listed in the summary and report (all of them go to --queue-drops). */
const kDropsInReport = 100;

/** A device's rx queues: its RSS, and its queues' global ids base..base+n-1. */
interface DevQueues {
  rss: Rss;
  base: number;
  n: number;
}

/** The fields of a packet as it entered that RSS hashes (PacketRecord has them). */
export interface RssEntry {
  l3: number;
  l4: number;
  src4: number;
  dst4: number;
  sport: number;
  dport: number;
}

/** What the datapath did for a packet (Datapath.work). */
export interface WorkCounters {
  hooks: number;
  rules: number;
  ctLookups: number;
  ctInserts: number;
  nats: number;
}

/** Collects arrivals during the replay, then simulates them on workers. */
export class QueueModel {
  private readonly rss: Map<NetDevice, DevQueues> = new Map();
  readonly queues: RxQueueSpec[] = [];
  private readonly clock: ArrivalClock;
  private readonly groups: Columns[];
  private readonly info = new PacketInfo();
  private readonly cpuOfQueue: number[] = [];
  readonly workers: number;
  /** Edge devices that transmit, and what they transmitted (egress.ts). */
  private readonly egress: EgressDevice[] = [];
  private readonly egressOf = new Map<NetDevice, number>();
  private readonly tx = new TxEvents();
  /** Input packets seen (index + 1 of the last), and their capture times (for --queue-drops). */
  private packets = 0;
  private tsSec = new Float64Array(1024);
  private tsNsec = new Float64Array(1024);
  /** Packets the model dropped, by input index then time; filled by run(). */
  drops: QueueDrop[] = [];
  /** Some queue steers with RPS: CPUs then interact, and one worker simulates them all. */
  rpsOn = false;
  /** Where each device's queue configuration came from (for the report). */
  readonly sources: string[] = [];
  /** Backlog hops (veth, loopback) of the packet being processed: its index and the work counters at each. */
  private cutIndex = -1;
  private nCuts = 0;
  private readonly cutWork = new Float64Array((MAX_STAGES - 1) * kWork);
  private readonly stageCosts = new Float64Array(MAX_STAGES);

  /** The host's net.core softnet sysctls. */
  private readonly softnet: Softnet;

  constructor(readonly world: World, readonly opts: QueueModelOptions) {
    this.clock = new ArrivalClock(opts.speed, opts.rate);
    let sn: ReturnType<typeof softnetFromSysctl>;
    try {
      sn = softnetFromSysctl(world.namespaces.map((ns) => (k: string) => ns.sysctl.values.get(k)));
    } catch (e) {
      throw new ConfigError(opts.source ?? 'the world', 'sysctl', `${(e as Error).message}; fix or remove it`);
    }
    this.softnet = sn.softnet;
    this.sources.push(`softnet: ${sn.text}`);
    this.workers = Math.max(1, Math.min(opts.workers, opts.cpus));
    this.groups = Array.from({ length: this.workers }, () => new Columns());
    const known = new Set(world.edges().map((d) => `${d.ns.name}:${d.name}`));
    for (const [what, m] of [['--link-rate', opts.linkRates], ['--qdisc', opts.qdiscs]] as const) {
      for (const k of m?.keys() ?? []) {
        if (!known.has(k)) throw new UsageError(`${what} ${k}: not an edge device of the world (edges: ${[...known].join(', ') || 'none'})`);
      }
    }
    for (const dev of world.edges()) {
      const name = `${dev.ns.name}:${dev.name}`;
      const spec = opts.qdiscs?.get(name) ?? dev.qdisc;
      const rate = opts.linkRates?.get(name) ?? dev.rate;
      const make = () => makeQdisc<TxPkt>(spec, { txqlen: dev.txqlen, mtu: dev.mtu, numTxQueues: dev.numTxQueues, defaultQdisc: dev.ns.sysctl.get('net.core.default_qdisc') ?? 'pfifo_fast' });
      // Check the qdisc now when it will be used (a device with a rate), not mid-run.
      if (rate > 0) {
        try {
          make();
        } catch (e) {
          if (!(e instanceof TcSpecError || e instanceof RangeError)) throw e;
          throw new UsageError(`${name}: root qdisc "${spec}": ${e.message}; give one the model has with --qdisc ${name}="fq_codel" (or pfifo_fast, tbf rate R burst B latency T, ...)`);
        }
      }
      this.egressOf.set(dev, this.egress.length);
      this.egress.push({ name, qdisc: spec, rate, make });
    }
  }

  /** The datapath put a packet on an edge device's wire (dev_queue_xmit) while handling input packet `cause`. */
  xmit(dev: NetDevice, skb: Skb, cause: number): void {
    const k = this.egressOf.get(dev);
    if (k === undefined) return;
    const tos = skb.info.tos;
    this.tx.push(cause, k, skb.len, skb.priority, flowHash(skb), tos < 0 ? 0 : tos & 3, skb.generated ? 1 : 0);
  }

  /** The rx queues of a device, created on its first packet (queue q of device d → a global id). */
  private queuesOf(dev: NetDevice): DevQueues {
    let e = this.rss.get(dev);
    if (e) return e;
    const o = this.opts;
    const key = o.symmetric ? SYMMETRIC_KEY : o.key ?? undefined;
    const base = this.queues.length;
    let rss: Rss | null = null;
    let ring = o.ring ?? DEFAULT_RX_RING;
    let irqFromSnapshot = false;
    // What the host said about this device (ethtool -l/-x/-g, IRQ affinity, rps_cpus), when it said
    // anything; the command line wins.
    const cfg = o.snapshotDir ? queueConfigFromSnapshot(o.snapshotDir, dev.ns.name, dev.name, { ...(key ? { key } : {}), ...(o.queues !== null ? { queues: o.queues } : {}), cpus: o.cpus, roundRobin: o.cpusGiven === true }) : null;
    if (cfg && cfg.sources.some((x) => !x.endsWith('from default') && !x.endsWith('from --queues'))) {
      rss = new Rss(cfg.rss);
      if (o.ring === null && cfg.rxRing !== null) {
        ring = cfg.rxRing;
        cfg.sources.push('rx ring from ethtool -g');
      }
      irqFromSnapshot = cfg.sources.includes('IRQ affinity from cpus.txt');
      this.sources.push(`${dev.ns.name}:${dev.name}: ${cfg.sources.join(', ')}`);
    } else {
      rss = new Rss({ key: key ?? MS_RSS_KEY, queues: o.queues ?? Math.max(1, dev.numRxQueues), cpus: o.cpus });
    }
    for (let q = 0; q < rss.queues; q++) {
      // IRQ affinity when the snapshot has it; else queue q on CPU (base + q) mod cpus, so that
      // several devices' queues spread over all CPUs.
      const cpu = irqFromSnapshot ? rss.cpuOf(q) : (base + q) % o.cpus;
      this.queues.push({ name: `${dev.ns.name}:${dev.name}:rx-${q}`, cpu, ring });
      this.cpuOfQueue.push(cpu);
      if (rss.rpsCpus[q].length > 0) this.rpsOn = true;
    }
    e = { rss, base, n: rss.queues };
    this.rss.set(dev, e);
    return e;
  }

  /** Input packet `index` is handed over through a backlog (veth/loopback hop): a stage ends here. */
  cut(index: number, w: WorkCounters, rules: number): void {
    if (index !== this.cutIndex) {
      this.cutIndex = index;
      this.nCuts = 0;
    }
    if (this.nCuts >= MAX_STAGES - 1) return; // deeper chains: the rest is charged to the last stage
    const o = this.nCuts++ * kWork;
    const c = this.cutWork;
    c[o] = w.hooks;
    c[o + 1] = rules;
    c[o + 2] = w.ctLookups;
    c[o + 3] = w.ctInserts;
    c[o + 4] = w.nats;
  }

  /**
   * One packet received on dev at capture time sec.nsec, with the work the datapath did for it.
   * `entry` is its record's header as it entered (the datapath decoded it already); IPv6 needs the
   * address bytes, so only IPv6 frames are decoded again here.
   */
  arrive(dev: NetDevice, frame: Uint8Array, len: number, sec: number, nsec: number, index: number, work: WorkCounters, entry: RssEntry): void {
    const e = this.queuesOf(dev);
    let hash = 0;
    if (entry.l3 === 1) {
      const ports = entry.sport >= 0 && (entry.l4 === 6 || entry.l4 === 17);
      hash = e.rss.hash4(entry.src4, entry.dst4, entry.sport < 0 ? 0 : entry.sport, entry.dport < 0 ? 0 : entry.dport, ports);
    } else if (entry.l3 === 2) {
      const i = this.info;
      decodeFrame(i, frame, len, len, 1, { verifyChecksums: false });
      const ports = i.sport >= 0 && (i.l4proto === 6 || i.l4proto === 17);
      if (i.srcOff >= 0) hash = e.rss.hash6(frame, frame, i.sport < 0 ? 0 : i.sport, i.dport < 0 ? 0 : i.dport, ports, i.srcOff, i.dstOff);
    }
    const lq = e.n > 1 ? e.rss.queueOf(hash) : 0;
    const q = e.base + lq;
    // Stage costs: the NIC stage up to the first backlog hop, then each hop's share (cost.ts).
    const cost = this.opts.cost;
    const sc = this.stageCosts;
    let nst = 1;
    let h0 = 0, r0 = 0, l0 = 0, i0 = 0, n0 = 0;
    if (this.cutIndex === index) {
      const c = this.cutWork;
      for (let k = 0; k < this.nCuts; k++, nst++) {
        const o = k * kWork;
        sc[k] = cost.cost(c[o] - h0, c[o + 1] - r0, c[o + 2] - l0, c[o + 3] - i0, c[o + 4] - n0);
        h0 = c[o];
        r0 = c[o + 1];
        l0 = c[o + 2];
        i0 = c[o + 3];
        n0 = c[o + 4];
      }
    }
    sc[nst - 1] = cost.cost(work.hooks - h0, work.rules - r0, work.ctLookups - l0, work.ctInserts - i0, work.nats - n0);
    const cpu = this.cpuOfQueue[q];
    this.groups[cpu % this.workers].push(this.clock.at(sec, nsec), q, index, e.rss.rpsCpuOf(lq, hash), sc, nst);
    if (index + 1 > this.packets) this.packets = index + 1;
    while (index >= this.tsSec.length) {
      this.tsSec = grow(this.tsSec);
      this.tsNsec = grow(this.tsNsec);
    }
    this.tsSec[index] = sec;
    this.tsNsec[index] = nsec;
  }

  /** Workers the simulation uses: one when RPS makes the CPUs interact. */
  get activeWorkers(): number {
    return this.rpsOn ? 1 : this.workers;
  }

  /** Simulate every group on its worker and merge the results (ordered by CPU and queue). */
  async run(): Promise<SoftirqReport> {
    // RPS moves packets between CPUs at times only the whole model knows: simulate all CPUs together.
    const groups = this.rpsOn && this.groups.length > 1 ? [Columns.merge(this.groups)] : this.groups;
    const n = groups.length;
    const pool = new Piscina({ filename: workerFile(), minThreads: n, maxThreads: n, idleTimeout: 100 });
    try {
      const tasks = groups.map((g, k) => {
        // Group k simulates only its CPUs (c ≡ k mod n), renumbered 0.. so that the model's next-event
        // scan covers them alone; queues keep their global ids (other groups' queues stay idle).
        const cpus = Math.ceil((this.opts.cpus - k) / n);
        const queues = this.queues.map((q) => ({ ...q, cpu: q.cpu % n === k ? Math.floor(q.cpu / n) : 0 }));
        const cols = g.task();
        const task: QueueTask = { cpus, queues, windowNs: this.opts.windowMs * 1e6, softnet: this.softnet, ...cols };
        const transfer = [cols.t.buffer, cols.q.buffer, cols.tag.buffer, cols.rps.buffer, cols.nst.buffer, cols.costs.buffer];
        return pool.run(task, { transferList: transfer as unknown as WtTransferable[] }) as Promise<QueueResult>;
      });
      const results = await Promise.all(tasks);
      const report = merge(results.map((r) => r.report), n, this.queues, this.opts.cpus);
      // When each input packet's softirq finished (NaN: dropped on receive), then the egress side.
      const doneAt = new Float64Array(this.packets).fill(NaN);
      for (const r of results) for (let i = 0; i < r.doneTag.length; i++) doneAt[r.doneTag[i]] = r.doneT[i];
      // Transmits with no input packet being handled (timers after the capture): charged to the last one.
      for (let i = 0; i < this.tx.n; i++) if (this.tx.cause[i] < 0 || this.tx.cause[i] >= this.packets) this.tx.cause[i] = this.packets - 1;
      const drops: QueueDrop[] = [];
      const ts = (i: number): string => formatTs(this.tsSec[i], this.tsNsec[i]);
      results.forEach((r, k) => {
        for (let j = 0; j < r.dropTag.length; j++) {
          const i = r.dropTag[j], cpu = r.dropCpu[j] * n + k, q = r.dropQueue[j];
          drops.push({
            index: i, ts: ts(i), generated: false, reason: DROP_REASON_NAMES[r.dropReason[j]] ?? String(r.dropReason[j]),
            where: q >= 0 ? { cpu, queue: this.queues[q].name } : { cpu, backlog: true }, t_ms: r.dropT[j] / 1e6,
          });
        }
      });
      if (this.packets > 0) {
        report.egress = simulateEgress(this.egress, this.tx, doneAt, this.opts.windowMs * 1e6, (row, reason, t) => {
          const i = this.tx.cause[row], d = this.egress[this.tx.dev[row]];
          drops.push({ index: i, ts: ts(i), generated: this.tx.gen[row] === 1, reason, where: { dev: d.name, qdisc: d.qdisc }, t_ms: t / 1e6 });
        });
      }
      const key = (d: QueueDrop): string => `${d.reason} ${JSON.stringify(d.where)}`;
      this.drops = drops.sort((a, b) => a.index - b.index || a.t_ms - b.t_ms || (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
      report.drops = { total: drops.length, first: drops.slice(0, kDropsInReport) };
      return report;
    } finally {
      await pool.destroy();
    }
  }
}

/** Each CPU (and its queues, windows) from the worker that owns it: CPU c is local CPU ⌊c/N⌋ of worker c mod N. */
function merge(reports: SoftirqReport[], n: number, queues: RxQueueSpec[], nCpus: number): SoftirqReport {
  const cpus: CpuSummary[] = [];
  for (let c = 0; c < nCpus; c++) {
    const local = reports[c % n].cpus[Math.floor(c / n)];
    cpus.push({ ...local, cpu: c });
  }
  const qs: QueueSummary[] = queues.map((q, i) => ({ ...reports[q.cpu % n].queues[i], cpu: q.cpu }));
  const windows: CpuWindow[] = [];
  for (let k = 0; k < n; k++) for (const w of reports[k].windows) windows.push({ ...w, cpu: w.cpu * n + k });
  windows.sort((a, b) => a.t - b.t || a.cpu - b.cpu);
  // softnet_stat: one line per CPU; column 13 is the CPU index, which the group numbered locally.
  const lines = reports.map((r) => r.softnetStat.trimEnd().split('\n'));
  const softnetStat = cpus.map((_, c) => {
    const cols = lines[c % n][Math.floor(c / n)].split(' ');
    cols[12] = (c >>> 0).toString(16).padStart(8, '0');
    return cols.join(' ');
  }).join('\n') + '\n';
  return { windowNs: reports[0].windowNs, cpus, queues: qs, windows, softnetStat };
}

/** The worker's compiled file (under vitest this module runs from src/, the worker from dist/). */
function workerFile(): string {
  const here = fileURLToPath(import.meta.url);
  return here.endsWith('.ts') ? resolve(dirname(here), '../../dist/workers/queue_worker.js') : join(dirname(here), 'queue_worker.js');
}

/** Default number of workers: the machine's cores. */
export function defaultWorkers(): number {
  return availableParallelism();
}

/** Text for the summary. */
export function queueModelText(r: SoftirqReport, opts: QueueModelOptions, workers: number, sources: string[] = [], rps = false): string {
  let s = `queue model (${opts.cpus} CPUs, ${r.queues.length} rx queues, speed ${opts.speed}x${opts.rate ? `, rate ${opts.rate} pps` : ''}, ${workers} worker${workers > 1 ? 's' : ''}${rps ? ': RPS couples the CPUs' : ''}):\n`;
  for (const src of sources) s += `  ${src.startsWith('softnet:') ? '' : 'from the snapshot: '}${src}\n`;
  s += '  cpu  processed  ring-drops  backlog-drops  time_squeeze  softirqs  busy-ms  peak-load%\n';
  const peak = new Map<number, number>();
  for (const w of r.windows) peak.set(w.cpu, Math.max(peak.get(w.cpu) ?? 0, w.loadPct));
  for (const c of r.cpus) {
    s += `  ${String(c.cpu).padStart(3)}  ${String(c.processed).padStart(9)}  ${String(c.ringDrops).padStart(10)}  ${String(c.dropped).padStart(13)}  ${String(c.timeSqueeze).padStart(12)}  ${String(c.softirqs).padStart(8)}  ${(c.busyNs / 1e6).toFixed(2).padStart(7)}  ${(peak.get(c.cpu) ?? 0).toFixed(1).padStart(10)}\n`;
  }
  s += '  rx queues (packets, drops, peak occupancy / ring):\n';
  for (const q of r.queues) s += `    ${q.name.padEnd(28)} cpu ${q.cpu}  ${String(q.packets).padStart(8)}  ${String(q.drops).padStart(6)}  ${q.peak}/${q.ring}\n`;
  s += '  /proc/net/softnet_stat:\n' + r.softnetStat.trimEnd().split('\n').map((l) => `    ${l}`).join('\n') + '\n';
  if (r.egress) s += egressText(r.egress);
  if (r.drops && r.drops.total > 0) {
    const where = (w: Record<string, unknown>): string => ('queue' in w ? `${w.queue}` : 'backlog' in w ? `cpu ${w.cpu} backlog` : `${w.dev}`);
    s += `  packets dropped by the queues: ${r.drops.total} (first: ${r.drops.first.slice(0, 5).map((d) => `#${d.index} ${d.reason} ${where(d.where)}`).join(', ')}${r.drops.total > 5 ? ', ...' : ''})\n`;
  }
  return s;
}
