/**
 * The end-of-run summary: packets by fate, drops by reason and by place, NAT bindings, top flows,
 * rule hit counters and device counters.
 */
import type { World } from '../stack/netns.js';
import type { TraceRecord } from './schema.js';
import type { Final, NatRecord } from '../stack/record.js';

/** Accumulates trace records into a summary. */
export class Summary {
  packets = 0;
  byVerdict = new Map<string, number>();
  dropsByReason = new Map<string, number>();
  dropsByPlace = new Map<string, number>();
  natCreated: string[] = [];
  flows = new Map<string, number>();
  firstTs = '';
  lastTs = '';

  constructor(readonly world: World) {}

  /** Count one record. */
  add(r: TraceRecord): void {
    this.packets++;
    const f = r.final as Final;
    inc(this.byVerdict, f.verdict);
    if (f.verdict === 'dropped') {
      inc(this.dropsByReason, f.reason ?? 'NOT_SPECIFIED');
      const w = f.where as Record<string, unknown> | undefined;
      const place = !w ? f.ns : 'table' in w ? `${f.ns} ${w.family} ${w.table} ${w.chain}: ${w.rule}` : `${f.ns} ${w.stage}${w.dev ? ` (${w.dev})` : ''}`;
      inc(this.dropsByPlace, `${f.reason} at ${place}`);
    }
    for (const n of r.nat as NatRecord[]) {
      if (n.created) {
        const fin = (r.final as Final).out;
        this.natCreated.push(`${n.ns} ${n.kind} ${r.pkt.proto} ${r.pkt.src}${r.pkt.sport !== undefined ? ':' + r.pkt.sport : ''} > ${r.pkt.dst}${r.pkt.dport !== undefined ? ':' + r.pkt.dport : ''}${fin ? ` → ${fin.src}${fin.sport !== undefined ? ':' + fin.sport : ''} > ${fin.dst}${fin.dport !== undefined ? ':' + fin.dport : ''}` : ''}`);
      }
    }
    if (r.pkt.src) inc(this.flows, `${r.pkt.proto} ${r.pkt.src}${r.pkt.sport !== undefined ? ':' + r.pkt.sport : ''} > ${r.pkt.dst}${r.pkt.dport !== undefined ? ':' + r.pkt.dport : ''}`);
  }

  /** Note the run's span. */
  finish(s: { firstTs: string; lastTs: string }): void {
    this.firstTs = s.firstTs;
    this.lastTs = s.lastTs;
  }

  /** As JSON (`--summary`). */
  toJSON(): unknown {
    const rules: unknown[] = [];
    return {
      v: 1,
      packets: this.packets,
      first_ts: this.firstTs,
      last_ts: this.lastTs,
      verdicts: Object.fromEntries(this.byVerdict),
      drops_by_reason: Object.fromEntries(this.dropsByReason),
      drops_by_place: Object.fromEntries(this.dropsByPlace),
      nat_bindings: this.natCreated,
      top_flows: top(this.flows, 10).map(([k, n]) => ({ flow: k, packets: n })),
      rules,
      devices: this.world.namespaces.flatMap((ns) => ns.devs.map((d) => ({ ns: ns.name, dev: d.name, ...d.stats }))),
      warnings: this.world.warnings,
    };
  }

  /** As text for stderr. */
  text(): string {
    let s = `pktpath: ${this.packets} packets replayed`;
    s += ` (${[...this.byVerdict].map(([k, n]) => `${n} ${k}`).join(', ')})\n`;
    if (this.dropsByPlace.size) {
      s += 'drops:\n';
      for (const [k, n] of top(this.dropsByPlace, 20)) s += `  ${String(n).padStart(7)}  ${k}\n`;
    }
    if (this.natCreated.length) {
      s += `NAT bindings created: ${this.natCreated.length}\n`;
      for (const b of this.natCreated.slice(0, 10)) s += `  ${b}\n`;
    }
    if (this.world.warnings.length) {
      s += 'warnings:\n';
      for (const w of this.world.warnings) s += `  ${w}\n`;
    }
    return s;
  }
}

function inc(m: Map<string, number>, k: string): void {
  m.set(k, (m.get(k) ?? 0) + 1);
}

function top(m: Map<string, number>, n: number): Array<[string, number]> {
  return [...m].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).slice(0, n);
}
