/**
 * Internet checksum (RFC 1071) and its incremental update (RFC 1624). Sums are kept as plain
 * numbers (< 2^53) and folded once at the end, so a 64 KiB datagram never overflows.
 */

/** Add the 16-bit big-endian words of `b[off, off+len)` to `acc` (an odd trailing byte is padded). */
export function sum16(b: Uint8Array, off: number, len: number, acc: number): number {
  let s = acc;
  let i = off;
  const end = off + (len & ~1);
  // Four words per iteration. A DataView getUint32 loop was 1.5x faster on 1466-byte segments but
  // needs a view per ArrayBuffer, i.e. an allocation per frame when frames are separate buffers.
  for (const end8 = end - 7; i < end8; i += 8) {
    s += ((b[i] << 8) | b[i + 1]) + ((b[i + 2] << 8) | b[i + 3]) + ((b[i + 4] << 8) | b[i + 5]) + ((b[i + 6] << 8) | b[i + 7]);
  }
  for (; i < end; i += 2) s += (b[i] << 8) | b[i + 1];
  if (len & 1) s += b[end] << 8;
  return s;
}

/** Fold a running sum to 16 bits (end-around carry). */
export function fold(s: number): number {
  while (s > 0xffff) {
    const lo = s & 0xffff;
    s = lo + (s - lo) / 65536;
  }
  return s;
}

/** The checksum field value for data whose sum (checksum field zeroed) is `s`. */
export function finish(s: number): number {
  return ~fold(s) & 0xffff;
}

/** RFC 768 / RFC 9293 §3.1 IPv4 pseudo-header sum: src, dst, zero+protocol, length. */
export function pseudoSum4(src: number, dst: number, proto: number, len: number): number {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + proto + len;
}

/** RFC 8200 §8.1 IPv6 pseudo-header sum: src, dst (16 bytes each), 32-bit length, next header. */
export function pseudoSum6(a: Uint8Array, srcOff: number, dstOff: number, proto: number, len: number): number {
  return sum16(a, srcOff, 16, sum16(a, dstOff, 16, 0)) + (len >>> 16) + (len & 0xffff) + proto;
}

/** True when data including its checksum field sums to 0xffff (RFC 1071 §1 verification). */
export function verifies(s: number): boolean {
  return fold(s) === 0xffff;
}

/**
 * RFC 1624 eqn. 3: the checksum after a 16-bit word of the covered data changes from `oldWord` to
 * `newWord` (HC' = ~(~HC + ~m + m')). For NAT rewrites without re-summing the payload.
 */
export function adjust16(csum: number, oldWord: number, newWord: number): number {
  return ~fold((~csum & 0xffff) + (~oldWord & 0xffff) + (newWord & 0xffff)) & 0xffff;
}

/** RFC 1624 update for a 32-bit field (an IPv4 address) changing from `oldVal` to `newVal`. */
export function adjust32(csum: number, oldVal: number, newVal: number): number {
  const s = (~csum & 0xffff) + (~(oldVal >>> 16) & 0xffff) + (~oldVal & 0xffff) + (newVal >>> 16) + (newVal & 0xffff);
  return ~fold(s) & 0xffff;
}
