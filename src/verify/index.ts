/**
 * `pktpath verify`: build the world in real network namespaces, send the capture's frames through the
 * real kernel, record what it did with each packet, replay the same frames through the model and
 * compare packet by packet.
 *
 *   world ─┬─ plan.ts ── kernel_run.ts (namespaces, tracing, injection) ── truth.ts ─┐
 *          └─ workers/replay.ts (the model) ─────────────────────────────────────────┴─ compare.ts
 *
 * `verify()` is the in-process entry point (the kernel-checked test suite calls it); cmd_verify.ts
 * wraps it for the command line.
 */
import { release } from 'node:os';
import { loadWorld } from '../stack/world_load.js';
import { parseInputArg, runReplay, type ReplayInput } from '../workers/replay.js';
import { toTraceRecord, type TraceRecord } from '../trace/schema.js';
import { conntrackEntries } from '../trace/conntrack_dump.js';
import { formatConntrack } from '../stack/conntrack/index.js';
import { UsageError } from '../errors.js';
import { buildPlan, planText, type Plan } from './plan.js';
import { readRawRulesets, type RawRuleset } from './rulesets.js';
import { buildSchedule } from './inject.js';
import { KernelSession, missingTools, unavailableReason, VerifyError, VerifyUnavailable } from './kernel_run.js';
import { deriveTruth } from './truth.js';
import {
  agreementRows, agreementTable, compareConntrack, comparePacket, disagreementText, modelFate, placeText, RANDOM_RULE,
  type Agreement, type ConntrackResult, type PacketResult,
} from './compare.js';

/** Errors and environment checks, for callers of verify(). */
export { VerifyError, VerifyUnavailable, unavailableReason, missingTools } from './kernel_run.js';

/** Options of one verification. */
export interface VerifyOptions {
  /** Snapshot directory or lab file. */
  world: string;
  /** FILE@NS:DEV arguments. */
  inputs: string[];
  /** Send back to back instead of at the capture's pace. */
  topspeed?: boolean;
  allowUnsupported?: boolean;
  /** Read skb:kfree_skb through tracefs (default true). */
  droptrace?: boolean;
  /** Namespace prefix (default ppv<pid>). */
  prefix?: string;
  /** Note materialisation failures (a route, a rule, a ruleset) and go on instead of stopping. */
  keepGoing?: boolean;
  /** Keep the work directory (captures, traces, logs). */
  keepWork?: boolean;
  /** Stop after this many packets. */
  count?: number;
  /** Refuse paced runs longer than this (s); default 300. */
  maxDurationS?: number;
  /** Progress lines (stderr in the CLI). */
  log?: (line: string) => void;
}

/** The outcome. */
export interface VerifyResult {
  world: string;
  kernel: string;
  packets: PacketResult[];
  rows: Agreement[];
  conntrack: ConntrackResult[];
  notes: string[];
  /** 'skb:kfree_skb' or why drop reasons come only from nft traces and inference. */
  droptrace: string;
  /** Every packet agrees on verdict, place and details. */
  agree: boolean;
  workDir: string | null;
}

/** The plan only (no root needed): what --dry-run prints. */
export function verifyPlan(o: Pick<VerifyOptions, 'world' | 'allowUnsupported' | 'prefix'>): { plan: Plan; text: string } {
  const world = loadWorld(o.world, { allowUnsupported: Boolean(o.allowUnsupported) });
  const plan = buildPlan(world, { prefix: o.prefix ?? `ppv${process.pid}`, allowUnsupported: Boolean(o.allowUnsupported), rulesets: readRawRulesets(o.world, world) });
  return { plan, text: planText(plan) };
}

