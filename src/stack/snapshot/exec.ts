/**
 * Read-only access to the live host for `pktpath snapshot`: running the standard tools (never
 * through a shell, always with a timeout) and reading host-wide files under /proc and /sys.
 *
 * The writer only talks to a `HostAccess`, so tests can hand it a fake host.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** How a command run ended. */
export type RunStatus = 'ok' | 'missing' | 'timeout' | 'failed';

/** What one command run gave back. `stdout` is kept as bytes: files are written verbatim. */
export interface RunResult {
  status: RunStatus;
  /** Exit code, or null when the process was killed or never started. */
  code: number | null;
  stdout: Buffer;
  /** stderr as text, trimmed; empty when there was none. */
  stderr: string;
}

/** The host as the snapshot writer sees it. Every method is read-only. */
export interface HostAccess {
  /** Absolute path of an executable, or null when it is not installed. */
  which(tool: string): string | null;
  /** Run argv[0] (an absolute path) with the rest as arguments; never throws. */
  run(argv: readonly string[], timeoutMs: number): Promise<RunResult>;
  /** A host-wide text file (/proc/interrupts, /proc/irq/N/...), or null when unreadable. */
  readFile(path: string): string | null;
  /** Entries of a host-wide directory, or null when unreadable. */
  readDir(path: string): string[] | null;
  /** Resolved path, or null when it does not exist. */
  realpath(path: string): string | null;
  /** Inode of a namespace file (/proc/self/ns/net, /run/netns/NAME), or null when unreadable. */
  nsInode(path: string): number | null;
  /** Effective user id (0 = root). */
  uid(): number;
}

// sbin directories are searched too: a non-root PATH often lacks them, yet ip, nft, sysctl live there.
const kSbinDirs = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];
// Outputs are verbatim files; a Kubernetes host's `nft -j list ruleset` can reach tens of MB.
const kMaxOutputBytes = 512 * 1024 * 1024;

/** Search PATH and the usual sbin directories for an executable. */
export function findExecutable(tool: string, pathEnv = process.env.PATH ?? ''): string | null {
  if (tool.includes('/')) return isExecutable(tool) ? tool : null;
  const dirs = [...pathEnv.split(delimiter).filter((d) => d.startsWith('/')), ...kSbinDirs];
  for (const dir of dirs) {
    const p = join(dir, tool);
    if (isExecutable(p)) return p;
  }
  return null;
}

function isExecutable(p: string): boolean {
  try {
    accessSync(p, constants.X_OK);
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** Run one command without a shell; C locale so text outputs are stable. Never rejects. */
export function runCommand(argv: readonly string[], timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve) => {
    const [file, ...args] = argv;
    if (!file) {
      resolve({ status: 'missing', code: null, stdout: Buffer.alloc(0), stderr: 'empty command' });
      return;
    }
    execFile(
      file,
      args,
      {
        encoding: 'buffer',
        timeout: timeoutMs,
        killSignal: 'SIGKILL',
        maxBuffer: kMaxOutputBytes,
        windowsHide: true,
        env: { ...process.env, LC_ALL: 'C', LANG: 'C' },
      },
      (err, stdout, stderr) => {
        const out = Buffer.isBuffer(stdout) ? stdout : Buffer.from(stdout ?? '');
        const errText = (Buffer.isBuffer(stderr) ? stderr.toString('utf8') : String(stderr ?? '')).trim();
        if (!err) {
          resolve({ status: 'ok', code: 0, stdout: out, stderr: errText });
          return;
        }
        const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: number | string; signal?: string };
        if (e.code === 'ENOENT' || e.code === 'EACCES') {
          resolve({ status: 'missing', code: null, stdout: out, stderr: errText || e.message });
        } else if (e.killed && e.signal === 'SIGKILL') {
          resolve({ status: 'timeout', code: null, stdout: out, stderr: errText });
        } else if (e.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER') {
          resolve({ status: 'failed', code: null, stdout: Buffer.alloc(0), stderr: `output larger than ${kMaxOutputBytes} bytes` });
        } else {
          const code = typeof e.code === 'number' ? e.code : null;
          resolve({ status: 'failed', code, stdout: out, stderr: errText || (e.signal ? `killed by ${e.signal}` : e.message) });
        }
      },
    );
  });
}

/** The real host. */
export const liveHost: HostAccess = {
  which: (tool) => findExecutable(tool),
  run: runCommand,
  readFile(path) {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return null;
    }
  },
  readDir(path) {
    try {
      return readdirSync(path);
    } catch {
      return null;
    }
  },
  realpath(path) {
    try {
      return realpathSync(path);
    } catch {
      return null;
    }
  },
  nsInode(path) {
    try {
      return statSync(path).ino;
    } catch {
      return null;
    }
  },
  uid: () => (typeof process.geteuid === 'function' ? process.geteuid() : -1),
};
