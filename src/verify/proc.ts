/**
 * Running external commands for `verify`: always an argument array (spawn/spawnSync, never a shell),
 * always with a timeout, and every background process remembered so that teardown can stop exactly
 * the processes this run started (by pid), on every exit path.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { findExecutable } from '../stack/snapshot/exec.js';

/** Result of a synchronous command. */
export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Spawn error (ENOENT...) or timeout, as text; '' when the command ran to its end. */
  error: string;
}

// One `ip`/`nft` call takes ~5 ms; 20 s only catches a hung tool.
const kSyncTimeoutMs = 20_000;
// Time a stopped tool gets to flush its output (tcpdump writes its last buffer on SIGINT).
const kStopGraceMs = 3000;

/** Absolute path of a tool, or null. */
export function which(tool: string): string | null {
  return findExecutable(tool);
}

/** Run a command to completion. Never throws. */
export function runSync(argv: readonly string[], opts: { input?: string; timeoutMs?: number } = {}): RunResult {
  const r = spawnSync(argv[0], argv.slice(1), {
    input: opts.input,
    encoding: 'utf8',
    timeout: opts.timeoutMs ?? kSyncTimeoutMs,
    maxBuffer: 256 * 1024 * 1024,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const error = r.error ? ((r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT' ? `timed out after ${opts.timeoutMs ?? kSyncTimeoutMs} ms` : r.error.message) : '';
  return { code: r.status, stdout: r.stdout ?? '', stderr: (r.stderr ?? '').trim(), error };
}

/** One background process: its output goes to files, so nothing is lost in pipe buffers. */
export class BgProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly stdoutFile: string;
  readonly stderrFile: string;
  exitCode: number | null = null;
  exited = false;
  private readonly done: Promise<void>;

  constructor(name: string, argv: readonly string[], stdoutFile: string, stderrFile: string, stdinPipe: boolean) {
    this.name = name;
    this.stdoutFile = stdoutFile;
    this.stderrFile = stderrFile;
    const out = openSync(stdoutFile, 'w');
    const err = openSync(stderrFile, 'w');
    try {
      this.child = spawn(argv[0], argv.slice(1), { stdio: [stdinPipe ? 'pipe' : 'ignore', out, err], detached: false });
    } finally {
      closeSync(out);
      closeSync(err);
    }
    this.done = new Promise((resolve) => {
      this.child.once('exit', (code) => {
        this.exited = true;
        this.exitCode = code;
        resolve();
      });
      this.child.once('error', () => {
        this.exited = true;
        resolve();
      });
    });
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  /** stdout so far. */
  stdout(): string {
    try {
      return readFileSync(this.stdoutFile, 'utf8');
    } catch {
      return '';
    }
  }

  /** stderr so far (trimmed). */
  stderr(): string {
    try {
      return readFileSync(this.stderrFile, 'utf8').trim();
    } catch {
      return '';
    }
  }

  /** Write to its stdin (when spawned with a pipe). */
  write(s: string): void {
    this.child.stdin?.write(s);
  }

  /** Resolves when it has exited, or after `ms` (returns whether it exited). */
  async wait(ms: number): Promise<boolean> {
    if (this.exited) return true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.done, new Promise<void>((r) => (timer = setTimeout(r, ms)))]);
    clearTimeout(timer);
    return this.exited;
  }

  /** Stop it: `signal`, then SIGKILL after a grace period. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = kStopGraceMs): Promise<void> {
    if (this.exited || this.pid < 0) return;
    try {
      process.kill(this.pid, signal);
    } catch {
      return;
    }
    if (await this.wait(graceMs)) return;
    this.killNow();
    await this.wait(1000);
  }

  /** SIGKILL, synchronously (exit handlers). */
  killNow(): void {
    if (this.exited || this.pid < 0) return;
    try {
      process.kill(this.pid, 'SIGKILL');
    } catch {
      /* already gone */
    }
  }
}

/** Poll `cond` every `everyMs` until it is true or `ms` have passed; returns the last value. */
export async function pollUntil(cond: () => boolean, ms: number, everyMs = 20): Promise<boolean> {
  const end = Date.now() + ms;
  for (;;) {
    if (cond()) return true;
    if (Date.now() >= end) return false;
    await sleep(everyMs);
  }
}

/** Promise-based sleep. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
