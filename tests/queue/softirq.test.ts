/**
 * NAPI / softirq model. Every expected number is derived by hand from the kernel functions named in
 * each test (net/core/dev.c of Linux 6.18: net_rx_action, napi_poll/__napi_poll, process_backlog,
 * enqueue_to_backlog; net/core/net-procfs.c softnet_seq_show), then checked against the model.
 */
import { describe, expect, it } from 'vitest';
import { DR } from '../../src/stack/drop_reason.js';
import { ArrivalClock, SoftirqModel, type SoftirqOptions } from '../../src/workers/softirq.js';
import { Rss } from '../../src/workers/rss.js';

const US = 1000, MS = 1e6;

function model(opts: Partial<SoftirqOptions> & { queueCpus?: number[] } = {}): { m: SoftirqModel; polls: string[] } {
  const queueCpus = opts.queueCpus ?? [0];
  const m = new SoftirqModel({
    cpus: opts.cpus ?? 1,
    queues: opts.queues ?? queueCpus.map((cpu, i) => ({ name: `q${i}`, cpu })),
    ...opts,
  });
  const polls: string[] = [];
  m.onPoll = (cpu, napi, work, budget) => polls.push(`${cpu}:${napi}:${work}:${budget}`);
  return { m, polls };
}

describe('net_rx_action budget accounting', () => {
  it('3 queues × 200 packets at one instant on one CPU: 4 invocations, no time_squeeze', () => {
    // net_rx_action takes the poll_list snapshot [q0,q1,q2] and polls each once with weight 64:
    // budget 300 → 236 → 172 → 108. All three used their whole weight, so __napi_poll puts them on
    // `repoll`; `list` is then empty with `repoll` non-empty → `break` (not the budget check): no
    // time_squeeze, softirq re-raised. Same for invocations 2 and 3 (200 - 3·64 = 8 left each);
    // invocation 4 polls 8 + 8 + 8 (budget 292, 284, 276), all complete → done.
    const { m, polls } = model({ queueCpus: [0, 0, 0] });
    for (let i = 0; i < 200; i++) for (let q = 0; q < 3; q++) m.rx(0, q, q * 1000 + i, [1 * US]);
    m.finish();
    const round = (w: number): string[] => [`0:q0:${w}:${300 - w}`, `0:q1:${w}:${300 - 2 * w}`, `0:q2:${w}:${300 - 3 * w}`];
    expect(polls).toEqual([...round(64), ...round(64), ...round(64), ...round(8)]);
    const c = m.report().cpus[0]!;
    expect([c.softirqs, c.timeSqueeze, c.processed, c.busyNs]).toEqual([4, 0, 600, 600 * US]);
  });

  it('5 queues × 200 packets: the 5th poll drives the budget to -20 → time_squeeze, 3 times', () => {
    // Invocations 1-3: 4 polls of 64 leave budget 300 - 256 = 44; the 5th NAPI is still polled with its
    // full weight (napi_poll uses n->weight, not the remaining budget): 44 - 64 = -20 ≤ 0 →
    // time_squeeze++ and break. Invocation 4: 5 × 8 = 40, budget 260 > 0, no squeeze. Total 3.
    const { m, polls } = model({ queueCpus: [0, 0, 0, 0, 0] });
    for (let i = 0; i < 200; i++) for (let q = 0; q < 5; q++) m.rx(0, q, i, [1 * US]);
    m.finish();
    expect(polls.slice(0, 5)).toEqual(['0:q0:64:236', '0:q1:64:172', '0:q2:64:108', '0:q3:64:44', '0:q4:64:-20']);
    expect(polls.slice(15)).toEqual(['0:q0:8:292', '0:q1:8:284', '0:q2:8:276', '0:q3:8:268', '0:q4:8:260']);
    const c = m.report().cpus[0]!;
    expect([c.softirqs, c.timeSqueeze, c.processed]).toEqual([4, 3, 1000]);
    expect(m.softnetStat()).toBe('000003e8 00000000 00000003 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000\n');
  });

  it('netdev_budget_usecs: 2 queues × 200 packets at 100 µs each squeeze on time, 3 times', () => {
    // 64 packets take 6.4 ms < 8 ms (no squeeze after q0); after q1 12.8 ms ≥ 8 ms → time_squeeze,
    // budget still 172. Invocations 2 and 3 the same; invocation 4 polls 8 + 8 (1.6 ms): none.
    const { m } = model({ queueCpus: [0, 0] });
    for (let i = 0; i < 200; i++) for (let q = 0; q < 2; q++) m.rx(0, q, i, [100 * US]);
    m.finish();
    const c = m.report().cpus[0]!;
    expect([c.softirqs, c.timeSqueeze]).toEqual([4, 3]);
  });
});

