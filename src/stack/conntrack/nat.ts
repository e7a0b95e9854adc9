/**
 * NAT bindings: net/netfilter/nf_nat_core.c (nf_nat_setup_info, get_unique_tuple,
 * find_appropriate_src, find_best_ips_proto, nf_nat_l4proto_unique_tuple, nf_nat_used_tuple*,
 * __nf_nat_alloc_null_binding, nf_nat_packet).
 *
 * A binding is stored the kernel's way: NAT rewrites the REPLY tuple (nf_conntrack_alter_reply) and
 * sets IPS_SRC_NAT / IPS_DST_NAT; a packet is rewritten to look like the inverse of the other
 * direction's tuple. Port/id choice uses the table's seeded PRNG where the kernel calls
 * get_random_u16(), so a run is reproducible but cannot predict a real host's random port. Address
 * choice within a range (find_best_ips_proto) is the kernel's jhash2 and is exact (x86, little endian).
 */
import { TCP_CONNTRACK_SYN_SENT, TCP_CONNTRACK_TIME_WAIT } from './proto_tcp.js';
import { type Conn, type ConntrackTable, hashTuple, reciprocalScale } from './table.js';
import {
  IPPROTO_GRE, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_UDPLITE, IPS_CONFIRMED,
  IPS_DST_NAT, IPS_DST_NAT_DONE, IPS_DYING, IPS_FIXED_TIMEOUT, IPS_NAT_MASK, IPS_SEQ_ADJUST, IPS_SRC_NAT,
  IPS_SRC_NAT_DONE, IP_CT_DIR_REPLY, IP_CT_RELATED, IP_CT_RELATED_REPLY, Tuple, ctinfoDir,
} from './tuple.js';

/** enum nf_nat_manip_type. SRC at POSTROUTING/INPUT, DST at PREROUTING/OUTPUT (HOOK2MANIP). */
export const NF_NAT_MANIP_SRC = 0;
export const NF_NAT_MANIP_DST = 1;
/** 'src' | 'dst' spelled as the kernel's manip numbers. */
export type NatManip = typeof NF_NAT_MANIP_SRC | typeof NF_NAT_MANIP_DST;

/** Range flags, include/uapi/linux/netfilter/nf_nat.h. */
export const NF_NAT_RANGE_MAP_IPS = 1 << 0;
export const NF_NAT_RANGE_PROTO_SPECIFIED = 1 << 1;
export const NF_NAT_RANGE_PROTO_RANDOM = 1 << 2;
export const NF_NAT_RANGE_PERSISTENT = 1 << 3;
export const NF_NAT_RANGE_PROTO_RANDOM_FULLY = 1 << 4;
export const NF_NAT_RANGE_PROTO_OFFSET = 1 << 5;
export const NF_NAT_RANGE_NETMAP = 1 << 6;
export const NF_NAT_RANGE_PROTO_RANDOM_ALL = NF_NAT_RANGE_PROTO_RANDOM | NF_NAT_RANGE_PROTO_RANDOM_FULLY;

/** NF_NAT_MAX_ATTEMPTS and NF_NAT_HARDER_THRESH. */
const NAT_MAX_ATTEMPTS = 128;
const NAT_HARDER_THRESH = NAT_MAX_ATTEMPTS / 4;

/**
 * struct nf_nat_range2. Addresses are held like Tuple addresses: four big-endian u32 words (IPv4 in
 * word 0). Build one per rule at compile time (NatRange.v4 / NatRange.v6), not per packet.
 */
export class NatRange {
  flags = 0;
  min0 = 0; min1 = 0; min2 = 0; min3 = 0;
  max0 = 0; max1 = 0; max2 = 0; max3 = 0;
  /** Port (or ICMP id) range, host order. */
  minProto = 0;
  maxProto = 0;
  /** NF_NAT_RANGE_PROTO_OFFSET base. */
  baseProto = 0;

