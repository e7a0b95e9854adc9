import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ipv4ToString, ipv6ToString, macToString, parseIpv4, parseIpv6, parseMac } from '../../src/stack/wire/decode.js';
import { OutBuf } from '../../src/trace/format_decode.js';

function v6(s: string): string {
  const b = new Uint8Array(16);
  expect(parseIpv6(s, b, 0)).toBe(true);
  return ipv6ToString(b, 0);
}

describe('address text', () => {
  it('formats and parses IPv4', () => {
    expect(ipv4ToString(0xc0000201)).toBe('192.0.2.1');
    expect(ipv4ToString(0xffffffff)).toBe('255.255.255.255');
    expect(parseIpv4('203.0.113.255')).toBe(0xcb0071ff);
    for (const bad of ['256.1.1.1', '1.2.3', '1.2.3.4.5', 'a.b.c.d', '', '1..2.3', '1.2.3.-4', '1.2.3.4 ']) {
      expect(parseIpv4(bad), bad).toBeNaN();
    }
  });

  it('formats IPv6 as RFC 5952 says', () => {
    expect(v6('2001:DB8:0:0:0:0:0:1')).toBe('2001:db8::1');
    expect(v6('::')).toBe('::');
    expect(v6('::1')).toBe('::1');
    expect(v6('1::')).toBe('1::');
    expect(v6('2001:db8:0:0:1:0:0:1')).toBe('2001:db8::1:0:0:1'); // §4.2.3: the first of equal runs
    expect(v6('2001:0:0:1:0:0:0:1')).toBe('2001:0:0:1::1'); // §4.2.3: the longest run
    expect(v6('2001:db8:0:1:1:1:1:1')).toBe('2001:db8:0:1:1:1:1:1'); // §4.2.2: never one 0 group
    expect(v6('2001:0db8::0001')).toBe('2001:db8::1'); // §4.1: no leading zeros
    expect(v6('::ffff:192.0.2.1')).toBe('::ffff:192.0.2.1'); // §5: IPv4-mapped
    expect(v6('fe80::bb:ff:fe00:1')).toBe('fe80::bb:ff:fe00:1');
    expect(v6('ff02::1:ff00:2')).toBe('ff02::1:ff00:2');
  });

  it('rejects malformed IPv6', () => {
    const b = new Uint8Array(16);
    for (const bad of [':::', '1::2::3', 'g::', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '12345::', '1:2:3:4:5:6:7::8', '::1.2.3', '']) {
      expect(parseIpv6(bad, b, 0), bad).toBe(false);
    }
  });

  it('round-trips random IPv6 addresses, and OutBuf writes the same text', () => {
    const out = new OutBuf(64);
    fc.assert(fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.array(fc.nat(7), { maxLength: 6 }), (a, zeros) => {
      for (const z of zeros) a[2 * z] = a[2 * z + 1] = 0; // make zero runs common
      const s = ipv6ToString(a, 0);
      const back = new Uint8Array(16);
      expect(parseIpv6(s, back, 0)).toBe(true);
      expect(Array.from(back)).toEqual(Array.from(a));
      out.ip6(a, 0);
      expect(out.take()).toBe(s);
    }));
  });

  it('formats and parses MACs', () => {
    expect(macToString(0x02aa, 0x00000001)).toBe('02:aa:00:00:00:01');
    expect(macToString(0xffff, 0xffffffff)).toBe('ff:ff:ff:ff:ff:ff');
    expect(parseMac('02:AA:00:00:00:01')).toEqual({ hi: 0x02aa, lo: 1 });
    expect(parseMac('ff-ff-ff-ff-ff-ff')).toEqual({ hi: 0xffff, lo: 0xffffffff });
    expect(parseMac('02:aa:00:00:00')).toBeNull();
    expect(parseMac('02:aa-00:00:00:01')).toBeNull();
  });
});
