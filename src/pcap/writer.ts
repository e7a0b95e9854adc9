/**
 * Capture writers: classic pcap (draft-ietf-opsawg-pcap) and pcapng (draft-ietf-opsawg-pcapng), in
 * little-endian. Records are assembled in one reused buffer and written in large chunks.
 *
 * A file is written as `<path>.tmp-<pid>` and renamed to `path` by close(); abort() renames it to
 * `<path>.partial` instead, so an interrupted run never leaves a file that looks complete.
 * Path '-' writes to stdout directly.
 */
import { closeSync, openSync, renameSync, writeSync } from 'node:fs';
import { PCAP_MAGIC_NS, PCAP_MAGIC_US } from './pcap.js';
import { BT_EPB, BT_IDB, BT_SHB, PCAPNG_BOM } from './pcapng.js';

/** Write-buffer size: one write(2) per 1 MiB of capture. */
const kWriteBuf = 1 << 20;
/** libpcap's MAXIMUM_SNAPLEN; our reader (and libpcap) reject longer records. */
const kMaxSnaplen = 262144;
const SLEEP = new Int32Array(new SharedArrayBuffer(4));
const utf8 = new TextEncoder();

/** Buffered output file with the tmp → rename protocol. */
class OutFile {
  buf = new Uint8Array(kWriteBuf);
  dv = new DataView(this.buf.buffer);
  len = 0;
  private readonly fd: number;
  private readonly tmp: string | null;
  private open = true;

  constructor(private readonly path: string) {
    if (path === '-') {
      this.fd = 1;
      this.tmp = null;
    } else {
      this.tmp = `${path}.tmp-${process.pid}`;
      this.fd = openSync(this.tmp, 'w');
    }
  }

  /** Make room for n more bytes; returns the offset to write them at, then the caller adds n to len. */
  reserve(n: number): number {
    if (!this.open) throw new Error(`${this.path}: capture writer is already closed`);
    if (this.len + n > this.buf.length) {
      this.flush();
      if (n > this.buf.length) {
        this.buf = new Uint8Array(n);
        this.dv = new DataView(this.buf.buffer);
      }
    }
    return this.len;
  }

  flush(): void {
    let off = 0;
    while (off < this.len) {
      try {
        off += writeSync(this.fd, this.buf, off, this.len - off);
      } catch (err) {
        // stdout may be a non-blocking pipe: wait for the reader to drain it.
        if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') throw err;
        Atomics.wait(SLEEP, 0, 0, 5);
      }
    }
    this.len = 0;
  }

  close(): void {
    if (!this.open) return;
    try {
      this.flush();
    } catch (err) {
      this.finish('.partial');
      throw err;
    }
    this.finish('');
  }

  abort(): void {
    if (!this.open) return;
    try {
      this.flush();
    } catch {
      // keep what reached the disk; the .partial name already says it is incomplete
    }
    this.finish('.partial');
  }

  private finish(suffix: string): void {
    this.open = false;
    if (this.tmp === null) return;
    closeSync(this.fd);
    renameSync(this.tmp, this.path + suffix);
  }
}

function checkSnaplen(snaplen = kMaxSnaplen): number {
  if (!Number.isInteger(snaplen) || snaplen <= 0 || snaplen > kMaxSnaplen) {
    throw new TypeError(`snaplen must be an integer from 1 to ${kMaxSnaplen}, not ${snaplen}`);
  }
  return snaplen;
}

function checkTs(tsSec: number, tsNsec: number): void {
  if (!(tsSec >= 0 && tsSec <= 0xffffffff && Number.isInteger(tsSec)) ||
    !(tsNsec >= 0 && tsNsec < 1e9 && Number.isInteger(tsNsec))) {
    throw new RangeError(`timestamp ${tsSec}.${tsNsec} is not seconds 0..2^32-1 plus nanoseconds 0..999999999`);
  }
}

/** Classic pcap writer: one link type, µs or ns timestamps. */
export class PcapWriter {
  private readonly out: OutFile;
  private readonly nano: boolean;
  private readonly snaplen: number;

  constructor(path: string, opts: { nanosecond: boolean; linktype: number; snaplen?: number }) {
    this.nano = opts.nanosecond;
    this.snaplen = checkSnaplen(opts.snaplen);
    this.out = new OutFile(path);
    // draft-ietf-opsawg-pcap §4: magic, version 2.4, two reserved words, snaplen, linktype.
    const o = this.out.reserve(24), dv = this.out.dv;
    dv.setUint32(o, this.nano ? PCAP_MAGIC_NS : PCAP_MAGIC_US, true);
    dv.setUint16(o + 4, 2, true);
    dv.setUint16(o + 6, 4, true);
    dv.setUint32(o + 8, 0, true);
    dv.setUint32(o + 12, 0, true);
    dv.setUint32(o + 16, this.snaplen, true);
    dv.setUint32(o + 20, opts.linktype, true);
    this.out.len = o + 24;
  }

  /** Append one packet; data longer than the snaplen is cut and recorded as such. */
  write(tsSec: number, tsNsec: number, data: Uint8Array, origLen: number = data.length): void {
    checkTs(tsSec, tsNsec);
    const caplen = Math.min(data.length, this.snaplen);
    const out = this.out;
    const o = out.reserve(16 + caplen), dv = out.dv;
    dv.setUint32(o, tsSec, true);
    dv.setUint32(o + 4, this.nano ? tsNsec : Math.floor(tsNsec / 1000), true);
    dv.setUint32(o + 8, caplen, true);
    dv.setUint32(o + 12, Math.max(origLen, caplen), true);
    out.buf.set(caplen === data.length ? data : data.subarray(0, caplen), o + 16);
    out.len = o + 16 + caplen;
  }

  /** Flush and rename into place. */
  close(): void {
    this.out.close();
  }

