/**
 * The table: expiry on the capture clock, the timer heap, table full with early drop, confirm,
 * zones, options from sysctls, and the `conntrack -L` formatter.
 *
 * Not kernel-checked: table full. nf_conntrack_max is global and read-only inside a namespace (see
 * datapath-facts §5), so a namespace lab cannot fill the table without touching the host; early drop
 * follows __nf_conntrack_alloc()/early_drop()/early_drop_list() of nf_conntrack_core.c: when
 * count + 1 > max, scan up to 8 buckets from the new tuple's bucket and, in the first bucket that has
 * any, delete every confirmed non-ASSURED entry; none → drop ("nf_conntrack: table full").
 */
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  Conn, ConntrackTable, CtPacket, CtResult, CtTimeouts, IPS_ASSURED, Tuple, ctOptionsFromSysctl, formatConntrack,
  formatIpv6Words, tupleFromPacket,
} from '../../src/stack/conntrack/index.js';
import { ip, tcp, track, udp } from './helpers.js';

const C = '192.0.2.2', S = '198.51.100.2';

describe('expiry by the capture clock', () => {
  test('an entry lives until timeout <= now (nf_ct_is_expired), then expire() removes it', () => {
    const t = new ConntrackTable({ seed: 9 });
    const p = new CtPacket();
    track(t, udp(p, C, S, 1, 2), 100);
    expect(t.nextExpiry()).toBe(130);
    expect(t.expire(129.999)).toBe(0);
    expect(t.size()).toBe(1);
    expect(t.expire(130)).toBe(1);
    expect(t.size()).toBe(0);
    expect(t.count).toBe(0);
    expect(t.nextExpiry()).toBe(Infinity);
  });

  test('a refresh that extends is lazy; one that shortens re-orders the heap', () => {
    const t = new ConntrackTable({ seed: 9 });
    const p = new CtPacket();
    const u = track(t, udp(p, C, S, 1, 2), 0).conn!; // 30 s
    track(t, udp(p, C, S, 1, 2), 25); // → 55 s, heap key still 30
    const syn = track(t, tcp(p, C, S, 3, 4, 'S', 1, 0), 1).conn!; // 121 s
    track(t, tcp(p, S, C, 4, 3, 'SA', 1, 2), 2);
    track(t, tcp(p, C, S, 3, 4, 'A', 2, 2), 3); // ESTABLISHED 432003
    track(t, tcp(p, S, C, 4, 3, 'R', 2, 0), 4); // CLOSE: 14
    expect(syn.timeoutAt).toBe(14);
    expect(t.nextExpiry()).toBe(14);
    expect(t.expire(14)).toBe(1);
    expect(t.expire(30)).toBe(0); // u was re-keyed to 55
    expect(t.size()).toBe(1);
    expect(t.expire(55)).toBe(1);
    expect(u.freed).toBe(true);
  });

  test('a packet after the timeout finds nothing and starts a new entry', () => {
    const t = new ConntrackTable({ seed: 9 });
    const p = new CtPacket();
    const a = track(t, udp(p, C, S, 1, 2), 0).conn!;
    const b = track(t, udp(p, C, S, 1, 2), 30).conn!;
    expect(b).not.toBe(a);
    expect(b.created).toBe(30);
    expect(t.size()).toBe(1);
  });

  test('property: expire(now) leaves exactly the entries with timeoutAt > now', () => {
    fc.assert(fc.property(
      fc.array(fc.record({ port: fc.integer({ min: 1, max: 40 }), dt: fc.double({ min: 0, max: 20, noNaN: true }), reply: fc.boolean() }), { maxLength: 200 }),
      (ops) => {
        const t = new ConntrackTable({ seed: 5, buckets: 16 });
        const p = new CtPacket();
        const all = new Set<Conn>();
        let now = 0;
        for (const o of ops) {
          now += o.dt;
          if (o.reply) udp(p, S, C, 53, o.port); else udp(p, C, S, o.port, 53);
          const r = track(t, p, now);
          if (r.conn) all.add(r.conn);
          t.expire(now);
          const live = [...all].filter((c) => !c.freed);
          expect(live.every((c) => c.timeoutAt > now)).toBe(true);
          expect(new Set(t.entries())).toEqual(new Set(live));
          expect(t.count).toBe(live.length);
        }
      },
    ), { numRuns: 200 });
  });

  test('timeouts come from the options (sysctl values)', () => {
    const opts = ctOptionsFromSysctl((k) => ({
      'net.netfilter.nf_conntrack_udp_timeout': '10',
      'net.netfilter.nf_conntrack_tcp_timeout_established': '7200',
      'net.netfilter.nf_conntrack_tcp_loose': '0',
      'net.netfilter.nf_conntrack_max': '1000',
    } as Record<string, string>)[k]);
    expect(opts.max).toBe(1000);
    expect(opts.tcpLoose).toBe(false);
    expect(opts.timeouts!.udp).toBe(10);
    expect(opts.timeouts!.tcpEstablished).toBe(7200);
    expect(opts.timeouts!.udpStream).toBe(120);
    const t = new ConntrackTable(opts);
    const p = new CtPacket();
    expect(track(t, udp(p, C, S, 1, 2), 0).conn!.timeoutAt).toBe(10);
    expect(() => ctOptionsFromSysctl(() => 'x')).toThrow(TypeError);
    expect(() => new ConntrackTable({ buckets: 0 })).toThrow(TypeError);
    expect(new CtTimeouts().generic).toBe(600);
  });
});

