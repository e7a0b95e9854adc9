/**
 * Per-interface output captures (--pcap-out) against the kernel's own tcpdump on each host device
 * (shared/oracle/<s>/captures/host-<dev>.pcap): the same frames in the same order, compared on MACs,
 * ARP op, IP addresses, TTL, TCP flags, ports and ICMP type. Not compared: timestamps (the model's
 * clock is the input's; the kernel's differs by microseconds) and the IP id of ICMP errors the host
 * generates (the kernel draws it from a hashed per-destination counter, ip_idents, with a random key).
 */
import { describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadWorld } from '../../src/stack/world_load.js';
import { runReplay, parseInputArg } from '../../src/workers/replay.js';
import { PcapOut } from '../../src/trace/pcap_out.js';
import { CaptureReader } from '../../src/pcap/reader.js';
import { PacketInfo, decodeFrame } from '../../src/stack/wire/decode.js';

const shared = resolve(__dirname, '../../../shared/oracle');
const scen = existsSync(shared) ? readdirSync(shared).filter((d) => existsSync(join(shared, d, 'truth', 'world'))) : [];

function frames(path: string): string[] {
  const r = CaptureReader.open(path);
  const info = new PacketInfo();
  const out: string[] = [];
  for (let p = r.next(); p; p = r.next()) {
    decodeFrame(info, p.data, p.caplen, p.origLen, p.linktype, { verifyChecksums: false });
    const mac = (hi: number, lo: number) => `${hi.toString(16)}.${lo.toString(16)}`;
    out.push([mac(info.srcMacHi, info.srcMacLo), mac(info.dstMacHi, info.dstMacLo), info.ethertype, info.arpOp, info.src4, info.dst4, info.ttl, info.tcpFlags, info.sport, info.dport, info.icmpType].join(' '));
  }
  r.close();
  return out;
}

describe('per-interface captures equal the kernel\'s tcpdump on each host device', () => {
  it.skipIf(scen.length === 0)(`(${scen.length ? scen.join(', ') : 'skipped: ../shared/oracle not present'})`, () => {
    for (const s of scen) {
      const tdir = join(shared, s, 'truth');
      const dir = mkdtempSync(join(tmpdir(), 'pktpath-pcapout-'));
      try {
        const out = new PcapOut(dir);
        const inputs = readdirSync(join(tdir, 'inputs')).filter((f) => f.endsWith('.pcap')).sort().map((f) => `${join(tdir, 'inputs', f)}@host:${f.slice(0, -5)}`);
        runReplay(loadWorld(join(tdir, 'world'), { allowUnsupported: false }), inputs.map(parseInputArg), {
          datapath: { verifyChecksums: true, trace: false, allowUnsupported: false, seed: 1 },
          limit: 0,
          onRecord: () => {},
          tap: (dev, d, t, f, len) => out.tap(dev, d, t, f, len),
        });
        out.close();
        const devs = readdirSync(join(shared, s, 'captures')).filter((f) => /^host-.*\.pcap$/.test(f) && f !== 'host-lo.pcap');
        expect(devs.length).toBeGreaterThan(0);
        for (const f of devs) {
          const mine = join(dir, f.replace(/\.pcap$/, '.pcapng'));
          const kernel = frames(join(shared, s, 'captures', f));
          expect(existsSync(mine) ? frames(mine) : [], `${s} ${f}`).toEqual(kernel);
        }
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
  });
});
