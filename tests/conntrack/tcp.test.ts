/**
 * TCP tracking, table-driven: each case is a packet sequence and, per packet, the expected
 * `state class [ASSURED]` (class = nft ct state of the packet, 'invalid' = no conntrack) and the
 * timeout conntrack -L would show right after it.
 *
 * Kernel-checked: the handshake/close, RST, invalid, loose pickup, simultaneous open, retransmitted
 * SYN and reopen rows replicate scenarios recorded on Linux 6.18.44 (tests/conntrack/kernel/
 * recorded/tcp-*.json, see kernel.test.ts); the rest follow nf_conntrack_proto_tcp.c.
 */
import { describe, expect, test } from 'vitest';
import {
  ConntrackTable, CtPacket, IPS_ASSURED, TCP_CONNTRACK_NAMES, TCP_CONNTRACKS, TCP_CONNTRACK_MAX,
  type CtTableOptions,
} from '../../src/stack/conntrack/index.js';
import { type TcpOpts, tcp, track } from './helpers.js';

const C = '192.0.2.2', S = '198.51.100.2';
const SYN: TcpOpts = { win: 64240, wscale: 7, sackPerm: true };

/** [dir 'o' client→server | 'r' server→client, flags, seq, ack, options, seconds to wait before]. */
type Pkt = [dir: 'o' | 'r', flags: string, seq: number, ack: number, opts?: TcpOpts, wait?: number];

interface Case {
  name: string;
  opts?: CtTableOptions;
  pkts: Pkt[];
  /** Per packet: 'STATE class [ASSURED]' or 'invalid'. */
  expect: string[];
  /** Per packet: timeout in seconds (undefined = don't check). */
  timeouts?: (number | undefined)[];
}

