/**
 * Property tests: a damaged capture yields packets and then, at worst, a CaptureFormatError with an
 * offset inside the file; never another exception, never an endless loop; readers stay usable.
 * And what our writers emit, our reader parses back to the same packets.
 */
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { CaptureFormatError } from '../../src/errors.js';
import { CaptureReader } from '../../src/pcap/reader.js';
import { PcapngWriter, PcapWriter } from '../../src/pcap/writer.js';
import {
  block, concat, epb, i64opt, idb, payload, pb, pcapFile, readBytes, shb, spb, str, tmpDir, u32opt,
} from './helpers.js';

const PCAP_LE = pcapFile(Array.from({ length: 6 }, (_, i) => ({ sec: 1000 + i, frac: i * 1000, data: payload(20 + i * 7, i) })),
  { snaplen: 256 });
const PCAP_BE_NS = pcapFile(Array.from({ length: 5 }, (_, i) => ({ sec: i, frac: 999_999_000 + i, data: payload(33 + i, i) })),
  { le: false, nano: true, snaplen: 0 });
const PCAPNG = concat(
  shb(true, [[4, str('prop')]]),
  idb(true, 1, 128, [[2, str('eth0')], [9, Uint8Array.of(0x8a)], i64opt(true, 14, 5n)]),
  block(true, 4, payload(12)),
  epb(true, 0, 123_456_789n, payload(40), { opts: [u32opt(true, 2, 1)] }),
  spb(true, payload(30), 200),
  idb(true, 101, 0),
  pb(true, 1, 99n, payload(10)),
  block(true, 5, payload(20)),
  shb(false),
  idb(false, 113, 0, [[9, Uint8Array.of(9)]]),
  epb(false, 0, 1n << 40n, payload(25)),
);
const GOOD: Array<[string, Uint8Array]> = [['pcap LE µs', PCAP_LE], ['pcap BE ns', PCAP_BE_NS], ['pcapng', PCAPNG]];
const EXPECTED = new Map(GOOD.map(([name, bytes]) => [name, readBytes(bytes).packets]));

/** Read everything; returns how it ended. Fails the property on any non-CaptureFormatError. */
function readDamaged(bytes: Uint8Array, chunk: number): 'ok' | 'error' {
  let reader: CaptureReader;
  let steps = 0;
  // Every packet consumes ≥ 12 bytes of input, so more steps than this would mean a loop.
  const maxSteps = Math.floor(bytes.length / 12) + 2;
  try {
    reader = CaptureReader.fromBytes(bytes, 'damaged', chunk);
    while (reader.next() !== null) {
      if (++steps > maxSteps) throw new Error(`more packets (${steps}) than the input can hold`);
    }
    expect(reader.next()).toBeNull();
    return 'ok';
  } catch (err) {
    if (!(err instanceof CaptureFormatError)) throw err;
    expect(Number.isInteger(err.offset) && err.offset >= 0 && err.offset <= bytes.length, `offset ${err.offset}`).toBe(true);
    expect(err.what.length).toBeGreaterThan(10);
    return 'error';
  }
}

/** Start → end offset of every record (pcap) or block (pcapng) in a well-formed capture. */
function recordEnds(b: Uint8Array): Map<number, number> {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const ends = new Map<number, number>();
  if (dv.getUint32(0) !== 0x0a0d0d0a) {
    const le = dv.getUint32(0, true) === 0xa1b2c3d4 || dv.getUint32(0, true) === 0xa1b23c4d;
    ends.set(0, 24);
    for (let o = 24; o < b.length; o += 16 + dv.getUint32(o + 8, le)) ends.set(o, o + 16 + dv.getUint32(o + 8, le));
    return ends;
  }
  let le = true;
  for (let o = 0; o < b.length;) {
    if (dv.getUint32(o) === 0x0a0d0d0a) le = dv.getUint32(o + 8, true) === 0x1a2b3c4d;
    const len = dv.getUint32(o + 4, le);
    ends.set(o, o + len);
    o += len;
  }
  return ends;
}

type Mutation =
  | { kind: 'flip'; at: number; value: number }
  | { kind: 'insert'; at: number; bytes: Uint8Array }
  | { kind: 'delete'; at: number; n: number }
  | { kind: 'truncate'; at: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), value: fc.constantFrom(0, 0xff, 0x7f, 0x80) }),
  fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 12 }) }),
  fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), n: fc.integer({ min: 1, max: 12 }) }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
);

function mutate(src: Uint8Array, muts: Mutation[]): Uint8Array {
  let b: Uint8Array = Uint8Array.from(src);
  for (const m of muts) {
    if (b.length === 0) break;
    const at = m.at % b.length;
    if (m.kind === 'flip') b[at] = m.value;
    else if (m.kind === 'insert') b = concat(b.subarray(0, at), m.bytes, b.subarray(at));
    else if (m.kind === 'delete') b = concat(b.subarray(0, at), b.subarray(at + m.n));
    else b = b.subarray(0, at);
  }
  return b;
}

