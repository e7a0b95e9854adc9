/**
 * Consistency (the production question): a direction-aware capture shows where packets really
 * appeared; the model says where they should have. Every frame the model puts on a device the capture
 * covers is matched against the capture's frames on that device and direction, by a fingerprint that
 * survives NAT and TTL changes (IP id, protocol, length, TCP seq/ack/flags, ICMP id/seq; ARP op and
 * addresses). What is left on either side is reported, grouped by where the model says the packet went.
 */
import { PacketInfo, decodeFrame, ipv6ToString } from '../stack/wire/decode.js';
import type { NetDevice } from '../stack/netdev.js';

/** A frame on a device: observed in the capture, or predicted by the model. */
interface Event {
  dev: NetDevice;
  dir: 1 | 2;
  t: number;
  fp: string;
  /** Fingerprint without the IP id (a second pass for packets whose id the kernel randomises). */
  loose: string;
  /** Input packet index it belongs to (model), or capture position (observation). */
  index: number;
  what: string;
  matched: boolean;
}

/** How far apart in time a prediction and an observation may be, seconds. */
const kWindow = 5;

const info = new PacketInfo();

function fingerprint(frame: Uint8Array, len: number): { fp: string; loose: string; what: string } | null {
  decodeFrame(info, frame, len, len, 1, { verifyChecksums: false });
  const i = info;
  const ip = (a: number) => `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
  if (i.l3 === 3 && i.arpOp > 0) {
    const b = frame;
    const spa = ((b[i.arpSpaOff] << 24) | (b[i.arpSpaOff + 1] << 16) | (b[i.arpSpaOff + 2] << 8) | b[i.arpSpaOff + 3]) >>> 0;
    const tpa = ((b[i.arpTpaOff] << 24) | (b[i.arpTpaOff + 1] << 16) | (b[i.arpTpaOff + 2] << 8) | b[i.arpTpaOff + 3]) >>> 0;
    const k = `arp ${i.arpOp} ${spa} ${tpa}`;
    return { fp: k, loose: k, what: `ARP ${i.arpOp === 1 ? 'request' : 'reply'} ${ip(spa)} > ${ip(tpa)}` };
  }
  if (i.l3 === 2 && i.srcOff >= 0) {
    // IPv6 has no IP id: length, next header and the transport fields NAT keeps (neighbour discovery
    // by type and target). A retransmission with the same fields matches its first copy's prediction.
    let l4 = '';
    if (i.l4proto === 6) l4 = `${i.tcpSeq} ${i.tcpAck} ${i.tcpFlags}`;
    else if (i.l4proto === 58) l4 = `${i.icmpType} ${i.icmpCode} ${i.icmpSeq} ${i.ndTargetOff >= 0 ? ipv6ToString(frame, i.ndTargetOff) : ''}`;
    const k = `ip6 ${i.l4proto} ${i.l3Len} ${l4}`;
    const ep = (off: number, port: number) => (port >= 0 ? `[${ipv6ToString(frame, off)}]:${port}` : ipv6ToString(frame, off));
    return { fp: k, loose: k, what: `${i.l4proto === 6 ? 'tcp' : i.l4proto === 17 ? 'udp' : i.l4proto === 58 ? 'icmpv6' : `proto ${i.l4proto}`} ${ep(i.srcOff, i.sport)} > ${ep(i.dstOff, i.dport)}` };
  }
  if (i.l3 !== 1) return null;
  let l4 = '';
  if (i.l4proto === 6) l4 = `${i.tcpSeq} ${i.tcpAck} ${i.tcpFlags}`;
  else if (i.l4proto === 1) l4 = `${i.icmpType} ${i.icmpCode} ${i.icmpSeq}`;
  const loose = `ip ${i.l4proto} ${i.l3Len} ${l4}`;
  const ports = i.sport >= 0 ? `:${i.sport} > ` : ' > ';
  return {
    fp: `${loose} ${i.ipId}`,
    loose,
    what: `${i.l4proto === 6 ? 'tcp' : i.l4proto === 17 ? 'udp' : i.l4proto === 1 ? 'icmp' : `proto ${i.l4proto}`} ${ip(i.src4)}${ports}${ip(i.dst4)}${i.dport >= 0 ? ':' + i.dport : ''} id ${i.ipId}`,
  };
}

/** One group of the report. */
export interface ConsistencyGroup {
  dev: string;
  dir: 'in' | 'out';
  count: number;
  /** Input packet indices (model side) or capture positions (observed side), first few. */
  examples: Array<{ index: number; ts: string; packet: string }>;
}

/** The consistency report. */
export interface ConsistencyReport {
  observed: number;
  predicted: number;
  matched: number;
  /** The model says these appeared; the capture does not show them. */
  missing: ConsistencyGroup[];
  /** The capture shows these; the model did not predict them. */
  unexpected: ConsistencyGroup[];
  /** Devices the capture covers (only those are compared). */
  covered: string[];
}

/** Collects observations and predictions, then matches them. */
export class Consistency {
  private observed: Event[] = [];
  private predicted: Event[] = [];
  private covered = new Set<NetDevice>();

  /** The capture covers dev (both directions). */
  cover(dev: NetDevice): void {
    this.covered.add(dev);
  }

  /** A frame the capture shows on dev. */
  observe(dev: NetDevice, dir: 1 | 2, t: number, frame: Uint8Array, len: number, position: number): void {
    const f = fingerprint(frame, len);
    if (f) this.observed.push({ dev, dir, t, fp: f.fp, loose: f.loose, index: position, what: f.what, matched: false });
  }

  /** A frame the model puts on dev (the datapath tap). */
  predict(dev: NetDevice, dir: 1 | 2, t: number, frame: Uint8Array, len: number, index: number): void {
    if (!this.covered.has(dev)) return;
    const f = fingerprint(frame, len);
    if (f) this.predicted.push({ dev, dir, t, fp: f.fp, loose: f.loose, index, what: f.what, matched: false });
  }

  /** Match and report. */
  report(): ConsistencyReport {
    this.match((e) => e.fp);
    this.match((e) => e.loose);
    const group = (evs: Event[]): ConsistencyGroup[] => {
      const m = new Map<string, ConsistencyGroup>();
      for (const e of evs) {
        if (e.matched) continue;
        const key = `${e.dev.ns.name}:${e.dev.name} ${e.dir === 1 ? 'in' : 'out'}`;
        let g = m.get(key);
        if (!g) m.set(key, (g = { dev: `${e.dev.ns.name}:${e.dev.name}`, dir: e.dir === 1 ? 'in' : 'out', count: 0, examples: [] }));
        g.count++;
        if (g.examples.length < 5) g.examples.push({ index: e.index, ts: e.t.toFixed(9), packet: e.what });
      }
      return [...m.values()].sort((a, b) => b.count - a.count || (a.dev < b.dev ? -1 : 1));
    };
    return {
      observed: this.observed.length,
      predicted: this.predicted.length,
      matched: this.observed.filter((e) => e.matched).length,
      missing: group(this.predicted),
      unexpected: group(this.observed),
      covered: [...this.covered].map((d) => `${d.ns.name}:${d.name}`),
    };
  }

  private match(key: (e: Event) => string): void {
    const pool = new Map<string, Event[]>();
    for (const o of this.observed) {
      if (o.matched) continue;
      const k = `${o.dev.ns.name}\u0001${o.dev.name}\u0001${o.dir}\u0001${key(o)}`;
      const l = pool.get(k);
      if (l) l.push(o);
      else pool.set(k, [o]);
    }
    for (const p of this.predicted) {
      if (p.matched) continue;
      const l = pool.get(`${p.dev.ns.name}\u0001${p.dev.name}\u0001${p.dir}\u0001${key(p)}`);
      if (!l) continue;
      let best = -1;
      for (let k = 0; k < l.length; k++) {
        if (l[k].matched || Math.abs(l[k].t - p.t) > kWindow) continue;
        if (best < 0 || Math.abs(l[k].t - p.t) < Math.abs(l[best].t - p.t)) best = k;
      }
      if (best >= 0) {
        l[best].matched = true;
        p.matched = true;
      }
    }
  }
}

/** Text form for the summary. */
export function consistencyText(r: ConsistencyReport): string {
  let s = `consistency with the capture (devices covered: ${r.covered.join(', ')}): ${r.matched}/${r.observed} observed frames predicted by the model`;
  const miss = r.missing.reduce((n, g) => n + g.count, 0);
  const unexp = r.unexpected.reduce((n, g) => n + g.count, 0);
  s += `; ${miss} predicted but not in the capture, ${unexp} in the capture but not predicted\n`;
  for (const g of r.missing) {
    s += `  model says it left by ${g.dev} (${g.dir}), the capture does not show it: ${g.count}\n`;
    for (const e of g.examples) s += `    ${e.index >= 0 ? `packet #${e.index}` : 'sent on a timer (no input packet: neighbour probe)'} ${e.packet}\n`;
  }
  for (const g of r.unexpected) {
    s += `  the capture shows on ${g.dev} (${g.dir}) what the model did not predict: ${g.count}\n`;
    for (const e of g.examples) s += `    capture frame ${e.index} at ${e.ts} ${e.packet}\n`;
  }
  return s;
}

/**
 * NAT choices the capture shows: the same packet seen after NAT on an outbound device (a `tcpdump -i
 * any` capture sees a flow before and after masquerade). The datapath adopts the kernel's actual
 * choice for a new binding instead of computing its own (so replies in the capture match).
 */
export class NatHints {
  private byFp = new Map<string, { src4: number; dst4: number; sport: number; dport: number }>();
  size = 0;

  /** Remember an outbound IPv4 frame. */
  add(frame: Uint8Array, len: number): void {
    decodeFrame(info, frame, len, len, 1, { verifyChecksums: false });
    if (info.l3 !== 1) return;
    const k = infoKey(info);
    if (this.byFp.has(k)) return; // retransmissions keep the first
    this.byFp.set(k, { src4: info.src4, dst4: info.dst4, sport: info.l4proto === 1 ? info.icmpId : info.sport, dport: info.dport });
    this.size++;
  }

  /** The post-NAT header the capture shows for a packet with these headers, or null. */
  lookup(i: PacketInfo): { src4: number; dst4: number; sport: number; dport: number } | null {
    return this.byFp.get(infoKey(i)) ?? null;
  }
}

/** A key that survives NAT and TTL changes: protocol, length, IP id and the transport fields NAT keeps. */
function infoKey(i: PacketInfo): string {
  const l4 = i.l4proto === 6 ? `${i.tcpSeq} ${i.tcpAck} ${i.tcpFlags}` : i.l4proto === 1 ? `${i.icmpType} ${i.icmpCode} ${i.icmpSeq}` : '';
  return `${i.l4proto} ${i.l3Len} ${i.ipId} ${l4}`;
}
