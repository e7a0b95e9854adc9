/**
 * `pktpath explain`: one packet (or every packet of a flow) step by step in plain words, following the
 * usual debugging order (namespace and device, bridge, firewall and conntrack, route and source,
 * neighbour, socket), ending with what to change when it died.
 */
import { endpoint } from './format_text.js';
import type { TraceRecord } from './schema.js';
import type { Final, HdrTuple, Step } from '../stack/record.js';

function tuple(t: HdrTuple | undefined): string {
  if (!t) return '?';
  const s = endpoint(t.src, t.sport);
  const d = endpoint(t.dst, t.dport);
  return `${s} → ${d}${t.icmp_id !== undefined ? ` (icmp id ${t.icmp_id})` : ''}`;
}

const PKTTYPE_WORDS: Record<string, string> = {
  host: 'addressed to this device',
  broadcast: 'a broadcast',
  multicast: 'a multicast',
  otherhost: "addressed to another host's MAC",
};

function say(s: Step): string | null {
  switch (s.kind) {
    case 'rx':
      return `Arrives on ${s.ns}:${s.dev}, ${PKTTYPE_WORDS[s.pkttype] ?? `a ${s.pkttype}`}.`;
    case 'bridge':
      if (s.action === 'local') return `Bridge ${s.bridge} passes it up to the host: the destination MAC is the bridge's own.`;
      if (s.action.startsWith('flood')) return `Bridge ${s.bridge} floods it (${s.action}) to ${s.to?.length ? s.to.join(', ') : 'no other port'}.`;
      if (s.action === 'forward') return `Bridge ${s.bridge} forwards it to port ${s.to?.join(', ')} (the FDB knows the destination MAC there).`;
      return `Bridge ${s.bridge}: ${s.action}.`;
    case 'nf':
      if (s.verdict === 'continue' && /nftrace/.test(s.rule)) return null; // tracing only, no effect
      if (s.rule === 'policy') return `Firewall ${s.family} ${s.table} ${s.chain} (${s.hook}, priority ${s.prio}): no rule decided; the chain's policy ${s.verdict === 'policy-drop' ? 'DROPS' : 'accepts'} it.`;
      return `Firewall ${s.family} ${s.table} ${s.chain} (${s.hook}, priority ${s.prio}): rule \`${s.rule.replace(/^\d+ /, '')}\` (handle ${s.rule.split(' ')[0]}) matches → ${s.verdict === 'drop' ? 'DROP' : s.verdict}.`;
    case 'ct':
      if (s.state === 'INVALID') return `Conntrack: no valid connection for it (ct state invalid${s.detail ? `: ${s.detail}` : ''}).`;
      if (s.state === 'UNTRACKED') return 'Conntrack: not tracked (notrack).';
      return `Conntrack: ${s.state === 'NEW' ? 'a new connection' : `${s.state.toLowerCase()} (${s.dir} direction)`}, entry ${s.id}.`;
    case 'nat':
      return `NAT (${s.manip === 'snat' ? 'source' : 'destination'}, at ${s.hook}): ${tuple(s.from)} becomes ${tuple(s.to)}.`;
    case 'route':
      if (s.result === 'local') return `Routing: the destination is local (${s.route}).`;
      if (s.result === 'forward' || s.result === 'output') return `Routing: ${s.rule ? `rule "${s.rule}" → ` : ''}route \`${s.route}\` → out ${s.oif}${s.via ? ` via ${s.via}` : ''}.`;
      return `Routing: ${s.rule ? `rule "${s.rule}" → ` : ''}\`${s.route}\` → ${s.result}.`;
    case 'rpfilter':
      return `Reverse-path filter (${s.mode}) on ${s.dev}: ${s.result}.`;
    case 'forward':
      return `Forwarded: ${s.ip6 ? 'hop limit' : 'TTL'} decremented to ${s.ttl}.`;
    case 'neigh':
      return `Neighbour ${s.addr} on ${s.dev}: ${s.action}${s.lladdr ? ` (${s.lladdr})` : ''}.`;
    case 'socket':
      return `Delivered to the socket ${s.socket}.`;
    case 'local':
      return `${s.what}.`;
    case 'tx':
      return `Leaves by ${s.ns}:${s.dev}${s.hdr ? ` as ${tuple(s.hdr)}` : ''}.`;
    case 'veth':
      return `Crosses the veth pair ${s.from} → ${s.to}.`;
    case 'drop':
      return `DROPPED at ${s.stage}: ${s.reason}${s.detail ? ` (${s.detail})` : ''}.`;
  }
}

