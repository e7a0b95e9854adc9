/**
 * pcapng (draft-ietf-opsawg-pcapng, "PCAP Next Generation Dump File Format"). A file is a list of
 * blocks, each framed the same way so unknown ones can be skipped:
 *
 *   type (4) | total length (4) | body ... | total length (4)      length ≥ 12, multiple of 4
 *
 * A Section Header Block (SHB) starts each section and sets its byte order. Interface Description
 * Blocks (IDB) number that section's interfaces from 0; packet blocks refer to one by that number,
 * which we map to a file-wide index into `interfaces`.
 */
import { CaptureFormatError } from '../errors.js';
import type { CaptureInterface, CapturedPacket } from './packet.js';
import { kMaxCaplen, readOk } from './pcap.js';
import { kMaxRecord, type ByteSource } from './source.js';

/** Block types (§4, Appendix A for the obsolete Packet Block). */
export const BT_SHB = 0x0a0d0d0a;
export const BT_IDB = 0x00000001;
export const BT_PB = 0x00000002;
export const BT_SPB = 0x00000003;
export const BT_NRB = 0x00000004;
export const BT_ISB = 0x00000005;
export const BT_EPB = 0x00000006;
export const BT_DSB = 0x0000000a;
/** Byte-order magic as written by the section's writer (§4.1). */
export const PCAPNG_BOM = 0x1a2b3c4d;

const BLOCK_LEN = 4, MIN_BLOCK = 12;
// §4.1 SHB: BOM, major, minor, section length (8), options.
const SHB_BOM = 8, SHB_MAJOR = 12, SHB_MINOR = 14, SHB_MIN = 28;
// §4.2 IDB: linktype (2), reserved (2), snaplen (4), options.
const IDB_LINKTYPE = 8, IDB_SNAPLEN = 12, IDB_OPTS = 16, IDB_MIN = 20;
// §4.3 EPB: interface id (4), ts high, ts low, caplen, origlen, data padded to 4, options.
// Appendix A PB: same layout but interface id (2) + drops count (2).
const PKT_IFACE = 8, PKT_TS_HI = 12, PKT_TS_LO = 16, PKT_CAPLEN = 20, PKT_ORIGLEN = 24, PKT_DATA = 28, PKT_MIN = 32;
// §4.4 SPB: original length, data padded to 4.
const SPB_ORIGLEN = 8, SPB_DATA = 12, SPB_MIN = 16;
// §3.5 and §4.2/§4.3 option codes.
const OPT_ENDOFOPT = 0, IF_NAME = 2, IF_DESCRIPTION = 3, IF_TSRESOL = 9, IF_TSOFFSET = 14, EPB_FLAGS = 2;

const utf8 = new TextDecoder('utf-8');

function blockName(type: number): string {
  switch (type) {
    case BT_SHB: return 'Section Header Block';
    case BT_IDB: return 'Interface Description Block';
    case BT_PB: return 'Packet Block';
    case BT_SPB: return 'Simple Packet Block';
    case BT_EPB: return 'Enhanced Packet Block';
    default: return `block of type 0x${type.toString(16).padStart(8, '0')}`;
  }
}

/** Block parser for one pcapng file; `src.pos` is at the first SHB when constructed. */
export class PcapngParser {
  /** Byte order of the current section. */
  le = true;
  /** Byte order of the first section. */
  readonly firstLe: boolean;
  sections = 0;
  /** Packets returned so far. */
  count = 0;
  private sectionBase = 0;
  private sectionIfCount = 0;
  // Per interface (file-wide index), timestamp conversion set up once per IDB.
  private readonly ticksPerSec: number[] = [];   // 0 → use the BigInt path
  private readonly nsPerTick: number[] = [];
  private readonly ticksPerSecBig: bigint[] = [];
  private readonly tsOffset: number[] = [];

  constructor(private readonly src: ByteSource, private readonly interfaces: CaptureInterface[]) {
    this.readShb();
    this.firstLe = this.le;
  }

