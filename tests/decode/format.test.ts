import { describe, expect, it } from 'vitest';
import { DecodeFormatter, tcpFlagsString, type FrameMeta } from '../../src/trace/format_decode.js';
import * as P from '../wire/packets.js';

const fmt = new DecodeFormatter('text', 'none');
const meta = (m: Partial<FrameMeta> = {}): FrameMeta => ({ index: 0, tsSec: 0, tsNsec: 0, ifaceName: null, ifaceId: -1, direction: 0, multiIface: false, ...m });
const line = (b: Uint8Array, lt = 1, len = b.length, m: Partial<FrameMeta> = {}) => fmt.line(P.dec(b, lt, len), meta(m)).replace(/\n$/, '');

describe('text lines (tcpdump -n -S style)', () => {
  it.each([
    ['ARP request', P.ARP_REQ, 'ARP, Request who-has 192.0.2.2 tell 192.0.2.1, length 28'],
    ['ARP reply', P.ARP_REP, 'ARP, Reply 192.0.2.2 is-at 02:bb:00:00:00:01, length 28'],
    ['echo request', P.ICMP_ECHO, 'IP 192.0.2.1 > 192.0.2.2: ICMP echo request, id 28307, seq 1, length 64'],
    ['port unreachable', P.ICMP_UNREACH, 'IP 192.0.2.2 > 192.0.2.1: ICMP 192.0.2.2 udp port 9999 unreachable, length 38'],
    ['SYN', P.TCP_SYN, 'IP 192.0.2.1.40004 > 192.0.2.2.8080: Flags [S], seq 1534790268, win 64240, options [mss 1460,sackOK,TS val 2185270521 ecr 0,nop,wscale 10], length 0'],
    ['SYN-ACK', P.TCP_SYNACK, 'IP 192.0.2.2.8080 > 192.0.2.1.40004: Flags [S.], seq 993857342, ack 1534790269, win 65160, options [mss 1460,sackOK,TS val 4137439971 ecr 2185270521,nop,wscale 10], length 0'],
    ['data', P.TCP_DATA, 'IP 192.0.2.1.40004 > 192.0.2.2.8080: Flags [P.], seq 1534790269:1534790275, ack 993857343, win 63, options [nop,nop,TS val 2185270521 ecr 4137439971], length 6'],
    ['RST', P.TCP_RST, 'IP 192.0.2.2.9 > 192.0.2.1.39118: Flags [R.], seq 0, ack 811254779, win 0, length 0'],
    ['UDP', P.UDP4, 'IP 192.0.2.1.58456 > 192.0.2.2.9000: UDP, length 5'],
    ['UDP6', P.UDP6, 'IP6 2001:db8:1::1.55679 > 2001:db8:1::2.9002: UDP, length 5'],
    ['NS', P.ND_NS, 'IP6 2001:db8:1::1 > ff02::1:ff00:2: ICMP6, neighbor solicitation, who has 2001:db8:1::2, length 32'],
    ['NA', P.ND_NA, 'IP6 2001:db8:1::2 > 2001:db8:1::1: ICMP6, neighbor advertisement, tgt is 2001:db8:1::2, length 32'],
    ['echo6', P.ICMP6_ECHO, 'IP6 2001:db8:1::1 > 2001:db8:1::2: ICMP6, echo request, id 28332, seq 1, length 64'],
    ['unreach6', P.ICMP6_UNREACH, 'IP6 2001:db8:1::2 > 2001:db8:1::1: ICMP6, destination unreachable, unreachable port, 2001:db8:1::2 udp port 9999, length 58'],
    ['frag4', P.FRAG4_LAST, 'IP 192.0.2.1 > 192.0.2.2: ip-proto-1, length 48 (frag 21133:48@2960)'],
    ['frag6', P.FRAG6_LAST, 'IP6 2001:db8:1::1 > 2001:db8:1::2: frag (2896|112) ip-proto-58, length 112'],
    ['MLD', P.MLD, 'IP6 fe80::bb:ff:fe00:1 > ff02::16: ICMP6, type 143, length 48'],
    ['VLAN', P.VLAN_ECHO, 'vlan 100, IP 198.51.100.1 > 198.51.100.2: ICMP echo request, id 4660, seq 1, length 40'],
    ['QinQ', P.QINQ_ECHO, 'vlan 200, vlan 300, IP 203.0.113.1 > 203.0.113.2: ICMP echo request, id 17185, seq 1, length 40'],
    ['offload', P.OFFLOAD_SYN, 'IP 192.0.2.1.39998 > 192.0.2.2.8080: Flags [S], seq 3575053151, win 64240, options [mss 1460,sackOK,TS val 2040756100 ecr 0,nop,wscale 10], length 0 [TCP_CSUM]'],
  ])('%s', (_name, bytes, want) => {
    expect(line(bytes)).toBe(want);
  });

  it('shows snaplen cuts, cooked direction and interface', () => {
    expect(line(P.SNAP_SYN, 1, 74)).toBe('IP 192.0.2.1.60064 > 192.0.2.2.8085: Flags [S], seq 2456517512, win 64240, length 0 [HDR_TRUNC]');
    expect(line(P.SLL_ECHO, 113)).toBe('Out IP 192.0.2.1 > 192.0.2.2: ICMP echo request, id 29240, seq 1, length 64');
    expect(line(P.SLL2_SYN, 276)).toBe('ifindex 2 Out IP 192.0.2.1.52814 > 192.0.2.2.8083: Flags [S], seq 3340369389, win 64240, options [mss 1460,sackOK,TS val 2095850859 ecr 0,nop,wscale 10], length 0');
    expect(line(P.ICMP_ECHO, 1, 98, { ifaceName: 'eth0', multiIface: true })).toMatch(/^eth0 IP 192/);
    expect(line(P.ICMP_ECHO, 1, 98, { ifaceName: 'eth0', direction: 2 })).toMatch(/^eth0 Out IP 192/);
    expect(line(P.ICMP_ECHO, 1, 98, { ifaceName: 'eth0' })).toMatch(/^IP 192/);
  });

  it('names what it cannot decode', () => {
    const lldp = P.ICMP_ECHO.slice(0, 60);
    lldp[12] = 0x88; lldp[13] = 0xcc;
    expect(line(lldp)).toBe('ethertype 0x88cc, length 60 [UNHANDLED_PROTO]');
    expect(line(P.ICMP_ECHO.slice(0, 10))).toBe('length 10 [PKT_TOO_SMALL]');
    const bad = P.ICMP_ECHO.slice();
    bad[14] = 0x43; // IHL 3
    expect(line(bad)).toBe('IP truncated-ip, length 84 [IP_INHDR]');
  });

  it('prints time of day (UTC, µs) or epoch seconds (ns)', () => {
    const at = { tsSec: 86400 * 3 + 13 * 3600 + 5 * 60 + 7, tsNsec: 123456789 };
    expect(new DecodeFormatter('text', 'tod').line(P.dec(P.ARP_REQ), meta(at))).toMatch(/^13:05:07\.123456 ARP/);
    expect(new DecodeFormatter('text', 'epoch').line(P.dec(P.ARP_REQ), meta(at))).toMatch(/^306307\.123456789 ARP/);
  });

  it('spells TCP flags like tcpdump', () => {
    expect([0x02, 0x12, 0x11, 0x18, 0x04, 0x14, 0x10, 0, 0xc2, 0x29].map(tcpFlagsString)).toEqual(['S', 'S.', 'F.', 'P.', 'R', 'R.', '.', 'none', 'SEW', 'FPU']);
  });
});

