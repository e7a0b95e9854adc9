/**
 * Local sockets, as `ss -H -tuanp` lists them, and the lookup the transport layer does on delivery
 * (__inet_lookup: an established 4-tuple first, then the best listener / bound UDP socket).
 */
import { formatIpv4, parseIpv4 } from './inet.js';

/** One socket. Addresses are IPv4 u32 (0 = wildcard); IPv6 sockets keep their text. */
export class Sock {
  proto: 'tcp' | 'udp' = 'tcp';
  state = 'LISTEN';
  family: 4 | 6 = 4;
  localAddr = 0;
  localPort = 0;
  peerAddr = 0;
  peerPort = 0;
  /** For IPv6 sockets: the address text ('::' wildcard, which also takes IPv4 unless v6only). */
  local6 = '';
  process = '';
  /** The line as `ss` printed it. */
  text = '';
  /** Packets delivered here. */
  delivered = 0;

  /** `tcp 0.0.0.0:7000 LISTEN` style name for traces. */
  name(): string {
    const a = this.family === 6 ? `[${this.local6}]` : this.localAddr === 0 ? '*' : formatIpv4(this.localAddr);
    return `${this.proto} ${a}:${this.localPort} ${this.state}${this.process ? ' ' + this.process : ''}`;
  }
}


const NO_SOCKS: readonly Sock[] = Object.freeze([]);
/** Per socket list: its length when indexed, and its sockets by protocol and local port. */
const portIndex = new WeakMap<Sock[], { len: number; byPort: Map<number, Sock[]> }>();

/**
 * The sockets of `socks` with this protocol and local port, in list order: the only candidates of a
 * lookup (the kernel's hash by port, inet_lhash2 / udp_table). A busy host lists tens of thousands of
 * connections; a lookup should not walk them all. Rebuilt when the list grows.
 */
export function socketsOnPort(socks: Sock[], proto: 'tcp' | 'udp', port: number): readonly Sock[] {
  let ix = portIndex.get(socks);
  if (ix === undefined || ix.len !== socks.length) {
    const byPort = new Map<number, Sock[]>();
    for (const s of socks) {
      const k = (s.proto === 'tcp' ? 0 : 65536) + s.localPort;
      const l = byPort.get(k);
      if (l === undefined) byPort.set(k, [s]);
      else l.push(s);
    }
    portIndex.set(socks, (ix = { len: socks.length, byPort }));
  }
  return ix.byPort.get((proto === 'tcp' ? 0 : 65536) + port) ?? NO_SOCKS;
}

/** Split 'addr:port' as ss prints it ('0.0.0.0:80', '[::]:80', '*:80', '127.0.0.1%lo:53'). */
function splitEndpoint(s: string): { addr: string; port: number } | null {
  const i = s.lastIndexOf(':');
  if (i < 0) return null;
  let addr = s.slice(0, i);
  const port = s.slice(i + 1) === '*' ? 0 : Number(s.slice(i + 1));
  if (!Number.isInteger(port)) return null;
  if (addr.startsWith('[') && addr.endsWith(']')) addr = addr.slice(1, -1);
  const pct = addr.indexOf('%');
  if (pct >= 0) addr = addr.slice(0, pct);
  return { addr, port };
}

/** Parse `ss -H -tuanp` output. Returns sockets and the 1-based numbers of lines it could not read. */
export function parseSs(text: string): { socks: Sock[]; bad: number[] } {
  const socks: Sock[] = [];
  const bad: number[] = [];
  text.split('\n').forEach((line, i) => {
    const t = line.trim();
    if (!t) return;
    const f = t.split(/\s+/);
    if (f[0] === 'Netid') return; // a header from `ss` without -H
    if (f.length < 6 || (f[0] !== 'tcp' && f[0] !== 'udp')) {
      if (f[0] === 'tcp' || f[0] === 'udp' || f.length < 6) bad.push(i + 1);
      return;
    }
    const loc = splitEndpoint(f[4]);
    const peer = splitEndpoint(f[5]);
    if (!loc || !peer) {
      bad.push(i + 1);
      return;
    }
    const s = new Sock();
    s.proto = f[0];
    s.state = f[1];
    s.localPort = loc.port;
    s.peerPort = peer.port;
    s.process = f.slice(6).join(' ');
    s.text = t;
    if (loc.addr === '*' || loc.addr === '0.0.0.0') s.localAddr = 0;
    else if (loc.addr.includes(':')) {
      s.family = 6;
      s.local6 = loc.addr;
    } else s.localAddr = parseIpv4(loc.addr) >>> 0;
    if (loc.addr === '*') {
      s.family = 6;
      s.local6 = '::';
    }
    s.peerAddr = peer.addr === '*' || peer.addr.includes(':') ? 0 : parseIpv4(peer.addr) >>> 0;
    socks.push(s);
  });
  return { socks, bad };
}

/**
 * Socket lookup for an incoming IPv4 segment (inet_lookup / udp4_lib_lookup): an exact
 * established match wins, then the most specific listener / bound socket (a specific local address
 * beats the wildcard). IPv6 wildcard sockets accept IPv4 (dual-stack, v6only off by default).
 */
export function lookupSock4(socks: Sock[], proto: 'tcp' | 'udp', saddr: number, sport: number, daddr: number, dport: number): Sock | null {
  let best: Sock | null = null;
  let bestScore = -1;
  for (const s of socketsOnPort(socks, proto, dport)) {
    if (s.proto !== proto || s.localPort !== dport) continue;
    const connected = s.peerPort !== 0;
    if (connected) {
      if (s.family === 4 && s.peerAddr === saddr && s.peerPort === sport && (s.localAddr === 0 || s.localAddr === daddr)) return s;
      continue;
    }
    if (proto === 'tcp' && s.state !== 'LISTEN') continue;
    let score: number;
    if (s.family === 4) {
      if (s.localAddr !== 0 && s.localAddr !== daddr) continue;
      score = s.localAddr === 0 ? 2 : 3;
    } else {
      if (s.local6 !== '::' && s.local6 !== `::ffff:${formatIpv4(daddr)}`) continue;
      score = s.local6 === '::' ? 1 : 3;
    }
    if (score > bestScore) {
      best = s;
      bestScore = score;
    }
  }
  return best;
}
