/**
 * What the datapath reports for one input packet: its steps, its fate, the NAT it met and the packets
 * the stack generated because of it. Plain data, so trace formatters (src/trace) and workers can take
 * it as is. Field names are the trace schema's (README: trace schema, version 1).
 */
import { formatIpv4 } from './inet.js';

/** Header summary as seen at one point: addresses as text (formatting happens once, at record time). */
export interface HdrTuple {
  src: string;
  dst: string;
  sport?: number;
  dport?: number;
  icmp_id?: number;
}

/** One step on the packet's path. `kind` says which fields are present. */
export type Step =
  | { kind: 'rx'; ns: string; dev: string; pkttype: string }
  | { kind: 'bridge'; ns: string; bridge: string; port: string; action: string; to?: string[] }
  | { kind: 'nf'; ns: string; family: string; table: string; chain: string; hook: string; prio: number; rule: string; verdict: string }
  | { kind: 'ct'; ns: string; state: string; dir: string; id: number; detail?: string }
  | { kind: 'nat'; ns: string; hook: string; manip: string; from: HdrTuple; to: HdrTuple; binding: string }
  | { kind: 'route'; ns: string; table: string; rule: string; route: string; result: string; oif?: string; via?: string; src?: string }
  | { kind: 'rpfilter'; ns: string; dev: string; mode: string; result: string }
  | { kind: 'forward'; ns: string; ttl: number; ip6?: true }
  | { kind: 'neigh'; ns: string; dev: string; addr: string; state: string; action: string; lladdr?: string }
  | { kind: 'socket'; ns: string; socket: string }
  | { kind: 'local'; ns: string; what: string }
  | { kind: 'tx'; ns: string; dev: string; hdr: HdrTuple | null }
  | { kind: 'veth'; from: string; to: string }
  | { kind: 'drop'; ns: string; stage: string; reason: string; detail?: string };

/** Where a drop was decided. */
export type Where =
  | { stage: string; dev?: string; route?: string; detail?: string }
  | { family: string; table: string; chain: string; rule: string; handle: number | null; rule_number: number | null; base_chain: string; hook: string; source: string };

/** The packet's fate. */
export interface Final {
  verdict: 'delivered' | 'transmitted' | 'dropped' | 'consumed' | 'unmodelled';
  ns: string;
  dev?: string;
  socket?: string;
  reason?: string;
  detail?: string;
  where?: Where;
  /** Post-NAT header on the egress device (transmitted) or at the socket (delivered). */
  out?: HdrTuple;
  /** Other devices a flooded copy left by. */
  also?: string[];
}

/** A translation the packet underwent. */
export interface NatRecord {
  kind: 'snat' | 'dnat';
  ns: string;
  hook: string;
  before: HdrTuple;
  after: HdrTuple;
  /** True when this packet created the binding (first packet of the connection). */
  created: boolean;
}

/** A packet the stack generated because of this one. */
export interface Emitted {
  type: string;
  ns: string;
  dev: string | null;
  src: string;
  dst: string;
  detail?: string;
  /** What happened to it (transmitted on dev, dropped with reason...). */
  fate?: string;
  /** Its own path through the stack. */
  steps?: Step[];
}

/** The record of one input packet. */
export class PacketRecord {
  index: number;
  /** Capture timestamp: integer seconds and nanoseconds (text made on demand: `ts`). */
  tsSec: number;
  tsNsec: number;
  inNs: string;
  inDev: string;
  // Most packets never fill steps/nat/emitted/problems (no trace, no NAT): they share one empty,
  // frozen array until the first add*() gives them their own (no four allocations per packet).
  steps: Step[] = NONE;
  finals: Final[] = NONE;
  nat: NatRecord[] = NONE;
  ct: { state: string; dir: string; id: number } | null = null;
  emitted: Emitted[] = NONE;
  problems: string[] = NONE;
  /** Copies of this packet still in flight (waiting in a neighbour queue). */
  live = 1;
  /** Selected by --filter (all packets are replayed; only reported ones are written and counted). */
  reported = true;
  /** Capture timestamp in seconds (float), for timers. */
  t: number;
  /** The packet as it entered, numerically (formatted only when a trace or report needs text). */
  l3 = 0; // 1 ipv4, 2 ipv6, 3 arp
  l4 = -1;
  src4 = 0;
  dst4 = 0;
  sport = -1;
  dport = -1;
  icmpId = -1;
  /** IPv6 entry addresses (text; '' for other packets). */
  src6 = '';
  dst6 = '';
  len = 0;