  /** Fill `pkt` with the next packet; false at a clean end of file. Allocates only `pkt.data`. */
  next(pkt: CapturedPacket): boolean {
    const src = this.src;
    // Each turn consumes a whole block of ≥ 12 bytes or throws, so this loop always ends.
    for (;;) {
      if (src.end - src.pos < MIN_BLOCK && !src.fill(MIN_BLOCK)) {
        if (src.end === src.pos) return false;
        throw this.cutShort('block header', src.end - src.pos, MIN_BLOCK);
      }
      const p = src.pos;
      const type = src.dv.getUint32(p, this.le);
      if (type === BT_SHB) {
        this.readShb();
        continue;
      }
      const len = src.dv.getUint32(p + BLOCK_LEN, this.le);
      if ((len & 3) !== 0 || len < MIN_BLOCK) {
        throw this.corrupt(`${blockName(type)} has length ${len}, but block lengths are multiples of 4 from 12 up; ` +
          `the file is corrupt here`);
      }
      switch (type) {
        case BT_EPB: return this.readPacket(pkt, len, false);
        case BT_SPB: return this.readSpb(pkt, len);
        case BT_PB: return this.readPacket(pkt, len, true);
        case BT_IDB: this.readIdb(len); break;
        default: this.skipBlock(type, len); // NRB, ISB, DSB, custom, local-use and unknown blocks
      }
    }
  }

  private readShb(): void {
    const src = this.src;
    if (!src.fill(MIN_BLOCK)) throw this.cutShort('Section Header Block', src.end - src.pos, MIN_BLOCK);
    const bom = src.dv.getUint32(src.pos + SHB_BOM, true);
    let le: boolean;
    if (bom === PCAPNG_BOM) le = true;
    else if (bom === 0x4d3c2b1a) le = false;
    else {
      throw this.corrupt(`Section Header Block byte-order magic is 0x${bom.toString(16).padStart(8, '0')}, not ` +
        `1a2b3c4d; the file is corrupt here (or was copied in text mode: copy it again as binary)`);
    }
    const len = src.dv.getUint32(src.pos + BLOCK_LEN, le);
    const p = this.load(BT_SHB, len, SHB_MIN, le);
    const major = src.dv.getUint16(p + SHB_MAJOR, le), minor = src.dv.getUint16(p + SHB_MINOR, le);
    if (major !== 1) {
      throw this.corrupt(`pcapng version ${major}.${minor} is not supported (only 1.x); ` +
        `convert it with 'editcap -F pcapng IN OUT'`);
    }
    this.le = le;
    this.sections++;
    this.sectionBase = this.interfaces.length;
    this.sectionIfCount = 0;
    src.pos = p + len;
  }

  private readIdb(len: number): void {
    const src = this.src, le = this.le;
    const p = this.load(BT_IDB, len, IDB_MIN, le);
    const dv = src.dv, buf = src.buf;
    const linktype = dv.getUint16(p + IDB_LINKTYPE, le);
    const snaplen = dv.getUint32(p + IDB_SNAPLEN, le);
    let name: string | null = null, description: string | null = null;
    let tsresol = 6, tsoffset = 0; // §4.2: if_tsresol defaults to 10^-6
    const end = p + len - 4;
    for (let o = p + IDB_OPTS; o + 4 <= end;) {
      const code = dv.getUint16(o, le), olen = dv.getUint16(o + 2, le), v = o + 4;
      if (code === OPT_ENDOFOPT) break;
      if (v + olen > end) throw this.optionOverrun(code, olen);
      if (code === IF_NAME) name = decodeString(buf, v, olen);
      else if (code === IF_DESCRIPTION) description = decodeString(buf, v, olen);
      else if (code === IF_TSRESOL && olen >= 1) tsresol = buf[v]!;
      else if (code === IF_TSOFFSET && olen >= 8) tsoffset = Number(dv.getBigInt64(v, le));
      o = v + ((olen + 3) & ~3);
    }
    // if_tsresol: MSB clear → 10^-n s per tick, MSB set → 2^-n.
    const pow2 = (tsresol & 0x80) !== 0, exp = tsresol & 0x7f;
    if (pow2 ? exp > 63 : exp > 19) {
      throw this.corrupt(`Interface Description Block has if_tsresol ${pow2 ? '2' : '10'}^-${exp}, finer than ` +
        `64-bit timestamps can hold; the file is corrupt here`);
    }
    const tps = pow2 ? 2 ** exp : 10 ** exp;
    // Exact in doubles (see ticksToTs) up to 10^-9 and 2^-32; finer resolutions take the BigInt path.
    this.ticksPerSec.push((pow2 ? exp <= 32 : exp <= 9) ? tps : 0);
    this.nsPerTick.push(1e9 / tps);
    this.ticksPerSecBig.push(pow2 ? 1n << BigInt(exp) : 10n ** BigInt(exp));
    this.tsOffset.push(tsoffset);
    this.interfaces.push({
      id: this.interfaces.length, name, description, linktype, snaplen,
      tsresolNs: 1e9 / tps, tsoffsetSec: tsoffset, section: this.sections - 1,
    });
    this.sectionIfCount++;
    src.pos = p + len;
  }