/** Create a confirmed UDP entry; `assured` makes it a stream. */
function udpConn(t: ConntrackTable, sport: number, assured: boolean, now = 0): Conn {
  const p = new CtPacket();
  const c = track(t, udp(p, C, S, sport, 53), now).conn!;
  if (assured) {
    track(t, udp(p, S, C, 53, sport), now + 0.1);
    track(t, udp(p, C, S, sport, 53), now + 2.5);
    expect(c.status & IPS_ASSURED).not.toBe(0);
  }
  return c;
}

describe('table full (__nf_conntrack_alloc, early_drop)', () => {
  test('a full table evicts every non-ASSURED entry of the first bucket that has one', () => {
    const t = new ConntrackTable({ seed: 1, max: 3, buckets: 1 });
    const a = udpConn(t, 1000, true);
    const b = udpConn(t, 1001, false, 3);
    const c = udpConn(t, 1002, false, 3);
    expect(t.count).toBe(3);
    const d = track(t, udp(new CtPacket(), C, S, 1003, 53), 4);
    expect(d.verdict).toBe('ok');
    expect(t.stats.early_drop).toBe(2);
    expect(b.freed && c.freed).toBe(true);
    expect(a.freed).toBe(false);
    expect(t.size()).toBe(2);
  });

  test('no victim: the packet is dropped, "conntrack table full"', () => {
    const t = new ConntrackTable({ seed: 1, max: 2, buckets: 1 });
    udpConn(t, 1000, true);
    udpConn(t, 1001, true);
    const r = new CtResult();
    t.in(udp(new CtPacket(), C, S, 1002, 53), 5, r);
    expect(r.verdict).toBe('drop');
    expect(r.detail).toBe('conntrack table full');
    expect(r.conn).toBeNull();
    expect(t.stats.drop).toBe(1);
    expect(t.count).toBe(2);
    // Established traffic of existing entries still flows.
    const e = track(t, udp(new CtPacket(), C, S, 1000, 53), 5);
    expect(e.verdict).toBe('ok');
  });

  test('victims are searched only in the 8 buckets from the new tuple\'s bucket', () => {
    const nb = 64;
    const t = new ConntrackTable({ seed: 11, max: 1, buckets: nb });
    const p = new CtPacket();
    const tup = new Tuple();
    // One non-assured entry, then a new tuple whose 8-bucket window misses both of its buckets.
    const victim = udpConn(t, 2000, false);
    const vb = [t.bucketOf(victim.orig, 0), t.bucketOf(victim.reply, 0)];
    let far = -1, near = -1;
    for (let port = 3000; port < 6000 && (far < 0 || near < 0); port++) {
      tupleFromPacket(tup, udp(p, C, S, port, 53));
      const b = t.bucketOf(tup, 0);
      const inWindow = vb.some((v) => (v - b + nb) % nb < 8);
      if (inWindow && near < 0) near = port;
      if (!inWindow && far < 0) far = port;
    }
    expect(track(t, udp(p, C, S, far, 53), 1).verdict).toBe('drop');
    expect(victim.freed).toBe(false);
    expect(track(t, udp(p, C, S, near, 53), 1).verdict).toBe('ok');
    expect(victim.freed).toBe(true);
    expect(t.stats.early_drop).toBe(1);
  });

  test('max 0 means unlimited', () => {
    const t = new ConntrackTable({ seed: 1, max: 0, buckets: 4 });
    for (let i = 0; i < 100; i++) udpConn(t, 1000 + i, false);
    expect(t.size()).toBe(100);
  });
});