describe('JSON lines', () => {
  const json = new DecodeFormatter('jsonl', 'tod');
  it('has every documented field', () => {
    const o = JSON.parse(json.line(P.dec(P.TCP_SYN), meta({ index: 4, tsSec: 1700000000, tsNsec: 5 })));
    expect(o).toEqual({
      index: 4, ts: '1700000000.000000005', caplen: 74, len: 74, linktype: 1, interface: null, direction: null, ifindex: null, pktType: null,
      srcMac: '02:aa:00:00:00:01', dstMac: '02:bb:00:00:00:01', ethertype: 2048, vlan: [], l3: 'ipv4', src: '192.0.2.1', dst: '192.0.2.2',
      ipLen: 60, ttl: 64, tos: 0, ipId: 0x98c7, fragOff: 0, mf: false, df: true, proto: 'tcp', sport: 40004, dport: 8080,
      tcpFlags: 'S', tcpSeq: 1534790268, tcpAck: 0, tcpWin: 64240, tcpMss: 1460, tcpWscale: 10, tcpSackPerm: true, tcpTsVal: 2185270521, tcpTsEcr: 0,
      icmpType: null, icmpCode: null, icmpId: null, icmpSeq: null, arpOp: null, ndTarget: null, problems: [],
    });
  });

  it('gives ARP addresses, ICMP fields, VLAN ids, direction and problems', () => {
    const arp = JSON.parse(json.line(P.dec(P.ARP_REQ), meta()));
    expect([arp.l3, arp.src, arp.dst, arp.proto, arp.arpOp, arp.ipLen]).toEqual(['arp', '192.0.2.1', '192.0.2.2', null, 1, null]);
    const ns = JSON.parse(json.line(P.dec(P.ND_NS), meta({ ifaceName: 'veth"0', direction: 1 })));
    expect([ns.proto, ns.icmpType, ns.ndTarget, ns.src, ns.interface, ns.direction]).toEqual(['icmpv6', 135, '2001:db8:1::2', '2001:db8:1::1', 'veth"0', 'in']);
    const q = JSON.parse(json.line(P.dec(P.QINQ_ECHO), meta({ ifaceId: 3 })));
    expect([q.vlan, q.interface, q.icmpId, q.icmpSeq]).toEqual([[200, 300], 3, 0x4321, 1]);
    const sll = JSON.parse(json.line(P.dec(P.SLL2_SYN, 276), meta()));
    expect([sll.direction, sll.ifindex, sll.pktType, sll.dstMac]).toEqual(['out', 2, 4, null]);
    const off = JSON.parse(json.line(P.dec(P.OFFLOAD_SYN), meta()));
    expect(off.problems).toEqual(['TCP_CSUM']);
    const frag = JSON.parse(json.line(P.dec(P.FRAG6_LAST), meta()));
    expect([frag.fragOff, frag.mf, frag.proto, frag.sport, frag.ipId]).toEqual([2896, false, 'icmpv6', null, 0x60a0b9e0]);
  });
});