const CASES: Case[] = [
  {
    name: 'handshake, data, close (kernel: tcp-handshake-close)',
    pkts: [
      ['o', 'S', 1000, 0, SYN], ['r', 'SA', 5000, 1001, SYN], ['o', 'A', 1001, 5001], ['o', 'PA', 1001, 5001, { len: 100 }],
      ['r', 'A', 5001, 1101], ['o', 'FA', 1101, 5001], ['r', 'A', 5001, 1102], ['r', 'FA', 5001, 1102], ['o', 'A', 1102, 5002],
    ],
    expect: [
      'SYN_SENT new', 'SYN_RECV established', 'ESTABLISHED established ASSURED', 'ESTABLISHED established ASSURED',
      'ESTABLISHED established ASSURED', 'FIN_WAIT established ASSURED', 'CLOSE_WAIT established ASSURED',
      'LAST_ACK established ASSURED', 'TIME_WAIT established ASSURED',
    ],
    timeouts: [120, 60, 432000, 300, 432000, 120, 60, 30, 120],
  },
  {
    name: 'RST from the server in ESTABLISHED → CLOSE, 10 s (kernel: tcp-rst-invalid)',
    pkts: [['o', 'S', 1000, 0, SYN], ['r', 'SA', 5000, 1001, SYN], ['o', 'A', 1001, 5001], ['r', 'R', 5001, 0]],
    expect: ['SYN_SENT new', 'SYN_RECV established', 'ESTABLISHED established ASSURED', 'CLOSE established ASSURED'],
    timeouts: [120, 60, 432000, 10],
  },
  {
    name: 'RST with a wrong sequence in ESTABLISHED keeps the state (challenge ACK) but times out in 10 s',
    pkts: [['o', 'S', 1000, 0, SYN], ['r', 'SA', 5000, 1001, SYN], ['o', 'A', 1001, 5001], ['r', 'R', 5100, 0]],
    expect: ['SYN_SENT new', 'SYN_RECV established', 'ESTABLISHED established ASSURED', 'ESTABLISHED established ASSURED'],
    timeouts: [120, 60, 432000, 10],
  },
  {
    name: 'RST below the peer\'s max ACK is invalid',
    pkts: [['o', 'S', 1000, 0, SYN], ['r', 'SA', 5000, 1001, SYN], ['o', 'A', 1001, 5001], ['r', 'R', 4000, 0]],
    expect: ['SYN_SENT new', 'SYN_RECV established', 'ESTABLISHED established ASSURED', 'invalid'],
  },
  {
    name: 'simultaneous open: SYN_SENT2 → SYN_RECV → ESTABLISHED (kernel: tcp-simultaneous-open)',
    pkts: [
      ['o', 'S', 100, 0, SYN], ['r', 'S', 500, 0, SYN], ['o', 'SA', 100, 501, SYN], ['r', 'SA', 500, 101, SYN],
      ['r', 'A', 501, 101], ['o', 'A', 101, 501],
    ],
    expect: [
      'SYN_SENT new', 'SYN_SENT2 established', 'SYN_RECV established', 'SYN_RECV established',
      'ESTABLISHED established ASSURED', 'ESTABLISHED established ASSURED',
    ],
    timeouts: [120, 120, 60, 60, 432000, 432000],
  },
  {
    name: 'a client SYN/ACK, ACK or FIN cannot create an entry; invalid flag combinations (kernel: tcp-rst-invalid)',
    opts: { tcpLoose: true },
    pkts: [['o', 'SA', 3000, 7000], ['o', 'FA', 3000, 7000], ['o', 'F', 4000, 0], ['o', 'SF', 4000, 0], ['o', 'SR', 4000, 0], ['o', '', 4000, 0]],
    expect: ['invalid', 'invalid', 'invalid', 'invalid', 'invalid', 'invalid'],
  },
  {
    name: 'ACK from the client in SYN_SENT is invalid, a reply ACK there is ignored (sIG)',
    pkts: [['o', 'S', 6000, 0, SYN], ['o', 'A', 6001, 9001], ['r', 'A', 9000, 6001]],
    expect: ['SYN_SENT new', 'invalid', 'SYN_SENT established'],
    timeouts: [120, 120, 120],
  },
  {
    name: 'tcp_loose=1 picks up a mid-stream flow: ESTABLISHED capped at 300 s until a reply; ASSURED on the third packet',
    pkts: [['o', 'PA', 70000, 80000, { len: 50 }], ['r', 'A', 80000, 70050], ['o', 'A', 70050, 80000]],
    expect: ['ESTABLISHED new', 'ESTABLISHED established', 'ESTABLISHED established ASSURED'],
    timeouts: [300, 300, 432000],
  },
  {
    name: 'tcp_loose=0 refuses mid-stream pickup',
    opts: { tcpLoose: false },
    pkts: [['o', 'PA', 70000, 80000, { len: 50 }]],
    expect: ['invalid'],
  },
  {
    name: 'a segment far beyond the window and an ACK of unsent data are invalid (kernel: tcp-rst-invalid)',
    pkts: [
      ['o', 'S', 10000, 0, SYN], ['r', 'SA', 20000, 10001, SYN], ['o', 'A', 10001, 20001],
      ['o', 'PA', 10001 + 10000000, 20001, { len: 100 }], ['o', 'A', 10001, 20001 + 500000],
    ],
    expect: ['SYN_SENT new', 'SYN_RECV established', 'ESTABLISHED established ASSURED', 'invalid', 'invalid'],
  },
  {
    name: 'nf_conntrack_tcp_be_liberal accepts out-of-window segments',
    opts: { tcpBeLiberal: true },
    pkts: [['o', 'S', 10000, 0, SYN], ['r', 'SA', 20000, 10001, SYN], ['o', 'A', 10001, 20001], ['o', 'PA', 10001 + 10000000, 20001, { len: 100 }]],
    expect: ['SYN_SENT new', 'SYN_RECV established', 'ESTABLISHED established ASSURED', 'ESTABLISHED established ASSURED'],
  },
  {
    name: 'a retransmitted SYN does not renew the timeout (kernel: tcp-retrans-reopen)',
    pkts: [['o', 'S', 1000, 0, SYN], ['o', 'S', 1000, 0, SYN, 1.5]],
    expect: ['SYN_SENT new', 'SYN_SENT new'],
    timeouts: [120, 118.5],
  },
  {
    name: 'three retransmitted ACKs → nf_conntrack_tcp_timeout_max_retrans (kernel: tcp-retrans-reopen)',
    pkts: [
      ['o', 'S', 1000, 0, SYN], ['r', 'SA', 5000, 1001, SYN], ['o', 'A', 1001, 5001], ['o', 'PA', 1001, 5001, { len: 10 }],
      ['r', 'A', 5001, 1011], ['r', 'A', 5001, 1011], ['r', 'A', 5001, 1011], ['r', 'A', 5001, 1011],
    ],
    expect: [
      'SYN_SENT new', 'SYN_RECV established', 'ESTABLISHED established ASSURED', 'ESTABLISHED established ASSURED',
      'ESTABLISHED established ASSURED', 'ESTABLISHED established ASSURED', 'ESTABLISHED established ASSURED',
      'ESTABLISHED established ASSURED',
    ],
    timeouts: [120, 60, 432000, 300, 432000, 432000, 432000, 300],
  },
  {
    name: 'a zero window shortens ESTABLISHED to the max_retrans timeout',
    pkts: [['o', 'S', 1000, 0, SYN], ['r', 'SA', 5000, 1001, SYN], ['o', 'A', 1001, 5001], ['r', 'A', 5001, 1001, { win: 0 }]],
    expect: ['SYN_SENT new', 'SYN_RECV established', 'ESTABLISHED established ASSURED', 'ESTABLISHED established ASSURED'],
    timeouts: [120, 60, 432000, 300],
  },
  {
    name: 'a SYN in TIME_WAIT reopens: the old entry dies, a new one starts (kernel: tcp-retrans-reopen)',
    pkts: [
      ['o', 'S', 1000, 0, SYN], ['r', 'SA', 5000, 1001, SYN], ['o', 'A', 1001, 5001], ['o', 'FA', 1001, 5001],
      ['r', 'FA', 5001, 1002], ['o', 'A', 1002, 5002], ['o', 'S', 900000, 0, SYN], ['r', 'SA', 7000, 900001, SYN],
    ],
    expect: [
      'SYN_SENT new', 'SYN_RECV established', 'ESTABLISHED established ASSURED', 'FIN_WAIT established ASSURED',
      'LAST_ACK established ASSURED', 'TIME_WAIT established ASSURED', 'SYN_SENT new', 'SYN_RECV established',
    ],
    timeouts: [120, 60, 432000, 120, 30, 120, 120, 60],
  },
  {
    name: 'window scaling: a segment inside the scaled window is fine',
    pkts: [
      ['o', 'S', 1, 0, { win: 64240, wscale: 7 }], ['r', 'SA', 1, 2, { win: 65160, wscale: 7 }], ['o', 'A', 2, 2, { win: 502 }],
      ['r', 'PA', 2, 2, { win: 509, len: 60000 }], ['r', 'PA', 60002, 2, { win: 509, len: 1000 }],
    ],
    expect: [
      'SYN_SENT new', 'SYN_RECV established', 'ESTABLISHED established ASSURED', 'ESTABLISHED established ASSURED',
      'ESTABLISHED established ASSURED',
    ],
  },
];

