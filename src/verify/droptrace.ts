/**
 * The kernel's own drop reasons, from the `skb:kfree_skb` tracepoint, read through a private tracefs
 * *instance* (its own ring buffer and event switches, so the host's global trace settings are never
 * touched). Where tracefs is not mounted, it is mounted on a directory of the work dir and unmounted
 * at the end.
 *
 * The tracepoint is system-wide (no network namespace filter exists), so events are tied to our
 * packets by skb address: `net:net_dev_start_xmit`, filtered to the sender's pid, gives the skb of
 * every injected frame; the first `kfree_skb` or `consume_skb` of that address afterwards is how that
 * packet's skb ended. Clock: CLOCK_MONOTONIC (`trace_clock mono`), the sender's clock.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runSync, which } from './proc.js';

/** Whether the kfree_skb tracepoint can probably be read here (tracefs mounted, or known to the kernel). */
export function dropTraceAvailable(): boolean {
  if (existsSync('/sys/kernel/tracing/events/skb/kfree_skb') || existsSync('/sys/kernel/debug/tracing/events/skb/kfree_skb')) return true;
  try {
    return /\ttracefs$/m.test(readFileSync('/proc/filesystems', 'utf8'));
  } catch {
    return false;
  }
}

/** One event of the instance. */
export interface TraceEvent {
  /** CLOCK_MONOTONIC in ns (µs resolution). */
  t: number;
  event: 'kfree_skb' | 'consume_skb' | 'net_dev_start_xmit';
  skb: string;
  /** kfree_skb: reason name (NOT_SPECIFIED, NO_SOCKET...); location (function+offset). */
  reason: string;
  location: string;
  /** net_dev_start_xmit: device name and length. */
  dev: string;
  len: number;
}

/** A running drop tracer. */
export class DropTrace {
  private constructor(
    readonly root: string,
    readonly inst: string,
    private readonly mountedByUs: boolean,
  ) {}

  /** Start, or return why not (one sentence). */
  static start(workDir: string, name: string): DropTrace | string {
    let root = '';
    for (const r of ['/sys/kernel/tracing', '/sys/kernel/debug/tracing']) if (existsSync(join(r, 'instances'))) root = r;
    let mounted = false;
    if (!root) {
      const mount = which('mount');
      if (!mount) return 'tracefs is not mounted and `mount` is missing';
      const dir = join(workDir, 'tracefs');
      mkdirSync(dir, { recursive: true });
      const r = runSync([mount, '-t', 'tracefs', 'nodev', dir]);
      if (r.code !== 0) return `tracefs is not mounted and could not be mounted (${r.stderr || r.error})`;
      root = dir;
      mounted = true;
    }
    const inst = join(root, 'instances', name);
    const dt = new DropTrace(root, inst, mounted);
    try {
      if (!existsSync(join(root, 'events', 'skb', 'kfree_skb'))) throw new Error('this kernel has no skb:kfree_skb tracepoint');
      mkdirSync(inst);
      dt.write('trace_clock', 'mono');
      dt.write('buffer_size_kb', '4096');
      dt.write('events/skb/kfree_skb/filter', 'protocol == 2048 || protocol == 2054 || protocol == 34525');
      dt.write('events/skb/kfree_skb/enable', '1');
      dt.write('events/skb/consume_skb/enable', '1');
      dt.write('tracing_on', '1');
    } catch (err) {
      dt.stop();
      return `the skb:kfree_skb tracepoint could not be enabled (${err instanceof Error ? err.message : String(err)})`;
    }
    return dt;
  }

  private write(file: string, value: string): void {
    writeFileSync(join(this.inst, file), value + '\n');
  }

  /** Record the skb of every frame the sender (pid) transmits. */
  watchSender(pid: number): void {
    this.write('events/net/net_dev_start_xmit/filter', `common_pid == ${pid}`);
    this.write('events/net/net_dev_start_xmit/enable', '1');
  }

  /** The events recorded so far (the raw text is kept as `keep` when given: --keep-work). */
  read(keep?: string): TraceEvent[] {
    let text = '';
    try {
      text = readFileSync(join(this.inst, 'trace'), 'utf8');
    } catch {
      return [];
    }
    if (keep) writeFileSync(keep, text);
    return parseTrace(text);
  }

  /** Turn everything off and remove the instance (and the mount we made). Never throws. */
  stop(): void {
    for (const f of ['tracing_on', 'events/skb/kfree_skb/enable', 'events/skb/consume_skb/enable', 'events/net/net_dev_start_xmit/enable']) {
      try {
        this.write(f, '0');
      } catch {
        /* absent */
      }
    }
    try {
      if (existsSync(this.inst)) rmdirSync(this.inst);
    } catch {
      /* busy: the kernel frees it when the last reader goes */
    }
    if (this.mountedByUs) {
      const umount = which('umount');
      if (umount) runSync([umount, this.root]);
      try {
        rmdirSync(this.root);
      } catch {
        /* not empty or gone */
      }
    }
  }
}

/** Parse the `trace` file of an instance. */
export function parseTrace(text: string): TraceEvent[] {
  const out: TraceEvent[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /\s(\d+)\.(\d+):\s+(kfree_skb|consume_skb|net_dev_start_xmit):\s(.*)$/.exec(line);
    if (!m) continue;
    const t = Number(m[1]) * 1e9 + Number(m[2].padEnd(9, '0').slice(0, 9));
    const body = m[4];
    const skb = /skbaddr=(\S+)/.exec(body)?.[1] ?? '';
    const ev: TraceEvent = { t, event: m[3] as TraceEvent['event'], skb, reason: '', location: '', dev: '', len: -1 };
    if (ev.event === 'kfree_skb') {
      ev.reason = /reason: (\S+)/.exec(body)?.[1] ?? '';
      ev.location = /location=(\S+)/.exec(body)?.[1] ?? '';
    } else if (ev.event === 'consume_skb') {
      ev.location = /location=(\S+)/.exec(body)?.[1] ?? '';
    } else {
      ev.dev = /dev=(\S+)/.exec(body)?.[1] ?? '';
      ev.len = Number(/ len=(\d+)/.exec(body)?.[1] ?? -1);
    }
    out.push(ev);
  }
  return out;
}