/** What to change so that the packet passes, by the place and reason it died. */
export function advice(r: TraceRecord): string {
  const f = r.final as Final;
  const w = (f.where ?? {}) as Record<string, unknown>;
  const p = r.pkt;
  const dst = p.dport !== undefined ? `${p.dst}:${p.dport}` : p.dst;
  switch (f.verdict) {
    case 'delivered':
      return 'It was delivered: nothing to change.';
    case 'transmitted':
      return `It left by ${f.ns}:${f.dev}. If it never arrived, look beyond this host (the next hop${f.out ? `, which saw ${tuple(f.out)}` : ''}).`;
    case 'consumed':
      return 'The host itself handled it (ARP, ICMP): nothing to change.';
    case 'unmodelled':
      return `pktpath does not model this yet: ${f.detail}.`;
  }
  switch (f.reason) {
    case 'NETFILTER_DROP':
      if (w.table) {
        if (w.rule === 'policy')
          return `The ${w.family} ${w.table} ${w.chain} chain's policy is drop and no rule accepted it: add an accept rule for this traffic to that chain (e.g. \`nft add rule ${w.family} ${w.table} ${w.chain} ${p.proto || 'ip'} ${p.dport !== undefined ? `dport ${p.dport} ` : ''}accept\`), or change the policy.`;
      {
        const ipt = String(w.source ?? '').includes('iptables');
        const num = typeof w.rule_number === 'number' ? w.rule_number : null;
        const del = ipt && num !== null
          ? ` (\`${w.family === 'ip6' ? 'ip6tables' : 'iptables'} -t ${w.table} -D ${w.chain} ${num}\`)`
          : typeof w.handle === 'number' ? ` (\`nft delete rule ${w.family} ${w.table} ${w.chain} handle ${w.handle}\`)` : '';
        const id = [num !== null ? `rule ${num}` : '', typeof w.handle === 'number' ? `handle ${w.handle}` : ''].filter(Boolean).join(', ');
        return `The rule \`${w.rule}\`${id ? ` (${id})` : ''} in ${w.family} ${w.table} ${w.chain} dropped it: insert an accept rule before it, or narrow or delete that rule${del}.`;
      }
      }
      if (String(w.detail ?? f.detail ?? '').includes('table full')) return 'The conntrack table was full: raise net.netfilter.nf_conntrack_max, shorten timeouts, or find what fills it (`pktpath conntrack`).';
      return `Netfilter dropped it at ${w.stage}${f.detail ? ` (${f.detail})` : ''}.`;
    case 'NO_SOCKET':
      return `Nothing listens on ${p.proto} ${dst} in ${f.ns}: start the service there (check \`ss -tulnp\`), or fix the port or the DNAT target.`;
    case 'NEIGH_FAILED':
      return `No host answered ARP for the next hop on ${w.dev}: check that it is up and on that link, and that the route's gateway is right (\`ip neigh\`, \`ip route get ${p.dst}\`).`;
    case 'IP_RPFILTER':
      return `Reverse-path filtering on ${w.dev} rejected the source ${p.src}: the route back to it leaves by another interface. Add a route for ${p.src} via ${w.dev} (or an ip rule), or use loose mode: sysctl -w net.ipv4.conf.${w.dev}.rp_filter=2 (the effective value is the max of conf.all and conf.${w.dev}).`;
    case 'IP_INADDRERRORS':
      return `Forwarding is off on ${w.dev}: sysctl -w net.ipv4.conf.${w.dev}.forwarding=1 (or net.ipv4.ip_forward=1 for all interfaces).`;
    case 'IP_INNOROUTES':
    case 'IP_OUTNOROUTES':
      return `There is no route to ${p.dst}: add one (\`ip route add ${p.dst} via <gateway>\`) or a default route.`;
    case 'NOT_SPECIFIED':
      if (w.stage === 'ip_error' && w.route) return `The route \`${w.route}\` discards it: remove it, or add a more specific route or an ip rule that sends this traffic elsewhere.`;
      return `It was dropped at ${w.stage}${f.detail ? ` (${f.detail})` : ''}.`;
    case 'BLACKHOLE':
      return `A blackhole route (\`${w.route}\`) swallows it: remove it or add a more specific route.`;
    case 'OTHERHOST':
      return 'The frame was addressed to another MAC address: the sender used the wrong next hop (check its ARP table), or this host should be a bridge port for it.';
    case 'IP_INHDR':
      return f.detail?.includes('TTL') ? 'Its TTL ran out here: look for a routing loop, or raise the sender\'s TTL.' : 'Its IP header is invalid: the sender (or a middlebox) is broken.';
    case 'PKT_TOO_BIG':
      return 'It is larger than the egress MTU with DF set: lower the sender\'s MTU/MSS (e.g. `iptables -t mangle -A FORWARD -p tcp --tcp-flags SYN,RST SYN -j TCPMSS --clamp-mss-to-pmtu`), raise the link MTU, and let ICMP frag-needed through.';
    case 'IP_CSUM':
    case 'TCP_CSUM':
    case 'UDP_CSUM':
    case 'ICMP_CSUM':
      return 'Its checksum is wrong. If the capture was taken on the sending host (checksum offload), replay with --no-checksums.';
    case 'DEV_READY':
      return `The device ${w.dev} is down: ip link set ${w.dev} up.`;
    default:
      return `It was dropped with ${f.reason} at ${w.stage ?? 'an unknown place'}.`;
  }
}

