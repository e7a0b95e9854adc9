/**
 * Captures made by tcpdump/dumpcap in network namespaces (tests/fixtures/wire/make_fixtures.sh): every
 * field `pktpath decode --format jsonl` prints is checked against tshark's dissection of the same
 * frame, stored beside each capture as *.tshark.tsv (so this runs without tshark). When tshark is
 * installed, the same comparison also runs against a live tshark.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runDecode } from '../../src/cli/cmd_decode.js';
import { tcpFlagsString } from '../../src/trace/format_decode.js';

const DIR = join(import.meta.dirname, '../fixtures/wire');
const FILES = ['eth.pcap', 'vlan.pcap', 'sll.pcap', 'sll2.pcap', 'raw.pcap', 'snaplen.pcap', 'multi.pcapng', 'offload.pcap'];
const tmp = mkdtempSync(join(tmpdir(), 'ppwire-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

type Row = Record<string, string>;
type Obj = Record<string, unknown>;

/** Run `decode --format jsonl` on a file and parse its lines. */
export function decodeJsonl(files: string[], checksums = true): Obj[] {
  const out = join(tmp, `out-${Math.random().toString(36).slice(2)}.jsonl`);
  const fd = openSync(out, 'w');
  try {
    runDecode(files, { format: 'jsonl', checksums, time: 'tod' }, fd);
  } finally {
    closeSync(fd);
  }
  return readFileSync(out, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Obj);
}

function parseTsv(text: string): Row[] {
  const [head, ...lines] = text.split('\n').filter((l) => l !== '');
  const keys = head.split('\t');
  return lines.map((l) => {
    const v = l.split('\t');
    return Object.fromEntries(keys.map((k, i) => [k, v[i] ?? '']));
  });
}

const first = (v: string | undefined): string | undefined => (v === undefined || v === '' ? undefined : v.split(',')[0]);
const all = (v: string | undefined): string[] => (v === undefined || v === '' ? [] : v.split(','));
const num = (v: string | undefined): number | null => (v === undefined || v === '' ? null : Number(v.split(',')[0]));
const PROTO: Record<string, number> = { tcp: 6, udp: 17, icmp: 1, icmpv6: 58 };

