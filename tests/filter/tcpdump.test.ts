/**
 * compileFilter against tcpdump on a real capture (tests/fixtures/filter: make_fixtures.sh made
 * filter.pcap in throwaway namespaces and stored tcpdump's selections in expected.tsv), and against
 * the installed tcpdump live when there is one.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeFilter } from '../../src/trace/filter.js';
import { FIXTURES, have, PCAP, readExpected, readFrames, selectFrames, tagCounts, tcpdumpSelect, tcpdumpStamps } from './helpers.js';

const frames = readFrames(PCAP);
const tags = tagCounts(frames);
const { header, rows } = readExpected();

/** What our filter must select: tcpdump's column for each frame's tag count (see filter.ts on VLANs). */
function expectedSelection(byTags: (number[] | null)[]): number[] {
  const out: number[] = [];
  for (let n = 1; n <= frames.length; n++) {
    const k = Math.min(tags[n - 1], 2);
    const col = byTags[k] ?? byTags[0]!;
    if (col.includes(n)) out.push(n);
  }
  return out;
}

describe('filter.pcap fixture', () => {
  it('is the capture expected.tsv was made from', () => {
    expect(header).toContain(`filter.pcap has ${frames.length} frames`);
    expect(rows.length).toBeGreaterThanOrEqual(40);
    // The expressions file and the stored table list the same expressions, in order.
    const exprs = readFileSync(join(FIXTURES, 'expressions.txt'), 'utf8').split('\n').filter((l) => l !== '' && !l.startsWith('#'));
    expect(rows.map((r) => r.expr)).toEqual(exprs);
  });

  it('has the variety the expressions need', () => {
    expect(tags.filter((t) => t === 1).length).toBeGreaterThan(0);
    expect(tags.filter((t) => t === 2).length).toBeGreaterThan(0);
    for (const e of ['arp', 'icmp', 'icmp6', 'tcp', 'udp', 'ip6 and tcp', 'sctp', 'ip[6:2] & 0x3fff != 0']) {
      expect(selectFrames(e, frames).length, e).toBeGreaterThan(0);
    }
  });
});

describe('selects the frames tcpdump selects (expected.tsv)', () => {
  for (const row of rows) {
    it(row.expr, () => {
      expect(selectFrames(row.expr, frames)).toEqual(expectedSelection(row.byTags));
    });
  }
});

describe('describeFilter text selects the same frames', () => {
  for (const row of rows) {
    it(row.expr, () => {
      const text = describeFilter(row.expr);
      expect(selectFrames(text, frames), text).toEqual(selectFrames(row.expr, frames));
      expect(describeFilter(text), 'canonical text is a fixed point').toBe(text);
    });
  }
});

// Also live: the installed tcpdump on the same capture (catches a stale expected.tsv, and covers
// extra expressions and error cases that need no stored table).
const LIVE_EXTRA = [
  'tcp[tcpflags] == tcp-syn', 'tcp[tcpflags] & tcp-fin != 0', 'udp[0:2] = 53 or udp[2:2] = 53', 'ip[9] = 1',
  'ip6[6] = 0', 'arp[6:2] = 1', 'ether[0] & 1 = 1', 'ether[12:2] = 0x86dd', 'icmp[1] = 3', 'len >= 1000',
  'len * 2 ^ 1 + 1 = 0', 'len | 1 ^ 3 = 75', 'len - 60 * 1 > 30 & 0xff', '-len + 100 > 0', 'len % 7 = 3',
  'len / 2 > 40', 'len << 1 > 200', 'len >> 1 < 40', 'ip[0] & 0x0f != 5 or ip6', 'tcp[100] = 0',
  'not tcp[100] = 0', 'not icmp[0] = 8', 'not icmp6[0] = 128 and ip6', 'host 192.0.2.1 and (port 80 or port 8080)', 'dst port 53 and not icmp',
  'src net 192.0.2.0/25', 'dst net 192.0.2.128/25', 'net 192.0.2.0 mask 255.255.255.128', 'net 224.0.0.0/4',
  'ip host 192.0.2.1', 'arp host 192.0.2.2', 'ip src host 192.0.2.2 or arp dst host 192.0.2.1',
  'ip6 src host 2001:db8:1::1', 'ip6 net 2001:db8:1::/48', 'host ::1 or 2001:db8:1:0:0:0:0:2', 'udp portrange 5000-5353',
  'sctp port 80', 'tcp src portrange 1-1023', 'port echo or discard', 'port domain and udp',
  'ip and not (tcp or udp or icmp)', 'greater 100 and less 200', 'ether src host 02:00:00:00:bb:01',
  'ether src or dst host 02:00:00:00:aa:01 and ip6', 'ether proto \\arp', 'ip proto \\sctp', 'ip6 proto \\ipv6-icmp',
  'pim or igmp or esp or ah or vrrp', 'icmp6[icmp6type] = icmp6-neighborsolicit', 'icmp6 and ip6 multicast',
  'icmp[icmptype] = icmp-unreach and icmp[icmpcode] = 3', 'tcp[tcpflags] & (tcp-rst|tcp-fin) != 0 and src host 192.0.2.2',
  'not not tcp', '!tcp && !udp && !icmp6', 'tcp or udp and not port 53 or arp', 'port 22 or 53 or 80 and tcp',
  'host (192.0.2.1 and 192.0.2.2)', 'src host 192.0.2.1 and (dst 192.0.2.2 or 198.51.100.2)',
  'dst port (53 or 123)', 'tcp dst port 80 or 8080', 'tcp and tcp[13] & 0x10 != 0 and len < 80',
];
const LIVE_REJECTED = [
  'tcp prot 80', 'host', 'port 70000', 'net 192.0.2.1/24', 'host 192.0.2.0/24', 'ip6 host 192.0.2.1',
  'udp port http', 'tcp port ntp', 'ip port 80', 'tcp host 192.0.2.1', '(tcp', 'tcp)', 'tcp and', 'not',
  'ip[1:3] = 1', 'ip[0] / 0 = 1', 'vlan 4096', 'port 80 443', '192.0.2.1', 'host 192.0.2.300', 'host 02:00:00:00:aa:01',
  'net 2001:db8::/129', 'portrange 1024-', 'tcp[13] &', '',
].filter((e) => e !== '');

describe.skipIf(!have('tcpdump'))('live tcpdump', () => {
  const stamps = tcpdumpStamps(PCAP);
  it('frames have unique timestamps (how frames are numbered)', () => {
    expect(stamps.size).toBe(frames.length);
  });
  for (const row of rows) {
    it(`stored: ${row.expr}`, () => {
      expect(tcpdumpSelect(PCAP, row.expr, stamps)).toEqual(row.byTags[0]);
    });
  }
  for (const e of LIVE_EXTRA) {
    it(`extra: ${e}`, () => {
      const theirs = tcpdumpSelect(PCAP, e, stamps);
      expect(theirs).not.toBeInstanceOf(Error);
      // Untagged frames only: on tagged ones our inner-packet rule differs by design.
      const ours = selectFrames(e, frames).filter((n) => tags[n - 1] === 0);
      expect(ours).toEqual((theirs as number[]).filter((n) => tags[n - 1] === 0));
    });
  }
  for (const e of LIVE_REJECTED) {
    it(`both reject: ${e}`, () => {
      expect(tcpdumpSelect(PCAP, e, stamps)).toBeInstanceOf(Error);
      expect(() => selectFrames(e, frames)).toThrow(/^--filter "/);
    });
  }
});
