/**
 * piscina worker: simulates one group of CPUs (queue_model.ts) over its arrivals, which arrive as
 * transferred typed columns, and returns the model's report.
 */
import { MAX_STAGES, SoftirqModel, type RxQueueSpec, type SoftirqReport, type Softnet } from './softirq.js';
import { DR } from '../stack/drop_reason.js';

/** One group's work. */
export interface QueueTask {
  cpus: number;
  queues: RxQueueSpec[];
  windowNs: number;
  /** net.core.netdev_budget, netdev_budget_usecs, netdev_max_backlog (kernel defaults when absent). */
  softnet: Softnet;
  t: Float64Array;
  q: Int32Array;
  tag: Float64Array;
  /** RPS target CPU per arrival (-1: none). */
  rps: Int32Array;
  /** Stages per arrival (NIC, then backlog hops), and their costs one after another. */
  nst: Uint8Array;
  costs: Float64Array;
}

/**
 * A group's report; when each of its packets finished (packet index, ns) for the egress model; and
 * each packet it dropped: index, time (ns), drop reason, local CPU, rx queue (-1: a backlog drop).
 */
export interface QueueResult {
  report: SoftirqReport;
  doneTag: Float64Array;
  doneT: Float64Array;
  dropTag: Float64Array;
  dropT: Float64Array;
  dropReason: Int32Array;
  dropCpu: Int32Array;
  dropQueue: Int32Array;
}

/** Run the softirq model over the arrivals. */
export default function run(task: QueueTask): QueueResult {
  const m = new SoftirqModel({ cpus: task.cpus, queues: task.queues, windowNs: task.windowNs, ...task.softnet });
  const doneTag = new Float64Array(task.t.length);
  const doneT = new Float64Array(task.t.length);
  let nDone = 0;
  m.onDone = (tag, t) => {
    doneTag[nDone] = tag;
    doneT[nDone++] = t;
  };
  const dropTag = new Float64Array(task.t.length), dropT = new Float64Array(task.t.length);
  const dropReason = new Int32Array(task.t.length), dropCpu = new Int32Array(task.t.length), dropQueue = new Int32Array(task.t.length);
  let nDrop = 0;
  const dropped = (tag: number, reason: number, t: number, cpu: number, queue: number): void => {
    dropTag[nDrop] = tag;
    dropT[nDrop] = t;
    dropReason[nDrop] = reason;
    dropCpu[nDrop] = cpu;
    dropQueue[nDrop++] = queue;
  };
  m.onDrop = (tag, reason, t, cpu) => dropped(tag, reason, t, cpu, -1);
  // One scratch array per stage count: the model reads the count from the length.
  const scratch = Array.from({ length: MAX_STAGES + 1 }, (_, k) => new Float64Array(k));
  const n = task.t.length;
  let off = 0;
  // Fault injection for the tests of worker failure (a crash mid-run must fail the whole run cleanly).
  const crashAt = process.env.PKTPATH_TEST_QUEUE_WORKER_CRASH_AT !== undefined ? Number(process.env.PKTPATH_TEST_QUEUE_WORKER_CRASH_AT) : -1;
  let i = 0;
  try {
    for (; i < n; i++) {
      if (task.tag[i] === crashAt) throw new Error('injected crash (PKTPATH_TEST_QUEUE_WORKER_CRASH_AT)');
      const ns = task.nst[i];
      const costs = scratch[ns];
      for (let k = 0; k < ns; k++) costs[k] = task.costs[off + k];
      off += ns;
      const q = task.q[i];
      if (m.rx(task.t[i], q, task.tag[i], costs, task.rps[i]) !== DR.NONE) dropped(task.tag[i], DR.FULL_RING, task.t[i], task.queues[q].cpu, q);
    }
    m.finish();
    return {
      report: m.report(), doneTag: doneTag.slice(0, nDone), doneT: doneT.slice(0, nDone),
      dropTag: dropTag.slice(0, nDrop), dropT: dropT.slice(0, nDrop), dropReason: dropReason.slice(0, nDrop), dropCpu: dropCpu.slice(0, nDrop), dropQueue: dropQueue.slice(0, nDrop),
    };
  } catch (e) {
    throw new Error(`queue model worker failed at packet index ${i < n ? task.tag[i] : 'end'}: ${(e as Error).message}`);
  }
}