describe('damaged captures', () => {
  for (const [name, good] of GOOD) {
    it(`${name}: mutations give packets or a CaptureFormatError with an offset`, () => {
      let errors = 0;
      fc.assert(fc.property(fc.array(mutation, { minLength: 1, maxLength: 6 }), fc.integer({ min: 16, max: 512 }), (muts, chunk) => {
        if (readDamaged(mutate(good, muts), chunk) === 'error') errors++;
        // A new reader on the good file still works after a failure.
        expect(readBytes(good, chunk).packets).toEqual(EXPECTED.get(name));
      }), { numRuns: 400 });
      expect(errors).toBeGreaterThan(0);
    });

    it(`${name}: every cut yields the packets wholly before it, then an error unless it falls between records`, () => {
      const want = EXPECTED.get(name)!;
      const ends = recordEnds(good);
      for (let cut = 0; cut < good.length; cut++) {
        const got: number[] = [];
        let error: unknown = null;
        try {
          const r = CaptureReader.fromBytes(good.subarray(0, cut), 'cut', 64);
          for (let p = r.next(); p !== null; p = r.next()) got.push(p.fileOffset);
        } catch (err) {
          error = err;
        }
        expect(got, `cut ${cut}`).toEqual(want.filter((p) => ends.get(p.fileOffset)! <= cut).map((p) => p.fileOffset));
        if (cut > 0 && [...ends.values()].includes(cut)) expect(error, `cut ${cut}`).toBeNull();
        else expect(error, `cut ${cut}`).toBeInstanceOf(CaptureFormatError);
      }
    });
  }

  it('random bytes, alone or after a valid file header, only ever raise CaptureFormatError', () => {
    const prefixes = [new Uint8Array(0), PCAP_LE.subarray(0, 24), PCAP_BE_NS.subarray(0, 24), shb(true), concat(shb(false), idb(false, 1, 0))];
    fc.assert(fc.property(fc.constantFrom(...prefixes), fc.uint8Array({ maxLength: 400 }), fc.integer({ min: 16, max: 256 }),
      (prefix, tail, chunk) => { readDamaged(concat(prefix, tail), chunk); }), { numRuns: 1000 });
  });

  it('random well-framed pcapng blocks of any type and length field only ever raise CaptureFormatError', () => {
    const anyBlock = fc.record({
      type: fc.constantFrom(1, 2, 3, 4, 5, 6, 0x0a, 0xbad, 0x0a0d0d0a, 0x12345678),
      body: fc.uint8Array({ maxLength: 64 }),
      le: fc.boolean(),
    }).map(({ type, body, le }) => block(le, type, concat(body, new Uint8Array((4 - (body.length % 4)) % 4))));
    fc.assert(fc.property(fc.array(anyBlock, { maxLength: 10 }), (blocks) => {
      readDamaged(concat(shb(true), idb(true, 1, 0), ...blocks), 64);
    }), { numRuns: 1000 });
  });
});

describe('writers round-trip through the reader', () => {
  const { dir, cleanup } = tmpDir();
  afterAll(cleanup);
  let n = 0;

  const packet = fc.record({
    sec: fc.integer({ min: 0, max: 0xffffffff }),
    nsec: fc.integer({ min: 0, max: 999_999_999 }),
    data: fc.uint8Array({ maxLength: 300 }),
    extra: fc.nat({ max: 5000 }),
    iface: fc.nat({ max: 2 }),
    direction: fc.constantFrom(0 as const, 1 as const, 2 as const),
  });

  it('pcapng: timestamps, interfaces, directions, lengths and bytes', () => {
    fc.assert(fc.property(fc.array(packet, { maxLength: 20 }), (pkts) => {
      const f = join(dir, `p${n++}.pcapng`);
      const w = new PcapngWriter(f);
      for (let i = 0; i < 3; i++) w.addInterface(`if${i}`, [1, 101, 276][i]!, { snaplen: 200 });
      for (const p of pkts) w.write(p.iface, p.sec, p.nsec, p.data, { origLen: p.data.length + p.extra, direction: p.direction });
      w.close();
      const r = CaptureReader.open(f);
      for (const p of pkts) {
        const q = r.next()!;
        const caplen = Math.min(p.data.length, 200);
        expect([q.tsSec, q.tsNsec, q.ifaceId, q.linktype, q.direction, q.caplen, q.origLen])
          .toEqual([p.sec, p.nsec, p.iface, [1, 101, 276][p.iface], p.direction, caplen, p.data.length + p.extra]);
        expect(q.data).toEqual(p.data.subarray(0, caplen));
      }
      expect(r.next()).toBeNull();
    }), { numRuns: 100 });
  });

  it('pcap: µs and ns timestamps, lengths and bytes', () => {
    fc.assert(fc.property(fc.boolean(), fc.array(packet, { maxLength: 20 }), (nanosecond, pkts) => {
      const f = join(dir, `p${n++}.pcap`);
      const w = new PcapWriter(f, { nanosecond, linktype: 1, snaplen: 200 });
      for (const p of pkts) w.write(p.sec, p.nsec, p.data, p.data.length + p.extra);
      w.close();
      const r = CaptureReader.open(f);
      for (const p of pkts) {
        const q = r.next()!;
        const caplen = Math.min(p.data.length, 200);
        expect([q.tsSec, q.tsNsec, q.caplen, q.origLen])
          .toEqual([p.sec, nanosecond ? p.nsec : p.nsec - (p.nsec % 1000), caplen, p.data.length + p.extra]);
        expect(q.data).toEqual(p.data.subarray(0, caplen));
      }
      expect(r.next()).toBeNull();
    }), { numRuns: 100 });
  });
});
