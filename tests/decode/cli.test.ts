/** `pktpath decode` end to end through runDecode (the command's body), writing to a file or a pipe. */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { register, runDecode, StdoutClosed, type DecodeCliOptions } from '../../src/cli/cmd_decode.js';
import { CaptureFormatError } from '../../src/errors.js';

const DIR = join(import.meta.dirname, '../fixtures/wire');
const tmp = mkdtempSync(join(tmpdir(), 'ppdecode-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));
const TEXT: DecodeCliOptions = { format: 'text', checksums: true, time: 'tod' };

function run(files: string[], opts: Partial<DecodeCliOptions> = {}): { out: string; n: number; err: unknown } {
  const path = join(tmp, `o${Math.random().toString(36).slice(2)}`);
  const fd = openSync(path, 'w');
  let n = -1, err: unknown = null;
  try {
    n = runDecode(files, { ...TEXT, ...opts }, fd);
  } catch (e) {
    err = e;
  } finally {
    closeSync(fd);
  }
  return { out: readFileSync(path, 'utf8'), n, err };
}

function has(cmd: string): boolean {
  try {
    execFileSync(cmd, ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('decode command', () => {
  it('decodes several files one after another, the index continuing, and stops at -c', () => {
    const both = run([join(DIR, 'vlan.pcap'), join(DIR, 'sll.pcap')], { format: 'jsonl' });
    const lines = both.out.trim().split('\n').map((l) => JSON.parse(l) as { index: number; linktype: number });
    expect(both.n).toBe(lines.length);
    expect(lines.map((o) => o.index)).toEqual(lines.map((_, i) => i));
    expect(new Set(lines.map((o) => o.linktype))).toEqual(new Set([1, 113]));
    const some = run([join(DIR, 'vlan.pcap'), join(DIR, 'sll.pcap')], { count: 9 });
    expect(some.n).toBe(9);
    expect(some.out.split('\n').length).toBe(10);
    expect(some.out.split('\n')[8]).toMatch(/^\d\d:\d\d:\d\d\.\d{6} (In|Out|M|B) /);
  });

  it('prints what it read before a corrupt record, then throws CaptureFormatError', () => {
    const whole = readFileSync(join(DIR, 'eth.pcap'));
    const cut = join(tmp, 'cut.pcap');
    writeFileSync(cut, whole.subarray(0, 1000));
    const r = run([cut]);
    expect(r.err).toBeInstanceOf(CaptureFormatError);
    expect(r.out.split('\n').length).toBeGreaterThan(5);
  });

  it('rejects bad options with exit code 2 (commander)', async () => {
    const program = new Command('pktpath').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
    register(program);
    await expect(program.parseAsync(['node', 'pktpath', 'decode', '--format', 'xml', 'x.pcap'])).rejects.toMatchObject({ exitCode: 1, code: 'commander.invalidArgument' });
    await expect(program.parseAsync(['node', 'pktpath', 'decode'])).rejects.toMatchObject({ code: 'commander.missingArgument' });
  });

  it('ends quietly when the reader of the output goes away (| head)', async () => {
    const head = spawn('head', ['-c', '100'], { stdio: ['pipe', 'ignore', 'ignore'] });
    const fd = (head.stdin as unknown as { _handle: { fd: number } })._handle.fd;
    await new Promise((r) => setTimeout(r, 50));
    let err: unknown = null;
    try {
      for (let k = 0; k < 50; k++) runDecode([join(DIR, 'eth.pcap')], TEXT, fd);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StdoutClosed);
    head.kill();
  });

  it.runIf(has('tcpdump'))('matches tcpdump -n -S line for line (live tcpdump)', () => {
    for (const file of ['eth.pcap', 'snaplen.pcap', 'offload.pcap']) {
      const ours = run([join(DIR, file)]).out.trim().split('\n');
      const theirs = execFileSync('tcpdump', ['-n', '-S', '-r', join(DIR, file)], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' }, stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n');
      expect(ours.length).toBe(theirs.length);
      let compared = 0;
      for (let k = 0; k < ours.length; k++) {
        // Known differences: fragments (we add sizes), tcpdump's application decoders (": HTTP"),
        // its "[|tcp]" for cut headers, and our [PROBLEM] suffix.
        if (/frag|ip-proto/.test(ours[k])) continue;
        const mine = ours[k].replace(/ \[[A-Z_,]+\]$/, '');
        const tcpd = theirs[k].replace(/ \[\|tcp\]$/, '').replace(/, length 0 \[bad hdr length.*$/, ', length 0');
        if (file === 'snaplen.pcap' && /Flags/.test(mine)) {
          expect(tcpd.startsWith(mine.replace(/, length \d+$/, '')), `${mine}\n${tcpd}`).toBe(true);
        } else {
          expect(tcpd.startsWith(mine), `${mine}\n${tcpd}`).toBe(true);
        }
        compared++;
      }
      expect(compared).toBeGreaterThan(5);
    }
  });
});
