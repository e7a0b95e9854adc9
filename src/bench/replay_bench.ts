/**
 * Replay throughput: synthetic traffic (pktpath synth: TCP conversations, UDP, ICMP, ARP) between
 * clients and servers, split by direction into one capture per router interface, replayed through
 * captures/labs/router.yaml (routing, neighbours, conntrack, an nft forward chain) without a trace,
 * with a JSONL trace and with a msgpack trace. Baseline in the same run: reading + decoding the same
 * captures without the datapath.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PcapWriter } from '../pcap/writer.js';
import { CaptureReader } from '../pcap/reader.js';
import { synthesize, SYNTH_DEFAULTS } from '../pcap/synth.js';
import { loadWorld } from '../stack/world_load.js';
import { runReplay, parseInputArg } from '../workers/replay.js';
import { TraceWriter } from '../trace/writer.js';
import { PacketInfo, decodeFrame } from '../stack/wire/decode.js';
import type { BenchResult } from './pcap_bench.js';

const here = dirname(fileURLToPath(import.meta.url));
const LAB = resolve(here, '../../captures/labs/router.yaml');

/** Write the synthetic capture split by direction: client-sourced frames enter eth0, the rest eth1. */
function makeInputs(dir: string, packets: number): string[] {
  const a = new PcapWriter(join(dir, 'eth0.pcap'), { nanosecond: true, linktype: 1 });
  const b = new PcapWriter(join(dir, 'eth1.pcap'), { nanosecond: true, linktype: 1 });
  const ETH0 = [2, 0, 0, 0, 1, 1], ETH1 = [2, 0, 0, 0, 2, 1];
  synthesize({ ...SYNTH_DEFAULTS, packets, flows: 1000, rate: 100_000 }, {
    write(sec: number, nsec: number, data: Uint8Array) {
      // Source in the client pool (198.51.100.0/24) → arrives on eth0, else on eth1.
      const et = (data[12] << 8) | data[13];
      let toEth0 = true;
      if (et === 0x0800) toEth0 = data[26] === 198 && data[27] === 51;
      else if (et === 0x0806) toEth0 = data[28] === 198 && data[29] === 51;
      const f = data.slice();
      f.set(toEth0 ? ETH0 : ETH1, 0);
      (toEth0 ? a : b).write(sec, nsec, f);
    },
  });
  a.close();
  b.close();
  return [`${join(dir, 'eth0.pcap')}@router:eth0`, `${join(dir, 'eth1.pcap')}@router:eth1`];
}

function time(fn: () => number): { secs: number; n: number } {
  const t0 = process.hrtime.bigint();
  const n = fn();
  return { secs: Number(process.hrtime.bigint() - t0) / 1e9, n };
}

/** Run the replay benchmarks. */
export async function benchReplay(opts: { packets: number }): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'pktpath-bench-replay-'));
  try {
    const inputs = makeInputs(dir, opts.packets);
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
    const plain = time(() => runReplay(loadWorld(LAB, { allowUnsupported: false }), inputs.map(parseInputArg), { datapath: dp, limit: 0, onRecord: () => {} }).packets);
    const withFormat = (format: 'jsonl' | 'msgpack') =>
      time(() => {
        const w = new TraceWriter(join(dir, `t.${format}`), format);
        const n = runReplay(loadWorld(LAB, { allowUnsupported: false }), inputs.map(parseInputArg), {
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
      { name: 'read + decode (baseline)', value: pps(base), unit: 'packets/s' },
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
