/**
 * `pktpath decode FILE...`: one line per packet, like `tcpdump -n` (or JSON lines), with the kernel's
 * drop reason for every malformed packet.
 */
import { Command, InvalidArgumentError } from 'commander';
import { writeSync } from 'node:fs';
import { CaptureReader } from '../pcap/reader.js';
import { decodeFrame, PacketInfo, type DecodeOptions } from '../stack/wire/decode.js';
import { DecodeFormatter, OutBuf, type DecodeFormat, type FrameMeta, type TimeStyle } from '../trace/format_decode.js';
import { action, parsePositiveInt } from './run.js';

const HELP_AFTER = `
Text lines follow tcpdump -n (absolute sequence numbers, as with -S); problems the kernel would drop
the packet for are appended in brackets with the kernel's drop reason names, e.g. [TCP_CSUM]. A
header cut short only by the capture's snaplen shows [HDR_TRUNC] (caplen < len in JSON).

Examples:
  pktpath decode trace.pcapng                       tcpdump-style lines
  pktpath decode -c 10 a.pcap b.pcap                first 10 packets of a.pcap then b.pcap
  pktpath decode --format jsonl trace.pcap | jq .   one JSON object per packet
  pktpath decode --no-checksums host.pcap           capture taken on a host with checksum offload
  tcpdump -w - -i eth0 | pktpath decode -           read a capture from stdin`;

/** Bytes gathered before one write(2): large enough that writing costs little per line. */
const kFlushBytes = 1 << 20;
const SLEEP = new Int32Array(new SharedArrayBuffer(4));

/** Thrown internally when stdout's reader went away (`| head`); ends the command quietly. */
export class StdoutClosed extends Error {}

/** Write `out`'s bytes to `fd` and empty it. */
function flush(out: OutBuf, fd: number): void {
  let off = 0;
  while (off < out.pos) {
    try {
      off += writeSync(fd, out.buf, off, out.pos - off);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EPIPE') throw new StdoutClosed();
      if (code !== 'EAGAIN') throw err;
      Atomics.wait(SLEEP, 0, 0, 5); // non-blocking pipe: wait for the reader
    }
  }
  out.pos = 0;
}

function parseFormat(v: string): DecodeFormat {
  if (v !== 'text' && v !== 'jsonl') throw new InvalidArgumentError('expected text or jsonl.');
  return v;
}

function parseTime(v: string): TimeStyle {
  if (v !== 'tod' && v !== 'epoch' && v !== 'none') throw new InvalidArgumentError('expected tod, epoch or none.');
  return v;
}

/** Options of `decode` as commander parses them. */
export interface DecodeCliOptions {
  format: DecodeFormat;
  count?: number;
  checksums: boolean;
  time: TimeStyle;
}

/**
 * Decode `files` one after another (the index continues across files) to file descriptor `fd`;
 * returns the number of packets printed. Throws StdoutClosed when the reader of `fd` went away.
 */
export function runDecode(files: string[], opts: DecodeCliOptions, fd = 1): number {
  const out = new OutBuf(kFlushBytes + (1 << 16));
  const fmt = new DecodeFormatter(opts.format, opts.time);
  const info = new PacketInfo();
  const dopts: DecodeOptions = { verifyChecksums: opts.checksums };
  const meta: FrameMeta = { index: 0, tsSec: 0, tsNsec: 0, ifaceName: null, ifaceId: -1, direction: 0, multiIface: false };
  const limit = opts.count ?? Infinity;
  let index = 0;
  try {
    for (const file of files) {
      if (index >= limit) break;
      const r = CaptureReader.open(file);
      try {
        for (let p = r.next(); p !== null && index < limit; p = r.next()) {
          decodeFrame(info, p.data, p.caplen, p.origLen, p.linktype, dopts);
          meta.index = index++;
          meta.tsSec = p.tsSec;
          meta.tsNsec = p.tsNsec;
          meta.ifaceId = p.ifaceId;
          meta.ifaceName = p.ifaceId >= 0 ? r.interfaces[p.ifaceId]?.name ?? null : null;
          meta.direction = p.direction;
          meta.multiIface = r.interfaces.length > 1;
          fmt.write(out, info, meta);
          if (out.pos >= kFlushBytes) flush(out, fd);
        }
      } finally {
        r.close();
      }
    }
  } catch (err) {
    // Print every packet decoded before a corrupt record, then report it.
    if (!(err instanceof StdoutClosed)) flush(out, fd);
    throw err;
  }
  flush(out, fd);
  return index;
}

/** Register `decode` on the program. */
export function register(program: Command): void {
  program
    .command('decode')
    .summary('print packets one per line, like tcpdump -n')
    .description('Decode captures (pcap, pcapng; Ethernet, Linux cooked SLL/SLL2, raw IP, BSD loopback) one line per packet, ' +
      'flagging packets the kernel would drop with its drop reason.')
    .argument('<file...>', 'capture files, decoded one after another; - reads stdin')
    .option('--format <format>', 'text (tcpdump -n style) or jsonl', parseFormat, 'text' as DecodeFormat)
    .option('-c, --count <n>', 'stop after N packets', parsePositiveInt)
    .option('--no-checksums', 'do not verify checksums (captures taken with checksum offload)')
    .option('--time <style>', 'text timestamps: tod (UTC time of day), epoch, or none', parseTime, 'tod' as TimeStyle)
    .addHelpText('after', HELP_AFTER)
    .action(action((files: string[], opts: DecodeCliOptions) => {
      try {
        runDecode(files, opts);
      } catch (err) {
        if (err instanceof StdoutClosed) return; // `| head` closed the pipe: not an error
        throw err;
      }
    }));
}