  /** Enhanced Packet Block, or the obsolete Packet Block (`obsolete`) with a 16-bit interface id. */
  private readPacket(pkt: CapturedPacket, len: number, obsolete: boolean): boolean {
    const src = this.src, le = this.le;
    const type = obsolete ? BT_PB : BT_EPB;
    const p = this.load(type, len, PKT_MIN, le);
    const dv = src.dv;
    const ifid = obsolete ? dv.getUint16(p + PKT_IFACE, le) : dv.getUint32(p + PKT_IFACE, le);
    if (ifid >= this.sectionIfCount) throw this.badInterface(type, ifid);
    const caplen = dv.getUint32(p + PKT_CAPLEN, le);
    if (caplen > kMaxCaplen) {
      throw this.corrupt(`${blockName(type)} captured length ${caplen} exceeds the ${kMaxCaplen}-byte limit; ` +
        `the file is corrupt here (${readOk(this.count)})`);
    }
    const optStart = p + PKT_DATA + ((caplen + 3) & ~3), end = p + len - 4;
    if (optStart > end) {
      throw this.corrupt(`${blockName(type)} captured length ${caplen} does not fit in its ${len}-byte block; ` +
        `the file is corrupt here`);
    }
    // epb_flags / pack_flags (§4.3.1): bits 0-1 are the direction. Most blocks carry no options.
    let direction = 0;
    for (let o = optStart; o + 4 <= end;) {
      const code = dv.getUint16(o, le), olen = dv.getUint16(o + 2, le), v = o + 4;
      if (code === OPT_ENDOFOPT) break;
      if (v + olen > end) throw this.optionOverrun(code, olen);
      if (code === EPB_FLAGS && olen >= 4) {
        direction = dv.getUint32(v, le) & 3;
        if (direction === 3) direction = 0; // 3 is not a valid direction
      }
      o = v + ((olen + 3) & ~3);
    }
    const gid = this.sectionBase + ifid;
    const origLen = dv.getUint32(p + PKT_ORIGLEN, le);
    this.ticksToTs(pkt, gid, dv.getUint32(p + PKT_TS_HI, le), dv.getUint32(p + PKT_TS_LO, le));
    this.setPacket(pkt, p, p + PKT_DATA, caplen, origLen, gid, direction);
    src.pos = p + len;
    return true;
  }

  /** Simple Packet Block: no interface id (the section's first), no timestamp, caplen implied. */
  private readSpb(pkt: CapturedPacket, len: number): boolean {
    const src = this.src, le = this.le;
    const p = this.load(BT_SPB, len, SPB_MIN, le);
    if (this.sectionIfCount === 0) throw this.badInterface(BT_SPB, 0);
    const gid = this.sectionBase;
    const origLen = src.dv.getUint32(p + SPB_ORIGLEN, le);
    // §4.4: caplen = min(original length, snaplen of interface 0); the block body bounds it too.
    const snaplen = this.interfaces[gid]!.snaplen;
    let caplen = Math.min(origLen, len - SPB_MIN);
    if (snaplen !== 0 && caplen > snaplen) caplen = snaplen;
    if (caplen > kMaxCaplen) {
      throw this.corrupt(`Simple Packet Block captured length ${caplen} exceeds the ${kMaxCaplen}-byte limit; ` +
        `the file is corrupt here (${readOk(this.count)})`);
    }
    pkt.tsSec = 0;
    pkt.tsNsec = 0;
    this.setPacket(pkt, p, p + SPB_DATA, caplen, origLen, gid, 0);
    src.pos = p + len;
    return true;
  }

  private setPacket(pkt: CapturedPacket, p: number, off: number, caplen: number, origLen: number,
    gid: number, direction: number): void {
    const src = this.src;
    pkt.index = this.count++;
    pkt.buf = src.buf;
    pkt.dv = src.dv;
    pkt.off = off;
    pkt.data = src.buf.subarray(off, off + caplen);
    pkt.caplen = caplen;
    pkt.origLen = origLen;
    pkt.linktype = this.interfaces[gid]!.linktype;
    pkt.ifaceId = gid;
    pkt.direction = direction;
    pkt.truncated = caplen < origLen;
    pkt.fileOffset = src.base + p;
  }

