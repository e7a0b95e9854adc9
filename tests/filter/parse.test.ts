/**
 * Parsing: the canonical text describeFilter gives (abbreviations expanded, pcap's and/or order made
 * visible), the error for each kind of mistake (message and column), and a fuzz check that only
 * UsageError escapes and a compiled filter never throws.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { compileFilter, describeFilter } from '../../src/trace/filter.js';
import { decodeFrame, LINKTYPE_ETHERNET, PacketInfo } from '../../src/stack/wire/decode.js';

describe('describeFilter', () => {
  const CASES: [string, string][] = [
    ['', ''],
    ['   ', ''],
    ['tcp port 80', 'tcp port 80'],
    // The abbreviation rule: a bare id takes the last qualifiers (pcap-filter(7)).
    ['host 192.0.2.1 or 192.0.2.2', 'host 192.0.2.1 or host 192.0.2.2'],
    ['tcp dst port 80 or 443 or http', 'tcp dst port 80 or tcp dst port 443 or tcp dst port 80'],
    ['not host 192.0.2.1 and 192.0.2.2', 'not host 192.0.2.1 and host 192.0.2.2'],
    ['host 192.0.2.1 and not port 22', 'host 192.0.2.1 and not port 22'],
    ['host (192.0.2.1 or 192.0.2.2)', 'host 192.0.2.1 or host 192.0.2.2'],
    ['dst port (53 or (123 and 5353))', 'dst port 53 or (dst port 123 and dst port 5353)'],
    // Qualifiers flow into parentheses and are restored after them (grammar.y `paren`).
    ['host 192.0.2.1 and (192.0.2.2 or port 80) or 192.0.2.3', '(host 192.0.2.1 and (host 192.0.2.2 or port 80)) or host 192.0.2.3'],
    // and/or: one precedence, left to right.
    ['tcp or udp and host 192.0.2.2', '(tcp or udp) and host 192.0.2.2'],
    ['tcp and udp or icmp', '(tcp and udp) or icmp'],
    ['tcp and (udp or icmp)', 'tcp and (udp or icmp)'],
    ['tcp or (udp or icmp)', 'tcp or (udp or icmp)'],
    ['! tcp && ! (udp || icmp)', 'not tcp and not (udp or icmp)'],
    ['not not tcp', 'not not tcp'],
    ['src or dst host 192.0.2.1', 'host 192.0.2.1'],
    ['dst or src port 53', 'port 53'],
    ['src and dst net 192.0.2.0/24', 'src and dst net 192.0.2.0/24'],
    ['src 192.0.2.1', 'src host 192.0.2.1'],
    ['net 192.0.2', 'net 192.0.2.0/24'],
    ['host 192.0.2', 'net 192.0.2.0/24'],
    ['net 10', 'net 10.0.0.0/8'],
    ['net 10/8', 'net 10.0.0.0/8'],
    ['net 172.16/12', 'net 172.16.0.0/12'],
    ['net 192.0.2.0 mask 255.255.255.128', 'net 192.0.2.0/25'],
    ['net 192.0.2.0 mask 255.0.255.0', 'net 192.0.2.0 mask 255.0.255.0'],
    ['net 0.0.0.0/0', 'net 0.0.0.0/0'],
    ['ip src host 192.0.2.1', 'ip src host 192.0.2.1'],
    ['arp dst 192.0.2.1', 'arp dst host 192.0.2.1'],
    ['host 2001:DB8:0:0::0:1', 'host 2001:db8::1'],
    ['ip6 net 2001:db8::/32', 'net 2001:db8::/32'],
    ['host ::ffff:192.0.2.1', 'host ::ffff:192.0.2.1'],
    ['host 2001:db8::1/128', 'host 2001:db8::1'],
    ['ether src 2:0:0:0:aa:1', 'ether src host 02:00:00:00:aa:01'],
    ['ether host 0200.0000.aa01', 'ether host 02:00:00:00:aa:01'],
    ['ether dst 02-00-00-00-aa-01', 'ether dst host 02:00:00:00:aa:01'],
    ['broadcast or multicast', 'ether broadcast or ether multicast'],
    ['port domain', 'port 53'],
    ['port http', 'tcp port 80'],
    ['port ntp', 'udp port 123'],
    ['tcp port https', 'tcp port 443'],
    ['portrange 2000-1000', 'portrange 1000-2000'],
    ['portrange ssh-http', 'tcp portrange 22-80'],
    ['portrange 80', 'portrange 80-80'],
    ['proto \\udp', 'udp'],
    ['ip proto \\icmp', 'icmp'],
    ['ip proto 47', 'ip proto 47'],
    ['ip6 proto \\ipv6-icmp', 'icmp6'],
    ['proto 50 or ah', 'esp or ah'],
    ['ether proto \\arp', 'arp'],
    ['ether proto 0x88cc', 'ether proto 0x88cc'],
    ['vlan 100 and vlan', 'vlan 100 and vlan'],
    ['greater 100 and less 0x200', 'greater 100 and less 512'],
    ['tcp[tcpflags] & (tcp-syn|tcp-ack) != 0', 'tcp[13] & (2 | 16) != 0'],
    ['icmp[icmptype] == icmp-echo', 'icmp[0] = 8'],
    ['icmp6[icmp6type] = icmp6-neighborsolicit', 'icmp6[0] = 135'],
    ['ip[6:2] & 0x1fff = 0', 'ip[6:2] & 0x1fff = 0'],
    ['tcp[13:1] = 2', 'tcp[13] = 2'],
    ['ether[0] & 1 != 0', 'ether[0] & 1 != 0'],
    ['len - 14 > 0100', 'len - 14 > 64'],
    ['len * 2 ^ 1 + 1 = 0', 'len * (2 ^ (1 + 1)) = 0'],
    ['2 + 3 * 4 - 1 = 13', '(2 + (3 * 4)) - 1 = 13'],
    ['-len < 1', '-len < 1'],
    ['(tcp[13] & 2) != 0', 'tcp[13] & 2 != 0'],
    ['((tcp))', 'tcp'],
  ];
  for (const [expr, text] of CASES) {
    it(JSON.stringify(expr), () => {
      expect(describeFilter(expr)).toBe(text);
      expect(describeFilter(text)).toBe(text);
    });
  }
});

describe('errors: UsageError with the column and a hint', () => {
  const CASES: [string, number, string][] = [
    ['tcp prot 80', 5, 'unknown word "prot" (did you mean "port"?)'],
    ['port 80 or prot 22', 12, 'unknown word "prot" (did you mean "port"?)'],
    ['tcp port htp', 10, 'unknown port name "htp" (did you mean "http"?)'],
    ['hots 192.0.2.1', 1, 'unknown word "hots" (did you mean "host"?)'],
    ['host', 5, 'expected an address after "host", found the end'],
    ['src', 4, 'expected an address after "src", found the end'],
    ['host example.com', 6, '"example.com" is not an address (host names are not resolved)'],
    ['host 192.0.2.1 or example', 19, '"example" is not an address (host names are not resolved)'],
    ['host 192.0.2.300', 6, '"192.0.2.300" is not a valid IPv4 address'],
    ['host 2001:db8::1::2', 6, '"2001:db8::1::2" is not a valid IPv6 address'],
    ['192.0.2.1', 1, '"192.0.2.1" needs a keyword before it, such as "host 192.0.2.1"'],
    ['80', 1, '"80" needs a keyword before it, such as "port 80"'],
    ['tcp 80', 5, '"80" after "tcp" needs a keyword: "tcp port 80"?'],
    ['host 02:00:00:00:aa:01', 6, '"02:00:00:00:aa:01" is a MAC address: write "ether host 02:00:00:00:aa:01"'],
    ['ether host 192.0.2.1', 12, '"ether host" needs a MAC address such as 02:00:00:00:00:01, found "192.0.2.1"'],
    ['ether', 1, '"ether" needs "host", "src", "dst", "proto", "broadcast" or "multicast" after it'],
    ['tcp host 192.0.2.1', 10, '"tcp" does not go with host (libpcap: \'tcp\' modifier applied to host); did you mean "tcp and host 192.0.2.1"?'],
    ['ip6 host 192.0.2.1', 10, '"192.0.2.1" is an IPv4 address; "ip6" needs an IPv6 one'],
    ['ip host 2001:db8::1', 9, '"2001:db8::1" is an IPv6 address; "ip" needs an IPv4 one'],
    ['ip port 80', 9, '"ip port" is not valid: port goes with tcp, udp or sctp'],
    ['port 70000', 6, 'port 70000 is above 65535'],
    ['udp port http', 10, 'port "http" is tcp only in /etc/services; give the number'],
    ['portrange 10-', 11, '"10-" is not a port range: write "portrange 1024-2047"'],
    ['net 192.0.2.1/24', 5, 'non-network bits set in "192.0.2.1" for mask 255.255.255.0 (did you mean "net 192.0.2.0/24" or "host 192.0.2.1"?)'],
    ['net 2001:db8::1/32', 5, 'non-network bits set in "2001:db8::1/32" (did you mean "net 2001:db8::/32"?)'],
    ['net 192.0.2.0/33', 15, '33 is above 32'],
    ['host 192.0.2.0/24', 15, 'a mask needs "net": write "net 192.0.2.0/24"'],
    ['src 192.0.2.0 mask 255.255.255.0', 15, 'a mask needs "net": write "src net 192.0.2.0 mask 255.255.255.0"'],
    ['host 2001:db8::/32', 16, 'a prefix length needs "net": "net 2001:db8::/32"'],
    ['net 2001:db8:: mask ffff::', 16, '"mask" is for IPv4 networks; write "net 2001:db8::/32"'],
    ['net 192.0.2.0 mask 255.255.255.0.0', 20, 'expected a dotted netmask such as 255.255.255.0 after "mask", found "255.255.255.0.0"'],
    ['(tcp', 5, '"(" at column 1 is not closed'],
    ['host 192.0.2.1 and (port 22', 28, '"(" at column 20 is not closed'],
    ['tcp)', 4, 'unmatched ")"'],
    ['tcp[13] & 2 != 0)', 17, 'unmatched ")"'],
    ['()', 2, '"()" is empty'],
    ['tcp and', 8, 'expected a primitive after "and"'],
    ['tcp ||', 7, 'expected a primitive after "||"'],
    ['not', 4, 'expected a primitive after "not"'],
    ['and tcp', 1, 'expected a primitive before "and"'],
    ['tcp port 22 or and', 16, 'expected a primitive before "and"'],
    ['port 80 443', 9, 'expected "and" or "or" before "443"'],
    ['tcp udp', 5, 'expected "and" or "or" before "udp"'],
    ['tcp # 80', 5, 'unexpected character "#"'],
    ['ip[1:3] = 1', 6, 'data size must be 1, 2, or 4'],
    ['ip[0] / 0 = 1', 7, 'division by zero'],
    ['tcp[13', 7, 'expected "]" to close "tcp[", found the end'],
    ['tcp[13] 2', 9, 'expected a comparison (>, <, >=, <=, =, !=) after the arithmetic, found "2"'],
    ['tcp[13] &', 10, 'expected a number, "len" or a load such as tcp[13], found the end'],
    ['len', 4, 'expected a comparison (>, <, >=, <=, =, !=) after the arithmetic, found the end'],
    ['len-60 > 0', 1, 'unknown word "len-60" (put spaces around "-" to subtract)'],
    ['icmp[icmptype] = icmp-echoo', 18, 'unknown word "icmp-echoo" (did you mean "icmp-echo"?)'],
    ['4294967296 = 0', 1, '4294967296 does not fit in 32 bits'],
    ['vlan 4096', 6, '4096 is above 4095'],
    ['vlan and vlan and vlan', 19, 'at most two "vlan" keywords (the decoder keeps two tags)'],
    ['ip proto 300', 10, '300 is above 255'],
    ['ip proto \\bogus', 10, 'unknown IP protocol "bogus"; give a number or a name such as \\tcp, \\udp, \\gre'],
    ['ether proto 100', 13, 'ether proto 100 is an 802.3 length (LLC SAP), which --filter does not match; give an ethertype ≥ 0x0600'],
    ['ip broadcast', 4, '"ip broadcast" needs the capture\'s netmask; use "dst host A.B.C.255" or "ether broadcast"'],
    ['gateway 192.0.2.1', 1, '"gateway" is not supported by pktpath\'s --filter'],
    ['tcp and inbound', 9, '"inbound" is not supported by pktpath\'s --filter'],
    ['rarp host 192.0.2.1', 11, '"rarp host" and "rarp net" are not supported by pktpath\'s --filter'],
    ['greater', 8, 'expected a number after "greater", found the end'],
  ];
  for (const [expr, col, msg] of CASES) {
    it(expr, () => {
      let err: unknown = null;
      try {
        compileFilter(expr);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(UsageError);
      expect((err as Error).message).toBe(`--filter "${expr}": column ${col}: ${msg}`);
      expect(() => describeFilter(expr)).toThrow(UsageError);
    });
  }
});

describe('fuzz', () => {
  const WORDS = ['host', 'net', 'port', 'portrange', 'src', 'dst', 'tcp', 'udp', 'icmp', 'icmp6', 'ip', 'ip6', 'arp', 'ether',
    'vlan', 'proto', 'mask', 'len', 'greater', 'less', 'and', 'or', 'not', 'broadcast', 'multicast', '192.0.2.1', '192.0.2',
    '2001:db8::1', '02:00:00:00:aa:01', '80', '0x10', '010', '53-80', 'http', 'tcpflags', 'tcp-syn', '\\tcp', 'foo', '255.255.255.0',
    '(', ')', '[', ']', ':', '&', '|', '^', '+', '-', '*', '/', '%', '<<', '>>', '=', '!=', '<', '>', '>=', '<=', '!', '&&', '||', '2', '4'];
  const exprArb = fc.array(fc.constantFrom(...WORDS), { maxLength: 12 }).map((ws) => ws.join(' '));
  const frames = [
    // A few real shapes (IPv4 TCP, IPv6, ARP, VLAN) and random bytes.
    Uint8Array.from([2, 0, 0, 0, 0xbb, 1, 2, 0, 0, 0, 0xaa, 1, 8, 0, 0x45, 0, 0, 40, 0, 1, 0, 0, 64, 6, 0, 0, 192, 0, 2, 1, 192, 0, 2, 2,
      0, 80, 0x1f, 0x90, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 2, 4, 0, 0, 0, 0, 0]),
    Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 2, 0, 0, 0, 0xaa, 1, 0x81, 0, 0, 10, 8, 6, 0, 1, 8, 0, 6, 4, 0, 1]),
  ];

  it('only UsageError escapes compileFilter and describeFilter', () => {
    fc.assert(fc.property(exprArb, (expr) => {
      for (const f of [compileFilter, describeFilter]) {
        try {
          f(expr);
        } catch (e) {
          if (!(e instanceof UsageError)) throw e;
          expect(e.message).toMatch(/^--filter ".*": column \d+: ./s);
        }
      }
    }), { numRuns: 3000 });
  });

  it('only UsageError escapes on arbitrary text', () => {
    fc.assert(fc.property(fc.string({ maxLength: 40 }), (expr) => {
      try {
        compileFilter(expr);
      } catch (e) {
        if (!(e instanceof UsageError)) throw e;
      }
    }), { numRuns: 3000 });
  });

  it('a compiled filter never throws, on any frame, and its text compiles to the same selection', () => {
    const info = new PacketInfo();
    fc.assert(fc.property(exprArb, fc.uint8Array({ maxLength: 80 }), fc.integer({ min: 0, max: 80 }), (expr, rnd, cut) => {
      let f;
      try {
        f = compileFilter(expr);
      } catch {
        return;
      }
      const g = compileFilter(describeFilter(expr));
      for (const b of [...frames, rnd]) {
        for (const caplen of [b.length, Math.min(cut, b.length)]) {
          decodeFrame(info, b, caplen, b.length, LINKTYPE_ETHERNET, { verifyChecksums: false });
          expect(g(info)).toBe(f(info));
        }
      }
    }), { numRuns: 3000 });
  });
});
