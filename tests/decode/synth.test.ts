import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseMix, synthesize, SYNTH_DEFAULTS, type SynthOptions } from '../../src/pcap/synth.js';
import { PcapngWriter, PcapWriter } from '../../src/pcap/writer.js';
import { CaptureReader } from '../../src/pcap/reader.js';
import { decodeFrame, L3_ARP, PacketInfo } from '../../src/stack/wire/decode.js';
import { dropReasonName } from '../../src/stack/drop_reason.js';
import { pseudoSum4, sum16, verifies } from '../../src/stack/wire/checksum.js';

const tmp = mkdtempSync(join(tmpdir(), 'ppsynth-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Frame { sec: number; nsec: number; data: Uint8Array }

function collect(opts: Partial<SynthOptions>): { frames: Frame[]; stats: ReturnType<typeof synthesize> } {
  const frames: Frame[] = [];
  const stats = synthesize({ ...SYNTH_DEFAULTS, ...opts }, { write: (sec: number, nsec: number, data: Uint8Array) => frames.push({ sec, nsec, data: data.slice() }) });
  return { frames, stats };
}

const ALL = { tcp: 50, udp: 20, icmp: 10, arp: 5, frag: 10, synflood: 5 };

/** Classify a decoded frame into a synth kind. */
function kindOf(i: PacketInfo): string {
  if (i.l3 === L3_ARP) return 'arp';
  if (i.fragOff !== 0 || i.moreFrags) return 'frag';
  if (i.l4proto === 6) return i.tcpFlags === 0x02 && !i.tcpSackPerm ? 'synflood' : 'tcp';
  if (i.l4proto === 17) return 'udp';
  return 'icmp';
}

describe('synth', () => {
  it('is deterministic: same seed, same bytes (pcap and pcapng)', () => {
    for (const [ext, make] of [['pcap', (p: string) => new PcapWriter(p, { nanosecond: true, linktype: 1 })], ['pcapng', (p: string) => new PcapngWriter(p)]] as const) {
      const paths = [1, 2, 3].map((k) => join(tmp, `d${k}.${ext}`));
      paths.forEach((p, k) => {
        const w = make(p);
        synthesize({ ...SYNTH_DEFAULTS, packets: 3000, mix: ALL, seed: k === 2 ? 8 : 7 }, w);
        w.close();
      });
      const [a, b, c] = paths.map((p) => readFileSync(p));
      expect(a.equals(b)).toBe(true);
      expect(a.equals(c)).toBe(false);
    }
  });

  it('writes exactly the packets asked for, at the given rate', () => {
    const { frames, stats } = collect({ packets: 2500, rate: 1000, startSec: 1000 });
    expect(frames.length).toBe(2500);
    expect(stats.packets).toBe(2500);
    expect([frames[0].sec, frames[0].nsec, frames[1].nsec, frames[1500].sec, frames[1500].nsec]).toEqual([1000, 0, 1_000_000, 1001, 500_000_000]);
    const odd = collect({ packets: 4, rate: 3 }).frames;
    expect(odd.map((f) => f.nsec)).toEqual([0, 333333333, 666666666, 0]);
  });

  it('decodes with no problems, every kind present', () => {
    const { frames } = collect({ packets: 20000, mix: ALL, seed: 3 });
    const info = new PacketInfo();
    const seen = new Set<string>();
    for (const f of frames) {
      decodeFrame(info, f.data, f.data.length, f.data.length, 1, { verifyChecksums: true });
      expect(info.problemList.map(dropReasonName)).toEqual([]);
      seen.add(kindOf(info));
    }
    expect([...seen].sort()).toEqual(['arp', 'frag', 'icmp', 'synflood', 'tcp', 'udp']);
  });

  it('respects the mix (shares of packets)', () => {
    const { frames, stats } = collect({ packets: 20000, mix: ALL, seed: 11, flows: 300 });
    const info = new PacketInfo();
    const counts: Record<string, number> = {};
    for (const f of frames) {
      decodeFrame(info, f.data, f.data.length, f.data.length, 1, { verifyChecksums: true });
      const k = kindOf(info);
      counts[k] = (counts[k] ?? 0) + 1;
    }
    for (const [k, w] of Object.entries(ALL)) {
      expect(Math.abs(counts[k] / 20000 - w / 100), k).toBeLessThan(0.02);
      expect(counts[k], k).toBe(stats.byKind[k as keyof typeof ALL]);
    }
    const only = collect({ packets: 500, mix: parseMix('udp=1') }).stats;
    expect(only.byKind.udp).toBe(500);
  });

  it('keeps each conversation in order: a full TCP exchange with one flow', () => {
    const { frames } = collect({ packets: 12, flows: 1, mix: parseMix('tcp=1'), seed: 5 });
    const info = new PacketInfo();
    const flags: number[] = [];
    const tuples = new Set<string>();
    for (const f of frames) {
      decodeFrame(info, f.data, f.data.length, f.data.length, 1, { verifyChecksums: true });
      flags.push(info.tcpFlags);
      tuples.add([Math.min(info.src4, info.dst4), Math.max(info.src4, info.dst4), Math.min(info.sport, info.dport), Math.max(info.sport, info.dport)].join());
    }
    expect(flags.slice(0, 3)).toEqual([0x02, 0x12, 0x10]);
    expect(flags).toContain(0x18);
    expect(flags.filter((x) => x === 0x11).length).toBe(2);
    expect(flags[flags.length - 1]).toBe(0x10);
    expect(tuples.size).toBe(1);
  });

  it('draws addresses from the client and server pools', () => {
    const { frames } = collect({ packets: 3000, mix: ALL, clientNet: 0xc0000200, clientPrefix: 28, serverNet: 0xcb007180, serverPrefix: 26 });
    const info = new PacketInfo();
    const inNet = (a: number, net: number, p: number) => ((a >>> (32 - p)) << (32 - p)) >>> 0 === net;
    for (const f of frames) {
      decodeFrame(info, f.data, f.data.length, f.data.length, 1, { verifyChecksums: true });
      for (const a of [info.src4, info.dst4]) {
        const client = inNet(a, 0xc0000200, 28);
        expect(client || inNet(a, 0xcb007180, 26), a.toString(16)).toBe(true);
        const host = a & (client ? 0x0f : 0x3f);
        expect(host !== 0 && host !== (client ? 0x0f : 0x3f), a.toString(16)).toBe(true); // not network or broadcast
      }
    }
  });

  it('fragments reassemble into datagrams with correct checksums', () => {
    const { frames } = collect({ packets: 400, mix: parseMix('frag=1'), seed: 9 });
    const info = new PacketInfo();
    const parts = new Map<number, Array<{ off: number; data: Uint8Array; more: boolean; src: number; dst: number; proto: number }>>();
    for (const f of frames) {
      decodeFrame(info, f.data, f.data.length, f.data.length, 1, { verifyChecksums: true });
      const list = parts.get(info.ipId) ?? [];
      list.push({ off: info.fragOff, data: f.data.slice(info.l3Off + 20, info.l3Off + info.l3Len), more: info.moreFrags, src: info.src4, dst: info.dst4, proto: info.l4proto });
      parts.set(info.ipId, list);
    }
    let complete = 0;
    for (const list of parts.values()) {
      if (list[list.length - 1].more) continue; // cut off by the packet count
      const total = list[list.length - 1].off + list[list.length - 1].data.length;
      const d = new Uint8Array(total);
      for (const p of list) d.set(p.data, p.off);
      const { src, dst, proto } = list[0];
      const ok = proto === 17 ? verifies(sum16(d, 0, total, pseudoSum4(src, dst, 17, total))) : verifies(sum16(d, 0, total, 0));
      expect(ok).toBe(true);
      complete++;
    }
    expect(complete).toBeGreaterThan(50);
  });

  it('reads back through CaptureReader', () => {
    const p = join(tmp, 'r.pcapng');
    const w = new PcapngWriter(p);
    synthesize({ ...SYNTH_DEFAULTS, packets: 100 }, w);
    w.close();
    const r = CaptureReader.open(p);
    let n = 0;
    for (let pk = r.next(); pk !== null; pk = r.next()) n++;
    expect(n).toBe(100);
    expect(r.interfaces[0].name).toBe('synth0');
  });

  it('rejects bad options with TypeError', () => {
    const sink = { write: () => {} };
    expect(() => synthesize({ ...SYNTH_DEFAULTS, packets: -1 }, sink)).toThrow(TypeError);
    expect(() => synthesize({ ...SYNTH_DEFAULTS, flows: 0 }, sink)).toThrow(TypeError);
    expect(() => synthesize({ ...SYNTH_DEFAULTS, rate: 0 }, sink)).toThrow(TypeError);
    expect(() => synthesize({ ...SYNTH_DEFAULTS, clientPrefix: 31 }, sink)).toThrow(TypeError);
    expect(() => synthesize({ ...SYNTH_DEFAULTS, mix: parseMix('tcp=0') }, sink)).toThrow(/no kind a weight/);
    expect(() => parseMix('tcp=60,quic=10')).toThrow(TypeError);
    expect(() => parseMix('tcp')).toThrow(TypeError);
    expect(parseMix('tcp=60, udp=25')).toEqual({ tcp: 60, udp: 25, icmp: 0, arp: 0, frag: 0, synflood: 0 });
  });
});
