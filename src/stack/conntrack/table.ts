/**
 * The connection tracking table of one network namespace.
 *
 * Mirrors net/netfilter/nf_conntrack_core.c: nf_conntrack_in() → resolve_normal_ct() →
 * init_conntrack()/__nf_conntrack_alloc() (with early_drop()), the per-protocol packet handlers, and
 * __nf_conntrack_confirm(); plus the small trackers of nf_conntrack_proto_{udp,icmp,icmpv6,gre}.c and
 * generic_packet(). TCP lives in proto_tcp.ts.
 *
 *   bucket array (Tuple | null)[]          each Conn is linked twice, like the kernel's tuplehash[2]:
 *   [ 0 ] -> orig(A) -> reply(B) -> null    conn.orig  in bucket hash(orig)
 *   [ 1 ] -> null                           conn.reply in bucket hash(reply)
 *   [ 2 ] -> reply(A) -> orig(C) -> null    (newest first: hlist_nulls_add_head_rcu)
 *
 * Unconfirmed entries are in no bucket, exactly like the kernel's: the datapath confirms them at
 * POSTROUTING/INPUT (confirm()) or throws them away with their packet (discard()).
 *
 * Timers: every confirmed conn sits in a binary min-heap keyed by the timeout it had when last pushed.
 * A refresh that pushes the timeout later (the common case) only writes conn.timeoutAt; expire()
 * re-keys such entries lazily when they reach the top. A refresh that shortens the timeout sifts the
 * entry up. expire() with nothing due is one comparison.
 *
 * All times are the capture clock in seconds (float), never wall time.
 */
import {
  TCP_ACCEPT, TCP_CONNTRACK_CLOSE, TCP_CONNTRACK_CLOSE_WAIT, TCP_CONNTRACK_ESTABLISHED, TCP_CONNTRACK_FIN_WAIT,
  TCP_CONNTRACK_LAST_ACK, TCP_CONNTRACK_NONE, TCP_CONNTRACK_RETRANS, TCP_CONNTRACK_SYN_RECV, TCP_CONNTRACK_SYN_SENT,
  TCP_CONNTRACK_SYN_SENT2, TCP_CONNTRACK_TIME_WAIT, TCP_CONNTRACK_TIMEOUT_MAX, TCP_CONNTRACK_UNACK, TCP_INVALID,
  TCP_REPEAT, CtTcpSeen, tcpPacket,
} from './proto_tcp.js';
import {
  CtPacket, IPPROTO_GRE, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_UDPLITE, IPS_ASSURED,
  IPS_CONFIRMED, IPS_DYING, IPS_EXPECTED, IPS_FIXED_TIMEOUT, IPS_NAT_CLASH, IPS_SEEN_REPLY, IPS_SRC_NAT_DONE,
  IP_CT_DIR_ORIGINAL, IP_CT_DIR_REPLY, IP_CT_ESTABLISHED, IP_CT_ESTABLISHED_REPLY, IP_CT_IS_REPLY, IP_CT_NEW,
  IP_CT_RELATED, IP_CT_UNTRACKED, Tuple, icmpValidNew, icmpv6ValidNew, tupleFromInner, tupleFromPacket,
} from './tuple.js';

/** Timeouts in seconds, with the kernel defaults (net.netfilter.nf_conntrack_*_timeout*). */
export class CtTimeouts {
  tcpSynSent = 120;
  tcpSynRecv = 60;
  tcpEstablished = 432000;
  tcpFinWait = 120;
  tcpCloseWait = 60;
  tcpLastAck = 30;
  tcpTimeWait = 120;
  tcpClose = 10;
  /** No sysctl: tcp_timeouts[TCP_CONNTRACK_SYN_SENT2] = 2 MINS. */
  tcpSynSent2 = 120;
  tcpMaxRetrans = 300;
  tcpUnacknowledged = 300;
  udp = 30;
  udpStream = 120;
  icmp = 30;
  icmpv6 = 30;
  gre = 30;
  greStream = 180;
  generic = 600;
}

/** Options of a table; every field defaults to the value of a fresh kernel namespace. */
export interface CtTableOptions {
  /** net.netfilter.nf_conntrack_max (global in the kernel); 0 = unlimited. Default 262144. */
  max?: number;
  /** net.netfilter.nf_conntrack_buckets. Default 262144. */
  buckets?: number;
  timeouts?: CtTimeouts;
  /** nf_conntrack_tcp_loose (default true): pick up mid-stream TCP flows. */
  tcpLoose?: boolean;
  /** nf_conntrack_tcp_be_liberal (default false): only out-of-window RSTs are INVALID. */
  tcpBeLiberal?: boolean;
  /** nf_conntrack_tcp_ignore_invalid_rst (default false). */
  tcpIgnoreInvalidRst?: boolean;
  /** nf_conntrack_tcp_max_retrans (default 3). */
  tcpMaxRetrans?: number;
  /** Seed for the bucket hash and the NAT port PRNG (the kernel's get_random_*): runs are reproducible. */
  seed?: number;
}