/** Compare one decoded frame with tshark's fields; returns the list of mismatches. */
function compare(r: Row, o: Obj): string[] {
  const bad: string[] = [];
  const eq = (what: string, got: unknown, want: unknown) => {
    if (JSON.stringify(got) !== JSON.stringify(want)) bad.push(`${what}: decode ${JSON.stringify(got)}, tshark ${JSON.stringify(want)}`);
  };
  eq('index', o.index, Number(r['frame.number']) - 1);
  eq('len', o.len, num(r['frame.len']));
  eq('caplen', o.caplen, num(r['frame.cap_len']));
  if (r['frame.interface_name']) eq('interface', o.interface, r['frame.interface_name']);
  if (r['eth.src']) {
    eq('srcMac', o.srcMac, first(r['eth.src']));
    eq('dstMac', o.dstMac, first(r['eth.dst']));
  }
  if (r['sll.pkttype']) eq('pktType', o.pktType, num(r['sll.pkttype']));
  if (r['sll.ifindex']) eq('ifindex', o.ifindex, num(r['sll.ifindex']));
  if (r['sll.src.eth']) eq('srcMac', o.srcMac, first(r['sll.src.eth']));
  eq('vlan', o.vlan, [...all(r['ieee8021ad.id']), ...all(r['vlan.id'])].map(Number));
  const etype = all(r['vlan.etype']).pop() ?? first(r['eth.type']) ?? first(r['sll.etype']);
  if (etype !== undefined) eq('ethertype', o.ethertype, Number(etype));

  const l3 = r['arp.opcode'] ? 'arp' : r['ip.src'] ? 'ipv4' : r['ipv6.src'] ? 'ipv6' : null;
  eq('l3', o.l3, l3);
  if (l3 === 'arp') {
    eq('src', o.src, first(r['arp.src.proto_ipv4']));
    eq('dst', o.dst, first(r['arp.dst.proto_ipv4']));
    eq('arpOp', o.arpOp, num(r['arp.opcode']));
  } else if (l3 === 'ipv4') {
    eq('src', o.src, first(r['ip.src']));
    eq('dst', o.dst, first(r['ip.dst']));
    eq('ttl', o.ttl, num(r['ip.ttl']));
    eq('ipId', o.ipId, num(r['ip.id']));
    eq('fragOff', o.fragOff, (num(r['ip.frag_offset']) ?? 0) * 8); // tshark counts 8-byte units
    eq('mf', o.mf, first(r['ip.flags.mf']) === '1' || first(r['ip.flags.mf']) === 'True');
    eq('df', o.df, first(r['ip.flags.df']) === '1' || first(r['ip.flags.df']) === 'True');
    eq('proto', typeof o.proto === 'string' ? PROTO[o.proto] : o.proto, num(r['ip.proto']));
  } else if (l3 === 'ipv6') {
    eq('src', o.src, first(r['ipv6.src']));
    eq('dst', o.dst, first(r['ipv6.dst']));
    eq('ttl', o.ttl, num(r['ipv6.hlim']));
    if (r['ipv6.fraghdr.offset']) {
      eq('fragOff', o.fragOff, (num(r['ipv6.fraghdr.offset']) ?? 0) * 8);
      eq('mf', o.mf, first(r['ipv6.fraghdr.more']) === '1' || first(r['ipv6.fraghdr.more']) === 'True');
      eq('ipId', o.ipId, num(r['ipv6.fraghdr.ident']));
    }
  }

  const icmpType = num(r['icmp.type']) ?? num(r['icmpv6.type']);
  const icmpErr = icmpType !== null && (r['icmp.type'] ? [3, 4, 5, 11, 12].includes(icmpType) : icmpType >= 1 && icmpType <= 4);
  eq('icmpType', o.icmpType, icmpType);
  eq('icmpCode', o.icmpCode, num(r['icmp.code']) ?? num(r['icmpv6.code']));
  if (icmpType === 0 || icmpType === 8 || icmpType === 128 || icmpType === 129) {
    eq('icmpId', o.icmpId, num(r['icmp.ident']) ?? num(r['icmpv6.echo.identifier']));
    eq('icmpSeq', o.icmpSeq, num(r['icmp.seq']) ?? num(r['icmpv6.echo.sequence_number']));
  }
  const nd = first(r['icmpv6.nd.ns.target_address']) ?? first(r['icmpv6.nd.na.target_address']);
  if (nd !== undefined) eq('ndTarget', o.ndTarget, nd);
  if (icmpErr) {
    // tshark's tcp/udp fields here belong to the quoted datagram.
    eq('sport', o.sport, null);
  } else {
    eq('sport', o.sport, num(r['tcp.srcport']) ?? num(r['udp.srcport']));
    eq('dport', o.dport, num(r['tcp.dstport']) ?? num(r['udp.dstport']));
    eq('tcpFlags', o.tcpFlags, r['tcp.flags'] ? tcpFlagsString(Number(first(r['tcp.flags']))) : null);
    if (r['tcp.flags']) {
      eq('tcpSeq', o.tcpSeq, num(r['tcp.seq_raw']));
      eq('tcpAck', o.tcpAck, num(r['tcp.ack_raw']));
      eq('tcpWin', o.tcpWin, num(r['tcp.window_size_value']));
      if (o.caplen === o.len) {
        eq('tcpMss', o.tcpMss, num(r['tcp.options.mss_val']));
        eq('tcpWscale', o.tcpWscale, num(r['tcp.options.wscale.shift']));
        eq('tcpTsVal', o.tcpTsVal, num(r['tcp.options.timestamp.tsval']));
        eq('tcpTsEcr', o.tcpTsEcr, num(r['tcp.options.timestamp.tsecr']));
      }
    }
  }
  return bad;
}

/** Problems each fixture may show: offload.pcap has partial TCP checksums, snaplen.pcap cut headers. */
function checkProblems(file: string, objs: Obj[]): void {
  for (const o of objs) {
    const p = o.problems as string[];
    if (file === 'offload.pcap') expect(p.every((n) => n === 'TCP_CSUM'), JSON.stringify(o)).toBe(true);
    else if (file === 'snaplen.pcap') {
      expect(p.every((n) => n === 'HDR_TRUNC'), JSON.stringify(o)).toBe(true);
      if (p.length > 0) expect(o.caplen as number).toBeLessThan(o.len as number);
    } else expect(p, JSON.stringify(o)).toEqual([]);
  }
}

