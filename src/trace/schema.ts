/**
 * Trace record schema, version 1: the object written per replayed packet in JSONL and msgpack
 * (README: "Trace schema"). Built from the datapath's PacketRecord; field order is fixed so that the
 * same input gives byte-identical output.
 */
import { kEncoded, type EncodedSlot, type PacketRecord } from '../stack/record.js';

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

/**
 * The JSONL line of a record (without the newline): exactly JSON.stringify(toTraceRecord(r)), but
 * interned steps (stack/record.ts intern) are stringified once and reused.
 */
export function traceRecordJson(r: PacketRecord): string {
  const tr = toTraceRecord(r);
  let steps = '[';
  for (let i = 0; i < r.steps.length; i++) {
    if (i) steps += ',';
    steps += jsonOf(r.steps[i]);
  }
  steps += ']';
  return (
    `{"v":${tr.v},"index":${tr.index},"ts":"${tr.ts}","in":${JSON.stringify(tr.in)},"pkt":${JSON.stringify(tr.pkt)},"steps":${steps},` +
    `"final":${JSON.stringify(tr.final)},"nat":${JSON.stringify(tr.nat)},"ct":${JSON.stringify(tr.ct)},"emitted":${JSON.stringify(tr.emitted)},"problems":${JSON.stringify(tr.problems)}}`
  );
}

function jsonOf(v: object): string {
  const slot = (v as { [kEncoded]?: EncodedSlot })[kEncoded];
  if (slot === undefined) return JSON.stringify(v);
  return (slot.json ??= JSON.stringify(v));
}
