/** TCP header and options (RFC 9293 §3.1-3.2; window scale and timestamps RFC 7323; SACK RFC 2018). */
import { EMPTY_U8, put16, put32, u16, u32 } from './bytes.js';
import { adjust16, adjust32, finish, pseudoSum4, pseudoSum6, sum16, verifies } from './checksum.js';

// RFC 9293 §3.1 offsets.
export const TCP_SPORT = 0, TCP_DPORT = 2, TCP_SEQ = 4, TCP_ACK = 8, TCP_DOFF = 12, TCP_FLAGS = 13;
export const TCP_WIN = 14, TCP_CSUM = 16, TCP_URG = 18;
/** Header length without options. */
export const TCP_HLEN = 20;
/** Control bits (RFC 9293 §3.1; CWR/ECE RFC 3168 §6.1; AE RFC 9768 in the low bit of TCP_DOFF). */
export const TCP_FIN = 0x01, TCP_SYN = 0x02, TCP_RST = 0x04, TCP_PSH = 0x08, TCP_ACKF = 0x10, TCP_URGF = 0x20;
export const TCP_ECE = 0x40, TCP_CWR = 0x80, TCP_AE = 0x100;

/** Option kinds (RFC 9293 §3.2, RFC 7323 §2.2/§3.2, RFC 2018 §2/§3). */
export const TCPOPT_EOL = 0, TCPOPT_NOP = 1, TCPOPT_MSS = 2, TCPOPT_WSCALE = 3, TCPOPT_SACK_PERM = 4;
export const TCPOPT_SACK = 5, TCPOPT_TIMESTAMP = 8;
/** Option lengths for the fixed-size kinds. */
export const TCPOLEN_MSS = 4, TCPOLEN_WSCALE = 3, TCPOLEN_SACK_PERM = 2, TCPOLEN_TIMESTAMP = 10;

/**
 * Write options at `off` in the order Linux tcp_options_write() uses (so `tcpdump` shows the familiar
 * `mss 1460,sackOK,TS val … ecr …,nop,wscale 7`). Pass -1 to leave an option out. Returns the length
 * written, a multiple of 4.
 */
export function writeTcpOptions(b: Uint8Array, off: number, mss: number, wscale: number, sackPerm: boolean, tsVal: number, tsEcr: number): number {
  let o = off;
  if (mss >= 0) { b[o] = TCPOPT_MSS; b[o + 1] = TCPOLEN_MSS; put16(b, o + 2, mss); o += 4; }
  if (tsVal >= 0) {
    if (sackPerm) { b[o] = TCPOPT_SACK_PERM; b[o + 1] = TCPOLEN_SACK_PERM; } else { b[o] = TCPOPT_NOP; b[o + 1] = TCPOPT_NOP; }
    b[o + 2] = TCPOPT_TIMESTAMP; b[o + 3] = TCPOLEN_TIMESTAMP;
    put32(b, o + 4, tsVal); put32(b, o + 8, tsEcr < 0 ? 0 : tsEcr);
    o += 12;
  } else if (sackPerm) {
    b[o] = TCPOPT_NOP; b[o + 1] = TCPOPT_NOP; b[o + 2] = TCPOPT_SACK_PERM; b[o + 3] = TCPOLEN_SACK_PERM;
    o += 4;
  }
  if (wscale >= 0) { b[o] = TCPOPT_NOP; b[o + 1] = TCPOPT_WSCALE; b[o + 2] = TCPOLEN_WSCALE; b[o + 3] = wscale; o += 4; }
  return o - off;
}

/**
 * Write the fixed TCP header at `off` with data offset `hdrLen` (options, if any, at off+20) and a
 * zero checksum; fill it with `tcpFillChecksum4/6` once the payload is in place. Returns off + hdrLen.
 */
export function writeTcp(b: Uint8Array, off: number, sport: number, dport: number, seq: number, ack: number, flags: number, win: number, hdrLen: number): number {
  put16(b, off + TCP_SPORT, sport);
  put16(b, off + TCP_DPORT, dport);
  put32(b, off + TCP_SEQ, seq);
  put32(b, off + TCP_ACK, ack);
  b[off + TCP_DOFF] = ((hdrLen >>> 2) << 4) | ((flags >>> 8) & 1);
  b[off + TCP_FLAGS] = flags;
  put16(b, off + TCP_WIN, win);
  put16(b, off + TCP_CSUM, 0);
  put16(b, off + TCP_URG, 0);
  return off + hdrLen;
}

