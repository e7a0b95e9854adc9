/** ICMP for IPv4 (RFC 792): echo and the error messages that quote the offending datagram. */
import { EMPTY_U8, copyBytes, put16, put32, u16, u32 } from './bytes.js';
import { finish, sum16, verifies } from './checksum.js';

// RFC 792 offsets: type, code, checksum, then 4 type-specific bytes (echo: identifier, sequence).
export const ICMP_TYPE = 0, ICMP_CODE = 1, ICMP_CSUM = 2, ICMP_ID = 4, ICMP_SEQ = 6, ICMP_REST = 4;
/** Header length (struct icmphdr). */
export const ICMP_HLEN = 8;

/** Message types (RFC 792; RFC 950 address mask). */
export const ICMP_ECHOREPLY = 0, ICMP_DEST_UNREACH = 3, ICMP_SOURCE_QUENCH = 4, ICMP_REDIRECT = 5, ICMP_ECHO = 8;
export const ICMP_TIME_EXCEEDED = 11, ICMP_PARAMETERPROB = 12, ICMP_TIMESTAMP = 13, ICMP_TIMESTAMPREPLY = 14;
/** Highest type the kernel accepts (include/uapi/linux/icmp.h NR_ICMP_TYPES); icmp_rcv drops above it. */
export const NR_ICMP_TYPES = 18;
/** Destination unreachable codes (RFC 792; RFC 1122 §3.2.2.1; RFC 1812 §5.2.7.1). */
export const ICMP_NET_UNREACH = 0, ICMP_HOST_UNREACH = 1, ICMP_PROT_UNREACH = 2, ICMP_PORT_UNREACH = 3;
export const ICMP_FRAG_NEEDED = 4, ICMP_PKT_FILTERED = 13;
/** Time exceeded codes. */
export const ICMP_EXC_TTL = 0, ICMP_EXC_FRAGTIME = 1;
/**
 * Most bytes of the offending datagram an error quotes: Linux icmp_send() fills up to 576 bytes
 * (RFC 1812 §4.3.2.3) less its own 20-byte IP and 8-byte ICMP headers.
 */
export const ICMP_MAX_QUOTE = 548;

/** True for types that quote an IP header after the 8-byte ICMP header. */
export function icmpIsError(type: number): boolean {
  return type === 3 || type === 4 || type === 5 || type === 11 || type === 12;
}

/**
 * Write an echo request (8) or reply (0) at `off` whose `payloadLen` bytes are already at off+8, and
 * its checksum. Returns the offset after the payload.
 */
export function writeIcmpEcho(b: Uint8Array, off: number, type: number, id: number, seq: number, payloadLen: number): number {
  b[off + ICMP_TYPE] = type;
  b[off + ICMP_CODE] = 0;
  put16(b, off + ICMP_ID, id);
  put16(b, off + ICMP_SEQ, seq);
  icmpFillChecksum(b, off, ICMP_HLEN + payloadLen);
  return off + ICMP_HLEN + payloadLen;
}

/**
 * Write an error message at `off` quoting `quoteLen` bytes of `quote` from `quoteOff` (may be `b`
 * itself). `rest` is the 32-bit type-specific word: the next-hop MTU for fragmentation needed
 * (RFC 1191 §4, low 16 bits), the pointer for parameter problem (top byte), the gateway for redirect.
 * Returns the offset after the quote.
 */
export function writeIcmpError(b: Uint8Array, off: number, type: number, code: number, rest: number, quote: Uint8Array, quoteOff: number, quoteLen: number): number {
  copyBytes(b, off + ICMP_HLEN, quote, quoteOff, quoteLen);
  b[off + ICMP_TYPE] = type;
  b[off + ICMP_CODE] = code;
  put32(b, off + ICMP_REST, rest);
  icmpFillChecksum(b, off, ICMP_HLEN + quoteLen);
  return off + ICMP_HLEN + quoteLen;
}

/** Fill the checksum of the `len`-byte ICMP message at `off` (RFC 792: over the whole message). */
export function icmpFillChecksum(b: Uint8Array, off: number, len: number): void {
  put16(b, off + ICMP_CSUM, 0);
  put16(b, off + ICMP_CSUM, finish(sum16(b, off, len, 0)));
}

/** ICMP header view. `check()` must return true before any accessor is used. */
export class IcmpView {
  bytes: Uint8Array = EMPTY_U8;
  off = 0;
  reset(bytes: Uint8Array, off: number): this {
    this.bytes = bytes;
    this.off = off;
    return this;
  }
  check(len: number): boolean {
    return this.off + ICMP_HLEN <= Math.min(len, this.bytes.length);
  }
  type(): number { return this.bytes[this.off + ICMP_TYPE]; }
  code(): number { return this.bytes[this.off + ICMP_CODE]; }
  checksum(): number { return u16(this.bytes, this.off + ICMP_CSUM); }
  id(): number { return u16(this.bytes, this.off + ICMP_ID); }
  seq(): number { return u16(this.bytes, this.off + ICMP_SEQ); }
  /** The 32-bit word after the checksum. */
  rest(): number { return u32(this.bytes, this.off + ICMP_REST); }
  /** Next-hop MTU of a fragmentation-needed message (RFC 1191 §4). */
  mtu(): number { return u16(this.bytes, this.off + 6); }
  /** Offset of the quoted IP header of an error message. */
  innerOff(): number { return this.off + ICMP_HLEN; }
  checksumOk(len: number): boolean { return verifies(sum16(this.bytes, this.off, len, 0)); }
  setId(v: number, len: number): void { put16(this.bytes, this.off + ICMP_ID, v); icmpFillChecksum(this.bytes, this.off, len); }
}