  /**
   * 64-bit tick count (hi:lo) → integer seconds + nanoseconds without BigInt, by long division in
   * 16-bit steps: every intermediate stays below D·2^16 ≤ 2^53 for D ≤ 2^37. The remainder r < D
   * times nsPerTick is exact for 10^-n (n ≤ 9, an integer factor) and 2^-n (n ≤ 32: 1e9/2^n has a
   * 21-bit mantissa, so r·it fits in 53 bits). Rounds toward zero, as Wireshark does.
   */
  private ticksToTs(pkt: CapturedPacket, gid: number, hi: number, lo: number): void {
    const d = this.ticksPerSec[gid]!;
    if (d === 0) return this.ticksToTsBig(pkt, gid, hi, lo);
    const hq = Math.floor(hi / d), hr = hi - hq * d;
    const t1 = hr * 65536 + (lo >>> 16), q1 = Math.floor(t1 / d), r1 = t1 - q1 * d;
    const t2 = r1 * 65536 + (lo & 0xffff), q2 = Math.floor(t2 / d), r2 = t2 - q2 * d;
    pkt.tsSec = hq * 4294967296 + q1 * 65536 + q2 + this.tsOffset[gid]!;
    pkt.tsNsec = Math.floor(r2 * this.nsPerTick[gid]!);
  }

  /** Resolutions finer than 10^-9 or 2^-32 (rare): allocates BigInts per packet. */
  private ticksToTsBig(pkt: CapturedPacket, gid: number, hi: number, lo: number): void {
    const d = this.ticksPerSecBig[gid]!;
    const ticks = (BigInt(hi) << 32n) | BigInt(lo);
    pkt.tsSec = Number(ticks / d) + this.tsOffset[gid]!;
    pkt.tsNsec = Number(((ticks % d) * 1_000_000_000n) / d);
  }

  /** Check the block's length bounds, buffer all of it and check its trailing length; returns its position. */
  private load(type: number, len: number, min: number, le: boolean): number {
    const src = this.src;
    if ((len & 3) !== 0) {
      throw this.corrupt(`${blockName(type)} has length ${len}, not a multiple of 4; the file is corrupt here`);
    }
    if (len < min) {
      throw this.corrupt(`${blockName(type)} has length ${len}, below its minimum of ${min}; the file is corrupt here`);
    }
    if (len > kMaxRecord) {
      throw this.corrupt(`${blockName(type)} has length ${len}, over the ${kMaxRecord >> 20} MiB limit; ` +
        `the file is corrupt here`);
    }
    if (!src.fill(len)) throw this.cutShort(blockName(type), src.end - src.pos, len);
    const p = src.pos;
    const trailer = src.dv.getUint32(p + len - 4, le);
    if (trailer !== len) {
      throw this.corrupt(`${blockName(type)} starts with length ${len} but ends with ${trailer}; ` +
        `the file is corrupt here`);
    }
    return p;
  }

  /** Skip a block we do not interpret without buffering it, then check its trailing length. */
  private skipBlock(type: number, len: number): void {
    const src = this.src;
    const start = src.offsetOf(src.pos);
    if (!src.skip(len - 4) || !src.fill(4)) {
      throw new CaptureFormatError(src.name, start, this.cutShortWhat(blockName(type),
        Math.min(len, src.offsetOf(src.end) - start), len));
    }
    const trailer = src.dv.getUint32(src.pos, this.le);
    if (trailer !== len) {
      throw new CaptureFormatError(src.name, start, `${blockName(type)} starts with length ${len} but ends ` +
        `with ${trailer}; the file is corrupt here`);
    }
    src.pos += 4;
  }

  private corrupt(what: string): CaptureFormatError {
    return new CaptureFormatError(this.src.name, this.src.offsetOf(this.src.pos), what);
  }

  private cutShort(kind: string, have: number, need: number): CaptureFormatError {
    return this.corrupt(this.cutShortWhat(kind, have, need));
  }

  private cutShortWhat(kind: string, have: number, need: number): string {
    const article = /^[AEIOU]/.test(kind) ? 'an' : 'a';
    return `file ends inside ${article} ${kind} (${have} of ${need} bytes), so the capture was cut off mid-write; ` +
      `${readOk(this.count)}: copy the file again once the capture has stopped`;
  }

  private optionOverrun(code: number, olen: number): CaptureFormatError {
    return this.corrupt(`option ${code} of length ${olen} runs past the end of its block; the file is corrupt here`);
  }

  private badInterface(type: number, ifid: number): CaptureFormatError {
    return this.corrupt(`${blockName(type)} refers to interface ${ifid}, but section ${this.sections - 1} has ` +
      `${this.sectionIfCount} Interface Description Blocks before it; the file is corrupt here`);
  }
}

/** pcapng option string: UTF-8, maybe NUL-padded by some writers. */
function decodeString(buf: Uint8Array, off: number, len: number): string {
  let n = len;
  while (n > 0 && buf[off + n - 1] === 0) n--;
  return utf8.decode(buf.subarray(off, off + n));
}