/**
 * Options from sysctl values (`sysctl -a` keys, e.g. 'net.netfilter.nf_conntrack_tcp_loose'); missing
 * keys keep the kernel defaults.
 */
export function ctOptionsFromSysctl(get: (key: string) => string | undefined): CtTableOptions {
  const num = (k: string, d: number): number => {
    const v = get('net.netfilter.nf_conntrack_' + k);
    if (v === undefined) return d;
    const n = Number(v.trim());
    if (!Number.isFinite(n) || n < 0) throw new TypeError(`net.netfilter.nf_conntrack_${k}: not a number: ${v}`);
    return n;
  };
  const t = new CtTimeouts();
  t.tcpSynSent = num('tcp_timeout_syn_sent', t.tcpSynSent);
  t.tcpSynRecv = num('tcp_timeout_syn_recv', t.tcpSynRecv);
  t.tcpEstablished = num('tcp_timeout_established', t.tcpEstablished);
  t.tcpFinWait = num('tcp_timeout_fin_wait', t.tcpFinWait);
  t.tcpCloseWait = num('tcp_timeout_close_wait', t.tcpCloseWait);
  t.tcpLastAck = num('tcp_timeout_last_ack', t.tcpLastAck);
  t.tcpTimeWait = num('tcp_timeout_time_wait', t.tcpTimeWait);
  t.tcpClose = num('tcp_timeout_close', t.tcpClose);
  t.tcpMaxRetrans = num('tcp_timeout_max_retrans', t.tcpMaxRetrans);
  t.tcpUnacknowledged = num('tcp_timeout_unacknowledged', t.tcpUnacknowledged);
  t.udp = num('udp_timeout', t.udp);
  t.udpStream = num('udp_timeout_stream', t.udpStream);
  t.icmp = num('icmp_timeout', t.icmp);
  t.icmpv6 = num('icmpv6_timeout', t.icmpv6);
  t.gre = num('gre_timeout', t.gre);
  t.greStream = num('gre_timeout_stream', t.greStream);
  t.generic = num('generic_timeout', t.generic);
  return {
    max: num('max', 262144),
    buckets: num('buckets', 262144),
    timeouts: t,
    tcpLoose: num('tcp_loose', 1) !== 0,
    tcpBeLiberal: num('tcp_be_liberal', 0) !== 0,
    tcpIgnoreInvalidRst: num('tcp_ignore_invalid_rst', 0) !== 0,
    tcpMaxRetrans: num('tcp_max_retrans', 3),
  };
}

/** Counters with the names `conntrack -S` prints (summed over CPUs). */
export class CtStats {
  found = 0;
  invalid = 0;
  /** Only ctnetlink insertions count here on current kernels; packets never do. */
  insert = 0;
  insert_failed = 0;
  drop = 0;
  early_drop = 0;
  error = 0;
  search_restart = 0;
  clash_resolve = 0;
  chaintoolong = 0;
}

/** A connection (struct nf_conn). */
export class Conn {
  /** Unique per table, in creation order (not the kernel's hashed ct id). */
  id = 0;
  readonly orig = new Tuple();
  readonly reply = new Tuple();
  /** IPS_* bits. */
  status = 0;
  /** TCP_CONNTRACK_* (TCP only). */
  tcpState = TCP_CONNTRACK_NONE;
  /** ct mark. */
  mark = 0;
  zone = 0;
  /** Absolute expiry on the capture clock, seconds. */
  timeoutAt = 0;
  /** Capture time of the packet that created the entry. */
  created = 0;
  /** Packets seen per direction (tracked ones; nf_conn_acct would also count bytes). */
  packets0 = 0;
  packets1 = 0;
  // TCP (struct ip_ct_tcp).
  readonly seen: readonly [CtTcpSeen, CtTcpSeen] = [new CtTcpSeen(), new CtTcpSeen()];
  lastDir = 0;
  lastIndex = 0;
  lastSeq = 0;
  lastAck = 0;
  lastEnd = 0;
  lastWin = 0;
  lastWscale = 0;
  lastFlags = 0;
  retrans = 0;
  /** UDP: time after which traffic makes the entry a stream (nf_conn.proto.udp.stream_ts). */
  udpStreamTs = 0;
  // Table bookkeeping.
  /** Position in the timer heap, -1 if not in it. */
  heapIdx = -1;
  /** The key the heap orders this entry by (<= timeoutAt). */
  heapKey = 0;
  /** The orig tuple is in a bucket (false only for NAT-clash entries, which hash the reply only). */
  origHashed = false;
  /** Removed from the table, or freed unconfirmed: count already decremented. */
  freed = false;
  /** NAT by-source chain (nf_nat_bysource), see nat.ts. */
  bysrcNext: Conn | null = null;
  bysrcBucket = -1;
  /** Trace steps of this entry, by ctinfo and direction (nf_hook.ts nfConntrackIn); null until traced. */
  traceSteps: object[] | null = null;

