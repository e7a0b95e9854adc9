/**
 * Capture-layer benchmark: write a classic pcap of mixed Ethernet/IPv4 TCP and UDP frames with
 * PcapWriter, then read it back extracting each packet's 5-tuple, with CaptureReader and with
 * pcap-parser (the classic-pcap reference), in the same process on the same file.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventEmitter } from 'node:events';
import { LINKTYPE_ETHERNET } from '../pcap/linktype.js';
import { CaptureReader } from '../pcap/reader.js';
import { PcapWriter } from '../pcap/writer.js';

/** One measured number. */
export interface BenchResult { name: string; value: number; unit: string }

// IMIX-like size mix (7:4:1 of 60/576/1514 bytes), as frame length and IP protocol.
const MIX: ReadonlyArray<readonly [len: number, proto: number]> = [
  [60, 6], [60, 6], [60, 17], [60, 6], [576, 17], [60, 6], [576, 6], [60, 17], [576, 17], [60, 6], [576, 6], [1514, 6],
];

/** Write `packets` frames; source/destination addresses and ports vary per packet. */
function generate(path: string, packets: number): void {
  const w = new PcapWriter(path, { nanosecond: false, linktype: LINKTYPE_ETHERNET });
  const frame = new Uint8Array(1514);
  const dv = new DataView(frame.buffer);
  dv.setUint16(12, 0x0800); // IPv4 (RFC 894)
  frame[14] = 0x45; // version 4, IHL 5 (RFC 791 §3.1)
  frame[22] = 64;
  for (let i = 0; i < packets; i++) {
    const [len, proto] = MIX[i % MIX.length]!;
    dv.setUint16(16, len - 14);
    frame[23] = proto;
    dv.setUint32(26, 0xc6336400 + (i & 0xff)); // 198.51.100.x
    dv.setUint32(30, 0xcb007100 + ((i >>> 8) & 0xff)); // 203.0.113.y
    dv.setUint16(34, 1024 + (i % 50000));
    dv.setUint16(36, proto === 6 ? 443 : 53);
    w.write(1_700_000_000 + Math.floor(i / 100_000), (i % 100_000) * 10_000, frame.subarray(0, len));
  }
  w.close();
}

/** Fold an Ethernet/IPv4 frame's 5-tuple into `acc`, reading bytes at fixed offsets (RFC 791, 793, 768). */
function tuple(b: Uint8Array, o: number, len: number, acc: number): number {
  if (len < 38 || b[o + 12] !== 0x08 || b[o + 13] !== 0x00) return acc;
  const l4 = o + 14 + ((b[o + 14]! & 0x0f) << 2);
  const src = (b[o + 26]! << 24) | (b[o + 27]! << 16) | (b[o + 28]! << 8) | b[o + 29]!;
  const dst = (b[o + 30]! << 24) | (b[o + 31]! << 16) | (b[o + 32]! << 8) | b[o + 33]!;
  const ports = (b[l4]! << 24) | (b[l4 + 1]! << 16) | (b[l4 + 2]! << 8) | b[l4 + 3]!;
  return (Math.imul(acc ^ src, 31) + (dst ^ ports) + b[o + 23]!) | 0;
}

interface Pass { seconds: number; packets: number; acc: number }

function readOurs(path: string, viaData: boolean): Pass {
  const t0 = performance.now();
  const r = CaptureReader.open(path);
  let packets = 0, acc = 0;
  if (viaData) {
    for (let p = r.next(); p !== null; p = r.next(), packets++) acc = tuple(p.data, 0, p.caplen, acc);
  } else {
    for (let p = r.next(); p !== null; p = r.next(), packets++) acc = tuple(p.buf, p.off, p.caplen, acc);
  }
  r.close();
  return { seconds: (performance.now() - t0) / 1000, packets, acc };
}

function readPcapParser(path: string): Promise<Pass> {
  const require = createRequire(import.meta.url);
  const pcapParser = require('pcap-parser') as { parse(path: string): EventEmitter };
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    let packets = 0, acc = 0;
    const parser = pcapParser.parse(path);
    parser.on('packet', (p: { data: Buffer }) => {
      acc = tuple(p.data, 0, p.data.length, acc);
      packets++;
    });
    parser.on('error', reject);
    parser.on('end', () => resolve({ seconds: (performance.now() - t0) / 1000, packets, acc }));
  });
}

/** Best (fastest) of `runs` passes; every pass must agree on the packets and the 5-tuple fold. */
async function best(runs: number, pass: () => Pass | Promise<Pass>): Promise<Pass> {
  let b: Pass | null = null;
  for (let i = 0; i < runs; i++) {
    const p = await pass();
    if (b !== null && (p.packets !== b.packets || p.acc !== b.acc)) throw new Error('benchmark passes disagree');
    if (b === null || p.seconds < b.seconds) b = p;
  }
  return b!;
}

/** Write a `packets`-packet pcap to a temp dir, time our reader against pcap-parser, delete the file. */
export async function benchPcap(opts: { packets: number }): Promise<BenchResult[]> {
  const dir = mkdtempSync(join(tmpdir(), 'pktpath-bench-'));
  try {
    const file = join(dir, 'bench.pcap');
    const t0 = performance.now();
    generate(file, opts.packets);
    const writeSec = (performance.now() - t0) / 1000;
    const mib = statSync(file).size / (1 << 20);

    const viaBuf = await best(2, () => readOurs(file, false));
    const viaData = await best(2, () => readOurs(file, true));
    const theirs = await best(2, () => readPcapParser(file));
    for (const p of [viaBuf, viaData, theirs]) {
      if (p.packets !== opts.packets || p.acc !== viaBuf.acc) {
        throw new Error(`readers disagree: ${p.packets} packets, 5-tuple fold ${p.acc} vs ${viaBuf.acc}`);
      }
    }
    const pps = (p: Pass): number => Math.round(p.packets / p.seconds);
    return [
      { name: `pcap write, PcapWriter (${opts.packets} packets, ${mib.toFixed(0)} MiB)`, value: Math.round(opts.packets / writeSec), unit: 'packets/s' },
      { name: 'pcap read + 5-tuple, CaptureReader (buf+off)', value: pps(viaBuf), unit: 'packets/s' },
      { name: 'pcap read + 5-tuple, CaptureReader (data view)', value: pps(viaData), unit: 'packets/s' },
      { name: 'pcap read + 5-tuple, CaptureReader (buf+off)', value: mib / viaBuf.seconds, unit: 'MiB/s' },
      { name: 'pcap read + 5-tuple, pcap-parser', value: pps(theirs), unit: 'packets/s' },
      { name: 'CaptureReader (data view) vs pcap-parser', value: theirs.seconds / viaData.seconds, unit: 'x faster' },
    ];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
