/**
 * Egress on the transmit path: tc specs (units as tc/tc_util.c get_rate64/get_size/get_time read
 * them), mq (sch_mq.c + skb_tx_hash), the per-device qdisc + wire simulation with numbers worked by
 * hand, and the replay end to end (--link-rate, --qdisc): drops start where the line rate is below the
 * offered load, rx-ring drops never reach the wire, and the result is the same for any worker count.
 */
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DR } from '../../src/stack/drop_reason.js';
import { makeQdisc, parseRate, parseSize, parseTime, formatRate, TcSpecError } from '../../src/stack/sched/tc_spec.js';
import { Mq } from '../../src/stack/sched/sch_mq.js';
import { Pfifo } from '../../src/stack/sched/sch_fifo.js';
import { simulateEgress, TxEvents, type TxPkt } from '../../src/workers/egress.js';
import { PcapWriter } from '../../src/pcap/writer.js';
import { synthesize, SYNTH_DEFAULTS } from '../../src/pcap/synth.js';
import { lab } from '../helpers/frames.js';

const DEV = { txqlen: 1000, mtu: 1500, numTxQueues: 4, defaultQdisc: 'fq_codel' };

describe('tc units', () => {
  it('rates: a bare number is bit/s, …bit is bits, …bps is bytes, SI and IEC, any case', () => {
    expect(parseRate('8000')).toBe(1000);
    expect(parseRate('1gbit')).toBe(125e6);
    expect(parseRate('100Mbit')).toBe(12.5e6);
    expect(parseRate('1mibit')).toBe(1024 ** 2 / 8);
    expect(parseRate('125mbps')).toBe(125e6);
    expect(parseRate('1KBps')).toBe(1000);
    expect(() => parseRate('10 furlongs')).toThrow(TcSpecError);
    expect(() => parseRate('0mbit')).toThrow(/not a rate/);
    expect(formatRate(1e9)).toBe('1Gbit');
    expect(formatRate(1.5e6)).toBe('1500Kbit');
  });
  it('sizes: bare bytes, k/kb = 1024, kbit = 128 bytes; times: bare µs, ms, s', () => {
    expect(parseSize('1514')).toBe(1514);
    expect(parseSize('32kb')).toBe(32768);
    expect(parseSize('32k')).toBe(32768);
    expect(parseSize('1mb')).toBe(1 << 20);
    expect(parseSize('64kbit')).toBe(8192);
    expect(() => parseSize('12parsecs')).toThrow(/not a size/);
    expect(parseTime('5ms')).toBeCloseTo(0.005, 12);
    expect(parseTime('1s')).toBe(1);
    expect(parseTime('500')).toBeCloseTo(0.0005, 12);
    expect(() => parseTime('soon')).toThrow(/not a time/);
  });
});

describe('qdisc specs', () => {
  it('builds each modelled kind with its defaults from the device', () => {
    expect(makeQdisc('noqueue', DEV)).toBeNull();
    expect(makeQdisc('pfifo_fast', DEV)!.kind).toBe('pfifo_fast');
    const p = makeQdisc('pfifo', DEV) as Pfifo;
    expect(p.limit).toBe(1000); // fifo_init: tx_queue_len packets
    expect((makeQdisc('bfifo', DEV) as Pfifo).limit).toBe(1_500_000); // tx_queue_len × MTU bytes
    expect((makeQdisc('pfifo limit 10', DEV) as Pfifo).limit).toBe(10);
    expect(makeQdisc('fq_codel limit 100 flows 16 target 2ms interval 50ms noecn', DEV)!.kind).toBe('fq_codel');
    const t = makeQdisc('tbf rate 8mbit burst 10kb latency 50ms', DEV)!;
    expect(t.kind).toBe('tbf');
    const mq = makeQdisc('mq', DEV) as Mq;
    expect(mq.children.map((c) => c.kind)).toEqual(['fq_codel', 'fq_codel', 'fq_codel', 'fq_codel']);
  });
  it('refuses what tc refuses or the model does not have, naming the word', () => {
    expect(() => makeQdisc('htb default 10', DEV)).toThrow(/qdisc "htb" is not modelled/);
    expect(() => makeQdisc('tbf rate 1mbit burst 10kb', DEV)).toThrow(/needs latency or limit/);
    expect(() => makeQdisc('tbf rate 1mbit burst 10kb latency 5ms peakrate 2mbit mtu 1514', DEV)).toThrow(/"peakrate" is not modelled/);
    expect(() => makeQdisc('fq_codel ce_threshold 1ms', DEV)).toThrow(/"ce_threshold" is not modelled/);
    expect(() => makeQdisc('pfifo limit', DEV)).toThrow(/"limit" needs a value/);
    expect(() => makeQdisc('pfifo limit ten', DEV)).toThrow(/not a whole number/);
    expect(() => makeQdisc('pfifo_fast bands 3', DEV)).toThrow(/takes no options/);
  });
});

