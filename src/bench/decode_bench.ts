/**
 * `pktpath decode` (tcpdump -n style text to /dev/null) against `tcpdump -nr` on the same synthetic
 * capture, measured in the same run (skipped when tcpdump is not installed).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PcapWriter } from '../pcap/writer.js';
import { synthesize, SYNTH_DEFAULTS } from '../pcap/synth.js';
import type { BenchResult } from './pcap_bench.js';

const here = dirname(fileURLToPath(import.meta.url));

function timed(cmd: string, args: string[]): number {
  const out = openSync('/dev/null', 'w');
  try {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, args, { stdio: ['ignore', out, 'ignore'] });
    if (r.error) throw r.error;
    if (r.status !== 0) throw new Error(`${cmd} exited ${r.status}`);
    return Number(process.hrtime.bigint() - t0) / 1e9;
  } finally {
    closeSync(out);
  }
}

/** Run the decode benchmark. */
export async function benchDecode(opts: { packets: number }): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'pktpath-bench-decode-'));
  try {
    const f = join(dir, 'synth.pcap');
    const w = new PcapWriter(f, { nanosecond: false, linktype: 1 });
    synthesize({ ...SYNTH_DEFAULTS, packets: opts.packets, flows: 1000, rate: 100_000 }, w);
    w.close();
    const cli = resolve(here, '../cli/main.js');
    const ours = timed(process.execPath, [cli, 'decode', f]);
    const out: BenchResult[] = [{ name: 'pktpath decode (text)', value: opts.packets / ours, unit: 'packets/s' }];
    const has = spawnSync('tcpdump', ['--version'], { stdio: 'ignore' });
    if (has.status === 0) {
      const td = timed('tcpdump', ['-nr', f]);
      out.push({ name: 'tcpdump -nr (text)', value: opts.packets / td, unit: 'packets/s' });
      out.push({ name: 'pktpath decode / tcpdump -nr', value: td / ours, unit: 'ratio' });
    } else out.push({ name: 'tcpdump -nr: not installed, skipped', value: 0, unit: '' });
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
