/**
 * Qdiscs: drop behaviour with numbers derived by hand from net/sched (Linux 6.18): sch_generic.c
 * pfifo_fast_enqueue/dequeue, sch_fifo.c pfifo_enqueue/bfifo_enqueue, sch_tbf.c tbf_enqueue/
 * tbf_dequeue, sch_fq_codel.c fq_codel_enqueue/fq_codel_drop/fq_codel_dequeue and
 * include/net/codel_impl.h codel_dequeue/codel_should_drop/codel_control_law.
 */
import { describe, expect, it } from 'vitest';
import { DR, dropReasonName } from '../../src/stack/drop_reason.js';
import { DR_QDISC_CONGESTED, TxDevice, type QdiscPacket } from '../../src/stack/sched/qdisc.js';
import { PRIO2BAND, Pfifo, PfifoFast } from '../../src/stack/sched/sch_fifo.js';
import { FqCodel } from '../../src/stack/sched/sch_fq_codel.js';
import { Tbf } from '../../src/stack/sched/sch_tbf.js';

const US = 1000, MS = 1e6;

class Pkt implements QdiscPacket {
  constructor(public id: number, public len = 1500, public priority = 0, public hash = 0, public ecn = 0) {}
}

/** A hash that fq_codel (1024 flows) puts in flow slot `i`: reciprocal_scale(i << 22, 1024) = i. */
const flowHash = (i: number): number => (i << 22) >>> 0;

describe('pfifo_fast', () => {
  it('prio2band is the kernel table', () => {
    expect(PRIO2BAND).toEqual([1, 2, 2, 2, 1, 2, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1]);
  });
  it('each band holds txqueuelen packets; a full band tail-drops (QDISC_OVERLIMIT, as 6.18 reports) even if others have room', () => {
    const q = new PfifoFast<Pkt>(3);
    const r = [0, 1, 2, 3].map((i) => q.enqueue(new Pkt(i, 100, 0), 0)); // priority 0 → band 1
    expect(r).toEqual([0, 0, 0, DR.QDISC_OVERLIMIT]);
    expect(q.enqueue(new Pkt(10, 100, 6), 0)).toBe(0); // TC_PRIO_INTERACTIVE (6) → band 0
    expect(q.enqueue(new Pkt(20, 100, 1), 0)).toBe(0); // TC_PRIO_BULK (1) → band 2
    expect(q.enqueue(new Pkt(4, 100, 0 | 16), 0)).toBe(DR.QDISC_OVERLIMIT); // priority & 15 = 0 → band 1, full
    expect([q.qlen, q.backlog, q.stats.dropped]).toEqual([5, 500, 2]);
    // Band 0 first, then band 1 in FIFO order, then band 2.
    const out: number[] = [];
    for (let p = q.dequeue(0); p !== null; p = q.dequeue(0)) out.push(p.id);
    expect(out).toEqual([10, 0, 1, 2, 20]);
    expect([q.stats.sent, q.stats.backlogPeak]).toEqual([5, 5]);
  });
});

describe('pfifo, bfifo', () => {
  it('pfifo accepts while qlen < limit', () => {
    const q = new Pfifo<Pkt>(2);
    expect([0, 1, 2].map((i) => q.enqueue(new Pkt(i), 0))).toEqual([0, 0, DR.QDISC_DROP]);
  });
  it('bfifo accepts while backlog + len <= limit', () => {
    const q = new Pfifo<Pkt>(3000, true);
    expect(q.kind).toBe('bfifo');
    expect(q.enqueue(new Pkt(0, 1500), 0)).toBe(0);
    expect(q.enqueue(new Pkt(1, 1500), 0)).toBe(0); // 3000 <= 3000
    expect(q.enqueue(new Pkt(2, 1), 0)).toBe(DR.QDISC_DROP);
  });
});

describe('TxDevice: dequeue at the line rate', () => {
  it('pfifo limit 2 behind a 1 MB/s wire: one on the wire, two queued, two dropped', () => {
    const dev = new TxDevice<Pkt>(new Pfifo<Pkt>(2), 1e6);
    const sent: Array<[number, number, number]> = [];
    dev.onXmit = (p, a, b) => sent.push([p.id, a, b]);
    const r = [0, 1, 2, 3, 4].map((i) => dev.xmit(new Pkt(i), 0));
    expect(r).toEqual([0, 0, 0, DR.QDISC_DROP, DR.QDISC_DROP]);
    dev.flush();
    // 1500 B at 1e6 B/s = 1.5 ms each, back to back.
    expect(sent).toEqual([[0, 0, 1.5 * MS], [1, 1.5 * MS, 3 * MS], [2, 3 * MS, 4.5 * MS]]);
    expect(dev.stats.drops).toEqual({ QDISC_DROP: 2 });
    expect(dev.stats.xmitPackets).toBe(3);
  });
  it('advance(now) sends only what the wire could take by then', () => {
    const dev = new TxDevice<Pkt>(new Pfifo<Pkt>(100), 1e6);
    for (let i = 0; i < 10; i++) dev.xmit(new Pkt(i), 0);
    dev.advance(4 * MS); // sends at 0, 1.5, 3 ms
    expect([dev.stats.xmitPackets, dev.qdisc!.qlen]).toEqual([3, 7]);
  });
  it('noqueue transmits at once', () => {
    const dev = new TxDevice<Pkt>(null, Infinity);
    const sent: number[] = [];
    dev.onXmit = (p, a, b) => sent.push(p.id, a, b);
    expect(dev.xmit(new Pkt(1), 5)).toBe(0);
    expect(sent).toEqual([1, 5, 5]);
  });
});

