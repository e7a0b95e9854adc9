import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CaptureFormatError } from '../../src/errors.js';
import { CaptureReader, formatTs } from '../../src/pcap/reader.js';
import { isRawIp, linktypeByName, linktypeName } from '../../src/pcap/linktype.js';
import { concat, pcapFile, pcapHeader, pcapRecord, payload, readBytes, readUntilError, tmpDir } from './helpers.js';

const TWO = [
  { sec: 1795815899, frac: 342449, data: payload(60) },
  { sec: 1795815900, frac: 7, data: payload(42, 9), origLen: 1514 },
];

function expectCaptureError(err: unknown, offset: number, what: RegExp): void {
  expect(err).toBeInstanceOf(CaptureFormatError);
  const e = err as CaptureFormatError;
  expect(e.offset).toBe(offset);
  expect(e.what).toMatch(what);
}

describe('classic pcap header and records', () => {
  for (const le of [true, false]) {
    it(`reads µs records (${le ? 'little' : 'big'}-endian)`, () => {
      const { reader, packets } = readBytes(pcapFile(TWO, { le, snaplen: 65535, linktype: 1 }));
      expect(reader.format).toBe('pcap');
      expect(reader.byteOrder).toBe(le ? 'little' : 'big');
      expect(reader.precision).toBe('micro');
      expect(reader.sections).toBe(1);
      expect(reader.interfaces).toEqual([{
        id: 0, name: null, description: null, linktype: 1, snaplen: 65535, tsresolNs: 1000, tsoffsetSec: 0, section: 0,
      }]);
      expect(packets.map((p) => [p.index, p.ts, p.caplen, p.origLen, p.truncated, p.fileOffset, p.ifaceId, p.linktype, p.direction]))
        .toEqual([
          [0, '1795815899.342449000', 60, 60, false, 24, -1, 1, 0],
          [1, '1795815900.000007000', 42, 1514, true, 24 + 16 + 60, -1, 1, 0],
        ]);
      expect(packets[0]!.data).toEqual(Array.from(payload(60)));
      expect(packets[1]!.data).toEqual(Array.from(payload(42, 9)));
    });

    it(`reads ns records (a1b23c4d magic, ${le ? 'little' : 'big'}-endian)`, () => {
      const bytes = pcapFile([{ sec: 5, frac: 999_999_999, data: payload(20) }], { le, nano: true, linktype: 101 });
      const { reader, packets } = readBytes(bytes);
      expect(reader.precision).toBe('nano');
      expect(reader.interfaces[0]!.tsresolNs).toBe(1);
      expect(packets.map((p) => [p.ts, p.linktype])).toEqual([['5.999999999', 101]]);
    });
  }

  it('takes the link type from the low 16 bits (upper bits hold FCS flags)', () => {
    const { packets, reader } = readBytes(pcapFile(TWO, { linktype: 0x24000001 }));
    expect(reader.interfaces[0]!.linktype).toBe(1);
    expect(packets[0]!.linktype).toBe(1);
  });

  it('carries an out-of-range fraction into the seconds', () => {
    const { packets } = readBytes(pcapFile([{ sec: 10, frac: 2_500_000, data: payload(4) }]));
    expect(packets[0]!.ts).toBe('12.500000000');
  });

  it('reads a header with no packets', () => {
    const { reader, packets } = readBytes(pcapHeader());
    expect(packets).toEqual([]);
    expect(reader.next()).toBeNull();
    expect(reader.next()).toBeNull();
  });

  it('gives the same packets whatever the read-buffer size (refill, compaction, growth)', () => {
    const records = Array.from({ length: 40 }, (_, i) => ({ sec: i, frac: i, data: payload((i * 37) % 300, i) }));
    records.push({ sec: 99, frac: 0, data: payload(70_000, 3) }); // larger than the initial buffer
    const bytes = pcapFile(records, { snaplen: 0 });
    const want = readBytes(bytes).packets;
    expect(want).toHaveLength(41);
    for (const chunk of [16, 17, 31, 64, 1000, 4096]) expect(readBytes(bytes, chunk).packets).toEqual(want);
  });

  it('rejects caplen > snaplen with the record offset, after returning the packets before it', () => {
    const bytes = pcapFile([...TWO, { sec: 1, frac: 1, data: payload(200) }], { snaplen: 100 });
    const { packets, error } = readUntilError(bytes);
    expect(packets).toHaveLength(2);
    expectCaptureError(error, 24 + 16 + 60 + 16 + 42, /packet 3: captured length 200 exceeds the file's snaplen 100.*2 packets before it read ok/);
  });

  it('rejects caplen > 256 KiB even when snaplen is 0 or huge', () => {
    for (const snaplen of [0, 0xffffffff]) {
      const bytes = concat(pcapHeader({ snaplen }), pcapRecord({ sec: 0, frac: 0, data: payload(8), caplen: 262145 }));
      const { error } = readUntilError(bytes);
      expectCaptureError(error, 24, /captured length 262145 exceeds the 262144-byte limit/);
    }
  });

  it('accepts a 256 KiB packet when snaplen is 0', () => {
    const { packets } = readBytes(pcapFile([{ sec: 0, frac: 0, data: payload(262144) }], { snaplen: 0 }), 4096);
    expect(packets[0]!.caplen).toBe(262144);
  });

  it('reports a truncated final record (cut in the header or the data) after the good packets', () => {
    const whole = pcapFile([...TWO, { sec: 3, frac: 3, data: payload(50) }]);
    const lastRecord = 24 + 16 + 60 + 16 + 42;
    for (const cut of [lastRecord + 1, lastRecord + 15, lastRecord + 16, whole.length - 1]) {
      for (const chunk of [16, 1 << 20]) {
        const { packets, error } = readUntilError(whole.subarray(0, cut), chunk);
        expect(packets.map((p) => p.index)).toEqual([0, 1]);
        expectCaptureError(error, lastRecord, /file ends inside packet 3 .*cut off mid-write; the 2 packets before it read ok/);
      }
    }
  });

  it('keeps throwing the same error after a failure', () => {
    const reader = CaptureReader.fromBytes(pcapFile(TWO).subarray(0, 50));
    let first: unknown;
    try { reader.next(); reader.next(); } catch (e) { first = e; }
    expect(first).toBeInstanceOf(CaptureFormatError);
    expect(() => reader.next()).toThrow(first as Error);
  });

  it('rejects version 2.3 and a short file header', () => {
    expectCaptureError(readUntilError(pcapHeader({ minor: 3 })).error, 4, /pcap version 2\.3 is not supported/);
    expectCaptureError(readUntilError(pcapHeader().subarray(0, 10)).error, 0, /pcap file header cut short \(10 of 24 bytes\)/);
  });

  it('names what a non-capture file is', () => {
    const cases: Array<[number[], RegExp]> = [
      [[], /file is empty/],
      [[0xa1, 0xb2, 0xc3], /only 3 bytes long/],
      [[0x1f, 0x8b, 0x08, 0x00], /gzip-compressed; decompress it first/],
      [[0x34, 0xcd, 0xb2, 0xa1], /modified \(Kuznetzov\) pcap/],
      [[0x3c, 0x21, 0x44, 0x4f, 0x43], /not a pcap or pcapng file \(it starts with 0x3c21444f\)/],
    ];
    for (const [bytes, what] of cases) {
      expectCaptureError(readUntilError(Uint8Array.from(bytes)).error, 0, what);
    }
  });

  it('opens files by path, and names a directory or a missing file', () => {
    const { dir, cleanup } = tmpDir();
    try {
      const f = join(dir, 'a.pcap');
      writeFileSync(f, pcapFile(TWO));
      const r = CaptureReader.open(f);
      expect(r.path).toBe(f);
      let n = 0;
      while (r.next() !== null) n++;
      expect(n).toBe(2);
      r.close();
      expect(r.next()).toBeNull();
      mkdirSync(join(dir, 'd'));
      expect(() => CaptureReader.open(join(dir, 'd'))).toThrow(/is a directory/);
      expect(() => CaptureReader.open(join(dir, 'nope.pcap'))).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    } finally {
      cleanup();
    }
  });
});

describe('formatTs', () => {
  it('prints seconds with 9 fractional digits like tshark frame.time_epoch', () => {
    expect(formatTs(1795815899, 342449009)).toBe('1795815899.342449009');
    expect(formatTs(0, 1)).toBe('0.000000001');
    expect(formatTs(12, 0)).toBe('12.000000000');
    expect(formatTs(-2, 0)).toBe('-2.000000000');
    expect(formatTs(-1, 250_000_000)).toBe('-0.750000000');
    expect(formatTs(-3, 1)).toBe('-2.999999999');
  });
});

describe('link types', () => {
  it('knows the libpcap names', () => {
    expect([0, 1, 12, 14, 101, 108, 113, 228, 229, 276].map(linktypeName))
      .toEqual(['NULL', 'EN10MB', 'RAW', 'RAW', 'RAW', 'LOOP', 'LINUX_SLL', 'IPV4', 'IPV6', 'LINUX_SLL2']);
    expect(linktypeName(4242)).toBe('LINKTYPE_4242');
    expect(linktypeByName('en10mb')).toBe(1);
    expect(linktypeByName('RAW')).toBe(101);
    expect(linktypeByName('LINKTYPE_4242')).toBe(4242);
    expect(linktypeByName('nope')).toBe(-1);
    expect([12, 14, 101, 228, 229, 1, 113].map(isRawIp)).toEqual([true, true, true, true, true, false, false]);
  });
});
