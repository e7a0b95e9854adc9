/**
 * The kernel side of `verify`: materialise the plan in fresh namespaces, turn tracing on, inject the
 * schedule, wait for the kernel to finish (neighbour resolutions time out after ~3 s), collect what
 * it did, and tear everything down.
 *
 *   ppv<pid>-host ──veth── ppv<pid>-c1        tcpdump -i any (SLL2: device + direction), nft monitor,
 *        │eth0                                conntrack -E, python listeners, in every world namespace
 *        └──veth── inj0 ppv<pid>-inj          the sender (AF_PACKET), frames out of inj<k>
 *
 * Teardown is synchronous (it also runs from signal and exit handlers) and touches only what this run
 * created: the namespaces it added (exact names), the processes it spawned (by pid), its tracefs
 * instance and mount, its work directory.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CaptureReader } from '../pcap/reader.js';
import { BgProcess, pollUntil, runSync, sleep, which, type RunResult } from './proc.js';
import type { Plan, PlanStep } from './plan.js';
import type { Schedule } from './inject.js';
import { writeSenderFiles } from './inject.js';
import { LISTENER_PY, SENDER_PY } from './py.js';
import { parseSll2, type PktInfo } from './packet_info.js';
import { parseNftMonitor, TRACE_TABLE, type NftTraceEvent } from './nft_trace.js';
import { DropTrace, type TraceEvent } from './droptrace.js';

/** Without root or namespaces: exit code 2 and one sentence. */
export class VerifyUnavailable extends Error {
  override name = 'VerifyUnavailable';
}

/** A failure of the kernel run (a command that failed, a tool that hung). Exit code 1. */
export class VerifyError extends Error {
  override name = 'VerifyError';
}

/** One frame tcpdump saw in a world namespace. */
export interface Obs {
  ns: string;
  dev: string;
  out: boolean;
  /** ns since `baseSec` (realtime). */
  t: number;
  info: PktInfo;
}

/** When the sender sent frame i (realtime ns since baseSec), and the send() errno. */
export interface SendTime {
  before: number;
  after: number;
  errno: number;
}

/** A datagram or connection a listener logged. */
export interface ListenerEntry {
  ns: string;
  proto: 'tcp' | 'udp';
  sock: string;
  src: string;
  sport: number;
  dst: string;
  dport: number;
  len: number;
  t: number;
}

/** Everything the kernel run recorded. */
export interface KernelRecord {
  baseSec: number;
  obs: Obs[];
  sends: SendTime[];
  nft: NftTraceEvent[];
  /** null when the drop tracer could not run (`dropNote` says why). */
  drops: TraceEvent[] | null;
  dropNote: string;
  /** Mono → realtime offset used to place tracepoint times (ns since baseSec = mono + offset). */
  monoToRel: number;
  listeners: ListenerEntry[];
  /** `conntrack -L` per world namespace after the traffic. */
  conntrack: Map<string, string[]>;
  /** conntrack -E lines per world namespace. */
  ctEvents: Map<string, number>;
  notes: string[];
  workDir: string;
}

/** Options. */
export interface KernelRunOptions {
  plan: Plan;
  schedule: Schedule;
  topspeed: boolean;
  /** Overall deadline for the run, ms. */
  timeoutMs: number;
  keepWork: boolean;
  /** Materialisation failures become notes. */
  keepGoing: boolean;
  droptrace: boolean;
  log: (line: string) => void;
}

/** Tools every run needs, with their Debian packages. */
export const REQUIRED_TOOLS: Array<[string, string]> = [
  ['ip', 'iproute2'], ['sysctl', 'procps'], ['nft', 'nftables'], ['tcpdump', 'tcpdump'], ['python3', 'python3'],
];
/** Tools some worlds need. */
export const OPTIONAL_TOOLS: Array<[string, string]> = [
  ['iptables-restore', 'iptables'], ['bridge', 'iproute2'], ['conntrack', 'conntrack'], ['stdbuf', 'coreutils'],
];

/** Why verify cannot run here (root, namespaces), or null. */
export function unavailableReason(): string | null {
  if (process.platform !== 'linux') return `network namespaces are Linux-only and this is ${process.platform}`;
  if (typeof process.getuid === 'function' && process.getuid() !== 0) return 'it is not running as root';
  if (!existsSync('/proc/self/ns/net')) return 'this kernel has no network namespace support (/proc/self/ns/net is missing)';
  if (!which('ip')) return 'the `ip` command (Debian package iproute2) is not installed';
  return null;
}