describe('lab links', () => {
  const yaml = (extra: string) => `namespaces:\n  h:\n    links:\n      - { name: eth0, kind: ether, ${extra} }\n`;
  it('take a line rate and a root qdisc in tc syntax', () => {
    const d = lab(yaml('rate: 100mbit, qdisc: "tbf rate 10mbit burst 16kb latency 20ms"')).byName.get('h')!.byName.get('eth0')!;
    expect(d.rate).toBe(12.5e6);
    expect(d.qdisc).toBe('tbf rate 10mbit burst 16kb latency 20ms');
  });
  it('a bad rate names the file, the line and the key', () => {
    expect(() => lab(yaml('rate: quick'))).toThrow(/lab\.yaml line 4, column [0-9]+ \(namespaces\.h\.links\.0\.rate\): "quick" is not a rate/);
  });
});

class P implements TxPkt {
  constructor(public len: number, public priority = 0, public hash = 0, public ecn = 0, public enq = 0) {}
}

describe('mq', () => {
  it('puts a packet on tx queue reciprocal_scale(hash, n) and serves the queues in turn', () => {
    const mq = new Mq<P>([new Pfifo<P>(10), new Pfifo<P>(10), new Pfifo<P>(10), new Pfifo<P>(10)]);
    expect([0, 0x40000000, 0x80000000, 0xc0000000, 0xffffffff].map((h) => mq.txQueue(h))).toEqual([0, 1, 2, 3, 3]);
    const a1 = new P(100, 0, 0), a2 = new P(101, 0, 0), b1 = new P(200, 0, 0x80000000);
    for (const p of [a1, a2, b1]) expect(mq.enqueue(p, 0)).toBe(DR.NONE);
    expect(mq.qlen).toBe(3);
    expect(mq.backlog).toBe(401);
    expect([mq.dequeue(0), mq.dequeue(0), mq.dequeue(0), mq.dequeue(0)]).toEqual([a1, b1, a2, null]);
    expect(mq.stats.sent).toBe(3);
  });
  it('a full child drops with its own reason and the root counts it', () => {
    const mq = new Mq<P>([new Pfifo<P>(1)]);
    expect(mq.enqueue(new P(100), 0)).toBe(DR.NONE);
    expect(mq.enqueue(new P(100), 0)).toBe(DR.QDISC_DROP);
    expect(mq.stats.dropped).toBe(1);
    expect(mq.qlen).toBe(1);
  });
});

describe('simulateEgress', () => {
  it('pfifo limit 2 at 8 kbit/s: the wire takes one, the qdisc two, the rest drop; waits are whole frame times', () => {
    // 5 frames of 100 bytes handed over at t = 0: each occupies the wire (100 + 24) / 1000 s = 124 ms.
    const ev = new TxEvents();
    for (let i = 0; i < 5; i++) ev.push(i, 0, 100, 0, 0, 0);
    const doneAt = new Float64Array(5).fill(0);
    const r = simulateEgress([{ name: 'h:eth0', qdisc: 'pfifo limit 2', rate: 1000, make: () => new Pfifo<TxPkt>(2) }], ev, doneAt, 1e9);
    expect(r.devices).toHaveLength(1);
    const d = r.devices[0];
    expect(d).toMatchObject({ offered: 5, sent: 3, sentBytes: 300, drops: { QDISC_DROP: 2 }, backlogPeak: 2, rxDropped: 0, firstDropNs: 0, rateBits: 8000 });
    expect(d.maxDelayNs).toBeCloseTo(248e6, 0); // the third frame waits for two frame times
    expect(d.busyPct).toBe(100);
  });
  it('a packet whose cause was dropped on receive (NaN completion) is never offered', () => {
    const ev = new TxEvents();
    ev.push(0, 0, 100, 0, 0, 0);
    ev.push(1, 0, 100, 0, 0, 0);
    ev.push(2, 0, 100, 0, 0, 0);
    const doneAt = Float64Array.from([5e6, NaN, 5e6]);
    const r = simulateEgress([{ name: 'h:eth0', qdisc: 'pfifo', rate: 1e6, make: () => new Pfifo<TxPkt>(10) }], ev, doneAt, 1e9);
    expect(r.devices[0]).toMatchObject({ offered: 2, rxDropped: 1, sent: 2 });
  });
  it('a device without a rate queues nothing', () => {
    const ev = new TxEvents();
    for (let i = 0; i < 3; i++) ev.push(0, 0, 1500, 0, 0, 0);
    const r = simulateEgress([{ name: 'h:eth0', qdisc: 'pfifo_fast', rate: 0, make: () => new Pfifo<TxPkt>(1) }], ev, new Float64Array(1), 1e9);
    expect(r.devices[0]).toMatchObject({ sent: 3, drops: {}, backlogPeak: 0, rateBits: 0 });
  });
});

