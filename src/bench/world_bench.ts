/**
 * Loading a world: a snapshot whose iptables.txt is a kube-proxy nat table with 5,000 services
 * (~55k rules, 20k chains), parsed and compiled as a replay does (target: under 2 s).
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadWorld } from '../stack/world_load.js';
import { Datapath } from '../stack/datapath.js';
import { kubeProxyRuleset } from './kube_gen.js';
import type { BenchResult } from './pcap_bench.js';

/** Run the world-load benchmark (the packet count is not used). */
export async function benchWorld(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'pktpath-bench-world-'));
  try {
    const ns = join(dir, 'ns', 'host');
    mkdirSync(ns, { recursive: true });
    writeFileSync(join(dir, 'snapshot.json'), JSON.stringify({ format: 'pktpath-snapshot', version: 1, namespaces: ['host'], root: 'host' }));
    writeFileSync(join(ns, 'link.json'), JSON.stringify([
      { ifindex: 1, ifname: 'lo', flags: ['LOOPBACK', 'UP'], mtu: 65536, link_type: 'loopback', address: '00:00:00:00:00:00' },
      { ifindex: 2, ifname: 'eth0', flags: ['BROADCAST', 'UP'], mtu: 1500, link_type: 'ether', address: '02:00:00:00:00:01' },
    ]));
    writeFileSync(join(ns, 'addr.json'), JSON.stringify([{ ifname: 'eth0', addr_info: [{ family: 'inet', local: '192.0.2.2', prefixlen: 24 }] }]));
    writeFileSync(join(ns, 'iptables.txt'), kubeProxyRuleset(5000));
    const out: BenchResult[] = [];
    for (let run = 0; run < 2; run++) {
      const t0 = process.hrtime.bigint();
      const world = loadWorld(dir, { allowUnsupported: false });
      const t1 = process.hrtime.bigint();
      new Datapath(world, { verifyChecksums: true, trace: false, allowUnsupported: false, seed: 1 }, () => {});
      const t2 = process.hrtime.bigint();
      if (run === 1) {
        out.push({ name: 'kube-proxy 5000 services: load snapshot (parse)', value: Number(t1 - t0) / 1e9, unit: 's' });
        out.push({ name: 'kube-proxy 5000 services: compile rules', value: Number(t2 - t1) / 1e9, unit: 's' });
        out.push({ name: 'kube-proxy 5000 services: total (target < 2 s)', value: Number(t2 - t0) / 1e9, unit: 's' });
      }
    }
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
