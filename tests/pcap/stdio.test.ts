/**
 * Reading captures from stdin and writing them to stdout, in child processes. The capture modules are
 * transpiled on the fly (so this does not depend on the whole project building); the CLI itself is
 * run from dist/ when `npx tsc` has built it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CaptureReader } from '../../src/pcap/reader.js';
import { snapshot, tmpDir } from './helpers.js';

const ROOT = join(import.meta.dirname, '../..');
const FIXTURES = join(ROOT, 'tests/fixtures/pcap');
const { dir, cleanup } = tmpDir();
afterAll(cleanup);

beforeAll(() => {
  const sources = ['src/errors.ts', ...['linktype', 'source', 'packet', 'pcap', 'pcapng', 'reader', 'writer'].map((f) => `src/pcap/${f}.ts`)];
  for (const src of sources) {
    const out = ts.transpileModule(readFileSync(join(ROOT, src), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    }).outputText;
    const dest = join(dir, src.replace(/^src\//, '').replace(/\.ts$/, '.js'));
    mkdirSync(dirname(dest), { recursive: true });
    writeFileSync(dest, out);
  }
  writeFileSync(join(dir, 'package.json'), '{"type":"module"}');
  writeFileSync(join(dir, 'read_stdin.js'), `
    import { CaptureReader, formatTs } from './pcap/reader.js';
    // Creating process.stdin makes a pipe on fd 0 non-blocking, so readSync sees EAGAIN until data comes.
    if (process.argv[2] === 'nonblocking') void process.stdin;
    const r = CaptureReader.open('-');
    const times = [];
    for (let p = r.next(); p !== null; p = r.next()) times.push(formatTs(p.tsSec, p.tsNsec));
    process.stdout.write(JSON.stringify({ format: r.format, times }));
    process.exit(0);
  `);
  writeFileSync(join(dir, 'write_stdout.js'), `
    import { PcapngWriter } from './pcap/writer.js';
    const w = new PcapngWriter('-');
    w.addInterface('eth0', 1);
    for (let i = 0; i < 3000; i++) w.write(0, 1000 + i, i, new Uint8Array(400).fill(i & 0xff), { direction: 1 });
    w.close();
  `);
});

function run(cmd: string, args: string[], input: Buffer | null, opts: { chunks?: number; delayMs?: number } = {}):
  Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => { stderr += String(d); });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr }));
    if (input === null) { child.stdin.end(); return; }
    // Feed the input in pieces with pauses, so the reader has to wait for data mid-record.
    const chunks = opts.chunks ?? 1, size = Math.ceil(input.length / chunks);
    let i = 0;
    const feed = (): void => {
      if (i >= chunks) { child.stdin.end(); return; }
      child.stdin.write(input.subarray(i * size, (i + 1) * size));
      i++;
      setTimeout(feed, opts.delayMs ?? 0);
    };
    feed();
  });
}

function expectedTimes(file: string): string[] {
  return snapshot(CaptureReader.open(join(FIXTURES, file))).map((p) => p.ts);
}

describe('stdin and stdout', () => {
  for (const file of ['tcpdump_ns_s128.pcap', 'dumpcap_2if.pcapng']) {
    for (const mode of ['blocking', 'nonblocking']) {
      it(`reads ${file} from a ${mode} stdin pipe fed in pieces`, async () => {
        const input = readFileSync(join(FIXTURES, file));
        const res = await run(process.execPath, [join(dir, 'read_stdin.js'), mode], input, { chunks: 7, delayMs: 25 });
        expect(res.stderr).toBe('');
        expect(JSON.parse(String(res.stdout))).toEqual({ format: file.endsWith('ng') ? 'pcapng' : 'pcap', times: expectedTimes(file) });
      });
    }
  }

  it('reads an empty stdin as an error, not a hang', async () => {
    const res = await run(process.execPath, [join(dir, 'read_stdin.js')], null);
    expect(res.code).not.toBe(0);
    expect(res.stderr).toContain('stdin: offset 0: file is empty');
  });

  it('writes a pcapng to stdout with "-"', async () => {
    const res = await run(process.execPath, [join(dir, 'write_stdout.js')], null);
    expect([res.code, res.stderr]).toEqual([0, '']);
    const packets = snapshot(CaptureReader.fromBytes(new Uint8Array(res.stdout)));
    expect(packets).toHaveLength(3000);
    expect(packets[2999]).toMatchObject({ ts: '3999.000002999', direction: 1, caplen: 400 });
  });

  // Needs a build (npx tsc) in which every command module loads; skipped otherwise.
  const cli = join(ROOT, 'dist/cli/main.js');
  const cliWorks = existsSync(join(ROOT, 'dist/cli/cmd_info.js')) &&
    spawnSync(process.execPath, [cli, 'info', '--help'], { stdio: 'ignore' }).status === 0;
  it.skipIf(!cliWorks)('pktpath info - (built CLI) reads a capture piped in', async () => {
    const input = readFileSync(join(FIXTURES, 'tcpdump_any_sll2.pcap'));
    const res = await run(process.execPath, [cli, 'info', '-'], input, { chunks: 3, delayMs: 20 });
    expect([res.code, res.stderr]).toEqual([0, '']);
    const out = String(res.stdout);
    expect(out).toContain('File:          -\n');
    expect(out).toContain('LINUX_SLL2 (276)');
    expect(out).toContain(`Packets:       ${expectedTimes('tcpdump_any_sll2.pcap').length}\n`);

    const bad = await run(process.execPath, [cli, 'info', '-'], input.subarray(0, input.length - 5));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^pktpath: stdin: offset \d+: file ends inside packet \d+ .*\n$/);
  });
});