describe('confirm, discard, count', () => {
  test('unconfirmed entries count; discard frees them; confirm is idempotent', () => {
    const t = new ConntrackTable({ seed: 1 });
    const r = new CtResult();
    t.in(udp(new CtPacket(), C, S, 1, 2), 0, r);
    expect(r.created).toBe(true);
    expect(t.count).toBe(1);
    expect(t.size()).toBe(0);
    t.discard(r.conn!);
    t.discard(r.conn!);
    expect(t.count).toBe(0);
    t.in(udp(new CtPacket(), C, S, 1, 2), 0, r);
    const c = r.conn!;
    expect(t.confirm(c, 0)).toBe(c);
    expect(t.confirm(c, 0)).toBe(c);
    expect(t.size()).toBe(1);
    t.discard(c); // no effect on a confirmed entry
    expect(t.size()).toBe(1);
  });

  test('a reply tuple clash at confirm drops the packet (insert_failed)', () => {
    const t = new ConntrackTable({ seed: 1 });
    const r = new CtResult();
    const p = new CtPacket();
    const a = track(t, udp(p, C, S, 1, 2), 0).conn!;
    t.in(udp(p, '192.0.2.9', S, 1, 2), 0, r);
    r.conn!.reply.copyFrom(a.reply); // as if NAT picked a taken tuple
    expect(t.confirm(r.conn!, 0)).toBeNull();
    expect(t.stats.insert_failed).toBe(1);
    expect(t.stats.drop).toBe(1);
    expect(t.count).toBe(1);
  });

  test('zones keep identical tuples apart', () => {
    const t = new ConntrackTable({ seed: 1 });
    const p = udp(new CtPacket(), C, S, 1, 2);
    const a = track(t, p, 0).conn!;
    p.zone = 7;
    const b = track(t, p, 0).conn!;
    expect(b).not.toBe(a);
    expect(b.zone).toBe(7);
    expect(t.size()).toBe(2);
    expect(formatConntrack(b, 0)).toContain(' zone=7 use=1');
  });

  test('the bucket hash is deterministic under a seed', () => {
    const tup = new Tuple();
    tupleFromPacket(tup, udp(new CtPacket(), C, S, 1234, 53));
    const a = new ConntrackTable({ seed: 42, buckets: 1 << 16 }).bucketOf(tup, 0);
    expect(new ConntrackTable({ seed: 42, buckets: 1 << 16 }).bucketOf(tup, 0)).toBe(a);
    const others = [1, 2, 3, 4].map((s) => new ConntrackTable({ seed: s, buckets: 1 << 16 }).bucketOf(tup, 0));
    expect(others.some((b) => b !== a)).toBe(true);
  });
});

describe('conntrack -L text', () => {
  test('formats like conntrack-tools (kernel lines in tests/conntrack/kernel/recorded)', () => {
    const t = new ConntrackTable({ seed: 1 });
    const p = new CtPacket();
    const c = track(t, udp(p, C, S, 35771, 9999), 0).conn!;
    expect(formatConntrack(c, 0.5)).toBe(
      'udp      17 29 src=192.0.2.2 dst=198.51.100.2 sport=35771 dport=9999 [UNREPLIED] src=198.51.100.2 dst=192.0.2.2 sport=9999 dport=35771 mark=0 use=1');
    expect(ip('203.0.113.7')).toBe(0xcb007107);
  });

  test('IPv6 addresses print as inet_ntop does', () => {
    expect(formatIpv6Words(0x20010db8, 0, 0, 1)).toBe('2001:db8::1');
    expect(formatIpv6Words(0, 0, 0, 1)).toBe('::1');
    expect(formatIpv6Words(0, 0, 0, 0)).toBe('::');
    expect(formatIpv6Words(0xfe800000, 0, 0x020000ff, 0xfe000001)).toBe('fe80::200:ff:fe00:1');
    expect(formatIpv6Words(0x20010db8, 0x00010000, 0x00000001, 0x00000001)).toBe('2001:db8:1::1:0:1');
    expect(formatIpv6Words(0x20010db8, 0x00000001, 0x00010001, 0x00010001)).toBe('2001:db8:0:1:1:1:1:1');
    expect(formatIpv6Words(0, 0, 0xffff, 0xc0000201)).toBe('::ffff:192.0.2.1');
  });
});
