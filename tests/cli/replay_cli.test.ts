/**
 * The replay-side commands end to end through the built CLI (npm ci builds dist/ via `prepare`):
 * exit codes, one-line errors, explain's advice, conntrack output, trace formats.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { decodeMulti } from '@msgpack/msgpack';

const root = resolve(__dirname, '../..');
const bin = join(root, 'dist', 'cli', 'main.js');
const W = join(root, 'captures', 'oracle-docker-egress');
const inputs = [`${W}/inputs/eth0.pcap@host:eth0`, `${W}/inputs/vethc1.pcap@host:vethc1`];

function run(args: string[]) {
  return spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 60_000 });
}

describe.skipIf(!existsSync(bin))('pktpath replay / explain / conntrack (built CLI)', () => {
  it('writes the same records as JSONL and msgpack, and a text trace', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pktpath-cli-'));
    try {
      expect(run(['replay', '-q', '--world', `${W}/world`, ...inputs, '--trace', join(dir, 't.jsonl')]).status).toBe(0);
      expect(run(['replay', '-q', '--world', `${W}/world`, ...inputs, '--trace', join(dir, 't.mp'), '--format', 'msgpack']).status).toBe(0);
      const jl = readFileSync(join(dir, 't.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      const buf = readFileSync(join(dir, 't.mp'));
      const mp: unknown[] = [];
      // msgpack records are concatenated maps.
      for (const r of decodeMulti(buf)) mp.push(r);
      expect(mp).toEqual(jl);
      expect(jl).toHaveLength(24);
      expect(jl[18].final).toMatchObject({ verdict: 'dropped', reason: 'NETFILTER_DROP', where: { table: 'filter', chain: 'forward', handle: 3 } });
      const text = run(['replay', '-q', '--world', `${W}/world`, ...inputs, '--trace', '-', '--format', 'text']).stdout;
      expect(text).toContain('=> DROPPED NEIGH_FAILED at neigh_invalidate (eth0)');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('--filter reports only the selected packets, all still replayed', () => {
    const r = run(['replay', '--world', `${W}/world`, ...inputs, '--filter', 'tcp port 25', '--trace', '-']);
    expect(r.status).toBe(0);
    const recs = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(recs.map((x) => x.index)).toEqual([18, 19, 20]);
    expect(r.stderr).toContain('3 packets reported (--filter tcp port 25)');
    const bad = run(['replay', '--world', `${W}/world`, ...inputs, '--filter', 'tcp prot 80']);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('column 5: unknown word "prot" (did you mean "port"?)');
  });

  it('reads a capture from stdin (after --)', () => {
    const r = spawnSync(process.execPath, [bin, 'replay', '-q', '--world', `${W}/world`, '--trace', '-', '--', `-@host:eth0`], {
      encoding: 'utf8', input: readFileSync(`${W}/inputs/eth0.pcap`), timeout: 60_000,
    });
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(9);
  });

  it('explains a drop and says what to change', () => {
    const r = run(['explain', '--world', `${W}/world`, ...inputs, '--packet', '18']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('rule `tcp dport 25 counter drop` (handle 3) matches → DROP');
    expect(r.stdout).toContain('nft delete rule ip filter forward handle 3');
  });

  it('prints conntrack -L lines', () => {
    const r = run(['conntrack', '--world', `${W}/world`, ...inputs]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('tcp      6 112 TIME_WAIT src=172.17.0.2 dst=198.51.100.1 sport=40001 dport=7000 src=198.51.100.1 dst=198.51.100.2 sport=7000 dport=40001 [ASSURED] mark=0 use=1');
  });

  it('bad usage exits 2 with one line; a bad world exits 1 naming the file', () => {
    const a = run(['replay', '--world', `${W}/world`, `${W}/inputs/eth0.pcap`]);
    expect(a.status).toBe(2);
    expect(a.stderr.trim().split('\n')).toHaveLength(1);
    expect(a.stderr).toContain('@NS:DEV');
    const b = run(['replay', '--world', '/nonexistent', `${W}/inputs/eth0.pcap@host:eth0`]);
    expect(b.status).toBe(1);
    expect(b.stderr).toMatch(/^pktpath: \/nonexistent/);
    const c = run(['explain', '--world', `${W}/world`, ...inputs, '--packet', '99']);
    expect(c.status).toBe(2);
    expect(c.stderr).toContain('the input has 24 packets');
  });
});
