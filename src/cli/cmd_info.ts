/**
 * `pktpath info FILE...`: a capinfos-like summary of captures, read with our own reader, so it also
 * shows what pktpath will see: format, byte order, timestamp precision, sections, interfaces, packet
 * count, first/last timestamp, duration and packets cut by the snaplen.
 */
import type { Command } from 'commander';
import { CaptureFormatError } from '../errors.js';
import { linktypeName } from '../pcap/linktype.js';
import { CaptureReader, formatTs } from '../pcap/reader.js';
import { action, exitCodeFor, reportError } from './run.js';

/** One interface in `info` output. */
export interface InterfaceInfo {
  id: number;
  name: string | null;
  description: string | null;
  linktype: number;
  linktypeName: string;
  snaplen: number;
  tsresolNs: number;
  section: number;
  packets: number;
}

/** One file's summary (the --json element). Timestamps are formatTs() strings; null with no packets. */
export interface CaptureInfo {
  file: string;
  format: 'pcap' | 'pcapng';
  byteOrder: 'little' | 'big';
  precision: 'micro' | 'nano' | 'mixed';
  sections: number;
  interfaces: InterfaceInfo[];
  packets: number;
  truncated: number;
  capturedBytes: number;
  first: string | null;
  last: string | null;
  duration: string | null;
  /** Set when reading stopped at a corrupt or cut-off record; the counts cover the packets before it. */
  error?: string;
}

/** Read a whole capture and summarise it. Throws CaptureFormatError only if the header is bad. */
export function captureInfo(path: string): CaptureInfo {
  return summarise(path).info;
}

function summarise(path: string): { info: CaptureInfo; failure: CaptureFormatError | null } {
  const r = CaptureReader.open(path);
  const perIface: number[] = [];
  let packets = 0, truncated = 0, bytes = 0;
  // Earliest and latest, like capinfos: captures merged from several interfaces are not in order.
  let minSec = Infinity, minNsec = 0, maxSec = -Infinity, maxNsec = 0;
  let failure: CaptureFormatError | null = null;
  try {
    for (let p = r.next(); p !== null; p = r.next()) {
      packets++;
      bytes += p.caplen;
      if (p.truncated) truncated++;
      const i = p.ifaceId < 0 ? 0 : p.ifaceId;
      perIface[i] = (perIface[i] ?? 0) + 1;
      if (p.tsSec < minSec || (p.tsSec === minSec && p.tsNsec < minNsec)) { minSec = p.tsSec; minNsec = p.tsNsec; }
      if (p.tsSec > maxSec || (p.tsSec === maxSec && p.tsNsec > maxNsec)) { maxSec = p.tsSec; maxNsec = p.tsNsec; }
    }
  } catch (err) {
    if (!(err instanceof CaptureFormatError)) throw err;
    failure = err;
  } finally {
    r.close();
  }
  let duration: string | null = null;
  if (packets > 0) {
    let ds = maxSec - minSec, dn = maxNsec - minNsec;
    if (dn < 0) { ds -= 1; dn += 1e9; }
    duration = formatTs(ds, dn);
  }
  const info: CaptureInfo = {
    file: path, format: r.format, byteOrder: r.byteOrder, precision: r.precision, sections: r.sections,
    interfaces: r.interfaces.map((i) => ({
      id: i.id, name: i.name, description: i.description, linktype: i.linktype, linktypeName: linktypeName(i.linktype),
      snaplen: i.snaplen, tsresolNs: i.tsresolNs, section: i.section, packets: perIface[i.id] ?? 0,
    })),
    packets, truncated, capturedBytes: bytes,
    first: packets > 0 ? formatTs(minSec, minNsec) : null,
    last: packets > 0 ? formatTs(maxSec, maxNsec) : null,
    duration,
  };
  if (failure !== null) info.error = `offset ${failure.offset}: ${failure.what}`;
  return { info, failure };
}

/** The text form of one summary. */
export function formatInfo(info: CaptureInfo): string {
  const units = info.precision === 'micro' ? 'microsecond' : info.precision === 'nano' ? 'nanosecond' : 'mixed-precision';
  const sections = info.format === 'pcapng' ? `, ${info.sections} section${info.sections === 1 ? '' : 's'}` : '';
  const lines = [
    `File:          ${info.file}`,
    `Format:        ${info.format}, ${info.byteOrder}-endian, ${units} timestamps${sections}`,
    `Interfaces:    ${info.interfaces.length}`,
  ];
  const nameWidth = Math.max(1, ...info.interfaces.map((i) => (i.name ?? '-').length));
  for (const i of info.interfaces) {
    const section = info.sections > 1 ? `  section ${i.section}` : '';
    lines.push(`  ${String(i.id).padStart(2)}  ${(i.name ?? '-').padEnd(nameWidth)}  ` +
      `${`${i.linktypeName} (${i.linktype})`.padEnd(16)}  snaplen ${i.snaplen === 0 ? 'none' : i.snaplen}  ` +
      `${i.packets} packet${i.packets === 1 ? '' : 's'}${section}`);
  }
  lines.push(
    `Packets:       ${info.packets}`,
    `Truncated:     ${info.truncated} (captured shorter than on the wire)`,
    `Data:          ${info.capturedBytes} bytes captured`,
    `First packet:  ${info.first ?? '-'}`,
    `Last packet:   ${info.last ?? '-'}`,
    `Duration:      ${info.duration !== null ? `${info.duration} s` : '-'}`,
  );
  if (info.error !== undefined) lines.push(`Stopped at:    ${info.error.replace(/:.*/, '')}, after ${info.packets} packets (see the error)`);
  return lines.join('\n') + '\n';
}

/** Register `info`. */
export function register(program: Command): void {
  program
    .command('info')
    .description('summarise capture files (pcap, pcapng): format, interfaces, packets, time span')
    .argument('<file...>', "capture files; '-' reads standard input")
    .option('--json', 'print a JSON array with one object per file')
    .addHelpText('after', `
Examples:
  $ pktpath info capture.pcapng
  $ pktpath info --json a.pcap b.pcapng | jq '.[] | {file, packets, duration}'
  $ tcpdump -i eth0 -c 100 -w - | pktpath info -

Timestamps are seconds since the epoch with 9 decimals, as tshark prints frame.time_epoch.
"First" and "last" are the earliest and latest packet times. A file that ends mid-packet is
summarised up to that point, then reported as an error (exit status 1).`)
    .action(action((files: string[], opts: { json?: boolean }) => {
      const infos: CaptureInfo[] = [];
      let failed = 0;
      for (const file of files) {
        let info: CaptureInfo, failure: CaptureFormatError | null;
        try {
          ({ info, failure } = summarise(file));
        } catch (err) {
          if (!(err instanceof CaptureFormatError) && (err as NodeJS.ErrnoException).code === undefined) throw err;
          reportError(err);
          failed = exitCodeFor(err);
          continue;
        }
        infos.push(info);
        if (!opts.json) process.stdout.write((infos.length > 1 ? '\n' : '') + formatInfo(info));
        if (failure !== null) {
          reportError(failure);
          failed = 1;
        }
      }
      if (opts.json) process.stdout.write(JSON.stringify(infos, null, 2) + '\n');
      if (failed !== 0) process.exitCode = failed;
    }));
}
