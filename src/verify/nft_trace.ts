/**
 * `nft monitor` output (text), reduced to trace events: which base or regular chain a packet met, which
 * rule or policy decided, and the packet's header as the `packet:` line printed it. Lines of our own
 * `pktpath_verify` tables and ruleset-change lines are skipped.
 *
 *   trace id 476b51b4 ip filter forward packet: iif "br0" oif "eth0" ... ip id 8174 ip length 60 tcp sport 40001 ...
 *   trace id 476b51b4 ip filter forward rule iifname "br0" oifname "eth0" counter packets 0 bytes 0 accept # handle 4 (verdict accept)
 *   trace id 476b51b4 ip filter forward policy drop
 *
 * `trace id` is not a packet key (it changes at br_netfilter and is reused): packets are matched on
 * the header of the `packet:` line (protocol, IP id, IP length).
 */

/** The header fields a `packet:` line shows. */
export interface TracePkt {
  src: string;
  dst: string;
  proto: number;
  id: number;
  len: number;
  sport: number;
  dport: number;
  icmpSeq: number;
  iif: string;
  oif: string;
}

/** One verdict line. */
export interface NftTraceEvent {
  /** World namespace. */
  ns: string;
  /** Position in that namespace's monitor output. */
  seq: number;
  traceId: string;
  family: string;
  table: string;
  chain: string;
  kind: 'rule' | 'policy' | 'verdict';
  /** accept, drop, continue, jump, goto, return, queue... */
  verdict: string;
  /** jump/goto target. */
  target: string;
  handle: number | null;
  /** Rule text without counters and the handle comment. */
  rule: string;
  pkt: TracePkt | null;
}

/** Our tracing tables (never reported). */
export const TRACE_TABLE = 'pktpath_verify';

/** Parse one namespace's `nft monitor` output. */
export function parseNftMonitor(ns: string, text: string): NftTraceEvent[] {
  const out: NftTraceEvent[] = [];
  const lastPkt = new Map<string, TracePkt>();
  let seq = 0;
  for (const line of text.split('\n')) {
    const m = /^trace id ([0-9a-f]+) (\S+) (\S+) (\S+) (.*)$/.exec(line.trimEnd());
    if (!m) continue;
    const [, traceId, family, table, chain, rest] = m;
    if (rest.startsWith('packet: ')) {
      lastPkt.set(traceId, parsePacketLine(rest.slice(8)));
      continue;
    }
    if (table === TRACE_TABLE) continue;
    let kind: NftTraceEvent['kind'];
    let verdict = '', target = '', rule = '';
    let handle: number | null = null;
    if (rest.startsWith('rule ')) {
      kind = 'rule';
      const v = /\(verdict (\S+)(?: (\S+))?\)\s*$/.exec(rest);
      verdict = v ? v[1] : 'continue';
      target = v?.[2] ?? '';
      const h = /# handle (\d+)/.exec(rest);
      handle = h ? Number(h[1]) : null;
      rule = rest.slice(5).replace(/\s*\(verdict [^)]*\)\s*$/, '').replace(/\s*# handle \d+\s*$/, '').replace(/ counter packets \d+ bytes \d+/g, ' counter').trim();
    } else if (rest.startsWith('policy ')) {
      kind = 'policy';
      verdict = rest.slice(7).trim();
    } else if (rest.startsWith('verdict ')) {
      kind = 'verdict';
      const w = rest.slice(8).trim().split(/\s+/);
      verdict = w[0];
      target = w[1] ?? '';
    } else continue;
    out.push({ ns, seq: seq++, traceId, family, table, chain, kind, verdict, target, handle, rule, pkt: lastPkt.get(traceId) ?? null });
  }
  return out;
}

/** Parse the fields after `packet:`. */
export function parsePacketLine(s: string): TracePkt {
  const p: TracePkt = { src: '', dst: '', proto: -1, id: -1, len: -1, sport: -1, dport: -1, icmpSeq: -1, iif: '', oif: '' };
  const t = s.trim().split(/\s+/);
  for (let i = 0; i < t.length; i++) {
    const a = t[i], b = t[i + 1], c = t[i + 2];
    if (a === 'iif' && b) p.iif = b.replace(/"/g, '');
    else if (a === 'oif' && b) p.oif = b.replace(/"/g, '');
    else if (a === 'ip' && c !== undefined) {
      if (b === 'saddr') p.src = c;
      else if (b === 'daddr') p.dst = c;
      else if (b === 'id') p.id = Number(c);
      else if (b === 'length') p.len = Number(c);
      else if (b === 'protocol') p.proto = c === 'tcp' ? 6 : c === 'udp' ? 17 : c === 'icmp' ? 1 : Number(c);
    } else if ((a === 'tcp' || a === 'udp') && c !== undefined) {
      if (p.proto < 0) p.proto = a === 'tcp' ? 6 : 17;
      if (b === 'sport') p.sport = Number(c);
      else if (b === 'dport') p.dport = Number(c);
    } else if (a === 'icmp' && c !== undefined) {
      if (p.proto < 0) p.proto = 1;
      if (b === 'sequence') p.icmpSeq = Number(c);
    }
  }
  return p;
}

/** The key a drop is matched on: protocol, IP id, IP length (all unchanged by NAT and forwarding). */
export function traceKey(proto: number, id: number, len: number): string {
  return `${proto}/${id}/${len}`;
}