describe('rx ring (FULL_RING)', () => {
  it('a burst larger than the ring: the excess is dropped before NAPI runs', () => {
    const { m } = model({ queues: [{ name: 'eth0:rx-0', cpu: 0, ring: 64 }] });
    const r: number[] = [];
    for (let i = 0; i < 100; i++) r.push(m.rx(0, 0, i, [1 * US]));
    m.finish();
    expect(r.filter((x) => x === DR.FULL_RING)).toHaveLength(36);
    expect(r.slice(0, 64).every((x) => x === DR.NONE)).toBe(true);
    const rep = m.report();
    expect(rep.queues[0]).toEqual({ name: 'eth0:rx-0', cpu: 0, ring: 64, packets: 100, drops: 36, peak: 64 });
    expect(rep.cpus[0]!.ringDrops).toBe(36);
    expect(rep.cpus[0]!.dropped).toBe(0); // ring drops are not softnet_stat drops
  });

  it('arrivals at 2 Mpps, service at 1 Mpps, ring 16: 516 processed, 484 dropped', () => {
    // The CPU is busy from t=0 and takes one packet every 1 µs (at 0, 1, ..., 499 µs: 500 packets)
    // while 2 arrive per µs. The ring is full from 16 µs on: each arrival at a whole µs finds 16 and is
    // dropped, the one at +0.5 µs refills the slot freed by the CPU. When arrivals stop (499.5 µs) the
    // ring holds 16 more: 500 + 16 = 516 processed, 1000 - 516 = 484 FULL_RING.
    const { m } = model({ queues: [{ name: 'q', cpu: 0, ring: 16 }] });
    let drops = 0;
    for (let k = 0; k < 1000; k++) if (m.rx(k * 500, 0, k, [1 * US]) === DR.FULL_RING) drops++;
    m.finish();
    expect(drops).toBe(484);
    expect(m.report().cpus[0]!.processed).toBe(516);
    expect(m.report().cpus[0]!.firstDropNs).toBe(16 * US);
  });
});