/** Plain-words explanation of one record. */
export function explainRecord(r: TraceRecord): string {
  const p = r.pkt;
  let s = `Packet #${r.index} at ${r.ts}: ${p.proto || p.l3} ${p.src ? tuple(p as HdrTuple) : ''} (${p.len} bytes), received on ${r.in.ns}:${r.in.dev}.\n`;
  let n = 1;
  for (const st of r.steps as Step[]) {
    const line = say(st);
    if (line) s += `  ${String(n++).padStart(2)}. ${line}\n`;
  }
  for (const e of r.emitted as Array<{ type: string; src: string; dst: string; detail?: string; fate?: string }>)
    s += `      The host sends ${e.type} ${e.src} → ${e.dst}${e.detail ? ` (${e.detail})` : ''}${e.fate ? `: ${e.fate}` : ''}.\n`;
  const f = r.final as Final;
  s += `  Result: ${f.verdict.toUpperCase()}${f.verdict === 'dropped' ? ` (${f.reason})` : f.dev ? ` on ${f.ns}:${f.dev}` : ''}.\n`;
  s += `  What to do: ${advice(r)}\n`;
  return s;
}

/** A flow selector: "tcp A:p > B:q" (either direction matches), "udp ...", "icmp A > B". */
export interface FlowSel {
  proto: string;
  a: string;
  ap: number | null;
  b: string;
  bp: number | null;
}

/** Parse a flow selector; null when malformed. */
export function parseFlow(s: string): FlowSel | null {
  const m = /^\s*(tcp|udp|icmp|ip)\s+(\S+?)(?::(\d+))?\s*>\s*(\S+?)(?::(\d+))?\s*$/.exec(s);
  if (!m) return null;
  return { proto: m[1], a: m[2], ap: m[3] ? Number(m[3]) : null, b: m[4], bp: m[5] ? Number(m[5]) : null };
}

/** Whether a record belongs to the flow (either direction, as it entered). */
export function matchesFlow(r: TraceRecord, f: FlowSel): boolean {
  const p = r.pkt;
  if (f.proto !== 'ip' && p.proto !== f.proto) return false;
  const fwd = p.src === f.a && p.dst === f.b && (f.ap === null || p.sport === f.ap) && (f.bp === null || p.dport === f.bp);
  const rev = p.src === f.b && p.dst === f.a && (f.bp === null || p.sport === f.bp) && (f.ap === null || p.dport === f.ap);
  return fwd || rev;
}

/** A queue-model drop of a packet (workers/queue_model.ts QueueDrop), as explain needs it. */
export interface QueueDropLike {
  generated: boolean;
  reason: string;
  where: { cpu: number; queue: string } | { cpu: number; backlog: true } | { dev: string; qdisc: string };
  t_ms: number;
}

/**
 * What the queue model says about a packet the stack would handle as explained above: where a queue
 * dropped it (the NIC's rx ring, a CPU's backlog, an egress qdisc), and what to change.
 */
export function explainQueueDrop(d: QueueDropLike, ring: (queue: string) => number | null): string {
  // The stack's story above assumes the packet got in and out; the queue model says whether it would.
  const who = d.generated ? 'but at the modelled rate, a packet the stack generated because of it' : 'but at the modelled rate, it';
  const at = `at +${d.t_ms.toFixed(3)} ms`;
  const w = d.where;
  if ('queue' in w) {
    const r = ring(w.queue);
    const dev = w.queue.split(':').slice(0, 2).join(':');
    return `  Queue model: ${who} would never reach the stack: the rx ring ${w.queue} (served by CPU ${w.cpu}) was full ${at} (${d.reason}; the NIC counts it as rx_missed).\n` +
      `  What to do: a bigger ring (ethtool -G ${dev.split(':')[1]} rx N${r ? `; now ${r}` : ''}), more queues or another spread of the flows (ethtool -L / -X), or less work per packet on CPU ${w.cpu}.\n`;
  }
  if ('backlog' in w) {
    return `  Queue model: ${who} would be dropped ${at} by CPU ${w.cpu}'s backlog (${d.reason}: input_pkt_queue over net.core.netdev_max_backlog, softnet_stat column 2).\n` +
      `  What to do: raise net.core.netdev_max_backlog, or spread the RPS/veth traffic over more CPUs.\n`;
  }
  return `  Queue model: ${who} would be dropped ${at} by the egress qdisc of ${w.dev} (${w.qdisc}: ${d.reason}); the link could not keep up.\n` +
    `  What to do: a larger qdisc limit, shaping or pacing upstream, or a faster link.\n`;
}
