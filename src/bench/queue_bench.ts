/**
 * Queue-model throughput for 1..N piscina workers on the same arrivals (the replay's datapath phase is
 * sequential by design; the per-CPU softirq simulation is what the workers share out).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { ROUTER_WORKLOAD, writeWorkload, type Workload } from './workload.js';
import { loadWorld } from '../stack/world_load.js';
import { runReplay, parseInputArg } from '../workers/replay.js';
import { QueueModel } from '../workers/queue_model.js';
import { CostModel } from '../workers/cost.js';
import type { BenchResult } from './pcap_bench.js';

/** Run the queue-model benchmark with 1..cores workers (at least 2). */
export async function benchQueue(opts: { packets: number; workload?: Workload }): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'pktpath-bench-queue-'));
  const wl = opts.workload ?? ROUTER_WORKLOAD;
  try {
    const inputs = writeWorkload(dir, wl, opts.packets, 2_000_000, { tcp: 0, udp: 100, icmp: 0, arp: 0, frag: 0, synflood: 0 });
    const out: BenchResult[] = [];
    const maxW = Math.max(2, availableParallelism());
    let one = 0;
    for (let n = 1; n <= maxW; n++) {
      const world = loadWorld(wl.world, { allowUnsupported: false });
      const qm = new QueueModel(world, { cpus: 8, queues: 8, key: null, symmetric: false, cost: new CostModel(), speed: 1, rate: 0, windowMs: 10, ring: 1024, workers: n });
      runReplay(world, inputs.map(parseInputArg), { datapath: { verifyChecksums: false, trace: false, allowUnsupported: false, seed: 1 }, limit: 0, onRecord: () => {}, queueModel: qm });
      const t0 = process.hrtime.bigint();
      await qm.run();
      const secs = Number(process.hrtime.bigint() - t0) / 1e9;
      const pps = opts.packets / secs;
      if (n === 1) one = pps;
      out.push({ name: `queue model, ${n} worker${n > 1 ? 's' : ''} (8 CPUs)`, value: pps, unit: 'packets/s' });
      if (n > 1) out.push({ name: `queue model speedup, ${n} workers / 1`, value: pps / one, unit: 'ratio' });
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