describe('backlog (enqueue_to_backlog)', () => {
  it('drops when input_pkt_queue qlen > netdev_max_backlog: the 1002nd packet at one instant', () => {
    // qlen is read before queueing: packets 1..1001 see qlen 0..1000 ≤ 1000 and are queued; the
    // 1002nd sees 1001 > 1000 → SKB_DROP_REASON_CPU_BACKLOG, sd->dropped++ (softnet_stat column 2).
    const { m } = model();
    const r: number[] = [];
    for (let i = 0; i < 1002; i++) r.push(m.netifRx(0, 0, i, [1 * US]));
    expect(r.slice(0, 1001).every((x) => x === DR.NONE)).toBe(true);
    expect(r[1001]).toBe(DR.CPU_BACKLOG);
    m.finish();
    const c = m.report().cpus[0]!;
    expect([c.processed, c.dropped, c.inputPeak]).toEqual([1001, 1, 1001]);
    expect(m.softnetStat().split(' ').slice(0, 3)).toEqual(['000003e9', '00000001', '00000000']);
  });

  it('only input_pkt_queue counts: process_backlog splices it into process_queue', () => {
    // At t=0 1001 packets wait; process_backlog starts at t=0 and moves them all to process_queue. From
    // t=1 ns on, input_pkt_queue is empty again, so another 1001 are accepted: 2002 processed, 0 dropped.
    const { m } = model();
    for (let i = 0; i < 1001; i++) m.netifRx(0, 0, i, [1 * US]);
    for (let i = 0; i < 1001; i++) expect(m.netifRx(1, 0, i, [1 * US])).toBe(DR.NONE);
    const mid = m.softnetStat().trim().split(' ');
    // backlog len = input + process: 1001 + 1000 (one is being processed); input 1001; process 1000
    expect(mid.slice(11)).toEqual(['000007d1', '00000000', '000003e9', '000003e8']);
    m.finish();
    expect(m.report().cpus[0]!.processed).toBe(2002);
    expect(m.report().cpus[0]!.dropped).toBe(0);
  });

  it('RPS: the IRQ CPU only steers; the target processes and counts one IPI (received_rps)', () => {
    // get_rps_cpu → enqueue_to_backlog(cpu 1): the first packet finds an empty, unscheduled backlog →
    // napi_schedule_rps → IPI (received_rps 1). Later packets find the backlog NAPI scheduled.
    const { m } = model({ cpus: 2, rpsCostNs: 100 });
    const done: Array<[number, number, number]> = [];
    m.onDone = (tag, t, cpu) => done.push([tag, t, cpu]);
    for (let i = 0; i < 10; i++) m.rx(0, 0, i, [1 * US], 1);
    m.finish();
    const [c0, c1] = m.report().cpus;
    expect([c0!.processed, c0!.busyNs, c1!.processed, c1!.busyNs, c1!.receivedRps]).toEqual([0, 1000, 10, 10 * US, 1]);
    // pkt 0 is steered at 100 ns, processed 100..1100; the rest follow back to back.
    expect(done[0]).toEqual([0, 1100, 1]);
    expect(done[9]).toEqual([9, 10_100, 1]);
  });

  it('a veth hop is a second stage on the same CPU, through its backlog', () => {
    const { m } = model();
    const done: number[] = [];
    m.onDone = (_tag, t) => done.push(t);
    m.rx(0, 0, 7, [1 * US, 500]);
    m.finish();
    const c = m.report().cpus[0]!;
    expect([c.processed, c.busyNs, c.receivedRps]).toEqual([2, 1500, 0]);
    expect(done).toEqual([1500]);
  });

  it('a veth hop into a full backlog is reported through onDrop', () => {
    const { m } = model({ maxBacklog: 2 });
    const drops: Array<[number, number]> = [];
    m.onDrop = (tag, reason) => drops.push([tag, reason]);
    for (let i = 0; i < 5; i++) m.rx(0, 0, i, [1 * US, 1 * US]);
    m.finish();
    // NIC stages run first (q0 polled before the backlog NAPI): 5 hops queued at 1,2,3,4,5 µs while
    // nobody drains the backlog (the NIC poll runs first). qlen 0,1,2 accepted; 3 > 2 drops 2 packets.
    expect(drops).toEqual([[3, DR.CPU_BACKLOG], [4, DR.CPU_BACKLOG]]);
  });
});

