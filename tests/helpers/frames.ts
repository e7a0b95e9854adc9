/**
 * Frame builders and an in-process replay harness for datapath tests: build Ethernet/IPv4 frames
 * with correct checksums, load a lab from YAML text, inject frames at devices and collect records.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeEthernet } from '../../src/stack/wire/ethernet.js';
import { writeIpv4, ipv4FragWord } from '../../src/stack/wire/ipv4.js';
import { writeTcp, tcpFillChecksum4 } from '../../src/stack/wire/tcp.js';
import { writeUdp, udpFillChecksum4 } from '../../src/stack/wire/udp.js';
import { writeIcmpEcho } from '../../src/stack/wire/icmp.js';
import { writeArp } from '../../src/stack/wire/arp.js';
import { writeIpv6 } from '../../src/stack/wire/ipv6.js';
import { writeIcmpv6Echo, writeNdNa, writeNdNs, ND_NA_OVERRIDE, ND_NA_ROUTER, ND_NA_SOLICITED } from '../../src/stack/wire/icmpv6.js';
import { mcastMac6, parseIpv6Addr, solicitedNode6 } from '../../src/stack/route6.js';
import { parseIpv4, parseMac } from '../../src/stack/inet.js';
import { loadLab } from '../../src/stack/lab.js';
import { Datapath } from '../../src/stack/datapath.js';
import type { World } from '../../src/stack/netns.js';
import { toTraceRecord, type TraceRecord } from '../../src/trace/schema.js';
import type { Final } from '../../src/stack/record.js';

/** Options of an IPv4 frame. */
export interface Ip4Opts {
  srcMac?: string;
  dstMac: string;
  src: string;
  dst: string;
  ttl?: number;
  df?: boolean;
  id?: number;
  payload?: number;
}

function mac(s: string) {
  const m = parseMac(s);
  if (!m) throw new Error(`bad MAC ${s}`);
  return m;
}

function ipFrame(o: Ip4Opts, proto: number, l4Len: number, fill: (b: Uint8Array, off: number) => void): Uint8Array {
  const total = 20 + l4Len;
  const b = new Uint8Array(14 + total);
  const d = mac(o.dstMac), s = mac(o.srcMac ?? '02:00:00:00:00:99');
  writeEthernet(b, 0, d.hi, d.lo, s.hi, s.lo, 0x0800);
  fill(b, 34);
  writeIpv4(b, 14, 20, 0, total, o.id ?? 1, ipv4FragWord(o.df ?? true, false, 0), o.ttl ?? 64, proto, parseIpv4(o.src), parseIpv4(o.dst));
  return b;
}

/** A TCP segment. flags: 'S', 'SA', 'A', 'PA', 'F', 'R'. */
export function tcp(o: Ip4Opts & { sport: number; dport: number; flags: string; seq?: number; ack?: number }): Uint8Array {
  const f = (o.flags.includes('S') ? 2 : 0) | (o.flags.includes('A') ? 16 : 0) | (o.flags.includes('F') ? 1 : 0) | (o.flags.includes('R') ? 4 : 0) | (o.flags.includes('P') ? 8 : 0);
  const pl = o.payload ?? 0;
  return ipFrame(o, 6, 20 + pl, (b, off) => {
    writeTcp(b, off, o.sport, o.dport, o.seq ?? 1000, o.ack ?? 0, f, 64240, 20);
    tcpFillChecksum4(b, off, 20 + pl, parseIpv4(o.src), parseIpv4(o.dst));
  });
}

/** A UDP datagram. */
export function udp(o: Ip4Opts & { sport: number; dport: number }): Uint8Array {
  const pl = o.payload ?? 8;
  return ipFrame(o, 17, 8 + pl, (b, off) => {
    writeUdp(b, off, o.sport, o.dport, 8 + pl);
    udpFillChecksum4(b, off, 8 + pl, parseIpv4(o.src), parseIpv4(o.dst));
  });
}

/** An ICMP echo request (type 8) or reply (0). */
export function ping(o: Ip4Opts & { id: number; seq?: number; type?: number }): Uint8Array {
  const pl = o.payload ?? 56;
  return ipFrame({ ...o, id: o.id }, 1, 8 + pl, (b, off) => writeIcmpEcho(b, off, o.type ?? 8, o.id, o.seq ?? 1, pl));
}

/** An ARP request or reply. */
export function arp(o: { op: 1 | 2; srcMac: string; dstMac: string; spa: string; tpa: string; tha?: string }): Uint8Array {
  const b = new Uint8Array(60);
  const d = mac(o.dstMac), s = mac(o.srcMac), t = mac(o.tha ?? '00:00:00:00:00:00');
  writeEthernet(b, 0, d.hi, d.lo, s.hi, s.lo, 0x0806);
  writeArp(b, 14, o.op, s.hi, s.lo, parseIpv4(o.spa), t.hi, t.lo, parseIpv4(o.tpa));
  return b;
}

