// The prefix index of large routing tables (route.ts FibTable, route6.ts Fib6Table) must give the
// answer of the plain scan for every lookup: random tables crowded into a small address space (nested
// and equal prefixes, TOS, metrics, dead and bound devices, reject routes) against random lookups.
import { describe, expect, it } from 'vitest';
import { FibRoute, FibTable, FIB_LINEAR_MAX, RTN_BLACKHOLE, RTN_UNICAST } from '../../src/stack/route.js';
import { Fib6Route, Fib6Table, Fib6Result, Flowi6, FIB6_LINEAR_MAX } from '../../src/stack/route6.js';
import type { NetDevice } from '../../src/stack/netdev.js';

function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

const devs = [0, 1, 2, 3].map((i) => ({ name: `eth${i}`, up: i !== 3 }) as unknown as NetDevice);

describe('IPv4 FIB prefix index', () => {
  it('answers every lookup as the scan does', () => {
    const rand = rng(7);
    let compared = 0, found = 0;
    for (let t = 0; t < 40; t++) {
      const table = new FibTable(254);
      const n = FIB_LINEAR_MAX + 1 + Math.floor(rand() * 400);
      for (let k = 0; k < n; k++) {
        const r = new FibRoute();
        r.len = 16 + Math.floor(rand() * 17); // 10.0.0.0/16 .. /32: crowded, so prefixes nest
        const a = (0x0a000000 | Math.floor(rand() * 0x10000)) >>> 0;
        r.dst = (a & (r.len === 0 ? 0 : (0xffffffff << (32 - r.len)) >>> 0)) >>> 0;
        r.metric = Math.floor(rand() * 3) * 100;
        r.tos = rand() < 0.1 ? 0x10 : 0;
        r.type = rand() < 0.05 ? RTN_BLACKHOLE : RTN_UNICAST;
        if (r.type === RTN_UNICAST) r.nh = [{ gw: 0, dev: devs[Math.floor(rand() * 4)], weight: 1 }];
        table.add(r);
      }
      for (let q = 0; q < 2000; q++) {
        const dst = (0x0a000000 | Math.floor(rand() * 0x10000)) >>> 0;
        const tos = rand() < 0.2 ? 0x10 : 0;
        const oif = rand() < 0.3 ? devs[Math.floor(rand() * 4)] : null;
        const want = table.lookupLinear(dst, tos, oif);
        expect(table.lookup(dst, tos, oif)).toBe(want);
        compared++;
        if (want) found++;
      }
    }
    expect(compared).toBe(80_000);
    expect(found).toBeGreaterThan(compared / 4); // the tables did cover the addresses looked up
  });

  it('keeps routes in lookup order however they were added', () => {
    const table = new FibTable(254);
    for (const [len, metric] of [[8, 100], [24, 0], [8, 0], [24, 50], [16, 0]]) {
      const r = new FibRoute();
      r.len = len;
      r.metric = metric;
      table.add(r);
    }
    expect(table.routes.map((r) => `${r.len}/${r.metric}`)).toEqual(['24/0', '24/50', '16/0', '8/0', '8/100']);
  });
});

describe('IPv6 FIB prefix index', () => {
  it('answers every lookup as the scan does, next hop included', () => {
    const rand = rng(11);
    let compared = 0, found = 0;
    const addr = (): Uint8Array => {
      const a = new Uint8Array(16);
      a[0] = 0x20; a[1] = 0x01; a[2] = 0x0d; a[3] = 0xb8;
      a[6] = Math.floor(rand() * 4); a[7] = Math.floor(rand() * 256); // 2001:db8:0:XXXX::/64 space
      a[15] = Math.floor(rand() * 4);
      return a;
    };
    for (let t = 0; t < 30; t++) {
      const table = new Fib6Table(254);
      const n = FIB6_LINEAR_MAX + 1 + Math.floor(rand() * 300);
      for (let k = 0; k < n; k++) {
        const r = new Fib6Route();
        r.len = [48, 54, 56, 60, 64, 126, 128][Math.floor(rand() * 7)];
        const a = addr();
        for (let b = 0; b < 16; b++) {
          const keep = Math.max(0, Math.min(8, r.len - b * 8));
          a[b] &= (0xff << (8 - keep)) & 0xff;
        }
        r.dst = a;
        r.metric = [256, 1024][Math.floor(rand() * 2)];
        r.nh = rand() < 0.05 ? [] : [{ gw: null, dev: devs[Math.floor(rand() * 4)], weight: 1 }, ...(rand() < 0.2 ? [{ gw: null, dev: devs[Math.floor(rand() * 4)], weight: 1 }] : [])];
        table.add(r);
      }
      const fl = new Flowi6();
      const a = new Fib6Result(), b = new Fib6Result();
      for (let q = 0; q < 1500; q++) {
        fl.daddr.set(addr());
        fl.strict = rand() < 0.3;
        const dev = rand() < 0.5 ? devs[Math.floor(rand() * 4)] : null;
        a.nh = b.nh = null;
        const want = table.lookupLinear(fl, dev, a);
        expect(table.lookup(fl, dev, b)).toBe(want);
        expect(b.nh).toBe(a.nh);
        compared++;
        if (want) found++;
      }
    }
    expect(compared).toBe(45_000);
    expect(found).toBeGreaterThan(compared / 4);
  });
});
