/**
 * The end-of-run summary: packets by fate, drops by reason and by place, NAT bindings, top flows,
 * rule hit counters and device counters.
 */
import { formatIpv4 } from '../stack/inet.js';
import type { World } from '../stack/netns.js';
import type { PacketRecord } from '../stack/record.js';
import { consistencyText, type ConsistencyReport } from './consistency.js';
import type { Datapath } from '../stack/datapath.js';
import type { SoftirqReport } from '../workers/softirq.js';

/** NAT bindings listed in the summary (the count is exact; the list is capped). */
const kNatListMax = 1000;

/** Flows tracked for "top flows": pruned back to kTopKeep when kTopMax is reached (counts of flows
 * that were pruned and came back restart, so the top list is exact for heavy flows and approximate
 * for the tail; a bounded table keeps memory flat on captures with millions of flows). */
const kTopMax = 8192;
const kTopKeep = 2048;

interface FlowCount {
  n: number;
  proto: string;
  src4: number;
  dst4: number;
  sport: number;
  dport: number;
}

/** Accumulates trace records into a summary. */
export class Summary {
  packets = 0;
  byVerdict = new Map<string, number>();
  dropsByReason = new Map<string, number>();
  dropsByPlace = new Map<string, number>();
  natCreated: string[] = [];
  natCreatedCount = 0;
  consistency: ConsistencyReport | null = null;
  /** The queue model's report (--queue-model), and its text form. */
  softirq: SoftirqReport | null = null;
  softirqText = '';
  /** The --filter expression (canonical form), when packets were selected. */
  filter: string | null = null;
  flows = new Map<number, FlowCount>();
  firstTs = '';
  lastTs = '';

  constructor(readonly world: World) {}

  /** Count one record. */
  add(r: PacketRecord): void {
    this.packets++;
    const f = r.final();
    inc(this.byVerdict, f.verdict);
    if (f.verdict === 'dropped') {
      inc(this.dropsByReason, f.reason ?? 'NOT_SPECIFIED');
      const w = f.where as Record<string, unknown> | undefined;
      const place = !w ? f.ns : 'table' in w ? `${f.ns} ${w.family} ${w.table} ${w.chain}: ${w.rule}` : `${f.ns} ${w.stage}${w.dev ? ` (${w.dev})` : ''}`;
      inc(this.dropsByPlace, `${f.reason} at ${place}`);
    }
    for (let k = 0; k < r.nat.length; k++) {
      const n = r.nat[k];
      if (!n.created) continue;
      this.natCreatedCount++;
      if (this.natCreated.length < kNatListMax) this.natCreated.push(`${n.ns} ${n.kind} ${r.proto} ${tuple(n.before)} → ${tuple(n.after)}`);
    }
    if (r.l3 === 1) {
      // A 52-bit key from two 32-bit mixes of the 5-tuple: no string per packet.
      const a = mix(r.src4 ^ Math.imul(r.dst4, 0x9e3779b1) ^ r.l4);
      const b = mix(((r.sport & 0xffff) << 16 | (r.dport & 0xffff)) ^ Math.imul(r.src4, 0x85ebca6b) ^ r.dst4);
      const key = a * 0x100000 + (b & 0xfffff);
      const e = this.flows.get(key);
      if (e) e.n++;
      else {
        if (this.flows.size >= kTopMax) this.prune();
        this.flows.set(key, { n: 1, proto: r.proto, src4: r.src4, dst4: r.dst4, sport: r.sport, dport: r.dport });
      }
    }
  }

  private prune(): void {
    const keep = [...this.flows].sort((x, y) => y[1].n - x[1].n).slice(0, kTopKeep);
    this.flows = new Map(keep);
  }

  /** Rule hit counters (as `nft list ruleset` / `iptables -L -v` count them), taken at the end. */
  rules: Array<{ ns: string; family: string; table: string; chain: string; rule: string; handle: number | null; packets: number; bytes: number }> = [];
  /** Conntrack counters per namespace (`conntrack -S` names) and entries at the end. */
  conntrack: Array<{ ns: string; entries: number; stats: Record<string, number> }> = [];

  /** Note the run's span, and read the datapath's counters. */
  finish(s: { firstTs: string; lastTs: string }, dp?: Datapath): void {
    this.firstTs = s.firstTs;
    this.lastTs = s.lastTs;
    if (!dp) return;
    dp.world.namespaces.forEach((ns, i) => {
      const rt = dp.rt[i];
      for (const t of rt.rules.tables) {
        for (const c of t.chains.values()) {
          for (const r of c.rules) {
            if (r.packets > 0) this.rules.push({ ns: ns.name, family: t.family, table: t.name, chain: c.name, rule: r.text, handle: r.handle, packets: r.packets, bytes: r.bytes });
          }
          if (c.base && c.policyPackets > 0) this.rules.push({ ns: ns.name, family: t.family, table: t.name, chain: c.name, rule: `policy ${c.base.policy}`, handle: null, packets: c.policyPackets, bytes: 0 });
        }
      }
      if (rt.ct) {
        const st = rt.ct.stats as unknown as Record<string, number>;
        this.conntrack.push({ ns: ns.name, entries: rt.ct.size(), stats: Object.fromEntries(Object.entries(st).filter(([, v]) => typeof v === 'number')) });
      }
    });
  }