/** Fill the checksum of the `len`-byte TCP segment at `off` over IPv4 (RFC 9293 §3.1 "Checksum"). */
export function tcpFillChecksum4(b: Uint8Array, off: number, len: number, src: number, dst: number): void {
  put16(b, off + TCP_CSUM, 0);
  put16(b, off + TCP_CSUM, finish(sum16(b, off, len, pseudoSum4(src, dst, 6, len))));
}

/** Fill the checksum of the TCP segment at `off` over IPv6 (RFC 8200 §8.1); addresses in `a`. */
export function tcpFillChecksum6(b: Uint8Array, off: number, len: number, a: Uint8Array, srcOff: number, dstOff: number): void {
  put16(b, off + TCP_CSUM, 0);
  put16(b, off + TCP_CSUM, finish(sum16(b, off, len, pseudoSum6(a, srcOff, dstOff, 6, len))));
}

/** TCP header view. `check()` must return true before any accessor is used. */
export class TcpView {
  bytes: Uint8Array = EMPTY_U8;
  off = 0;
  reset(bytes: Uint8Array, off: number): this {
    this.bytes = bytes;
    this.off = off;
    return this;
  }
  /** 20 ≤ data offset ≤ `len - off` (tcp_v4_rcv's pskb_may_pull and doff checks). */
  check(len: number): boolean {
    const b = this.bytes, o = this.off, avail = Math.min(len, b.length) - o;
    if (avail < TCP_HLEN) return false;
    const h = (b[o + TCP_DOFF] >>> 4) << 2;
    return h >= TCP_HLEN && h <= avail;
  }
  sport(): number { return u16(this.bytes, this.off + TCP_SPORT); }
  dport(): number { return u16(this.bytes, this.off + TCP_DPORT); }
  seq(): number { return u32(this.bytes, this.off + TCP_SEQ); }
  ack(): number { return u32(this.bytes, this.off + TCP_ACK); }
  headerLen(): number { return (this.bytes[this.off + TCP_DOFF] >>> 4) << 2; }
  /** The 9 control bits (AE, CWR … FIN). */
  flags(): number { return ((this.bytes[this.off + TCP_DOFF] & 1) << 8) | this.bytes[this.off + TCP_FLAGS]; }
  window(): number { return u16(this.bytes, this.off + TCP_WIN); }
  checksum(): number { return u16(this.bytes, this.off + TCP_CSUM); }
  urgent(): number { return u16(this.bytes, this.off + TCP_URG); }
  /** Verify the checksum of a `len`-byte segment over IPv4. */
  checksumOk4(len: number, src: number, dst: number): boolean {
    return verifies(sum16(this.bytes, this.off, len, pseudoSum4(src, dst, 6, len)));
  }
  /** Verify the checksum of a `len`-byte segment over IPv6. */
  checksumOk6(len: number, a: Uint8Array, srcOff: number, dstOff: number): boolean {
    return verifies(sum16(this.bytes, this.off, len, pseudoSum6(a, srcOff, dstOff, 6, len)));
  }
  /** Set the source port, patching the checksum (RFC 1624). */
  setSport(p: number): void { this.rewrite16(TCP_SPORT, p); }
  /** Set the destination port, patching the checksum (RFC 1624). */
  setDport(p: number): void { this.rewrite16(TCP_DPORT, p); }
  /** Patch the checksum for an IPv4 pseudo-header address change (NAT). */
  addressChanged(oldAddr: number, newAddr: number): void {
    const o = this.off + TCP_CSUM;
    put16(this.bytes, o, adjust32(u16(this.bytes, o), oldAddr, newAddr));
  }
  private rewrite16(field: number, v: number): void {
    const b = this.bytes, o = this.off;
    const old = u16(b, o + field);
    put16(b, o + field, v);
    put16(b, o + TCP_CSUM, adjust16(u16(b, o + TCP_CSUM), old, v));
  }
}
