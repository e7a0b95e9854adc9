/**
 * UDP, UDP-Lite, ICMP, ICMPv6 and generic tracking.
 *
 * Kernel-checked (Linux 6.18.44, recorded runs in tests/conntrack/kernel/recorded/): the UDP rule
 * (udp-assured.json: unreplied 30 s; the first reply 30 s; traffic within 2 s of creation stays at
 * 30 s; after 2 s 120 s and ASSURED, also when the first reply itself comes after 2 s), ICMP echo and
 * RELATED errors (icmp-echo-related.json: an error about an unknown flow is invalid and counts in
 * conntrack -S `error`; an echo reply alone is invalid and counts in `invalid`).
 */
import { describe, expect, test } from 'vitest';
import {
  ConntrackTable, CtPacket, IPPROTO_GRE, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_UDP, IPPROTO_UDPLITE, IPS_ASSURED,
  IPS_SEEN_REPLY, IP_CT_ESTABLISHED_REPLY, IP_CT_NEW, IP_CT_RELATED, IP_CT_RELATED_REPLY, IP_CT_UNTRACKED,
} from '../../src/stack/conntrack/index.js';
import { icmp, quote, track, udp } from './helpers.js';

const C = '192.0.2.2', S = '198.51.100.2';

describe('UDP (nf_conntrack_proto_udp.c)', () => {
  test('unreplied → replied → stream after 2 s → ASSURED, 120 s (kernel: udp-assured)', () => {
    const t = new ConntrackTable({ seed: 3 });
    const p = new CtPacket();
    const a = track(t, udp(p, C, S, 45000, 53), 10);
    expect(a.ctinfo).toBe(IP_CT_NEW);
    const c = a.conn!;
    expect(c.status & IPS_SEEN_REPLY).toBe(0);
    expect(c.timeoutAt - 10).toBe(30);
    const b = track(t, udp(p, S, C, 53, 45000), 10.1);
    expect(b.ctinfo).toBe(IP_CT_ESTABLISHED_REPLY);
    expect(c.status & IPS_SEEN_REPLY).not.toBe(0);
    expect(c.timeoutAt).toBeCloseTo(40.1, 6);
    track(t, udp(p, C, S, 45000, 53), 11.9); // within 2 s of creation
    expect(c.timeoutAt).toBeCloseTo(41.9, 6);
    expect(c.status & IPS_ASSURED).toBe(0);
    track(t, udp(p, C, S, 45000, 53), 12.01); // more than 2 s after creation
    expect(c.timeoutAt).toBeCloseTo(132.01, 6);
    expect(c.status & IPS_ASSURED).not.toBe(0);
  });

  test('the first reply after 2 s still gets 30 s: SEEN_REPLY is set after the handler (kernel: udp-assured)', () => {
    const t = new ConntrackTable({ seed: 3 });
    const p = new CtPacket();
    const c = track(t, udp(p, C, S, 45001, 53), 0).conn!;
    track(t, udp(p, S, C, 53, 45001), 2.3);
    expect(c.timeoutAt).toBeCloseTo(32.3, 6);
    expect(c.status & IPS_ASSURED).toBe(0);
    track(t, udp(p, C, S, 45001, 53), 2.4);
    expect(c.timeoutAt).toBeCloseTo(122.4, 6);
    expect(c.status & IPS_ASSURED).not.toBe(0);
  });

  test('UDP-Lite: replied → stream timeout and ASSURED at once', () => {
    const t = new ConntrackTable({ seed: 3 });
    const p = udp(new CtPacket(), C, S, 1, 2);
    p.proto = IPPROTO_UDPLITE;
    const c = track(t, p, 0).conn!;
    const r = udp(new CtPacket(), S, C, 2, 1);
    r.proto = IPPROTO_UDPLITE;
    track(t, r, 0.1);
    track(t, p, 0.2);
    expect(c.status & IPS_ASSURED).not.toBe(0);
    expect(c.timeoutAt).toBeCloseTo(120.2, 6);
  });

  test('malformed and bad-checksum datagrams are invalid', () => {
    const t = new ConntrackTable({ seed: 3 });
    const p = udp(new CtPacket(), C, S, 1, 2);
    p.hdrError = true;
    expect(track(t, p, 0).verdict).toBe('invalid');
    udp(p, C, S, 1, 2).csumBad = true;
    expect(track(t, p, 0).verdict).toBe('invalid');
    expect(t.count).toBe(0);
  });
});

