/**
 * Capture reader: detects classic pcap or pcapng by the first four bytes and hands out packets one
 * at a time from a reused buffer (see source.ts), synchronously.
 *
 *   const r = CaptureReader.open('x.pcapng');
 *   for (let p = r.next(); p !== null; p = r.next()) use(p.data, p.tsSec, p.tsNsec);
 *   r.close();
 */
import { CaptureFormatError } from '../errors.js';
import { type CaptureInterface, CapturedPacket } from './packet.js';
import { PCAP_MAGIC_NS, PCAP_MAGIC_NS_SWAPPED, PCAP_MAGIC_US, PCAP_MAGIC_US_SWAPPED, PcapParser } from './pcap.js';
import { BT_SHB, PcapngParser } from './pcapng.js';
import { ByteSource, kChunkSize } from './source.js';

export { CapturedPacket, earliestHead, formatTs, type CaptureInterface } from './packet.js';

/** Streams packets out of one pcap or pcapng file (or stdin). */
export class CaptureReader {
  readonly format: 'pcap' | 'pcapng';
  /** Byte order of the first section. */
  readonly byteOrder: 'little' | 'big';
  /** Grows while reading pcapng, since IDBs may come after packets; one entry (id 0) for classic pcap. */
  readonly interfaces: CaptureInterface[] = [];
  private readonly pcap: PcapParser | null;
  private readonly ng: PcapngParser | null;
  private readonly pkt = new CapturedPacket();
  private failure: unknown = null;
  private done = false;

  private constructor(readonly path: string, private readonly src: ByteSource) {
    if (!src.fill(4)) {
      throw new CaptureFormatError(src.name, 0, src.end === 0
        ? 'file is empty; expected a pcap or pcapng capture'
        : `file is only ${src.end} bytes long; expected a pcap or pcapng capture`);
    }
    const magic = src.dv.getUint32(src.pos, false);
    if (magic === BT_SHB) {
      this.format = 'pcapng';
      this.pcap = null;
      this.ng = new PcapngParser(src, this.interfaces);
      this.byteOrder = this.ng.firstLe ? 'little' : 'big';
    } else if (magic === PCAP_MAGIC_US || magic === PCAP_MAGIC_NS ||
      magic === PCAP_MAGIC_US_SWAPPED || magic === PCAP_MAGIC_NS_SWAPPED) {
      this.format = 'pcap';
      this.ng = null;
      this.pcap = new PcapParser(src, this.interfaces);
      this.byteOrder = this.pcap.le ? 'little' : 'big';
    } else {
      throw new CaptureFormatError(src.name, 0, unknownMagic(magic));
    }
  }

  /** Open a capture file, or stdin for '-'. Throws CaptureFormatError if it is not pcap or pcapng. */
  static open(path: string): CaptureReader {
    return CaptureReader.from(path, ByteSource.open(path));
  }

  /** Read a capture held in memory (tests; `chunkSize` sets the initial read-buffer size). */
  static fromBytes(bytes: Uint8Array, name = 'bytes', chunkSize = kChunkSize): CaptureReader {
    return CaptureReader.from(name, ByteSource.fromBytes(bytes, name, chunkSize));
  }

  private static from(path: string, src: ByteSource): CaptureReader {
    try {
      return new CaptureReader(path, src);
    } catch (err) {
      src.close();
      throw err;
    }
  }

  /** Timestamp units: 'micro' when every interface ticks at 1 µs or coarser, 'nano' when all are finer. */
  get precision(): 'micro' | 'nano' | 'mixed' {
    if (this.pcap !== null) return this.pcap.nano ? 'nano' : 'micro';
    let micro = 0, nano = 0;
    for (const i of this.interfaces) {
      if (i.tsresolNs >= 1000) micro++;
      else nano++;
    }
    return nano === 0 ? 'micro' : micro === 0 ? 'nano' : 'mixed';
  }

  /** Sections seen so far (pcapng); 1 for classic pcap. */
  get sections(): number {
    return this.ng !== null ? this.ng.sections : 1;
  }

  /**
   * The next packet, or null at the end. The returned object is reused by the following call.
   * Throws CaptureFormatError on corruption, after every good packet before it was returned; it then
   * throws the same error again on every later call.
   */
  next(): CapturedPacket | null {
    if (this.done) {
      if (this.failure !== null) throw this.failure;
      return null;
    }
    try {
      const more = this.pcap !== null ? this.pcap.next(this.pkt) : this.ng!.next(this.pkt);
      if (more) return this.pkt;
    } catch (err) {
      this.done = true;
      this.failure = err;
      this.src.close();
      throw err;
    }
    this.done = true;
    this.src.close();
    return null;
  }

  close(): void {
    this.done = true;
    this.src.close();
  }
}

function unknownMagic(magic: number): string {
  const hex = magic.toString(16).padStart(8, '0');
  if (magic === 0xa1b2cd34 || magic === 0x34cdb2a1) {
    return "file is a modified (Kuznetzov) pcap, which we do not read; convert it with 'editcap -F pcap IN OUT'";
  }
  if (magic >>> 16 === 0x1f8b) return "file is gzip-compressed; decompress it first ('gunzip -k FILE')";
  if (magic === 0x28b52ffd) return "file is zstd-compressed; decompress it first ('zstd -d FILE')";
  return `not a pcap or pcapng file (it starts with 0x${hex}); give a capture written by tcpdump, dumpcap or tshark`;
}
