import { describe, expect, it } from 'vitest';
import { CaptureFormatError } from '../../src/errors.js';
import { CaptureReader } from '../../src/pcap/reader.js';
import {
  block, Bytes, concat, epb, i64opt, idb, payload, pb, readBytes, readUntilError, shb, spb, str, u32opt,
} from './helpers.js';

const IF_NAME = 2, IF_DESCRIPTION = 3, IF_TSRESOL = 9, IF_TSOFFSET = 14, EPB_FLAGS = 2;
const tsresol = (v: number): [number, Uint8Array] => [IF_TSRESOL, Uint8Array.of(v)];

function expectCaptureError(err: unknown, offset: number, what: RegExp): void {
  expect(err).toBeInstanceOf(CaptureFormatError);
  const e = err as CaptureFormatError;
  expect({ offset: e.offset, what: e.what }).toEqual({ offset, what: expect.stringMatching(what) });
}

/** Expected "sec.nnnnnnnnn" for a tick count, computed independently with BigInt. */
function tsOf(ticks: bigint, ticksPerSec: bigint, offset = 0n): string {
  const sec = ticks / ticksPerSec + offset;
  const nsec = ((ticks % ticksPerSec) * 1_000_000_000n) / ticksPerSec;
  return `${sec}.${nsec.toString().padStart(9, '0')}`;
}

