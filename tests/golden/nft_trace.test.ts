/**
 * Golden test of netfilter chain/verdict sequences against the real kernel's `nft monitor trace`.
 *
 * For every kernel-oracle scenario (../shared/oracle/<s>, and the bundled copies captures/oracle-<s>,
 * which use the shared trace of the same run), replay the inputs in-process, rebuild from
 * trace/nft-trace.json the kernel's base-chain evaluations of each input packet (and of the packets
 * the host generated because of it), and compare them, in order, with the model's `nf` steps:
 * (family, table, chain, [rule handle:verdict ...], final verdict) per visit. How visits are matched
 * to packets and what is left out: tests/golden/NFT_TRACE.md.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadWorld } from '../../src/stack/world_load.js';
import { runReplay, parseInputArg } from '../../src/workers/replay.js';
import { toTraceRecord, type TraceRecord } from '../../src/trace/schema.js';
import type { Emitted } from '../../src/stack/record.js';
import {
  attribute, bridgeTopology, groupVisits, harnessVisitTexts, inputArgs, kernelSequence, kVisitText, loadBackground, loadInputs, loadTrace,
  loadTruth, modelSequence, modelVisits, parsePacketFields, parseTcpFlags, tcpLetters, visitMatchesInput,
  type Attribution, type KVisit, type ModelRec, type TraceEvent, type TruthRec,
} from './nft_trace_match.js';

const root = resolve(__dirname, '../..');
const shared = resolve(root, '../shared/oracle');
/** The harness traces the host namespace only (shared/oracle/README.md). */
const TRACED_NS = 'host';

/**
 * Input packets left out of the comparison, by scenario and index, each with the reason. Only for
 * harness artefacts that cannot be reproduced offline (e.g. events lost by `nft monitor`); never for
 * model bugs. None needed so far.
 */
const EXCLUDE: Record<string, Record<number, string>> = {};

interface Scenario {
  /** Display name (`shared docker-egress`, `bundled oracle-docker-egress`). */
  name: string;
  /** Scenario name in shared/oracle (key of EXCLUDE). */
  id: string;
  /** Folder holding truth.jsonl, world/ and inputs/. */
  truthDir: string;
  /** trace/nft-trace.json to use; null = skip with `skip`. */
  trace: string | null;
  /** summary.json folder (background frames the harness could not attribute). */
  summaryDir: string;
  skip?: string;
}

function scenarios(): Scenario[] {
  const out: Scenario[] = [];
  if (!existsSync(shared)) {
    out.push({ name: 'shared/oracle', id: '', truthDir: '', trace: null, summaryDir: '', skip: `${shared} is absent: no kernel nft traces to compare with (bundled copies have no trace/ folder)` });
  } else {
    for (const d of readdirSync(shared).sort()) {
      const dir = join(shared, d);
      if (!existsSync(join(dir, 'truth', 'truth.jsonl'))) continue;
      const tr = join(dir, 'trace', 'nft-trace.json');
      out.push({
        name: `shared ${d}`, id: d, truthDir: join(dir, 'truth'), summaryDir: join(dir, 'truth'),
        trace: existsSync(tr) ? tr : null, ...(existsSync(tr) ? {} : { skip: `${tr} is absent` }),
      });
    }
  }
  const caps = join(root, 'captures');
  for (const d of readdirSync(caps).sort()) {
    if (!d.startsWith('oracle-')) continue;
    const id = d.slice('oracle-'.length);
    const dir = join(caps, d);
    const s: Scenario = { name: `bundled ${d}`, id, truthDir: dir, trace: null, summaryDir: join(shared, id, 'truth') };
    const tr = join(shared, id, 'trace', 'nft-trace.json');
    const sharedTruth = join(shared, id, 'truth', 'truth.jsonl');
    if (existsSync(join(dir, 'trace', 'nft-trace.json'))) {
      s.trace = join(dir, 'trace', 'nft-trace.json');
      s.summaryDir = dir;
    } else if (!existsSync(tr)) {
      s.skip = `captures/${d} has no trace/ folder and ${tr} is absent`;
    } else if (!existsSync(sharedTruth) || !sameRun(join(dir, 'truth.jsonl'), sharedTruth)) {
      s.skip = `captures/${d}/truth.jsonl is not from the run of ${join(shared, id)} (timestamps differ): its trace does not apply`;
    } else s.trace = tr;
    out.push(s);
  }
  return out;
}

/** Two truth files describe the same run when their packets have the same timestamps. */
function sameRun(a: string, b: string): boolean {
  const ts = (p: string) => readFileSync(p, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { ts: string }).ts).join(',');
  return ts(a) === ts(b);
}

