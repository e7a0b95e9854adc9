/**
 * Classic libpcap file format (draft-ietf-opsawg-pcap, "PCAP Capture File Format").
 *
 *   file header (24)   magic | major 2 | minor 4 | reserved ×2 | snaplen | linktype+FCS bits
 *   record (16 + n)    ts_sec | ts_usec or ts_nsec | caplen | origlen | n = caplen bytes
 *
 * The magic, written in the writer's byte order, gives both byte order and timestamp units.
 */
import { CaptureFormatError } from '../errors.js';
import type { CaptureInterface, CapturedPacket } from './packet.js';
import type { ByteSource } from './source.js';

/** Magic numbers as read big-endian from the first four bytes (§4). */
export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const PCAP_MAGIC_NS = 0xa1b23c4d;
export const PCAP_MAGIC_US_SWAPPED = 0xd4c3b2a1;
export const PCAP_MAGIC_NS_SWAPPED = 0x4d3cb2a1;

// draft-ietf-opsawg-pcap §4 (file header) and §5 (packet record) offsets.
const FH_MAJOR = 4, FH_MINOR = 6, FH_SNAPLEN = 16, FH_LINKTYPE = 20, FH_LEN = 24;
const RH_TS_SEC = 0, RH_TS_FRAC = 4, RH_CAPLEN = 8, RH_ORIGLEN = 12, RH_LEN = 16;

/** libpcap's MAXIMUM_SNAPLEN: no real capture holds a larger record, so a larger caplen is corruption. */
export const kMaxCaplen = 256 * 1024;

/** Record parser for one classic pcap file; `src.pos` is at the file header when constructed. */
export class PcapParser {
  readonly le: boolean;
  readonly nano: boolean;
  readonly snaplen: number;
  readonly linktype: number;
  /** Packets returned so far. */
  count = 0;
  private readonly maxCaplen: number;
  private readonly fracPerSec: number;
  private readonly nsPerFrac: number;

  constructor(private readonly src: ByteSource, interfaces: CaptureInterface[]) {
    const magic = src.dv.getUint32(src.pos, false);
    this.le = magic === PCAP_MAGIC_US_SWAPPED || magic === PCAP_MAGIC_NS_SWAPPED;
    this.nano = magic === PCAP_MAGIC_NS || magic === PCAP_MAGIC_NS_SWAPPED;
    if (!src.fill(FH_LEN)) {
      throw new CaptureFormatError(src.name, 0,
        `pcap file header cut short (${src.end - src.pos} of ${FH_LEN} bytes); the file is truncated or not a capture`);
    }
    const p = src.pos, dv = src.dv, le = this.le;
    const major = dv.getUint16(p + FH_MAJOR, le), minor = dv.getUint16(p + FH_MINOR, le);
    if (major !== 2 || minor !== 4) {
      throw new CaptureFormatError(src.name, FH_MAJOR,
        `pcap version ${major}.${minor} is not supported (only 2.4); convert it with 'editcap -F pcap IN OUT'`);
    }
    this.snaplen = dv.getUint32(p + FH_SNAPLEN, le);
    // §4: the upper bits carry FCS-length flags; libpcap's LT_LINKTYPE() keeps the low 16.
    this.linktype = dv.getUint32(p + FH_LINKTYPE, le) & 0xffff;
    // Snaplen 0 (some writers) means "no limit"; a huge snaplen still cannot allow a hostile caplen.
    this.maxCaplen = this.snaplen === 0 ? kMaxCaplen : Math.min(this.snaplen, kMaxCaplen);
    this.fracPerSec = this.nano ? 1e9 : 1e6;
    this.nsPerFrac = this.nano ? 1 : 1000;
    src.pos = p + FH_LEN;
    interfaces.push({
      id: 0, name: null, description: null, linktype: this.linktype, snaplen: this.snaplen,
      tsresolNs: this.nsPerFrac, tsoffsetSec: 0, section: 0,
    });
  }

  /** Fill `pkt` with the next record; false at a clean end of file. Allocates only `pkt.data`. */
  next(pkt: CapturedPacket): boolean {
    const src = this.src;
    if (src.end - src.pos < RH_LEN && !src.fill(RH_LEN)) {
      if (src.end === src.pos) return false;
      throw this.cutShort(src.pos, src.end - src.pos, RH_LEN, 'record header');
    }
    let p = src.pos, dv = src.dv;
    const le = this.le;
    const caplen = dv.getUint32(p + RH_CAPLEN, le);
    if (caplen > this.maxCaplen) {
      const limit = caplen > kMaxCaplen ? `the ${kMaxCaplen}-byte limit` : `the file's snaplen ${this.snaplen}`;
      throw new CaptureFormatError(src.name, src.offsetOf(p),
        `packet ${this.count + 1}: captured length ${caplen} exceeds ${limit}; the file is corrupt from here ` +
        `(${readOk(this.count)})`);
    }
    const need = RH_LEN + caplen;
    if (src.end - p < need) {
      if (!src.fill(need)) throw this.cutShort(src.pos, src.end - src.pos, need, 'packet');
      p = src.pos;
      dv = src.dv;
    }
    let sec = dv.getUint32(p + RH_TS_SEC, le);
    let frac = dv.getUint32(p + RH_TS_FRAC, le);
    if (frac >= this.fracPerSec) {
      // Out-of-range fraction (seen from buggy writers): carry whole seconds, keep tsNsec in range.
      sec += Math.floor(frac / this.fracPerSec);
      frac %= this.fracPerSec;
    }
    const origLen = dv.getUint32(p + RH_ORIGLEN, le);
    pkt.index = this.count++;
    pkt.buf = src.buf;
    pkt.dv = dv;
    pkt.off = p + RH_LEN;
    pkt.data = src.buf.subarray(p + RH_LEN, p + need);
    pkt.caplen = caplen;
    pkt.origLen = origLen;
    pkt.tsSec = sec;
    pkt.tsNsec = frac * this.nsPerFrac;
    pkt.linktype = this.linktype;
    pkt.ifaceId = -1;
    pkt.direction = 0;
    pkt.truncated = caplen < origLen;
    pkt.fileOffset = src.base + p;
    src.pos = p + need;
    return true;
  }

  private cutShort(p: number, have: number, need: number, what: string): CaptureFormatError {
    return new CaptureFormatError(this.src.name, this.src.offsetOf(p),
      `file ends inside packet ${this.count + 1} (${have} of ${need} bytes of its ${what}), so the capture was ` +
      `cut off mid-write; ${readOk(this.count)}: copy the file again once the capture has stopped`);
  }
}

/** "the 3 packets before it read ok", for corruption messages. */
export function readOk(count: number): string {
  return count === 0 ? 'no packet came before it' : count === 1 ? 'the packet before it read ok' :
    `the ${count} packets before it read ok`;
}