/** Missing tools as "tool (package)" strings. */
export function missingTools(needIptables: boolean): string[] {
  const out: string[] = [];
  for (const [t, pkg] of REQUIRED_TOOLS) if (!which(t)) out.push(`${t} (Debian package ${pkg})`);
  if (needIptables && !which('iptables-restore')) out.push('iptables-restore (Debian package iptables)');
  return out;
}

// Headers only (IPv4 + transport + the header an ICMP error quotes): with TPACKET_V3 each ring block
// holds at least one snaplen, so a 256 KiB snaplen left room for ~8 packets in the ring and tcpdump
// dropped packets of a 100 µs burst ("13 packets dropped by kernel").
const kSnaplen = 512;
const kCaptureBufKiB = 8192;
// Readiness waits: tcpdump opens its socket in ~50 ms, nft monitor subscribes at once.
const kReadyMs = 10_000;
// After the last frame: the kernel's answers (RST, ICMP) take microseconds; a pending ARP takes
// ucast_solicit × retrans_time = 3 s, polled below.
const kSettleMinMs = 400;
const kNeighWaitMs = 6000;

/** A run in progress; `teardown()` is safe to call at any time, more than once. */
export class KernelSession {
  readonly work: string;
  private readonly created: string[] = [];
  private readonly procs: BgProcess[] = [];
  private drop: DropTrace | null = null;
  private torn = false;
  private readonly tools = new Map<string, string>();

  constructor(private readonly o: KernelRunOptions) {
    this.work = mkdtempSync(join(tmpdir(), `${o.plan.prefix}-`));
  }

  private tool(name: string): string {
    let p = this.tools.get(name);
    if (p === undefined) {
      // The distribution's python3 rather than a version-manager shim (a shell script) first in PATH.
      p = (name === 'python3' && existsSync('/usr/bin/python3') ? '/usr/bin/python3' : which(name)) ?? '';
      this.tools.set(name, p);
    }
    if (!p) throw new VerifyError(`pktpath verify needs \`${name}\`, which is not installed`);
    return p;
  }

