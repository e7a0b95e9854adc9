import { describe, expect, it } from 'vitest';
import { ETH_P_8021AD, ETH_P_8021Q, ETH_P_IP, EthernetView, writeEthernet } from '../../src/stack/wire/ethernet.js';
import { vlanTci, VlanView, writeVlan } from '../../src/stack/wire/vlan.js';
import { writeSll, writeSll2 } from '../../src/stack/wire/sll.js';
import { L3_IPV4, L3_IPV6 } from '../../src/stack/wire/decode.js';
import { ipv4FragWord, writeIpv4 } from '../../src/stack/wire/ipv4.js';
import { writeIcmpEcho } from '../../src/stack/wire/icmp.js';
import {
  dec, decL3, hex, ICMP6_ECHO, ICMP_ECHO, problems, QINQ_ECHO, SLL2_SYN, SLL_ECHO, toHex, VLAN_ECHO,
} from './packets.js';

describe('Ethernet (IEEE 802.3 clause 3.2)', () => {
  it('deconstructs', () => {
    const v = new EthernetView().reset(ICMP_ECHO, 0);
    expect(v.check(ICMP_ECHO.length)).toBe(true);
    expect([v.dstHi(), v.dstLo(), v.srcHi(), v.srcLo(), v.ethertype()]).toEqual([0x02bb, 1, 0x02aa, 1, ETH_P_IP]);
    const info = dec(ICMP_ECHO);
    expect([info.macOff, info.dstMacHi, info.dstMacLo, info.srcMacHi, info.srcMacLo, info.ethertype, info.l3Off]).toEqual([0, 0x02bb, 1, 0x02aa, 1, 0x0800, 14]);
    expect(info.sllPktType).toBe(-1);
    expect(info.problems).toBe(0);
  });

  it('constructs', () => {
    const b = new Uint8Array(14);
    expect(writeEthernet(b, 0, 0x02bb, 1, 0x02aa, 1, ETH_P_IP)).toBe(14);
    expect(toHex(b)).toBe(toHex(ICMP_ECHO.subarray(0, 14)));
  });

  it('flags short and truncated frames', () => {
    expect(problems(dec(ICMP_ECHO.slice(0, 10)))).toEqual(['PKT_TOO_SMALL']);
    const cut = dec(ICMP_ECHO, 1, ICMP_ECHO.length, 10);
    expect(problems(cut)).toEqual(['HDR_TRUNC']);
    expect(cut.caplen).toBeLessThan(cut.len);
  });

  it('flags unknown EtherTypes and 802.3 length frames as UNHANDLED_PROTO', () => {
    const lldp = ICMP_ECHO.slice(0, 60);
    lldp[12] = 0x88; lldp[13] = 0xcc;
    const i = dec(lldp);
    expect(problems(i)).toEqual(['UNHANDLED_PROTO']);
    expect(i.ethertype).toBe(0x88cc);
    expect(i.l3).toBe(0);
    const stp = ICMP_ECHO.slice(0, 60);
    stp[12] = 0x00; stp[13] = 0x26;
    expect(problems(dec(stp))).toEqual(['UNHANDLED_PROTO']);
  });
});

describe('VLAN (IEEE 802.1Q, 802.1ad)', () => {
  it('deconstructs a tagged frame', () => {
    const i = dec(VLAN_ECHO);
    expect([i.vlanCount, i.vlan0, i.vlan1, i.ethertype, i.l3, i.l3Off, i.l4Off]).toEqual([1, 100, -1, 0x0800, L3_IPV4, 18, 38]);
    expect(i.problems).toBe(0);
    const v = new VlanView().reset(VLAN_ECHO, 14);
    expect([v.vid(), v.pcp(), v.dei(), v.ethertype()]).toEqual([100, 0, false, 0x0800]);
  });

  it('deconstructs QinQ (outer S-tag, inner C-tag)', () => {
    const i = dec(QINQ_ECHO);
    expect([i.vlanCount, i.vlan0, i.vlan1, i.ethertype, i.l3Off, i.src4, i.dst4]).toEqual([2, 200, 300, 0x0800, 22, 0xcb007101, 0xcb007102]);
    expect(i.problems).toBe(0);
  });

  it('constructs the captured frames', () => {
    const b = new Uint8Array(VLAN_ECHO.length);
    writeEthernet(b, 0, 0x02bb, 1, 0x02aa, 1, ETH_P_8021Q);
    writeVlan(b, 14, vlanTci(0, false, 100), ETH_P_IP);
    writeIpv4(b, 18, 20, 0, 60, 1, ipv4FragWord(true, false, 0), 64, 1, 0xc6336401, 0xc6336402);
    for (let k = 0; k < 32; k++) b[46 + k] = k;
    writeIcmpEcho(b, 38, 8, 0x1234, 1, 32);
    expect(toHex(b)).toBe(toHex(VLAN_ECHO));

    const q = new Uint8Array(QINQ_ECHO.length);
    writeEthernet(q, 0, 0x02bb, 1, 0x02aa, 1, ETH_P_8021AD);
    writeVlan(q, 14, 200, ETH_P_8021Q);
    writeVlan(q, 18, 300, ETH_P_IP);
    writeIpv4(q, 22, 20, 0, 60, 11, ipv4FragWord(true, false, 0), 64, 1, 0xcb007101, 0xcb007102);
    for (let k = 0; k < 32; k++) q[50 + k] = k;
    writeIcmpEcho(q, 42, 8, 0x4321, 1, 32);
    expect(toHex(q)).toBe(toHex(QINQ_ECHO));
  });

  it('flags a cut tag', () => {
    expect(problems(dec(VLAN_ECHO.slice(0, 16)))).toEqual(['PKT_TOO_SMALL']);
    expect(problems(dec(VLAN_ECHO, 1, VLAN_ECHO.length, 16))).toEqual(['HDR_TRUNC']);
  });
});

