/**
 * Byte-array builders for capture tests (both byte orders), written straight from the specs
 * (draft-ietf-opsawg-pcap, draft-ietf-opsawg-pcapng) rather than through our writers.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { CaptureReader, formatTs } from '../../src/pcap/reader.js';

/** Growable little/big-endian byte builder. */
export class Bytes {
  private out: number[] = [];
  constructor(readonly le = true) {}
  u8(v: number): this { this.out.push(v & 0xff); return this; }
  u16(v: number): this {
    const b = [v & 0xff, (v >>> 8) & 0xff];
    this.out.push(...(this.le ? b : b.reverse()));
    return this;
  }
  u32(v: number): this {
    const b = [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
    this.out.push(...(this.le ? b : b.reverse()));
    return this;
  }
  i64(v: bigint): this {
    const x = BigInt.asUintN(64, v);
    const hi = Number(x >> 32n), lo = Number(x & 0xffffffffn);
    return this.le ? this.u32(lo).u32(hi) : this.u32(hi).u32(lo);
  }
  bytes(b: ArrayLike<number>): this { for (let i = 0; i < b.length; i++) this.out.push(b[i]!); return this; }
  pad4(): this { while (this.out.length % 4) this.out.push(0); return this; }
  get length(): number { return this.out.length; }
  build(): Uint8Array { return Uint8Array.from(this.out); }
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}

/** Packet bytes 0, 1, 2, ... (mod 256) offset by `seed`, so each packet is recognisable. */
export function payload(n: number, seed = 0): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i + seed) & 0xff);
}

// ---- classic pcap ----

export interface PcapRecord { sec: number; frac: number; data: Uint8Array; origLen?: number; caplen?: number }

export function pcapHeader(o: { le?: boolean; nano?: boolean; snaplen?: number; linktype?: number; major?: number; minor?: number } = {}): Uint8Array {
  const b = new Bytes(o.le ?? true);
  return b.u32(o.nano ? 0xa1b23c4d : 0xa1b2c3d4).u16(o.major ?? 2).u16(o.minor ?? 4).u32(0).u32(0)
    .u32(o.snaplen ?? 65535).u32(o.linktype ?? 1).build();
}

export function pcapRecord(r: PcapRecord, le = true): Uint8Array {
  return new Bytes(le).u32(r.sec).u32(r.frac).u32(r.caplen ?? r.data.length).u32(r.origLen ?? r.data.length)
    .bytes(r.data).build();
}

export function pcapFile(records: PcapRecord[], o: Parameters<typeof pcapHeader>[0] = {}): Uint8Array {
  return concat(pcapHeader(o), ...records.map((r) => pcapRecord(r, o.le ?? true)));
}

// ---- pcapng ----

export type Option = [code: number, value: Uint8Array];

export function str(s: string): Uint8Array { return new TextEncoder().encode(s); }

function optionBytes(b: Bytes, opts: Option[]): void {
  if (opts.length === 0) return;
  for (const [code, v] of opts) b.u16(code).u16(v.length).bytes(v).pad4();
  b.u16(0).u16(0);
}

/** A block: type, length, body, length; `len`/`trailer` override the two lengths for bad-block tests. */
export function block(le: boolean, type: number, body: Uint8Array, o: { len?: number; trailer?: number } = {}): Uint8Array {
  const len = 12 + body.length;
  return new Bytes(le).u32(type).u32(o.len ?? len).bytes(body).u32(o.trailer ?? o.len ?? len).build();
}

export function shb(le = true, opts: Option[] = [], o: { major?: number } = {}): Uint8Array {
  const b = new Bytes(le).u32(0x1a2b3c4d).u16(o.major ?? 1).u16(0).i64(-1n);
  optionBytes(b, opts);
  return block(le, 0x0a0d0d0a, b.build());
}

export function idb(le: boolean, linktype: number, snaplen: number, opts: Option[] = []): Uint8Array {
  const b = new Bytes(le).u16(linktype).u16(0).u32(snaplen);
  optionBytes(b, opts);
  return block(le, 1, b.build());
}