describe('ICMP (nf_conntrack_proto_icmp.c)', () => {
  test('echo creates, echo reply is the reply direction (kernel: icmp-echo-related)', () => {
    const t = new ConntrackTable({ seed: 3 });
    const p = new CtPacket();
    const a = track(t, icmp(p, C, S, 8, 0, 4242), 0);
    expect(a.ctinfo).toBe(IP_CT_NEW);
    expect(a.conn!.reply.icmpType).toBe(0);
    expect(a.conn!.reply.icmpId).toBe(4242);
    const b = track(t, icmp(p, S, C, 0, 0, 4242), 0.1);
    expect(b.ctinfo).toBe(IP_CT_ESTABLISHED_REPLY);
    expect(b.conn).toBe(a.conn);
    expect(a.conn!.timeoutAt).toBeCloseTo(30.1, 6);
  });

  test('an echo reply alone, or a type without a reply type, is invalid', () => {
    const t = new ConntrackTable({ seed: 3 });
    const p = new CtPacket();
    expect(track(t, icmp(p, S, C, 0, 0, 999), 0).verdict).toBe('invalid');
    expect(t.stats.invalid).toBe(1);
    expect(track(t, icmp(p, S, C, 9, 0, 0), 0).detail).toBe('no inverse tuple'); // router advertisement
    expect(t.stats.invalid).toBe(2);
    expect(t.count).toBe(0);
  });

  test('an error quoting a tracked flow is RELATED_REPLY going back, RELATED going forward', () => {
    const t = new ConntrackTable({ seed: 3 });
    const p = new CtPacket();
    const c = track(t, udp(p, C, S, 46000, 9999), 0).conn!;
    // Port unreachable from S back to C, quoting C→S: found via the reply tuple.
    quote(icmp(p, S, C, 3, 3, 0), IPPROTO_UDP, C, S, 46000, 9999);
    let r = track(t, p, 0.1);
    expect(r.ctinfo).toBe(IP_CT_RELATED_REPLY);
    expect(r.conn).toBe(c);
    expect(c.status & IPS_SEEN_REPLY).toBe(0); // RELATED packets don't touch the entry
    expect(c.timeoutAt).toBe(30);
    // An error travelling towards S about a packet S→C (e.g. from a router on C's side).
    quote(icmp(p, '192.0.2.1', S, 11, 0, 0), IPPROTO_UDP, S, C, 9999, 46000);
    r = track(t, p, 0.2);
    expect(r.ctinfo).toBe(IP_CT_RELATED);
    expect(r.dir).toBe(0);
  });

  test('errors about unknown flows, with the wrong outer destination, or unparsable are invalid (stat error)', () => {
    const t = new ConntrackTable({ seed: 3 });
    const p = new CtPacket();
    track(t, udp(p, C, S, 46000, 9999), 0);
    quote(icmp(p, S, C, 3, 3, 0), IPPROTO_UDP, C, S, 46001, 9999);
    expect(track(t, p, 0.1).detail).toBe('no connection for the quoted header');
    quote(icmp(p, S, '192.0.2.99', 3, 3, 0), IPPROTO_UDP, C, S, 46000, 9999);
    expect(track(t, p, 0.1).detail).toBe('outer daddr != inner');
    icmp(p, S, C, 3, 3, 0);
    expect(track(t, p, 0.1).detail).toBe('inner header not parsable');
    icmp(p, S, C, 40, 0, 0);
    expect(track(t, p, 0.1).detail).toBe('invalid icmp type');
    expect(t.stats.error).toBe(4);
    expect(t.stats.invalid).toBe(0);
  });

  test('an error quoting an ICMP echo is RELATED to the echo flow (kernel: icmp-echo-related)', () => {
    const t = new ConntrackTable({ seed: 3 });
    const p = new CtPacket();
    const c = track(t, icmp(p, C, S, 8, 0, 4242), 0).conn!;
    quote(icmp(p, S, C, 11, 0, 0), IPPROTO_ICMP, C, S, 0, 0, 8, 4242);
    const r = track(t, p, 0.1);
    expect(r.ctinfo).toBe(IP_CT_RELATED_REPLY);
    expect(r.conn).toBe(c);
  });
});

