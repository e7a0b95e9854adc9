/** fast-check: the decoder never throws, names only kernel drop reasons, and round-trips the builders. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeFrame, PacketInfo } from '../../src/stack/wire/decode.js';
import { dropReasonName } from '../../src/stack/drop_reason.js';
import { ETH_P_IP, writeEthernet } from '../../src/stack/wire/ethernet.js';
import { writeIpv4 } from '../../src/stack/wire/ipv4.js';
import { tcpFillChecksum4, writeTcp, writeTcpOptions } from '../../src/stack/wire/tcp.js';
import { DecodeFormatter } from '../../src/trace/format_decode.js';
import * as P from './packets.js';

const LINKTYPES = [0, 1, 12, 14, 101, 108, 113, 228, 229, 276, 147];
const VALID = [P.ARP_REQ, P.ICMP_ECHO, P.ND_NS, P.ND_NA, P.ICMP6_ECHO, P.TCP_SYN, P.TCP_DATA, P.TCP6_SYN, P.UDP4, P.UDP6,
  P.ICMP_UNREACH, P.ICMP6_UNREACH, P.FRAG4_LAST, P.FRAG6_LAST, P.MLD, P.VLAN_ECHO, P.QINQ_ECHO];
const info = new PacketInfo(); // one object for all runs, as a decoder would keep it
const text = new DecodeFormatter('text', 'tod');
const json = new DecodeFormatter('jsonl', 'epoch');
const meta = { index: 0, tsSec: 0, tsNsec: 0, ifaceName: null, ifaceId: -1, direction: 0, multiIface: false };

function checkInvariants(bytes: Uint8Array, caplen: number, len: number): void {
  expect(info.problems).toBe(info.problemList.length);
  expect(info.problem0).toBe(info.problems > 0 ? info.problemList[0] : 0);
  for (const r of info.problemList) {
    expect(r).toBeGreaterThan(0);
    expect(dropReasonName(r)).not.toBe('NOT_SPECIFIED');
  }
  const cap = Math.min(caplen, bytes.length);
  for (const off of [info.l3Off, info.l4Off, info.srcOff, info.dstOff, info.icmpInnerOff, info.ndTargetOff, info.ndLladdrOff, info.arpShaOff]) {
    expect(off).toBeGreaterThanOrEqual(-1);
    expect(off).toBeLessThanOrEqual(Math.max(cap, len));
  }
  // Formatting never throws and gives one line.
  expect(text.line(info, meta).split('\n').length).toBe(2);
  expect(() => JSON.parse(json.line(info, meta))).not.toThrow();
}

describe('decodeFrame on hostile input', () => {
  it('never throws on random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 160 }), fc.constantFrom(...LINKTYPES), fc.nat(200), fc.boolean(), (bytes, lt, extra, verify) => {
      const len = bytes.length + (extra % 3 === 0 ? extra : 0);
      decodeFrame(info, bytes, bytes.length, len, lt, { verifyChecksums: verify });
      checkInvariants(bytes, bytes.length, len);
    }), { numRuns: 3000 });
  });

  it('never throws on mutated and truncated real frames', () => {
    fc.assert(fc.property(fc.constantFrom(...VALID), fc.array(fc.tuple(fc.nat(), fc.nat(255)), { maxLength: 6 }), fc.nat(), fc.nat(), (frame, flips, cut, grow) => {
      const b = frame.slice();
      for (const [at, v] of flips) b[at % b.length] = v;
      const caplen = cut % 4 === 0 ? cut % (b.length + 1) : b.length;
      const len = grow % 5 === 0 ? b.length + (grow % 100) : b.length;
      decodeFrame(info, b, caplen, len, 1, { verifyChecksums: true });
      checkInvariants(b, caplen, len);
    }), { numRuns: 3000 });
  });

  it('tolerates caplen/len that disagree with the buffer', () => {
    decodeFrame(info, P.TCP_SYN, 1000, 10, 1, { verifyChecksums: true });
    expect(info.problems).toBe(0);
    decodeFrame(info, P.TCP_SYN, -5, NaN, 1, { verifyChecksums: true });
    expect(info.problems).toBe(1);
  });
});

describe('builders round-trip through the decoder', () => {
  it('parse(emit(tcp)) gives back every field', () => {
    fc.assert(fc.property(
      fc.record({
        sport: fc.integer({ min: 0, max: 65535 }), dport: fc.integer({ min: 0, max: 65535 }),
        seq: fc.integer({ min: 0, max: 0xffffffff }), ack: fc.integer({ min: 0, max: 0xffffffff }),
        flags: fc.integer({ min: 0, max: 0x1ff }), win: fc.integer({ min: 0, max: 65535 }),
        mss: fc.option(fc.integer({ min: 0, max: 65535 }), { nil: -1 }), ws: fc.option(fc.integer({ min: 0, max: 14 }), { nil: -1 }),
        sack: fc.boolean(), ts: fc.option(fc.integer({ min: 0, max: 0xffffffff }), { nil: -1 }),
        ecr: fc.integer({ min: 0, max: 0xffffffff }), src: fc.integer({ min: 0, max: 0xffffffff }), dst: fc.integer({ min: 0, max: 0xffffffff }),
        payload: fc.nat(100), ttl: fc.integer({ min: 1, max: 255 }), id: fc.integer({ min: 0, max: 65535 }),
      }),
      (r) => {
        const b = new Uint8Array(14 + 20 + 60 + r.payload);
        writeEthernet(b, 0, 0x02bb, 1, 0x02aa, 1, ETH_P_IP);
        const optLen = writeTcpOptions(b, 54, r.mss, r.ws, r.sack, r.ts, r.ecr);
        const tl = 20 + optLen + r.payload;
        writeIpv4(b, 14, 20, 0, 20 + tl, r.id, 0x4000, r.ttl, 6, r.src, r.dst);
        writeTcp(b, 34, r.sport, r.dport, r.seq, r.ack, r.flags, r.win, 20 + optLen);
        tcpFillChecksum4(b, 34, tl, r.src, r.dst);
        const frame = b.subarray(0, 34 + tl);
        decodeFrame(info, frame, frame.length, frame.length, 1, { verifyChecksums: true });
        expect(info.problems).toBe(0);
        expect([info.src4, info.dst4, info.ttl, info.ipId, info.sport, info.dport, info.tcpSeq, info.tcpAck, info.tcpFlags, info.tcpWin])
          .toEqual([r.src, r.dst, r.ttl, r.id, r.sport, r.dport, r.seq, r.ack, r.flags, r.win]);
        expect([info.tcpMss, info.tcpWscale, info.tcpSackPerm, info.tcpTsVal, info.tcpTsEcr])
          .toEqual([r.mss, r.ws, r.sack, r.ts, r.ts >= 0 ? r.ecr : -1]);
      }), { numRuns: 500 });
  });
});

describe('one PacketInfo reused across frames', () => {
  const fields = (i: PacketInfo) => Object.fromEntries(Object.entries(i).filter(([k]) => k !== 'bytes' && k !== 'dvView' && k !== 'dvBytes'));
  it('leaves nothing of the previous frame behind', () => {
    const shared = new PacketInfo();
    const cases: Array<[Uint8Array, number]> = [...VALID.map((v) => [v, 1] as [Uint8Array, number]), [P.SLL_ECHO, 113], [P.SLL2_SYN, 276], [P.OFFLOAD_SYN, 1]];
    fc.assert(fc.property(fc.constantFrom(...cases), fc.constantFrom(...cases), fc.nat(5), ([a, lta], [b, ltb], cut) => {
      const opts = { verifyChecksums: true };
      decodeFrame(shared, a, a.length - cut, a.length, lta, opts);
      decodeFrame(shared, b, b.length, b.length, ltb, opts);
      const fresh = new PacketInfo();
      decodeFrame(fresh, b, b.length, b.length, ltb, opts);
      expect(fields(shared)).toEqual(fields(fresh));
    }), { numRuns: 1000 });
  });

  it('exposes a DataView over the frame', () => {
    const i = new PacketInfo();
    const frame = P.TCP_SYN.subarray(0);
    decodeFrame(i, frame, frame.length, frame.length, 1, { verifyChecksums: true });
    expect(i.dv.getUint16(i.l4Off + 2)).toBe(8080);
    expect(i.dv.byteLength).toBe(frame.length);
  });
});
