/**
 * Replay throughput: synthetic traffic (pktpath synth: TCP conversations, UDP, ICMP, ARP) between
 * clients and servers, injected at the workload's ingress devices (default: split by direction over
 * the two interfaces of captures/labs/router.yaml: routing, neighbours, conntrack, an nft forward
 * chain), replayed without a trace, with a JSONL trace and with a msgpack trace. Baseline in the same
 * run: reading + decoding the same captures without the datapath.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CaptureReader } from '../pcap/reader.js';
import { ROUTER_WORKLOAD, writeWorkload, describeWorkload, type Workload } from './workload.js';
import { loadWorld } from '../stack/world_load.js';
import { runReplay, parseInputArg } from '../workers/replay.js';
import { TraceWriter } from '../trace/writer.js';
import { PacketInfo, decodeFrame } from '../stack/wire/decode.js';
import type { BenchResult } from './pcap_bench.js';

function time(fn: () => number): { secs: number; n: number } {
  const t0 = process.hrtime.bigint();
  const n = fn();
  return { secs: Number(process.hrtime.bigint() - t0) / 1e9, n };
}

/** Run the replay benchmarks. */
export async function benchReplay(opts: { packets: number; workload?: Workload }): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'pktpath-bench-replay-'));
  const wl = opts.workload ?? ROUTER_WORKLOAD;
  try {
    const inputs = writeWorkload(dir, wl, opts.packets, 100_000);
    const dp = { verifyChecksums: true, trace: false, allowUnsupported: false, seed: 1 };
    // Baseline: read + decode both captures (no datapath).
    const base = time(() => {
      const info = new PacketInfo();
      let n = 0;
      for (const inp of inputs.map(parseInputArg)) {
        const r = CaptureReader.open(inp.path);
        for (let p = r.next(); p; p = r.next()) {
          decodeFrame(info, p.data, p.caplen, p.origLen, p.linktype, { verifyChecksums: true });
          n++;
        }
        r.close();
      }
      return n;
    });
    const plain = time(() => runReplay(loadWorld(wl.world, { allowUnsupported: false }), inputs.map(parseInputArg), { datapath: dp, limit: 0, onRecord: () => {} }).packets);
    const withFormat = (format: 'jsonl' | 'msgpack') =>
      time(() => {
        const w = new TraceWriter(join(dir, `t.${format}`), format);
        const n = runReplay(loadWorld(wl.world, { allowUnsupported: false }), inputs.map(parseInputArg), {
          datapath: { ...dp, trace: true },
          limit: 0,
          onRecord: (r) => w.writePacket(r),
        }).packets;
        w.close();
        return n;
      });
    const jsonl = withFormat('jsonl');
    const msgpack = withFormat('msgpack');
    const pps = (x: { secs: number; n: number }) => x.n / x.secs;
    return [
      { name: `read + decode (baseline; ${describeWorkload(wl)}, ${wl.flows} flows)`, value: pps(base), unit: 'packets/s' },
      { name: 'replay, no trace', value: pps(plain), unit: 'packets/s' },
      { name: 'replay, JSONL trace', value: pps(jsonl), unit: 'packets/s' },
      { name: 'replay, msgpack trace', value: pps(msgpack), unit: 'packets/s' },
      { name: 'replay no trace / baseline', value: pps(plain) / pps(base), unit: 'ratio' },
      { name: 'replay msgpack / replay no trace', value: pps(msgpack) / pps(plain), unit: 'ratio' },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
