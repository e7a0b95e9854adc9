/**
 * The conntrack table at the end of each real-kernel scenario (shared/oracle/<s>/state/host/
 * conntrack.txt, `conntrack -L -o extended` taken after the traffic) against the model's: the same
 * entries with the same original and reply tuples (so the same NAT bindings), TCP state and flags.
 * Timeouts are not compared: the kernel's table was read some seconds after the last packet.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadWorld } from '../../src/stack/world_load.js';
import { runReplay, parseInputArg } from '../../src/workers/replay.js';
import { conntrackText } from '../../src/trace/conntrack_dump.js';

const shared = resolve(__dirname, '../../../shared/oracle');
const scen = existsSync(shared) ? readdirSync(shared).filter((d) => existsSync(join(shared, d, 'state', 'host', 'conntrack.txt'))) : [];

/** A `conntrack -L` line without the l3 prefix, the timeout and use=: comparable across runs. */
function norm(line: string): string {
  return line
    .replace(/^ipv[46]\s+\d+\s+/, '')
    .replace(/^(\w+)\s+(\d+)\s+\d+\s+/, '$1 $2 ')
    .replace(/\s+use=\d+/, '')
    .replace(/\s+/g, ' ')
    .trim();
}

describe('conntrack table after the traffic equals the kernel\'s', () => {
  it.skipIf(scen.length === 0)(`(${scen.length ? scen.join(', ') : 'skipped: ../shared/oracle not present'})`, () => {
    for (const s of scen) {
      const tdir = join(shared, s, 'truth');
      const inputs = readdirSync(join(tdir, 'inputs')).filter((f) => f.endsWith('.pcap')).sort().map((f) => `${join(tdir, 'inputs', f)}@host:${f.slice(0, -5)}`);
      let text = '';
      runReplay(loadWorld(join(tdir, 'world'), { allowUnsupported: false }), inputs.map(parseInputArg), {
        datapath: { verifyChecksums: true, trace: false, allowUnsupported: false, seed: 1 },
        limit: 0,
        onRecord: () => {},
        onAtTime: (dp) => (text = conntrackText(dp)),
      });
      const model = text.split('\n').filter((l) => l && !l.startsWith('#')).map(norm).sort();
      const kernel = readFileSync(join(shared, s, 'state', 'host', 'conntrack.txt'), 'utf8').split('\n').filter((l) => l.trim()).map(norm).sort();
      expect(model, s).toEqual(kernel);
    }
  });
});