describe('pcapng blocks', () => {
  for (const le of [true, false]) {
    it(`reads SHB + IDB + EPB (${le ? 'little' : 'big'}-endian)`, () => {
      const bytes = concat(
        shb(le, [[4, str('test app')]]),
        idb(le, 1, 262144, [[IF_NAME, str('eth0')], [IF_DESCRIPTION, str('uplink\0\0')]]),
        epb(le, 0, 1_795_815_899_342_449n, payload(60)),
        epb(le, 0, 1_795_815_900_000_001n, payload(41, 5), { origLen: 1500, opts: [u32opt(le, EPB_FLAGS, 2)] }),
      );
      const { reader, packets } = readBytes(bytes);
      expect(reader.format).toBe('pcapng');
      expect(reader.byteOrder).toBe(le ? 'little' : 'big');
      expect(reader.precision).toBe('micro');
      expect(reader.sections).toBe(1);
      expect(reader.interfaces).toEqual([{
        id: 0, name: 'eth0', description: 'uplink', linktype: 1, snaplen: 262144, tsresolNs: 1000, tsoffsetSec: 0, section: 0,
      }]);
      const shbLen = 28 + 12 + 4, idbLen = 20 + 8 + 12 + 4;
      expect(packets.map((p) => [p.index, p.ts, p.caplen, p.origLen, p.truncated, p.ifaceId, p.linktype, p.direction, p.fileOffset]))
        .toEqual([
          [0, '1795815899.342449000', 60, 60, false, 0, 1, 0, shbLen + idbLen],
          [1, '1795815900.000001000', 41, 1500, true, 0, 1, 2, shbLen + idbLen + 32 + 60],
        ]);
      expect(packets[1]!.data).toEqual(Array.from(payload(41, 5)));
    });
  }

  it('converts every if_tsresol form exactly (10^-n and 2^-n, fast and BigInt paths)', () => {
    const ticks = [0n, 1n, 999_999_999n, 0xffffffffn, 0x1_0000_0000n, 1_795_815_899_342_449_009n, 0xffff_ffff_ffff_ffffn,
      0x8000_0000_0000_0001n, 12_345_678_901_234_567n];
    const resolutions: Array<[number, bigint]> = [
      [0, 1n], [3, 1000n], [6, 1_000_000n], [9, 1_000_000_000n], [12, 10n ** 12n], [19, 10n ** 19n],
      [0x80, 1n], [0x8a, 1024n], [0x94, 1n << 20n], [0xa0, 1n << 32n], [0xa8, 1n << 40n], [0xbf, 1n << 63n],
    ];
    for (const le of [true, false]) {
      for (const [v, tps] of resolutions) {
        const bytes = concat(shb(le), idb(le, 1, 0, [tsresol(v)]), ...ticks.map((t) => epb(le, 0, t, payload(4))));
        const { reader, packets } = readBytes(bytes);
        // tsSec is a double: seconds past 2^53 (only from huge tick counts at coarse resolutions) are not exact.
        const exact = ticks.map((t, i) => [t, i] as const).filter(([t]) => t / tps < 2n ** 53n);
        expect(exact.map(([, i]) => packets[i]!.ts), `if_tsresol 0x${v.toString(16)}`)
          .toEqual(exact.map(([t]) => tsOf(t, tps)));
        expect(reader.interfaces[0]!.tsresolNs).toBeCloseTo(1e9 / Number(tps), 12);
      }
    }
  });

  it('applies if_tsoffset (signed seconds) and reports precision per interface', () => {
    const le = true;
    const bytes = concat(shb(le),
      idb(le, 1, 0, [tsresol(9), i64opt(le, IF_TSOFFSET, -1_000_000_000n)]),
      idb(le, 101, 0, [i64opt(le, IF_TSOFFSET, 3600n)]),
      epb(le, 0, 1_500_000_000_250_000_000n, payload(4)),
      epb(le, 1, 2_000_000n, payload(4)),
      epb(le, 0, 500_000_000n, payload(4)));
    const { reader, packets } = readBytes(bytes);
    expect(packets.map((p) => [p.ts, p.ifaceId, p.linktype])).toEqual([
      ['500000000.250000000', 0, 1], ['3602.000000000', 1, 101], ['-999999999.500000000', 0, 1]]);
    expect(reader.interfaces.map((i) => i.tsoffsetSec)).toEqual([-1_000_000_000, 3600]);
    expect(reader.precision).toBe('mixed');
  });

  it('maps epb_flags directions (3 is invalid → unknown)', () => {
    const le = false;
    const dirs = [0, 1, 2, 3, 0x1235];
    const bytes = concat(shb(le), idb(le, 1, 0),
      ...dirs.map((d) => epb(le, 0, 1n, payload(3), { opts: [[1, str('comment')], u32opt(le, EPB_FLAGS, d)] })),
      epb(le, 0, 1n, payload(3)));
    expect(readBytes(bytes).packets.map((p) => p.direction)).toEqual([0, 1, 2, 0, 1, 0]);
  });

  it('reads the obsolete Packet Block (16-bit interface id, pack_flags)', () => {
    for (const le of [true, false]) {
      const bytes = concat(shb(le), idb(le, 1, 0, [[IF_NAME, str('a')]]), idb(le, 113, 0, [[IF_NAME, str('b')]]),
        pb(le, 1, 3_000_001n, payload(14), { origLen: 20, opts: [u32opt(le, EPB_FLAGS, 1)] }));
      const { packets } = readBytes(bytes);
      expect(packets.map((p) => [p.ts, p.ifaceId, p.linktype, p.caplen, p.origLen, p.direction]))
        .toEqual([['3.000001000', 1, 113, 14, 20, 1]]);
    }
  });

  it('reads Simple Packet Blocks: first interface of the section, caplen = min(origlen, snaplen, block)', () => {
    for (const le of [true, false]) {
      const bytes = concat(shb(le), idb(le, 101, 16), idb(le, 1, 0),
        spb(le, payload(16), 100), // cut by snaplen 16
        spb(le, payload(10), 10), // padded body is 12; origlen bounds caplen
        spb(le, payload(8), 3000)); // block holds 8 bytes
      const { packets } = readBytes(bytes);
      expect(packets.map((p) => [p.ts, p.ifaceId, p.linktype, p.caplen, p.origLen, p.truncated])).toEqual([
        ['0.000000000', 0, 101, 16, 100, true], ['0.000000000', 0, 101, 10, 10, false], ['0.000000000', 0, 101, 8, 3000, true]]);
      expect(packets[1]!.data).toEqual(Array.from(payload(10)));
    }
  });

  it('numbers interfaces across sections of different byte orders', () => {
    const bytes = concat(
      shb(true), idb(true, 1, 0, [[IF_NAME, str('s0i0')]]), idb(true, 1, 0, [[IF_NAME, str('s0i1')]]),
      epb(true, 1, 1_000_000n, payload(4)),
      shb(false), idb(false, 276, 0, [[IF_NAME, str('s1i0')], tsresol(9)]),
      epb(false, 0, 2_000_000_000n, payload(4)),
      shb(true), idb(true, 0, 0),
      spb(true, payload(4)),
    );
    const { reader, packets } = readBytes(bytes);
    expect(reader.sections).toBe(3);
    expect(reader.byteOrder).toBe('little');
    expect(reader.interfaces.map((i) => [i.id, i.name, i.section, i.linktype])).toEqual([
      [0, 's0i0', 0, 1], [1, 's0i1', 0, 1], [2, 's1i0', 1, 276], [3, null, 2, 0]]);
    expect(packets.map((p) => [p.ifaceId, p.linktype, p.ts])).toEqual([
      [1, 1, '1.000000000'], [2, 276, '2.000000000'], [3, 0, '0.000000000']]);
  });

  it('lets interfaces appear after packets', () => {
    const le = true;
    const reader = CaptureReader.fromBytes(concat(shb(le), idb(le, 1, 0), epb(le, 0, 0n, payload(4)),
      idb(le, 101, 0, [[IF_NAME, str('late')]]), epb(le, 1, 0n, payload(4))));
    expect(reader.next()!.ifaceId).toBe(0);
    expect(reader.interfaces).toHaveLength(1);
    expect(reader.next()!.linktype).toBe(101);
    expect(reader.interfaces.map((i) => i.name)).toEqual([null, 'late']);
    expect(reader.next()).toBeNull();
  });

  it('skips NRB, ISB, DSB, custom, local-use and unknown blocks (even large ones)', () => {
    const le = true;
    const skipped = [4, 5, 0x0a, 0xbad, 0x40000bad, 0x80000001, 0x12345678]
      .map((t, i) => block(le, t, payload(4 * i)));
    const big = block(le, 0x0bad, payload(200_000)); // larger than the read buffer below
    const bytes = concat(shb(le), ...skipped, idb(le, 1, 0), big, epb(le, 0, 7n, payload(9)), ...skipped);
    for (const chunk of [64, 4096, 1 << 20]) {
      expect(readBytes(bytes, chunk).packets.map((p) => [p.ts, p.caplen])).toEqual([['0.000007000', 9]]);
    }
  });

  it('gives the same packets whatever the read-buffer size', () => {
    const le = false;
    const blocks = [shb(le), idb(le, 1, 0, [tsresol(9)])];
    for (let i = 0; i < 50; i++) blocks.push(epb(le, 0, BigInt(i) * 1_000_003n, payload((i * 53) % 400, i)));
    blocks.push(epb(le, 0, 9n, payload(100_000)));
    const bytes = concat(...blocks);
    const want = readBytes(bytes).packets;
    expect(want).toHaveLength(51);
    for (const chunk of [16, 33, 100, 4096]) expect(readBytes(bytes, chunk).packets).toEqual(want);
  });
});

