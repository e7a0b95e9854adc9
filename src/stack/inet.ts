/**
 * Address helpers for configuration (not the packet hot path): IPv4 as unsigned 32-bit numbers,
 * prefixes as (address, length), MACs as a 16-bit high part and a 32-bit low part.
 */

/** Text ⇄ number for IPv4 and MACs: the wire layer's, re-exported for configuration code. */
export { parseIpv4, ipv4ToString as formatIpv4, parseMac, macToString as formatMac } from './wire/decode.js';
import { parseIpv4 } from './wire/decode.js';

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
