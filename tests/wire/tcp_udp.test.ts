import { describe, expect, it } from 'vitest';
import { ETH_P_IP, writeEthernet } from '../../src/stack/wire/ethernet.js';
import { ipv4FillChecksum, ipv4FragWord, writeIpv4 } from '../../src/stack/wire/ipv4.js';
import { tcpFillChecksum4, tcpFillChecksum6, TcpView, writeTcp, writeTcpOptions } from '../../src/stack/wire/tcp.js';
import { udpFillChecksum4, udpFillChecksum6, UdpView, writeUdp } from '../../src/stack/wire/udp.js';
import { L3_IPV6 } from '../../src/stack/wire/decode.js';
import {
  dec, OFFLOAD_SYN, problems, SNAP_SYN, TCP6_SYN, TCP_DATA, TCP_RST, TCP_SYN, TCP_SYNACK, toHex, UDP4, UDP6,
} from './packets.js';

const SRC = 0xc0000201, DST = 0xc0000202;

/** Ethernet + IPv4 + a TCP header with `opts` option bytes, checksums filled. */
function tcpFrame(opts: number[], doff = 20 + opts.length, payload = 0): Uint8Array {
  const tl = 20 + opts.length + payload;
  const b = new Uint8Array(14 + 20 + tl);
  writeEthernet(b, 0, 0x02bb, 1, 0x02aa, 1, ETH_P_IP);
  writeIpv4(b, 14, 20, 0, 20 + tl, 1, 0x4000, 64, 6, SRC, DST);
  b.set(opts, 54);
  writeTcp(b, 34, 1000, 80, 1, 0, 0x02, 1024, doff);
  tcpFillChecksum4(b, 34, tl, SRC, DST);
  return b;
}

describe('TCP (RFC 9293 §3.1)', () => {
  it('deconstructs a Linux SYN with options', () => {
    const i = dec(TCP_SYN);
    expect([i.l4proto, i.l4Off, i.l4Len, i.sport, i.dport, i.tcpFlags, i.tcpSeq, i.tcpAck, i.tcpWin]).toEqual([6, 34, 40, 0x9c44, 8080, 0x02, 0x5b7b0a7c, 0, 64240]);
    expect([i.tcpMss, i.tcpWscale, i.tcpSackPerm, i.tcpTsVal, i.tcpTsEcr, i.problems]).toEqual([1460, 10, true, 0x824094f9, 0, 0]);
    const a = dec(TCP_SYNACK);
    expect([a.tcpFlags, a.tcpSeq, a.tcpAck, a.tcpTsEcr]).toEqual([0x12, 0x3b3d0f3e, 0x5b7b0a7d, 0x824094f9]);
    const d = dec(TCP_DATA);
    expect([d.tcpFlags, d.tcpMss, d.tcpWscale, d.tcpSackPerm, d.tcpTsVal, d.l4Len, d.problems]).toEqual([0x18, -1, -1, false, 0x824094f9, 38, 0]);
    const r = dec(TCP_RST);
    expect([r.tcpFlags, r.tcpWin, r.problems]).toEqual([0x14, 0, 0]);
    const v = new TcpView().reset(TCP_SYN, 34);
    expect(v.check(TCP_SYN.length)).toBe(true);
    expect([v.sport(), v.dport(), v.headerLen(), v.flags(), v.checksumOk4(40, SRC, DST)]).toEqual([0x9c44, 8080, 40, 2, true]);
  });

  it('deconstructs TCP over IPv6 (pseudo-header RFC 8200 §8.1)', () => {
    const i = dec(TCP6_SYN);
    expect([i.l3, i.l4Off, i.sport, i.dport, i.tcpMss, i.tcpWscale, i.problems]).toEqual([L3_IPV6, 54, 0xe774, 8081, 1440, 10, 0]);
  });

  it('constructs the captured SYN, byte for byte', () => {
    const b = new Uint8Array(TCP_SYN.length);
    writeEthernet(b, 0, 0x02bb, 1, 0x02aa, 1, ETH_P_IP);
    writeIpv4(b, 14, 20, 0, 60, 0x98c7, ipv4FragWord(true, false, 0), 64, 6, SRC, DST);
    expect(writeTcpOptions(b, 54, 1460, 10, true, 0x824094f9, 0)).toBe(20);
    expect(writeTcp(b, 34, 0x9c44, 8080, 0x5b7b0a7c, 0, 0x02, 64240, 40)).toBe(74);
    tcpFillChecksum4(b, 34, 40, SRC, DST);
    expect(toHex(b)).toBe(toHex(TCP_SYN));
  });

  it('constructs the captured IPv6 SYN', () => {
    const b = TCP6_SYN.slice();
    b.fill(0, 54);
    writeTcpOptions(b, 74, 1440, 10, true, 0xa8d991cc, 0);
    writeTcp(b, 54, 0xe774, 8081, 0xb376a2df, 0, 0x02, 64800, 40);
    tcpFillChecksum6(b, 54, 40, b, 22, 38);
    expect(toHex(b)).toBe(toHex(TCP6_SYN));
  });

  it('writes option layouts without timestamps', () => {
    const b = new Uint8Array(40);
    expect(writeTcpOptions(b, 0, 1460, -1, true, -1, -1)).toBe(8);
    expect(toHex(b.subarray(0, 8))).toBe('020405b401010402');
    expect(writeTcpOptions(b, 0, -1, 7, false, -1, -1)).toBe(4);
    expect(toHex(b.subarray(0, 4))).toBe('01030307');
  });

  it('flags a bad checksum (TCP_CSUM), unless verification is off', () => {
    const b = TCP_DATA.slice();
    b[b.length - 1] ^= 0x20;
    expect(problems(dec(b))).toEqual(['TCP_CSUM']);
    expect(problems(dec(OFFLOAD_SYN))).toEqual(['TCP_CSUM']);
    expect(dec(OFFLOAD_SYN, 1, OFFLOAD_SYN.length, OFFLOAD_SYN.length, false).problems).toBe(0);
  });

  it('flags a data offset below 5 or beyond the segment (PKT_TOO_SMALL)', () => {
    expect(problems(dec(tcpFrame([], 16)))).toEqual(['PKT_TOO_SMALL']);
    expect(problems(dec(tcpFrame([1, 1, 1, 1], 28)))).toEqual(['PKT_TOO_SMALL']);
    const short = TCP_SYN.slice(0, 14 + 20 + 12);
    short[17] = 32;
    ipv4FillChecksum(short, 14);
    expect(problems(dec(short))).toEqual(['PKT_TOO_SMALL']);
  });

  it('marks options cut by the snaplen as HDR_TRUNC, not the sender\'s fault', () => {
    const i = dec(SNAP_SYN, 1, 74, SNAP_SYN.length);
    expect(problems(i)).toEqual(['HDR_TRUNC']);
    expect([i.sport, i.dport, i.tcpFlags, i.tcpSeq, i.caplen, i.len]).toEqual([0xeaa0, 8085, 0x02, 0x926b7b88, 58, 74]);
  });

  it('parses SACK blocks and skips unknown options', () => {
    const i = dec(tcpFrame([0x05, 0x0a, 0, 0, 0, 1, 0, 0, 0, 2, 0x1e, 0x04, 0, 0, 0x02, 0x04, 0x05, 0xb4, 0x01, 0x01]));
    expect([i.tcpMss, i.problems]).toEqual([1460, 0]);
    expect(dec(tcpFrame([0x00, 0x02, 0x04, 0x05])).tcpMss).toBe(-1); // EOL ends the list
  });

  it('flags malformed option lengths with INVALID_PROTO instead of throwing', () => {
    for (const opts of [[0x02, 0x05, 0x05, 0xb4], [0x02, 0x00, 0x01, 0x01], [0x08, 0x0a, 0, 0], [0x01, 0x01, 0x01, 0x03], [0x05, 0x04, 0, 0], [0x03, 0x04, 0x07, 0x00]]) {
      expect(problems(dec(tcpFrame(opts))), toHex(Uint8Array.from(opts))).toEqual(['INVALID_PROTO']);
    }
  });

  it('rewrites ports and addresses with incremental checksums', () => {
    const b = TCP_DATA.slice();
    const v = new TcpView().reset(b, 34);
    v.setSport(443);
    v.setDport(32000);
    v.addressChanged(SRC, 0xcb007101);
    expect(v.checksumOk4(38, 0xcb007101, DST)).toBe(true);
  });
});