  /** IPv4 range: addresses as u32 (minAddr > 0 or flags set means MAP_IPS), ports -1 for none. */
  static v4(minAddr: number, maxAddr: number, minPort = -1, maxPort = -1, flags = 0): NatRange {
    const r = new NatRange();
    r.min0 = minAddr >>> 0;
    r.max0 = maxAddr >>> 0;
    r.flags = flags | NF_NAT_RANGE_MAP_IPS;
    if (minPort >= 0) {
      r.minProto = minPort;
      r.maxProto = maxPort >= 0 ? maxPort : minPort;
      r.flags |= NF_NAT_RANGE_PROTO_SPECIFIED;
    }
    return r;
  }

  /** IPv6 range from 16-byte addresses. */
  static v6(minAddr: Uint8Array, maxAddr: Uint8Array, minPort = -1, maxPort = -1, flags = 0): NatRange {
    const t = new Tuple();
    t.setSrc(minAddr);
    t.setDst(maxAddr);
    const r = NatRange.v4(0, 0, minPort, maxPort, flags);
    r.min0 = t.src0; r.min1 = t.src1; r.min2 = t.src2; r.min3 = t.src3;
    r.max0 = t.dst0; r.max1 = t.dst1; r.max2 = t.dst2; r.max3 = t.dst3;
    return r;
  }

  /** A range without addresses (only ports), e.g. `masquerade to :1024-2048` after the address is set. */
  static ports(minPort: number, maxPort: number, flags = 0): NatRange {
    const r = new NatRange();
    r.flags = flags | NF_NAT_RANGE_PROTO_SPECIFIED;
    r.minProto = minPort;
    r.maxProto = maxPort;
    return r;
  }
}

/** nf_nat_initialized(): the manip of this type is bound (a real or a null binding). */
export function nfNatInitialized(ct: Conn, manip: NatManip): boolean {
  return (ct.status & (manip === NF_NAT_MANIP_SRC ? IPS_SRC_NAT_DONE : IPS_DST_NAT_DONE)) !== 0;
}

// Scratch tuples (single-threaded use per worker; nothing escapes a call).
const sCurr = new Tuple();
const sNew = new Tuple();
const sInv = new Tuple();
const sTmp = new Tuple();

/**
 * nf_nat_setup_info(): bind a not-yet-confirmed conn. Chooses the tuple like get_unique_tuple(),
 * alters the reply tuple and sets IPS_SRC_NAT/IPS_DST_NAT when it differs, and marks the manip done.
 * Returns true (NF_ACCEPT); false only if this manip was already bound (the kernel WARNs and drops).
 * A confirmed conn is left alone (true), as the kernel does.
 */
export function nfNatSetupInfo(table: ConntrackTable, ct: Conn, range: NatRange, manip: NatManip, now: number): boolean {
  if (ct.status & IPS_CONFIRMED) return true;
  if (nfNatInitialized(ct, manip)) return false;
  // What we've got will look like the inverse of the reply (earlier manips included).
  sCurr.invertFrom(ct.reply);
  getUniqueTuple(table, sNew, sCurr, range, ct, manip, now);
  bindTo(table, ct, sNew, manip);
  return true;
}

/**
 * __nf_nat_alloc_null_binding(): the nat chain had no matching rule. Binds to the current address
 * with no port range, which keeps the tuple unless it clashes; then (SRC) a new source port is picked
 * exactly as the kernel does for a local connection colliding with an earlier SNAT mapping.
 */
export function nfNatAllocNullBinding(table: ConntrackTable, ct: Conn, manip: NatManip, now: number): boolean {
  const r = nullRange;
  const t = ct.reply;
  if (manip === NF_NAT_MANIP_SRC) {
    r.min0 = r.max0 = t.dst0; r.min1 = r.max1 = t.dst1; r.min2 = r.max2 = t.dst2; r.min3 = r.max3 = t.dst3;
  } else {
    r.min0 = r.max0 = t.src0; r.min1 = r.max1 = t.src1; r.min2 = r.max2 = t.src2; r.min3 = r.max3 = t.src3;
  }
  return nfNatSetupInfo(table, ct, r, manip, now);
}
const nullRange = (() => { const r = new NatRange(); r.flags = NF_NAT_RANGE_MAP_IPS; return r; })();