/** Options of an IPv6 frame; dstMac defaults to the destination's multicast MAC when dst is multicast. */
export interface Ip6Opts {
  srcMac: string;
  dstMac?: string;
  src: string;
  dst: string;
  hlim?: number;
  /** Flow label: verify keys IPv6 packets on it (give each packet its own). */
  flow?: number;
}

function addr6(s: string): Uint8Array {
  const a = parseIpv6Addr(s);
  if (!a) throw new Error(`bad IPv6 address ${s}`);
  return a;
}

function ip6Frame(o: Ip6Opts, next: number, l4Len: number, fill: (b: Uint8Array, off: number) => void): Uint8Array {
  const b = new Uint8Array(Math.max(60, 14 + 40 + l4Len));
  const dstA = addr6(o.dst);
  const d = o.dstMac ? mac(o.dstMac) : dstA[0] === 0xff ? mcastMac6(dstA, 0) : null;
  if (!d) throw new Error(`no destination MAC for ${o.dst}`);
  const s = mac(o.srcMac);
  writeEthernet(b, 0, d.hi, d.lo, s.hi, s.lo, 0x86dd);
  writeIpv6(b, 14, 0, o.flow ?? 0, l4Len, next, o.hlim ?? 64, addr6(o.src), 0, dstA, 0);
  fill(b, 54);
  return b; // padded to the Ethernet minimum when short; the payload length says where IPv6 ends
}

/** An ICMPv6 echo request (128) or reply (129). */
export function ping6(o: Ip6Opts & { id: number; seq?: number; type?: number; payload?: number }): Uint8Array {
  const pl = o.payload ?? 56;
  return ip6Frame(o, 58, 8 + pl, (b, off) => writeIcmpv6Echo(b, off, o.type ?? 128, o.id, o.seq ?? 1, pl, b, 22, 38));
}

/** A neighbour solicitation for `target`, with the source link-layer option; to the target's solicited-node group unless dst is given. */
export function ndNs(o: Omit<Ip6Opts, 'dst'> & { dst?: string; target: string }): Uint8Array {
  const t = addr6(o.target);
  const dst = o.dst ?? formatSolicited(t);
  const s = mac(o.srcMac);
  return ip6Frame({ ...o, dst, hlim: 255 }, 58, 32, (b, off) => writeNdNs(b, off, t, 0, s.hi, s.lo, b, 22, 38));
}

/** A solicited neighbour advertisement for `target` (override set; router flag with `router`), with the target link-layer option. */
export function ndNa(o: Ip6Opts & { target: string; router?: boolean; solicited?: boolean }): Uint8Array {
  const t = addr6(o.target);
  const s = mac(o.srcMac);
  const flags = ND_NA_OVERRIDE | (o.solicited === false ? 0 : ND_NA_SOLICITED) | (o.router ? ND_NA_ROUTER : 0);
  return ip6Frame({ ...o, hlim: 255 }, 58, 32, (b, off) => writeNdNa(b, off, flags, t, 0, s.hi, s.lo, b, 22, 38));
}

function formatSolicited(t: Uint8Array): string {
  const a = solicitedNode6(t, 0, new Uint8Array(16));
  const h = (i: number) => ((a[i] << 8) | a[i + 1]).toString(16);
  return `ff02::1:ff${a[13].toString(16).padStart(2, '0')}:${h(14)}`;
}

/** Load a lab from YAML text. */
export function lab(yaml: string): World {
  const dir = mkdtempSync(join(tmpdir(), 'pktpath-lab-'));
  try {
    const f = join(dir, 'lab.yaml');
    writeFileSync(f, yaml);
    return loadLab(f, { allowUnsupported: false });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Replay frames `[ns:dev, frame, time]` through a world; returns the records in order. */
export function replay(world: World, frames: Array<[string, Uint8Array, number?]>): TraceRecord[] {
  const out: TraceRecord[] = [];
  const dp = new Datapath(world, { verifyChecksums: true, trace: true, allowUnsupported: false, seed: 1 }, (r) => out.push(toTraceRecord(r)));
  frames.forEach(([at, f, t], i) => {
    const [ns, dev] = at.split(':');
    const d = world.byName.get(ns)?.byName.get(dev);
    if (!d) throw new Error(`no device ${at}`);
    const time = t ?? 1000 + i * 0.001;
    const sec = Math.floor(time);
    dp.inject(f, f.length, f.length, sec, Math.round((time - sec) * 1e9), d, i);
  });
  dp.finish();
  return out;
}

/** The final of a record. */
export function fin(r: TraceRecord): Final {
  return r.final as Final;
}
