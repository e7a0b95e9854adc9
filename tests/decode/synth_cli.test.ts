import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { register } from '../../src/cli/cmd_synth.js';
import { CaptureReader } from '../../src/pcap/reader.js';

const tmp = mkdtempSync(join(tmpdir(), 'ppsynthcli-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function program(): Command {
  const p = new Command('pktpath').exitOverride().configureOutput({ writeErr: () => {}, writeOut: () => {} });
  register(p);
  return p;
}

function count(path: string): { n: number; format: string; precision: string } {
  const r = CaptureReader.open(path);
  let n = 0;
  for (let p = r.next(); p !== null; p = r.next()) n++;
  return { n, format: r.format, precision: r.precision };
}

describe('synth command', () => {
  it('writes pcap or pcapng (by --format or the file name), same bytes for the same seed', async () => {
    const a = join(tmp, 'a.pcap'), b = join(tmp, 'b.pcap'), c = join(tmp, 'c.pcapng');
    await program().parseAsync(['node', 'pktpath', 'synth', '-o', a, '--packets', '300', '--seed', '4', '--mix', 'tcp=1,frag=1,synflood=1', '--nanosecond']);
    await program().parseAsync(['node', 'pktpath', 'synth', '-o', b, '--packets', '300', '--seed', '4', '--mix', 'tcp=1,frag=1,synflood=1', '--nanosecond']);
    await program().parseAsync(['node', 'pktpath', 'synth', '-o', c, '--packets', '50', '--client', '192.0.2.0/25', '--server', '203.0.113.128/25', '--rate', '10']);
    expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
    expect(count(a)).toEqual({ n: 300, format: 'pcap', precision: 'nano' });
    expect(count(c)).toMatchObject({ n: 50, format: 'pcapng' });
  });

  it('rejects bad values as usage errors', async () => {
    for (const args of [['--mix', 'tcp=1,quic=2'], ['--client', '198.51.100.0/31'], ['--client', 'x/24'], ['--format', 'erf'], ['--packets', '0'], ['--seed', '-1']]) {
      await expect(program().parseAsync(['node', 'pktpath', 'synth', '-o', join(tmp, 'x.pcap'), ...args]), args.join(' ')).rejects.toMatchObject({ code: 'commander.invalidArgument' });
    }
    await expect(program().parseAsync(['node', 'pktpath', 'synth'])).rejects.toMatchObject({ code: 'commander.missingMandatoryOptionValue' });
  });
});
