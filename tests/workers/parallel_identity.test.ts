/**
 * Every output of a replay is byte-identical whatever --workers is (1..4): the trace (JSONL and
 * msgpack), the summary with the queue model and egress, the conntrack table, the per-device pcapngs,
 * the HTML report and the queue model's per-packet drops. The capture is built to stress what CPUs share in the kernel: masqueraded
 * connections whose replies arrive on another device (another rx queue), DNAT to a container whose
 * replies cross a veth, many connections created in the same instant, and a conntrack table too
 * small for them (nf_conntrack_max 16: early drop and "table full").
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PcapWriter } from '../../src/pcap/writer.js';
import { tcp } from '../helpers/frames.js';

const root = resolve(__dirname, '../..');
const bin = join(root, 'dist', 'cli', 'main.js');

function inputs(dir: string): string[] {
  const veth = new PcapWriter(join(dir, 'vethc1.pcap'), { nanosecond: true, linktype: 1 });
  const eth = new PcapWriter(join(dir, 'eth0.pcap'), { nanosecond: true, linktype: 1 });
  const T0 = 1_700_000_000;
  for (let i = 0; i < 48; i++) {
    // c1 → the internet, all in the same nanosecond: masqueraded out of eth0.
    veth.write(T0, 0, tcp({ srcMac: '02:42:ac:11:00:02', dstMac: '02:42:ac:11:00:01', src: '172.17.0.2', dst: '198.51.100.1', sport: 20000 + i, dport: 80, flags: 'S' }));
    // Outside → the published port 8080 (DNAT to c1:80), same instant.
    eth.write(T0, 0, tcp({ srcMac: '02:00:c6:33:64:01', dstMac: '02:00:c6:33:64:02', src: '198.51.100.50', dst: '198.51.100.2', sport: 30000 + i, dport: 8080, flags: 'S' }));
  }
  for (let i = 0; i < 48; i++) {
    // The SYN-ACKs to the masqueraded connections, 1 ms later, on eth0.
    eth.write(T0, 1_000_000 + i, tcp({ srcMac: '02:00:c6:33:64:01', dstMac: '02:00:c6:33:64:02', src: '198.51.100.1', dst: '198.51.100.2', sport: 80, dport: 20000 + i, flags: 'SA', seq: 5000, ack: 1001 }));
  }
  veth.close();
  eth.close();
  return [`${join(dir, 'vethc1.pcap')}@host:vethc1`, `${join(dir, 'eth0.pcap')}@host:eth0`];
}

/** Every file under dir, path → bytes. */
function files(dir: string, base = dir, out = new Map<string, Buffer>()): Map<string, Buffer> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) files(p, base, out);
    else out.set(p.slice(base.length + 1), readFileSync(p));
  }
  return out;
}

describe.skipIf(!existsSync(bin))('replay outputs for 1..4 workers (built CLI)', () => {
  it('are byte-identical, and the capture did stress NAT, same-instant creation and a full table', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pktpath-par-'));
    try {
      const lab = readFileSync(join(root, 'captures/labs/docker-host.yaml'), 'utf8').replace('      net.ipv4.conf.all.forwarding: 1\n', '      net.ipv4.conf.all.forwarding: 1\n      net.netfilter.nf_conntrack_max: 16\n');
      expect(lab).toContain('nf_conntrack_max: 16');
      writeFileSync(join(dir, 'lab.yaml'), lab);
      const inp = inputs(dir);
      const results: Array<Map<string, Buffer>> = [];
      for (const w of [1, 2, 3, 4]) {
        const out = join(dir, `w${w}`);
        mkdirSync(out);
        const r = spawnSync(process.execPath, [bin, 'replay', '-q', '-w', join(dir, 'lab.yaml'), ...inp,
          '--cpus', '4', '--queues', '4', '--workers', String(w), '--link-rate', 'host:eth0=1mbit', '--qdisc', 'host:eth0=fq_codel',
          '--trace', join(out, 't.jsonl'), '--summary', join(out, 's.json'), '--conntrack', join(out, 'ct.json'),
          '--pcap-out', join(out, 'pcap'), '--report', join(out, 'r.html'), '--queue-drops', join(out, 'qdrops.jsonl')], { encoding: 'utf8', timeout: 120_000 });
        expect(r.stderr).toBe('');
        expect(r.status).toBe(0);
        const m = spawnSync(process.execPath, [bin, 'replay', '-q', '-w', join(dir, 'lab.yaml'), ...inp, '--cpus', '4', '--queues', '4', '--workers', String(w), '--trace', join(out, 't.msgpack'), '--format', 'msgpack'], { encoding: 'utf8', timeout: 120_000 });
        expect(m.status).toBe(0);
        results.push(files(out));
      }
      const names = [...results[0].keys()].sort();
      expect(names).toEqual(expect.arrayContaining(['t.jsonl', 't.msgpack', 's.json', 'ct.json', 'r.html', 'qdrops.jsonl']));
      expect(names.filter((n) => n.startsWith('pcap/')).length).toBeGreaterThanOrEqual(3);
      for (let k = 1; k < results.length; k++) {
        expect([...results[k].keys()].sort()).toEqual(names);
        for (const n of names) expect(results[k].get(n)!.equals(results[0].get(n)!), `${n} with ${k + 1} workers`).toBe(true);
      }
      // The stress happened: masquerade and DNAT bindings, drops for a full table, replies on eth0.
      const s = JSON.parse(results[0].get('s.json')!.toString('utf8'));
      const recs = results[0].get('t.jsonl')!.toString('utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(recs).toHaveLength(144);
      expect(recs.some((r) => r.nat.some((n: { kind: string }) => n.kind === 'snat'))).toBe(true);
      expect(recs.some((r) => r.nat.some((n: { kind: string }) => n.kind === 'dnat'))).toBe(true);
      // nf_conntrack_max 16: most of the 96 new connections die in nf_conntrack_in (table full).
      expect(s.drops_by_place['NETFILTER_DROP at host nf_conntrack_in']).toBeGreaterThan(50);
      expect(s.softirq.cpus.filter((c: { processed: number }) => c.processed > 0).length).toBeGreaterThan(1);
      expect(s.softirq.egress.devices.some((d: { dev: string }) => d.dev === 'host:eth0')).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000);
});
