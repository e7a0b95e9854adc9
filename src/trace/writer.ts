/**
 * Trace output: JSONL, msgpack (one map per record, concatenated) or text, buffered, written to a
 * temporary name and renamed when complete; an interrupted run leaves `<file>.partial`.
 */
import { closeSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import type { PacketRecord } from '../stack/record.js';
import { toTraceRecord, type TraceRecord } from './schema.js';
import { MsgpackRecordPacker } from './msgpack_record.js';
import { JsonRecordWriter } from './json_record.js';
import { formatText } from './format_text.js';

/** Trace formats. */
export type TraceFormat = 'jsonl' | 'msgpack' | 'text';

const kFlushBytes = 1 << 20;

/** A buffered trace writer. */
export class TraceWriter {
  private fd: number;
  private readonly tmp: string | null;
  /** msgpack and JSONL: records written here directly from the PacketRecord, flushed in one call. */
  private readonly packer: MsgpackRecordPacker | JsonRecordWriter;
  private text = '';
  private pending = 0;
  private closed = false;

  constructor(readonly path: string, readonly format: TraceFormat) {
    this.packer = format === 'msgpack' ? new MsgpackRecordPacker(kFlushBytes + 65536) : new JsonRecordWriter(format === 'jsonl' ? kFlushBytes + 65536 : 16);
    if (path === '-') {
      this.fd = 1;
      this.tmp = null;
    } else {
      this.tmp = `${path}.tmp-${process.pid}`;
      this.fd = openSync(this.tmp, 'w');
    }
  }

  /** Append the record of one packet (msgpack and JSONL write it directly, without the schema object). */
  writePacket(r: PacketRecord, tr?: TraceRecord): void {
    if (this.format === 'text') {
      this.write(tr ?? toTraceRecord(r));
      return;
    }
    this.packer.record(r);
    if (this.packer.pos >= kFlushBytes) this.flush();
  }

  /** Append one schema record. */
  write(r: TraceRecord): void {
    if (this.format === 'msgpack') this.packer.value(r);
    else if (this.format === 'jsonl') (this.packer as JsonRecordWriter).line(JSON.stringify(r));
    else {
      const s = formatText(r);
      this.text += s;
      this.pending += s.length;
      if (this.pending >= kFlushBytes) this.flush();
      return;
    }
    if (this.packer.pos >= kFlushBytes) this.flush();
  }

  private flush(): void {
    if (this.format !== 'text') {
      if (this.packer.pos) writeAll(this.fd, this.packer.bytes());
      this.packer.reset();
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
      // Replacing an existing file by rename makes ext4 (auto_da_alloc) write the new one out at once;
      // removing the old one first lets the trace go to disk in the background like any write.
      try {
        unlinkSync(this.path);
      } catch {
        /* no old file */
      }
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
