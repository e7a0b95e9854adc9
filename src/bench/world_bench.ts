/**
 * Loading a world: a snapshot whose iptables.txt is a kube-proxy nat table with 5,000 services
 * (~55k rules, 20k chains), parsed and compiled as a replay does (target: under 2 s). And a router
 * holding a BGP-sized table (route4.json with 200,000 prefixes, /8 to /32): its load time, and its
 * route lookups against those of a 20-route table in the same run.
 */
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadWorld } from '../stack/world_load.js';
import { Datapath } from '../stack/datapath.js';
import { kubeProxyRuleset } from './kube_gen.js';
import type { BenchResult } from './pcap_bench.js';
import { RT_TABLE_MAIN } from '../stack/route.js';

/** Run the world-load benchmark (the packet count is not used). */
export async function benchWorld(): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'pktpath-bench-world-'));
  try {
    const ns = oneNsSnapshot(dir, 'host', ['192.0.2.2/24']);
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
    out.push(...benchFib(dir));
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * A snapshot at `root` of one namespace with loopback and eth0, eth1... holding `addrs` (one each);
 * returns the namespace's folder.
 */
function oneNsSnapshot(root: string, name: string, addrs: string[]): string {
  const ns = join(root, 'ns', name);
  mkdirSync(ns, { recursive: true });
  writeFileSync(join(root, 'snapshot.json'), JSON.stringify({ format: 'pktpath-snapshot', version: 1, namespaces: [name], root: name }));
  writeFileSync(join(ns, 'link.json'), JSON.stringify([
    { ifindex: 1, ifname: 'lo', flags: ['LOOPBACK', 'UP'], mtu: 65536, link_type: 'loopback', address: '00:00:00:00:00:00' },
    ...addrs.map((_, i) => ({ ifindex: 2 + i, ifname: `eth${i}`, flags: ['BROADCAST', 'UP'], mtu: 1500, link_type: 'ether', address: `02:00:00:00:00:${(i + 1).toString(16).padStart(2, '0')}` })),
  ]));
  writeFileSync(join(ns, 'addr.json'), JSON.stringify(addrs.map((a, i) => {
    const [local, len] = a.split('/');
    return { ifname: `eth${i}`, addr_info: [{ family: 'inet', local, prefixlen: Number(len) }] };
  })));
  return ns;
}

/** A snapshot of one router namespace with `n` extra routes; returns its directory. */
function fibSnapshot(dir: string, name: string, n: number): string {
  const root = join(dir, name);
  const ns = oneNsSnapshot(root, 'r', ['192.0.2.2/25', '192.0.2.130/25']);
  // Prefixes spread over the whole space with lengths like a BGP table's (mostly /24, some /8../23),
  // from a fixed xorshift so every run loads the same table.
  const routes: object[] = [{ dst: 'default', gateway: '192.0.2.1', dev: 'eth0', flags: [] }];
  let x = 0x2545f491;
  for (let i = 0; i < n; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    const len = i % 10 < 7 ? 24 : 8 + ((x >>> 3) % 25);
    const a = ((x >>> 0) & (len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0)) >>> 0;
    routes.push({ dst: `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}/${len}`, gateway: i % 2 ? '192.0.2.1' : '192.0.2.129', dev: i % 2 ? 'eth0' : 'eth1', flags: [] });
  }
  writeFileSync(join(ns, 'route4.json'), JSON.stringify(routes));
  return root;
}

/** Route lookups per second in table main of a world, over a fixed pseudo-random address sequence. */
function lookupsPerSec(world: ReturnType<typeof loadWorld>, count: number): number {
  const table = world.namespaces[0].fib4.tables.get(RT_TABLE_MAIN)!;
  let x = 0x9e3779b9, hits = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    if (table.lookup(x >>> 0, 0, null) !== null) hits++;
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  if (hits !== count) throw new Error('bench: a lookup missed the default route');
  return count / secs;
}

function benchFib(dir: string): BenchResult[] {
  const n = 200_000;
  const small = loadWorld(fibSnapshot(dir, 'fib-small', 20), { allowUnsupported: false });
  const t0 = process.hrtime.bigint();
  const big = loadWorld(fibSnapshot(dir, 'fib-big', n), { allowUnsupported: false });
  const load = Number(process.hrtime.bigint() - t0) / 1e9;
  lookupsPerSec(small, 200_000); // warm up both paths
  lookupsPerSec(big, 200_000);
  const base = lookupsPerSec(small, 2_000_000);
  const large = lookupsPerSec(big, 2_000_000);
  return [
    { name: `FIB ${n.toLocaleString('en-US')} routes: load snapshot`, value: load, unit: 's' },
    { name: 'FIB 20 routes: lookups (baseline)', value: base, unit: 'lookups/s' },
    { name: `FIB ${n.toLocaleString('en-US')} routes: lookups`, value: large, unit: 'lookups/s' },
    { name: `FIB ${n.toLocaleString('en-US')} routes / 20 routes`, value: large / base, unit: 'ratio' },
  ];
}
