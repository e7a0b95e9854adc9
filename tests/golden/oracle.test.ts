/**
 * Golden tests: replay each real-kernel scenario (bundled copies in captures/oracle-*, and every
 * scenario in ../shared/oracle when present) and compare every packet's fate with what the kernel did:
 * verdict, egress device, drop reason, the netfilter table/chain of a drop, and the post-NAT header.
 * The truth files were made by the oracle harness from captures on every interface, nft traces and the
 * kernel's skb:kfree_skb events (shared/oracle/README.md).
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadWorld } from '../../src/stack/world_load.js';
import { runReplay, parseInputArg } from '../../src/workers/replay.js';
import { toTraceRecord, type TraceRecord } from '../../src/trace/schema.js';
import type { Final } from '../../src/stack/record.js';

const root = resolve(__dirname, '../..');
const shared = resolve(root, '../shared/oracle');

interface Scenario { name: string; world: string; inputs: string[]; truth: string }

function scenarios(): Scenario[] {
  const out: Scenario[] = [];
  const add = (name: string, dir: string) => {
    const inputs = readdirSync(join(dir, 'inputs')).filter((f) => f.endsWith('.pcap')).sort();
    out.push({ name, world: existsSync(join(dir, 'world')) ? join(dir, 'world') : dir, inputs: inputs.map((f) => `${join(dir, 'inputs', f)}@host:${f.slice(0, -5)}`), truth: join(dir, 'truth.jsonl') });
  };
  for (const d of readdirSync(join(root, 'captures'))) if (existsSync(join(root, 'captures', d, 'truth.jsonl'))) add(`bundled ${d}`, join(root, 'captures', d));
  if (existsSync(shared)) for (const d of readdirSync(shared)) if (existsSync(join(shared, d, 'truth', 'truth.jsonl'))) add(`shared ${d}`, join(shared, d, 'truth'));
  return out;
}

function replay(s: Scenario): TraceRecord[] {
  const world = loadWorld(s.world, { allowUnsupported: false });
  const recs: TraceRecord[] = [];
  runReplay(world, s.inputs.map(parseInputArg), {
    datapath: { verifyChecksums: true, trace: true, allowUnsupported: false, seed: 1 },
    limit: 0,
    onRecord: (r) => recs.push(toTraceRecord(r)),
  });
  return recs;
}

describe.each(scenarios())('$name', (s) => {
  const truth = readFileSync(s.truth, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const recs = replay(s);

  it('has one record per input packet, in order, with the input timestamps', () => {
    expect(recs.map((r) => r.index)).toEqual(truth.map((t) => t.index));
    expect(recs.map((r) => r.ts)).toEqual(truth.map((t) => t.ts));
  });

  it.each(truth.map((t) => [t.index, t] as const))('packet %i has the kernel\'s fate', (i, t) => {
    const f = recs[i].final as Final;
    expect(f.verdict).toBe(t.final.verdict);
    if (t.final.verdict === 'transmitted') {
      expect(f.dev).toBe(t.final.dev);
      if (t.out) {
        for (const k of ['src', 'dst', 'sport', 'dport', 'icmp_id'] as const) if (k in t.out) expect(f.out?.[k]).toBe(t.out[k]);
      }
    }
    if (t.final.verdict === 'dropped') {
      expect(f.reason).toBe(t.final.reason);
      if (t.final.reason === 'NETFILTER_DROP') {
        const w = f.where as { family: string; table: string; chain: string; handle: number };
        expect([w.family, w.table, w.chain]).toEqual([t.final.where.family, t.final.where.table, t.final.where.chain]);
        if (t.final.where.handle !== undefined) expect(w.handle).toBe(t.final.where.handle);
      }
    }
  });
});
