/**
 * piscina worker: simulates one group of CPUs (queue_model.ts) over its arrivals, which arrive as
 * transferred typed columns, and returns the model's report.
 */
import { MAX_STAGES, SoftirqModel, type RxQueueSpec, type SoftirqReport } from './softirq.js';

/** One group's work. */
export interface QueueTask {
  cpus: number;
  queues: RxQueueSpec[];
  windowNs: number;
  t: Float64Array;
  q: Int32Array;
  tag: Float64Array;
  /** RPS target CPU per arrival (-1: none). */
  rps: Int32Array;
  /** Stages per arrival (NIC, then backlog hops), and their costs one after another. */
  nst: Uint8Array;
  costs: Float64Array;
}

/** A group's report, and when each of its packets finished (packet index, ns) for the egress model. */
export interface QueueResult {
  report: SoftirqReport;
  doneTag: Float64Array;
  doneT: Float64Array;
}

/** Run the softirq model over the arrivals. */
export default function run(task: QueueTask): QueueResult {
  const m = new SoftirqModel({ cpus: task.cpus, queues: task.queues, windowNs: task.windowNs });
  const doneTag = new Float64Array(task.t.length);
  const doneT = new Float64Array(task.t.length);
  let nDone = 0;
  m.onDone = (tag, t) => {
    doneTag[nDone] = tag;
    doneT[nDone++] = t;
  };
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
      m.rx(task.t[i], task.q[i], task.tag[i], costs, task.rps[i]);
    }
    m.finish();
    return { report: m.report(), doneTag: doneTag.slice(0, nDone), doneT: doneT.slice(0, nDone) };
  } catch (e) {
    throw new Error(`queue model worker failed at packet index ${i < n ? task.tag[i] : 'end'}: ${(e as Error).message}`);
  }
}