describe('tbf', () => {
  it('rate 1 MB/s, burst 3000, limit 4500, 10 × 1500 B at t=0 on a 100 MB/s wire', () => {
    // tbf_enqueue: the bfifo child takes packets while backlog + 1500 <= 4500. p0 leaves at once
    // (toks = buffer 3 ms − 1.5 ms ≥ 0), so p1..p3 queue (4500) and p4..p9 are dropped (QDISC_DROP).
    // tbf_dequeue when the wire frees (15 µs): toks = min(15 µs, 3 ms) + 1.5 ms − 1.5 ms = 15 µs ≥ 0 →
    // p1 goes. At 30 µs: 15 µs + 15 µs − 1.5 ms < 0 → overlimits 1, watchdog at 30 µs + 1.47 ms =
    // 1.5 ms; then toks = 1.485 ms + 15 µs − 1.5 ms = 0 → p2 goes. At 1.515 ms p3: overlimits 2,
    // watchdog 1.515 + 1.485 = 3.0 ms → p3 goes at 3 ms.
    const tbf = new Tbf<Pkt>({ rate: 1e6, burst: 3000, limit: 4500 });
    const dev = new TxDevice<Pkt>(tbf, 1e8);
    const sent: Array<[number, number]> = [];
    dev.onXmit = (p, a) => sent.push([p.id, a]);
    const r = Array.from({ length: 10 }, (_, i) => dev.xmit(new Pkt(i), 0));
    expect(r.filter((x) => x === DR.QDISC_DROP)).toHaveLength(6);
    dev.flush();
    expect(sent).toEqual([[0, 0], [1, 15 * US], [2, 1.5 * MS], [3, 3 * MS]]);
    expect([tbf.stats.sent, tbf.stats.dropped, tbf.stats.overlimits, tbf.qlen]).toEqual([4, 6, 2, 0]);
  });
  it('limit from latency (tc: rate × latency + burst); a packet above burst is dropped', () => {
    const tbf = new Tbf<Pkt>({ rate: 125_000, burst: 1600, latency: 0.05 });
    expect(tbf.limit).toBe(125_000 * 0.05 + 1600);
    expect(tbf.enqueue(new Pkt(0, 1601), 0)).toBe(DR.QDISC_DROP);
    expect(tbf.enqueue(new Pkt(1, 1600), 0)).toBe(0);
  });
});

