/**
 * Replay driver: merge the input captures by timestamp (ties: command-line order, then file order),
 * turn each frame into an Ethernet frame on its device, and feed the datapath. Records come out in
 * input order through `onRecord`.
 */
import { CaptureReader, earliestHead, formatTs, type CapturedPacket } from '../pcap/reader.js';
import { UsageError } from '../errors.js';
import type { World, Netns } from '../stack/netns.js';
import { NatHints, type Consistency } from '../trace/consistency.js';
import type { NetDevice } from '../stack/netdev.js';
import { Datapath, type DatapathOptions } from '../stack/datapath.js';
import type { PacketInfo } from '../stack/wire/decode.js';
import type { QueueModel } from './queue_model.js';
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
    if (/^[A-Za-z0-9_.-]+$/.test(spec)) return { path: arg.slice(0, at), ns: spec, dev: null };
  }
  return { path: arg, ns: null, dev: null };
}

/** Resolve where each input's packets enter the world; a clear usage error otherwise. */
export function resolveDevice(world: World, inp: ReplayInput): NetDevice {
  const edges = world.edges().map((d) => `${d.ns.name}:${d.name}`);
  if (inp.ns === null || inp.dev === null) {
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
  /** Frames of direction-aware captures that were observations, not injected. */
  observed: number;
  firstTs: string;
  lastTs: string;
}

/** Replay options. */
export interface ReplayOptions {
  datapath: DatapathOptions;
  /** Stop after this many packets (0 = all). */
  limit: number;
  onRecord: (r: PacketRecord) => void;
  /** Called every ~16k packets with the count and the bytes of input read so far, for progress bars. */
  onProgress?: (n: number, bytes: number) => void;
  /** Capture time (seconds) at which `onAtTime` sees the datapath (`--at-time`); default: the end. */
  atTime?: number;
  /** Direction-aware captures: compare the model's predictions with what the capture shows. */
  consistency?: Consistency;
  /** The queue model: fed one arrival per injected packet with the work the datapath did. */
  queueModel?: QueueModel;
  /** --filter: which input packets are reported (judged as they entered). */
  filter?: (info: PacketInfo) => boolean;
  /** Device tap for --pcap-out. */
  tap?: Datapath['tap'];
  /** Called once with the datapath at `atTime` (or at the end). */
  onAtTime?: (dp: Datapath) => void;
  /** Called once at the end with the datapath (rule counters, device counters, conntrack). */
  onDone?: (dp: Datapath) => void;
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
  // Destination MAC: cooked captures keep only the packet type (if_packet.h PACKET_*).
  const pkttype = p.linktype === 113 ? (b[0] << 8) | b[1] : p.linktype === 276 ? b[10] : 0;
  let dHi = dev.macHi, dLo = dev.macLo;
  if (pkttype === 1) (dHi = 0xffff), (dLo = 0xffffffff);
  else if (pkttype === 2) (dHi = 0x0100), (dLo = 0x5e000001);
  else if (pkttype === 3) {
    // OTHERHOST on a bridge port is (almost always) a frame for the bridge's own MAC, which the port
    // does not own; elsewhere it is for another host: any MAC that is not ours.
    if (dev.master) (dHi = dev.master.macHi), (dLo = dev.master.macLo);
    else (dHi = 0x0200), (dLo = 0);
  }
  out[0] = dHi >>> 8;
  out[1] = dHi & 255;
  out[2] = dLo >>> 24;
  out[3] = (dLo >>> 16) & 255;
  out[4] = (dLo >>> 8) & 255;
  out[5] = dLo & 255;
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

/** A direction-aware input: each packet names its device (pcapng IDB name, SLL2 ifindex) and direction. */
interface Placement {
  dev: NetDevice | null;
  dir: 1 | 2;
}

/**
 * Where a packet of a direction-aware capture was seen: SLL2 (tcpdump -i any) carries the ifindex and
 * the packet type (OUTGOING = out); pcapng carries the interface name and epb_flags direction.
 */
function place(world: World, ns: Netns | null, r: CaptureReader, p: CapturedPacket, inp: ReplayInput, out: Placement): void {
  const b = p.data;
  if (p.linktype === 276 && p.caplen >= 20) {
    const ifindex = ((b[4] << 24) | (b[5] << 16) | (b[6] << 8) | b[7]) >>> 0;
    const home = ns ?? world.namespaces[0];
    out.dev = home.byIndex.get(ifindex) ?? null;
    out.dir = b[10] === 4 ? 2 : 1;
    if (!out.dev) throw new UsageError(`${inp.path}: packet ${p.index} (offset ${p.fileOffset}) names ifindex ${ifindex}, which namespace ${home.name} does not have; say which namespace the capture was taken in with FILE@NS`);
    return;
  }
  const iface = p.ifaceId >= 0 ? r.interfaces[p.ifaceId] : undefined;
  const name = iface?.name ?? null;
  if (name === null) {
    throw new UsageError(
      `${inp.path}: packet ${p.index} does not name its interface; append @NS:DEV to inject the whole file on one device ` +
        `(edges: ${world.edges().map((d) => `${d.ns.name}:${d.name}`).join(', ')}), or capture with \`tcpdump -i any\` (SLL2) or dumpcap (pcapng with interface names)`,
    );
  }
  let dev: NetDevice | null = null;
  for (const n of ns ? [ns] : world.namespaces) {
    const d = n.byName.get(name);
    if (d) {
      if (dev) throw new UsageError(`${inp.path}: interface "${name}" exists in several namespaces; say which one with FILE@NS`);
      dev = d;
    }
  }
  if (!dev) throw new UsageError(`${inp.path}: interface "${name}" is not a device of the world${ns ? ` (namespace ${ns.name})` : ''}`);
  out.dev = dev;
  if (p.direction === 0 && p.linktype === 113 && p.caplen >= 2) out.dir = ((b[0] << 8) | b[1]) === 4 ? 2 : 1;
  else if (p.direction === 0) throw new UsageError(`${inp.path}: packet ${p.index} on ${name} has no direction (epb_flags); append @NS:DEV to inject the file as received on one device`);
  else out.dir = p.direction === 2 ? 2 : 1;
}

/** Run a replay over a world. Returns counts; records go to opts.onRecord in input order. */
export function runReplay(world: World, inputs: ReplayInput[], opts: ReplayOptions): ReplayStats {
  let atDone = opts.onAtTime === undefined;
  const at = opts.atTime ?? Infinity;
  // Fixed device per input, or direction-aware (null): resolved per packet.
  const devs = inputs.map((inp) => (inp.dev !== null ? resolveDevice(world, inp) : null));
  const homes = inputs.map((inp) => {
    if (inp.ns === null) return null;
    const n = world.byName.get(inp.ns);
    if (!n) throw new UsageError(`${inp.path}@${inp.ns}: the world has no namespace "${inp.ns}" (namespaces: ${world.namespaces.map((x) => x.name).join(', ')})`);
    return n;
  });
  const readers = inputs.map((inp) => CaptureReader.open(inp.path));
  const dp = new Datapath(world, opts.datapath, opts.onRecord);
  if (opts.filter) dp.filter = opts.filter;
  const qm = opts.queueModel;
  if (qm) {
    dp.onXmit = (dev, skb) => qm.xmit(dev, skb, dp.rec ? dp.rec.index : -1);
    dp.onBacklogHop = () => qm.cut(dp.rec ? dp.rec.index : -1, dp.work, dp.st.rulesVisited);
  }
  const cons = opts.consistency ?? null;
  if (cons) {
    // Compare only the devices the direction-aware captures cover.
    inputs.forEach((inp, k) => {
      if (devs[k]) return;
      for (const d of (homes[k] ?? world.namespaces[0]).devs) cons.cover(d);
    });
  }
  if (opts.tap || cons) {
    const tap = opts.tap ?? null;
    dp.tap = (dev, dir, t, frame, len) => {
      if (tap) tap(dev, dir, t, frame, len);
      if (cons) cons.predict(dev, dir, t, frame, len, dp.rec ? dp.rec.index : -1);
    };
  }
  // Direction-aware captures show NAT results on outbound devices: read them first so that new
  // bindings adopt the kernel's actual choice.
  if (devs.some((d) => d === null)) {
    const hints = new NatHints();
    const pl0: Placement = { dev: null, dir: 1 };
    inputs.forEach((inp, k) => {
      if (devs[k] !== null || inp.path === '-') return;
      const r = CaptureReader.open(inp.path);
      try {
        for (let p = r.next(); p; p = r.next()) {
          place(world, homes[k], r, p, inp, pl0);
          if (pl0.dir !== 2) continue;
          const n = p.linktype === 1 ? p.caplen : toEthernet(p, pl0.dev!, scratch);
          if (n > 0) hints.add(p.linktype === 1 ? p.data : scratch, n);
        }
      } finally {
        r.close();
      }
    });
    if (hints.size) dp.natHint = (skb) => hints.lookup(skb.info);
  }
  const heads: Array<CapturedPacket | null> = readers.map((r) => r.next());
  const stats: ReplayStats = { packets: 0, firstTs: '', lastTs: '', observed: 0 };
  const pl: Placement = { dev: null, dir: 1 };
  let lastSec = 0, lastNsec = 0;
  try {
    for (;;) {
      const best = earliestHead(heads);
      if (best < 0) break;
      if (opts.limit && stats.packets >= opts.limit) break;
      const p = heads[best]!;
      if (!atDone && p.tsSec + p.tsNsec / 1e9 > at) {
        dp.advance(at);
        opts.onAtTime!(dp);
        atDone = true;
      }
      let dev = devs[best];
      if (!dev) {
        place(world, homes[best], readers[best], p, inputs[best], pl);
        dev = pl.dev!;
        if (pl.dir === 2 || !dev.edge) {
          // Not an arrival from outside the world: an observation the model's prediction is compared with.
          if (cons) {
            const n = p.linktype === 1 ? p.caplen : toEthernet(p, dev, scratch);
            if (n > 0) cons.observe(dev, pl.dir, p.tsSec + p.tsNsec / 1e9, p.linktype === 1 ? p.data : scratch, n, stats.observed + stats.packets);
          }
          stats.observed++;
          heads[best] = readers[best].next();
          continue;
        }
      }
      if (cons && devs[best] === null) {
        // The capture shows the arrival too: it is what the model's rx on this edge must match.
        const n = p.linktype === 1 ? p.caplen : toEthernet(p, dev, scratch);
        if (n > 0) cons.observe(dev, 1, p.tsSec + p.tsNsec / 1e9, p.linktype === 1 ? p.data : scratch, n, stats.observed + stats.packets);
      }
      if (stats.packets === 0) stats.firstTs = formatTs(p.tsSec, p.tsNsec);
      lastSec = p.tsSec;
      lastNsec = p.tsNsec;
      let frame = p.data;
      let flen = p.caplen;
      if (p.linktype === 1) dp.inject(frame, flen, p.origLen, p.tsSec, p.tsNsec, dev, stats.packets);
      else {
        const n = toEthernet(p, dev, scratch);
        if (n < 0)
          throw new UsageError(`${inputs[best].path}: packet ${p.index} (offset ${p.fileOffset}): link type ${p.linktype} cannot be injected on ${dev.ns.name}:${dev.name}; capture with Ethernet headers (tcpdump -i DEV) or as Linux cooked (-i any)`);
        frame = scratch;
        flen = n;
        dp.inject(scratch, n, n + (p.origLen - p.caplen), p.tsSec, p.tsNsec, dev, stats.packets);
      }
      if (opts.queueModel) opts.queueModel.arrive(dev, frame, flen, p.tsSec, p.tsNsec, stats.packets, dp.work, dp.rec!);
      stats.packets++;
      if (opts.onProgress && (stats.packets & 0x3fff) === 0) {
        let bytes = 0;
        for (const h of heads) if (h) bytes += h.fileOffset;
        opts.onProgress(stats.packets, bytes);
      }
      heads[best] = readers[best].next();
    }
    if (stats.packets > 0) stats.lastTs = formatTs(lastSec, lastNsec);
    dp.finish();
    if (!atDone) opts.onAtTime!(dp);
    opts.onDone?.(dp);
  } finally {
    for (const r of readers) r.close();
  }
  return stats;
}
