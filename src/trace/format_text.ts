/**
 * The human trace: one block per packet, netfilter lines in `nft monitor trace` style plus the steps
 * nft cannot see (bridge, routing, rp_filter, neighbour, conntrack, NAT, socket, device).
 */
import type { TraceRecord } from './schema.js';
import type { Final, HdrTuple, Step } from '../stack/record.js';

/** `addr:port`, with IPv6 addresses in brackets (`[2001:db8::1]:80`) so the port is unambiguous. */
export function endpoint(addr: string, port: number | undefined): string {
  if (port === undefined) return addr;
  return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`;
}

function tuple(t: HdrTuple | undefined | null): string {
  if (!t) return '';
  const s = endpoint(t.src, t.sport);
  const d = endpoint(t.dst, t.dport);
  return `${s} > ${d}${t.icmp_id !== undefined ? ` id ${t.icmp_id}` : ''}`;
}

function stepLine(s: Step): string {
  switch (s.kind) {
    case 'rx':
      return `rx      ${s.ns}:${s.dev} (${s.pkttype})`;
    case 'bridge':
      return `bridge  ${s.ns}:${s.bridge} from ${s.port}: ${s.action}${s.to && s.to.length ? ' → ' + s.to.join(', ') : ''}`;
    case 'nf':
      return `nf      ${s.ns} ${s.family} ${s.table} ${s.chain} (${s.hook} ${s.prio}) ${s.rule === 'policy' ? s.verdict.replace('-', ' ') : `rule ${s.rule} (verdict ${s.verdict})`}`;
    case 'ct':
      return `ct      ${s.ns} ${s.state} ${s.dir}${s.id ? ` id ${s.id}` : ''}${s.detail ? ` (${s.detail})` : ''}`;
    case 'nat':
      return `nat     ${s.ns} ${s.manip} at ${s.hook}: ${tuple(s.from)} → ${tuple(s.to)} (${s.binding})`;
    case 'route':
      return `route   ${s.ns} ${s.rule ? `[${s.rule}] ` : ''}${s.table ? `table ${s.table}: ` : ''}${s.route} → ${s.result}${s.oif ? ` dev ${s.oif}` : ''}${s.via ? ` via ${s.via}` : ''}`;
    case 'rpfilter':
      return `rpfilt  ${s.ns}:${s.dev} ${s.mode}: ${s.result}`;
    case 'forward':
      return `forward ${s.ns} ${s.ip6 ? 'hop limit' : 'ttl'} now ${s.ttl}`;
    case 'neigh':
      return `neigh   ${s.ns}:${s.dev} ${s.addr} ${s.action}${s.lladdr ? ` (${s.lladdr})` : ''}`;
    case 'socket':
      return `socket  ${s.ns} ${s.socket}`;
    case 'local':
      return `local   ${s.ns} ${s.what}`;
    case 'tx':
      return `tx      ${s.ns}:${s.dev}${s.hdr ? ' ' + tuple(s.hdr) : ''}`;
    case 'veth':
      return `veth    ${s.from} → ${s.to}`;
    case 'drop':
      return `drop    ${s.ns} at ${s.stage}: ${s.reason}${s.detail ? ` (${s.detail})` : ''}`;
  }
}

/** One line summary of the fate. */
export function finalText(f: Final): string {
  switch (f.verdict) {
    case 'transmitted':
      return `TRANSMITTED on ${f.ns}:${f.dev}${f.out ? ' as ' + tuple(f.out) : ''}${f.also ? ` (also ${f.also.join(', ')})` : ''}`;
    case 'delivered':
      return `DELIVERED to ${f.ns} socket ${f.socket}`;
    case 'consumed':
      return `CONSUMED by ${f.ns}${f.detail ? ` (${f.detail})` : ''}`;
    case 'unmodelled':
      return `UNMODELLED in ${f.ns}: ${f.detail}`;
    default: {
      const w = f.where as Record<string, unknown> | undefined;
      const place = !w ? '' : 'table' in w ? ` in ${w.family} ${w.table} ${w.chain}: ${w.rule}${w.handle !== null ? ` (handle ${w.handle})` : ''}` : ` at ${w.stage}${w.dev ? ` (${w.dev})` : ''}`;
      return `DROPPED ${f.reason}${place}${f.detail ? ` — ${f.detail}` : ''}`;
    }
  }
}

/** A record as a text block. */
export function formatText(r: TraceRecord): string {
  const p = r.pkt;
  const head = p.src ? `${p.proto || p.l3} ${tuple(p as HdrTuple)}` : p.l3;
  let out = `#${r.index} ${r.ts} ${r.in.ns}:${r.in.dev} ${head} len ${p.len}${r.problems.length ? ` [${r.problems.join(',')}]` : ''}\n`;
  for (const s of r.steps as Step[]) out += `  ${stepLine(s)}\n`;
  for (const e of r.emitted as Array<{ type: string; src: string; dst: string; detail?: string; fate?: string }>)
    out += `  emit    ${e.type} ${e.src} > ${e.dst}${e.detail ? ` ${e.detail}` : ''}${e.fate ? ` → ${e.fate}` : ''}\n`;
  out += `  => ${finalText(r.final as Final)}\n`;
  return out;
}
