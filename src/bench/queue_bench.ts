/**
 * Queue-model throughput for 1..N piscina workers on the same arrivals (the replay's datapath phase is
 * sequential by design; the per-CPU softirq simulation is what the workers share out).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { availableParallelism } from 'node:os';
import { PcapWriter } from '../pcap/writer.js';
import { synthesize, SYNTH_DEFAULTS } from '../pcap/synth.js';
import { loadWorld } from '../stack/world_load.js';
import { runReplay, parseInputArg } from '../workers/replay.js';
import { QueueModel } from '../workers/queue_model.js';
import { CostModel } from '../workers/cost.js';
import type { BenchResult } from './pcap_bench.js';

const here = dirname(fileURLToPath(import.meta.url));
const LAB = resolve(here, '../../captures/labs/router.yaml');

/** Run the queue-model benchmark with 1..cores workers (at least 2). */
export async function benchQueue(opts: { packets: number }): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'pktpath-bench-queue-'));
  try {
    const f = join(dir, 'in.pcap');
    const w = new PcapWriter(f, { nanosecond: true, linktype: 1 });
    synthesize({ ...SYNTH_DEFAULTS, packets: opts.packets, flows: 1000, rate: 2_000_000, mix: { tcp: 0, udp: 100, icmp: 0, arp: 0, frag: 0, synflood: 0 } }, {
      write(sec: number, nsec: number, data: Uint8Array) {
        const c = data.slice();
        c.set([2, 0, 0, 0, 1, 1], 0); // to router:eth0
        w.write(sec, nsec, c);
      },
    });
    w.close();
    const out: BenchResult[] = [];
    const maxW = Math.max(2, availableParallelism());
    let one = 0;
    for (let n = 1; n <= maxW; n++) {
      const world = loadWorld(LAB, { allowUnsupported: false });
      const qm = new QueueModel(world, { cpus: 8, queues: 8, key: null, symmetric: false, cost: new CostModel(), speed: 1, rate: 0, windowMs: 10, ring: 1024, workers: n });
      runReplay(world, [parseInputArg(`${f}@router:eth0`)], { datapath: { verifyChecksums: false, trace: false, allowUnsupported: false, seed: 1 }, limit: 0, onRecord: () => {}, queueModel: qm });
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
