/**
 * Shared CLI plumbing: turning thrown errors into one-sentence messages and exit codes
 * (0 success, 1 runtime failure, 2 bad usage), and small option parsers.
 */
import { InvalidArgumentError } from 'commander';
import { CaptureFormatError, ConfigError, UsageError } from '../errors.js';

let debug = false;

/** Turn on stack traces for unexpected errors (`--debug`). */
export function setDebug(on: boolean): void {
  debug = on;
}

/** Exit code for an error: 2 for usage errors, 1 otherwise. */
export function exitCodeFor(err: unknown): number {
  return err instanceof UsageError ? 2 : 1;
}

/** Print an error as one line on stderr (plus the stack with --debug). */
export function reportError(err: unknown): void {
  if (err instanceof UsageError || err instanceof CaptureFormatError || err instanceof ConfigError) {
    process.stderr.write(`pktpath: ${err.message}\n`);
  } else if (err instanceof Error && (err as NodeJS.ErrnoException).code && (err as NodeJS.ErrnoException).path) {
    const e = err as NodeJS.ErrnoException;
    const what = e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'permission denied' : e.code;
    process.stderr.write(`pktpath: ${e.path}: ${what}; check the path and try again.\n`);
  } else {
    const msg = err instanceof Error ? err.message : String(err);
    process.stderr.write(`pktpath: ${msg}${debug ? '' : ' (run with --debug for details)'}\n`);
  }
  if (debug && err instanceof Error && err.stack) process.stderr.write(err.stack + '\n');
}

/** Wrap an async command action so that errors become messages and exit codes. */
export function action<A extends unknown[]>(fn: (...args: A) => Promise<void> | void): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      reportError(err);
      process.exitCode = exitCodeFor(err);
    }
  };
}

/** commander argParser for a positive integer option. */
export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer.');
  return n;
}

/** commander argParser for a non-negative number option. */
export function parseNonNegative(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a non-negative number.');
  return n;
}
