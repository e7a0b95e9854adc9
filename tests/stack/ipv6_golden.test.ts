/**
 * IPv6 golden tests: replay each real-kernel IPv6 scenario of tests/golden/ipv6 (made by
 * tests/kernel/ipv6-scenarios.sh: a router with NDP, hop limit and MTU errors; a host with sockets; a
 * router with an ip6/inet firewall) and compare every packet's fate with what the kernel did: verdict,
 * egress device, drop reason, and the netfilter table/chain/handle of a netfilter drop. The ICMPv6,
 * neighbour discovery and RST packets the kernel sent because of a packet are compared by type.
 */
import { describe, expect, it } from 'vitest';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadWorld } from '../../src/stack/world_load.js';
import { runReplay, parseInputArg } from '../../src/workers/replay.js';
import { toTraceRecord, type TraceRecord } from '../../src/trace/schema.js';
import type { Emitted, Final } from '../../src/stack/record.js';

const dir = resolve(__dirname, '../golden/ipv6');

interface Truth {
  index: number;
  ts: string;
  in: { ns: string; dev: string };
  key: Record<string, unknown>;
  final: { verdict: string; dev?: string; reason?: string; where?: { family?: string; table?: string; chain?: string; handle?: number } };
  out?: Record<string, string | number>;
  emitted: Array<{ type: string; dev?: string; icmp_type?: number; icmp_code?: number }>;
}

function replay(name: string): { recs: TraceRecord[]; truth: Truth[] } {
  const d = join(dir, name);
  const inputs = readdirSync(join(d, 'inputs')).filter((f) => f.endsWith('.pcap')).sort();
  const world = loadWorld(join(d, 'world'), { allowUnsupported: false });
  const recs: TraceRecord[] = [];
  runReplay(world, inputs.map((f) => parseInputArg(`${join(d, 'inputs', f)}@host:${f.slice(0, -5)}`)), {
    datapath: { verifyChecksums: true, trace: true, allowUnsupported: false, seed: 1 },
    limit: 0,
    onRecord: (r) => recs.push(toTraceRecord(r)),
  });
  const truth = readFileSync(join(d, 'truth.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Truth);
  return { recs, truth };
}

/** What the kernel emitted, as types with ICMPv6 type/code, in a stable order. */
function emittedKinds(e: Array<{ type: string; icmp_type?: number; icmp_code?: number; detail?: string }>): string[] {
  return e.map((x) => x.type).sort();
}

describe.each(['router', 'host', 'firewall'])('IPv6 kernel scenario %s', (name) => {
  const { recs, truth } = replay(name);

  it('has one record per input packet, in order, with the input timestamps', () => {
    expect(recs.map((r) => r.index)).toEqual(truth.map((t) => t.index));
    expect(recs.map((r) => r.ts)).toEqual(truth.map((t) => t.ts));
  });

  it.each(truth.map((t) => [t.index, t] as const))('packet %i has the kernel\'s fate', (i, t) => {
    const f = recs[i].final as Final;
    expect(f.verdict).toBe(t.final.verdict);
    if (t.final.verdict === 'transmitted') {
      expect(f.dev).toBe(t.final.dev);
      if (t.out) for (const k of ['src', 'dst', 'sport', 'dport', 'icmp_id'] as const) if (k in t.out) expect(f.out?.[k]).toBe(t.out[k]);
    }
    if (t.final.verdict === 'dropped') {
      expect(f.reason).toBe(t.final.reason);
      if (t.final.reason === 'NETFILTER_DROP') {
        const w = f.where as { family: string; table: string; chain: string; handle: number | null };
        expect([w.family, w.table, w.chain]).toEqual([t.final.where!.family, t.final.where!.table, t.final.where!.chain]);
        if (t.final.where!.handle !== undefined) expect(w.handle).toBe(t.final.where!.handle);
      }
    }
  });

  it.each(truth.map((t) => [t.index, t] as const))('packet %i makes the kernel\'s packets (NS, NA, ICMPv6, RST)', (i, t) => {
    const mine = (recs[i].emitted as Emitted[]).filter((e) => e.type !== 'ndisc-ns' || !/unicast probe/.test(e.detail ?? ''));
    expect(emittedKinds(mine)).toEqual(emittedKinds(t.emitted));
  });
});
