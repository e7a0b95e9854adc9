/**
 * A direction-aware capture that shows a flow before and after masquerade makes the model adopt the
 * kernel's actual port choice (nfNatAdopt) instead of its own, so that replies in the capture match.
 * Here the "kernel" moved source port 5000 to 61234 (as get_unique_tuple does on a clash the model
 * cannot see, e.g. with connections older than the capture).
 */
import { describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PcapngWriter } from '../../src/pcap/writer.js';
import { lab, tcp } from '../helpers/frames.js';
import { runReplay, parseInputArg } from '../../src/workers/replay.js';
import { toTraceRecord, type TraceRecord } from '../../src/trace/schema.js';
import type { Final } from '../../src/stack/record.js';

// The host alone: the container's veth is an edge, as in a snapshot of the host namespace.
const yaml = readFileSync(resolve(__dirname, '../../captures/labs/docker-host.yaml'), 'utf8').replace('peer: c1/eth0', 'peer: none').split('\n  c1:')[0];
const HOST_ETH0 = '02:00:c6:33:64:02', PEER = '02:00:c6:33:64:01', DOCKER0 = '02:42:ac:11:00:01', C1 = '02:42:ac:11:00:02';

describe('NAT adoption from a direction-aware capture', () => {
  it('binds to the port the capture shows and un-NATs the reply with it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pktpath-adopt-'));
    try {
      const f = join(dir, 'any.pcapng');
      const w = new PcapngWriter(f);
      const veth = w.addInterface('vethc1', 1), eth0 = w.addInterface('eth0', 1);
      const t = 1000;
      w.write(veth, t, 0, tcp({ srcMac: C1, dstMac: DOCKER0, src: '172.17.0.2', dst: '198.51.100.1', sport: 5000, dport: 80, flags: 'S', seq: 7, id: 4242 }), { direction: 1 });
      w.write(eth0, t, 100000, tcp({ srcMac: HOST_ETH0, dstMac: PEER, src: '198.51.100.2', dst: '198.51.100.1', sport: 61234, dport: 80, flags: 'S', seq: 7, id: 4242, ttl: 63 }), { direction: 2 });
      w.write(eth0, t, 200000, tcp({ srcMac: PEER, dstMac: HOST_ETH0, src: '198.51.100.1', dst: '198.51.100.2', sport: 80, dport: 61234, flags: 'SA', seq: 900, ack: 8, id: 1 }), { direction: 1 });
      w.close();
      const recs: TraceRecord[] = [];
      runReplay(lab(yaml), [parseInputArg(`${f}@host`)], {
        datapath: { verifyChecksums: true, trace: true, allowUnsupported: false, seed: 1 },
        limit: 0,
        onRecord: (r) => recs.push(toTraceRecord(r)),
      });
      expect(recs).toHaveLength(2);
      expect((recs[0].final as Final).out).toMatchObject({ src: '198.51.100.2', sport: 61234 });
      expect(JSON.stringify(recs[0].steps)).toContain("the kernel's choice");
      expect(recs[1].nat[0]).toMatchObject({ kind: 'dnat', after: { dst: '172.17.0.2', dport: 5000 } });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
