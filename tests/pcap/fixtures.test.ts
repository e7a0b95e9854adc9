/**
 * Our reader against captures written by real tools (tests/fixtures/pcap/README.md says how each was
 * made): against tshark's reading stored beside each file (and tshark live when installed), and
 * against pcap-parser on the classic µs files.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CaptureReader, formatTs } from '../../src/pcap/reader.js';
import { have } from './helpers.js';

const DIR = join(import.meta.dirname, '../fixtures/pcap');
const require = createRequire(import.meta.url);

/** What each fixture must look like beyond the per-packet fields. */
const EXPECT: Record<string, { format: string; byteOrder: string; precision: string; linktypes: number[]; sections: number }> = {
  'tcpdump_us.pcap': { format: 'pcap', byteOrder: 'little', precision: 'micro', linktypes: [1], sections: 1 },
  'tcpdump_us_be.pcap': { format: 'pcap', byteOrder: 'big', precision: 'micro', linktypes: [1], sections: 1 },
  'tcpdump_ns_s128.pcap': { format: 'pcap', byteOrder: 'little', precision: 'nano', linktypes: [1], sections: 1 },
  'tcpdump_any_sll2.pcap': { format: 'pcap', byteOrder: 'little', precision: 'micro', linktypes: [276], sections: 1 },
  'tcpdump_any_sll.pcap': { format: 'pcap', byteOrder: 'little', precision: 'micro', linktypes: [113], sections: 1 },
  'dumpcap_2if.pcapng': { format: 'pcapng', byteOrder: 'little', precision: 'nano', linktypes: [1, 1], sections: 1 },
  'editcap_ns.pcapng': { format: 'pcapng', byteOrder: 'little', precision: 'nano', linktypes: [1], sections: 1 },
  'sections_2.pcapng': { format: 'pcapng', byteOrder: 'little', precision: 'nano', linktypes: [1, 1, 1], sections: 2 },
};

type Row = [time: string, len: string, capLen: string, ifId: string, ifName: string, direction: string];

function parseTsv(text: string): Row[] {
  return text.split('\n').filter((l) => l !== '').map((l) => {
    const f = l.split('\t');
    while (f.length < 6) f.push('');
    return f as Row;
  });
}

/** Compare our reading with tshark's rows (fields as in tshark_fields.sh). */
function compareWithTshark(file: string, rows: Row[]): void {
  const pass1 = CaptureReader.open(join(DIR, file));
  while (pass1.next() !== null); // sections and interfaces are known only once read
  const multiSection = pass1.sections > 1;
  const r = CaptureReader.open(join(DIR, file));
  let i = 0;
  for (let p = r.next(); p !== null; p = r.next(), i++) {
    const row = rows[i];
    expect(row, `${file}: tshark has fewer packets than we read`).toBeDefined();
    const [time, len, capLen, ifId, ifName, direction] = row!;
    const where = `${file} packet ${i + 1}`;
    expect(formatTs(p.tsSec, p.tsNsec), where).toBe(time);
    expect(p.origLen, where).toBe(Number(len));
    expect(p.caplen, where).toBe(Number(capLen));
    expect(p.direction, where).toBe(direction === '' ? 0 : Number(direction) & 3);
    if (r.format === 'pcap') {
      expect([ifId, ifName], where).toEqual(['', '']);
      continue;
    }
    const iface = r.interfaces[p.ifaceId]!;
    if (multiSection) {
      // tshark 4.0 numbers interfaces per section and names them from the first section's list;
      // we number them file-wide. Accept its section-local id (or a file-wide one from a later tshark).
      const local = p.ifaceId - r.interfaces.findIndex((x) => x.section === iface.section);
      expect([String(local), String(p.ifaceId)], where).toContain(ifId);
    } else {
      expect(Number(ifId), where).toBe(p.ifaceId);
      expect(iface.name ?? 'unknown', where).toBe(ifName); // tshark prints "unknown" for no if_name
    }
  }
  expect(i, `${file}: packet count`).toBe(rows.length);
}

const files = readdirSync(DIR).filter((f) => /\.(pcap|pcapng)$/.test(f)).sort();

describe('real-tool fixtures', () => {
  it('has every fixture we expect', () => {
    expect(files).toEqual(Object.keys(EXPECT).sort());
  });

  for (const file of files) {
    it(`${file}: header facts`, () => {
      const r = CaptureReader.open(join(DIR, file));
      const want = EXPECT[file]!;
      let n = 0;
      while (r.next() !== null) n++;
      expect(n).toBeGreaterThan(0);
      expect({ format: r.format, byteOrder: r.byteOrder, precision: r.precision, sections: r.sections,
        linktypes: r.interfaces.map((i) => i.linktype) }).toEqual(want);
    });

    it(`${file}: matches the stored tshark reading`, () => {
      compareWithTshark(file, parseTsv(readFileSync(join(DIR, `${file}.tsv`), 'utf8')));
    });

    it.skipIf(!have('tshark'))(`${file}: matches tshark live`, () => {
      const out = execFileSync('bash', [join(DIR, 'tshark_fields.sh'), join(DIR, file)], { encoding: 'utf8' });
      compareWithTshark(file, parseTsv(out));
    });
  }
});

describe('cross-check with pcap-parser (classic µs pcap)', () => {
  interface PP { header: { timestampSeconds: number; timestampMicroseconds: number; capturedLength: number; originalLength: number }; data: Buffer }

  function parseWithPcapParser(path: string): Promise<{ linktype: number; packets: PP[] }> {
    const pcapParser = require('pcap-parser') as { parse(p: string): NodeJS.EventEmitter };
    return new Promise((resolve, reject) => {
      const packets: PP[] = [];
      let linktype = -1;
      const parser = pcapParser.parse(path);
      parser.on('globalHeader', (h: { linkLayerType: number }) => { linktype = h.linkLayerType; });
      parser.on('packet', (p: PP) => packets.push({ header: p.header, data: Buffer.from(p.data) }));
      parser.on('error', reject);
      parser.on('end', () => resolve({ linktype, packets }));
    });
  }

  // pcap-parser knows only the a1b2c3d4 (µs) magic, in either byte order.
  for (const file of ['tcpdump_us.pcap', 'tcpdump_us_be.pcap', 'tcpdump_any_sll2.pcap', 'tcpdump_any_sll.pcap']) {
    it(`${file}: same packets, bytes and timestamps`, async () => {
      const theirs = await parseWithPcapParser(join(DIR, file));
      const r = CaptureReader.open(join(DIR, file));
      expect(r.interfaces[0]!.linktype).toBe(theirs.linktype);
      let i = 0;
      for (let p = r.next(); p !== null; p = r.next(), i++) {
        const t = theirs.packets[i]!;
        expect([p.tsSec, p.tsNsec, p.caplen, p.origLen]).toEqual([
          t.header.timestampSeconds, t.header.timestampMicroseconds * 1000, t.header.capturedLength, t.header.originalLength]);
        expect(Buffer.from(p.data).equals(t.data)).toBe(true);
      }
      expect(i).toBe(theirs.packets.length);
    });
  }
});
