import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CaptureReader } from '../../src/pcap/reader.js';
import { PcapngWriter, PcapWriter } from '../../src/pcap/writer.js';
import { cleanStderr, have, payload, snapshot, tmpDir } from './helpers.js';

const { dir, cleanup } = tmpDir();
afterAll(cleanup);

const TIMES: Array<[number, number]> = [[0, 0], [1, 1], [1795815899, 342449009], [1795815899, 999999999], [4294967295, 999999999]];

function readAll(path: string) {
  const r = CaptureReader.open(path);
  return { r, packets: snapshot(r) };
}

/** Run a tool on a file: it must exit 0 and print nothing to stderr but its usual banner lines. */
function toolReads(cmd: string, args: string[]): string {
  const res = spawnSync(cmd, args, { encoding: 'utf8' });
  // tcpdump always announces "reading from file ..."; tshark warns when run as root. Neither is about the file.
  const stderr = cleanStderr(res.stderr).split('\n').filter((l) => !l.startsWith('reading from file ')).join('\n');
  expect({ status: res.status, stderr }, `${cmd} ${args.join(' ')}`).toEqual({ status: 0, stderr: '' });
  return res.stdout;
}

/** tcpdump output lines that start a packet (decodes continue on indented lines; 2106 prints as an error). */
function packetLines(out: string): number {
  return out.split('\n').filter((l) => /^(\d+\.\d+|\[Error converting time\]) /.test(l)).length;
}

describe('PcapWriter', () => {
  for (const nanosecond of [false, true]) {
    it(`round-trips ${nanosecond ? 'ns' : 'µs'} records`, () => {
      const f = join(dir, `rt-${nanosecond}.pcap`);
      const w = new PcapWriter(f, { nanosecond, linktype: 101, snaplen: 100 });
      TIMES.forEach(([s, ns], i) => w.write(s, ns, payload(20 + i * 30, i), i === 1 ? 5000 : undefined));
      w.close();
      expect(readdirSync(dir).filter((n) => n.startsWith(`rt-${nanosecond}.pcap`))).toEqual([`rt-${nanosecond}.pcap`]);
      const { r, packets } = readAll(f);
      expect([r.format, r.byteOrder, r.precision]).toEqual(['pcap', 'little', nanosecond ? 'nano' : 'micro']);
      expect(r.interfaces[0]).toMatchObject({ linktype: 101, snaplen: 100 });
      expect(packets.map((p) => [p.ts, p.caplen, p.origLen])).toEqual(TIMES.map(([s, ns], i) => {
        const frac = nanosecond ? ns : Math.floor(ns / 1000) * 1000;
        const len = 20 + i * 30;
        return [`${s}.${String(frac).padStart(9, '0')}`, Math.min(len, 100), i === 1 ? 5000 : len];
      }));
      expect(packets[0]!.data).toEqual(Array.from(payload(20, 0)));
      expect(packets[4]!.data).toEqual(Array.from(payload(140, 4).subarray(0, 100)));
    });
  }

  it('writes many packets through several buffer flushes, and cuts packets to 256 KiB by default', () => {
    const f = join(dir, 'many.pcap');
    const w = new PcapWriter(f, { nanosecond: false, linktype: 1 });
    for (let i = 0; i < 20_000; i++) w.write(i, 0, payload(64 + (i % 100), i));
    w.write(1, 0, payload(300_000, 1));
    w.close();
    const { packets } = readAll(f);
    expect(packets).toHaveLength(20_001);
    expect(packets[19_999]!.data).toEqual(Array.from(payload(64 + 99, 19_999)));
    expect([packets[20_000]!.caplen, packets[20_000]!.origLen]).toEqual([262144, 300_000]);
  }, 30_000);

  it('abort() leaves <path>.partial and no file at path', () => {
    const f = join(dir, 'aborted.pcap');
    const w = new PcapWriter(f, { nanosecond: false, linktype: 1 });
    w.write(1, 0, payload(10));
    w.abort();
    expect(existsSync(f)).toBe(false);
    expect(readAll(`${f}.partial`).packets).toHaveLength(1);
    expect(readdirSync(dir).some((n) => n.includes('.tmp-'))).toBe(false);
  });

  it('rejects bad timestamps and use after close', () => {
    const w = new PcapWriter(join(dir, 'bad.pcap'), { nanosecond: true, linktype: 1 });
    expect(() => w.write(-1, 0, payload(1))).toThrow(RangeError);
    expect(() => w.write(1, 1e9, payload(1))).toThrow(RangeError);
    expect(() => w.write(1.5, 0, payload(1))).toThrow(RangeError);
    w.close();
    expect(() => w.write(1, 0, payload(1))).toThrow(/already closed/);
    expect(() => new PcapWriter(join(dir, 'x.pcap'), { nanosecond: true, linktype: 1, snaplen: 0 })).toThrow(TypeError);
    expect(() => new PcapWriter(join(dir, 'x.pcap'), { nanosecond: true, linktype: 1, snaplen: 262145 })).toThrow(TypeError);
  });

  it.skipIf(!have('tshark') || !have('tcpdump'))('is read by tshark, capinfos and tcpdump without warnings', () => {
    for (const nanosecond of [false, true]) {
      const f = join(dir, `rt-${nanosecond}.pcap`);
      const epochs = toolReads('tshark', ['-r', f, '-T', 'fields', '-e', 'frame.time_epoch']).trim().split('\n');
      expect(epochs[2]).toBe(nanosecond ? '1795815899.342449009' : '1795815899.342449000');
      toolReads('capinfos', [f]);
      expect(packetLines(toolReads('tcpdump', ['-tt', '-nn', '-r', f]))).toBe(TIMES.length);
    }
  });
});