describe('pcapng corruption', () => {
  const le = true;
  const head = concat(shb(le), idb(le, 1, 0));
  const at = head.length;
  const good = epb(le, 0, 1n, payload(8));

  function err(...tail: Uint8Array[]): unknown {
    return readUntilError(concat(head, ...tail)).error;
  }

  it('checks block lengths: multiple of 4, minimum size, trailer, hostile size', () => {
    expectCaptureError(err(block(le, 6, payload(21))), at, /Enhanced Packet Block has length 33, but block lengths are multiples of 4 from 12 up/);
    expectCaptureError(err(block(le, 6, payload(16))), at, /Enhanced Packet Block has length 28, below its minimum of 32/);
    expectCaptureError(err(block(le, 1, payload(4))), at, /Interface Description Block has length 16, below its minimum of 20/);
    expectCaptureError(err(block(le, 3, payload(0))), at, /Simple Packet Block has length 12, below its minimum of 16/);
    expectCaptureError(err(block(le, 6, payload(20), { trailer: 36 })), at, /starts with length 32 but ends with 36/);
    expectCaptureError(err(block(le, 0x99, payload(20), { trailer: 36 })), at, /block of type 0x00000099 starts with length 32 but ends with 36/);
    expectCaptureError(err(block(le, 6, payload(20), { len: 0x7ffffff0 })), at, /over the 16 MiB limit/);
    expectCaptureError(err(block(le, 6, payload(20), { len: 8 })), at, /length 8, but block lengths are multiples of 4 from 12 up/);
  });

  it('checks what is inside packet blocks', () => {
    expectCaptureError(err(epb(le, 0, 0n, payload(8), { caplen: 13 })), at, /captured length 13 does not fit in its 40-byte block/);
    expectCaptureError(err(epb(le, 0, 0n, payload(8), { caplen: 300_000 })), at, /captured length 300000 exceeds the 262144-byte limit/);
    expectCaptureError(err(good, epb(le, 1, 0n, payload(8))), at + good.length,
      /refers to interface 1, but section 0 has 1 Interface Description Blocks before it/);
    const overrun = new Bytes(le).u32(0).u32(0).u32(0).u32(4).u32(4).u32(0).u16(2).u16(40).u32(0).build();
    expectCaptureError(err(block(le, 6, overrun)), at, /option 2 of length 40 runs past the end of its block/);
    expectCaptureError(readUntilError(concat(shb(le), spb(le, payload(4)))).error, shb(le).length,
      /Simple Packet Block refers to interface 0, but section 0 has 0 Interface Description Blocks/);
  });

  it('checks section headers: byte-order magic, version, if_tsresol', () => {
    const badBom = shb(le);
    badBom.set([0x1a, 0x2b, 0x3c, 0x4e], 8);
    expectCaptureError(readUntilError(badBom).error, 0, /byte-order magic is 0x4e3c2b1a, not 1a2b3c4d/);
    expectCaptureError(err(good, badBom), at + good.length, /byte-order magic/);
    expectCaptureError(readUntilError(shb(le, [], { major: 2 })).error, 0, /pcapng version 2\.0 is not supported/);
    expectCaptureError(err(idb(le, 1, 0, [tsresol(20)])), at, /if_tsresol 10\^-20/);
    expectCaptureError(err(idb(le, 1, 0, [tsresol(0x80 | 64)])), at, /if_tsresol 2\^-64/);
  });

  it('reports a truncated final block after returning the packets before it', () => {
    const whole = concat(head, good, good, epb(le, 0, 2n, payload(30)));
    const last = at + 2 * good.length;
    for (const cut of [last + 1, last + 8, last + 12, last + 40, whole.length - 1]) {
      for (const chunk of [16, 1 << 20]) {
        const { packets, error } = readUntilError(whole.subarray(0, cut), chunk);
        expect(packets).toHaveLength(2);
        expectCaptureError(error, last, cut - last < 12
          ? /file ends inside a block header .*the 2 packets before it read ok/
          : /file ends inside an Enhanced Packet Block \(\d+ of 64 bytes\), so the capture was cut off mid-write; the 2 packets before it read ok/);
      }
    }
    // A cut inside a skipped block is reported the same way.
    const { packets, error } = readUntilError(concat(head, good, block(le, 5, payload(100))).subarray(0, at + good.length + 50), 16);
    expect(packets).toHaveLength(1);
    expectCaptureError(error, at + good.length, /file ends inside a block of type 0x00000005 \(50 of 112 bytes\)/);
  });

  it('reports a file cut inside its first Section Header Block', () => {
    expectCaptureError(readUntilError(shb(le).subarray(0, 20)).error, 0,
      /file ends inside a Section Header Block \(20 of 28 bytes\).*no packet came before it/);
  });
});