describe('Linux cooked captures (SLL, SLL2)', () => {
  it('deconstructs SLL', () => {
    const i = dec(SLL_ECHO, 113);
    expect([i.macOff, i.sllPktType, i.sllIfindex, i.srcMacHi, i.srcMacLo, i.dstMacHi, i.ethertype, i.l3Off, i.icmpType]).toEqual([-1, 4, -1, 0x02aa, 1, -1, 0x0800, 16, 8]);
    expect(i.problems).toBe(0);
  });

  it('deconstructs SLL2', () => {
    const i = dec(SLL2_SYN, 276);
    expect([i.sllPktType, i.sllIfindex, i.srcMacHi, i.srcMacLo, i.ethertype, i.l3Off, i.sport, i.dport, i.tcpFlags]).toEqual([4, 2, 0x02aa, 1, 0x0800, 20, 0xce4e, 8083, 0x02]);
    expect(i.problems).toBe(0);
  });

  it('constructs both headers', () => {
    const b = new Uint8Array(20);
    expect(writeSll(b, 0, 4, 1, 0x02aa, 1, 0x0800)).toBe(16);
    expect(toHex(b.subarray(0, 16))).toBe(toHex(SLL_ECHO.subarray(0, 16)));
    expect(writeSll2(b, 0, 0x0800, 2, 1, 4, 0x02aa, 1)).toBe(20);
    expect(toHex(b)).toBe(toHex(SLL2_SYN.subarray(0, 20)));
  });

  it('flags short cooked headers', () => {
    expect(problems(dec(SLL_ECHO.slice(0, 12), 113))).toEqual(['PKT_TOO_SMALL']);
    expect(problems(dec(SLL2_SYN, 276, SLL2_SYN.length, 18))).toEqual(['HDR_TRUNC']);
  });
});

describe('raw IP and loopback link types', () => {
  const ip4 = ICMP_ECHO.slice(14);
  const ip6 = ICMP6_ECHO.slice(14);
  it.each([[101], [12], [14], [228]])('reads IPv4 with link type %i', (lt) => {
    const i = dec(ip4, lt);
    expect([i.macOff, i.l3, i.l3Off, i.ethertype, i.icmpId, i.problems]).toEqual([-1, L3_IPV4, 0, 0x0800, 0x6e93, 0]);
  });

  it('reads IPv6 with link types 101 and 229', () => {
    for (const lt of [101, 229]) {
      const i = dec(ip6, lt);
      expect([i.l3, i.l3Off, i.icmpType, i.problems]).toEqual([L3_IPV6, 0, 128, 0]);
    }
  });

  it('rejects a raw frame that is not IP', () => {
    expect(problems(dec(hex('5000'), 101))).toEqual(['UNHANDLED_PROTO']);
    expect(problems(dec(new Uint8Array(0), 101))).toEqual(['PKT_TOO_SMALL']);
  });

  it('reads BSD loopback families in either byte order', () => {
    const cat = (a: string, b: Uint8Array) => Uint8Array.from([...hex(a), ...b]);
    expect(dec(cat('02000000', ip4), 0).l3Off).toBe(4); // NULL, little-endian host
    expect(dec(cat('00000002', ip4), 0).l3).toBe(L3_IPV4); // NULL, big-endian host
    expect(dec(cat('1e000000', ip6), 0).l3).toBe(L3_IPV6); // Darwin AF_INET6 30
    expect(dec(cat('00000018', ip6), 108).l3).toBe(L3_IPV6); // LOOP, OpenBSD AF_INET6 24
    expect(problems(dec(cat('07000000', ip4), 0))).toEqual(['UNHANDLED_PROTO']);
    expect(problems(dec(hex('0200'), 0))).toEqual(['PKT_TOO_SMALL']);
  });

  it('rejects unknown link types', () => {
    expect(problems(dec(ICMP_ECHO, 147))).toEqual(['UNHANDLED_PROTO']);
  });

  it('decodeL3 starts at an IP header and resets link fields', () => {
    const i = decL3(ICMP_ECHO, 0x0800, 14);
    expect([i.linktype, i.macOff, i.srcMacHi, i.l3Off, i.l4Off, i.icmpSeq, i.problems]).toEqual([-1, -1, -1, 14, 34, 1, 0]);
  });
});