  constructor() {
    this.orig.conn = this;
    this.orig.dir = IP_CT_DIR_ORIGINAL;
    this.reply.conn = this;
    this.reply.dir = IP_CT_DIR_REPLY;
  }

  /** The tuple of direction `dir` (ct->tuplehash[dir].tuple). */
  tuple(dir: number): Tuple {
    return dir === IP_CT_DIR_ORIGINAL ? this.orig : this.reply;
  }

  /** nf_ct_is_confirmed(). */
  get confirmed(): boolean {
    return (this.status & IPS_CONFIRMED) !== 0;
  }
}

/** What nf_conntrack_in() decided. 'drop' = NF_DROP (NETFILTER_DROP); 'invalid' = no conntrack (ct state invalid). */
export type CtVerdict = 'ok' | 'invalid' | 'drop';

/** Result of ConntrackTable.in(); one reused object per caller. */
export class CtResult {
  /** The entry, or null when the packet is invalid, dropped or untracked. */
  conn: Conn | null = null;
  /** IP_CT_* ; IP_CT_UNTRACKED when there is no entry. */
  ctinfo = IP_CT_UNTRACKED;
  /** IP_CT_DIR_ORIGINAL / IP_CT_DIR_REPLY. */
  dir = 0;
  verdict: CtVerdict = 'ok';
  /** Why (a constant string; '' on the plain path): 'conntrack table full', 'invalid state transition'... */
  detail = '';
  /** The entry was created by this packet (unconfirmed until confirm()). */
  created = false;
  /** TCP: state before and after this packet (-1 if not TCP). */
  tcpOld = -1;
  tcpNew = -1;

  /** Back to the defaults. */
  reset(): this {
    this.conn = null; this.ctinfo = IP_CT_UNTRACKED; this.dir = 0; this.verdict = 'ok'; this.detail = '';
    this.created = false; this.tcpOld = -1; this.tcpNew = -1;
    return this;
  }
}

/** NF_CT_EVICTION_RANGE. */
const EVICTION_RANGE = 8;

/** reciprocal_scale(): (u64)val * n >> 32 without losing bits in doubles; `val` is u32 or int32 bits. */
export function reciprocalScale(val: number, n: number): number {
  const hi = (val >>> 16) * n;
  const lo = (val & 0xffff) * n;
  return Math.floor((hi + Math.floor(lo / 65536)) / 65536);
}

function rotl(x: number, r: number): number { return (x << r) | (x >>> (32 - r)); }

