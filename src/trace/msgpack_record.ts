/**
 * msgpack trace records written straight from the datapath's PacketRecord, with no intermediate
 * schema object: the bytes are exactly those of `new Encoder({ ignoreUndefined: true })
 * .encode(toTraceRecord(r))` (tests/msgpack_record.test.ts holds it to that), only cheaper.
 *
 * Why it is cheaper: the strings of a trace repeat (namespaces, devices, chains, rule texts, verdicts,
 * addresses), so each short string is UTF-8 encoded once and copied afterwards; steps the datapath
 * interns (stack/record.ts intern: one per rule and verdict, per route, per flow header...) are
 * encoded once and copied whole; the
 * timestamp and entry addresses are written as digits without making strings.
 */
import { kEncoded, type EncodedSlot, type PacketRecord } from '../stack/record.js';
import { TRACE_SCHEMA_VERSION } from './schema.js';
import { RecordBuffer } from './record_buffer.js';

/** Appends msgpack records to a growable buffer. */
export class MsgpackRecordPacker extends RecordBuffer {
  /** One trace record, schema version 1 (src/trace/schema.ts: toTraceRecord, same field order). */
  record(r: PacketRecord): void {
    this.ensure(128);
    const b = this.buf;
    b[this.pos++] = 0x8b; // fixmap, 11 entries
    this.key(K_V);
    b[this.pos++] = TRACE_SCHEMA_VERSION;
    this.key(K_INDEX);
    this.num(r.index);
    this.key(K_TS);
    this.ts(r.tsSec, r.tsNsec);
    this.key(K_IN);
    this.ensure(1);
    this.buf[this.pos++] = 0x82;
    this.key(K_NS);
    this.str(r.inNs);
    this.key(K_DEV);
    this.str(r.inDev);
    this.key(K_PKT);
    this.pkt(r);
    this.key(K_STEPS);
    this.value(r.steps);
    this.key(K_FINAL);
    this.value(r.final());
    this.key(K_NAT);
    this.value(r.nat);
    this.key(K_CT);
    this.value(r.ct);
    this.key(K_EMITTED);
    this.value(r.emitted);
    this.key(K_PROBLEMS);
    this.value(r.problems);
  }

  private key(k: Uint8Array): void {
    this.raw(k);
  }

  /** `pkt`: {l3, proto, len, src?, dst?, sport?, dport?, icmp_id?} as toTraceRecord builds it. */
  private pkt(r: PacketRecord): void {
    const hasKey = r.l3 === 1 || r.l3 === 2 || r.l3 === 3;
    const ports = hasKey && r.sport >= 0;
    const icmp = hasKey && !ports && r.icmpId >= 0;
    this.ensure(1);
    this.buf[this.pos++] = 0x80 + 3 + (hasKey ? 2 : 0) + (ports ? 2 : 0) + (icmp ? 1 : 0);
    this.key(K_L3);
    this.str(r.l3Name || 'other');
    this.key(K_PROTO);
    this.str(r.proto);
    this.key(K_LEN);
    this.num(r.len);
    if (!hasKey) return;
    this.key(K_SRC);
    if (r.l3 === 2) this.str(r.src6);
    else this.ipv4(r.src4);
    this.key(K_DST);
    if (r.l3 === 2) this.str(r.dst6);
    else this.ipv4(r.dst4);
    if (ports) {
      this.key(K_SPORT);
      this.num(r.sport);
      this.key(K_DPORT);
      this.num(r.dport);
    } else if (icmp) {
      this.key(K_ICMP_ID);
      this.num(r.icmpId);
    }
  }

  /** "sec.nnnnnnnnn" as a fixstr (str 8 past 31 bytes). */
  private ts(sec: number, nsec: number): void {
    const n = String(sec).length + 10;
    this.ensure(n + 2);
    if (n < 32) this.buf[this.pos++] = 0xa0 + n;
    else {
      this.buf[this.pos++] = 0xd9;
      this.buf[this.pos++] = n;
    }
    this.tsDigits(sec, nsec);
  }

  /** Dotted quad as a fixstr. */
  private ipv4(a: number): void {
    this.ensure(16);
    const start = this.pos++;
    this.buf[start] = 0xa0 + this.ipv4Digits(a);
  }

  /** Any JSON-like value, as @msgpack/msgpack encodes it with ignoreUndefined. */
  value(v: unknown): void {
    if (v === null || v === undefined) {
      this.ensure(1);
      this.buf[this.pos++] = 0xc0;
    } else if (typeof v === 'string') this.str(v);
    else if (typeof v === 'number') this.num(v);
    else if (typeof v === 'boolean') {
      this.ensure(1);
      this.buf[this.pos++] = v ? 0xc3 : 0xc2;
    } else if (Array.isArray(v)) this.array(v);
    else if (typeof v === 'object') {
      const slot = (v as { [kEncoded]?: EncodedSlot })[kEncoded];
      if (slot === undefined) this.map(v as Record<string, unknown>);
      else if (slot.msgpack !== null) this.raw(slot.msgpack);
      else {
        // Interned by the datapath (stack/record.ts intern): encoded once, copied afterwards.
        const start = this.pos;
        this.map(v as Record<string, unknown>);
        slot.msgpack = this.copyFrom(start);
      }
    } else throw new TypeError(`trace record holds a ${typeof v}, which msgpack traces do not carry`);
  }