function replay(truthDir: string): TraceRecord[] {
  const world = loadWorld(join(truthDir, 'world'), { allowUnsupported: false });
  const recs: TraceRecord[] = [];
  runReplay(world, inputArgs(truthDir, TRACED_NS).map(parseInputArg), {
    datapath: { verifyChecksums: true, trace: true, allowUnsupported: false, seed: 1 },
    limit: 0,
    onRecord: (r) => recs.push(toTraceRecord(r)),
  });
  return recs;
}

interface PacketRow {
  index: number;
  kernel: string[];
  model: string[];
  excluded: string | null;
  equal: boolean;
}

interface Outcome {
  truth: TruthRec[];
  recs: TraceRecord[];
  events: TraceEvent[];
  eventCount: number | undefined;
  harness: string[] | null;
  visits: KVisit[];
  orphans: TraceEvent[];
  a: Attribution;
  rows: PacketRow[];
}

function evaluate(s: Scenario): Outcome {
  const truth = loadTruth(join(s.truthDir, 'truth.jsonl'));
  const recs = replay(s.truthDir);
  const tf = loadTrace(s.trace!);
  const { visits, orphans } = groupVisits(tf.events);
  const models = new Map<number, ModelRec>(recs.map((r) => [r.index, { index: r.index, steps: r.steps, emitted: r.emitted as Emitted[] }]));
  const topo = bridgeTopology(join(s.truthDir, 'world'), TRACED_NS);
  const a = attribute(visits, loadInputs(truth, s.truthDir), models, topo, loadBackground(s.summaryDir));
  const rows = truth.map((t): PacketRow => {
    const kernel = kernelSequence(t.index, a);
    const m = models.get(t.index);
    const model = m ? modelSequence(m, TRACED_NS) : ['(no model record)'];
    const excluded = EXCLUDE[s.id]?.[t.index] ?? null;
    return { index: t.index, kernel, model, excluded, equal: JSON.stringify(kernel) === JSON.stringify(model) };
  });
  return { truth, recs, events: tf.events, eventCount: tf.event_count, harness: harnessVisitTexts(tf), visits, orphans, a, rows };
}

const summary: string[][] = [];
const reportLines: string[] = [];

afterAll(() => {
  if (summary.length === 0) return;
  const head = ['scenario', 'packets', 'with nf visits', 'compared', 'matched', 'mismatched', 'excluded pkts', 'kernel visits', 'own/generated', 'excluded visits', 'ambiguous'];
  const rows = [head, ...summary];
  const w = head.map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]) : c.padStart(w[i]))).join('  ');
  console.log(['', 'nft trace agreement (model nf steps vs kernel `nft monitor trace`, per input packet):', line(head), w.map((n) => '-'.repeat(n)).join('  '), ...summary.map(line), ...reportLines].join('\n'));
});

