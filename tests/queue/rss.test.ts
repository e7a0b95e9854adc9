/**
 * RSS: the Microsoft / Intel 82599 Toeplitz verification vectors (datapath-facts §6, from DPDK
 * app/test/test_thash.c), indirection, IRQ CPU and RPS mapping, and the snapshot parsers.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { parseIpv4, parseIpv6 } from '../../src/stack/wire/decode.js';
import { ETHTOOL_ETH0, cpusTxt } from '../helpers/nic.js';
import {
  MS_RSS_KEY, Rss, SYMMETRIC_KEY, Toeplitz, parseCpuList, parseCpuMask, parseCpusTxt, parseEthtool, parseKeyHex,
  queueConfigFromSnapshot, queueCpusFromIrqs, reciprocalScale,
} from '../../src/workers/rss.js';

// [src, sport, dst, dport, IP-only hash, hash with ports]
const V4: Array<[string, number, string, number, number, number]> = [
  ['66.9.149.187', 2794, '161.142.100.80', 1766, 0x323e8fc2, 0x51ccc178],
  ['199.92.111.2', 14230, '65.69.140.83', 4739, 0xd718262a, 0xc626b0ea],
  ['24.19.198.95', 12898, '12.22.207.184', 38024, 0xd2d0a5de, 0x5c2b394a],
  ['38.27.205.30', 48228, '209.142.163.6', 2217, 0x82989176, 0xafc7327f],
  ['153.39.163.191', 44251, '202.188.127.2', 1303, 0x5d1809c5, 0x10e828a2],
];
const V6: Array<[string, number, string, number, number, number]> = [
  ['3ffe:2501:200:1fff::7', 2794, '3ffe:2501:200:3::1', 1766, 0x2cc18cd5, 0x40207d3d],
  ['3ffe:501:8::260:97ff:fe40:efab', 14230, 'ff02::1', 4739, 0x0f0c461c, 0xdde51bbf],
  ['3ffe:1900:4545:3:200:f8ff:fe21:67cf', 44251, 'fe80::200:f8ff:fe21:67cf', 38024, 0x4b61e985, 0x02d1feef],
];

function v6(s: string): Uint8Array {
  const b = new Uint8Array(16);
  expect(parseIpv6(s, b, 0)).toBe(true);
  return b;
}

/** The definition, bit by bit, to check the table-driven implementation against. */
function toeplitzRef(key: Uint8Array, input: Uint8Array): number {
  let h = 0;
  for (let i = 0; i < input.length * 8; i++) {
    if (!(input[i >> 3]! & (0x80 >> (i & 7)))) continue;
    let w = 0;
    for (let b = 0; b < 32; b++) {
      const bit = i + b;
      const kb = bit >> 3 < key.length ? (key[bit >> 3]! >> (7 - (bit & 7))) & 1 : 0;
      w = (w << 1) | kb;
    }
    h ^= w;
  }
  return h >>> 0;
}