describe('windows, determinism, arrival clock', () => {
  it('splits softirq time into windows', () => {
    const { m } = model({ windowNs: 1 * MS });
    // 3 packets of 600 µs at t=0: busy 0-1.8 ms → 1 ms in window 0, 0.8 ms in window 1.
    for (let i = 0; i < 3; i++) m.rx(0, 0, i, [600 * US]);
    m.finish();
    const w = m.report().windows;
    expect(w.map((x) => [x.t, x.loadPct, x.processed])).toEqual([[0, 100, 2], [1 * MS, 80, 1]]);
  });

  it('ArrivalClock: relative ns, divided by speed, or evenly spaced at a rate', () => {
    const c = new ArrivalClock(10);
    expect([c.at(1700000000, 5), c.at(1700000001, 5), c.at(1700000001, 1005)]).toEqual([0, 1e8, 1e8 + 100]);
    const r = new ArrivalClock(1, 1000);
    expect([r.at(5, 0), r.at(9, 0), r.at(9, 1)]).toEqual([0, 1e6, 2e6]);
  });

  it('same input → same report', () => {
    const run = (): string => {
      const { m } = model({ cpus: 2, queueCpus: [0, 1, 0], rpsCostNs: 50 });
      let s = 1;
      for (let i = 0; i < 5000; i++) {
        s = (Math.imul(s, 1103515245) + 12345) >>> 0;
        m.rx(i * 300, s % 3, i, s & 1 ? [900, 400] : [1200], s & 4 ? (s >>> 8) & 1 : -1);
      }
      m.finish();
      return JSON.stringify(m.report());
    };
    expect(run()).toBe(run());
  });

  it('refuses arrivals out of order and bad queues', () => {
    const { m } = model();
    m.rx(10, 0, 1, [1]);
    expect(() => m.rx(5, 0, 2, [1])).toThrow(/time order/);
    expect(() => m.rx(20, 3, 2, [1])).toThrow(/queue 3/);
    expect(() => m.rx(20, 0, 2, [])).toThrow(/stage costs/);
  });
});

describe('"what if this traffic came faster"', () => {
  it('10x speed: drops on the CPU the hottest flow hashes to, none on the others', () => {
    // 4 queues on 4 CPUs (default indirection, Microsoft key). One flow per queue, found by hashing.
    const rss = new Rss({ queues: 4, cpus: 4 });
    const flows: Array<{ sport: number; queue: number }> = [];
    for (let sport = 1024; flows.length < 4; sport++) {
      const h = rss.hash4(0x0a000001, 0x0a000002, sport, 443, true);
      const q = rss.queueOf(h);
      if (!flows.some((f) => f.queue === q)) flows.push({ sport, queue: q });
    }
    const hot = flows[0]!;
    // 20 ms capture: the hot flow at 400 kpps (one packet per 2.5 µs), the others at 20 kpps (50 µs).
    // Each packet costs 2 µs: 80% of one CPU for the hot flow at 1x, 4% for the others.
    type Pkt = { ns: number; f: number };
    const pkts: Pkt[] = [];
    for (let t = 0; t < 20 * MS; t += 2500) pkts.push({ ns: t, f: 0 });
    for (let f = 1; f < 4; f++) for (let t = 1000 * f; t < 20 * MS; t += 50 * US) pkts.push({ ns: t, f });
    pkts.sort((a, b) => a.ns - b.ns || a.f - b.f);
    const replay = (speed: number) => {
      const m = new SoftirqModel({ cpus: 4, queues: [0, 1, 2, 3].map((q) => ({ name: `eth0:rx-${q}`, cpu: rss.cpuOf(q) })) });
      const clock = new ArrivalClock(speed);
      pkts.forEach((p, i) => {
        const h = rss.hash4(0x0a000001, 0x0a000002, flows[p.f]!.sport, 443, true);
        m.rx(clock.at(1_700_000_000 + Math.floor(p.ns / 1e9), p.ns % 1e9), rss.queueOf(h), i, [2 * US]);
      });
      m.finish();
      return m.report();
    };
    const x1 = replay(1);
    expect(x1.cpus.map((c) => c.ringDrops + c.dropped)).toEqual([0, 0, 0, 0]);
    const x10 = replay(10);
    const hotCpu = rss.cpuOf(hot.queue);
    for (const c of x10.cpus) {
      if (c.cpu === hotCpu) expect(c.ringDrops).toBeGreaterThan(0);
      else expect(c.ringDrops + c.dropped).toBe(0);
    }
    // At 10x the hot flow arrives every 0.25 µs and is served every 2 µs: the ring (1024) fills after
    // ~1170 packets; roughly 7/8 of the rest are dropped.
    const q = x10.queues.find((x) => x.name === `eth0:rx-${hot.queue}`)!;
    expect(q.peak).toBe(1024);
    expect(q.drops).toBeGreaterThan(5000);
  });
});