/**
 * Adopt an observed mapping: when a capture shows the kernel's actual choice (the same flow before and
 * after NAT), bind `ct` to exactly that address and port (or ICMP id; -1 keeps the current one) if the
 * resulting tuple is unique. `addr` is an IPv4 u32 or 16 IPv6 bytes. Returns false (and binds
 * nothing) if the conn is confirmed, the manip is already bound, or the tuple is taken.
 */
export function nfNatAdopt(table: ConntrackTable, ct: Conn, manip: NatManip, addr: number | Uint8Array,
  port: number, now: number): boolean {
  if (ct.status & IPS_CONFIRMED || nfNatInitialized(ct, manip)) return false;
  sCurr.invertFrom(ct.reply);
  sNew.copyFrom(sCurr);
  const icmp = sNew.proto === IPPROTO_ICMP || sNew.proto === IPPROTO_ICMPV6;
  if (manip === NF_NAT_MANIP_SRC) {
    sNew.setSrc(addr);
    if (port >= 0) sNew.sport = port & 0xffff;
  } else {
    sNew.setDst(addr);
    if (port >= 0) {
      if (icmp) sNew.sport = port & 0xffff; else sNew.dport = port & 0xffff;
    }
  }
  if (!sNew.equals(sCurr) && natUsedTuple(table, sNew, ct, now)) return false;
  bindTo(table, ct, sNew, manip);
  return true;
}

/** The tail of nf_nat_setup_info(): alter the reply, status bits, by-source hash, done bit. */
function bindTo(table: ConntrackTable, ct: Conn, newTuple: Tuple, manip: NatManip): void {
  sInv.invertFrom(ct.reply);
  if (!newTuple.equals(sInv)) {
    // nf_conntrack_alter_reply(): the conn is unconfirmed, so it is in no bucket yet.
    ct.reply.invertFrom(newTuple);
    ct.status |= manip === NF_NAT_MANIP_SRC ? IPS_SRC_NAT : IPS_DST_NAT;
  }
  if (manip === NF_NAT_MANIP_SRC) {
    table.bysrcAdd(ct, bysrcBucket(table, ct.orig, ct.zone));
    ct.status |= IPS_SRC_NAT_DONE;
  } else {
    ct.status |= IPS_DST_NAT_DONE;
  }
}

/** hash_by_src(): original source address, source port/id, protocol, zone. */
function bysrcBucket(table: ConntrackTable, t: Tuple, zone: number): number {
  sTmp.l3 = t.l3; sTmp.proto = t.proto;
  sTmp.src0 = t.src0; sTmp.src1 = t.src1; sTmp.src2 = t.src2; sTmp.src3 = t.src3;
  sTmp.dst0 = sTmp.dst1 = sTmp.dst2 = sTmp.dst3 = 0;
  sTmp.sport = t.sport; sTmp.dport = 0;
  return reciprocalScale(hashTuple(sTmp, zone, table.seed ^ 0x5bd1e995), table.nbuckets);
}

/** nf_nat_used_tuple(): does any other entry use the reply this candidate would have? */
function natUsedTuple(table: ConntrackTable, t: Tuple, ct: Conn, now: number): boolean {
  sInv.invertFrom(t);
  return table.tupleTaken(sInv, ct, now);
}

/** l4proto allow_clash: UDP, UDP-Lite, GRE. */
function allowClash(proto: number): boolean {
  return proto === IPPROTO_UDP || proto === IPPROTO_UDPLITE || proto === IPPROTO_GRE;
}

/**
 * nf_nat_used_tuple_new(): like natUsedTuple for an unaltered tuple, but a UDP flow seen in both
 * directions at once (both picked up as new) is not a clash when neither side is NATed.
 */