describe('tcp_conntracks transitions', () => {
  for (const c of CASES) {
    test(c.name, () => {
      const t = new ConntrackTable({ seed: 1, ...c.opts });
      const p = new CtPacket();
      let now = 100;
      c.pkts.forEach(([dir, flags, seq, ack, o, wait], i) => {
        now += wait ?? 0.001;
        if (dir === 'o') tcp(p, C, S, 40000, 80, flags, seq, ack, o);
        else tcp(p, S, C, 80, 40000, flags, seq, ack, { win: 509, ...o });
        const r = track(t, p, now);
        const got = r.conn === null ? r.state
          : `${TCP_CONNTRACK_NAMES[r.conn.tcpState]} ${r.state}${r.conn.status & IPS_ASSURED ? ' ASSURED' : ''}`;
        expect(got, `packet ${i} (${dir} ${flags}) ${r.detail}`).toBe(c.expect[i]);
        const want = c.timeouts?.[i];
        if (want !== undefined && r.conn !== null) {
          expect(r.conn.timeoutAt - now, `packet ${i} timeout`).toBeCloseTo(want, 1);
        }
      });
    });
  }

  test('a RST as the only reply deletes the entry (kernel: tcp-rst-invalid)', () => {
    const t = new ConntrackTable({ seed: 1 });
    const p = new CtPacket();
    track(t, tcp(p, C, S, 41001, 80, 'S', 2000, 0, SYN), 1);
    expect(t.size()).toBe(1);
    const r = track(t, tcp(p, S, C, 80, 41001, 'RA', 0, 2001), 1.1);
    expect(r.state).toBe('established');
    expect(t.size()).toBe(0);
    expect(t.count).toBe(0);
  });

  test('the transition table is the kernel\'s: spot checks of every row', () => {
    // [dir][index][state] from nf_conntrack_proto_tcp.c
    const at = (dir: number, index: number, state: number): number => TCP_CONNTRACKS[dir * 60 + index * 10 + state]!;
    expect(at(0, 0, 0)).toBe(1); // orig SYN in NONE → SYN_SENT
    expect(at(0, 1, 2)).toBe(2); // orig SYN/ACK in SYN_RECV → SYN_RECV (late retransmit, simultaneous open)
    expect(at(0, 1, 3)).toBe(TCP_CONNTRACK_MAX); // orig SYN/ACK in ESTABLISHED → invalid
    expect(at(1, 0, 7)).toBe(1); // reply SYN in TIME_WAIT → SYN_SENT (server switched role)
    expect(at(1, 3, 1)).toBe(11); // reply ACK in SYN_SENT → ignore
    expect(at(0, 3, 6)).toBe(7); // orig ACK in LAST_ACK → TIME_WAIT
    expect(at(0, 5, 3)).toBe(TCP_CONNTRACK_MAX); // no flags → invalid everywhere
    expect(TCP_CONNTRACKS.length).toBe(120);
  });

  test('an invalid first packet frees its unconfirmed entry', () => {
    const t = new ConntrackTable({ seed: 1 });
    const p = new CtPacket();
    expect(track(t, tcp(p, C, S, 1, 2, 'SA', 1, 1), 0).verdict).toBe('invalid');
    expect(t.count).toBe(0);
    expect(t.stats.invalid).toBe(1);
  });

  test('truncated header and bad checksum are invalid', () => {
    const t = new ConntrackTable({ seed: 1 });
    const p = tcp(new CtPacket(), C, S, 1, 2, 'S', 1, 0);
    p.hdrError = true;
    expect(track(t, p, 0).detail).toBe('truncated packet');
    tcp(p, C, S, 1, 2, 'S', 1, 0).csumBad = true;
    expect(track(t, p, 0).detail).toBe('bad checksum');
    expect(t.stats.invalid).toBe(2);
  });
});
