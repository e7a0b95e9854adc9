/**
 * The injection schedule: every input capture merged into one order exactly as `replay` merges them
 * (timestamp; ties by command-line order, then file order), turned into Ethernet frames for their
 * device, and written as the sender's frame file (py.ts SENDER_PY).
 *
 * A frame for an edge device is sent from the edge's peer in the injector namespace; a frame for a
 * veth whose peer is inside the world is sent from that peer (the sender opens that socket inside the
 * peer's namespace), which is what "received on DEV" means for such a device.
 */
import { writeFileSync } from 'node:fs';
import { CaptureReader, earliestHead, type CapturedPacket } from '../pcap/reader.js';
import { UsageError } from '../errors.js';
import type { World } from '../stack/netns.js';
import type { NetDevice } from '../stack/netdev.js';
import { resolveDevice, toEthernet, type ReplayInput } from '../workers/replay.js';
import type { Plan } from './plan.js';

/** Refuse more packets than this: verify is a check, not a load generator. */
export const kMaxPackets = 100_000;

/** One frame to send. */
export interface ScheduledFrame {
  index: number;
  /** Which input (position in the inputs list) and its world device. */
  input: number;
  dev: NetDevice;
  /** Sender socket index. */
  sock: number;
  tsSec: number;
  tsNsec: number;
  /** ns after the first frame. */
  offsetNs: number;
  frame: Uint8Array;
}

/** A sender socket: a device in a namespace (null = the injector namespace itself). */
export interface SenderSock {
  netns: string | null;
  dev: string;
  /** The world device the frames arrive on. */
  target: NetDevice;
}

/** The merged schedule. */
export interface Schedule {
  frames: ScheduledFrame[];
  socks: SenderSock[];
  durationNs: number;
}

/** Read and merge the inputs. Throws UsageError for too many packets or an impossible injection point. */
export function buildSchedule(world: World, inputs: ReplayInput[], plan: Plan, limit: number): Schedule {
  const devs = inputs.map((inp) => resolveDevice(world, inp));
  const socks: SenderSock[] = [];
  const sockOf = new Map<NetDevice, number>();
  for (const d of devs) {
    if (sockOf.has(d)) continue;
    const edge = plan.edges.find((e) => e.ns === d.ns.name && e.dev === d.name);
    let s: SenderSock;
    if (edge) s = { netns: null, dev: edge.injDev, target: d };
    else if (d.kind === 'veth' && d.peer) s = { netns: plan.netns.get(d.peer.ns.name)!, dev: plan.devNames.get(d.peer.ns.name)!.get(d.peer.name)!, target: d };
    else {
      throw new UsageError(
        `${d.ns.name}:${d.name}: the real kernel cannot receive frames "on" a ${d.kind} device from outside; inject at an edge ` +
          `(${world.edges().map((e) => `${e.ns.name}:${e.name}`).join(', ') || 'none'}) or at a veth whose peer is in the world`,
      );
    }
    sockOf.set(d, socks.length);
    socks.push(s);
  }
  const readers = inputs.map((inp) => CaptureReader.open(inp.path));
  const frames: ScheduledFrame[] = [];
  const scratch = new Uint8Array(65536 + 64);
  try {
    const heads: Array<CapturedPacket | null> = readers.map((r) => r.next());
    let firstSec = -1, firstNsec = 0;
    for (;;) {
      // Same merge as workers/replay.ts runReplay(): earliest timestamp, ties by input order.
      const best = earliestHead(heads);
      if (best < 0) break;
      if (limit && frames.length >= limit) break;
      if (frames.length >= kMaxPackets) {
        throw new UsageError(`the inputs hold more than ${kMaxPackets} packets; verify replays at most ${kMaxPackets} into the kernel: cut the capture (editcap -r) or use -c N`);
      }
      const p = heads[best]!;
      const dev = devs[best];
      let frame: Uint8Array;
      if (p.linktype === 1) frame = p.data.slice(0, p.caplen);
      else {
        const n = toEthernet(p, dev, scratch);
        if (n < 0) throw new UsageError(`${inputs[best].path}: packet ${p.index}: link type ${p.linktype} cannot be injected on ${dev.ns.name}:${dev.name}`);
        frame = scratch.slice(0, n);
      }
      if (firstSec < 0) {
        firstSec = p.tsSec;
        firstNsec = p.tsNsec;
      }
      const offsetNs = Math.max(0, (p.tsSec - firstSec) * 1e9 + (p.tsNsec - firstNsec));
      frames.push({ index: frames.length, input: best, dev, sock: sockOf.get(dev)!, tsSec: p.tsSec, tsNsec: p.tsNsec, offsetNs, frame });
      heads[best] = readers[best].next();
    }
  } finally {
    for (const r of readers) r.close();
  }
  const durationNs = frames.length ? frames[frames.length - 1].offsetNs : 0;
  return { frames, socks, durationNs };
}

/** Write the sender's spec and frame file. */
export function writeSenderFiles(s: Schedule, specPath: string, framesPath: string, topspeed: boolean): void {
  writeFileSync(specPath, JSON.stringify({ devs: s.socks.map((k) => [k.netns, k.dev]), topspeed }));
  let total = 0;
  for (const f of s.frames) total += 16 + f.frame.length;
  const buf = Buffer.alloc(total);
  let off = 0;
  for (const f of s.frames) {
    buf.writeUInt32LE(f.sock, off);
    buf.writeBigUInt64LE(BigInt(Math.round(f.offsetNs)), off + 4);
    buf.writeUInt32LE(f.frame.length, off + 12);
    buf.set(f.frame, off + 16);
    off += 16 + f.frame.length;
  }
  writeFileSync(framesPath, buf);
}
