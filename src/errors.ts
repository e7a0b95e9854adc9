/**
 * Errors that reach the user. Each carries one clear sentence: what (file, offset or field) and what
 * to do. The CLI maps them to exit codes: UsageError → 2, everything else → 1.
 */

/** Bad command-line usage: unknown option value, missing argument. Exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A capture file that cannot be read as pcap/pcapng at a given byte offset. */
export class CaptureFormatError extends Error {
  override name = 'CaptureFormatError';
  constructor(readonly file: string, readonly offset: number, readonly what: string) {
    super(`${file}: offset ${offset}: ${what}`);
  }
}

/** A world (snapshot or lab file) that cannot be modelled; names the file and the JSON path or line. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(readonly file: string, readonly where: string, readonly what: string) {
    super(where ? `${file} ${where}: ${what}` : `${file}: ${what}`);
  }
}
