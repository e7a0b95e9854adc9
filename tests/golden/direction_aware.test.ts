/**
 * Direction-aware replay of the kernel's own `tcpdump -i any` capture (SLL2: ifindex and direction on
 * every frame) of each oracle scenario: frames arriving on edge devices are injected, every other
 * frame is an observation. The model must (1) give the injected packets the kernel's fate, and
 * (2) predict exactly the frames the capture shows on every host device, in both directions.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadWorld } from '../../src/stack/world_load.js';
import { runReplay, parseInputArg } from '../../src/workers/replay.js';
import { Consistency } from '../../src/trace/consistency.js';
import type { Final } from '../../src/stack/record.js';

const shared = resolve(__dirname, '../../../shared/oracle');
const scen = existsSync(shared) ? readdirSync(shared).filter((d) => existsSync(join(shared, d, 'captures', 'host-any.pcapng'))) : [];

describe('direction-aware replay of tcpdump -i any', () => {
  it.skipIf(scen.length === 0)(`agrees with the kernel (${scen.join(', ') || 'skipped: ../shared/oracle not present'})`, () => {
    for (const s of scen) {
      const truth = readFileSync(join(shared, s, 'truth', 'truth.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      const cons = new Consistency();
      const finals: Final[] = [];
      const stats = runReplay(loadWorld(join(shared, s, 'truth', 'world'), { allowUnsupported: false }), [parseInputArg(`${join(shared, s, 'captures', 'host-any.pcapng')}@host`)], {
        datapath: { verifyChecksums: false, trace: false, allowUnsupported: false, seed: 1 },
        limit: 0,
        consistency: cons,
        onRecord: (r) => finals.push(r.final()),
      });
      expect(stats.packets, s).toBe(truth.length);
      truth.forEach((t, i) => {
        expect(finals[i].verdict, `${s} #${i}`).toBe(t.final.verdict);
        if (t.final.dev) expect(finals[i].dev, `${s} #${i}`).toBe(t.final.dev);
        if (t.final.reason) expect(finals[i].reason, `${s} #${i}`).toBe(t.final.reason);
      });
      const rep = cons.report();
      expect(rep.observed, s).toBeGreaterThan(truth.length);
      expect(rep.missing, s).toEqual([]);
      expect(rep.unexpected, s).toEqual([]);
      expect(rep.matched, s).toBe(rep.observed);
    }
  });
});

describe('direction-aware replay of an IPv6 tcpdump -i any capture', () => {
  const dir = resolve(__dirname, 'ipv6/firewall');
  it('predicts every frame the kernel put on the host\'s devices (ipv6/firewall)', () => {
    const cons = new Consistency();
    runReplay(loadWorld(join(dir, 'world'), { allowUnsupported: false }), [parseInputArg(`${join(dir, 'evidence', 'host-any.pcapng')}@host`)], {
      datapath: { verifyChecksums: false, trace: false, allowUnsupported: false, seed: 1 },
      limit: 0,
      consistency: cons,
      onRecord: () => {},
    });
    const rep = cons.report();
    expect(rep.observed).toBeGreaterThan(50);
    expect(rep.missing).toEqual([]);
    expect(rep.unexpected).toEqual([]);
  });
});