describe('fq_codel', () => {
  it('over the limit: fq_codel_drop takes half the fattest flow\'s bytes from its head (QDISC_OVERLIMIT)', () => {
    // limit 100: flow 1 holds 80 × 1000 B, flow 2 holds 20. The 101st packet (flow 2) makes qlen 101.
    // The fattest flow is 1 (80000 B): threshold 40000 → heads dropped until len ≥ 40000: 40 packets.
    const q = new FqCodel<Pkt>({ limit: 100 });
    const dropped: Array<[number, string]> = [];
    q.onDrop = (p, r) => dropped.push([p.id, dropReasonName(r)]);
    for (let i = 0; i < 80; i++) q.enqueue(new Pkt(i, 1000, 0, flowHash(1)), 0);
    for (let i = 0; i < 20; i++) q.enqueue(new Pkt(100 + i, 1000, 0, flowHash(2)), 0);
    expect(q.enqueue(new Pkt(200, 1000, 0, flowHash(2)), 0)).toBe(DR.NONE);
    expect(dropped).toEqual(Array.from({ length: 40 }, (_, i) => [i, 'QDISC_OVERLIMIT']));
    expect([q.qlen, q.flowQlen(1), q.flowQlen(2), q.xstats.dropOverlimit, q.stats.dropped]).toEqual([61, 40, 21, 40, 40]);
  });
  it('drop_batch caps one overflow at 64 packets', () => {
    // Flow 1: 150 × 1000 B; threshold 75000 would need 75 packets, drop_batch_size stops at 64.
    const q = new FqCodel<Pkt>({ limit: 200 });
    for (let i = 0; i < 150; i++) q.enqueue(new Pkt(i, 1000, 0, flowHash(1)), 0);
    for (let i = 0; i < 51; i++) q.enqueue(new Pkt(i, 1000, 0, flowHash(2)), 0);
    expect([q.qlen, q.xstats.dropOverlimit]).toEqual([201 - 64, 64]);
  });
  it('the arriving packet is dropped itself when its flow is the fattest and the batch reaches it', () => {
    // limit 1: flow 1 holds 100 B; a 1500 B packet in flow 2 makes flow 2 the fattest → dropped.
    const q = new FqCodel<Pkt>({ limit: 1 });
    q.enqueue(new Pkt(0, 100, 0, flowHash(1)), 0);
    expect(q.enqueue(new Pkt(1, 1500, 0, flowHash(2)), 0)).toBe(DR.QDISC_OVERLIMIT);
    expect([q.qlen, q.backlog]).toEqual([1, 100]);
  });
  it('DRR: a new flow is served before an old backlogged one; quantum per round', () => {
    const q = new FqCodel<Pkt>({ quantum: 1514 });
    for (let i = 0; i < 4; i++) q.enqueue(new Pkt(i, 1000, 0, flowHash(1)), 0);
    const first = [q.dequeue(0)!.id, q.dequeue(0)!.id]; // flow 1: deficit 1514 → 514 → -486
    q.enqueue(new Pkt(100, 1000, 0, flowHash(2)), 0); // new flow → new_flows list
    const rest: number[] = [];
    for (let p = q.dequeue(0); p !== null; p = q.dequeue(0)) rest.push(p.id);
    expect(first).toEqual([0, 1]);
    expect(rest).toEqual([100, 2, 3]);
  });

  // One flow of 300 × 1500 B queued at t=0, dequeued once per ms (a 1.5 MB/s wire). CoDel times are
  // ns >> 10: target 4882, interval 97656. At k ms, now = floor(k·1e6/1024) and the sojourn is `now`.
  // k=5: 4882 is not below target → first_above_time = 4882 + 97656 = 102538. The first k with
  // now > 102538 is 105 (102539): packet 105 is dropped (QDISC_CONGESTED), 106 is returned, count=1,
  // rec_inv_sqrt=0xffff, drop_next = 102539 + reciprocal_scale(97656, 0xffff0000) = 102539 + 97654 =
  // 200193. From then on dequeue k returns packet k+1. The next drop is at the first k with now ≥
  // 200193: k=205 (200195): packet 206 dropped, 207 returned.
  const codelRun = (ecn: number) => {
    const q = new FqCodel<Pkt>();
    const drops: Array<[number, number, number]> = [];
    q.onDrop = (p, r, t) => drops.push([p.id, r, t]);
    for (let i = 0; i < 300; i++) q.enqueue(new Pkt(i, 1500, 0, flowHash(7), ecn), 0);
    const out: Pkt[] = [];
    for (let k = 0; k < 210; k++) out.push(q.dequeue(k * MS)!);
    return { q, drops, out };
  };
  it('CoDel drops at 105 ms and 205 ms (codel_should_drop / control law)', () => {
    const { q, drops, out } = codelRun(0);
    expect(drops).toEqual([[105, DR_QDISC_CONGESTED, 105 * MS], [206, DR_QDISC_CONGESTED, 205 * MS]]);
    expect([out[104]!.id, out[105]!.id, out[204]!.id, out[205]!.id]).toEqual([104, 106, 205, 207]);
    expect([q.xstats.codelDrops, q.stats.dropped, q.xstats.ecnMark]).toEqual([2, 2, 0]);
  });
  it('ECN-capable packets are CE-marked instead (INET_ECN_set_ce)', () => {
    const { q, drops, out } = codelRun(2);
    expect(drops).toEqual([]);
    expect(out[105]!.id).toBe(105);
    expect(out[105]!.ecn).toBe(3);
    expect(out[104]!.ecn).toBe(2);
    expect(q.xstats.ecnMark).toBeGreaterThanOrEqual(2);
  });
  it('never drops while the whole backlog is at most one MTU', () => {
    const q = new FqCodel<Pkt>();
    q.enqueue(new Pkt(0, 1500, 0, flowHash(1)), 0);
    q.enqueue(new Pkt(1, 10, 0, flowHash(1)), 0);
    expect(q.dequeue(0)!.id).toBe(0);
    expect(q.dequeue(10_000 * MS)!.id).toBe(1); // 10 s sojourn, backlog 0 ≤ 1514 after dequeue
    expect(q.stats.dropped).toBe(0);
  });
});
