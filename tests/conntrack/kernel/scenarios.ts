/**
 * Packet scenarios replayed through a real kernel router by ctlab.py (see its header for the
 * namespace topology) and through the model (helpers.ts ModelRouter). Recorded kernel output lives in
 * recorded/<name>.json; regenerate with `CTLAB_RECORD=1 npx vitest run tests/conntrack/kernel.test.ts`
 * as root (the namespaces are ppct-*, addresses from 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24).
 */
import { NF_NAT_RANGE_PERSISTENT, NatRange } from '../../../src/stack/conntrack/index.js';
import { type NatRule, ip, masquerade } from '../helpers.js';

export type Step =
  | { op: 'tcp'; side: 'c' | 's'; src: string; dst: string; sport: number; dport: number; flags: string; seq: number; ack: number;
      win?: number; len?: number; wscale?: number; sackPerm?: boolean; mss?: number }
  | { op: 'udp'; side: 'c' | 's'; src: string; dst: string; sport: number; dport: number; len?: number; csum?: boolean }
  | { op: 'icmp'; side: 'c' | 's'; src: string; dst: string; type: number; code?: number; id: number; seq?: number }
  | { op: 'icmperr'; side: 'c' | 's'; src: string; dst: string; type: number; code: number; inner: Step; quote?: number }
  | { op: 'sleep'; s: number };

export type TcpStep = Extract<Step, { op: 'tcp' }>;

export interface RandomChoice {
  /** Substring identifying the flow's conntrack line (its original tuple). */
  match: string;
  /** Range the kernel and the model must pick the new source port (or ICMP id) from. */
  min: number;
  max: number;
  /** The flow must reuse the mapping of this earlier flow from the same source (find_appropriate_src). */
  sameAs?: string;
}

export interface Scenario {
  name: string;
  /** What the scenario pins down. */
  about: string;
  routerNft: string;
  steps: Step[];
  dnat?: NatRule;
  snat?: NatRule;
  /** Flows whose binding the kernel picks at random (get_random_u16). */
  random?: RandomChoice[];
}

const C = '192.0.2.2', C2 = '192.0.2.3', C3 = '192.0.2.4', S = '198.51.100.2', R1 = '198.51.100.1';

/** TCP from the client (orig) or the server (reply) of flow cport <-> S:sport. */
function tc(cport: number, flags: string, seq: number, ack: number, extra: Partial<TcpStep> = {}, src = C, dport = 80): TcpStep {
  return { op: 'tcp', side: 'c', src, dst: S, sport: cport, dport, flags, seq, ack, win: 502, ...extra };
}
function ts(cport: number, flags: string, seq: number, ack: number, extra: Partial<TcpStep> = {}, dst = C, sport = 80): TcpStep {
  return { op: 'tcp', side: 's', src: S, dst, sport, dport: cport, flags, seq, ack, win: 509, ...extra };
}
const SYN_OPTS = { win: 64240, mss: 1460, sackPerm: true, wscale: 7 };
const SYNACK_OPTS = { win: 65160, mss: 1460, sackPerm: true, wscale: 7 };

const NAT_MASQ = `
table ip ppctnat {
  chain post {
    type nat hook postrouting priority 100; policy accept;
    oifname "r1" masquerade
  }
}
`;

