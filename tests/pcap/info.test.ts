import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { register, type CaptureInfo } from '../../src/cli/cmd_info.js';
import { tmpDir } from './helpers.js';

const DIR = join(import.meta.dirname, '../fixtures/pcap');

async function run(...args: string[]): Promise<{ out: string; err: string; code: number }> {
  let out = '', err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => { out += String(s); return true; });
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => { err += String(s); return true; });
  const saved = process.exitCode;
  process.exitCode = 0;
  try {
    const program = new Command('pktpath').exitOverride();
    register(program);
    await program.parseAsync(['node', 'pktpath', 'info', ...args]);
    return { out, err, code: Number(process.exitCode ?? 0) };
  } finally {
    o.mockRestore();
    e.mockRestore();
    process.exitCode = saved;
  }
}

afterEach(() => vi.restoreAllMocks());

describe('pktpath info', () => {
  it('summarises a two-interface pcapng like capinfos', async () => {
    const { out, err, code } = await run(join(DIR, 'dumpcap_2if.pcapng'));
    expect([err, code]).toEqual(['', 0]);
    expect(out).toContain('Format:        pcapng, little-endian, nanosecond timestamps, 1 section\n');
    expect(out).toMatch(/Interfaces: {4}2\n {3}0 {2}ppa0 {2}EN10MB \(1\) {8}snaplen 262144 {2}\d+ packets\n {3}1 {2}ppa1 {2}EN10MB \(1\)/);
    expect(out).toContain('Packets:       16\n');
    expect(out).toContain('First packet:  1795819930.225926379\n');
    expect(out).toContain('Last packet:   1795819930.848758014\n');
    expect(out).toContain('Duration:      0.622831635 s\n'); // capinfos: 0.622831635 seconds
  });

  it('prints --json with one object per file', async () => {
    const { out, code } = await run('--json', join(DIR, 'tcpdump_ns_s128.pcap'), join(DIR, 'tcpdump_any_sll2.pcap'));
    expect(code).toBe(0);
    const infos = JSON.parse(out) as CaptureInfo[];
    expect(infos).toHaveLength(2);
    expect(infos[0]).toMatchObject({
      format: 'pcap', byteOrder: 'little', precision: 'nano', sections: 1, packets: 8, truncated: 2,
      first: '1795819922.854152324', last: '1795819923.264212330', duration: '0.410060006',
      interfaces: [{ id: 0, name: null, linktype: 1, linktypeName: 'EN10MB', snaplen: 128, packets: 8 }],
    });
    expect(infos[1]!.interfaces[0]).toMatchObject({ linktype: 276, linktypeName: 'LINUX_SLL2' });
    expect(infos[1]!.error).toBeUndefined();
  });

  it('summarises a cut-off capture up to the cut, then fails with one line', async () => {
    const { dir, cleanup } = tmpDir();
    try {
      const whole = readFileSync(join(DIR, 'tcpdump_us.pcap'));
      const f = join(dir, 'cut.pcap');
      writeFileSync(f, whole.subarray(0, whole.length - 10));
      const { out, err, code } = await run(f);
      expect(code).toBe(1);
      expect(out).toContain('Packets:       9\n');
      expect(out).toMatch(/\nStopped at: {4}offset \d+, after 9 packets \(see the error\)\n$/);
      const lines = err.trimEnd().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(new RegExp(`^pktpath: ${f}: offset \\d+: file ends inside packet 10 \\(\\d+ of \\d+ bytes of its packet\\), ` +
        'so the capture was cut off mid-write; the 9 packets before it read ok: copy the file again once the capture has stopped$'));
      const json = JSON.parse((await run('--json', f)).out) as CaptureInfo[];
      expect(json[0]!.error).toMatch(/^offset \d+: file ends inside packet 10/);
    } finally {
      cleanup();
    }
  });

  it('goes on after a missing or non-capture file, and exits 1', async () => {
    const { dir, cleanup } = tmpDir();
    try {
      const junk = join(dir, 'notes.txt');
      writeFileSync(junk, 'hello world\n');
      const { out, err, code } = await run(join(dir, 'missing.pcap'), junk, join(DIR, 'tcpdump_us.pcap'));
      expect(code).toBe(1);
      expect(err).toBe(`pktpath: ${join(dir, 'missing.pcap')}: no such file; check the path and try again.\n` +
        `pktpath: ${junk}: offset 0: not a pcap or pcapng file (it starts with 0x68656c6c); give a capture written by tcpdump, dumpcap or tshark\n`);
      expect(out).toContain('Packets:       10\n');
    } finally {
      cleanup();
    }
  });

  it('shows the sections of a multi-section file', async () => {
    const { out } = await run(join(DIR, 'sections_2.pcapng'));
    expect(out).toContain('Format:        pcapng, little-endian, nanosecond timestamps, 2 sections\n');
    expect(out).toContain('\n   2  -     EN10MB (1)        snaplen 128  8 packets  section 1\n');
  });
});
