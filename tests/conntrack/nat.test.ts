/**
 * NAT bindings (nf_nat_core.c): port/id choice, address choice, null bindings, adopt, and which packets
 * get rewritten how.
 *
 * Kernel-checked (Linux 6.18.44, tests/conntrack/kernel/recorded/, see kernel.test.ts):
 * masquerade-clash.json — a free source port is kept; a clash picks from 1024-65535 / 600-1023 /
 * 1-511 by the original port, ICMP ids from 0-65535, and a later flow from the same source reuses the
 * mapping (find_appropriate_src); snat-range-jhash.json — the address chosen from a range (jhash2 of
 * source and destination, or source only with `persistent`) equals the kernel's for every flow;
 * dnat-undnat.json — a dnat port range starts at its minimum and walks up on a clash.
 */
import { describe, expect, test } from 'vitest';
import {
  type Conn, ConntrackTable, CtPacket, CtResult, IPS_DST_NAT, IPS_DST_NAT_DONE, IPS_SRC_NAT, IPS_SRC_NAT_DONE,
  IP_CT_ESTABLISHED_REPLY, IP_CT_NEW, IP_CT_RELATED_REPLY, NF_NAT_MANIP_DST, NF_NAT_MANIP_SRC, NF_NAT_RANGE_PERSISTENT,
  NF_NAT_RANGE_PROTO_OFFSET, NF_NAT_RANGE_PROTO_RANDOM_FULLY, NatRange, NatRewrite, jhash2, nfNatAdopt,
  nfNatAllocNullBinding, nfNatInitialized, nfNatPacket, nfNatSetupInfo,
} from '../../src/stack/conntrack/index.js';
import { icmp, ip, quote, tcp, udp } from './helpers.js';

const C = '192.0.2.2', C2 = '192.0.2.3', S = '198.51.100.2', R1 = '198.51.100.1';
const MASQ = NatRange.v4(ip(R1), ip(R1));

/** A new conn for packet p (unconfirmed); bind with `bind`, then confirm. */
function open(t: ConntrackTable, p: CtPacket, now: number, bind?: (c: Conn) => void): Conn {
  const r = new CtResult();
  t.in(p, now, r);
  expect(r.ctinfo, r.detail).toBe(IP_CT_NEW);
  const c = r.conn!;
  if (bind) bind(c);
  if (!nfNatInitialized(c, NF_NAT_MANIP_DST)) nfNatAllocNullBinding(t, c, NF_NAT_MANIP_DST, now);
  if (!nfNatInitialized(c, NF_NAT_MANIP_SRC)) nfNatAllocNullBinding(t, c, NF_NAT_MANIP_SRC, now);
  expect(t.confirm(c, now)).toBe(c);
  return c;
}
const snat = (t: ConntrackTable, r: NatRange, now = 0) => (c: Conn) => { nfNatSetupInfo(t, c, r, NF_NAT_MANIP_SRC, now); };
const dnat = (t: ConntrackTable, r: NatRange, now = 0) => (c: Conn) => { nfNatSetupInfo(t, c, r, NF_NAT_MANIP_DST, now); };