function hasTshark(): boolean {
  try {
    execFileSync('tshark', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('decode agrees with tshark on real captures', () => {
  it.each(FILES)('%s (stored tshark fields)', (file) => {
    const rows = parseTsv(readFileSync(join(DIR, `${file}.tshark.tsv`), 'utf8'));
    const objs = decodeJsonl([join(DIR, file)]);
    expect(rows.length).toBeGreaterThan(0);
    expect(objs.length).toBe(rows.length);
    const bad = rows.flatMap((r, i) => compare(r, objs[i]).map((m) => `frame ${i + 1}: ${m}`));
    expect(bad).toEqual([]);
    checkProblems(file, objs);
  });

  it('covers what the fixtures are for', () => {
    const objs = FILES.flatMap((f) => decodeJsonl([join(DIR, f)]));
    const has = (pred: (o: Obj) => boolean) => objs.some(pred);
    expect(has((o) => o.l3 === 'arp' && o.arpOp === 1)).toBe(true);
    expect(has((o) => o.icmpType === 8)).toBe(true);
    expect(has((o) => o.icmpType === 128)).toBe(true);
    expect(has((o) => o.icmpType === 135 && o.ndTarget !== null)).toBe(true);
    expect(has((o) => o.icmpType === 3 && o.icmpCode === 3)).toBe(true);
    expect(has((o) => o.icmpType === 1 && o.l3 === 'ipv6')).toBe(true);
    expect(has((o) => o.tcpFlags === 'S.' && o.l3 === 'ipv6')).toBe(true);
    expect(has((o) => o.tcpFlags === 'F.')).toBe(true);
    expect(has((o) => o.tcpFlags === 'R.')).toBe(true);
    expect(has((o) => o.proto === 'udp')).toBe(true);
    expect(has((o) => (o.fragOff as number) > 0 && o.l3 === 'ipv4')).toBe(true);
    expect(has((o) => (o.fragOff as number) > 0 && o.l3 === 'ipv6')).toBe(true);
    expect(has((o) => JSON.stringify(o.vlan) === '[100]')).toBe(true);
    expect(has((o) => JSON.stringify(o.vlan) === '[200,300]')).toBe(true);
    expect(has((o) => o.linktype === 113 && o.direction === 'out')).toBe(true);
    expect(has((o) => o.linktype === 276 && o.ifindex !== null)).toBe(true);
    expect(has((o) => o.linktype === 101)).toBe(true);
    expect(has((o) => o.interface === 'lo')).toBe(true);
  });

  it('offload.pcap is clean with --no-checksums', () => {
    const objs = decodeJsonl([join(DIR, 'offload.pcap')], false);
    expect(objs.every((o) => (o.problems as string[]).length === 0)).toBe(true);
    expect(decodeJsonl([join(DIR, 'offload.pcap')]).some((o) => (o.problems as string[]).includes('TCP_CSUM'))).toBe(true);
  });

  it.runIf(hasTshark()).each(FILES)('%s (live tshark)', (file) => {
    const fields = readFileSync(join(DIR, `${file}.tshark.tsv`), 'utf8').split('\n')[0].split('\t');
    const args = ['-r', join(DIR, file), '-n', '-o', 'ip.defragment:FALSE', '-o', 'ipv6.defragment:FALSE', '-T', 'fields',
      '-E', 'header=y', '-E', 'separator=/t', '-E', 'occurrence=a', '-E', 'aggregator=,', ...fields.flatMap((f) => ['-e', f])];
    const live = execFileSync('tshark', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const rows = parseTsv(live);
    const objs = decodeJsonl([join(DIR, file)]);
    expect(objs.length).toBe(rows.length);
    expect(rows.flatMap((r, i) => compare(r, objs[i]).map((m) => `frame ${i + 1}: ${m}`))).toEqual([]);
  });
});