  private array(a: unknown[]): void {
    const n = a.length;
    this.ensure(5);
    const b = this.buf;
    if (n < 16) b[this.pos++] = 0x90 + n;
    else if (n < 0x10000) {
      b[this.pos++] = 0xdc;
      b.writeUInt16BE(n, this.pos);
      this.pos += 2;
    } else {
      b[this.pos++] = 0xdd;
      b.writeUInt32BE(n, this.pos);
      this.pos += 4;
    }
    for (let i = 0; i < n; i++) this.value(a[i]);
  }

  private map(o: Record<string, unknown>): void {
    let n = 0;
    for (const k in o) if (o[k] !== undefined) n++;
    this.ensure(5);
    const b = this.buf;
    if (n < 16) b[this.pos++] = 0x80 + n;
    else if (n < 0x10000) {
      b[this.pos++] = 0xde;
      b.writeUInt16BE(n, this.pos);
      this.pos += 2;
    } else {
      b[this.pos++] = 0xdf;
      b.writeUInt32BE(n, this.pos);
      this.pos += 4;
    }
    for (const k in o) {
      const x = o[k];
      if (x === undefined) continue;
      if (!this.cached(k, encodeStr)) this.str(k);
      this.value(x);
    }
  }

  /** msgpack-javascript encodeNumber: the smallest integer form for safe integers, else float 64. */
  private num(x: number): void {
    this.ensure(9);
    const b = this.buf;
    let p = this.pos;
    if (Number.isSafeInteger(x)) {
      if (x >= 0) {
        if (x < 0x80) b[p++] = x;
        else if (x < 0x100) {
          b[p++] = 0xcc;
          b[p++] = x;
        } else if (x < 0x10000) {
          b[p++] = 0xcd;
          b[p++] = x >>> 8;
          b[p++] = x & 255;
        } else if (x < 0x100000000) {
          b[p++] = 0xce;
          b.writeUInt32BE(x, p);
          p += 4;
        } else {
          b[p++] = 0xcf;
          b.writeBigUInt64BE(BigInt(x), p);
          p += 8;
        }
      } else if (x >= -0x20) b[p++] = 0xe0 | (x + 0x20);
      else if (x >= -0x80) {
        b[p++] = 0xd0;
        b.writeInt8(x, p);
        p += 1;
      } else if (x >= -0x8000) {
        b[p++] = 0xd1;
        b.writeInt16BE(x, p);
        p += 2;
      } else if (x >= -0x80000000) {
        b[p++] = 0xd2;
        b.writeInt32BE(x, p);
        p += 4;
      } else {
        b[p++] = 0xd3;
        b.writeBigInt64BE(BigInt(x), p);
        p += 8;
      }
    } else {
      b[p++] = 0xcb;
      b.writeDoubleBE(x, p);
      p += 8;
    }
    this.pos = p;
  }

  private str(s: string): void {
    if (s.length < 32) {
      // Printable ASCII under 32 bytes: a fixstr, written in place.
      const n = this.ascii(s, 1, -1, -1);
      if (n >= 0) {
        this.buf[this.pos] = 0xa0 + n;
        this.pos += 1 + n;
        return;
      }
    } else if (s.length < 256) {
      // Printable ASCII under 256 bytes (rule texts, routes): str 8, written in place.
      const n = this.ascii(s, 2, -1, -1);
      if (n >= 0) {
        this.buf[this.pos] = 0xd9;
        this.buf[this.pos + 1] = n;
        this.pos += 2 + n;
        return;
      }
    }
    const n = Buffer.byteLength(s, 'utf8');
    this.ensure(n + 5);
    this.header(n);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  private header(n: number): void {
    const b = this.buf;
    if (n < 32) b[this.pos++] = 0xa0 + n;
    else if (n < 0x100) {
      b[this.pos++] = 0xd9;
      b[this.pos++] = n;
    } else if (n < 0x10000) {
      b[this.pos++] = 0xda;
      b.writeUInt16BE(n, this.pos);
      this.pos += 2;
    } else {
      b[this.pos++] = 0xdb;
      b.writeUInt32BE(n, this.pos);
      this.pos += 4;
    }
  }
}

/** A string with its msgpack header (fixstr / str 8 / str 16 / str 32), UTF-8. */
function encodeStr(s: string): Uint8Array {
  const body = Buffer.from(s, 'utf8');
  const n = body.length;
  const h = n < 32 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
  const out = Buffer.allocUnsafe(h + n);
  if (h === 1) out[0] = 0xa0 + n;
  else if (h === 2) (out[0] = 0xd9), (out[1] = n);
  else if (h === 3) (out[0] = 0xda), out.writeUInt16BE(n, 1);
  else (out[0] = 0xdb), out.writeUInt32BE(n, 1);
  body.copy(out, h);
  return out;
}

const K_V = encodeStr('v');
const K_INDEX = encodeStr('index');
const K_TS = encodeStr('ts');
const K_IN = encodeStr('in');
const K_NS = encodeStr('ns');
const K_DEV = encodeStr('dev');
const K_PKT = encodeStr('pkt');
const K_STEPS = encodeStr('steps');
const K_FINAL = encodeStr('final');
const K_NAT = encodeStr('nat');
const K_CT = encodeStr('ct');
const K_EMITTED = encodeStr('emitted');
const K_PROBLEMS = encodeStr('problems');
const K_L3 = encodeStr('l3');
const K_PROTO = encodeStr('proto');
const K_LEN = encodeStr('len');
const K_SRC = encodeStr('src');
const K_DST = encodeStr('dst');
const K_SPORT = encodeStr('sport');
const K_DPORT = encodeStr('dport');
const K_ICMP_ID = encodeStr('icmp_id');