describe('Toeplitz: Microsoft verification vectors', () => {
  const rss = new Rss();
  it.each(V4)('IPv4 %s:%d > %s:%d', (s, sp, d, dp, ipOnly, withPorts) => {
    expect(rss.hash4(parseIpv4(s), parseIpv4(d), sp, dp, false)).toBe(ipOnly);
    expect(rss.hash4(parseIpv4(s), parseIpv4(d), sp, dp, true)).toBe(withPorts);
  });
  it.each(V6)('IPv6 [%s]:%d > [%s]:%d', (s, sp, d, dp, ipOnly, withPorts) => {
    expect(rss.hash6(v6(s), v6(d), sp, dp, false)).toBe(ipOnly);
    expect(rss.hash6(v6(s), v6(d), sp, dp, true)).toBe(withPorts);
  });
  it('hash6 reads addresses at offsets (an IPv6 header in a frame)', () => {
    const frame = new Uint8Array(64);
    frame.set(v6(V6[0]![0]), 8);
    frame.set(v6(V6[0]![2]), 24);
    expect(rss.hash6(frame, frame, 2794, 1766, true, 8, 24)).toBe(0x40207d3d);
  });
  it('the lookup tables agree with the bit-by-bit definition on random inputs and keys', () => {
    let seed = 12345;
    const rnd = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 24;
    for (let n = 0; n < 200; n++) {
      const key = Uint8Array.from({ length: 40 }, rnd);
      const input = Uint8Array.from({ length: 1 + (n % 36) }, rnd);
      expect(new Toeplitz(key).hashBytes(input, 0, input.length)).toBe(toeplitzRef(key, input));
    }
  });
  it('the symmetric key gives both directions one hash', () => {
    const s = new Rss({ key: SYMMETRIC_KEY });
    for (const [a, sp, b, dp] of V4) {
      expect(s.hash4(parseIpv4(a), parseIpv4(b), sp, dp, true)).toBe(s.hash4(parseIpv4(b), parseIpv4(a), dp, sp, true));
    }
    expect(s.hash6(v6(V6[1]![0]), v6(V6[1]![2]), 1, 2, true)).toBe(s.hash6(v6(V6[1]![2]), v6(V6[1]![0]), 2, 1, true));
    // ...and the Microsoft key does not.
    const m = new Rss();
    expect(m.hash4(parseIpv4('1.2.3.4'), parseIpv4('5.6.7.8'), 1, 2, true)).not.toBe(m.hash4(parseIpv4('5.6.7.8'), parseIpv4('1.2.3.4'), 2, 1, true));
  });
});

describe('indirection, IRQ CPUs, RPS', () => {
  it('default table: 128 entries indir[i] = i % queues; queue = indir[hash % 128]', () => {
    const r = new Rss({ queues: 3 });
    expect(r.indir.length).toBe(128);
    expect([...r.indir.slice(0, 7)]).toEqual([0, 1, 2, 0, 1, 2, 0]);
    expect(r.indir[127]).toBe(127 % 3);
    // 0x51ccc178 % 128 = 120 → 120 % 3 = 0; 0x323e8fc2 % 128 = 66 → 0; 0xc626b0ea % 128 = 106 → 1
    expect(r.queueOf(0x51ccc178)).toBe(0);
    expect(r.queueOf(0xc626b0ea)).toBe(1);
    expect(r.queueOf(0xafc7327f)).toBe(127 % 3); // 0x7f = 127
  });
  it('queue → CPU round-robin over --cpus, or as given (IRQ affinity)', () => {
    const r = new Rss({ queues: 6, cpus: 4 });
    expect([0, 1, 2, 3, 4, 5].map((q) => r.cpuOf(q))).toEqual([0, 1, 2, 3, 0, 1]);
    const g = new Rss({ queues: 2, cpus: 4, queueCpus: [3, 2] });
    expect([g.cpuOf(0), g.cpuOf(1)]).toEqual([3, 2]);
    expect(() => new Rss({ queues: 2, cpus: 2, queueCpus: [0, 5] })).toThrow(/CPU 5/);
    expect(() => new Rss({ queues: 2, indir: [0, 2] })).toThrow(/queue 2/);
  });
  it('RPS: cpus[reciprocal_scale(hash, n)] (get_rps_cpu), -1 when off', () => {
    const r = new Rss({ queues: 2, cpus: 4, rps: [[1, 2, 3], []] });
    // reciprocal_scale(h, 3) = floor(h * 3 / 2^32): 0x00000000 → 0, 0x55555556 → 1, 0xffffffff → 2
    expect(r.rpsCpuOf(0, 0)).toBe(1);
    expect(r.rpsCpuOf(0, 0x55555556)).toBe(2);
    expect(r.rpsCpuOf(0, 0xffffffff)).toBe(3);
    expect(r.rpsCpuOf(1, 0x12345678)).toBe(-1);
    expect(reciprocalScale(0x80000000, 1024)).toBe(512);
  });
});