describe('get_unique_tuple: source ports', () => {
  test('a free source port is kept; the reply tuple is altered and IPS_SRC_NAT set', () => {
    const t = new ConntrackTable({ seed: 1 });
    const p = new CtPacket();
    const c = open(t, tcp(p, C, S, 40000, 80, 'S', 1, 0), 0, snat(t, MASQ));
    expect(c.reply.dst0).toBe(ip(R1));
    expect(c.reply.dport).toBe(40000);
    expect(c.status & (IPS_SRC_NAT | IPS_SRC_NAT_DONE)).toBe(IPS_SRC_NAT | IPS_SRC_NAT_DONE);
    expect(c.status & IPS_DST_NAT).toBe(0);
    expect(c.status & IPS_DST_NAT_DONE).not.toBe(0);
  });

  test.each([
    [40000, 1024, 65535],
    [700, 600, 1023],
    [100, 1, 511],
  ])('a clash on port %i picks from %i-%i (nf_nat_l4proto_unique_tuple)', (port, min, max) => {
    const t = new ConntrackTable({ seed: 1 });
    const p = new CtPacket();
    open(t, tcp(p, C, S, port, 80, 'S', 1, 0), 0, snat(t, MASQ));
    const c = open(t, tcp(p, C2, S, port, 80, 'S', 1, 0), 0, snat(t, MASQ));
    expect(c.reply.dport).not.toBe(port);
    expect(c.reply.dport).toBeGreaterThanOrEqual(min);
    expect(c.reply.dport).toBeLessThanOrEqual(max);
    expect(t.stats.found).toBe(1);
  });

  test('ICMP ids clash into 0-65535; UDP too', () => {
    const t = new ConntrackTable({ seed: 1 });
    const p = new CtPacket();
    open(t, icmp(p, C, S, 8, 0, 7), 0, snat(t, MASQ));
    const c = open(t, icmp(p, C2, S, 8, 0, 7), 0, snat(t, MASQ));
    expect(c.reply.icmpId).not.toBe(7);
    expect(c.orig.icmpId).toBe(7);
    open(t, udp(p, C, S, 5000, 53), 0, snat(t, MASQ));
    const u = open(t, udp(p, C2, S, 5000, 53), 0, snat(t, MASQ));
    expect(u.reply.dport).toBeGreaterThanOrEqual(1024);
    expect(u.reply.dport).not.toBe(5000);
  });

  test('deterministic under a seed', () => {
    const pick = (seed: number): number => {
      const t = new ConntrackTable({ seed });
      const p = new CtPacket();
      open(t, tcp(p, C, S, 40000, 80, 'S', 1, 0), 0, snat(t, MASQ));
      return open(t, tcp(p, C2, S, 40000, 80, 'S', 1, 0), 0, snat(t, MASQ)).reply.dport;
    };
    expect(pick(5)).toBe(pick(5));
    expect(new Set([1, 2, 3, 4, 5, 6].map(pick)).size).toBeGreaterThan(1);
  });

  test('a later flow from the same source reuses its mapping (find_appropriate_src; kernel: masquerade-clash)', () => {
    const t = new ConntrackTable({ seed: 1 });
    const p = new CtPacket();
    open(t, tcp(p, C, S, 40000, 80, 'S', 1, 0), 0, snat(t, MASQ));
    const a = open(t, tcp(p, C2, S, 40000, 80, 'S', 1, 0), 0, snat(t, MASQ));
    const b = open(t, tcp(p, C2, S, 40000, 81, 'S', 1, 0), 0, snat(t, MASQ));
    expect(b.reply.dport).toBe(a.reply.dport);
  });

  test('a discarded binding is forgotten by find_appropriate_src', () => {
    const t = new ConntrackTable({ seed: 1 });
    const p = new CtPacket();
    open(t, tcp(p, C, S, 40000, 80, 'S', 1, 0), 0, snat(t, MASQ));
    const r = new CtResult();
    t.in(tcp(p, C2, S, 40000, 80, 'S', 1, 0), 0, r);
    nfNatSetupInfo(t, r.conn!, MASQ, NF_NAT_MANIP_SRC, 0);
    const dropped = r.conn!.reply.dport;
    t.discard(r.conn!);
    let reused = 0;
    for (let dport = 81; dport < 90; dport++) {
      if (open(t, tcp(p, C2, S, 40000, dport, 'S', 1, 0), 0, snat(t, MASQ)).reply.dport === dropped) reused++;
    }
    expect(reused).toBeLessThan(9);
  });

  test('a specified range: kept when inside and free, else chosen inside; a single taken port clashes at confirm', () => {
    const t = new ConntrackTable({ seed: 1 });
    const p = new CtPacket();
    const r = NatRange.v4(ip(R1), ip(R1), 2000, 2010);
    expect(open(t, udp(p, C, S, 2005, 53), 0, snat(t, r)).reply.dport).toBe(2005);
    const b = open(t, udp(p, C, S, 40000, 53), 0, snat(t, r)).reply.dport;
    expect(b).toBeGreaterThanOrEqual(2000);
    expect(b).toBeLessThanOrEqual(2010);
    const one = NatRange.v4(ip(R1), ip(R1), 3000, 3000);
    open(t, udp(p, C, S, 1, 53), 0, snat(t, one));
    const res = new CtResult();
    t.in(udp(p, C2, S, 1, 53), 0, res);
    nfNatSetupInfo(t, res.conn!, one, NF_NAT_MANIP_SRC, 0);
    expect(res.conn!.reply.dport).toBe(3000);
    expect(t.confirm(res.conn!, 0)).toBeNull();
    expect(t.stats.insert_failed).toBe(1);
  });

  test('random-fully picks a random port even when the original is free', () => {
    const t = new ConntrackTable({ seed: 1 });
    const r = NatRange.v4(ip(R1), ip(R1), -1, -1, NF_NAT_RANGE_PROTO_RANDOM_FULLY);
    const c = open(t, tcp(new CtPacket(), C, S, 40000, 80, 'S', 1, 0), 0, snat(t, r));
    expect(c.reply.dport).not.toBe(40000);
    expect(c.reply.dport).toBeGreaterThanOrEqual(1024);
  });

  test('NF_NAT_RANGE_PROTO_OFFSET maps port - base into the range (netmap-like)', () => {
    const t = new ConntrackTable({ seed: 1 });
    const r = NatRange.v4(ip(R1), ip(R1), 10000, 10999, NF_NAT_RANGE_PROTO_OFFSET);
    r.baseProto = 40000;
    const c = open(t, tcp(new CtPacket(), C, S, 40123, 80, 'S', 1, 0), 0, snat(t, r));
    expect(c.reply.dport).toBe(10123);
  });

  test('a TCP SYN may take over a port held by a TIME_WAIT SNAT entry it has passed (nf_nat_used_tuple_harder)', () => {
    const t = new ConntrackTable({ seed: 1 });
    const p = new CtPacket();
    const r = NatRange.v4(ip(R1), ip(R1), 5000, 5001);
    // Hold both ports: one established, one closed down to TIME_WAIT.
    const a = open(t, tcp(p, C, S, 5000, 80, 'S', 100, 0), 0, snat(t, r));
    const b = open(t, tcp(p, C2, S, 5001, 80, 'S', 100, 0), 0, snat(t, r));
    expect([a.reply.dport, b.reply.dport].sort()).toEqual([5000, 5001]);
    const bp = b.reply.dport;
    for (const [src, dst, sp, dp, f, seq, ack] of [
      [S, R1, 80, bp, 'SA', 900, 101], [C2, S, 5001, 80, 'A', 101, 901], [C2, S, 5001, 80, 'FA', 101, 901],
      [S, R1, 80, bp, 'FA', 901, 102], [C2, S, 5001, 80, 'A', 102, 902],
    ] as const) {
      const res = new CtResult();
      t.in(tcp(p, src, dst, sp, dp, f, seq, ack), 1, res);
      expect(res.verdict).toBe('ok');
    }
    expect(b.tcpState).toBe(7); // TIME_WAIT
    const c = open(t, tcp(p, '192.0.2.4', S, 7000, 80, 'S', 5000, 0), 2, snat(t, r, 2));
    expect(c.reply.dport).toBe(bp);
    expect(b.freed).toBe(true);
    expect(a.freed).toBe(false);
  });
});