  /** As JSON (`--summary`). */
  toJSON(): unknown {
    return {
      v: 1,
      packets: this.packets,
      ...(this.filter !== null ? { filter: this.filter } : {}),
      first_ts: this.firstTs,
      last_ts: this.lastTs,
      verdicts: Object.fromEntries(this.byVerdict),
      drops_by_reason: Object.fromEntries(this.dropsByReason),
      drops_by_place: Object.fromEntries(this.dropsByPlace),
      nat_bindings_created: this.natCreatedCount,
      nat_bindings: this.natCreated,
      consistency: this.consistency,
      ...(this.softirq ? { softirq: this.softirq } : {}),
      top_flows: this.topFlows(10),
      rules: this.rules,
      conntrack: this.conntrack,
      devices: this.world.namespaces.flatMap((ns) => ns.devs.map((d) => ({ ns: ns.name, dev: d.name, ...d.stats }))),
      warnings: this.world.warnings,
    };
  }

  /** The heaviest flows (ties by text, for determinism). */
  topFlows(n: number): Array<{ flow: string; packets: number }> {
    const text = (e: FlowCount) =>
      `${e.proto} ${formatIpv4(e.src4)}${e.sport >= 0 ? ':' + e.sport : ''} > ${formatIpv4(e.dst4)}${e.dport >= 0 ? ':' + e.dport : ''}`;
    return [...this.flows.values()]
      .map((e) => ({ flow: text(e), packets: e.n }))
      .sort((a, b) => b.packets - a.packets || (a.flow < b.flow ? -1 : 1))
      .slice(0, n);
  }

  /** As text for stderr. */
  text(): string {
    let s = `pktpath: ${this.packets} packets ${this.filter !== null ? `reported (--filter ${this.filter || 'all'})` : 'replayed'}`;
    s += ` (${[...this.byVerdict].map(([k, n]) => `${n} ${k}`).join(', ')})\n`;
    if (this.dropsByPlace.size) {
      s += 'drops:\n';
      for (const [k, n] of top(this.dropsByPlace, 20)) s += `  ${String(n).padStart(7)}  ${k}\n`;
    }
    if (this.natCreatedCount) {
      s += `NAT bindings created: ${this.natCreatedCount}\n`;
      for (const b of this.natCreated.slice(0, 10)) s += `  ${b}\n`;
    }
    if (this.rules.length) {
      s += 'rule hits (packets  bytes  rule):\n';
      let last = '';
      for (const r of this.rules) {
        const where = `${r.ns} ${r.family} ${r.table} ${r.chain}`;
        if (where !== last) s += `  ${where}\n`;
        last = where;
        s += `    ${String(r.packets).padStart(7)} ${String(r.bytes).padStart(9)}  ${r.rule}${r.handle !== null ? ` # handle ${r.handle}` : ''}\n`;
      }
    }
    const devs = this.world.namespaces.flatMap((ns) => ns.devs.filter((d) => d.stats.rxPackets || d.stats.txPackets).map((d) => ({ ns: ns.name, d })));
    if (devs.length) {
      s += 'devices (RX packets bytes dropped | TX packets bytes dropped):\n';
      for (const { ns, d } of devs) {
        const st = d.stats;
        s += `  ${`${ns}:${d.name}`.padEnd(20)} RX ${String(st.rxPackets).padStart(7)} ${String(st.rxBytes).padStart(9)} ${String(st.rxDropped).padStart(5)} | TX ${String(st.txPackets).padStart(7)} ${String(st.txBytes).padStart(9)} ${String(st.txDropped).padStart(5)}\n`;
      }
    }
    if (this.softirqText) s += this.softirqText;
    if (this.consistency) s += consistencyText(this.consistency);
    if (this.world.warnings.length) {
      s += 'warnings:\n';
      for (const w of this.world.warnings) s += `  ${w}\n`;
    }
    return s;
  }
}

function tuple(t: { src: string; dst: string; sport?: number; dport?: number } | null | undefined): string {
  if (!t) return '?';
  return `${t.src}${t.sport !== undefined ? ':' + t.sport : ''} > ${t.dst}${t.dport !== undefined ? ':' + t.dport : ''}`;
}


function mix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function inc(m: Map<string, number>, k: string): void {
  m.set(k, (m.get(k) ?? 0) + 1);
}

function top(m: Map<string, number>, n: number): Array<[string, number]> {
  return [...m].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, n);
}