function natUsedTupleNew(table: ConntrackTable, t: Tuple, ct: Conn, now: number): boolean {
  if (!natUsedTuple(table, t, ct, now)) return false;
  if (!allowClash(ct.orig.proto)) return true;
  const usesNat = IPS_NAT_MASK | IPS_SEQ_ADJUST;
  if (ct.status & usesNat) return true;
  let h = table.find(t, ct.zone, now);
  if (h === null) {
    sTmp.invertFrom(t);
    h = table.find(sTmp, ct.zone, now);
    if (h === null) return false; // clashing entry went away
  }
  if (h.dir !== IP_CT_DIR_REPLY) return true;
  const other = h.conn!;
  if (other.status & usesNat) return true;
  return !(other.orig.equals(ct.reply) && other.reply.equals(ct.orig));
}

/**
 * nf_nat_used_tuple_harder(): in the last attempts for a TCP SYN, evict a colliding SNAT entry in
 * TIME_WAIT (or later) whose sequence numbers the new connection has passed.
 */
function natUsedTupleHarder(table: ConntrackTable, t: Tuple, ct: Conn, attemptsLeft: number, now: number): boolean {
  sInv.invertFrom(t);
  if (attemptsLeft > NAT_HARDER_THRESH || t.proto !== IPPROTO_TCP || ct.tcpState !== TCP_CONNTRACK_SYN_SENT) {
    return table.tupleTaken(sInv, ct, now);
  }
  const h = table.find(sInv, ct.zone, now);
  if (h === null) return false;
  if (h.dir !== IP_CT_DIR_REPLY) return true;
  const old = h.conn!;
  if (old === ct) return true;
  // nf_nat_may_kill()
  if (old.tcpState < TCP_CONNTRACK_TIME_WAIT) return true;
  if (old.status & (IPS_FIXED_TIMEOUT | IPS_DYING)) return true;
  if (!(old.status & IPS_SRC_NAT)) return true;
  // nf_seq_has_advanced()
  if (((ct.seen[0].tdEnd - old.seen[0].tdEnd) | 0) <= 0) return true;
  table.kill(old);
  return false;
}

/** nf_nat_inet_in_range() on the source address. */
function addrInRange(t: Tuple, r: NatRange): boolean {
  return cmpWords(t.src0, t.src1, t.src2, t.src3, r.min0, r.min1, r.min2, r.min3) >= 0 &&
    cmpWords(t.src0, t.src1, t.src2, t.src3, r.max0, r.max1, r.max2, r.max3) <= 0;
}

function cmpWords(a0: number, a1: number, a2: number, a3: number, b0: number, b1: number, b2: number, b3: number): number {
  if (a0 !== b0) return a0 < b0 ? -1 : 1;
  if (a1 !== b1) return a1 < b1 ? -1 : 1;
  if (a2 !== b2) return a2 < b2 ? -1 : 1;
  if (a3 !== b3) return a3 < b3 ? -1 : 1;
  return 0;
}

/** l4proto_in_range(). */
function l4InRange(t: Tuple, manip: NatManip, min: number, max: number): boolean {
  switch (t.proto) {
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6:
      return t.sport >= min && t.sport <= max;
    case IPPROTO_GRE:
    case IPPROTO_TCP:
    case IPPROTO_UDP:
    case IPPROTO_UDPLITE:
    case IPPROTO_SCTP: {
      const port = manip === NF_NAT_MANIP_SRC ? t.sport : t.dport;
      return port >= min && port <= max;
    }
    default:
      return true;
  }
}

/** nf_in_range(): would source-mapping to this tuple satisfy the range? */
function nfInRange(t: Tuple, r: NatRange): boolean {
  if (r.flags & NF_NAT_RANGE_MAP_IPS && !addrInRange(t, r)) return false;
  if (!(r.flags & NF_NAT_RANGE_PROTO_SPECIFIED)) return true;
  return l4InRange(t, NF_NAT_MANIP_SRC, r.minProto, r.maxProto);
}