export function epb(le: boolean, ifid: number, ts: bigint, data: Uint8Array, o: { origLen?: number; opts?: Option[]; caplen?: number } = {}): Uint8Array {
  const b = new Bytes(le).u32(ifid).u32(Number(ts >> 32n)).u32(Number(ts & 0xffffffffn))
    .u32(o.caplen ?? data.length).u32(o.origLen ?? data.length).bytes(data).pad4();
  optionBytes(b, o.opts ?? []);
  return block(le, 6, b.build());
}

/** Obsolete Packet Block (Appendix A): 16-bit interface id, 16-bit drops count. */
export function pb(le: boolean, ifid: number, ts: bigint, data: Uint8Array, o: { origLen?: number; opts?: Option[] } = {}): Uint8Array {
  const b = new Bytes(le).u16(ifid).u16(0).u32(Number(ts >> 32n)).u32(Number(ts & 0xffffffffn))
    .u32(data.length).u32(o.origLen ?? data.length).bytes(data).pad4();
  optionBytes(b, o.opts ?? []);
  return block(le, 2, b.build());
}

export function spb(le: boolean, data: Uint8Array, origLen = data.length): Uint8Array {
  return block(le, 3, new Bytes(le).u32(origLen).bytes(data).pad4().build());
}

export function u32opt(le: boolean, code: number, v: number): Option { return [code, new Bytes(le).u32(v).build()]; }
export function i64opt(le: boolean, code: number, v: bigint): Option { return [code, new Bytes(le).i64(v).build()]; }

// ---- reading ----

/** A packet copied out of the reader, for comparisons. */
export interface Pkt {
  index: number; ts: string; caplen: number; origLen: number; ifaceId: number; linktype: number;
  direction: number; truncated: boolean; fileOffset: number; data: number[];
}

export function snapshot(r: CaptureReader, max = Infinity): Pkt[] {
  const out: Pkt[] = [];
  for (let p = r.next(); p !== null && out.length < max; p = r.next()) out.push(snapshot1(p));
  return out;
}

/** data, buf/off and caplen must describe the same bytes. */
export function expectViewConsistent(p: { data: Uint8Array; buf: Uint8Array; off: number; caplen: number; dv: DataView }): void {
  if (p.data.length !== p.caplen || p.data.buffer !== p.buf.buffer || p.data.byteOffset !== p.buf.byteOffset + p.off ||
    p.dv.buffer !== p.buf.buffer) {
    throw new Error('packet views disagree');
  }
}

export function readBytes(bytes: Uint8Array, chunkSize?: number): { reader: CaptureReader; packets: Pkt[] } {
  const reader = CaptureReader.fromBytes(bytes, 'test', chunkSize);
  return { reader, packets: snapshot(reader) };
}

/** Read until the error (opening included); returns the packets before it and the error. */
export function readUntilError(bytes: Uint8Array, chunkSize?: number): { packets: Pkt[]; error: unknown } {
  const packets: Pkt[] = [];
  try {
    const reader = CaptureReader.fromBytes(bytes, 'test', chunkSize);
    for (let p = reader.next(); p !== null; p = reader.next()) packets.push(snapshot1(p));
  } catch (error) {
    return { packets, error };
  }
  return { packets, error: null };
}

function snapshot1(p: NonNullable<ReturnType<CaptureReader['next']>>): Pkt {
  expectViewConsistent(p);
  return {
    index: p.index, ts: formatTs(p.tsSec, p.tsNsec), caplen: p.caplen, origLen: p.origLen, ifaceId: p.ifaceId,
    linktype: p.linktype, direction: p.direction, truncated: p.truncated, fileOffset: p.fileOffset, data: Array.from(p.data),
  };
}

// ---- environment ----

export function tmpDir(): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'pktpath-pcap-'));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** True if `cmd` runs (used to skip tool cross-checks where a tool is missing). */
export function have(cmd: string): boolean {
  return spawnSync(cmd, ['--version'], { stdio: 'ignore' }).status === 0;
}

/** stderr without the warning tshark/dumpcap print whenever they run as root (not about the file). */
export function cleanStderr(s: string): string {
  return s.split('\n').filter((l) => l !== '' && !l.startsWith('Running as user "root"')).join('\n');
}
