import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { adjust16, adjust32, finish, fold, pseudoSum4, sum16, verifies } from '../../src/stack/wire/checksum.js';
import { hex } from './packets.js';

describe('checksum (RFC 1071, RFC 1624)', () => {
  it('sums the RFC 1071 §3 example to 0xddf2', () => {
    expect(fold(sum16(hex('0001f203f4f5f6f7'), 0, 8, 0))).toBe(0xddf2);
    expect(finish(sum16(hex('0001f203f4f5f6f7'), 0, 8, 0))).toBe(0x220d);
  });

  it('pads an odd trailing byte with zero', () => {
    expect(sum16(hex('0102 03'), 0, 3, 0)).toBe(0x0102 + 0x0300);
  });

  it('verifies data that includes its own checksum', () => {
    const b = hex('45000054503840004001 0000 c0000201c0000202');
    const c = finish(sum16(b, 0, 20, 0));
    b[10] = c >> 8;
    b[11] = c & 255;
    expect(c).toBe(0x666d); // the checksum tcpdump captured for this header
    expect(verifies(sum16(b, 0, 20, 0))).toBe(true);
  });

  it('folds sums of a 64 KiB datagram without overflow', () => {
    const b = new Uint8Array(65535).fill(0xff);
    expect(fold(sum16(b, 0, b.length, pseudoSum4(0xffffffff, 0xffffffff, 17, 65535)))).toBeLessThanOrEqual(0xffff);
  });

  it('incremental updates equal a full recomputation (property)', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 8, maxLength: 64 }), fc.nat(15), fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffffffff }),
      (data, at, w, a) => {
        const b = Uint8Array.from(data.length % 2 ? [...data, 0] : data);
        const i = (at * 2) % (b.length - 4);
        const before = finish(sum16(b, 0, b.length, 0));
        const old16 = (b[i] << 8) | b[i + 1];
        b[i] = w >> 8;
        b[i + 1] = w & 255;
        const after16 = finish(sum16(b, 0, b.length, 0));
        const inc16 = adjust16(before, old16, w);
        // One's complement has two zeros: 0x0000 and 0xffff encode the same sum.
        expect(inc16 === after16 || (inc16 ^ after16) === 0xffff).toBe(true);
        const old32 = ((b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3]) >>> 0;
        b[i] = a >>> 24; b[i + 1] = (a >>> 16) & 255; b[i + 2] = (a >>> 8) & 255; b[i + 3] = a & 255;
        const after32 = finish(sum16(b, 0, b.length, 0));
        const inc = adjust32(after16, old32, a);
        expect(inc === after32 || (inc ^ after32) === 0xffff).toBe(true);
      }));
  });
});