// Teardown must also run when the process is told to stop.
const kSignals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** Run one verification. Throws VerifyUnavailable (no root / namespaces), VerifyError, UsageError, ConfigError. */
export async function verify(o: VerifyOptions): Promise<VerifyResult> {
  const log = o.log ?? (() => {});
  const why = unavailableReason();
  if (why) throw new VerifyUnavailable(why);
  const allow = Boolean(o.allowUnsupported);
  const world = loadWorld(o.world, { allowUnsupported: allow });
  const inputs: ReplayInput[] = o.inputs.map(parseInputArg);
  if (!inputs.length) throw new UsageError('give at least one capture as FILE@NS:DEV');
  const rulesets = readRawRulesets(o.world, world);
  const plan = buildPlan(world, { prefix: o.prefix ?? `ppv${process.pid}`, allowUnsupported: allow, rulesets });
  const missing = missingTools([...rulesets.values()].some((r) => r.iptables));
  if (missing.length) throw new VerifyError(`pktpath verify needs ${missing.join(', ')}`);
  const schedule = buildSchedule(world, inputs, plan, o.count ?? 0);
  const maxS = o.maxDurationS ?? 300;
  if (!o.topspeed && schedule.durationNs / 1e9 > maxS) {
    throw new UsageError(`the capture spans ${(schedule.durationNs / 1e9).toFixed(0)} s, longer than --max-duration ${maxS} s: pass --topspeed, or cut the capture`);
  }

  // The model first: it is cheap, and a world it refuses is refused before any namespace exists.
  const records: TraceRecord[] = [];  // by index
  const modelCt = new Map<string, string[]>();
  const modelWorld = loadWorld(o.world, { allowUnsupported: allow });
  runReplay(modelWorld, inputs, {
    datapath: { verifyChecksums: true, trace: true, allowUnsupported: allow, seed: 1 },
    limit: o.count ?? 0,
    onRecord: (r) => {
      records[r.index] = toTraceRecord(r);
    },
    onAtTime: (dp) => {
      dp.world.namespaces.forEach((ns, i) => {
        if (dp.rt[i].ct) modelCt.set(ns.name, []);
      });
      for (const e of conntrackEntries(dp)) modelCt.get(e.ns)!.push(formatConntrack(e.conn, dp.now));
    },
  });

  const timeoutMs = 60_000 + (o.topspeed ? 0 : schedule.durationNs / 1e6);
  const session = new KernelSession({ plan, schedule, topspeed: Boolean(o.topspeed), timeoutMs, keepWork: Boolean(o.keepWork), keepGoing: Boolean(o.keepGoing), droptrace: o.droptrace !== false, log });
  const onSignal = (sig: NodeJS.Signals) => {
    session.teardown();
    process.stderr.write(`pktpath: verify interrupted (${sig}); namespaces and processes removed\n`);
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  const onExit = () => session.teardown();
  for (const s of kSignals) process.once(s, onSignal);
  process.once('exit', onExit);
  let rec;
  let timer: NodeJS.Timeout | undefined;
  try {
    rec = await Promise.race([
      session.run(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new VerifyError(`the kernel run took longer than ${Math.round(timeoutMs / 1000)} s`)), timeoutMs + 15_000);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    session.teardown();
    for (const s of kSignals) process.removeListener(s, onSignal);
    process.removeListener('exit', onExit);
  }

  const fates = deriveTruth(world, schedule, rec);
  const randomChains = new Set<string>();
  for (const ns of world.namespaces) {
    for (const t of ns.ruleset.tables) for (const c of t.chains) if (c.rules.some((x) => RANDOM_RULE.test(x.text))) randomChains.add(`${ns.name} ${t.family} ${t.name} ${c.name}`);
  }
  const endpoints = dnatEndpoints(rulesets);
  const packets: PacketResult[] = fates.map((k, i) => {
    const f = schedule.frames[i];
    const inp = inputs[f.input];
    const r = records[i];
    return comparePacket(`${inp.path}@${inp.ns}:${inp.dev}`, r?.ts ?? `${f.tsSec}.${String(f.tsNsec).padStart(9, '0')}`, k, modelFate(r, randomChains), endpoints);
  });
  // A SYN delivered to a listener is answered by the kernel's TCP (SYN-ACK): its connection moves on in
  // the kernel (SYN_RECV) while the model, which has no TCP sockets, leaves it in SYN_SENT. Such
  // connections are left out of the conntrack comparison and counted in a note.
  const answered: string[] = [];
  for (const k of fates) {
    if (!k.emitted.some((e) => e.type === 'tcp-synack')) continue;
    for (const h of k.forms) if (h.sport !== undefined) answered.push(`src=${h.src} dst=${h.dst} sport=${h.sport} dport=${h.dport} `);
  }
  const isAnswered = (l: string) => answered.some((a) => l.includes(a));
  // A random endpoint choice shows in the reply tuple's source: blank it for those connections.
  // A randomly mapped source port shows in the reply tuple's destination port: blank it too.
  const randomFlows: string[] = [], randomPortFlows: string[] = [];
  packets.forEach((p) => {
    const h = p.kernel.forms[0];
    if (!h || h.sport === undefined) return;
    const key = `src=${h.src} dst=${h.dst} sport=${h.sport} dport=${h.dport} `;
    if (p.model.random) randomFlows.push(key);
    if (p.model.randomPort) randomPortFlows.push(key);
  });
  const blankEndpoint = (l: string) => {
    if (randomFlows.some((a) => l.includes(a))) {
      let n = 0, m = 0;
      l = l.replace(/src=\S+/g, (x) => (n++ === 1 ? 'src=(endpoint)' : x)).replace(/sport=\d+/g, (x) => (m++ === 1 ? 'sport=(endpoint)' : x));
    }
    if (randomPortFlows.some((a) => l.includes(a))) {
      let d = 0;
      l = l.replace(/dport=\d+/g, (x) => (d++ === 1 ? 'dport=(random)' : x));
    }
    return l;
  };
  const conntrack: ConntrackResult[] = [];
  const notes = [...world.warnings, ...rec.notes];
  let skipped = 0;
  for (const ns of world.namespaces) {
    const k0 = rec.conntrack.get(ns.name) ?? [], m0 = modelCt.get(ns.name) ?? [];
    const k = k0.filter((l) => !isAnswered(l)).map(blankEndpoint), m = m0.filter((l) => !isAnswered(l)).map(blankEndpoint);
    skipped += k0.length - k.length;
    if (k.length || m.length) conntrack.push(compareConntrack(ns.name, k, m));
  }
  if (skipped) notes.push(`${skipped} conntrack entr${skipped === 1 ? 'y' : 'ies'} of connections a listener answered (SYN-ACK) left out of the conntrack comparison: the kernel's TCP moves them to SYN_RECV, the model has no TCP sockets`);
  return {
    world: o.world,
    kernel: release(),
    packets,
    rows: agreementRows(packets),
    conntrack,
    notes,
    droptrace: rec.drops ? 'skb:kfree_skb (tracefs instance)' : `unavailable: ${rec.dropNote}`,
    agree: packets.every((p) => p.detailAgrees) && conntrack.every((c) => c.agree === c.total),
    workDir: o.keepWork ? rec.workDir : null,
  };
}

/** DNAT targets named in the rulesets ("addr" and "addr:port"): the candidates of a random choice. */
function dnatEndpoints(rs: Map<string, RawRuleset>): Set<string> {
  const out = new Set<string>();
  for (const r of rs.values()) {
    const text = `${r.iptables ?? ''}\n${r.nftText ?? ''}\n${r.nftJson ?? ''}`;
    for (const m of text.matchAll(/--to-destination\s+([0-9.]+)(?::(\d+))?/g)) add(m[1], m[2]);
    for (const m of text.matchAll(/dnat\s+(?:ip\s+)?to\s+([0-9.]+)(?::(\d+))?/g)) add(m[1], m[2]);
    for (const m of text.matchAll(/"addr":\s*"([0-9.]+)"(?:,\s*"port":\s*(\d+))?/g)) add(m[1], m[2]);
  }
  function add(a: string, p: string | undefined): void {
    out.add(a);
    if (p) out.add(`${a}:${p}`);
  }
  return out;
}

/** The text report: agreement table, conntrack, disagreements, notes; `verbose` adds every packet. */
export function verifyText(res: VerifyResult, verbose = false): string {
  let s = `pktpath verify: ${res.world} on Linux ${res.kernel}; drop reasons: ${res.droptrace}\n\n`;
  if (verbose) {
    for (const p of res.packets) {
      const k = p.kernel, m = p.model;
      const kr = k.reason ? ` ${k.reason}${k.reasonFrom && k.reasonFrom !== 'unknown' ? ` (${k.reasonFrom})` : ''}` : '';
      s += `${p.detailAgrees ? 'ok ' : 'DIFF'} #${p.index} ${p.input.replace(/^.*@/, '')} ${p.pkt}\n`;
      s += `      kernel: ${placeText(k)}${kr}${k.where ? ` at ${k.where.family} ${k.where.table} ${k.where.chain}` : ''}${k.out ? ` out ${hdr(k.out)}` : ''}\n`;
      s += `      model:  ${placeText(m)}${m.reason ? ` ${m.reason}` : ''}${m.where ? ` at ${m.where.family} ${m.where.table} ${m.where.chain}` : ''}${m.out ? ` out ${hdr(m.out)}` : ''}\n`;
      const ke = k.emitted.filter((e) => e.type !== 'tcp-synack').map((e) => `${e.type}${/^(icmp6 )?type /.test(e.detail) ? ` ${e.detail}` : ''}@${e.ns}`);
      const me = m.emitted.map((e) => `${e.type}@${e.ns}`);
      if (ke.length || me.length) s += `      answers: kernel ${ke.join(', ') || '-'}; model ${me.join(', ') || '-'}\n`;
    }
    s += '\n';
  }
  s += agreementTable(res.rows);
  for (const c of res.conntrack) s += `conntrack ${c.ns}: ${c.agree}/${c.total} entries agree\n`;
  const bad = res.packets.filter((p) => !p.detailAgrees);
  if (bad.length) {
    s += `\n${bad.length} disagreement(s):\n`;
    for (const p of bad) s += disagreementText(p) + '\n';
  }
  for (const c of res.conntrack) {
    if (c.agree === c.total) continue;
    s += `\nconntrack ${c.ns} differs:\n`;
    for (const l of c.kernel) if (!c.model.includes(l)) s += `  kernel only: ${l}\n`;
    for (const l of c.model) if (!c.kernel.includes(l)) s += `  model only:  ${l}\n`;
  }
  const unsure = res.packets.filter((p) => p.detailAgrees && p.notes.length);
  if (unsure.length) {
    s += '\nnotes on agreeing packets:\n';
    for (const p of unsure) s += `  #${p.index} ${p.pkt}: ${p.notes.join('; ')}\n`;
  }
  if (res.notes.length) s += `\nnotes:\n${res.notes.map((n) => `  - ${n}`).join('\n')}\n`;
  const all = res.rows[res.rows.length - 1];
  s += `\nkernel agreement: verdict ${all.verdict}/${all.packets} (${all.packets ? ((100 * all.verdict) / all.packets).toFixed(1) : '-'}%), detail ${all.detail}/${all.packets} (${all.packets ? ((100 * all.detail) / all.packets).toFixed(1) : '-'}%)\n`;
  return s;
}

function hdr(h: { src: string; dst: string; sport?: number; dport?: number; icmp_id?: number }): string {
  return h.sport !== undefined ? `${h.src}:${h.sport} > ${h.dst}:${h.dport}` : `${h.src} > ${h.dst}${h.icmp_id !== undefined ? ` id ${h.icmp_id}` : ''}`;
}

/** The JSON report (`--json`). */
export function verifyJson(res: VerifyResult): unknown {
  return {
    v: 1,
    world: res.world,
    kernel: res.kernel,
    droptrace: res.droptrace,
    agree: res.agree,
    agreement: res.rows,
    conntrack: res.conntrack,
    packets: res.packets.map((p) => ({
      index: p.index, ts: p.ts, input: p.input, pkt: p.pkt, verdict_agrees: p.verdictAgrees, detail_agrees: p.detailAgrees,
      diffs: p.diffs, notes: p.notes, kernel: p.kernel, model: p.model,
    })),
    notes: res.notes,
    ...(res.workDir ? { work_dir: res.workDir } : {}),
  };
}
