/**
 * Replay driver: merge the input captures by timestamp (ties: command-line order, then file order),
 * turn each frame into an Ethernet frame on its device, and feed the datapath. Records come out in
 * input order through `onRecord`.
 */
import { CaptureReader, formatTs, type CapturedPacket } from '../pcap/reader.js';
import { UsageError } from '../errors.js';
import type { World } from '../stack/netns.js';
import type { NetDevice } from '../stack/netdev.js';
import { Datapath, type DatapathOptions } from '../stack/datapath.js';
import type { PacketRecord } from '../stack/record.js';

/** One capture argument: FILE[@NS:DEV]. */
export interface ReplayInput {
  path: string;
  ns: string | null;
  dev: string | null;
}

/** Parse `FILE[@NS:DEV]`. */
export function parseInputArg(arg: string): ReplayInput {
  const at = arg.lastIndexOf('@');
  if (at > 0) {
    const spec = arg.slice(at + 1);
    const m = /^([^:]+):(.+)$/.exec(spec);
    if (m) return { path: arg.slice(0, at), ns: m[1], dev: m[2] };
  }
  return { path: arg, ns: null, dev: null };
}

/** Resolve where each input's packets enter the world; a clear usage error otherwise. */
export function resolveDevice(world: World, inp: ReplayInput): NetDevice {
  const edges = world.edges().map((d) => `${d.ns.name}:${d.name}`);
  if (inp.ns === null) {
    throw new UsageError(
      `${inp.path}: say where its packets enter the world by appending @NS:DEV to the file name ` +
        `(edge devices of this world: ${edges.join(', ') || 'none'}; e.g. ${inp.path}@${edges[0] ?? 'host:eth0'})`,
    );
  }
  const ns = world.byName.get(inp.ns);
  if (!ns) throw new UsageError(`${inp.path}@${inp.ns}:${inp.dev}: the world has no namespace "${inp.ns}" (namespaces: ${world.namespaces.map((n) => n.name).join(', ')})`);
  const dev = ns.byName.get(inp.dev!);
  if (!dev) throw new UsageError(`${inp.path}@${inp.ns}:${inp.dev}: namespace ${inp.ns} has no device "${inp.dev}" (devices: ${ns.devs.map((d) => d.name).join(', ')})`);
  return dev;
}

/** Counters of a replay. */
export interface ReplayStats {
  packets: number;
  firstTs: string;
  lastTs: string;
}

/** Replay options. */
export interface ReplayOptions {
  datapath: DatapathOptions;
  /** Stop after this many packets (0 = all). */
  limit: number;
  onRecord: (r: PacketRecord) => void;
  /** Called every ~64k packets with the count, for progress bars. */
  onProgress?: (n: number) => void;
  /** Capture time (seconds) at which `onAtTime` sees the datapath (`--at-time`); default: the end. */
  atTime?: number;
  /** Device tap for --pcap-out. */
  tap?: Datapath['tap'];
  /** Called once with the datapath at `atTime` (or at the end). */
  onAtTime?: (dp: Datapath) => void;
}

const scratch = new Uint8Array(65536 + 64);

/**
 * Make an Ethernet frame of a captured packet whose link type is not Ethernet: as if addressed to the
 * device (destination = its MAC), source from the cooked header when it has one.
 * Returns the frame length, or -1 when the link type cannot be turned into a frame for this device.
 */
