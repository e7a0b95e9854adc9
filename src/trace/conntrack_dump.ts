/**
 * The conntrack tables of a replay, as JSON (`--conntrack FILE`) or as `conntrack -L` prints them
 * (`pktpath conntrack`).
 */
import type { Datapath } from '../stack/datapath.js';
import {
  formatConntrack, formatIpv4, formatIpv6Words, TCP_CONNTRACK_NAMES, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP,
  type Conn, type Tuple,
} from '../stack/conntrack/index.js';

const STATUS_BITS: Array<[number, string]> = [
  [1, 'EXPECTED'], [2, 'SEEN_REPLY'], [4, 'ASSURED'], [8, 'CONFIRMED'], [16, 'SRC_NAT'], [32, 'DST_NAT'],
  [64, 'SEQ_ADJUST'], [128, 'SRC_NAT_DONE'], [256, 'DST_NAT_DONE'], [512, 'DYING'], [1024, 'FIXED_TIMEOUT'],
];

function tupleJson(t: Tuple): Record<string, unknown> {
  const a = (src: boolean) => (t.l3 === 4 ? formatIpv4(src ? t.src0 : t.dst0) : src ? formatIpv6Words(t.src0, t.src1, t.src2, t.src3) : formatIpv6Words(t.dst0, t.dst1, t.dst2, t.dst3));
  if (t.proto === IPPROTO_ICMP || t.proto === IPPROTO_ICMPV6) return { src: a(true), dst: a(false), type: t.icmpType, code: t.icmpCode, id: t.icmpId };
  return { src: a(true), dst: a(false), sport: t.sport, dport: t.dport };
}

/** One entry as JSON. */
export function connJson(ns: string, c: Conn, now: number): Record<string, unknown> {
  const status = STATUS_BITS.filter(([b]) => c.status & b).map(([, n]) => n);
  if (!(c.status & 2)) status.unshift('UNREPLIED');
  return {
    ns,
    id: c.id,
    l3: c.orig.l3 === 4 ? 'ipv4' : 'ipv6',
    proto: c.orig.proto,
    ...(c.orig.proto === IPPROTO_TCP ? { state: TCP_CONNTRACK_NAMES[c.tcpState] } : {}),
    original: tupleJson(c.orig),
    reply: tupleJson(c.reply),
    status,
    mark: c.mark >>> 0,
    timeout: Math.max(0, Math.floor(c.timeoutAt - now + 1e-9)),
  };
}

/** Every confirmed entry of every namespace, sorted by namespace then id (deterministic). */
export function conntrackEntries(dp: Datapath): Array<{ ns: string; conn: Conn }> {
  const out: Array<{ ns: string; conn: Conn }> = [];
  dp.world.namespaces.forEach((ns, i) => {
    const ct = dp.rt[i].ct;
    if (!ct) return;
    const list = [...ct.entries()].filter((c) => c.confirmed).sort((a, b) => a.id - b.id);
    for (const conn of list) out.push({ ns: ns.name, conn });
  });
  return out;
}

/** JSON document for `--conntrack`. */
export function conntrackJson(dp: Datapath): unknown {
  return {
    v: 1,
    at: dp.now.toFixed(9),
    namespaces: dp.world.namespaces.map((ns, i) => ({ ns: ns.name, tracking: dp.rt[i].ct !== null, count: dp.rt[i].ct ? conntrackEntries(dp).filter((e) => e.ns === ns.name).length : 0 })),
    entries: conntrackEntries(dp).map((e) => connJson(e.ns, e.conn, dp.now)),
  };
}

/** `conntrack -L` text, one block per namespace with tracking on. */
export function conntrackText(dp: Datapath): string {
  let s = '';
  const all = conntrackEntries(dp);
  dp.world.namespaces.forEach((ns, i) => {
    if (!dp.rt[i].ct) return;
    const list = all.filter((e) => e.ns === ns.name);
    s += `# ${ns.name}: ${list.length} flow entries at ${dp.now.toFixed(9)}\n`;
    for (const e of list) s += formatConntrack(e.conn, dp.now) + '\n';
  });
  return s || '# no namespace tracks connections (no ruleset needs conntrack)\n';
}
