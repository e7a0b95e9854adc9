/**
 * Shared by the filter tests: the fixture capture as decoded frames, expected.tsv, and running
 * tcpdump on the capture when it is installed.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CaptureReader } from '../../src/pcap/reader.js';
import { compileFilter } from '../../src/trace/filter.js';
import { decodeFrame, PacketInfo } from '../../src/stack/wire/decode.js';

export const FIXTURES = join(import.meta.dirname, '../fixtures/filter');
export const PCAP = join(FIXTURES, 'filter.pcap');

/** One captured frame, copied out of the reader's buffer. */
export interface Frame {
  data: Uint8Array;
  caplen: number;
  origLen: number;
  linktype: number;
}

/** Every frame of a capture file. */
export function readFrames(path: string): Frame[] {
  const r = CaptureReader.open(path);
  const out: Frame[] = [];
  for (let p = r.next(); p !== null; p = r.next()) {
    out.push({ data: p.data.slice(), caplen: p.caplen, origLen: p.origLen, linktype: p.linktype });
  }
  return out;
}

const info = new PacketInfo();

/** Frame numbers (from 1) that `expr` selects, decoding each frame into one reused PacketInfo. */
export function selectFrames(expr: string, frames: Frame[]): number[] {
  const f = compileFilter(expr);
  const out: number[] = [];
  frames.forEach((fr, i) => {
    decodeFrame(info, fr.data, fr.caplen, fr.origLen, fr.linktype, { verifyChecksums: false });
    if (f(info)) out.push(i + 1);
  });
  return out;
}

/** The VLAN tag count of each frame (index 0 is frame 1). */
export function tagCounts(frames: Frame[]): number[] {
  return frames.map((fr) => {
    decodeFrame(info, fr.data, fr.caplen, fr.origLen, fr.linktype, { verifyChecksums: false });
    return info.vlanCount;
  });
}

/** One row of expected.tsv: tcpdump's selection of EXPR, `vlan and (EXPR)`, `vlan and vlan and (EXPR)`. */
export interface ExpectedRow {
  expr: string;
  /** Index k: frames selected for frames with k tags; null where the fixture has "-". */
  byTags: (number[] | null)[];
}

export function readExpected(): { header: string; rows: ExpectedRow[] } {
  const lines = readFileSync(join(FIXTURES, 'expected.tsv'), 'utf8').split('\n').filter((l) => l !== '');
  const header = lines.find((l) => l.startsWith('#')) ?? '';
  const rows = lines.filter((l) => !l.startsWith('#')).map((l) => {
    const [expr, ...cols] = l.split('\t');
    const byTags = cols.map((c) => (c === '-' ? null : c === '' ? [] : c.split(',').map(Number)));
    return { expr, byTags };
  });
  return { header, rows };
}

/** Whether a program is on PATH. */
export function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Frame numbers tcpdump selects from `path` with `expr`, or an Error with tcpdump's message when it
 * rejects the expression. Frames are told apart by their (unique, nanosecond) timestamps, because
 * `tcpdump -#` numbers the frames it prints, not the frames of the file.
 */
export function tcpdumpSelect(path: string, expr: string, stamps: Map<string, number>): number[] | Error {
  const r = spawnSync('tcpdump', ['-r', path, '--time-stamp-precision', 'nano', '-n', '-q', '-tt', '--', expr], { encoding: 'utf8' });
  if (r.status !== 0) return new Error(r.stderr.split('\n').filter((l) => l.startsWith('tcpdump:')).join(' ') || `exit ${r.status}`);
  const out: number[] = [];
  for (const line of r.stdout.split('\n')) {
    const m = /^([0-9]+\.[0-9]+) /.exec(line);
    if (!m) continue;
    const n = stamps.get(m[1]);
    if (n === undefined) throw new Error(`tcpdump printed a frame we cannot number: ${line}`);
    out.push(n);
  }
  return out;
}

/** Timestamp text (as tcpdump -tt prints it at ns precision) → frame number. */
export function tcpdumpStamps(path: string): Map<string, number> {
  const r = CaptureReader.open(path);
  const m = new Map<string, number>();
  for (let p = r.next(); p !== null; p = r.next()) {
    m.set(`${p.tsSec}.${String(p.tsNsec).padStart(9, '0')}`, p.index + 1);
  }
  return m;
}
