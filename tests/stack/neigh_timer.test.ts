// NeighTable keeps its earliest timer as timers are armed and cancelled (neigh.ts): it must always
// equal the minimum over the pending timers, whatever the order of operations.
import { describe, expect, it } from 'vitest';
import { NeighTable } from '../../src/stack/neigh.js';
import type { NetDevice } from '../../src/stack/netdev.js';

describe('neighbour table timers', () => {
  it('nextTimer is the earliest pending timer after any sequence of arms and cancels', () => {
    let x = 99;
    const rand = () => {
      x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
      return (x >>> 0) / 2 ** 32;
    };
    const dev = { ifindex: 2 } as unknown as NetDevice;
    const t = new NeighTable<unknown>();
    const ns = Array.from({ length: 40 }, (_, i) => t.create(dev, i + 1));
    let asked = 0;
    for (let step = 0; step < 20_000; step++) {
      const n = ns[Math.floor(rand() * ns.length)];
      const r = rand();
      // Re-arm to the same time, later, earlier, or cancel; times collide often (ties).
      t.setTimer(n, r < 0.25 ? Infinity : r < 0.35 ? n.timerAt : Math.floor(rand() * 50));
      if (rand() < 0.5) {
        const want = Math.min(...ns.map((e) => e.timerAt));
        expect(t.nextTimer()).toBe(want);
        asked++;
      }
    }
    expect(asked).toBeGreaterThan(9000);
  });
});