function mixWord(h: number, k: number): number {
  k = Math.imul(k, 0xcc9e2d51);
  k = rotl(k, 15);
  k = Math.imul(k, 0x1b873593);
  h ^= k;
  h = rotl(h, 13);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/**
 * Seeded tuple hash. The kernel uses siphash with a random boot key (hash_conntrack_raw), so bucket
 * placement can't match a real host anyway; this murmur3-style mix is cheap and reproducible.
 */
export function hashTuple(t: Tuple, zone: number, seed: number): number {
  let h = seed | 0;
  h = mixWord(h, (t.l3 << 8) | t.proto);
  h = mixWord(h, t.src0);
  h = mixWord(h, t.dst0);
  if (t.l3 !== 4) { // IPv4 words 1-3 are always 0: skipping them saves 6 of 11 rounds
    h = mixWord(h, t.src1); h = mixWord(h, t.src2); h = mixWord(h, t.src3);
    h = mixWord(h, t.dst1); h = mixWord(h, t.dst2); h = mixWord(h, t.dst3);
  }
  h = mixWord(h, (t.sport << 16) | t.dport);
  h = mixWord(h, zone);
  h ^= 44;
  h ^= h >>> 16; h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13; h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h; // an int32 bit pattern: a Smi across calls, unlike a u32 above 2^31
}

/** One connection tracking table (one per network namespace). */
export class ConntrackTable {
  readonly max: number;
  readonly nbuckets: number;
  readonly timeouts: CtTimeouts;
  /** Per-TCP-state timeouts indexed by TCP_CONNTRACK_* (incl. RETRANS, UNACK), seconds. */
  readonly tcpTimeouts: Float64Array;
  readonly tcpLoose: boolean;
  readonly tcpBeLiberal: boolean;
  readonly tcpIgnoreInvalidRst: boolean;
  readonly tcpMaxRetrans: number;
  readonly seed: number;
  readonly stats = new CtStats();
  /** cnet->count: entries including unconfirmed ones. */
  count = 0;
  /** Hash buckets of tuple nodes. */
  readonly buckets: (Tuple | null)[];
  /** NAT by-source buckets of conns (nat.ts). */
  readonly bysrc: (Conn | null)[];
  private readonly heap: Conn[] = [];
  private nextId = 1;
  private rngState: number;
  private readonly scratch = new Tuple();
  private readonly scratch2 = new Tuple();
  private readonly victims: Conn[] = [];

  constructor(opts: CtTableOptions = {}) {
    const max = opts.max ?? 262144;
    const nb = opts.buckets ?? 262144;
    if (!Number.isInteger(max) || max < 0) throw new TypeError(`conntrack max must be an integer >= 0, got ${max}`);
    if (!Number.isInteger(nb) || nb < 1 || nb > 1 << 26) throw new TypeError(`conntrack buckets must be an integer in 1..2^26, got ${nb}`);
    const mr = opts.tcpMaxRetrans ?? 3;
    if (!Number.isInteger(mr) || mr < 0) throw new TypeError(`tcp_max_retrans must be an integer >= 0, got ${mr}`);
    this.max = max;
    this.nbuckets = nb;
    this.timeouts = opts.timeouts ?? new CtTimeouts();
    this.tcpLoose = opts.tcpLoose ?? true;
    this.tcpBeLiberal = opts.tcpBeLiberal ?? false;
    this.tcpIgnoreInvalidRst = opts.tcpIgnoreInvalidRst ?? false;
    this.tcpMaxRetrans = mr;
    this.seed = (opts.seed ?? 0x9e3779b9) >>> 0;
    this.rngState = this.seed ^ 0x2545f491 || 1;
    const to = this.timeouts;
    const tt = new Float64Array(TCP_CONNTRACK_TIMEOUT_MAX);
    tt[TCP_CONNTRACK_NONE] = to.tcpSynSent;
    tt[TCP_CONNTRACK_SYN_SENT] = to.tcpSynSent;
    tt[TCP_CONNTRACK_SYN_RECV] = to.tcpSynRecv;
    tt[TCP_CONNTRACK_ESTABLISHED] = to.tcpEstablished;
    tt[TCP_CONNTRACK_FIN_WAIT] = to.tcpFinWait;
    tt[TCP_CONNTRACK_CLOSE_WAIT] = to.tcpCloseWait;
    tt[TCP_CONNTRACK_LAST_ACK] = to.tcpLastAck;
    tt[TCP_CONNTRACK_TIME_WAIT] = to.tcpTimeWait;
    tt[TCP_CONNTRACK_CLOSE] = to.tcpClose;
    tt[TCP_CONNTRACK_SYN_SENT2] = to.tcpSynSent2;
    tt[TCP_CONNTRACK_RETRANS] = to.tcpMaxRetrans;
    tt[TCP_CONNTRACK_UNACK] = to.tcpUnacknowledged;
    this.tcpTimeouts = tt;
    this.buckets = new Array<Tuple | null>(nb).fill(null);
    this.bysrc = new Array<Conn | null>(nb).fill(null);
  }

  /** Confirmed entries (what `conntrack -L` lists, expired-but-not-collected ones aside). */
  size(): number {
    return this.heap.length;
  }

  /** Confirmed entries, in no particular order. */
  *entries(): IterableIterator<Conn> {
    const h = this.heap.slice();
    for (const c of h) yield c;
  }

  /** get_random_u16() stand-in: a seeded xorshift32, so NAT port choices are reproducible. */
  randomU16(): number {
    let x = this.rngState;
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    this.rngState = x >>> 0 || 1;
    return (this.rngState >>> 8) & 0xffff;
  }

  /** Bucket index of a tuple. */
  bucketOf(t: Tuple, zone: number): number {
    return reciprocalScale(hashTuple(t, zone, this.seed), this.nbuckets);
  }

  /**
   * ____nf_conntrack_find(): the confirmed, unexpired tuple node equal to `t` in `zone`, or null.
   * Expired entries are skipped (the kernel also kills them here; expire() collects them for us).
   */
  find(t: Tuple, zone: number, now: number): Tuple | null {
    // Compare the node's own fields first: the conn is another cache line, only needed on a match.
    for (let h = this.buckets[this.bucketOf(t, zone)]; h !== null; h = h.next) {
      if (!h.equals(t)) continue;
      const c = h.conn!;
      if (c.zone === zone && c.timeoutAt > now) return h;
    }
    return null;
  }

  /**
   * nf_conntrack_tuple_taken(): is `t` used by a confirmed entry other than `ignored`? (NAT uses it
   * with the inverse of a candidate tuple.) Entries whose original tuple equals ignored's don't count.
   */
  tupleTaken(t: Tuple, ignored: Conn, now: number): boolean {
    for (let h = this.buckets[this.bucketOf(t, ignored.zone)]; h !== null; h = h.next) {
      const c = h.conn!;
      if (c === ignored || c.timeoutAt <= now) continue;
      if (c.zone === ignored.zone && h.equals(t)) {
        if (ignored.orig.equals(c.orig)) continue;
        this.stats.found++;
        return true;
      }
    }
    return false;
  }

  /**
   * nf_conntrack_in(): find the entry for this packet (either direction) or create an unconfirmed
   * one, run the protocol tracker, and report ctinfo or a verdict in `out`.
   *
   * Call at PREROUTING / OUTPUT (priority -200) for packets not marked notrack and without a
   * conntrack yet (a looped-back local packet keeps the one it got at OUTPUT: the kernel skips it);
   * then confirm() at POSTROUTING / INPUT, or discard() the entry if the packet dies before that.
   */
  in(pkt: CtPacket, now: number, out: CtResult): void {
    out.reset();
    // The kernel kills expired entries it meets during lookups (nf_ct_gc_expired); collecting all
    // due entries first keeps lookups, NAT clash checks and confirm() consistent. O(1) when none is due.
    if (this.heap.length > 0 && this.heap[0]!.heapKey <= now) this.expire(now);
    const p = pkt.proto;
    if (p === IPPROTO_ICMP || p === IPPROTO_ICMPV6) {
      // nf_conntrack_handle_icmp(): errors are RELATED to the flow they quote, or nothing.
      if (this.icmpError(pkt, now, out)) return;
    }
    const t = this.scratch;
    tupleFromPacket(t, pkt);
    const zone = pkt.zone;
    for (let repeat = 0; repeat < 2; repeat++) {
      // resolve_normal_ct()
      let h = this.find(t, zone, now);
      let created = false;
      if (h === null) {
        const c = this.initConntrack(t, zone, now, out);
        if (c === null) return; // out already says invalid or drop
        h = c.orig;
        created = true;
      }
      const ct = h.conn!;
      let ctinfo: number;
      if (h.dir === IP_CT_DIR_REPLY) {
        ctinfo = IP_CT_ESTABLISHED_REPLY;
      } else if (ct.status & IPS_SEEN_REPLY) {
        ctinfo = IP_CT_ESTABLISHED;
      } else if (ct.status & IPS_EXPECTED) {
        ctinfo = IP_CT_RELATED;
      } else {
        ctinfo = IP_CT_NEW;
      }
      const dir = h.dir;
      // nf_conntrack_handle_packet()
      let ret: number;
      switch (ct.orig.proto) {
        case IPPROTO_TCP: ret = tcpPacket(this, ct, pkt, dir, now, out); break;
        case IPPROTO_UDP:
        case IPPROTO_UDPLITE: ret = this.udpPacket(ct, pkt, now, out); break;
        case IPPROTO_ICMP:
        case IPPROTO_ICMPV6: ret = this.icmpPacket(ct, pkt, now, out); break;
        case IPPROTO_GRE: ret = this.grePacket(ct, now); break;
        default: this.refresh(ct, this.timeouts.generic, now); ret = TCP_ACCEPT; break;
      }
      if (ret === TCP_REPEAT) {
        out.detail = '';
        continue; // the TCP tracker killed a closed/aborted entry: create a fresh one
      }
      if (ret === TCP_INVALID) {
        if (created) this.freeUnconfirmed(ct);
        this.stats.invalid++;
        out.conn = null;
        out.ctinfo = IP_CT_UNTRACKED;
        out.verdict = 'invalid';
        return;
      }
      if (ctinfo === IP_CT_ESTABLISHED_REPLY) ct.status |= IPS_SEEN_REPLY;
      if (dir === IP_CT_DIR_ORIGINAL) ct.packets0++; else ct.packets1++;
      out.conn = ct;
      out.ctinfo = ctinfo;
      out.dir = dir;
      out.created = created;
      return;
    }
    out.verdict = 'invalid'; // a second reopen in a row cannot happen; be safe
  }

  /**
   * nf_conntrack_confirm(): call for every tracked packet at the confirm point; only an unconfirmed
   * entry is inserted (__nf_conntrack_confirm). Returns the entry the packet now belongs to (itself,
   * or the identical entry it merged into), or null when the packet must be dropped (NF_DROP: a tuple
   * clashes with another entry, stats.insert_failed).
   */
  confirm(conn: Conn, now: number): Conn | null {
    if (conn.status & IPS_CONFIRMED) return conn;
    if (conn.status & IPS_DYING) {
      this.stats.insert_failed++;
      this.freeUnconfirmed(conn);
      return null;
    }
    // See if there's one in the list already, including reverse: NAT could have grabbed it.
    const hash = this.bucketOf(conn.orig, conn.zone);
    const rhash = this.bucketOf(conn.reply, conn.zone);
    let clash = this.findEqual(hash, conn.orig, conn.zone);
    if (clash === null) clash = this.findEqual(rhash, conn.reply, conn.zone);
    if (clash !== null) {
      // nf_ct_resolve_clash(): protocols that allow clashes merge into an identical entry.
      const p = conn.orig.proto;
      const allow = p === IPPROTO_UDP || p === IPPROTO_UDPLITE || p === IPPROTO_GRE;
      const winner = clash.conn!;
      if (allow && ((winner.orig.equals(conn.orig) && winner.reply.equals(conn.reply)) ||
                    (winner.orig.equals(conn.reply) && winner.reply.equals(conn.orig)))) {
        this.stats.clash_resolve++;
        this.freeUnconfirmed(conn);
        return winner;
      }
      this.stats.drop++;
      this.stats.insert_failed++;
      this.freeUnconfirmed(conn);
      return null;
    }
    this.link(conn.orig, hash);
    this.link(conn.reply, rhash);
    conn.origHashed = true;
    conn.status |= IPS_CONFIRMED;
    conn.heapKey = conn.timeoutAt;
    this.heapPush(conn);
    if (conn.timeoutAt <= now) this.kill(conn); // a zero timeout (sysctl 0) expires at once
    return conn;
  }

  /** Throw away an unconfirmed entry whose packet was dropped before confirmation. */
  discard(conn: Conn): void {
    if (conn.status & IPS_CONFIRMED) return;
    this.freeUnconfirmed(conn);
  }

  /** GC: remove every entry whose timeout has passed (nf_ct_is_expired: timeout <= now). */
  expire(now: number): number {
    let n = 0;
    const heap = this.heap;
    while (heap.length > 0 && heap[0]!.heapKey <= now) {
      const c = heap[0]!;
      if (c.timeoutAt <= now) {
        this.kill(c);
        n++;
      } else {
        c.heapKey = c.timeoutAt;
        this.siftDown(0);
      }
    }
    return n;
  }

  /** Earliest pending expiry (a lower bound), or Infinity: lets a caller skip expire() calls. */
  nextExpiry(): number {
    return this.heap.length > 0 ? this.heap[0]!.heapKey : Infinity;
  }

  /** nf_ct_refresh_acct(): timeout = now + extra (unless IPS_FIXED_TIMEOUT). */
  refresh(ct: Conn, extra: number, now: number): void {
    if (ct.status & IPS_FIXED_TIMEOUT) return;
    this.setTimeout(ct, now + extra);
  }

  /** Set the absolute expiry, keeping the heap ordered when it moves earlier. */
  setTimeout(ct: Conn, at: number): void {
    ct.timeoutAt = at;
    if (ct.heapIdx >= 0 && at < ct.heapKey) {
      ct.heapKey = at;
      this.siftUp(ct.heapIdx);
    }
  }

  /**
   * nf_ct_delete()/nf_ct_kill(): remove a confirmed entry now. An unconfirmed one is only marked
   * dying (its packet still holds it): confirm() will then refuse it and discard() frees it.
   */
  kill(ct: Conn): boolean {
    if (ct.status & IPS_DYING) return false;
    ct.status |= IPS_DYING;
    if (!(ct.status & IPS_CONFIRMED)) return true;
    ct.freed = true;
    if (ct.origHashed) this.unlink(ct.orig);
    this.unlink(ct.reply);
    if (ct.heapIdx >= 0) this.heapRemove(ct.heapIdx);
    if (ct.status & IPS_SRC_NAT_DONE) this.bysrcRemove(ct);
    this.count--;
    return true;
  }

  /** The confirmed entry whose original tuple equals `t` (tests and tools; not for the packet path). */
  lookup(t: Tuple, zone = 0, now = -Infinity): Conn | null {
    const h = this.find(t, zone, now);
    return h === null ? null : h.conn;
  }

  /** Link a conn into the NAT by-source chain of its original source (nf_nat_setup_info). */
  bysrcAdd(ct: Conn, bucket: number): void {
    if (ct.bysrcBucket >= 0) return;
    ct.bysrcBucket = bucket;
    ct.bysrcNext = this.bysrc[bucket];
    this.bysrc[bucket] = ct;
  }

  /** Unlink from the by-source chain (nf_nat_cleanup_conntrack). */
  bysrcRemove(ct: Conn): void {
    const b = ct.bysrcBucket;
    if (b < 0) return;
    let prev: Conn | null = null;
    for (let c = this.bysrc[b]; c !== null; prev = c, c = c.bysrcNext) {
      if (c === ct) {
        if (prev === null) this.bysrc[b] = c.bysrcNext; else prev.bysrcNext = c.bysrcNext;
        break;
      }
    }
    ct.bysrcNext = null;
    ct.bysrcBucket = -1;
  }

  // ---------------------------------------------------------------------------------------------
  // Creation, early drop.

  /** init_conntrack() + __nf_conntrack_alloc(). Sets `out` and returns null on failure. */
  private initConntrack(t: Tuple, zone: number, now: number, out: CtResult): Conn | null {
    const repl = this.scratch2;
    if (!repl.invertFrom(t)) {
      // Not valid part of a connection (e.g. an ICMP type with no reply type).
      this.stats.invalid++;
      out.verdict = 'invalid';
      out.detail = 'no inverse tuple';
      return null;
    }
    if (this.max > 0 && this.count + 1 > this.max) {
      if (!this.earlyDrop(this.bucketOf(t, zone), now)) {
        // "nf_conntrack: table full, dropping packet"
        this.stats.drop++;
        out.verdict = 'drop';
        out.detail = 'conntrack table full';
        return null;
      }
    }
    this.count++;
    const c = new Conn();
    c.id = this.nextId++;
    c.orig.copyFrom(t);
    c.reply.copyFrom(repl);
    c.zone = zone;
    c.created = now;
    c.timeoutAt = now;
    return c;
  }

  /**
   * early_drop(): walk up to 8 buckets from the new tuple's bucket; in the first one holding any
   * confirmed, non-ASSURED, non-dying entry, delete all such entries (early_drop_list). True if any.
   */
  private earlyDrop(bucket: number, now: number): boolean {
    const v = this.victims;
    for (let i = 0; i < EVICTION_RANGE; i++) {
      const b = (bucket + i) % this.nbuckets;
      v.length = 0;
      for (let h = this.buckets[b]; h !== null; h = h.next) {
        const c = h.conn!;
        if (c.timeoutAt <= now) { v.push(c); continue; } // nf_ct_gc_expired(), not counted as a drop
        if (c.status & (IPS_ASSURED | IPS_DYING)) continue;
        v.push(c);
      }
      let drops = 0;
      for (let k = 0; k < v.length; k++) {
        const c = v[k]!;
        const expired = c.timeoutAt <= now;
        if (this.kill(c) && !expired) drops++;
      }
      v.length = 0;
      if (drops > 0) {
        this.stats.early_drop += drops;
        return true;
      }
    }
    return false;
  }

  /** Free an unconfirmed entry (nf_conntrack_free): count--, NAT by-source unlink. Idempotent. */
  private freeUnconfirmed(ct: Conn): void {
    if (ct.freed || ct.status & IPS_CONFIRMED) return;
    ct.freed = true;
    ct.status |= IPS_DYING;
    if (ct.bysrcBucket >= 0) this.bysrcRemove(ct);
    this.count--;
  }

  // ---------------------------------------------------------------------------------------------
  // Small trackers.

  /** nf_conntrack_udp_packet() (and udplite). */
  private udpPacket(ct: Conn, p: CtPacket, now: number, out: CtResult): number {
    if (p.hdrError) { out.detail = 'truncated/malformed packet'; return TCP_INVALID; }
    if (p.csumBad) { out.detail = 'bad checksum'; return TCP_INVALID; }
    const to = this.timeouts;
    const status = ct.status;
    if (ct.orig.proto === IPPROTO_UDPLITE) {
      if (status & IPS_SEEN_REPLY) {
        this.refresh(ct, to.udpStream, now);
        if (!(status & IPS_NAT_CLASH)) ct.status |= IPS_ASSURED;
      } else {
        this.refresh(ct, to.udp, now);
      }
      return TCP_ACCEPT;
    }
    if (!(status & IPS_CONFIRMED)) ct.udpStreamTs = now + 2;
    if (status & IPS_SEEN_REPLY) {
      // Traffic both ways: some kind of UDP stream. Still active after two seconds? Extend, assure.
      let extra = to.udp;
      let stream = false;
      if (now > ct.udpStreamTs) {
        extra = to.udpStream;
        stream = (status & IPS_ASSURED) === 0;
      }
      this.refresh(ct, extra, now);
      if (status & IPS_NAT_CLASH) return TCP_ACCEPT; // never assured: they time out soon
      if (stream) ct.status |= IPS_ASSURED;
    } else {
      this.refresh(ct, to.udp, now);
    }
    return TCP_ACCEPT;
  }

  /** nf_conntrack_icmp_packet() / nf_conntrack_icmpv6_packet(). */
  private icmpPacket(ct: Conn, p: CtPacket, now: number, out: CtResult): number {
    if (ct.orig.proto === IPPROTO_ICMP) {
      if (p.l3 !== 4 || !icmpValidNew(ct.orig.icmpType)) { out.detail = "icmp: can't create new conn with this type"; return TCP_INVALID; }
      this.refresh(ct, this.timeouts.icmp, now);
    } else {
      if (p.l3 !== 6) { out.detail = "icmpv6: can't create new conn with this type"; return TCP_INVALID; }
      if (!(ct.status & IPS_CONFIRMED) && !icmpv6ValidNew(ct.orig.icmpType)) {
        out.detail = "icmpv6: can't create new conn with this type";
        return TCP_INVALID;
      }
      this.refresh(ct, this.timeouts.icmpv6, now);
    }
    return TCP_ACCEPT;
  }

  /** nf_conntrack_gre_packet() (GREv0: keys are 0, like generic; PPTP keymaps are not modelled). */
  private grePacket(ct: Conn, now: number): number {
    const status = ct.status;
    if (status & IPS_SEEN_REPLY) {
      this.refresh(ct, this.timeouts.greStream, now);
      if (!(status & IPS_NAT_CLASH)) ct.status |= IPS_ASSURED;
    } else {
      this.refresh(ct, this.timeouts.gre, now);
    }
    return TCP_ACCEPT;
  }

  /**
   * nf_conntrack_icmpv4_error() / nf_conntrack_icmpv6_error() + nf_conntrack_inet_error().
   * Returns true when the packet is settled here (RELATED, untracked, or an error without a flow),
   * false when it is an ordinary ICMP message to be tracked normally.
   */
  private icmpError(p: CtPacket, now: number, out: CtResult): boolean {
    const v6 = p.proto === IPPROTO_ICMPV6;
    if (p.hdrError) return this.icmpErrorFail(out, 'short packet');
    if (p.csumBad) return this.icmpErrorFail(out, v6 ? 'ICMPv6 checksum failed' : 'bad hw icmp checksum');
    const type = p.icmpType;
    if (!v6) {
      if (type > 18) return this.icmpErrorFail(out, 'invalid icmp type'); // NR_ICMP_TYPES
      // icmp_is_err(): dest unreachable, source quench, redirect, time exceeded, parameter problem.
      if (type !== 3 && type !== 4 && type !== 5 && type !== 11 && type !== 12) return false;
    } else {
      // MLD and neighbour discovery are never tracked (noct_valid_new).
      if ((type >= 130 && type <= 136) || type === 143 || type === 151 || type === 152) {
        out.verdict = 'ok';
        out.ctinfo = IP_CT_UNTRACKED;
        out.detail = 'untracked (nd/mld)';
        return true;
      }
      // Redirects (137) quote a header too, but only with hop limit 255 from a link-local source and
      // a redirected-header option; not modelled: they are tracked like other informational types.
      if (type >= 128) return false;
    }
    if (!p.innerValid) return this.icmpErrorFail(out, 'inner header not parsable');
    const inner = this.scratch;
    tupleFromInner(inner, p);
    // The quoted packet went the other way: look up its inverse.
    const inv = this.scratch2;
    if (!inv.invertFrom(inner)) return this.icmpErrorFail(out, 'inner tuple has no inverse');
    const h = this.find(inv, p.zone, now);
    if (h === null) return this.icmpErrorFail(out, 'no connection for the quoted header');
    // The outer destination must be the found direction's destination: an error is only RELATED when
    // it travels to where that direction's packets go (nf_conntrack_inet_error).
    if (p.l3 === 4) {
      if (h.dst0 !== (p.dst4 >>> 0) || h.dst1 !== 0 || h.dst2 !== 0 || h.dst3 !== 0) {
        return this.icmpErrorFail(out, 'outer daddr != inner');
      }
    } else {
      inner.setDst(p.dst6);
      if (!h.dstAddrEquals(inner)) return this.icmpErrorFail(out, 'outer daddr != inner');
    }
    out.conn = h.conn!;
    out.dir = h.dir;
    out.ctinfo = IP_CT_RELATED + (h.dir === IP_CT_DIR_REPLY ? IP_CT_IS_REPLY : 0);
    out.verdict = 'ok';
    return true;
  }

  /** An ICMP error conntrack rejects: stat `error`, the packet goes on without a conntrack. */
  private icmpErrorFail(out: CtResult, why: string): boolean {
    this.stats.error++;
    out.conn = null;
    out.ctinfo = IP_CT_UNTRACKED;
    out.verdict = 'invalid';
    out.detail = why;
    return true;
  }

  // ---------------------------------------------------------------------------------------------
  // Buckets and heap.

  private findEqual(bucket: number, t: Tuple, zone: number): Tuple | null {
    for (let h = this.buckets[bucket]; h !== null; h = h.next) {
      if (h.conn!.zone === zone && h.equals(t)) return h;
    }
    return null;
  }

  private link(t: Tuple, bucket: number): void {
    t.next = this.buckets[bucket];
    this.buckets[bucket] = t;
  }

  private unlink(t: Tuple): void {
    const b = this.bucketOf(t, t.conn!.zone);
    let prev: Tuple | null = null;
    for (let h = this.buckets[b]; h !== null; prev = h, h = h.next) {
      if (h === t) {
        if (prev === null) this.buckets[b] = h.next; else prev.next = h.next;
        break;
      }
    }
    t.next = null;
  }

  private heapPush(c: Conn): void {
    c.heapIdx = this.heap.length;
    this.heap.push(c);
    this.siftUp(c.heapIdx);
  }

  private heapRemove(i: number): void {
    const heap = this.heap;
    const c = heap[i]!;
    const last = heap.pop()!;
    c.heapIdx = -1;
    if (last !== c) {
      heap[i] = last;
      last.heapIdx = i;
      this.siftDown(i);
      this.siftUp(last.heapIdx);
    }
  }

  private siftUp(i: number): void {
    const heap = this.heap;
    const c = heap[i]!;
    while (i > 0) {
      const pi = (i - 1) >> 1;
      const parent = heap[pi]!;
      if (parent.heapKey <= c.heapKey) break;
      heap[i] = parent;
      parent.heapIdx = i;
      i = pi;
    }
    heap[i] = c;
    c.heapIdx = i;
  }

  private siftDown(i: number): void {
    const heap = this.heap;
    const n = heap.length;
    const c = heap[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const m = r < n && heap[r]!.heapKey < heap[l]!.heapKey ? r : l;
      if (heap[m]!.heapKey >= c.heapKey) break;
      heap[i] = heap[m]!;
      heap[i]!.heapIdx = i;
      i = m;
    }
    heap[i] = c;
    c.heapIdx = i;
  }
}