describe('UDP (RFC 768)', () => {
  it('deconstructs over IPv4 and IPv6', () => {
    const i = dec(UDP4);
    expect([i.l4proto, i.l4Off, i.l4Len, i.sport, i.dport, i.problems]).toEqual([17, 34, 13, 58456, 9000, 0]);
    const j = dec(UDP6);
    expect([j.l4proto, j.l4Off, j.sport, j.dport, j.problems]).toEqual([17, 54, 0xd97f, 9002, 0]);
    const v = new UdpView().reset(UDP4, 34);
    expect([v.check(UDP4.length), v.length(), v.checksumOk4(SRC, DST)]).toEqual([true, 13, true]);
  });

  it('constructs the captured datagrams', () => {
    const b = UDP4.slice();
    b.fill(0, 34, 42);
    expect(writeUdp(b, 34, 58456, 9000, 13)).toBe(42);
    udpFillChecksum4(b, 34, 13, SRC, DST);
    expect(toHex(b)).toBe(toHex(UDP4));
    const c = UDP6.slice();
    c.fill(0, 54, 62);
    writeUdp(c, 54, 0xd97f, 9002, 13);
    udpFillChecksum6(c, 54, 13, c, 22, 38);
    expect(toHex(c)).toBe(toHex(UDP6));
  });

  it('treats a zero checksum as none over IPv4 and as an error over IPv6', () => {
    const b = UDP4.slice();
    b[40] = b[41] = 0;
    expect(dec(b).problems).toBe(0);
    const c = UDP6.slice();
    c[60] = c[61] = 0;
    expect(problems(dec(c))).toEqual(['UDP_CSUM']);
  });

  it('flags a bad checksum (UDP_CSUM)', () => {
    const b = UDP4.slice();
    b[44] ^= 1;
    expect(problems(dec(b))).toEqual(['UDP_CSUM']);
  });

  it('flags bad lengths (PKT_TOO_SMALL, as short_packet in __udp4_lib_rcv)', () => {
    const long = UDP4.slice();
    long[39] = 40; // UDP length 40 > 13 bytes of IP payload
    expect(problems(dec(long))).toEqual(['PKT_TOO_SMALL']);
    const tiny = UDP4.slice();
    tiny[39] = 4;
    expect(problems(dec(tiny))).toEqual(['PKT_TOO_SMALL']);
    const hdr = UDP4.slice(0, 14 + 20 + 4);
    hdr[17] = 24;
    ipv4FillChecksum(hdr, 14);
    expect(problems(dec(hdr))).toEqual(['PKT_TOO_SMALL']);
  });

  it('skips verification when the datagram is not fully captured', () => {
    const i = dec(UDP4, 1, UDP4.length, 44);
    expect([i.sport, i.problems]).toEqual([58456, 0]);
  });
});