for (const s of scenarios()) {
  if (s.skip) {
    // The scenario's kernel trace is not available here (../shared/oracle missing): nothing to compare.
    console.warn(`nft_trace: skipping ${s.name}: ${s.skip}`);
    describe(s.name, () => {
      it.skipIf(true)(`skipped: ${s.skip}`, () => {});
    });
    continue;
  }
  describe(s.name, () => {
    const o = evaluate(s);
    const compared = o.rows.filter((r) => !r.excluded);
    const matched = compared.filter((r) => r.equal);
    const own = [...o.a.own.values()].reduce((n, v) => n + v.length, 0);
    const gen = [...o.a.gen.values()].reduce((n, m) => n + [...m.values()].reduce((k, v) => k + v.length, 0), 0);
    summary.push([
      s.name, String(o.rows.length), String(o.rows.filter((r) => r.kernel.length > 0).length), String(compared.length), String(matched.length),
      String(compared.length - matched.length), String(o.rows.length - compared.length), String(o.visits.length), `${own}/${gen}`,
      String(o.a.excluded.length), String(o.a.ambiguous.length),
    ]);
    for (const r of compared.filter((x) => !x.equal)) {
      reportLines.push(`\nMISMATCH ${s.name} packet ${r.index}:\n  kernel:\n${r.kernel.map((x) => '    ' + x).join('\n') || '    (none)'}\n  model:\n${r.model.map((x) => '    ' + x).join('\n') || '    (none)'}`);
    }
    if (process.env.NFT_TRACE_VERBOSE) {
      // Every packet's attributed visits with their nft-trace.txt lines, for checking the matching by eye.
      for (const t of o.truth) {
        const vs = [...(o.a.own.get(t.index) ?? []).map((v) => [v, '']), ...[...(o.a.gen.get(t.index) ?? new Map<string, KVisit[]>()).entries()].flatMap(([l, xs]) => xs.map((v) => [v, l + ' ']))] as [KVisit, string][];
        reportLines.push(`${s.name} #${t.index} ${t.in.dev} ${JSON.stringify(t.key)}\n${vs.map(([v, l]) => `    line ${v.line} ${l}${kVisitText(v)} | ${v.packet.slice(0, 140)}`).join('\n')}`);
      }
    }
    for (const x of o.a.ambiguous) reportLines.push(`ambiguous visit (${s.name}, nft-trace.txt line ${x.visit.line}): fits packets ${x.candidates.join(', ')}; given to the earliest, ${x.chosen}`);
    for (const e of o.a.excluded) reportLines.push(`excluded visit (${s.name}, nft-trace.txt line ${e.visit.line}): ${kVisitText(e.visit)} — ${e.reason}`);
    for (const [i, r] of Object.entries(EXCLUDE[s.id] ?? {})) reportLines.push(`excluded packet (${s.name}) ${i}: ${r}`);

    it('the model has one record per input packet', () => {
      expect(o.recs.map((r) => r.index)).toEqual(o.truth.map((t) => t.index));
    });

    it('the kernel trace is complete: every event belongs to a visit, every visit ends in a verdict', () => {
      if (o.eventCount !== undefined) expect(o.events.length).toBe(o.eventCount);
      expect(o.orphans).toEqual([]);
      expect(o.a.incomplete.map(kVisitText)).toEqual([]);
      // Same visits as the harness's own grouping (hook_visits), when the file has it.
      if (o.harness) expect(o.visits.map(kVisitText)).toEqual(o.harness);
    });

    it('every kernel hook visit belongs to an input packet (or a packet it made the host send), or is explicitly excluded', () => {
      expect(o.a.unattributed.map((v) => `line ${v.line} ${kVisitText(v)} | ${v.packet}`)).toEqual([]);
      for (const e of o.a.excluded) expect(e.reason).toMatch(/host_originated_frames_not_attributed/);
    });

    it('the comparison is not vacuous: a changed verdict in the model is seen', () => {
      // Flip the verdict of the first nf step of every record that has one: each such packet must then
      // disagree with the kernel (its sequence is really compared, step by step).
      const flip = (st: unknown) => {
        const x = st as { kind: string; verdict: string };
        return x.kind === 'nf' ? { ...x, verdict: x.verdict === 'continue' ? 'drop' : 'continue' } : x;
      };
      let n = 0;
      for (const r of o.recs) {
        const first = r.steps.findIndex((x) => (x as { kind: string }).kind === 'nf');
        if (first < 0) continue;
        const steps = r.steps.map((x, i) => (i === first ? flip(x) : x));
        const row = o.rows[r.index];
        if (row.excluded || !row.equal) continue;
        expect(modelSequence({ index: r.index, steps, emitted: r.emitted as Emitted[] }, TRACED_NS)).not.toEqual(row.kernel);
        n++;
      }
      expect(n).toBeGreaterThan(0);
    });

    it.each(o.rows.map((r) => [r.index, r] as const))('packet %i: the model walks the kernel\'s chains with its verdicts', (_i, r) => {
      if (r.excluded) return; // listed in EXCLUDE with its reason (printed in the summary)
      expect(r.model).toEqual(r.kernel);
    });
  });
}

