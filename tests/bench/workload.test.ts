/**
 * Benchmark workloads: synthetic traffic lands on the ingress devices a user names, addressed to
 * their MACs and split by direction, and `pktpath bench` takes a world, ingress, flows and address
 * pools (or says what is missing). Only correctness here: timings live in `npm run bench`.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { CaptureReader } from '../../src/pcap/reader.js';
import { ROUTER_WORKLOAD, writeWorkload, type Workload } from '../../src/bench/workload.js';

const root = resolve(__dirname, '../..');
const bin = join(root, 'dist', 'cli', 'main.js');

function frames(path: string): Uint8Array[] {
  const r = CaptureReader.open(path);
  const out: Uint8Array[] = [];
  for (let p = r.next(); p; p = r.next()) out.push(p.data.slice(0, p.caplen));
  r.close();
  return out;
}

describe('writeWorkload', () => {
  it('router lab: client-sourced frames enter eth0, the rest eth1, each addressed to its device', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pktpath-wl-'));
    try {
      const inputs = writeWorkload(dir, ROUTER_WORKLOAD, 2000, 1000);
      expect(inputs.map((i) => i.slice(i.lastIndexOf('@')))).toEqual(['@router:eth0', '@router:eth1']);
      const [a, b] = inputs.map((i) => frames(i.slice(0, i.lastIndexOf('@'))));
      expect(a.length + b.length).toBe(2000);
      expect(a.length).toBeGreaterThan(500);
      expect(b.length).toBeGreaterThan(500);
      const hex = (f: Uint8Array) => Buffer.from(f.subarray(0, 6)).toString('hex');
      expect(new Set(a.map(hex))).toEqual(new Set(['020000000101']));
      expect(new Set(b.map(hex))).toEqual(new Set(['020000000201']));
      // IPv4 frames on eth0 come from the client pool 198.51.100.0/24, on eth1 from elsewhere.
      for (const f of a) if (f[12] === 8 && f[13] === 0) expect([f[26], f[27], f[28]]).toEqual([198, 51, 100]);
      for (const f of b) if (f[12] === 8 && f[13] === 0) expect([f[26], f[27], f[28]]).not.toEqual([198, 51, 100]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('one ingress device takes everything; a device the world lacks is named in the error', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pktpath-wl-'));
    try {
      const wl: Workload = { ...ROUTER_WORKLOAD, world: join(root, 'captures/labs/docker-host.yaml'), ingress: ['host:eth0'], flows: 10 };
      const inputs = writeWorkload(dir, wl, 300, 1000);
      expect(inputs).toHaveLength(1);
      const all = frames(inputs[0].slice(0, inputs[0].lastIndexOf('@')));
      expect(all).toHaveLength(300);
      expect(new Set(all.map((f) => Buffer.from(f.subarray(0, 6)).toString('hex')))).toEqual(new Set(['0200c6336402']));
      expect(() => writeWorkload(dir, { ...wl, ingress: ['host:eth7'] }, 10, 10)).toThrow(/--ingress host:eth7: not a device of .*docker-host\.yaml \(edges: host:eth0\)/);
      expect(() => writeWorkload(dir, { ...wl, ingress: [] }, 10, 10)).toThrow(/one or two devices/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!existsSync(bin))('pktpath bench with a world (built CLI)', () => {
  const run = (args: string[]) => spawnSync(process.execPath, [bin, 'bench', ...args], { encoding: 'utf8', timeout: 120_000 });
  it('runs the replay benchmark through the given world and reports it', () => {
    const r = run(['replay', '-n', '3000', '--world', join(root, 'captures/labs/docker-host.yaml'), '--ingress', 'host:eth0', '--flows', '50', '--server', '172.17.0.0/16']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/read \+ decode \(baseline; .*docker-host\.yaml via host:eth0, 50 flows\)/);
    expect(r.stdout).toMatch(/replay, msgpack trace\s+[0-9,]+\s+packets\/s/);
  }, 120_000);
  it('says what is missing', () => {
    const a = run(['replay', '--world', join(root, 'captures/labs/docker-host.yaml')]);
    expect(a.status).toBe(2);
    expect(a.stderr).toMatch(/--world needs --ingress NS:DEV/);
    const b = run(['replay', '--ingress', 'router:eth0']);
    expect(b.status).toBe(2);
    expect(b.stderr).toMatch(/--ingress needs --world/);
  });
});
