/**
 * The traffic a benchmark replays: synthetic conversations (pcap/synth.ts) between a client pool and
 * a server pool, injected into a world at its ingress devices. With two ingress devices, frames from
 * the client pool enter the first and the rest the second (a router between them); with one, all
 * enter there. Each frame is addressed to its ingress device's MAC. Default: the router lab.
 */
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PcapWriter } from '../pcap/writer.js';
import { synthesize, SYNTH_DEFAULTS, type SynthOptions } from '../pcap/synth.js';
import { loadWorld } from '../stack/world_load.js';
import { UsageError } from '../errors.js';
import type { NetDevice } from '../stack/netdev.js';

const here = dirname(fileURLToPath(import.meta.url));

/** What to replay a benchmark through. */
export interface Workload {
  /** Snapshot directory or lab file. */
  world: string;
  /** `NS:DEV`, one or two. */
  ingress: string[];
  /** Conversations open at once. */
  flows: number;
  clientNet: number;
  clientPrefix: number;
  serverNet: number;
  serverPrefix: number;
}

/** The router lab with 1,000 open conversations (what `npm run bench` uses). */
export const ROUTER_WORKLOAD: Workload = {
  world: resolve(here, '../../captures/labs/router.yaml'),
  ingress: ['router:eth0', 'router:eth1'],
  flows: 1000,
  clientNet: SYNTH_DEFAULTS.clientNet,
  clientPrefix: SYNTH_DEFAULTS.clientPrefix,
  serverNet: SYNTH_DEFAULTS.serverNet,
  serverPrefix: SYNTH_DEFAULTS.serverPrefix,
};

/** The ingress devices of a workload, checked against its world. */
export function ingressDevices(wl: Workload): NetDevice[] {
  if (wl.ingress.length < 1 || wl.ingress.length > 2) throw new UsageError(`--ingress: give one or two devices as NS:DEV[,NS:DEV] (got ${wl.ingress.length})`);
  const world = loadWorld(wl.world, { allowUnsupported: false });
  return wl.ingress.map((spec) => {
    const m = /^([^:]+):(.+)$/.exec(spec);
    const ns = m ? world.byName.get(m[1]) : undefined;
    const dev = m && ns ? ns.byName.get(m[2]) : undefined;
    if (!dev) throw new UsageError(`--ingress ${spec}: not a device of ${wl.world} (edges: ${world.edges().map((d) => `${d.ns.name}:${d.name}`).join(', ') || 'none'})`);
    return dev;
  });
}

/**
 * Write `packets` frames at `rate` pps into one capture per ingress device in `dir`; returns the
 * replay inputs (`FILE@NS:DEV`).
 */
export function writeWorkload(dir: string, wl: Workload, packets: number, rate: number, mix?: SynthOptions['mix']): string[] {
  const devs = ingressDevices(wl);
  const writers = devs.map((_, k) => new PcapWriter(join(dir, `in${k}.pcap`), { nanosecond: true, linktype: 1 }));
  const mask = wl.clientPrefix === 0 ? 0 : (0xffffffff << (32 - wl.clientPrefix)) >>> 0;
  synthesize({ ...SYNTH_DEFAULTS, packets, flows: wl.flows, rate, clientNet: wl.clientNet, clientPrefix: wl.clientPrefix, serverNet: wl.serverNet, serverPrefix: wl.serverPrefix, ...(mix ? { mix } : {}) }, {
    write(sec: number, nsec: number, data: Uint8Array) {
      const et = (data[12] << 8) | data[13];
      const at = et === 0x0800 ? 26 : et === 0x0806 ? 28 : -1;
      const src = at < 0 ? 0 : ((data[at] << 24) | (data[at + 1] << 16) | (data[at + 2] << 8) | data[at + 3]) >>> 0;
      const k = devs.length === 1 || at < 0 || ((src & mask) >>> 0) === wl.clientNet ? 0 : 1;
      const d = devs[k];
      const f = data.slice();
      f[0] = d.macHi >>> 8;
      f[1] = d.macHi & 255;
      f[2] = d.macLo >>> 24;
      f[3] = (d.macLo >>> 16) & 255;
      f[4] = (d.macLo >>> 8) & 255;
      f[5] = d.macLo & 255;
      writers[k].write(sec, nsec, f);
    },
  });
  for (const w of writers) w.close();
  return devs.map((_, k) => `${join(dir, `in${k}.pcap`)}@${wl.ingress[k]}`);
}

/** A short description for benchmark output. */
export function describeWorkload(wl: Workload): string {
  return wl.world === ROUTER_WORKLOAD.world ? 'router lab' : `${wl.world} via ${wl.ingress.join(', ')}`;
}