/** find_appropriate_src(): reuse the mapping of another conn from the same source, if in range. */
function findAppropriateSrc(table: ConntrackTable, t: Tuple, result: Tuple, r: NatRange, zone: number): boolean {
  for (let c = table.bysrc[bysrcBucket(table, t, zone)]; c !== null; c = c.bysrcNext) {
    const o = c.orig;
    if (o.proto === t.proto && o.srcAddrEquals(t) && o.sport === t.sport && o.l3 === t.l3 && c.zone === zone) {
      // Copy the source part from the reply tuple; keep our destination.
      result.invertFrom(c.reply);
      result.dst0 = t.dst0; result.dst1 = t.dst1; result.dst2 = t.dst2; result.dst3 = t.dst3;
      result.dport = t.dport;
      result.proto = t.proto;
      if (nfInRange(result, r)) return true;
    }
  }
  return false;
}

function rol32(x: number, r: number): number { return (x << r) | (x >>> (32 - r)); }

/** The kernel's jhash2() (include/linux/jhash.h, Bob Jenkins' lookup3). */
export function jhash2(k: ArrayLike<number>, length: number, initval: number): number {
  let a = (0xdeadbeef + (length << 2) + initval) | 0;
  let b = a, c = a;
  let i = 0;
  while (length > 3) {
    a = (a + k[i]!) | 0; b = (b + k[i + 1]!) | 0; c = (c + k[i + 2]!) | 0;
    a = (a - c) | 0; a ^= rol32(c, 4); c = (c + b) | 0;
    b = (b - a) | 0; b ^= rol32(a, 6); a = (a + c) | 0;
    c = (c - b) | 0; c ^= rol32(b, 8); b = (b + a) | 0;
    a = (a - c) | 0; a ^= rol32(c, 16); c = (c + b) | 0;
    b = (b - a) | 0; b ^= rol32(a, 19); a = (a + c) | 0;
    c = (c - b) | 0; c ^= rol32(b, 4); b = (b + a) | 0;
    length -= 3;
    i += 3;
  }
  // The last 3 words (the kernel's switch falls through 3 → 2 → 1), then __jhash_final.
  if (length > 0) {
    if (length === 3) c = (c + k[i + 2]!) | 0;
    if (length >= 2) b = (b + k[i + 1]!) | 0;
    a = (a + k[i]!) | 0;
    c ^= b; c = (c - rol32(b, 14)) | 0;
    a ^= c; a = (a - rol32(c, 11)) | 0;
    b ^= a; b = (b - rol32(a, 25)) | 0;
    c ^= b; c = (c - rol32(b, 16)) | 0;
    a ^= c; a = (a - rol32(c, 4)) | 0;
    b ^= a; b = (b - rol32(a, 14)) | 0;
    c ^= b; c = (c - rol32(b, 24)) | 0;
  }
  return c >>> 0;
}