describe('key, CPU list and mask parsing', () => {
  it('parses keys with and without separators', () => {
    expect(parseKeyHex('6d:5a:56:da')).toEqual(Uint8Array.of(0x6d, 0x5a, 0x56, 0xda));
    expect(parseKeyHex('6d5a56da')).toEqual(Uint8Array.of(0x6d, 0x5a, 0x56, 0xda));
    expect(parseKeyHex('6d:5a:5')).toBeNull();
    expect(parseKeyHex('xyz')).toBeNull();
    expect(MS_RSS_KEY.length).toBe(40);
    expect([...SYMMETRIC_KEY.slice(0, 4)]).toEqual([0x6d, 0x5a, 0x6d, 0x5a]);
  });
  it('parses smp_affinity_list and rps_cpus masks', () => {
    expect(parseCpuList('0-3,8,10-11')).toEqual([0, 1, 2, 3, 8, 10, 11]);
    expect(parseCpuList('x')).toBeNull();
    expect(parseCpuMask('0')).toEqual([]);
    expect(parseCpuMask('a')).toEqual([1, 3]);
    expect(parseCpuMask('00000001,00000003')).toEqual([0, 1, 32]);
  });
});

const ETHTOOL = ETHTOOL_ETH0;
const CPUS = cpusTxt('0', '3');

describe('snapshot files', () => {
  it('parses ethtool -l/-x/-g sections', () => {
    const e = parseEthtool(ETHTOOL);
    expect(e.rxChannels).toBe(2);
    expect(e.rxRing).toBe(512);
    expect(e.rxRingMax).toBe(4096);
    expect(e.indir).toEqual([1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0]);
    expect(e.key).toEqual(MS_RSS_KEY);
    expect(e.hfunc).toBe('toeplitz');
  });
  it('refuses a malformed key line, naming the line', () => {
    expect(() => parseEthtool('# ethtool -x eth0\nRSS hash key:\nzz:zz\n', 'e.txt')).toThrow(/e\.txt line 3/);
  });
  it('parses cpus.txt as write.ts writes it; rx IRQs give the queue CPUs, tx ones are skipped', () => {
    const c = parseCpusTxt(CPUS);
    expect(c.nproc).toBe(4);
    expect(c.irqs).toHaveLength(4);
    expect(queueCpusFromIrqs(c, 'eth0')).toEqual([3, 2]);
    expect(queueCpusFromIrqs(c, 'eth1')).toBeNull();
    expect(c.rps.get('eth0:rx-1')).toEqual([0, 1]);
    expect(() => parseCpusTxt('# nproc\nfour\n', 'c.txt')).toThrow(/c\.txt line 2/);
  });
  it('builds the device config from a snapshot directory; overrides win', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ppq-rss-'));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    mkdirSync(join(dir, 'ns', 'host', 'ethtool'), { recursive: true });
    writeFileSync(join(dir, 'ns', 'host', 'ethtool', 'eth0.txt'), ETHTOOL);
    writeFileSync(join(dir, 'ns', 'host', 'cpus.txt'), CPUS);
    const cfg = queueConfigFromSnapshot(dir, 'host', 'eth0');
    expect(cfg.rxRing).toBe(512);
    const r = new Rss(cfg.rss);
    expect([r.queues, r.cpus, r.cpuOf(0), r.cpuOf(1)]).toEqual([2, 4, 3, 2]);
    expect(r.queueOf(0)).toBe(1); // indir[0] = 1 from ethtool -x
    expect(r.rpsCpuOf(0, 123)).toBe(-1);
    expect(r.rpsCpuOf(1, 0xffffffff)).toBe(1);
    const o = new Rss(queueConfigFromSnapshot(dir, 'host', 'eth0', { queues: 4, cpus: 2 }).rss);
    expect([o.queues, o.cpus, o.queueOf(5)]).toEqual([4, 2, 1]);
    // No files: defaults.
    const d = queueConfigFromSnapshot(dir, 'host', 'eth9');
    expect(d.rxRing).toBeNull();
    expect(new Rss(d.rss).queues).toBe(1);
  });
});
