/**
 * Trace output: JSONL, msgpack (one map per record, concatenated) or text, buffered, written to a
 * temporary name and renamed when complete; an interrupted run leaves `<file>.partial`.
 */
import { closeSync, openSync, renameSync, writeSync } from 'node:fs';
import { Encoder } from '@msgpack/msgpack';
import type { TraceRecord } from './schema.js';
import { formatText } from './format_text.js';

/** Trace formats. */
export type TraceFormat = 'jsonl' | 'msgpack' | 'text';

const kFlushBytes = 1 << 20;

/** A buffered trace writer. */
export class TraceWriter {
  private fd: number;
  private readonly tmp: string | null;
  /** msgpack: encoded records appended here, written in one call per flush. */
  private bin = new Uint8Array(kFlushBytes + 65536);
  private binLen = 0;
  private text = '';
  private pending = 0;
  private readonly enc = new Encoder({ ignoreUndefined: true });
  private closed = false;

  constructor(readonly path: string, readonly format: TraceFormat) {
    if (path === '-') {
      this.fd = 1;
      this.tmp = null;
    } else {
      this.tmp = `${path}.tmp-${process.pid}`;
      this.fd = openSync(this.tmp, 'w');
    }
  }

  /** Append one record. */
  write(r: TraceRecord): void {
    if (this.format === 'msgpack') {
      // encodeSharedRef: a view of the encoder's own buffer, copied once into ours (no slice per record).
      const b = this.enc.encodeSharedRef(r);
      if (this.binLen + b.length > this.bin.length) {
        const grown = new Uint8Array(Math.max(this.bin.length * 2, this.binLen + b.length));
        grown.set(this.bin.subarray(0, this.binLen));
        this.bin = grown;
      }
      this.bin.set(b, this.binLen);
      this.binLen += b.length;
      this.pending += b.length;
    } else {
      const s = this.format === 'jsonl' ? JSON.stringify(r) + '\n' : formatText(r);
      this.text += s;
      this.pending += s.length;
    }
    if (this.pending >= kFlushBytes) this.flush();
  }

  private flush(): void {
    if (this.format === 'msgpack') {
      if (this.binLen) writeAll(this.fd, this.bin.subarray(0, this.binLen));
      this.binLen = 0;
    } else if (this.text) {
      writeAll(this.fd, Buffer.from(this.text));
      this.text = '';
    }
    this.pending = 0;
  }

  /** Finish: flush and move into place. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.flush();
    if (this.tmp) {
      closeSync(this.fd);
      renameSync(this.tmp, this.path);
    }
  }

  /** Interrupted: keep what was written as `<path>.partial`. */
  abort(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.flush();
    } catch {
      /* best effort */
    }
    if (this.tmp) {
      closeSync(this.fd);
      renameSync(this.tmp, `${this.path}.partial`);
    }
  }
}

function writeAll(fd: number, b: Uint8Array): void {
  let off = 0;
  while (off < b.length) {
    try {
      off += writeSync(fd, b, off, b.length - off);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EAGAIN') continue;
      if ((e as NodeJS.ErrnoException).code === 'EPIPE') return;
      throw e;
    }
  }
}
