/**
 * The queue model follows the datapath across backlog hops and reads the host's NIC setup:
 * - a packet that crosses a veth is processed twice on its CPU (NIC stage, then process_backlog after
 *   veth_xmit → __netif_rx), each stage charged the work done in it;
 * - a snapshot's ethtool -l/-x/-g and cpus.txt give the queues, RSS key and indirection, IRQ CPUs,
 *   rx rings and RPS; RPS couples the CPUs, so one worker simulates them all, and the result is the
 *   same for any --workers.
 */
import { describe, expect, it } from 'vitest';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PcapWriter } from '../../src/pcap/writer.js';
import { lab, udp } from '../helpers/frames.js';
import { runReplay, parseInputArg } from '../../src/workers/replay.js';
import { QueueModel, type QueueModelOptions } from '../../src/workers/queue_model.js';
import { CostModel } from '../../src/workers/cost.js';
import { loadWorld } from '../../src/stack/world_load.js';
import type { World } from '../../src/stack/netns.js';
import { ETHTOOL_ETH0, cpusTxt } from '../helpers/nic.js';

const root = resolve(__dirname, '../..');

const TWO_NS = `
namespaces:
  r:
    sysctl: { net.ipv4.ip_forward: 1 }
    links:
      - { name: eth0, kind: ether, mac: "02:00:00:00:01:01" }
      - { name: veth0, kind: veth, peer: s/eth0, mac: "02:00:00:00:03:01" }
    addresses: [ "192.0.2.2/24 dev eth0", "172.16.0.1/24 dev veth0" ]
    neighbours: [ "172.16.0.2 dev veth0 lladdr 02:00:00:00:03:02 permanent" ]
  s:
    links: [ { name: eth0, kind: veth, mac: "02:00:00:00:03:02" } ]
    addresses: [ "172.16.0.2/24 dev eth0" ]
    routes: [ "default via 172.16.0.1 dev eth0" ]
    neighbours: [ "172.16.0.1 dev eth0 lladdr 02:00:00:00:03:01 permanent" ]
    sockets: [ "udp 0.0.0.0:53 UNCONN dns" ]
`;

const ONE_NS = `
namespaces:
  r:
    links: [ { name: eth0, kind: ether, mac: "02:00:00:00:01:01" } ]
    addresses: [ "192.0.2.2/24 dev eth0" ]
    sockets: [ "udp 0.0.0.0:53 UNCONN dns" ]
`;

/** n UDP datagrams to `dst`:53 from 8 client ports, 10 µs apart, into r:eth0. */
function capture(dir: string, n: number, dst: string): string {
  const f = join(dir, 'in.pcap');
  const w = new PcapWriter(f, { nanosecond: true, linktype: 1 });
  for (let i = 0; i < n; i++) {
    w.write(1000, i * 10_000, udp({ srcMac: '02:00:00:00:01:02', dstMac: '02:00:00:00:01:01', src: '192.0.2.10', dst, sport: 5000 + (i % 8), dport: 53 }));
  }
  w.close();
  return `${f}@r:eth0`;
}

async function model(world: World, input: string, o: Partial<QueueModelOptions>) {
  const qm = new QueueModel(world, { cpus: 1, queues: null, key: null, symmetric: false, cost: new CostModel(), speed: 1, rate: 0, windowMs: 10, ring: null, workers: 1, ...o });
  runReplay(world, [parseInputArg(input)], { datapath: { verifyChecksums: true, trace: false, allowUnsupported: false, seed: 1 }, limit: 0, onRecord: () => {}, queueModel: qm });
  return { qm, report: await qm.run() };
}

