/**
 * The queue-model options `replay` and `explain` share: their registration on a command and the
 * QueueModel they describe (null when none is given).
 */
import { statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { Command } from 'commander';
import { parsePositiveInt } from './run.js';
import { UsageError } from '../errors.js';
import type { World } from '../stack/netns.js';
import { parseRate } from '../stack/sched/tc_spec.js';
import { QueueModel, defaultWorkers } from '../workers/queue_model.js';
import { CostModel, loadCostFile } from '../workers/cost.js';
import { parseKeyHex, snapshotCpuCount } from '../workers/rss.js';

/** The options as commander gives them. */
export interface QueueOpts {
  queueModel?: boolean;
  cpus?: number;
  queues?: number;
  rssKey?: string;
  symmetric?: boolean;
  cost?: string;
  speed: number;
  rate: number;
  window: number;
  ring?: number;
  workers?: number;
  linkRate?: Map<string, number>;
  qdisc?: Map<string, string>;
}

/** commander parser for a positive number. */
export function parsePositiveNumber(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new UsageError(`${v}: expected a positive number`);
  return n;
}

/** `NS:DEV=VALUE`, repeatable, collected in a map. */
function devAssign<T>(flag: string, parse: (v: string) => T) {
  return (arg: string, prev: Map<string, T> | undefined): Map<string, T> => {
    const m = /^([^:=\s]+:[^=\s]+)=(.+)$/.exec(arg.trim());
    if (!m) throw new UsageError(`${flag} ${arg}: expected NS:DEV=VALUE (e.g. ${flag} host:eth0=${flag === '--qdisc' ? '"fq_codel"' : '1gbit'})`);
    let v: T;
    try {
      v = parse(m[2]);
    } catch (e) {
      throw new UsageError(`${flag} ${arg}: ${(e as Error).message}`);
    }
    return new Map(prev ?? []).set(m[1], v);
  };
}

/** Register the queue-model options on a command. */
export function addQueueOptions(cmd: Command): Command {
  return cmd
    .option('--queue-model', 'model RSS, rx rings and NET_RX softirq per CPU (implied by the options below)')
    .option('--cpus <n>', 'simulated CPUs (default: the snapshot\'s nproc, else the machine\'s)', parsePositiveInt)
    .option('--queues <n>', 'rx queues per device (default: the snapshot\'s ethtool -l or num_rx_queues)', parsePositiveInt)
    .option('--rss-key <hex>', 'Toeplitz key, e.g. 6d:5a:56:... (default: the snapshot\'s ethtool -x, else the Microsoft verification key)')
    .option('--symmetric', 'use the symmetric RSS key (6d5a repeated)')
    .option('--cost <file>', 'per-packet CPU cost parameters (JSON; see README: queue model)')
    .option('--speed <x>', 'replay as if the traffic came x times faster (queue model)', parsePositiveNumber, 1)
    .option('--rate <pps>', 'space packets evenly at this rate instead of the capture\'s times (queue model)', parsePositiveNumber, 0)
    .option('--window <ms>', 'statistics window of the queue model', parsePositiveNumber, 10)
    .option('--ring <n>', 'rx ring size per queue (default: the snapshot\'s ethtool -g, else 1024)', parsePositiveInt)
    .option('--workers <n>', 'piscina workers for the queue model (default: the machine\'s cores)', parsePositiveInt)
    .option('--link-rate <ns:dev=rate>', 'line rate of an edge device in tc units (1gbit, 100mbit; repeatable): its egress qdisc then queues and drops', devAssign('--link-rate', parseRate))
    .option('--qdisc <ns:dev=spec>', 'root qdisc of an edge device as tc takes it ("tbf rate 10mbit burst 32kb latency 50ms", "fq_codel target 5ms"; repeatable); default: the snapshot\'s', devAssign('--qdisc', (v) => v));
}

/** The queue model the options ask for, or null when none of them is given (and `force` is false). */
export function queueModelFrom(world: World, worldPath: string, o: QueueOpts, force = false): QueueModel | null {
  const on = force || Boolean(o.queueModel || o.cpus || o.queues || o.rssKey || o.symmetric || o.cost || o.speed !== 1 || o.rate || o.workers || o.ring || o.linkRate || o.qdisc);
  if (!on) return null;
  // A snapshot directory also says how its NICs spread packets (ethtool/, cpus.txt).
  const snapshotDir = statSync(worldPath).isDirectory() ? worldPath : undefined;
  const key = o.rssKey !== undefined ? parseKeyHex(o.rssKey) : null;
  if (o.rssKey !== undefined && !key) throw new UsageError(`--rss-key ${o.rssKey}: expected hex bytes like 6d:5a:56:da (40 or 52 bytes)`);
  return new QueueModel(world, {
    cpus: o.cpus ?? (snapshotDir ? snapshotCpuCount(snapshotDir) : null) ?? availableParallelism(), queues: o.queues ?? null, key, symmetric: Boolean(o.symmetric),
    cost: o.cost ? loadCostFile(o.cost) : new CostModel(), speed: o.speed, rate: o.rate, windowMs: o.window, ring: o.ring ?? null,
    ...(snapshotDir ? { snapshotDir } : {}),
    source: worldPath,
    cpusGiven: o.cpus !== undefined,
    workers: o.workers ?? defaultWorkers(),
    ...(o.linkRate ? { linkRates: o.linkRate } : {}),
    ...(o.qdisc ? { qdiscs: o.qdisc } : {}),
  });
}