describe('get_unique_tuple: addresses and destinations', () => {
  test('the address from a range is the kernel\'s jhash2 choice (kernel: snat-range-jhash)', () => {
    const t = new ConntrackTable({ seed: 1 });
    const p = new CtPacket();
    const r = NatRange.v4(ip('203.0.113.10'), ip('203.0.113.20'));
    const rp = NatRange.v4(ip('203.0.113.10'), ip('203.0.113.20'), -1, -1, NF_NAT_RANGE_PERSISTENT);
    // [source, destination, dport, persistent, address Linux 6.18.44 chose] (conntrack -L reply dst)
    const cases: Array<[string, string, number, boolean, string]> = [
      [C, S, 80, false, '203.0.113.15'], [C2, S, 80, false, '203.0.113.18'], ['192.0.2.4', S, 80, false, '203.0.113.13'],
      [C, '198.51.100.7', 53, false, '203.0.113.19'], [C2, '198.51.100.9', 53, false, '203.0.113.11'],
      ['192.0.2.4', '198.51.100.200', 53, false, '203.0.113.10'],
      [C, S, 81, true, '203.0.113.10'], [C2, S, 81, true, '203.0.113.17'], ['192.0.2.4', S, 81, true, '203.0.113.10'],
    ];
    let port = 47000;
    for (const [src, dst, dport, persistent, want] of cases) {
      const pkt = dport === 53 ? udp(p, src, dst, port++, dport) : tcp(p, src, dst, port++, dport, 'S', 1, 0);
      expect(open(t, pkt, 0, snat(t, persistent ? rp : r)).reply.dst0, `${src} → ${dst}`).toBe(ip(want));
    }
    // Persistent ignores the destination: same source, same address for any destination.
    const x = open(t, tcp(p, C, S, 1, 81, 'S', 1, 0), 0, snat(t, rp)).reply.dst0;
    const y = open(t, tcp(p, C, '198.51.100.77', 2, 81, 'S', 1, 0), 0, snat(t, rp)).reply.dst0;
    expect(x).toBe(y);
  });

  test('jhash2 of an empty key is the initial value', () => {
    expect(jhash2([], 0, 0)).toBe(0xdeadbeef);
    expect(jhash2([1, 2, 3, 4], 4, 7)).not.toBe(jhash2([1, 2, 3, 4], 4, 8));
  });

  test('dnat without a port range never changes the port; with one it starts at the minimum (kernel: dnat-undnat)', () => {
    const t = new ConntrackTable({ seed: 1 });
    const p = new CtPacket();
    const a = open(t, tcp(p, C, R1, 48000, 8080, 'S', 1, 0), 0, dnat(t, NatRange.v4(ip(S), ip(S))));
    expect(a.reply.src0).toBe(ip(S));
    expect(a.reply.sport).toBe(8080);
    const r = NatRange.v4(ip(S), ip(S), 6000, 6010);
    expect(open(t, udp(p, C, R1, 48001, 5353), 0, dnat(t, r)).reply.sport).toBe(6000);
    expect(open(t, udp(p, C, R1, 48001, 5354), 0, dnat(t, r)).reply.sport).toBe(6001);
    expect(open(t, udp(p, C2, R1, 48001, 5353), 0, dnat(t, r)).reply.sport).toBe(6000);
  });

  test('a null binding keeps the tuple, or moves the source port when an SNAT mapping already owns it', () => {
    const t = new ConntrackTable({ seed: 1 });
    const p = new CtPacket();
    open(t, tcp(p, C, S, 40000, 80, 'S', 1, 0), 0, snat(t, MASQ));
    // The router itself now connects from 198.51.100.1:40000 to the same server (nf_nat_used_tuple comment).
    const local = open(t, tcp(p, R1, S, 40000, 80, 'S', 1, 0), 0);
    expect(local.reply.dport).not.toBe(40000);
    expect(local.status & IPS_SRC_NAT).not.toBe(0);
    const plain = open(t, tcp(p, R1, S, 40001, 80, 'S', 1, 0), 0);
    expect(plain.reply.dport).toBe(40001);
    expect(plain.status & (IPS_SRC_NAT | IPS_DST_NAT)).toBe(0);
  });

  test('setup is refused for a bound manip and ignored for a confirmed conn', () => {
    const t = new ConntrackTable({ seed: 1 });
    const p = new CtPacket();
    const r = new CtResult();
    t.in(udp(p, C, S, 1, 2), 0, r);
    expect(nfNatSetupInfo(t, r.conn!, MASQ, NF_NAT_MANIP_SRC, 0)).toBe(true);
    expect(nfNatSetupInfo(t, r.conn!, MASQ, NF_NAT_MANIP_SRC, 0)).toBe(false);
    t.confirm(r.conn!, 0);
    expect(nfNatSetupInfo(t, r.conn!, MASQ, NF_NAT_MANIP_DST, 0)).toBe(true);
    expect(nfNatInitialized(r.conn!, NF_NAT_MANIP_DST)).toBe(false);
  });
});

