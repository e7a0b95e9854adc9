/**
 * The queue model in a replay: RSS puts each flow on one CPU; at 10x the speed a capture that fits at
 * 1x overflows the ring of the CPU the hottest flow hashes to and no other; and the merged report is
 * the same for 1, 2, 3 or 4 piscina workers (each simulates the CPUs it owns).
 */
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PcapWriter } from '../../src/pcap/writer.js';
import { lab, udp } from '../helpers/frames.js';
import { runReplay, parseInputArg } from '../../src/workers/replay.js';
import { QueueModel } from '../../src/workers/queue_model.js';
import { CostModel } from '../../src/workers/cost.js';
import { Rss, MS_RSS_KEY } from '../../src/workers/rss.js';
import { parseIpv4 } from '../../src/stack/inet.js';

const WORLD = `
namespaces:
  r:
    sysctl: { net.ipv4.ip_forward: 1 }
    links:
      - { name: eth0, kind: ether, mac: "02:00:00:00:01:01", queues: 4 }
      - { name: eth1, kind: ether, mac: "02:00:00:00:02:01" }
    addresses: [ "192.0.2.2/25 dev eth0", "192.0.2.130/25 dev eth1" ]
    routes: [ "203.0.113.0/24 via 192.0.2.129 dev eth1" ]
    neighbours: [ "192.0.2.129 dev eth1 lladdr 02:00:00:00:02:02 permanent" ]
`;

const rss = new Rss({ key: MS_RSS_KEY, queues: 4, cpus: 4 });
const queueOf = (k: number, sport: number) => rss.queueOf(rss.hash4(parseIpv4(`198.51.100.${10 + k}`), parseIpv4('203.0.113.10'), sport, 53, true));
/** Source ports: the hot flow's (k = 0) and, for each light flow, the first port whose queue differs. */
const SPORTS = [1000, ...[1, 2, 3].map((k) => {
  let p = 2000 + k * 100;
  while (queueOf(k, p) === queueOf(0, 1000)) p++;
  return p;
})];

/** One hot UDP flow at 200k pps and 3 light ones at 10k pps each, for 20 ms. */
function capture(dir: string): string {
  const f = join(dir, 'in.pcap');
  const w = new PcapWriter(f, { nanosecond: true, linktype: 1 });
  const flows = [{ sport: SPORTS[0], pps: 200_000 }, { sport: SPORTS[1], pps: 10_000 }, { sport: SPORTS[2], pps: 10_000 }, { sport: SPORTS[3], pps: 10_000 }];
  const ev: Array<[number, number]> = [];
  flows.forEach((fl, k) => {
    for (let t = 0; t < 0.02; t += 1 / fl.pps) ev.push([t, k]);
  });
  ev.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  for (const [t, k] of ev) {
    const frame = udp({ srcMac: '02:00:00:00:01:02', dstMac: '02:00:00:00:01:01', src: `198.51.100.${10 + k}`, dst: '203.0.113.10', sport: flows[k].sport, dport: 53 });
    const ns = Math.round(t * 1e9);
    w.write(1000 + Math.floor(ns / 1e9), ns % 1e9, frame);
  }
  w.close();
  return f;
}

async function model(f: string, speed: number, workers: number, onQm?: (qm: QueueModel) => void) {
  const world = lab(WORLD);
  const qm = new QueueModel(world, { cpus: 4, queues: 4, key: null, symmetric: false, cost: new CostModel(), speed, rate: 0, windowMs: 10, ring: 256, workers });
  runReplay(world, [parseInputArg(`${f}@r:eth0`)], { datapath: { verifyChecksums: true, trace: false, allowUnsupported: false, seed: 1 }, limit: 0, onRecord: () => {}, queueModel: qm });
  const r = await qm.run();
  onQm?.(qm);
  return r;
}

describe('queue model', () => {
  it('10x speed: ring drops only on the CPU the hot flow hashes to; none at 1x', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pktpath-qm-'));
    try {
      const f = capture(dir);
      const hotCpu = queueOf(0, SPORTS[0]); // queue q's IRQ is served by CPU q (4 queues, 4 CPUs)
      const slow = await model(f, 1, 2);
      expect(slow.cpus.reduce((n, c) => n + c.ringDrops + c.dropped, 0)).toBe(0);
      const fast = await model(f, 10, 2);
      for (const c of fast.cpus) {
        if (c.cpu === hotCpu) expect(c.ringDrops + c.dropped, `CPU ${c.cpu} (hot)`).toBeGreaterThan(0);
        else expect(c.ringDrops + c.dropped, `CPU ${c.cpu}`).toBe(0);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('names every packet it dropped: the hot flow\'s, on the hot CPU\'s ring, as many as the counters say', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pktpath-qm-'));
    try {
      const f = capture(dir);
      let qm: QueueModel | null = null;
      const fast = await model(f, 10, 2, (m) => (qm = m));
      const drops = qm!.drops;
      const counted = fast.cpus.reduce((n, c) => n + c.ringDrops + c.dropped, 0);
      expect(drops.length).toBe(counted);
      expect(drops.length).toBeGreaterThan(0);
      const hotCpu = queueOf(0, SPORTS[0]);
      // The hot flow is source 198.51.100.10 (k = 0): its packets are the ones the ring dropped.
      const hot = new Set<number>();
      runReplay(lab(WORLD), [parseInputArg(`${f}@r:eth0`)], {
        datapath: { verifyChecksums: true, trace: false, allowUnsupported: false, seed: 1 }, limit: 0,
        onRecord: (r) => { if (r.sport === SPORTS[0]) hot.add(r.index); },
      });
      for (const d of drops) {
        expect(d).toMatchObject({ reason: 'FULL_RING', generated: false, where: { cpu: hotCpu, queue: `r:eth0:rx-${hotCpu}` } });
        expect(hot.has(d.index), `packet ${d.index}`).toBe(true);
        expect(d.ts).toMatch(/^1000\.\d{9}$/);
      }
      expect(drops.map((d) => d.index)).toEqual([...drops.map((d) => d.index)].sort((a, b) => a - b));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the same report for 1, 2, 3 and 4 workers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pktpath-qm-'));
    try {
      const f = capture(dir);
      const reports = [];
      for (const n of [1, 2, 3, 4]) {
        let drops = '';
        const r = await model(f, 10, n, (qm) => (drops = JSON.stringify(qm.drops)));
        reports.push(JSON.stringify(r) + drops);
      }
      expect(new Set(reports).size).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('a queue-model worker that crashes', () => {
  const bin = join(__dirname, '../../dist/cli/main.js');
  it.skipIf(!existsSync(bin))('fails the run with the packet index, leaves only .partial output, and exits', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pktpath-qm-crash-'));
    try {
      const D = join(__dirname, '../../captures/docker-host');
      const trace = join(dir, 't.jsonl');
      const r = spawnSync(process.execPath, [bin, 'replay', '--world', D, `${D}/inputs/eth0.pcap@host:eth0`, `${D}/inputs/vethc1.pcap@host:vethc1`, '--cpus', '2', '--workers', '2', '--trace', trace, '--summary', join(dir, 's.json')], {
        encoding: 'utf8', timeout: 60_000, env: { ...process.env, PKTPATH_TEST_QUEUE_WORKER_CRASH_AT: '20' },
      });
      expect(r.status).toBe(1);
      expect(r.stderr).toContain('queue model worker failed at packet index 20');
      expect(readdirSync(dir).sort()).toEqual(['t.jsonl.partial']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