  constructor(index: number, tsSec: number, tsNsec: number, inNs: string, inDev: string) {
    this.index = index;
    this.tsSec = tsSec;
    this.tsNsec = tsNsec;
    this.t = tsSec + tsNsec / 1e9;
    this.inNs = inNs;
    this.inDev = inDev;
  }

  /** Append a step. */
  addStep(x: Step): void {
    if (this.steps === NONE) this.steps = [];
    this.steps.push(x);
  }

  /** Record a fate (a flooded packet's copies each have one). */
  addFinal(f: Final): void {
    if (this.finals === NONE) this.finals = [];
    this.finals.push(f);
  }

  /** Append a translation. */
  addNat(x: NatRecord): void {
    if (this.nat === NONE) this.nat = [];
    this.nat.push(x);
  }

  /** Append a generated packet. */
  addEmitted(x: Emitted): void {
    if (this.emitted === NONE) this.emitted = [];
    this.emitted.push(x);
  }

  /** Append a problem of the packet itself. */
  addProblem(x: string): void {
    if (this.problems === NONE) this.problems = [];
    this.problems.push(x);
  }

  /** Decimal seconds with 9 fractional digits. */
  get ts(): string {
    return `${this.tsSec}.${String(this.tsNsec).padStart(9, '0')}`;
  }

  /** 'ipv4' | 'ipv6' | 'arp' | ''. */
  get l3Name(): string {
    return this.l3 === 1 ? 'ipv4' : this.l3 === 2 ? 'ipv6' : this.l3 === 3 ? 'arp' : '';
  }

  /** 'tcp' | 'udp' | 'icmp' | 'icmpv6' | number as text | ''. */
  get proto(): string {
    const p = this.l4;
    return p === 6 ? 'tcp' : p === 17 ? 'udp' : p === 1 ? 'icmp' : p === 58 ? 'icmpv6' : p >= 0 ? String(p) : '';
  }

  /** The entry header as text (IPv4, IPv6 and ARP; null otherwise). */
  get key(): HdrTuple | null {
    if (this.l3 !== 1 && this.l3 !== 2 && this.l3 !== 3) return null;
    const t: HdrTuple = this.l3 === 2 ? { src: this.src6, dst: this.dst6 } : { src: formatIpv4(this.src4), dst: formatIpv4(this.dst4) };
    if (this.sport >= 0) {
      t.sport = this.sport;
      t.dport = this.dport;
    } else if (this.icmpId >= 0) t.icmp_id = this.icmpId;
    return t;
  }

  /** The single fate reported: delivered/consumed beat transmitted beats dropped (a flood's copies). */
  final(): Final {
    const f = this.finals;
    if (f.length === 0) return { verdict: 'dropped', ns: this.inNs, reason: 'NOT_SPECIFIED', detail: 'no outcome recorded (model bug)' };
    if (f.length === 1) return f[0];
    const rank = (v: Final['verdict']) => (v === 'delivered' ? 0 : v === 'consumed' ? 1 : v === 'transmitted' ? 2 : v === 'unmodelled' ? 3 : 4);
    let best = f[0];
    for (const x of f) if (rank(x.verdict) < rank(best.verdict)) best = x;
    if (best.verdict === 'transmitted') {
      const also = f.filter((x) => x !== best && x.verdict === 'transmitted' && x.dev).map((x) => x.dev!);
      if (also.length) return { ...best, also };
    }
    return best;
  }
}

const NONE: never[] = Object.freeze([]) as unknown as never[];

/** Where an interned object keeps its encoded forms (trace writers fill it; not enumerable). */
export const kEncoded = Symbol('pktpath.encoded');

/** The cache slot an interned object carries. */
export interface EncodedSlot {
  msgpack: Uint8Array | null;
  json: Uint8Array | null;
}

/**
 * Intern a record object whose content never changes: frozen, with a slot for its encoded forms, so
 * a trace writer encodes it once however many packets share it.
 */
export function intern<T extends object>(o: T): T {
  Object.defineProperty(o, kEncoded, { value: { msgpack: null, json: null } satisfies EncodedSlot, enumerable: false });
  return Object.freeze(o);
}

/**
 * Slots of NetDevice.traceSteps. Steps whose content depends only on the place and the outcome are
 * made once and frozen: no allocation per packet, and the msgpack packer encodes each one once.
 */
export const DEV_STEP_RX = 0; // + pkttype (0..5); bridge port: 8
export const DEV_STEP_RX_PORT = 8;
export const DEV_STEP_VETH = 9;
export const DEV_STEP_RPF_PASS = 10; // + rp_filter (1 strict, 2 loose)
export const DEV_STEP_FORWARD = 16; // + ttl after the decrement (0..255)
export const DEV_STEP_TX_FINAL = 272; // the transmitted fate without a header (no trace, no NAT)

