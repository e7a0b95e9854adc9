/**
 * Synchronous chunked input for the capture readers. One buffer is filled with fs.readSync and
 * reused, so memory stays flat however large the capture is:
 *
 *   buf  [ consumed ......| unread ..............| free ....... ]
 *        0               pos                     end           buf.length
 *        ^ file offset `base`
 *
 * A record is parsed in place once fill(n) has made n unread bytes contiguous at `pos`; bytes before
 * `pos` may be moved or overwritten by the next fill(), which is why a packet's view is valid only
 * until the next CaptureReader.next().
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { CaptureFormatError } from '../errors.js';

/**
 * Initial buffer size. Reading a 1M-packet, 352 MiB pcap (best of 5): 256 KiB and 1 MiB both ~80 ms,
 * 64 KiB 86-98 ms; so the smaller of the two fast sizes. A max-size (256 KiB) record grows it once.
 */
export const kChunkSize = 256 << 10;
/** Largest record the readers will hold in memory (a block with a 256 KiB packet and options fits). */
export const kMaxRecord = 16 << 20;
/** How long to sleep when non-blocking stdin has no data yet. */
const kEagainWaitMs = 5;

const SLEEP = new Int32Array(new SharedArrayBuffer(4));

/** Reused read buffer over a file descriptor (or, for tests, over bytes in memory). */
export class ByteSource {
  buf: Uint8Array;
  dv: DataView;
  pos = 0;
  end = 0;
  /** File offset of buf[0]. */
  base = 0;
  eof = false;
  private closed = false;

  private constructor(
    /** Name used in error messages ('stdin' for '-'). */
    readonly name: string,
    private readonly fd: number,
    private readonly ownsFd: boolean,
    private readonly mem: Uint8Array | null,
    chunkSize: number,
  ) {
    this.buf = new Uint8Array(chunkSize);
    this.dv = new DataView(this.buf.buffer);
  }

  /** Open a file, or stdin (fd 0) for '-'. */
  static open(path: string, chunkSize = kChunkSize): ByteSource {
    if (path === '-') return new ByteSource('stdin', 0, false, null, chunkSize);
    const fd = openSync(path, 'r');
    try {
      if (fstatSync(fd).isDirectory()) {
        throw new CaptureFormatError(path, 0, 'is a directory, not a capture file; give a .pcap or .pcapng file');
      }
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    return new ByteSource(path, fd, true, null, chunkSize);
  }

  /** Read from bytes in memory; a small chunkSize exercises the refill paths in tests. */
  static fromBytes(bytes: Uint8Array, name: string, chunkSize = kChunkSize): ByteSource {
    return new ByteSource(name, -1, false, bytes, Math.max(16, chunkSize));
  }

  /** File offset of buf[p]. */
  offsetOf(p: number): number {
    return this.base + p;
  }

  /** Make at least n (≤ kMaxRecord + 64) unread bytes contiguous at pos; false if the input ends first. */
  fill(n: number): boolean {
    if (this.end - this.pos >= n) return true;
    if (this.buf.length - this.pos < n) this.makeRoom(n);
    while (this.end - this.pos < n) {
      if (this.eof) return false;
      const got = this.read(this.end, this.buf.length - this.end);
      if (got === 0) this.eof = true;
      else this.end += got;
    }
    return true;
  }

  /** Advance pos by n bytes without buffering them (for skipped blocks); false if the input ends first. */
  skip(n: number): boolean {
    for (;;) {
      const avail = this.end - this.pos;
      if (avail >= n) {
        this.pos += n;
        return true;
      }
      n -= avail;
      this.base += this.end;
      this.pos = this.end = 0;
      if (this.eof) return false;
      const got = this.read(0, this.buf.length);
      if (got === 0) {
        this.eof = true;
        return false;
      }
      this.end = got;
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsFd) closeSync(this.fd);
  }

  /** Move unread bytes to the front, growing the buffer (to a power of two) only for a larger record. */
  private makeRoom(n: number): void {
    const unread = this.end - this.pos;
    if (this.buf.length < n) {
      let size = this.buf.length;
      while (size < n) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.buf.subarray(this.pos, this.end));
      this.buf = grown;
      this.dv = new DataView(grown.buffer);
    } else {
      this.buf.copyWithin(0, this.pos, this.end);
    }
    this.base += this.pos;
    this.pos = 0;
    this.end = unread;
  }

  private read(at: number, len: number): number {
    if (this.closed) return 0;
    const mem = this.mem;
    if (mem !== null) {
      const from = this.base + this.end;
      const n = Math.min(len, mem.length - from);
      if (n <= 0) return 0;
      this.buf.set(mem.subarray(from, from + n), at);
      return n;
    }
    for (;;) {
      try {
        return readSync(this.fd, this.buf, at, len, null);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // stdin may be a non-blocking pipe (e.g. when Node touched process.stdin): wait for data.
        if (code === 'EAGAIN' || code === 'EWOULDBLOCK') {
          Atomics.wait(SLEEP, 0, 0, kEagainWaitMs);
          continue;
        }
        if (code === 'EOF') return 0; // Windows pipe closed
        throw err;
      }
    }
  }
}