describe('IPv6', () => {
  test('SNAT to one address keeps a free port; a clash moves it', () => {
    const t = new ConntrackTable({ seed: 1 });
    const p = new CtPacket();
    const a6 = (last: number): Uint8Array => Uint8Array.from([0x20, 1, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, last]);
    const v6 = (src: number, sport: number): CtPacket => {
      p.reset();
      p.l3 = 6; p.proto = 6; p.src6.set(a6(src)); p.dst6.set(a6(200)); p.sport = sport; p.dport = 443; p.tcpFlags = 2; p.tcpSeq = 1;
      return p;
    };
    const r = NatRange.v6(a6(100), a6(100));
    const a = open(t, v6(2, 40000), 0, snat(t, r));
    expect([a.reply.dst3 & 0xff, a.reply.dport]).toEqual([100, 40000]);
    const b = open(t, v6(3, 40000), 0, snat(t, r));
    expect(b.reply.dst3 & 0xff).toBe(100);
    expect(b.reply.dport).not.toBe(40000);
    expect(b.reply.dport).toBeGreaterThanOrEqual(1024);
  });
});

describe('nfNatAdopt', () => {
  test('binds to the observed address and port when unique, refuses a taken tuple', () => {
    const t = new ConntrackTable({ seed: 1 });
    const p = new CtPacket();
    const a = open(t, tcp(p, C, S, 40000, 80, 'S', 1, 0), 0, (c) => {
      expect(nfNatAdopt(t, c, NF_NAT_MANIP_SRC, ip(R1), 36199, 0)).toBe(true);
    });
    expect(a.reply.dst0).toBe(ip(R1));
    expect(a.reply.dport).toBe(36199);
    expect(a.status & IPS_SRC_NAT).not.toBe(0);
    const r = new CtResult();
    t.in(tcp(p, C2, S, 40000, 80, 'S', 1, 0), 0, r);
    expect(nfNatAdopt(t, r.conn!, NF_NAT_MANIP_SRC, ip(R1), 36199, 0)).toBe(false);
    expect(nfNatInitialized(r.conn!, NF_NAT_MANIP_SRC)).toBe(false);
    expect(nfNatAdopt(t, r.conn!, NF_NAT_MANIP_SRC, ip(R1), 36200, 0)).toBe(true);
    t.confirm(r.conn!, 0);
    expect(nfNatAdopt(t, r.conn!, NF_NAT_MANIP_DST, ip(S), -1, 0)).toBe(false);
  });

  test('an ICMP id and a destination can be adopted', () => {
    const t = new ConntrackTable({ seed: 1 });
    const p = new CtPacket();
    const c = open(t, icmp(p, C, R1, 8, 0, 7), 0, (x) => {
      expect(nfNatAdopt(t, x, NF_NAT_MANIP_DST, ip(S), -1, 0)).toBe(true);
      expect(nfNatAdopt(t, x, NF_NAT_MANIP_SRC, ip(R1), 1371, 0)).toBe(true);
    });
    expect(c.reply.src0).toBe(ip(S));
    expect(c.reply.dst0).toBe(ip(R1));
    expect(c.reply.icmpId).toBe(1371);
  });
});

