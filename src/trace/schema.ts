/**
 * Trace record schema, version 1: the object written per replayed packet in JSONL and msgpack
 * (README: "Trace schema"). Built from the datapath's PacketRecord; field order is fixed so that the
 * same input gives byte-identical output.
 */
import type { PacketRecord } from '../stack/record.js';

/** Schema version written in every record as `v`. */
export const TRACE_SCHEMA_VERSION = 1;

/** One trace record (plain JSON). */
export interface TraceRecord {
  v: number;
  index: number;
  ts: string;
  in: { ns: string; dev: string };
  pkt: { l3: string; proto: string; len: number; src?: string; dst?: string; sport?: number; dport?: number; icmp_id?: number };
  steps: unknown[];
  final: unknown;
  nat: unknown[];
  ct: unknown;
  emitted: unknown[];
  problems: string[];
}

/** PacketRecord → schema object. */
export function toTraceRecord(r: PacketRecord): TraceRecord {
  const k = r.key;
  const pkt: TraceRecord['pkt'] = { l3: r.l3Name || 'other', proto: r.proto, len: r.len };
  if (k) {
    pkt.src = k.src;
    pkt.dst = k.dst;
    if (k.sport !== undefined) {
      pkt.sport = k.sport;
      pkt.dport = k.dport;
    }
    if (k.icmp_id !== undefined) pkt.icmp_id = k.icmp_id;
  }
  return {
    v: TRACE_SCHEMA_VERSION,
    index: r.index,
    ts: r.ts,
    in: { ns: r.inNs, dev: r.inDev },
    pkt,
    steps: r.steps,
    final: r.final(),
    nat: r.nat,
    ct: r.ct,
    emitted: r.emitted,
    problems: r.problems,
  };
}