describe('backlog stages', () => {
  // Checked on Linux 6.18: 5,000 (10,000) UDP datagrams from one namespace through a forwarding one
  // to a third, two veth hops each, raised the sum of /proc/net/softnet_stat's processed column by
  // 10,004 (20,008): every veth hop is one more __netif_receive_skb_core (process_backlog) pass.
  it('a packet delivered through a veth is processed twice, and costs each stage its own work', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pktpath-stages-'));
    try {
      const across = await model(lab(TWO_NS), capture(dir, 200, '172.16.0.2'), {});
      expect(across.report.cpus[0].processed).toBe(400); // __netif_receive_skb_core twice per packet
      const local = await model(lab(ONE_NS), capture(dir, 200, '192.0.2.2'), {});
      expect(local.report.cpus[0].processed).toBe(200);
      // The veth stage adds a base cost per packet (cost.ts) on top of the same hooks: more busy time.
      const base = new CostModel().cost(0, 0, 0, 0, 0);
      expect(across.report.cpus[0].busyNs - local.report.cpus[0].busyNs).toBeGreaterThanOrEqual(200 * base * 0.99);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** The bundled docker-host snapshot with a 2-queue NIC description added. */
function snapshot(dir: string, rps: string): string {
  const snap = join(dir, `snap-${rps}`);
  cpSync(join(root, 'captures/docker-host/ns'), join(snap, 'ns'), { recursive: true });
  cpSync(join(root, 'captures/docker-host/snapshot.json'), join(snap, 'snapshot.json'));
  mkdirSync(join(snap, 'ns/host/ethtool'), { recursive: true });
  writeFileSync(join(snap, 'ns/host/ethtool/eth0.txt'), ETHTOOL_ETH0);
  writeFileSync(join(snap, 'ns/host/cpus.txt'), cpusTxt(rps, rps));
  return snap;
}

describe('NIC setup from the snapshot', () => {
  it('queues, indirection, IRQ CPUs and rings come from ethtool and cpus.txt', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pktpath-nic-'));
    try {
      const snap = snapshot(dir, '0');
      const input = `${join(root, 'captures/docker-host/inputs/eth0.pcap')}@host:eth0`;
      const { qm, report } = await model(loadWorld(snap, { allowUnsupported: false }), input, { cpus: 4, snapshotDir: snap, workers: 2 });
      expect(report.queues.map((q) => [q.name, q.cpu, q.ring])).toEqual([['host:eth0:rx-0', 3, 512], ['host:eth0:rx-1', 2, 512]]);
      expect(qm.sources).toEqual([
        // The snapshot was taken in a namespace other than the initial one, where net.core.netdev_* do not show.
        'softnet: netdev_budget 300 (default), netdev_budget_usecs 8000 (default), netdev_max_backlog 1000 (default)',
        'host:eth0: queues 2 from ethtool -l, key from ethtool -x, indirection table from ethtool -x, IRQ affinity from cpus.txt, rx ring from ethtool -g',
      ]);
      expect(qm.rpsOn).toBe(false);
      expect(report.queues.reduce((n, q) => n + q.packets, 0)).toBe(15);
      // --ring and --queues win over the snapshot.
      const o = await model(loadWorld(snap, { allowUnsupported: false }), input, { cpus: 4, snapshotDir: snap, ring: 64, queues: 4, workers: 1 });
      expect(o.report.queues.map((q) => q.ring)).toEqual([64, 64, 64, 64]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('RPS steers every packet to the listed CPU, runs on one worker, and gives the same report for any --workers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pktpath-nic-'));
    try {
      const snap = snapshot(dir, '2'); // rps_cpus mask 0x2: CPU 1 for both queues
      const input = `${join(root, 'captures/docker-host/inputs/eth0.pcap')}@host:eth0`;
      const reports = [];
      for (const workers of [1, 2, 3]) {
        const { qm, report } = await model(loadWorld(snap, { allowUnsupported: false }), input, { cpus: 4, snapshotDir: snap, workers });
        expect(qm.rpsOn).toBe(true);
        expect(qm.activeWorkers).toBe(1);
        reports.push(report);
      }
      expect(reports[1]).toEqual(reports[0]);
      expect(reports[2]).toEqual(reports[0]);
      const byCpu = new Map(reports[0].cpus.map((c) => [c.cpu, c]));
      // The IRQ CPUs (3, 2) only steer; CPU 1 processes all 15 and receives them by IPI.
      expect(byCpu.get(1)!.processed).toBe(15);
      expect(byCpu.get(1)!.receivedRps).toBeGreaterThan(0);
      expect(byCpu.get(2)!.processed + byCpu.get(3)!.processed).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('net.core.netdev_max_backlog from the world: a veth burst overflows a 10-packet backlog, not the default 1000', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pktpath-backlog-'));
    try {
      const input = capture(dir, 400, '172.16.0.2');
      const small = await model(lab(TWO_NS.replace('sysctl: { net.ipv4.ip_forward: 1 }', 'sysctl: { net.ipv4.ip_forward: 1, net.core.netdev_max_backlog: 10 }')), input, { speed: 1000 });
      expect(small.qm.sources[0]).toBe('softnet: netdev_budget 300 (default), netdev_budget_usecs 8000 (default), netdev_max_backlog 10');
      expect(small.report.cpus[0].dropped).toBeGreaterThan(0);
      expect(small.qm.drops.every((d) => d.reason === 'CPU_BACKLOG' && 'backlog' in d.where)).toBe(true);
      const dflt = await model(lab(TWO_NS), input, { speed: 1000 });
      expect(dflt.report.cpus[0].dropped).toBe(0);
      expect(() => lab(TWO_NS.replace('sysctl: { net.ipv4.ip_forward: 1 }', 'sysctl: { net.ipv4.ip_forward: 1, net.core.netdev_budget: lots }'))).not.toThrow();
      await expect(model(lab(TWO_NS.replace('sysctl: { net.ipv4.ip_forward: 1 }', 'sysctl: { net.ipv4.ip_forward: 1, net.core.netdev_budget: lots }')), input, {})).rejects.toThrow(/the world sysctl: net\.core\.netdev_budget = lots: expected a positive integer; fix or remove it/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
