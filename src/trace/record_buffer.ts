/**
 * The growable byte buffer the direct trace writers (msgpack_record.ts, json_record.ts) append
 * records to. Object keys (a small fixed set) are kept encoded in a small cache; other strings are
 * written straight when ASCII: a large cache of every address costs more in misses than it saves.
 */

/** Keys at most this long are cached encoded. */
const kCacheStrLen = 96;
/** Entries before the key cache starts over (keys are few: this only bounds odd inputs). */
const kCacheEntries = 1 << 10;

export class RecordBuffer {
  buf: Buffer;
  pos = 0;
  private strs = new Map<string, Uint8Array>();

  constructor(size = 1 << 20) {
    this.buf = Buffer.allocUnsafe(size);
  }

  /** Bytes written so far. */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  /** Forget the written bytes (keep the buffer and caches). */
  reset(): void {
    this.pos = 0;
  }

  protected ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n + 1024));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }

  protected raw(b: Uint8Array): void {
    const n = b.length;
    this.ensure(n);
    const buf = this.buf;
    let p = this.pos;
    if (n <= 24) for (let i = 0; i < n; i++) buf[p++] = b[i];
    else {
      buf.set(b, p);
      p += n;
    }
    this.pos = p;
  }

  /** Copy the cached encoding of a key (made by `encode` on first sight); false when too long to cache. */
  protected cached(s: string, encode: (s: string) => Uint8Array): boolean {
    if (s.length > kCacheStrLen) return false;
    let enc = this.strs.get(s);
    if (enc === undefined) {
      if (this.strs.size >= kCacheEntries) this.strs.clear();
      enc = encode(s);
      this.strs.set(s, enc);
    }
    this.raw(enc);
    return true;
  }

  /**
   * Write `s` at pos + skip when it is printable ASCII with none of `avoid` (0 for none), leaving
   * `skip` bytes before it for a header; returns its length, or -1 (nothing written) otherwise.
   */
  protected ascii(s: string, skip: number, avoid1: number, avoid2: number): number {
    const n = s.length;
    this.ensure(n + skip);
    const b = this.buf;
    const start = this.pos + skip;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c > 0x7e || c === avoid1 || c === avoid2) return -1;
      b[start + i] = c;
    }
    return n;
  }

  /** "sec.nnnnnnnnn" (the record's `ts`) as ASCII digits, without making the string. */
  protected tsDigits(sec: number, nsec: number): void {
    const s = String(sec);
    this.ensure(s.length + 10);
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < s.length; i++) b[p++] = s.charCodeAt(i);
    b[p] = 0x2e;
    for (let i = 9, x = nsec; i >= 1; i--, x = (x / 10) | 0) b[p + i] = 0x30 + (x % 10);
    this.pos = p + 10;
  }

  /** A dotted quad as ASCII digits; returns its length. */
  protected ipv4Digits(a: number): number {
    this.ensure(15);
    const b = this.buf;
    const start = this.pos;
    let p = start;
    for (let sh = 24; sh >= 0; sh -= 8) {
      const o = (a >>> sh) & 255;
      if (o >= 100) b[p++] = 0x30 + ((o / 100) | 0);
      if (o >= 10) b[p++] = 0x30 + (((o / 10) | 0) % 10);
      b[p++] = 0x30 + (o % 10);
      if (sh) b[p++] = 0x2e;
    }
    this.pos = p;
    return p - start;
  }

  /** A copy of bytes [start, pos) (Buffer#slice would be a view). */
  protected copyFrom(start: number): Uint8Array {
    return Uint8Array.prototype.slice.call(this.buf, start, this.pos);
  }
}