describe('ICMPv6 (nf_conntrack_proto_icmpv6.c)', () => {
  const a6 = Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);
  const b6 = Uint8Array.from([0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2]);
  function icmp6(p: CtPacket, src: Uint8Array, dst: Uint8Array, type: number, id: number): CtPacket {
    p.reset();
    p.l3 = 6; p.proto = IPPROTO_ICMPV6; p.src6.set(src); p.dst6.set(dst); p.icmpType = type; p.icmpCode = 0; p.icmpId = id;
    return p;
  }

  test('echo request/reply and node information create and answer', () => {
    const t = new ConntrackTable({ seed: 3 });
    const p = new CtPacket();
    const c = track(t, icmp6(p, a6, b6, 128, 77), 0).conn!;
    expect(c.reply.icmpType).toBe(129);
    expect(track(t, icmp6(p, b6, a6, 129, 77), 0.1).ctinfo).toBe(IP_CT_ESTABLISHED_REPLY);
    expect(track(t, icmp6(p, a6, b6, 139, 1), 0.2).ctinfo).toBe(IP_CT_NEW);
  });

  test('neighbour discovery and MLD are untracked', () => {
    const t = new ConntrackTable({ seed: 3 });
    const p = new CtPacket();
    for (const type of [130, 131, 132, 133, 134, 135, 136, 143]) {
      const r = track(t, icmp6(p, a6, b6, type, 0), 0);
      expect(r.ctinfo, `type ${type}`).toBe(IP_CT_UNTRACKED);
      expect(r.verdict).toBe('ok');
    }
    expect(t.count).toBe(0);
  });

  test('a packet-too-big quoting a tracked flow is RELATED_REPLY', () => {
    const t = new ConntrackTable({ seed: 3 });
    const p = new CtPacket();
    p.reset();
    p.l3 = 6; p.proto = IPPROTO_UDP; p.src6.set(a6); p.dst6.set(b6); p.sport = 5000; p.dport = 53;
    const c = track(t, p, 0).conn!;
    icmp6(p, b6, a6, 2, 0);
    p.innerValid = true; p.innerProto = IPPROTO_UDP; p.innerSrc6.set(a6); p.innerDst6.set(b6); p.innerSport = 5000; p.innerDport = 53;
    const r = track(t, p, 0.1);
    expect(r.ctinfo).toBe(IP_CT_RELATED_REPLY);
    expect(r.conn).toBe(c);
  });
});

describe('GRE and generic', () => {
  test('GRE: 30 s unreplied, 180 s and ASSURED once replied', () => {
    const t = new ConntrackTable({ seed: 3 });
    const p = new CtPacket();
    p.reset(); p.proto = IPPROTO_GRE; p.src4 = 1; p.dst4 = 2;
    const c = track(t, p, 0).conn!;
    expect(c.timeoutAt).toBe(30);
    p.src4 = 2; p.dst4 = 1;
    track(t, p, 1);
    track(t, p, 2);
    expect(c.timeoutAt).toBe(182);
    expect(c.status & IPS_ASSURED).not.toBe(0);
  });

  test('other protocols: one entry per address pair and protocol, 600 s', () => {
    const t = new ConntrackTable({ seed: 3 });
    const p = new CtPacket();
    p.reset(); p.proto = 50; p.src4 = 1; p.dst4 = 2; // ESP
    const c = track(t, p, 0).conn!;
    expect(c.timeoutAt).toBe(600);
    p.src4 = 2; p.dst4 = 1;
    expect(track(t, p, 5).ctinfo).toBe(IP_CT_ESTABLISHED_REPLY);
    expect(c.timeoutAt).toBe(605);
    expect(c.status & IPS_ASSURED).toBe(0);
  });
});

test('IP_CT_RELATED constant values follow the uapi header', () => {
  expect([IP_CT_RELATED, IP_CT_NEW, IP_CT_ESTABLISHED_REPLY, IP_CT_RELATED_REPLY, IP_CT_UNTRACKED]).toEqual([1, 2, 3, 4, 7]);
});