export const SCENARIOS: Scenario[] = [
  {
    name: 'tcp-handshake-close',
    about: 'SYN_SENT → SYN_RECV → ESTABLISHED [ASSURED] → unacked data (300 s) → FIN_WAIT → CLOSE_WAIT → LAST_ACK → TIME_WAIT',
    routerNft: '',
    steps: [
      tc(40000, 'S', 1000, 0, SYN_OPTS),
      ts(40000, 'SA', 5000, 1001, SYNACK_OPTS),
      tc(40000, 'A', 1001, 5001),
      tc(40000, 'PA', 1001, 5001, { len: 100 }),
      ts(40000, 'A', 5001, 1101),
      tc(40000, 'FA', 1101, 5001),
      ts(40000, 'A', 5001, 1102),
      ts(40000, 'FA', 5001, 1102),
      tc(40000, 'A', 1102, 5002),
    ],
  },
  {
    name: 'tcp-rst-invalid',
    about: 'RST in ESTABLISHED → CLOSE 10 s; RST as the only reply deletes the entry; invalid flag combinations, ' +
      'SYN/ACK or ACK where the table forbids them, a segment beyond the window',
    routerNft: '',
    steps: [
      // A: full handshake, then the server resets.
      tc(41000, 'S', 1000, 0, SYN_OPTS),
      ts(41000, 'SA', 5000, 1001, SYNACK_OPTS),
      tc(41000, 'A', 1001, 5001),
      ts(41000, 'R', 5001, 0),
      // B: SYN answered only by RST/ACK: the entry is deleted.
      tc(41001, 'S', 2000, 0, SYN_OPTS),
      ts(41001, 'RA', 0, 2001),
      // C: a SYN/ACK from the client with no entry: tcp_new refuses (sIV) → invalid.
      tc(41002, 'SA', 3000, 7000),
      // D: invalid flag combinations.
      tc(41003, 'F', 4000, 0),
      tc(41003, 'SF', 4000, 0),
      tc(41003, 'SR', 4000, 0),
      // E: ACK from the client while in SYN_SENT (sIV).
      tc(41004, 'S', 6000, 0, SYN_OPTS),
      tc(41004, 'A', 6001, 9001),
      // F: a data segment far beyond the receiver's window after a handshake.
      tc(41005, 'S', 10000, 0, SYN_OPTS),
      ts(41005, 'SA', 20000, 10001, SYNACK_OPTS),
      tc(41005, 'A', 10001, 20001),
      tc(41005, 'PA', 10001 + 10000000, 20001, { len: 100 }),
      // G: ACK over upper bound (acks data the server never sent).
      tc(41005, 'A', 10001, 20001 + 500000),
    ],
  },
  {
    name: 'tcp-loose-pickup',
    about: 'tcp_loose=1: a mid-stream ACK creates ESTABLISHED [UNREPLIED] capped at 300 s; ASSURED only on the third packet',
    routerNft: '',
    steps: [
      tc(42000, 'PA', 70000, 80000, { len: 50 }),
      ts(42000, 'A', 80000, 70050),
      tc(42000, 'A', 70050, 80000),
      ts(42000, 'PA', 80000, 70050, { len: 20 }),
      tc(42000, 'A', 70050, 80020),
    ],
  },
  {
    name: 'tcp-simultaneous-open',
    about: 'SYN both ways → SYN_SENT2; SYN/ACKs → SYN_RECV; the reply ACK with IP_CT_TCP_SIMULTANEOUS_OPEN → ESTABLISHED',
    routerNft: '',
    steps: [
      { ...tc(43000, 'S', 100, 0, SYN_OPTS), dport: 43001 },
      { ...ts(43000, 'S', 500, 0, SYNACK_OPTS), sport: 43001 },
      { ...tc(43000, 'SA', 100, 501, SYN_OPTS), dport: 43001 },
      { ...ts(43000, 'SA', 500, 101, SYNACK_OPTS), sport: 43001 },
      { ...ts(43000, 'A', 501, 101), sport: 43001 },
      { ...tc(43000, 'A', 101, 501), dport: 43001 },
    ],
  },
  {
    name: 'tcp-retrans-reopen',
    about: 'a retransmitted SYN does not renew the timeout; 3 identical ACKs → max_retrans timeout; a SYN in TIME_WAIT reopens',
    routerNft: '',
    steps: [
      tc(44000, 'S', 1000, 0, SYN_OPTS),
      { op: 'sleep', s: 1.3 },
      tc(44000, 'S', 1000, 0, SYN_OPTS),
      ts(44000, 'SA', 5000, 1001, SYNACK_OPTS),
      tc(44000, 'A', 1001, 5001),
      tc(44000, 'PA', 1001, 5001, { len: 10 }),
      ts(44000, 'A', 5001, 1011),
      ts(44000, 'A', 5001, 1011),
      ts(44000, 'A', 5001, 1011),
      ts(44000, 'A', 5001, 1011),
      tc(44000, 'FA', 1011, 5001),
      ts(44000, 'FA', 5001, 1012),
      tc(44000, 'A', 1012, 5002),
      tc(44000, 'S', 900000, 0, SYN_OPTS),
      ts(44000, 'SA', 7000, 900001, SYNACK_OPTS),
    ],
  },
  {
    name: 'udp-assured',
    about: 'UDP: [UNREPLIED] 30 s; first reply 30 s; traffic within 2 s of creation stays 30 s; after 2 s → 120 s [ASSURED]',
    routerNft: '',
    steps: [
      { op: 'udp', side: 'c', src: C, dst: S, sport: 45000, dport: 53, len: 20 },
      { op: 'udp', side: 's', src: S, dst: C, sport: 53, dport: 45000, len: 40 },
      { op: 'udp', side: 'c', src: C, dst: S, sport: 45000, dport: 53, len: 20 },
      { op: 'udp', side: 'c', src: C, dst: S, sport: 45001, dport: 53, len: 20, csum: false },
      { op: 'sleep', s: 2.2 },
      { op: 'udp', side: 'c', src: C, dst: S, sport: 45000, dport: 53, len: 20 },
      { op: 'udp', side: 's', src: S, dst: C, sport: 53, dport: 45001, len: 40 },
      { op: 'udp', side: 'c', src: C, dst: S, sport: 45001, dport: 53, len: 20, csum: false },
    ],
  },
  {
    name: 'icmp-echo-related',
    about: 'ICMP echo creates, echo reply is the reply direction; an ICMP error quoting a tracked flow is RELATED, ' +
      'one quoting an unknown flow is invalid (stat error); an echo reply alone is invalid',
    routerNft: '',
    steps: [
      { op: 'icmp', side: 'c', src: C, dst: S, type: 8, id: 4242, seq: 1 },
      { op: 'icmp', side: 's', src: S, dst: C, type: 0, id: 4242, seq: 1 },
      { op: 'udp', side: 'c', src: C, dst: S, sport: 46000, dport: 9999, len: 12 },
      {
        op: 'icmperr', side: 's', src: S, dst: C, type: 3, code: 3,
        inner: { op: 'udp', side: 'c', src: C, dst: S, sport: 46000, dport: 9999, len: 12 }, quote: 40,
      },
      {
        op: 'icmperr', side: 's', src: S, dst: C, type: 3, code: 3,
        inner: { op: 'udp', side: 'c', src: C, dst: S, sport: 46001, dport: 9999, len: 12 }, quote: 40,
      },
      {
        op: 'icmperr', side: 's', src: S, dst: C, type: 11, code: 0,
        inner: { op: 'icmp', side: 'c', src: C, dst: S, type: 8, id: 4242, seq: 1 }, quote: 36,
      },
      { op: 'icmp', side: 's', src: S, dst: C, type: 0, id: 999, seq: 1 },
    ],
  },
  {
    name: 'masquerade-clash',
    about: 'masquerade keeps a free source port; a clash picks from 1024-65535, 600-1023 or 1-511 by the original ' +
      'port, ICMP ids from 0-65535; replies are un-SNATed',
    routerNft: NAT_MASQ,
    snat: masquerade(),
    steps: [
      tc(40000, 'S', 1000, 0, SYN_OPTS),
      tc(40000, 'S', 2000, 0, SYN_OPTS, C2),
      ts(40000, 'SA', 5000, 1001, SYNACK_OPTS, R1),
      tc(700, 'S', 3000, 0, SYN_OPTS),
      tc(700, 'S', 4000, 0, SYN_OPTS, C2),
      tc(100, 'S', 5000, 0, SYN_OPTS),
      tc(100, 'S', 6000, 0, SYN_OPTS, C2),
      { op: 'udp', side: 'c', src: C, dst: S, sport: 5000, dport: 53, len: 10 },
      { op: 'udp', side: 'c', src: C2, dst: S, sport: 5000, dport: 53, len: 10 },
      { op: 'udp', side: 's', src: S, dst: R1, sport: 53, dport: 5000, len: 30 },
      { op: 'icmp', side: 'c', src: C, dst: S, type: 8, id: 7, seq: 1 },
      { op: 'icmp', side: 'c', src: C2, dst: S, type: 8, id: 7, seq: 1 },
      { op: 'icmp', side: 's', src: S, dst: R1, type: 0, id: 7, seq: 1 },
      // Same source again, new destination port: the original source is not in the masquerade range,
      // so find_appropriate_src() reuses this source's existing mapping (the random port from above).
      tc(40000, 'S', 7000, 0, SYN_OPTS, C2, 81),
    ],
    random: [
      { match: 'src=192.0.2.3 dst=198.51.100.2 sport=40000 dport=80 ', min: 1024, max: 65535 },
      { match: 'src=192.0.2.3 dst=198.51.100.2 sport=700 ', min: 600, max: 1023 },
      { match: 'src=192.0.2.3 dst=198.51.100.2 sport=100 ', min: 1, max: 511 },
      { match: 'src=192.0.2.3 dst=198.51.100.2 sport=5000 ', min: 1024, max: 65535 },
      { match: 'src=192.0.2.3 dst=198.51.100.2 type=8 code=0 id=7 ', min: 0, max: 65535 },
      {
        match: 'src=192.0.2.3 dst=198.51.100.2 sport=40000 dport=81 ', min: 1024, max: 65535,
        sameAs: 'src=192.0.2.3 dst=198.51.100.2 sport=40000 dport=80 ',
      },
    ],
  },
  {
    name: 'snat-range-jhash',
    about: 'snat to an address range: find_best_ips_proto picks the address by jhash2(src, dst) (exact), ' +
      'persistent by jhash2(src, 0)',
    routerNft: `
table ip ppctnat {
  chain post {
    type nat hook postrouting priority 100; policy accept;
    oifname "r1" tcp dport 81 snat to 203.0.113.10-203.0.113.20 persistent
    oifname "r1" snat to 203.0.113.10-203.0.113.20
  }
}
`,
    snat: (() => {
      const r = NatRange.v4(ip('203.0.113.10'), ip('203.0.113.20'));
      const rp = NatRange.v4(ip('203.0.113.10'), ip('203.0.113.20'), -1, -1, NF_NAT_RANGE_PERSISTENT);
      return (p, oif) => (oif !== 'r1' ? null : p.proto === 6 && p.dport === 81 ? rp : r);
    })(),
    steps: [
      tc(47000, 'S', 1, 0, SYN_OPTS),
      tc(47001, 'S', 1, 0, SYN_OPTS, C2),
      tc(47002, 'S', 1, 0, SYN_OPTS, C3),
      { op: 'udp', side: 'c', src: C, dst: '198.51.100.7', sport: 47003, dport: 53, len: 8 },
      { op: 'udp', side: 'c', src: C2, dst: '198.51.100.9', sport: 47004, dport: 53, len: 8 },
      { op: 'udp', side: 'c', src: C3, dst: '198.51.100.200', sport: 47005, dport: 53, len: 8 },
      tc(47006, 'S', 1, 0, SYN_OPTS, C, 81),
      tc(47007, 'S', 1, 0, SYN_OPTS, C2, 81),
      tc(47008, 'S', 1, 0, SYN_OPTS, C3, 81),
    ],
  },
  {
    name: 'dnat-undnat',
    about: 'dnat to addr:port rewrites the destination, replies get their source restored; a dnat port range ' +
      'without random starts at the range minimum (off = 0) and walks up on a clash',
    routerNft: `
table ip ppctnat {
  chain pre {
    type nat hook prerouting priority -100; policy accept;
    ip daddr 198.51.100.1 tcp dport 8080 dnat to 198.51.100.2:80
    ip daddr 198.51.100.1 udp dport 5353-5354 dnat to 198.51.100.2:6000-6010
  }
}
`,
    dnat: (() => {
      const r1 = NatRange.v4(ip(S), ip(S), 80, 80);
      const r2 = NatRange.v4(ip(S), ip(S), 6000, 6010);
      return (p) => p.dst4 !== ip(R1) ? null
        : p.proto === 6 && p.dport === 8080 ? r1
          : p.proto === 17 && (p.dport === 5353 || p.dport === 5354) ? r2 : null;
    })(),
    steps: [
      { ...tc(48000, 'S', 1000, 0, SYN_OPTS), dst: R1, dport: 8080 },
      { ...ts(48000, 'SA', 5000, 1001, SYNACK_OPTS) },
      { ...tc(48000, 'A', 1001, 5001), dst: R1, dport: 8080 },
      { op: 'udp', side: 'c', src: C, dst: R1, sport: 48001, dport: 5353, len: 8 },
      { op: 'udp', side: 'c', src: C, dst: R1, sport: 48001, dport: 5354, len: 8 },
      { op: 'udp', side: 's', src: S, dst: C, sport: 6001, dport: 48001, len: 8 },
      { op: 'udp', side: 'c', src: C2, dst: R1, sport: 48001, dport: 5353, len: 8 },
    ],
  },
  {
    name: 'masquerade-icmp-error',
    about: 'an ICMP error quoting a masqueraded flow is RELATED_REPLY: outer destination and the quoted source ' +
      'are translated back, ICMP checksum recomputed; also for an error quoting an ICMP echo',
    routerNft: NAT_MASQ,
    snat: masquerade(),
    steps: [
      { op: 'udp', side: 'c', src: C, dst: S, sport: 49000, dport: 9999, len: 12 },
      {
        op: 'icmperr', side: 's', src: S, dst: R1, type: 3, code: 3,
        inner: { op: 'udp', side: 'c', src: R1, dst: S, sport: 49000, dport: 9999, len: 12 }, quote: 40,
      },
      tc(49001, 'S', 1000, 0, SYN_OPTS),
      {
        op: 'icmperr', side: 's', src: S, dst: R1, type: 3, code: 4,
        inner: { ...tc(49001, 'S', 1000, 0, SYN_OPTS), src: R1 }, quote: 48,
      },
      { op: 'icmp', side: 'c', src: C, dst: S, type: 8, id: 31337, seq: 5 },
      {
        op: 'icmperr', side: 's', src: S, dst: R1, type: 11, code: 0,
        inner: { op: 'icmp', side: 'c', src: R1, dst: S, type: 8, id: 31337, seq: 5 }, quote: 36,
      },
    ],
  },
];