  /** Flush what there is and leave it as `<path>.partial`. */
  abort(): void {
    this.out.abort();
  }
}

/** pcapng writer: one section, any number of interfaces, nanosecond timestamps. */
export class PcapngWriter {
  private readonly out: OutFile;
  private readonly snaplens: number[] = [];

  constructor(path: string, opts: { application?: string } = {}) {
    this.out = new OutFile(path);
    const appl = utf8.encode(opts.application ?? 'pktpath');
    // §4.1 SHB: BOM, version 1.0, section length -1 (unknown), shb_userappl (4), opt_endofopt.
    const len = 28 + optLen(appl.length) + 4;
    const o = this.blockStart(BT_SHB, len), dv = this.out.dv;
    dv.setUint32(o + 8, PCAPNG_BOM, true);
    dv.setUint16(o + 12, 1, true);
    dv.setUint16(o + 14, 0, true);
    dv.setInt32(o + 16, -1, true);
    dv.setInt32(o + 20, -1, true);
    this.putEnd(this.putOption(o + 24, 4, appl));
    this.blockEnd(o, len);
  }

  /** Describe an interface (IDB with if_name, if_tsresol 10^-9); returns its id for write(). */
  addInterface(name: string, linktype: number, opts: { snaplen?: number; description?: string } = {}): number {
    const snaplen = checkSnaplen(opts.snaplen);
    const nameBytes = utf8.encode(name);
    const desc = opts.description !== undefined ? utf8.encode(opts.description) : null;
    const len = 20 + optLen(nameBytes.length) + (desc !== null ? optLen(desc.length) : 0) + optLen(1) + 4;
    const o = this.blockStart(BT_IDB, len), dv = this.out.dv;
    dv.setUint16(o + 8, linktype, true);
    dv.setUint16(o + 10, 0, true);
    dv.setUint32(o + 12, snaplen, true);
    let q = this.putOption(o + 16, 2, nameBytes);
    if (desc !== null) q = this.putOption(q, 3, desc);
    this.putEnd(this.putOption(q, 9, TSRESOL_NS));
    this.blockEnd(o, len);
    this.snaplens.push(snaplen);
    return this.snaplens.length - 1;
  }

  /** Append one Enhanced Packet Block, cut to the interface's snaplen; direction 1 in / 2 out → epb_flags. */
  write(ifaceId: number, tsSec: number, tsNsec: number, data: Uint8Array,
    opts?: { origLen?: number; direction?: 0 | 1 | 2 }): void {
    const snaplen = this.snaplens[ifaceId];
    if (snaplen === undefined) {
      throw new RangeError(`interface ${ifaceId} was not added (have ${this.snaplens.length})`);
    }
    checkTs(tsSec, tsNsec);
    const caplen = Math.min(data.length, snaplen);
    const direction = opts?.direction ?? 0;
    const padded = (caplen + 3) & ~3;
    const len = 32 + padded + (direction !== 0 ? 12 : 0); // epb_flags (8) + opt_endofopt (4)
    const o = this.blockStart(BT_EPB, len), dv = this.out.dv, buf = this.out.buf;
    dv.setUint32(o + 8, ifaceId, true);
    // Nanosecond ticks = tsSec·1e9 + tsNsec, split into 32-bit halves without BigInt: with
    // tsSec = a·2^16 + b, ticks = (a·1e9)·2^16 + (b·1e9 + tsNsec), each part below 2^53.
    const a = Math.floor(tsSec / 65536), b = tsSec - a * 65536;
    const x = a * 1e9, y = b * 1e9 + tsNsec;
    const lowSum = (x % 65536) * 65536 + (y % 4294967296);
    const lo = lowSum % 4294967296;
    const hi = Math.floor(x / 65536) + Math.floor(y / 4294967296) + Math.floor(lowSum / 4294967296);
    dv.setUint32(o + 12, hi, true);
    dv.setUint32(o + 16, lo, true);
    dv.setUint32(o + 20, caplen, true);
    dv.setUint32(o + 24, Math.max(opts?.origLen ?? data.length, caplen), true);
    buf.set(caplen === data.length ? data : data.subarray(0, caplen), o + 28);
    buf.fill(0, o + 28 + caplen, o + 28 + padded);
    if (direction !== 0) {
      const q = o + 28 + padded;
      dv.setUint16(q, 2, true); // epb_flags (§4.3.1): bits 0-1 direction
      dv.setUint16(q + 2, 4, true);
      dv.setUint32(q + 4, direction, true);
      this.putEnd(q + 8);
    }
    this.blockEnd(o, len);
  }

  close(): void {
    this.out.close();
  }

  abort(): void {
    this.out.abort();
  }

  private blockStart(type: number, len: number): number {
    const o = this.out.reserve(len);
    this.out.dv.setUint32(o, type, true);
    this.out.dv.setUint32(o + 4, len, true);
    return o;
  }

  private blockEnd(o: number, len: number): void {
    this.out.dv.setUint32(o + len - 4, len, true);
    this.out.len = o + len;
  }

  private putOption(q: number, code: number, value: Uint8Array): number {
    const dv = this.out.dv, buf = this.out.buf;
    dv.setUint16(q, code, true);
    dv.setUint16(q + 2, value.length, true);
    buf.set(value, q + 4);
    const end = q + optLen(value.length);
    buf.fill(0, q + 4 + value.length, end);
    return end;
  }

  private putEnd(q: number): number {
    this.out.dv.setUint32(q, 0, true); // opt_endofopt
    return q + 4;
  }
}

const TSRESOL_NS = new Uint8Array([9]);

/** Bytes one option takes: 4-byte header plus the value padded to 4. */
function optLen(n: number): number {
  return 4 + ((n + 3) & ~3);
}
