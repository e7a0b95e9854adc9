/**
 * The direct msgpack packer (src/trace/msgpack_record.ts) must write exactly the bytes
 * @msgpack/msgpack writes for the schema object, and the JSONL writer (json_record.ts) exactly
 * JSON.stringify's text and a newline: every record of the bundled kernel scenarios, of
 * synthetic traffic through the router lab, and hand-made values at every msgpack size boundary.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Encoder, decodeMulti } from '@msgpack/msgpack';
import { loadWorld } from '../../src/stack/world_load.js';
import { runReplay, parseInputArg } from '../../src/workers/replay.js';
import { toTraceRecord } from '../../src/trace/schema.js';
import { JsonRecordWriter } from '../../src/trace/json_record.js';
import { MsgpackRecordPacker } from '../../src/trace/msgpack_record.js';
import { PacketRecord, intern } from '../../src/stack/record.js';
import { PcapWriter } from '../../src/pcap/writer.js';
import { synthesize, SYNTH_DEFAULTS } from '../../src/pcap/synth.js';

const root = resolve(__dirname, '../..');
const enc = new Encoder({ ignoreUndefined: true });

/** Replay and compare each record's packed bytes with the reference encoder's. */
function compare(world: string, inputs: string[]): number {
  const packer = new MsgpackRecordPacker(64);
  const json = new JsonRecordWriter(64);
  let n = 0;
  runReplay(loadWorld(world, { allowUnsupported: false }), inputs.map(parseInputArg), {
    datapath: { verifyChecksums: true, trace: true, allowUnsupported: false, seed: 1 },
    limit: 0,
    onRecord: (r) => {
      packer.reset();
      packer.record(r);
      const tr = toTraceRecord(r);
      json.reset();
      json.record(r);
      const line = Buffer.from(json.bytes()).toString('utf8');
      if (line !== JSON.stringify(tr) + '\n') throw new Error(`record ${r.index}: JSONL line differs\n got ${line}\nwant ${JSON.stringify(tr)}`);
      const want = enc.encode(tr);
      const got = packer.bytes();
      if (Buffer.compare(Buffer.from(got), Buffer.from(want)) !== 0) {
        throw new Error(`record ${r.index}: packed bytes differ\n got ${Buffer.from(got).toString('hex')}\nwant ${Buffer.from(want).toString('hex')}`);
      }
      n++;
    },
  });
  return n;
}

describe('msgpack record packer', () => {
  const dirs = [
    ...readdirSync(join(root, 'captures')).map((d) => join(root, 'captures', d)),
    ...readdirSync(join(root, 'tests/golden/ipv6')).map((d) => join(root, 'tests/golden/ipv6', d)),
  ];
  for (const dir of dirs) {
    const d = dir.slice(root.length + 1);
    if (!existsSync(join(dir, 'inputs'))) continue;
    it(`writes the reference encoder's bytes for every record of ${d}`, () => {
      const inputs = readdirSync(join(dir, 'inputs')).filter((f) => f.endsWith('.pcap')).sort().map((f) => `${join(dir, 'inputs', f)}@host:${f.slice(0, -5)}`);
      const world = existsSync(join(dir, 'world')) ? join(dir, 'world') : dir;
      expect(compare(world, inputs)).toBeGreaterThan(10);
    });
  }

  it('writes the reference bytes for synthetic traffic through the router lab (NEW, ESTABLISHED, drops, ARP, ICMP)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pktpath-mp-'));
    try {
      const a = new PcapWriter(join(dir, 'eth0.pcap'), { nanosecond: true, linktype: 1 });
      const b = new PcapWriter(join(dir, 'eth1.pcap'), { nanosecond: true, linktype: 1 });
      synthesize({ ...SYNTH_DEFAULTS, packets: 3000, flows: 50, rate: 1000, mix: { tcp: 50, udp: 20, icmp: 10, arp: 5, frag: 5, synflood: 10 } }, {
        write(sec: number, nsec: number, data: Uint8Array) {
          const fromClient = data[26] === 198 && data[27] === 51;
          const f = data.slice();
          f.set(fromClient ? [2, 0, 0, 0, 1, 1] : [2, 0, 0, 0, 2, 1], 0);
          (fromClient ? a : b).write(sec, nsec, f);
        },
      });
      a.close();
      b.close();
      expect(compare(join(root, 'captures/labs/router.yaml'), [`${join(dir, 'eth0.pcap')}@router:eth0`, `${join(dir, 'eth1.pcap')}@router:eth1`])).toBe(3000);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('packs numbers, strings, arrays and maps at every size boundary as @msgpack/msgpack does', () => {
    const nums = [0, 1, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER, -1, -32, -33, -128, -129, -32768, -32769, -(2 ** 31), -(2 ** 31) - 1, Number.MIN_SAFE_INTEGER, 0.5, -2.25, 1e300, 2 ** 53, -0];
    const strs = ['', 'a', 'x'.repeat(31), 'x'.repeat(32), 'x'.repeat(96), 'y'.repeat(97), 'z'.repeat(255), 'z'.repeat(256), 'w'.repeat(70000), 'ünïcødé → ✓', '𝔘'.repeat(40)];
    const value = {
      nums,
      strs,
      arr16: Array.from({ length: 20 }, (_, i) => i),
      map16: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, i])),
      skip: undefined,
      nested: { a: [null, true, false, { b: undefined, c: 'd' }], interned: intern({ kind: 'x', n: 300 }) },
    };
    const p = new MsgpackRecordPacker(8);
    p.value(value);
    p.value(value); // the second time from the caches
    const want = Buffer.concat([enc.encode(value), enc.encode(value)]);
    expect(Buffer.from(p.bytes()).equals(want)).toBe(true);
    expect([...decodeMulti(p.bytes())]).toHaveLength(2);
    const j = new JsonRecordWriter(8);
    j.value(value);
    j.value(value);
    expect(Buffer.from(j.bytes()).toString('utf8')).toBe(JSON.stringify(value).repeat(2));
    const odd = { nan: NaN, inf: -Infinity, neg: -5, frac: 0.1, big: 2 ** 40, esc: 'a"b\\c\n\u0001\u2028', arr: [undefined, 1] };
    j.reset();
    j.value(odd);
    expect(Buffer.from(j.bytes()).toString('utf8')).toBe(JSON.stringify(odd));
  });

  it('writes timestamps and addresses digit by digit like the record does', () => {
    const p = new MsgpackRecordPacker();
    for (const [sec, nsec] of [[0, 0], [1704067200, 5], [4294967295, 999999999], [12, 100000000]] as const) {
      const r = new PacketRecord(7, sec, nsec, 'host', 'eth0');
      r.l3 = 1;
      r.src4 = 0;
      r.dst4 = 0xffffffff;
      r.icmpId = 9;
      r.addFinal({ verdict: 'consumed', ns: 'host' });
      p.reset();
      p.record(r);
      expect(Buffer.from(p.bytes()).equals(Buffer.from(enc.encode(toTraceRecord(r))))).toBe(true);
      const j = new JsonRecordWriter(4);
      j.record(r);
      expect(Buffer.from(j.bytes()).toString('utf8')).toBe(JSON.stringify(toTraceRecord(r)) + '\n');
    }
  });
});