describe('PcapngWriter', () => {
  function writeTwoInterfaces(f: string, linktype2: number): void {
    const w = new PcapngWriter(f, { application: 'pktpath tests' });
    expect(w.addInterface('veth0', 1)).toBe(0);
    expect(w.addInterface('lo', linktype2, { description: 'loopback', snaplen: 262144 })).toBe(1);
    TIMES.forEach(([s, ns], i) => w.write(i % 2, s, ns, payload(14 + i, i), { direction: (i % 3) as 0 | 1 | 2, origLen: i === 3 ? 9000 : undefined }));
    w.close();
  }

  it('round-trips two interfaces, ns timestamps, directions and original lengths', () => {
    const f = join(dir, 'two.pcapng');
    writeTwoInterfaces(f, 101);
    const { r, packets } = readAll(f);
    expect([r.format, r.byteOrder, r.precision, r.sections]).toEqual(['pcapng', 'little', 'nano', 1]);
    expect(r.interfaces).toEqual([
      { id: 0, name: 'veth0', description: null, linktype: 1, snaplen: 262144, tsresolNs: 1, tsoffsetSec: 0, section: 0 },
      { id: 1, name: 'lo', description: 'loopback', linktype: 101, snaplen: 262144, tsresolNs: 1, tsoffsetSec: 0, section: 0 },
    ]);
    expect(packets.map((p) => [p.ts, p.ifaceId, p.linktype, p.direction, p.caplen, p.origLen])).toEqual(
      TIMES.map(([s, ns], i) => [`${s}.${String(ns).padStart(9, '0')}`, i % 2, i % 2 ? 101 : 1, i % 3, 14 + i, i === 3 ? 9000 : 14 + i]));
    expect(packets[4]!.data).toEqual(Array.from(payload(18, 4)));
  });

  it('rejects unknown interfaces', () => {
    const w = new PcapngWriter(join(dir, 'bad.pcapng'));
    expect(() => w.write(0, 1, 0, payload(1))).toThrow(/interface 0 was not added/);
    w.abort();
  });

  it.skipIf(!have('tshark'))('is read by tshark and capinfos without warnings, with the same fields', () => {
    const f = join(dir, 'two.pcapng');
    const rows = toolReads('tshark', ['-r', f, '-T', 'fields', '-E', 'separator=/t', '-e', 'frame.time_epoch',
      '-e', 'frame.interface_name', '-e', 'frame.packet_flags_direction', '-e', 'frame.len']).trim().split('\n');
    expect(rows.map((l) => l.split('\t'))).toEqual(TIMES.map(([s, ns], i) => [
      `${s}.${String(ns).padStart(9, '0')}`, i % 2 ? 'lo' : 'veth0', i % 3 ? `0x0000000${i % 3}` : '', String(i === 3 ? 9000 : 14 + i)]));
    expect(toolReads('capinfos', [f])).toContain('Capture application: pktpath tests');
  });

  it.skipIf(!have('tcpdump'))('is read by tcpdump without warnings (libpcap wants one link type and snaplen)', () => {
    const f = join(dir, 'two-ether.pcapng');
    writeTwoInterfaces(f, 1);
    expect(packetLines(toolReads('tcpdump', ['-tt', '-nn', '-r', f]))).toBe(TIMES.length);
  });
});