describe('nfNatPacket: what each packet becomes', () => {
  test('SNAT: originals get a new source at POSTROUTING, replies their destination back at PREROUTING', () => {
    const t = new ConntrackTable({ seed: 1 });
    const p = new CtPacket();
    const c = open(t, tcp(p, C, S, 40000, 80, 'S', 1, 0), 0, snat(t, MASQ));
    const rw = new NatRewrite();
    expect(nfNatPacket(c, IP_CT_NEW, NF_NAT_MANIP_DST, rw)).toBe(false);
    expect(nfNatPacket(c, IP_CT_NEW, NF_NAT_MANIP_SRC, rw)).toBe(true);
    expect(rw.addr4).toBe(ip(R1));
    expect(rw.port).toBe(40000);
    expect(nfNatPacket(c, IP_CT_ESTABLISHED_REPLY, NF_NAT_MANIP_SRC, rw)).toBe(false);
    expect(nfNatPacket(c, IP_CT_ESTABLISHED_REPLY, NF_NAT_MANIP_DST, rw)).toBe(true);
    expect(rw.addr4).toBe(ip(C)); // un-SNAT
    expect(rw.port).toBe(40000);
    expect(rw.icmpError).toBe(false);
    expect(nfNatPacket(c, IP_CT_RELATED_REPLY, NF_NAT_MANIP_DST, rw)).toBe(true);
    expect(rw.icmpError).toBe(true);
  });

  test('DNAT: originals get a new destination at PREROUTING, replies their source back at POSTROUTING', () => {
    const t = new ConntrackTable({ seed: 1 });
    const p = new CtPacket();
    const c = open(t, tcp(p, C, R1, 48000, 8080, 'S', 1, 0), 0, dnat(t, NatRange.v4(ip(S), ip(S), 80, 80)));
    const rw = new NatRewrite();
    expect(nfNatPacket(c, IP_CT_NEW, NF_NAT_MANIP_DST, rw)).toBe(true);
    expect([rw.addr4, rw.port]).toEqual([ip(S), 80]);
    expect(nfNatPacket(c, IP_CT_ESTABLISHED_REPLY, NF_NAT_MANIP_SRC, rw)).toBe(true);
    expect([rw.addr4, rw.port]).toEqual([ip(R1), 8080]); // un-DNAT
    expect(nfNatPacket(c, IP_CT_ESTABLISHED_REPLY, NF_NAT_MANIP_DST, rw)).toBe(false);
  });

  test('an ICMP error about a masqueraded flow is found through the translated reply tuple', () => {
    const t = new ConntrackTable({ seed: 1 });
    const p = new CtPacket();
    const c = open(t, udp(p, C, S, 49000, 9999), 0, snat(t, MASQ));
    quote(icmp(p, S, R1, 3, 3, 0), 17, R1, S, 49000, 9999);
    const r = new CtResult();
    t.in(p, 0.1, r);
    expect(r.conn).toBe(c);
    expect(r.ctinfo).toBe(IP_CT_RELATED_REPLY);
  });
});