export function toEthernet(p: CapturedPacket, dev: NetDevice, out: Uint8Array): number {
  const b = p.data;
  let payloadOff = 0;
  let ethertype = -1;
  let srcHi = 0, srcLo = 0;
  switch (p.linktype) {
    case 113: // LINUX_SLL: pkttype(2) hatype(2) halen(2) addr(8) protocol(2)
      if (p.caplen < 16) return -1;
      ethertype = (b[14] << 8) | b[15];
      if (b[5] === 6) {
        srcHi = (b[6] << 8) | b[7];
        srcLo = ((b[8] << 24) | (b[9] << 16) | (b[10] << 8) | b[11]) >>> 0;
      }
      payloadOff = 16;
      break;
    case 276: // LINUX_SLL2: protocol(2) reserved(2) ifindex(4) hatype(2) pkttype(1) halen(1) addr(8)
      if (p.caplen < 20) return -1;
      ethertype = (b[0] << 8) | b[1];
      if (b[11] === 6) {
        srcHi = (b[12] << 8) | b[13];
        srcLo = ((b[14] << 24) | (b[15] << 16) | (b[16] << 8) | b[17]) >>> 0;
      }
      payloadOff = 20;
      break;
    case 101:
    case 12:
    case 14:
    case 228:
    case 229:
      if (p.caplen < 1) return -1;
      ethertype = b[0] >> 4 === 6 ? 0x86dd : 0x0800;
      break;
    case 0:
    case 108: {
      if (p.caplen < 4) return -1;
      const fam = p.linktype === 0 ? (b[0] | (b[1] << 8) | (b[2] << 16) | (b[3] << 24)) >>> 0 : ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
      const famBe = ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
      ethertype = fam === 2 || famBe === 2 ? 0x0800 : 0x86dd;
      payloadOff = 4;
      break;
    }
    default:
      return -1;
  }
  const n = p.caplen - payloadOff;
  if (n + 14 > out.length) return -1;
  out[0] = dev.macHi >>> 8;
  out[1] = dev.macHi & 255;
  out[2] = dev.macLo >>> 24;
  out[3] = (dev.macLo >>> 16) & 255;
  out[4] = (dev.macLo >>> 8) & 255;
  out[5] = dev.macLo & 255;
  out[6] = srcHi >>> 8;
  out[7] = srcHi & 255;
  out[8] = srcLo >>> 24;
  out[9] = (srcLo >>> 16) & 255;
  out[10] = (srcLo >>> 8) & 255;
  out[11] = srcLo & 255;
  out[12] = ethertype >>> 8;
  out[13] = ethertype & 255;
  out.set(b.subarray(payloadOff, p.caplen), 14);
  return n + 14;
}

/** Run a replay over a world. Returns counts; records go to opts.onRecord in input order. */
export function runReplay(world: World, inputs: ReplayInput[], opts: ReplayOptions): ReplayStats {
  let atDone = opts.onAtTime === undefined;
  const at = opts.atTime ?? Infinity;
  const devs = inputs.map((inp) => resolveDevice(world, inp));
  const readers = inputs.map((inp) => CaptureReader.open(inp.path));
  const dp = new Datapath(world, opts.datapath, opts.onRecord);
  if (opts.tap) dp.tap = opts.tap;
  const heads: Array<CapturedPacket | null> = readers.map((r) => r.next());
  const stats: ReplayStats = { packets: 0, firstTs: '', lastTs: '' };
  let lastSec = 0, lastNsec = 0;
  try {
    for (;;) {
      let best = -1;
      for (let k = 0; k < heads.length; k++) {
        const h = heads[k];
        if (!h) continue;
        if (best < 0) best = k;
        else {
          const b = heads[best]!;
          if (h.tsSec < b.tsSec || (h.tsSec === b.tsSec && h.tsNsec < b.tsNsec)) best = k;
        }
      }
      if (best < 0) break;
      if (opts.limit && stats.packets >= opts.limit) break;
      const p = heads[best]!;
      if (!atDone && p.tsSec + p.tsNsec / 1e9 > at) {
        dp.advance(at);
        opts.onAtTime!(dp);
        atDone = true;
      }
      const dev = devs[best];
      if (stats.packets === 0) stats.firstTs = formatTs(p.tsSec, p.tsNsec);
      lastSec = p.tsSec;
      lastNsec = p.tsNsec;
      if (p.linktype === 1) dp.inject(p.data, p.caplen, p.origLen, p.tsSec, p.tsNsec, dev, stats.packets);
      else {
        const n = toEthernet(p, dev, scratch);
        if (n < 0)
          throw new UsageError(`${inputs[best].path}: packet ${p.index} (offset ${p.fileOffset}): link type ${p.linktype} cannot be injected on ${dev.ns.name}:${dev.name}; capture with Ethernet headers (tcpdump -i DEV) or as Linux cooked (-i any)`);
        dp.inject(scratch, n, n + (p.origLen - p.caplen), p.tsSec, p.tsNsec, dev, stats.packets);
      }
      stats.packets++;
      if (opts.onProgress && (stats.packets & 0xffff) === 0) opts.onProgress(stats.packets);
      heads[best] = readers[best].next();
    }
    if (stats.packets > 0) stats.lastTs = formatTs(lastSec, lastNsec);
    dp.finish();
    if (!atDone) opts.onAtTime!(dp);
  } finally {
    for (const r of readers) r.close();
  }
  return stats;
}
