/**
 * JSONL trace records written straight from the datapath's PacketRecord: the bytes are exactly
 * `JSON.stringify(toTraceRecord(r)) + '\n'` in UTF-8 (tests/trace/msgpack_record.test.ts holds it to
 * that). Short strings are escaped and encoded once (record_buffer.ts), interned steps
 * (stack/record.ts intern) are written once and copied, timestamps and entry addresses are written as
 * digits.
 */
import { kEncoded, type EncodedSlot, type PacketRecord } from '../stack/record.js';
import { TRACE_SCHEMA_VERSION } from './schema.js';
import { RecordBuffer } from './record_buffer.js';

const ascii = (s: string): Uint8Array => Buffer.from(s, 'latin1');
/** A key as `"key":`. */
const encodeJsonKey = (s: string): Uint8Array => Buffer.from(JSON.stringify(s) + ':', 'utf8');

const HEAD = ascii(`{"v":${TRACE_SCHEMA_VERSION},"index":`);
const TS = ascii(',"ts":"');
const IN_NS = ascii('","in":{"ns":');
const IN_DEV = ascii(',"dev":');
const PKT_L3 = ascii('},"pkt":{"l3":');
const PROTO = ascii(',"proto":');
const LEN = ascii(',"len":');
const SRC = ascii(',"src":"');
const DST = ascii('","dst":"');
const SPORT = ascii('","sport":');
const DPORT = ascii(',"dport":');
const ICMP_ID = ascii('","icmp_id":');
const QUOTE = ascii('"');
const STEPS = ascii('},"steps":');
const FINAL = ascii(',"final":');
const NAT = ascii(',"nat":');
const CT = ascii(',"ct":');
const EMITTED = ascii(',"emitted":');
const PROBLEMS = ascii(',"problems":');
const END = ascii('}\n');

/** Appends JSONL records to a growable buffer. */
export class JsonRecordWriter extends RecordBuffer {
  /** One line: the record, schema version 1, in toTraceRecord's field order, and a newline. */
  record(r: PacketRecord): void {
    this.raw(HEAD);
    this.num(r.index);
    this.raw(TS);
    this.tsDigits(r.tsSec, r.tsNsec);
    this.raw(IN_NS);
    this.str(r.inNs);
    this.raw(IN_DEV);
    this.str(r.inDev);
    this.raw(PKT_L3);
    this.str(r.l3Name || 'other');
    this.raw(PROTO);
    this.str(r.proto);
    this.raw(LEN);
    this.num(r.len);
    if (r.l3 === 1 || r.l3 === 2 || r.l3 === 3) {
      // The entry header as toTraceRecord builds it (PacketRecord.key): addresses, then ports or ICMP id.
      this.raw(SRC);
      if (r.l3 === 2) this.inner(r.src6);
      else this.ipv4Digits(r.src4);
      this.raw(DST);
      if (r.l3 === 2) this.inner(r.dst6);
      else this.ipv4Digits(r.dst4);
      if (r.sport >= 0) {
        this.raw(SPORT);
        this.num(r.sport);
        this.raw(DPORT);
        this.num(r.dport);
      } else if (r.icmpId >= 0) {
        this.raw(ICMP_ID);
        this.num(r.icmpId);
      } else this.raw(QUOTE);
    }
    this.raw(STEPS);
    this.value(r.steps);
    this.raw(FINAL);
    this.value(r.final());
    this.raw(NAT);
    this.value(r.nat);
    this.raw(CT);
    this.value(r.ct);
    this.raw(EMITTED);
    this.value(r.emitted);
    this.raw(PROBLEMS);
    this.value(r.problems);
    this.raw(END);
  }

  /** A line of JSON text made elsewhere, and its newline. */
  line(json: string): void {
    const n = Buffer.byteLength(json, 'utf8');
    this.ensure(n + 1);
    this.pos += this.buf.write(json, this.pos, 'utf8');
    this.buf[this.pos++] = 0x0a;
  }

  /** An IPv6 address (hex, colons, dots): its characters need no escaping inside quotes. */
  private inner(s: string): void {
    this.ensure(s.length);
    for (let i = 0; i < s.length; i++) this.buf[this.pos++] = s.charCodeAt(i);
  }

  /** Any JSON-like value, as JSON.stringify writes it. */
  value(v: unknown): void {
    if (v === null || v === undefined) this.raw(NULL);
    else if (typeof v === 'string') this.str(v);
    else if (typeof v === 'number') this.num(v);
    else if (typeof v === 'boolean') this.raw(v ? TRUE : FALSE);
    else if (Array.isArray(v)) {
      this.byte(0x5b);
      for (let i = 0; i < v.length; i++) {
        if (i) this.byte(0x2c);
        this.value(v[i]);
      }
      this.byte(0x5d);
    } else if (typeof v === 'object') {
      const slot = (v as { [kEncoded]?: EncodedSlot })[kEncoded];
      if (slot === undefined) this.map(v as Record<string, unknown>);
      else if (slot.json !== null) this.raw(slot.json);
      else {
        const start = this.pos;
        this.map(v as Record<string, unknown>);
        slot.json = this.copyFrom(start);
      }
    } else throw new TypeError(`trace record holds a ${typeof v}, which JSON traces do not carry`);
  }

  private map(o: Record<string, unknown>): void {
    this.byte(0x7b);
    let first = true;
    for (const k in o) {
      const x = o[k];
      if (x === undefined) continue;
      if (!first) this.byte(0x2c);
      first = false;
      if (!this.cached(k, encodeJsonKey)) {
        this.str(k);
        this.byte(0x3a);
      }
      this.value(x);
    }
    this.byte(0x7d);
  }

  private byte(c: number): void {
    this.ensure(1);
    this.buf[this.pos++] = c;
  }

  private num(x: number): void {
    if (!Number.isFinite(x)) {
      this.raw(NULL);
      return;
    }
    if (Number.isInteger(x) && x >= 0 && x < 0x80000000) {
      // Digits of a small non-negative integer without making a string.
      this.ensure(10);
      const b = this.buf;
      const start = this.pos;
      let n = 1;
      for (let t = x; t >= 10; t = (t / 10) | 0) n++;
      for (let i = n - 1, t = x; i >= 0; i--, t = (t / 10) | 0) b[start + i] = 0x30 + (t % 10);
      this.pos = start + n;
      return;
    }
    this.inner(String(x));
  }

  private str(s: string): void {
    // Printable ASCII without `"` or `\\` needs no escaping: quotes around it, written in place.
    this.ensure(s.length + 2);
    const a = this.ascii(s, 1, 0x22, 0x5c);
    if (a >= 0) {
      this.buf[this.pos] = 0x22;
      this.buf[this.pos + 1 + a] = 0x22;
      this.pos += a + 2;
      return;
    }
    const j = JSON.stringify(s);
    const n = Buffer.byteLength(j, 'utf8');
    this.ensure(n);
    this.pos += this.buf.write(j, this.pos, 'utf8');
  }
}

const NULL = ascii('null');
const TRUE = ascii('true');
const FALSE = ascii('false');