  /** argv with tool names resolved (also after `ip netns exec NS`) and @WORK paths filled in. */
  private resolve(argv: string[]): string[] {
    const a = argv.map((x) => x.replace(/^@WORK\//, `${this.work}/`));
    a[0] = this.tool(a[0]);
    if (argv[0] === 'ip' && argv[1] === 'netns' && argv[2] === 'exec') a[4] = this.tool(a[4]);
    return a;
  }

  private exec(s: PlanStep): RunResult {
    // Every command acts inside a namespace of this run: `ip -n NS`, `ip netns exec NS`, `ip netns add NS`.
    const a = s.argv;
    const ours = (n: string | undefined) => n !== undefined && (n === this.o.plan.injNs || [...this.o.plan.netns.values()].includes(n));
    const scoped = a[0] === 'ip' && ((a[1] === '-n' && ours(a[2])) || (a[1] === 'netns' && (a[2] === 'add' || a[2] === 'exec') && ours(a[3])));
    if (!scoped) throw new VerifyError(`internal error: refusing \`${a.join(' ')}\`, which would act outside the namespaces of this run`);
    if (s.file) writeFileSync(join(this.work, s.file.name), s.file.content);
    return runSync(this.resolve(s.argv), { input: s.input });
  }

  /** Execute the plan. Throws VerifyUnavailable when namespaces cannot be made, VerifyError otherwise. */
  materialise(): string[] {
    const notes: string[] = [...this.o.plan.notes];
    const retry: PlanStep[] = [];
    for (const s of this.o.plan.steps) {
      const r = this.exec(s);
      if (s.argv[1] === 'netns' && s.argv[2] === 'add') {
        if (r.code !== 0) {
          const msg = r.stderr || r.error;
          if (/permission|not permitted|EPERM|EACCES/i.test(msg) && this.created.length === 0) throw new VerifyUnavailable(`creating a network namespace failed (${msg})`);
          if (/exists/i.test(msg)) throw new VerifyError(`network namespace ${s.argv[3]} already exists; it is not ours, so it is left alone (another verify run with the same pid?)`);
          throw new VerifyError(`${s.what} failed: ${msg}`);
        }
        this.created.push(s.argv[3]);
        continue;
      }
      if (s.sysctl) {
        for (const line of (r.stderr || '').split('\n')) {
          const m = /sysctl: (?:setting key "([^"]+)"|cannot stat \/proc\/sys\/(\S+?):)/.exec(line);
          if (m) notes.push(`${s.what}: ${(m[1] ?? m[2]).replace(/\//g, '.')} could not be set (${line.replace(/^.*: /, '')})`);
        }
        continue;
      }
      if (r.code === 0) continue;
      if (s.fallback) {
        let ok = true;
        for (const f of s.fallback) if (this.exec(f).code !== 0) ok = false;
        if (ok) {
          if (s.fallbackNote) notes.push(s.fallbackNote);
          continue;
        }
      }
      if (s.retry) {
        retry.push(s);
        continue;
      }
      if (s.optional || this.o.keepGoing) {
        notes.push(`not built (${s.what}): ${(r.stderr || r.error || `exit ${r.code}`).split('\n')[0]}`);
        continue;
      }
      throw new VerifyError(`cannot materialise the world: ${s.what}: \`${s.argv.join(' ')}\` failed: ${(r.stderr || r.error || `exit ${r.code}`).split('\n')[0]}`);
    }
    for (const s of retry) {
      const r = this.exec(s);
      if (r.code !== 0 && this.o.keepGoing) notes.push(`not built (${s.what}): ${(r.stderr || r.error).split('\n')[0]}`);
      else if (r.code !== 0) throw new VerifyError(`cannot materialise the world: ${s.what}: \`${s.argv.join(' ')}\` failed: ${(r.stderr || r.error).split('\n')[0]}`);
    }
    return notes;
  }

  private bg(name: string, argv: string[], stdin = false): BgProcess {
    const safe = name.replace(/[^A-Za-z0-9_.-]/g, '_');
    const p = new BgProcess(name, this.resolve(argv), join(this.work, `${safe}.out`), join(this.work, `${safe}.err`), stdin);
    this.procs.push(p);
    return p;
  }

  /** Run the whole kernel side. */
  async run(): Promise<KernelRecord> {
    const { plan, schedule, log } = this.o;
    const deadline = Date.now() + this.o.timeoutMs;
    const left = () => {
      const ms = deadline - Date.now();
      if (ms <= 0) throw new VerifyError(`the kernel run took longer than its ${Math.round(this.o.timeoutMs / 1000)} s limit`);
      return ms;
    };
    log(`materialising ${plan.netns.size} namespace(s) as ${[...plan.netns.values()].join(', ')} + ${plan.injNs}`);
    const notes = this.materialise();

    // Names of each namespace's devices by ifindex (tcpdump -i any reports ifindex).
    const ifnames = new Map<string, Map<number, string>>();
    for (const [wns, kns] of plan.netns) {
      const r = runSync([this.tool('ip'), '-n', kns, '-j', 'link', 'show']);
      const back = new Map<string, string>();
      for (const [w, k] of plan.devNames.get(wns)!) back.set(k, w);
      const m = new Map<number, string>();
      try {
        for (const l of JSON.parse(r.stdout) as Array<{ ifindex: number; ifname: string }>) m.set(l.ifindex, back.get(l.ifname) ?? l.ifname);
      } catch {
        throw new VerifyError(`\`ip -n ${kns} -j link show\` did not print JSON: ${r.stderr}`);
      }
      ifnames.set(wns, m);
    }

    // Listeners.
    const listenerLogs: Array<[string, string]> = [];
    if (plan.listeners.length) writeFileSync(join(this.work, 'listener.py'), LISTENER_PY);
    const listeners: BgProcess[] = [];
    for (const l of plan.listeners) {
      const spec = join(this.work, `listen-${l.ns}.json`);
      const logf = join(this.work, `listen-${l.ns}.log`);
      writeFileSync(spec, JSON.stringify({ tcp: l.tcp, udp: l.udp }));
      writeFileSync(logf, '');
      listenerLogs.push([l.ns, logf]);
      listeners.push(this.bg(`listener-${l.ns}`, ['ip', 'netns', 'exec', plan.netns.get(l.ns)!, 'python3', join(this.work, 'listener.py'), spec, logf]));
    }

    // Captures and monitors.
    const dumps: Array<[string, BgProcess, string]> = [];
    const monitors: Array<[string, BgProcess]> = [];
    const ctev: Array<[string, BgProcess]> = [];
    const stdbuf = which('stdbuf');
    // nft and conntrack write through stdio: without -oL their last lines wait in a buffer when stopped.
    const lineBuf = (argv: string[]) => (stdbuf ? ['stdbuf', '-oL', this.tool(argv[0]), ...argv.slice(1)] : argv);
    for (const [wns, kns] of plan.netns) {
      const file = join(this.work, `cap-${wns}.pcap`);
      dumps.push([wns, this.bg(`tcpdump-${wns}`, ['ip', 'netns', 'exec', kns, 'tcpdump', '-i', 'any', '-y', 'LINUX_SLL2', '-n', '-U', '--immediate-mode', '-s', String(kSnaplen), '-B', String(kCaptureBufKiB),
        '--time-stamp-precision=nano', '-Z', 'root', '-w', file]), file]);
      const monArgv = lineBuf(['nft', '-a', 'monitor']);
      monitors.push([wns, this.bg(`nft-monitor-${wns}`, ['ip', 'netns', 'exec', kns, ...monArgv])]);
      if (which('conntrack')) ctev.push([wns, this.bg(`conntrack-E-${wns}`, ['ip', 'netns', 'exec', kns, ...lineBuf(['conntrack', '-E'])])]);
    }
    for (const l of listeners) {
      if (!(await pollUntil(() => l.stdout().includes('ready') || l.exited, Math.min(kReadyMs, left())))) throw new VerifyError(`${l.name} did not start: ${l.stderr()}`);
      if (l.exited) throw new VerifyError(`${l.name} exited: ${l.stderr()}`);
      for (const line of l.stdout().split('\n')) if (line.startsWith('bindfail')) notes.push(`${l.name}: could not open ${line.slice(9)} (address port errno)`);
    }
    for (const [, p] of dumps) {
      if (!(await pollUntil(() => p.stderr().includes('listening on') || p.exited, Math.min(kReadyMs, left())))) throw new VerifyError(`${p.name} did not start: ${p.stderr()}`);
      if (p.exited) throw new VerifyError(`${p.name} exited: ${p.stderr()}`);
    }
    // The tracing tables: adding them after the monitors start doubles as the monitors' readiness signal.
    const traceNft = [
      `table inet ${TRACE_TABLE} {`,
      '  chain pre { type filter hook prerouting priority -350; meta nftrace set 1; }',
      '  chain out { type filter hook output priority -350; meta nftrace set 1; }',
      '}',
      `table bridge ${TRACE_TABLE} {`,
      '  chain pre { type filter hook prerouting priority -350; meta nftrace set 1; }',
      '  chain out { type filter hook output priority -350; meta nftrace set 1; }',
      '}',
      '',
    ].join('\n');
    writeFileSync(join(this.work, 'trace.nft'), traceNft);
    for (const [wns, kns] of plan.netns) {
      const r = runSync([this.tool('ip'), 'netns', 'exec', kns, this.tool('nft'), '-f', join(this.work, 'trace.nft')]);
      if (r.code !== 0) throw new VerifyError(`turning nft tracing on in ${wns} failed: ${r.stderr}`);
    }
    for (const [, p] of monitors) {
      if (!(await pollUntil(() => p.stdout().includes(TRACE_TABLE) || p.exited, Math.min(kReadyMs, left())))) throw new VerifyError(`${p.name} did not start: ${p.stderr()}`);
      if (p.exited) throw new VerifyError(`${p.name} exited: ${p.stderr()}`);
    }

    // Drop reasons.
    let dropNote = '';
    if (this.o.droptrace) {
      const d = DropTrace.start(this.work, plan.prefix);
      if (typeof d === 'string') dropNote = d;
      else this.drop = d;
    } else dropNote = 'turned off (--no-droptrace)';

    // Inject.
    const spec = join(this.work, 'sender.json');
    const frames = join(this.work, 'frames.bin');
    writeSenderFiles(schedule, spec, frames, this.o.topspeed);
    writeFileSync(join(this.work, 'sender.py'), SENDER_PY);
    const sender = this.bg('sender', ['ip', 'netns', 'exec', plan.injNs, 'python3', join(this.work, 'sender.py'), spec, frames], true);
    if (!(await pollUntil(() => sender.stdout().includes('ready') || sender.exited, Math.min(kReadyMs, left())))) throw new VerifyError(`the sender did not start: ${sender.stderr()}`);
    if (sender.exited) throw new VerifyError(`the sender exited: ${sender.stderr()}`);
    this.drop?.watchSender(sender.pid);
    const baseSec = Math.floor((performance.timeOrigin + performance.now()) / 1000) - 1;
    // realtime - monotonic, in ns since baseSec: sampled around one clock read.
    const monoToRel = (performance.timeOrigin + performance.now() - baseSec * 1000) * 1e6 - Number(process.hrtime.bigint());
    log(`injecting ${schedule.frames.length} frame(s)${this.o.topspeed ? ' at top speed' : ` over ${(schedule.durationNs / 1e9).toFixed(3)} s`}`);
    sender.write('go\n');
    sender.child.stdin?.end();
    if (!(await sender.wait(left()))) throw new VerifyError(`the sender did not finish within the time limit`);
    if (!sender.stdout().includes('done')) throw new VerifyError(`the sender failed: ${sender.stderr().split('\n').slice(-1)[0]}`);

    // Let the kernel finish: answers, and neighbour resolutions until they succeed or fail.
    await sleep(kSettleMinMs);
    const end = Date.now() + Math.min(kNeighWaitMs, left());
    for (;;) {
      let pending = false;
      for (const kns of plan.netns.values()) {
        const r = runSync([this.tool('ip'), '-n', kns, '-j', 'neigh', 'show', 'nud', 'incomplete']);
        if (r.stdout.trim() && r.stdout.trim() !== '[]') pending = true;
      }
      if (!pending || Date.now() > end) break;
      await sleep(250);
    }
    // An answer to the last event (the ICMP error of a failed resolution) takes microseconds.
    await sleep(300);

    // Collect.
    const conntrack = new Map<string, string[]>();
    if (which('conntrack')) {
      for (const [wns, kns] of plan.netns) {
        const r = runSync([this.tool('ip'), 'netns', 'exec', kns, this.tool('conntrack'), '-L']);
        conntrack.set(wns, r.stdout.split('\n').filter((l) => l.trim()));
      }
    }
    await Promise.all([...dumps.map(([, p]) => p.stop('SIGINT')), ...monitors.map(([, p]) => p.stop('SIGTERM')), ...ctev.map(([, p]) => p.stop('SIGTERM')),
      ...listeners.map((p) => p.stop('SIGTERM'))]);
    const drops = this.drop ? this.drop.read(join(this.work, 'droptrace.txt')) : null;

    const sends: SendTime[] = [];
    for (const line of sender.stdout().split('\n')) {
      const f = line.split(' ');
      if (f.length !== 4) continue;
      sends[Number(f[0])] = { before: Number(f[1]) + monoToRel, after: Number(f[2]) + monoToRel, errno: Number(f[3]) };
    }
    const obs: Obs[] = [];
    for (const [wns, p, file] of dumps) {
      const dropped = /(\d+) packets? dropped by kernel/.exec(p.stderr());
      if (dropped && dropped[1] !== '0') notes.push(`tcpdump in ${wns} lost ${dropped[1]} packet(s) ("dropped by kernel"): some sightings are missing`);
      if (!existsSync(file)) continue;
      const names = ifnames.get(wns)!;
      const r = CaptureReader.open(file);
      try {
        for (let p = r.next(); p; p = r.next()) {
          const { info, ifindex, pkttype } = parseSll2(p.data.subarray(0, p.caplen));
          obs.push({ ns: wns, dev: names.get(ifindex) ?? `if${ifindex}`, out: pkttype === 4, t: (p.tsSec - baseSec) * 1e9 + p.tsNsec, info });
        }
      } catch (err) {
        notes.push(`capture of ${wns} ends early: ${err instanceof Error ? err.message : String(err)}`);
      } finally {
        r.close();
      }
    }
    obs.sort((a, b) => a.t - b.t);
    const nft: NftTraceEvent[] = [];
    for (const [wns, p] of monitors) nft.push(...parseNftMonitor(wns, p.stdout()));
    const lst: ListenerEntry[] = [];
    for (const [wns, f] of listenerLogs) {
      for (const line of readFileSync(f, 'utf8').split('\n')) {
        if (!line.trim()) continue;
        try {
          const e = JSON.parse(line) as Omit<ListenerEntry, 'ns'>;
          lst.push({ ns: wns, proto: e.proto, sock: e.sock, src: e.src, sport: e.sport, dst: e.dst ?? '', dport: e.dport ?? -1, len: e.len ?? -1, t: e.t + monoToRel });
        } catch {
          /* partial last line */
        }
      }
    }
    const ctEvents = new Map<string, number>();
    for (const [wns, p] of ctev) ctEvents.set(wns, p.stdout().split('\n').filter((l) => l.trim()).length);
    return { baseSec, obs, sends, nft, drops, dropNote, monoToRel, listeners: lst, conntrack, ctEvents, notes, workDir: this.work };
  }

  /** Stop everything and delete what this run created. Synchronous; never throws. */
  teardown(): void {
    if (this.torn) return;
    this.torn = true;
    for (const p of this.procs) p.killNow();
    try {
      this.drop?.stop();
    } catch {
      /* best effort */
    }
    const ip = which('ip');
    // Killed processes may still hold a namespace for a moment; `ip netns del` only unmounts our name.
    for (const name of this.created.reverse()) if (ip) runSync([ip, 'netns', 'del', name]);
    if (!this.o.keepWork) rmSync(this.work, { recursive: true, force: true });
  }
}