describe('nft trace matcher', () => {
  it('parses the header fields nft prints', () => {
    const f = parsePacketFields('iif "br0" oif "eth0" ether saddr 02:42:ac:11:00:02 ether daddr 02:42:ac:11:00:01 ip saddr 172.17.0.2 ip daddr 198.51.100.1 ip dscp cs0 ip ecn not-ect ip ttl 63 ip id 8174 ip length 60 tcp sport 40001 tcp dport 7000 tcp flags == syn tcp window 64240');
    expect(f).toMatchObject({ iif: 'br0', oif: 'eth0', etherSrc: '02:42:ac:11:00:02', l3: 'ip', saddr: '172.17.0.2', daddr: '198.51.100.1', ipid: 8174, proto: 'tcp', sport: 40001, dport: 7000, tcpFlags: 2 });
    const i = parsePacketFields('oif "lo" ip saddr 198.51.100.2 ip daddr 198.51.100.2 ip dscp cs6 ip ecn not-ect ip ttl 64 ip id 16634 ip protocol icmp ip length 112 icmp type destination-unreachable icmp code host-unreachable icmp id 0 icmp sequence 0 @th,64,96 0x0');
    expect(i).toMatchObject({ oif: 'lo', proto: 'icmp', icmpType: 3, icmpCode: 1, icmpId: 0 });
    expect(parsePacketFields('iif "vethc1" ether saddr 02:42:ac:11:00:02 ether daddr ff:ff:ff:ff:ff:ff arp operation request')).toMatchObject({ l3: 'arp', arpOp: 1 });
    expect(parseTcpFlags('0x12')).toBe(18);
    expect(parseTcpFlags('syn | ack')).toBe(18);
    expect(tcpLetters('FA')).toBe(17);
  });

  it('groups interleaved events by trace id into visits, and sees lost packet lines', () => {
    const ev = (line: number, id: string, chain: string, kind: string, x: Partial<TraceEvent> = {}): TraceEvent => ({ line, rx_time: line, id, family: 'ip', table: 'filter', chain, kind, ...x });
    const { visits, orphans } = groupVisits([
      ev(1, 'a', 'forward', 'packet', { packet: 'ip saddr 10.0.0.1 ip daddr 10.0.0.2 ip id 1 ip protocol udp udp sport 1 udp dport 2' }),
      ev(2, 'b', 'input', 'packet', { packet: 'ip saddr 10.0.0.3 ip daddr 10.0.0.2 ip id 2' }),
      ev(3, 'a', 'forward', 'rule', { handle: 5, verdict: 'jump sub' }),
      ev(4, 'a', 'sub', 'rule', { handle: 9, verdict: 'continue' }),
      ev(5, 'b', 'input', 'rule', { handle: 3, verdict: 'drop' }),
      ev(5, 'a', 'sub', 'return', { verdict: 'continue' }),
      ev(6, 'a', 'forward', 'policy', { verdict: 'accept' }),
      ev(7, 'c', 'output', 'rule', { handle: 1, verdict: 'accept' }),
    ]);
    expect(visits.map(kVisitText)).toEqual(['ip filter forward [5:jump sub/9:continue sub/return] policy-accept', 'ip filter input [3:drop] drop']);
    expect(orphans.map((e) => e.line)).toEqual([7]);
  });

  it('groups the model\'s nf steps into the same visits', () => {
    const nf = (chain: string, hook: string, rule: string, verdict: string) => ({ kind: 'nf', ns: 'host', family: 'ip', table: 'filter', chain, hook, prio: 0, rule, verdict });
    expect(modelVisits([
      nf('forward', 'forward', '5 jump sub', 'jump'), nf('sub', 'forward', '9 counter', 'continue'), nf('sub', 'forward', 'end of chain', 'return'),
      nf('forward', 'forward', 'policy', 'policy-accept'),
      { kind: 'route', ns: 'host' },
      nf('output', 'output', '3 drop', 'drop'),
    ], 'host')).toEqual(['ip filter forward [5:jump sub/9:continue sub/return] policy-accept', 'ip filter output [3:drop] drop']);
  });

  it('matches a post-NAT view and refuses a packet that arrived after the event', () => {
    const t: TruthRec = {
      index: 0, ts: '100.0', in: { ns: 'host', dev: 'eth0' },
      key: { l3: 'ipv4', proto: 'tcp', src: '198.51.100.1', dst: '198.51.100.2', ipid: 7, sport: 7000, dport: 40001, tcp_flags: 'SA' },
      final: { verdict: 'transmitted', dev: 'vethc1' }, out: { src: '198.51.100.1', dst: '172.17.0.2', sport: 7000, dport: 40001 },
    };
    const topo = { master: new Map([['vethc1', 'br0']]), ports: new Map([['br0', ['vethc1']]]) };
    const v = (rx: number): KVisit => ({
      seq: 0, id: 'x', line: 1, rx, family: 'ip', table: 'filter', chain: 'forward', rules: [], final: 'accept',
      packet: '', fields: parsePacketFields('iif "eth0" oif "br0" ip saddr 198.51.100.1 ip daddr 172.17.0.2 ip ttl 63 ip id 7 ip length 60 tcp sport 7000 tcp dport 40001 tcp flags == 0x12'),
    });
    expect(visitMatchesInput(v(100.001), { t, ts: 100, ether: null }, topo)).toBe(true);
    expect(visitMatchesInput(v(99.9), { t, ts: 100, ether: null }, topo)).toBe(false);
    expect(visitMatchesInput(v(100.001), { t: { ...t, key: { ...t.key, tcp_flags: 'S' } }, ts: 100, ether: null }, topo)).toBe(false);
  });
});
