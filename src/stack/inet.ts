/**
 * Address helpers for configuration (not the packet hot path): IPv4 as unsigned 32-bit numbers,
 * prefixes as (address, length), MACs as a 16-bit high part and a 32-bit low part.
 */

/** Parse dotted-quad IPv4 text to an unsigned 32-bit number; NaN when malformed. */
export function parseIpv4(s: string): number {
  const parts = s.split('.');
  if (parts.length !== 4) return NaN;
  let v = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return NaN;
    const n = Number(p);
    if (n > 255) return NaN;
    v = v * 256 + n;
  }
  return v >>> 0;
}

/** Format an unsigned 32-bit IPv4 address as dotted quad. */
export function formatIpv4(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}

/** Network mask of a prefix length (0..32) as an unsigned 32-bit number. */
export function maskOf(len: number): number {
  return len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
}

/** An IPv4 prefix. */
export interface Prefix4 {
  addr: number;
  len: number;
}

/** Parse 'A.B.C.D[/len]' or 'default' / 'any'; null when malformed. */
export function parsePrefix4(s: string): Prefix4 | null {
  if (s === 'default' || s === 'any' || s === 'all' || s === '0/0') return { addr: 0, len: 0 };
  const slash = s.indexOf('/');
  const a = parseIpv4(slash < 0 ? s : s.slice(0, slash));
  const len = slash < 0 ? 32 : Number(s.slice(slash + 1));
  if (Number.isNaN(a) || !Number.isInteger(len) || len < 0 || len > 32) return null;
  return { addr: (a & maskOf(len)) >>> 0, len };
}

/** True when address `a` is inside prefix (net, len). */
export function inPrefix4(a: number, net: number, len: number): boolean {
  return ((a & maskOf(len)) >>> 0) === net;
}

/** A MAC address split for cheap comparison on the hot path. */
export interface Mac {
  hi: number;
  lo: number;
}

/** Parse 'aa:bb:cc:dd:ee:ff'; null when malformed. */
export function parseMac(s: string): Mac | null {
  const m = /^([0-9a-f]{1,2}):([0-9a-f]{1,2}):([0-9a-f]{1,2}):([0-9a-f]{1,2}):([0-9a-f]{1,2}):([0-9a-f]{1,2})$/i.exec(s);
  if (!m) return null;
  const b = m.slice(1).map((x) => parseInt(x, 16));
  return { hi: (b[0] << 8) | b[1], lo: ((b[2] << 24) | (b[3] << 16) | (b[4] << 8) | b[5]) >>> 0 };
}

/** Format a MAC from its parts. */
export function formatMac(hi: number, lo: number): string {
  const h = (n: number) => n.toString(16).padStart(2, '0');
  return `${h(hi >>> 8)}:${h(hi & 255)}:${h(lo >>> 24)}:${h((lo >>> 16) & 255)}:${h((lo >>> 8) & 255)}:${h(lo & 255)}`;
}

/** Read a MAC from bytes at off. */
export function readMacHi(b: Uint8Array, off: number): number {
  return (b[off] << 8) | b[off + 1];
}
/** Low 32 bits of a MAC from bytes at off. */
export function readMacLo(b: Uint8Array, off: number): number {
  return ((b[off + 2] << 24) | (b[off + 3] << 16) | (b[off + 4] << 8) | b[off + 5]) >>> 0;
}
/** Write a MAC into bytes at off. */
export function writeMac(b: Uint8Array, off: number, hi: number, lo: number): void {
  b[off] = hi >>> 8;
  b[off + 1] = hi & 255;
  b[off + 2] = lo >>> 24;
  b[off + 3] = (lo >>> 16) & 255;
  b[off + 4] = (lo >>> 8) & 255;
  b[off + 5] = lo & 255;
}

/** True for a broadcast MAC. */
export function isBroadcastMac(hi: number, lo: number): boolean {
  return hi === 0xffff && lo === 0xffffffff;
}
/** True for a group (multicast or broadcast) MAC: the I/G bit of the first octet. */
export function isMulticastMac(hi: number): boolean {
  return (hi & 0x0100) !== 0;
}
