import { it } from 'vitest';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadWorld } from '../../src/stack/world_load.js';
import { runReplay, parseInputArg } from '../../src/workers/replay.js';
import { toTraceRecord, type TraceRecord } from '../../src/trace/schema.js';
it('dump', () => {
  for (const s of ['docker-egress', 'policy-routing']) {
    const dir = `/work/shared/oracle/${s}/truth`;
    const inputs = readdirSync(join(dir, 'inputs')).filter((f) => f.endsWith('.pcap')).sort();
    const world = loadWorld(join(dir, 'world'), { allowUnsupported: false });
    const recs: TraceRecord[] = [];
    runReplay(world, inputs.map((f) => parseInputArg(`${join(dir, 'inputs', f)}@host:${f.slice(0, -5)}`)), {
      datapath: { verifyChecksums: true, trace: true, allowUnsupported: false, seed: 1 }, limit: 0,
      onRecord: (r) => recs.push(toTraceRecord(r)),
    });
    writeFileSync(`/tmp/nftx/${s}.jsonl`, recs.map((r) => JSON.stringify(r)).join('\n') + '\n');
  }
});