/** A big-endian word as x86 reads it from memory (the kernel hashes raw __be32 words). */
function le(x: number): number {
  return (((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24)) >>> 0;
}

// find_best_ips_proto() scratch: hash key, destination words, range words, result.
const jkey = new Uint32Array(4);
const dstw = new Uint32Array(4);
const minw = new Uint32Array(4);
const maxw = new Uint32Array(4);
const outw = new Uint32Array(4);

/**
 * find_best_ips_proto(): pick the address in the range from a hash of the source (and destination
 * unless persistent), so one client keeps its address across connections and reboots.
 */
function findBestIpsProto(t: Tuple, r: NatRange, manip: NatManip, zone: number): void {
  if (!(r.flags & NF_NAT_RANGE_MAP_IPS)) return;
  const src = manip === NF_NAT_MANIP_SRC;
  if (r.min0 === r.max0 && r.min1 === r.max1 && r.min2 === r.max2 && r.min3 === r.max3) {
    setAddr(t, src, r.min0, r.min1, r.min2, r.min3);
    return;
  }
  const max = t.l3 === 4 ? 0 : 3;
  const persistent = (r.flags & NF_NAT_RANGE_PERSISTENT) !== 0;
  jkey[0] = le(t.src0); jkey[1] = le(t.src1); jkey[2] = le(t.src2); jkey[3] = le(t.src3);
  dstw[0] = t.dst0; dstw[1] = t.dst1; dstw[2] = t.dst2; dstw[3] = t.dst3;
  minw[0] = r.min0; minw[1] = r.min1; minw[2] = r.min2; minw[3] = r.min3;
  maxw[0] = r.max0; maxw[1] = r.max1; maxw[2] = r.max2; maxw[3] = r.max3;
  outw.fill(0);
  const out = outw;
  let j = jhash2(jkey, 4, persistent ? 0 : (le(dstw[max]!) ^ zone) | 0);
  let full = false;
  for (let i = 0; i <= max; i++) {
    let minip: number, dist: number;
    if (!full) {
      minip = minw[i]!;
      dist = (maxw[i]! - minip + 1) >>> 0;
    } else {
      minip = 0;
      dist = 0xffffffff;
    }
    out[i] = (minip + reciprocalScale(j, dist)) >>> 0;
    if (out[i] !== maxw[i]) full = true;
    if (!persistent) j = (j ^ le(dstw[i]!)) >>> 0;
  }
  setAddr(t, src, out[0]!, out[1]!, out[2]!, out[3]!);
}

function setAddr(t: Tuple, src: boolean, a0: number, a1: number, a2: number, a3: number): void {
  if (src) { t.src0 = a0; t.src1 = a1; t.src2 = a2; t.src3 = a3; } else { t.dst0 = a0; t.dst1 = a1; t.dst2 = a2; t.dst3 = a3; }
}

/** nf_nat_l4proto_unique_tuple(): search the port/id range for a free tuple. */
function l4UniqueTuple(table: ConntrackTable, t: Tuple, r: NatRange, manip: NatManip, ct: Conn, now: number): void {
  let min: number, rangeSize: number;
  // Which field: ICMP id (same for either direction), else the manipulated port.
  let useSport: boolean;
  switch (t.proto) {
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6:
      useSport = true;
      if (!(r.flags & NF_NAT_RANGE_PROTO_SPECIFIED)) { min = 0; rangeSize = 65536; } else {
        min = r.minProto; rangeSize = r.maxProto - r.minProto + 1;
      }
      break;
    case IPPROTO_UDP:
    case IPPROTO_UDPLITE:
    case IPPROTO_TCP:
    case IPPROTO_SCTP: {
      useSport = manip === NF_NAT_MANIP_SRC;
      const cur = useSport ? t.sport : t.dport;
      if (!(r.flags & NF_NAT_RANGE_PROTO_SPECIFIED)) {
        if (manip === NF_NAT_MANIP_DST) return; // a dst rewrite without a range can't change the port
        // Loose convention: < 512 is credential passing, < 1024 privileged.
        if (cur < 1024) {
          if (cur < 512) { min = 1; rangeSize = 511; } else { min = 600; rangeSize = 1023 - 600 + 1; }
        } else {
          min = 1024; rangeSize = 65535 - 1024 + 1;
        }
      } else {
        let lo = r.minProto, hi = r.maxProto;
        if (hi < lo) { const x = lo; lo = hi; hi = x; }
        min = lo;
        rangeSize = hi - lo + 1;
      }
      break;
    }
    default:
      return; // GRE without a PPTP master, and the rest: tuples don't change
  }
  const cur = useSport ? t.sport : t.dport;
  let off: number;
  if (r.flags & NF_NAT_RANGE_PROTO_OFFSET) off = (cur - r.baseProto) & 0xffff;
  else if (r.flags & NF_NAT_RANGE_PROTO_RANDOM_ALL || manip !== NF_NAT_MANIP_DST) off = table.randomU16();
  else off = 0;
  let attempts = rangeSize > NAT_MAX_ATTEMPTS ? NAT_MAX_ATTEMPTS : rangeSize;
  // In softirq a full search risks a soft lockup: try from one offset, then halve with a new offset.
  for (;;) {
    for (let i = 0; i < attempts; i++, off = (off + 1) & 0xffff) {
      const v = (min + (off % rangeSize)) & 0xffff;
      if (useSport) t.sport = v; else t.dport = v;
      if (!natUsedTupleHarder(table, t, ct, attempts - i, now)) return;
    }
    if (attempts >= rangeSize || attempts < 16) return;
    attempts = attempts >> 1;
    off = table.randomU16();
  }
}

/** get_unique_tuple(). */
function getUniqueTuple(table: ConntrackTable, tuple: Tuple, orig: Tuple, r: NatRange, ct: Conn, manip: NatManip, now: number): void {
  const zone = ct.zone;
  // 1) SRC manip: keep the original if in range and free, else reuse this source's current mapping.
  if (manip === NF_NAT_MANIP_SRC && !(r.flags & NF_NAT_RANGE_PROTO_RANDOM_ALL)) {
    if (nfInRange(orig, r)) {
      if (!natUsedTupleNew(table, orig, ct, now)) { tuple.copyFrom(orig); return; }
    } else if (findAppropriateSrc(table, orig, tuple, r, zone)) {
      if (!natUsedTuple(table, tuple, ct, now)) return;
    }
  }
  // 2) The address in the range.
  tuple.copyFrom(orig);
  findBestIpsProto(tuple, r, manip, zone);
  // 3) Only bother mapping the port if it's not already in range and unique.
  if (!(r.flags & NF_NAT_RANGE_PROTO_RANDOM_ALL)) {
    if (r.flags & NF_NAT_RANGE_PROTO_SPECIFIED) {
      if (!(r.flags & NF_NAT_RANGE_PROTO_OFFSET) && l4InRange(tuple, manip, r.minProto, r.maxProto) &&
          (r.minProto === r.maxProto || !natUsedTuple(table, tuple, ct, now))) return;
    } else if (!natUsedTuple(table, tuple, ct, now)) {
      return;
    }
  }
  // Last chance: the protocol picks a unique tuple.
  l4UniqueTuple(table, tuple, r, manip, ct, now);
}

/**
 * What a packet must be rewritten to: the manip type and the target tuple (the inverse of the other
 * direction's tuple, nf_nat_manip_pkt). For SRC the packet's source takes target.src0-3 and sport; for DST
 * the destination takes target.dst0-3 and dport; an ICMP echo id always takes target.sport.
 */
export class NatRewrite {
  manip: NatManip = NF_NAT_MANIP_SRC;
  readonly target = new Tuple();
  /** An ICMP error RELATED to a NATed flow: translate the quoted header too (nf_nat_icmp_reply_translation). */
  icmpError = false;

  /** New IPv4 address for the manipulated side. */
  get addr4(): number {
    return this.manip === NF_NAT_MANIP_SRC ? this.target.src0 : this.target.dst0;
  }

  /** New port (or ICMP id) for the manipulated side. */
  get port(): number {
    const t = this.target;
    if (t.proto === IPPROTO_ICMP || t.proto === IPPROTO_ICMPV6) return t.sport;
    return this.manip === NF_NAT_MANIP_SRC ? t.sport : t.dport;
  }
}

/**
 * nf_nat_packet() (and the test in nf_nat_icmp_reply_translation): must this packet, with this
 * ctinfo, be rewritten at a hook of this manip type ('src' at POSTROUTING/INPUT, 'dst' at
 * PREROUTING/OUTPUT)? Fills `out` and returns true if so. For RELATED ctinfo (ICMP errors) the
 * datapath must not run the nat chain: the kernel translates them and returns (nf_nat_ipv4_fn).
 * Not modelled: an ICMP redirect about a NATed flow, which the kernel drops here.
 */
export function nfNatPacket(ct: Conn, ctinfo: number, manip: NatManip, out: NatRewrite): boolean {
  const dir = ctinfoDir(ctinfo);
  let bit = manip === NF_NAT_MANIP_SRC ? IPS_SRC_NAT : IPS_DST_NAT;
  if (dir === IP_CT_DIR_REPLY) bit ^= IPS_NAT_MASK;
  if (!(ct.status & bit)) return false;
  out.manip = manip;
  out.icmpError = ctinfo === IP_CT_RELATED || ctinfo === IP_CT_RELATED_REPLY;
  // We are aiming to look like the inverse of the other direction.
  if (!out.target.invertFrom(ct.tuple(dir ^ 1))) {
    out.target.copyFrom(ct.tuple(dir ^ 1)); // unreachable for tracked ICMP; keep addresses sane
  }
  return true;
}
