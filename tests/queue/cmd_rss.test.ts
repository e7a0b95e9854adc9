/** `pktpath rss`: output format, options, and one-line errors with exit status 2. */
import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { register } from '../../src/cli/cmd_rss.js';

async function run(...args: string[]): Promise<{ out: string; err: string; code: number }> {
  let out = '', err = '';
  const o = vi.spyOn(process.stdout, 'write').mockImplementation((s) => { out += String(s); return true; });
  const e = vi.spyOn(process.stderr, 'write').mockImplementation((s) => { err += String(s); return true; });
  const saved = process.exitCode;
  process.exitCode = 0;
  try {
    const program = new Command('pktpath').exitOverride().configureOutput({ writeErr: (s) => { err += s; } });
    register(program);
    try {
      await program.parseAsync(['node', 'pktpath', 'rss', ...args]);
    } catch {
      process.exitCode = 2; // commander rejected the usage (main.ts maps this to 2)
    }
    return { out, err, code: Number(process.exitCode ?? 0) };
  } finally {
    o.mockRestore();
    e.mockRestore();
    process.exitCode = saved;
  }
}

afterEach(() => vi.restoreAllMocks());

describe('pktpath rss', () => {
  it('prints input bytes, hash as 0x%08x, queue and CPU', async () => {
    const r = await run('--queues', '4', 'tcp 66.9.149.187:2794 > 161.142.100.80:1766');
    expect([r.err, r.code]).toEqual(['', 0]);
    expect(r.out).toBe(
      'tcp 66.9.149.187:2794 > 161.142.100.80:1766\n' +
      '  input  42 09 95 bb a1 8e 64 50 0a ea 06 e6\n' +
      '  hash   0x51ccc178\n' +
      '  queue  0 of 4 (indirection entry 120 of 128)\n' + // 0x51ccc178 % 128 = 120, 120 % 4 = 0
      '  cpu    0 of 4\n',
    );
  });
  it('hashes addresses only for "ip", IPv6 in brackets, several tuples at once', async () => {
    const r = await run('--queues', '4', '--cpus', '2', 'ip 66.9.149.187 > 161.142.100.80', 'udp [3ffe:2501:200:1fff::7]:2794 > [3ffe:2501:200:3::1]:1766');
    expect(r.code).toBe(0);
    expect(r.out).toContain('  hash   0x323e8fc2\n  queue  2 of 4 (indirection entry 66 of 128)\n  cpu    0 of 2\n');
    expect(r.out).toContain('  hash   0x40207d3d\n  queue  1 of 4 (indirection entry 61 of 128)\n  cpu    1 of 2\n');
  });
  it('--json and --symmetric: both directions on one queue', async () => {
    const r = await run('--symmetric', '--queues', '8', '--json', 'tcp 10.0.0.1:1000 > 10.0.0.2:80', 'tcp 10.0.0.2:80 > 10.0.0.1:1000');
    const j = JSON.parse(r.out) as Array<{ hash: string; queue: number }>;
    expect(j).toHaveLength(2);
    expect(j[0]!.hash).toMatch(/^0x[0-9a-f]{8}$/);
    expect(j[0]!.hash).toBe(j[1]!.hash);
    expect(j[0]!.queue).toBe(j[1]!.queue);
  });
  it('--key replaces the key', async () => {
    const r = await run('--key', '6d5a56da255b0ec24167253d43a38fb0d0ca2bcbae7b30b477cb2da38030f20c6a42b73bbeac01fa', 'ip 66.9.149.187 > 161.142.100.80');
    expect(r.out).toContain('0x323e8fc2');
  });
  it.each([
    ['tcp 1.2.3.4 > 5.6.7.8:80', /has no port/],
    ['ip 1.2.3.4:5 > 5.6.7.8', /addresses only/],
    ['tcp 1.2.3.4:70000 > 5.6.7.8:80', /0 to 65535/],
    ['tcp 1.2.3.999:1 > 5.6.7.8:80', /not an IPv4 or IPv6 address/],
    ['tcp 1.2.3.4:1 > [2001:db8::1]:80', /different address families/],
    ['tcp 2001:db8::1:80 > [2001:db8::2]:80', /\[ADDR\]:PORT/],
    ['gre 1.2.3.4 > 5.6.7.8', /expected "PROTO SRC > DST"/],
  ])('refuses %j with one line and exit 2', async (tuple, msg) => {
    const r = await run(tuple);
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.err).toMatch(msg);
    expect(r.err.trim().split('\n')).toHaveLength(1);
    expect(r.err).toMatch(/^pktpath: /);
  });
  it('refuses a bad or short key, and --key with --symmetric', async () => {
    expect((await run('--key', 'zz', 'ip 1.2.3.4 > 5.6.7.8')).err).toMatch(/not hex bytes/);
    expect((await run('--key', '6d:5a', 'ip 1.2.3.4 > 5.6.7.8')).err).toMatch(/at least 16/);
    const short = await run('--key', '6d5a56da255b0ec24167253d43a38fb0', 'udp [::1]:1 > [::2]:2');
    expect([short.code, short.err]).toEqual([2, expect.stringMatching(/needs 40/)]);
    expect((await run('--key', '6d5a56da255b0ec24167253d43a38fb0', '--symmetric', 'ip 1.2.3.4 > 5.6.7.8')).err).toMatch(/give one of them/);
  });
  it('refuses a non-positive --queues', async () => {
    const r = await run('--queues', '0', 'ip 1.2.3.4 > 5.6.7.8');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/positive integer/);
  });
});