const root = resolve(__dirname, '../..');
const bin = join(root, 'dist', 'cli', 'main.js');
const LAB = join(root, 'captures', 'labs', 'router.yaml');

/** Client → server UDP through the router lab: `packets` frames at `rate` pps into router:eth0. */
function flood(dir: string, packets: number, rate: number): string {
  const f = join(dir, 'flood.pcap');
  const w = new PcapWriter(f, { nanosecond: true, linktype: 1 });
  synthesize({ ...SYNTH_DEFAULTS, packets, flows: 50, rate, mix: { tcp: 0, udp: 100, icmp: 0, arp: 0, frag: 0, synflood: 0 } }, {
    write(sec: number, nsec: number, data: Uint8Array) {
      if (!(data[26] === 198 && data[27] === 51)) return; // requests only
      const c = data.slice();
      c.set([2, 0, 0, 0, 1, 1], 0);
      w.write(sec, nsec, c);
    },
  });
  w.close();
  return `${f}@router:eth0`;
}

describe.skipIf(!existsSync(bin))('replay --link-rate / --qdisc (built CLI)', () => {
  const run = (args: string[]) => spawnSync(process.execPath, [bin, 'replay', '-q', '-w', LAB, ...args], { encoding: 'utf8', timeout: 120_000 });
  let nth = 0;
  const summary = (dir: string, args: string[]) => {
    const s = join(dir, `s${nth++}.json`);
    const r = run([...args, '--summary', s]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    return JSON.parse(readFileSync(s, 'utf8'));
  };
  const egress = (dir: string, args: string[]) => summary(dir, args).softirq.egress.devices as Array<Record<string, unknown>>;

  it('drops start when the line rate is below the offered load, not above it; the same for 1, 2 and 3 workers', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pktpath-egress-'));
    try {
      const inp = flood(dir, 8000, 8000); // ~4000 requests of 60-300 bytes in 1 s: a few Mbit/s
      const fast = egress(dir, [inp, '--cpus', '2', '--link-rate', 'router:eth1=1gbit']);
      expect(fast).toHaveLength(1);
      expect(fast[0]).toMatchObject({ dev: 'router:eth1', qdisc: 'noqueue', drops: {} });
      const slow = ['--cpus', '2', '--link-rate', 'router:eth1=1mbit', '--qdisc', 'router:eth1=pfifo limit 50'];
      const one = egress(dir, [inp, ...slow, '--workers', '1']);
      expect(one[0]).toMatchObject({ dev: 'router:eth1', qdisc: 'pfifo limit 50', rateBits: 1e6, backlogPeak: 50, rxDropped: 0 });
      expect((one[0].drops as Record<string, number>).QDISC_DROP).toBeGreaterThan(1000);
      expect((one[0].sent as number) + (one[0].drops as Record<string, number>).QDISC_DROP).toBe(one[0].offered);
      for (const w of ['2', '3']) expect(egress(dir, [inp, ...slow, '--workers', w])).toEqual(one);
      // --queue-drops names each dropped packet: as many as the counter, all on router:eth1's qdisc.
      const qd = join(dir, 'drops.jsonl');
      expect(run([inp, ...slow, '--queue-drops', qd]).status).toBe(0);
      const lines = readFileSync(qd, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
      expect(lines).toHaveLength((one[0].drops as Record<string, number>).QDISC_DROP);
      for (const d of lines) expect(d).toMatchObject({ reason: 'QDISC_DROP', generated: false, where: { dev: 'router:eth1', qdisc: 'pfifo limit 50' } });
      expect(new Set(lines.map((d) => d.index)).size).toBe(lines.length);
      // The HTML report charts the backlog with drop markers and lists the device.
      const html = join(dir, 'r.html');
      expect(run([inp, ...slow, '--report', html]).status).toBe(0);
      const page = readFileSync(html, 'utf8');
      expect(page).toContain('<h3>Egress qdiscs</h3>');
      expect(page).toContain('<title id="eg-t">Egress qdisc backlog per device</title>');
      expect(page).toMatch(/router:eth1 at [0-9.]+ ms: [0-9]+ qdisc drops/);
      expect(page).toContain('pfifo limit 50');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('explain ends with what the queues would do to the packet: an egress qdisc drop, a full rx ring, or nothing', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pktpath-egress-'));
    try {
      const inp = flood(dir, 4000, 4000);
      const explain = (args: string[]) => spawnSync(process.execPath, [bin, 'explain', '-w', LAB, inp, ...args], { encoding: 'utf8', timeout: 120_000 });
      // The first packet the qdisc dropped, by --queue-drops.
      const qd = join(dir, 'd.jsonl');
      const slow = ['--link-rate', 'router:eth1=1mbit', '--qdisc', 'router:eth1=pfifo limit 20'];
      expect(run([inp, ...slow, '--queue-drops', qd]).status).toBe(0);
      const first = JSON.parse(readFileSync(qd, 'utf8').split('\n')[0]);
      const e = explain(['--packet', String(first.index), ...slow]);
      expect(e.status).toBe(0);
      expect(e.stdout).toContain('Result: TRANSMITTED on router:eth1.');
      expect(e.stdout).toMatch(/Queue model: but at the modelled rate, it would be dropped at \+[0-9.]+ ms by the egress qdisc of router:eth1 \(pfifo limit 20: QDISC_DROP\)/);
      expect(e.stdout).toMatch(/What to do: a larger qdisc limit/);
      const fine = explain(['--packet', '0', ...slow]);
      expect(fine.stdout).toContain('Queue model: no rx ring, backlog or egress qdisc dropped it.');
      const tight = ['--cpus', '1', '--ring', '4', '--speed', '1000'];
      const rd = join(dir, 'r.jsonl');
      expect(run([inp, ...tight, '--queue-drops', rd]).status).toBe(0);
      const ringDrop = JSON.parse(readFileSync(rd, 'utf8').split('\n')[0]);
      expect(ringDrop).toMatchObject({ reason: 'FULL_RING', where: { cpu: 0, queue: 'router:eth0:rx-0' } });
      const ring = explain(['--packet', String(ringDrop.index), ...tight]);
      expect(ring.stdout).toMatch(/would never reach the stack: the rx ring router:eth0:rx-0 \(served by CPU 0\) was full at \+[0-9.]+ ms \(FULL_RING/);
      expect(ring.stdout).toContain('ethtool -G eth0 rx N; now 4');
      // Without a queue-model option: the stack's story only.
      expect(explain(['--packet', '0']).stdout).not.toContain('Queue model');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('frames whose cause died in a full rx ring never reach the egress qdisc', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pktpath-egress-'));
    try {
      const inp = flood(dir, 4000, 4000);
      const s = summary(dir, [inp, '--cpus', '1', '--ring', '4', '--speed', '200', '--link-rate', 'router:eth1=10gbit']);
      const d = s.softirq.egress.devices[0];
      const ringDrops = s.softirq.cpus[0].ringDrops as number;
      const forwarded = s.devices.find((x: { dev: string }) => x.dev === 'eth1').txPackets as number;
      expect(ringDrops).toBeGreaterThan(0);
      // Every request is forwarded by the (sequential) datapath; those the ring dropped never reach the qdisc.
      expect(d.rxDropped).toBe(ringDrops);
      expect(d.offered + d.rxDropped).toBe(forwarded);
      expect(d.sent).toBe(d.offered);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);

  it('bad values fail with one line naming the flag, the device and the fix', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pktpath-egress-'));
    try {
      const inp = flood(dir, 100, 1000);
      const cases: Array<[string[], RegExp]> = [
        [['--link-rate', 'router:eth1=fast'], /--link-rate router:eth1=fast: "fast" is not a rate/],
        [['--link-rate', 'eth1=1gbit'], /expected NS:DEV=VALUE/],
        [['--link-rate', 'router:eth9=1gbit'], /--link-rate router:eth9: not an edge device of the world \(edges: router:eth0, router:eth1\)/],
        [['--link-rate', 'router:eth1=1gbit', '--qdisc', 'router:eth1=htb default 1'], /router:eth1: root qdisc "htb default 1": qdisc "htb" is not modelled.*--qdisc router:eth1=/],
      ];
      for (const [args, re] of cases) {
        const r = run([inp, ...args]);
        expect(r.status).toBe(2);
        expect(r.stderr).toMatch(re);
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
