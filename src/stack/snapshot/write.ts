/**
 * `pktpath snapshot`: write a snapshot (docs/snapshot-format.md, version 1) of the live host.
 *
 *   OUTDIR.tmp-<pid>/                 written first, renamed to OUTDIR at the end
 *     snapshot.json                   format, version, created, kernel, hostname, namespaces, root, warnings
 *     ns/<name>/link.json ...         verbatim output of the spec's commands, run inside the namespace
 *
 * Every file is the unmodified stdout of a read-only command (`ip netns exec NAME cmd...` for a named
 * namespace), so a reader can trust it as the tool printed it. A missing tool or a failed optional
 * command becomes a warning in snapshot.json; only link.json and addr.json are required.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { availableParallelism, hostname, release } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { ConfigError, UsageError } from '../../errors.js';
import { liveHost, type HostAccess, type RunResult } from './exec.js';

/** `ip netns` names we accept (and use as folder names). */
export const NETNS_NAME_RE = /^[A-Za-z0-9_.-]{1,64}$/;

/** Default folder name of the root (initial) namespace. */
export const DEFAULT_ROOT_NAME = 'host';

// Per-command timeout. `nft -j list ruleset` on a large Kubernetes host takes seconds, not minutes.
const kDefaultTimeoutMs = 30_000;

/** Options of `writeSnapshot`. */
export interface SnapshotOptions {
  /** Output directory; refused when it exists and is not empty, unless `force`. */
  out: string;
  /** `ip netns` names to capture. */
  netns?: readonly string[];
  /** Capture every namespace that `ip netns list` shows. */
  allNetns?: boolean;
  /** Capture the namespace pktpath runs in (normally the initial one); default true. */
  root?: boolean;
  /** Folder name of the root namespace; default `host`. */
  rootName?: string;
  /** Replace an existing snapshot (or empty directory) at `out`. */
  force?: boolean;
  /** Timeout of each command in milliseconds; default 30 s. */
  timeoutMs?: number;
  /** The host to read; default the live one. */
  host?: HostAccess;
  /** Creation time to record; default now. */
  now?: Date;
}

/** Contents of snapshot.json. */
export interface SnapshotMeta {
  format: 'pktpath-snapshot';
  version: 1;
  created: string;
  kernel: string;
  hostname: string;
  namespaces: string[];
  root?: string;
  warnings: string[];
}

/** What was captured, for the summary. */
export interface SnapshotCounts {
  namespaces: number;
  devices: number;
  routes: number;
  rules: number;
  nftTables: number;
  iptablesTables: number;
  sockets: number;
}

/** Result of `writeSnapshot`. */
export interface SnapshotResult {
  /** Absolute path of the snapshot directory. */
  dir: string;
  meta: SnapshotMeta;
  counts: SnapshotCounts;
  /** Same as meta.warnings. */
  warnings: string[];
}

type FileKind = 'json' | 'text' | 'iptables';

/** One file of the spec's table: how to make it. */
interface FileSpec {
  file: string;
  argv: readonly string[];
  kind: FileKind;
  required: boolean;
  /** Capability the command needs when not root, for the warning. */
  needs?: string;
}

/** The spec's table (docs/snapshot-format.md "ns/<name>/"), except ethtool/ and cpus.txt. */
const NS_FILES: readonly FileSpec[] = [
  { file: 'link.json', argv: ['ip', '-j', '-d', 'link', 'show'], kind: 'json', required: true },
  { file: 'addr.json', argv: ['ip', '-j', 'addr', 'show'], kind: 'json', required: true },
  { file: 'route4.json', argv: ['ip', '-j', '-4', 'route', 'show', 'table', 'all'], kind: 'json', required: false },
  { file: 'route6.json', argv: ['ip', '-j', '-6', 'route', 'show', 'table', 'all'], kind: 'json', required: false },
  { file: 'rule4.json', argv: ['ip', '-j', '-4', 'rule', 'show'], kind: 'json', required: false },
  { file: 'rule6.json', argv: ['ip', '-j', '-6', 'rule', 'show'], kind: 'json', required: false },
  { file: 'neigh.json', argv: ['ip', '-j', 'neigh', 'show'], kind: 'json', required: false },
  { file: 'netns-id.json', argv: ['ip', '-j', 'netns', 'list-id'], kind: 'json', required: false },
  { file: 'bridge-link.json', argv: ['bridge', '-j', 'link', 'show'], kind: 'json', required: false },
  { file: 'bridge-fdb.json', argv: ['bridge', '-j', 'fdb', 'show'], kind: 'json', required: false },
  { file: 'nft.json', argv: ['nft', '-j', 'list', 'ruleset'], kind: 'json', required: false, needs: 'CAP_NET_ADMIN' },
  { file: 'nft.txt', argv: ['nft', 'list', 'ruleset'], kind: 'text', required: false, needs: 'CAP_NET_ADMIN' },
  { file: 'iptables.txt', argv: ['iptables-save'], kind: 'iptables', required: false, needs: 'CAP_NET_ADMIN' },
  { file: 'ip6tables.txt', argv: ['ip6tables-save'], kind: 'iptables', required: false, needs: 'CAP_NET_ADMIN' },
  { file: 'sockets.txt', argv: ['ss', '-H', '-tuanp'], kind: 'text', required: false },
  { file: 'sysctl.txt', argv: ['sysctl', '-a', '--pattern', '^net\\.'], kind: 'text', required: false },
];

const ETHTOOL_FLAGS = ['-l', '-x', '-g'] as const;

// Linux dev_valid_name(): at most 15 bytes, no '/', ':' or whitespace, not '.' or '..'.
const DEV_NAME_RE = /^[^/:\s]{1,15}$/;
// A sysfs bus or device name we are willing to put in a path.
const SYSFS_NAME_RE = /^[A-Za-z0-9_.:-]{1,64}$/;
// IRQ names of a NIC that are not queues (virtio config, mlx5 async, i40e misc, ...).
const NON_QUEUE_IRQ_RE = /config|async|ctrl|event|misc|mbx|mailbox|admin|lsc|fw/i;

/** One namespace to capture: its folder name and the `ip netns` name (null for the root one). */
interface NsTarget {
  folder: string;
  netns: string | null;
  /** Found by --all-netns, not asked for by name: skipped with a warning if it vanishes meanwhile. */
  discovered: boolean;
}

/** Per-namespace device facts taken from link.json. */
interface LinkInfo {
  ifname: string;
  rxQueues: number;
  parentbus: string | null;
  parentdev: string | null;
}

class Capture {
  readonly warnings: string[] = [];
  readonly counts: SnapshotCounts = { namespaces: 0, devices: 0, routes: 0, rules: 0, nftTables: 0, iptablesTables: 0, sockets: 0 };
  private readonly toolPaths = new Map<string, string | null>();

  constructor(readonly host: HostAccess, readonly timeoutMs: number, readonly ipPath: string) {}

  which(tool: string): string | null {
    let p = this.toolPaths.get(tool);
    if (p === undefined) {
      p = this.host.which(tool);
      this.toolPaths.set(tool, p);
    }
    return p;
  }

  warn(msg: string): void {
    this.warnings.push(msg);
  }

  /** argv run inside the namespace: `ip netns exec NAME /path/to/tool args...` for a named one. */
  argvIn(ns: NsTarget, toolPath: string, args: readonly string[]): string[] {
    return ns.netns === null ? [toolPath, ...args] : [this.ipPath, 'netns', 'exec', ns.netns, toolPath, ...args];
  }
}

/** Write a snapshot of the live host to `opts.out`. Throws UsageError / ConfigError with one clear sentence. */
export async function writeSnapshot(opts: SnapshotOptions): Promise<SnapshotResult> {
  const host = opts.host ?? liveHost;
  const timeoutMs = opts.timeoutMs ?? kDefaultTimeoutMs;
  const rootName = opts.rootName ?? DEFAULT_ROOT_NAME;
  const captureRoot = opts.root ?? true;
  if (!isValidNsName(rootName)) {
    throw new UsageError(`root name "${rootName}" is not valid: use 1-64 characters from A-Z a-z 0-9 _ . -`);
  }
  const out = resolve(opts.out);
  checkOutDir(out, Boolean(opts.force));

  const ipPath = host.which('ip');
  if (!ipPath) throw new UsageError('ip (iproute2) is not installed; it is needed to read link.json and addr.json.');
  const cap = new Capture(host, timeoutMs, ipPath);

  const named = await selectNamespaces(cap, opts);
  if (captureRoot && named.includes(rootName)) {
    throw new UsageError(`namespace "${rootName}" has the same name as the root namespace's folder; pass --root-name with another name, or --no-root.`);
  }
  const targets: NsTarget[] = [];
  const asked = new Set(opts.netns ?? []);
  if (captureRoot) targets.push({ folder: rootName, netns: null, discovered: false });
  for (const n of named) targets.push({ folder: n, netns: n, discovered: !asked.has(n) });
  if (targets.length === 0) throw new UsageError('nothing to capture: --no-root needs --netns NAME or --all-netns.');

  checkNamespaceIdentity(cap, targets, rootName, captureRoot);
  if (host.uid() !== 0) {
    cap.warn('not running as root: nftables and iptables rules (CAP_NET_ADMIN), other users\' socket owners and some sysctls cannot be read');
  }

  const tmp = `${out}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(join(tmp, 'ns'), { recursive: true });
  try {
    const captured: NsTarget[] = [];
    for (const ns of targets) {
      const dir = join(tmp, 'ns', ns.folder);
      const before = { ...cap.counts };
      try {
        await captureNamespace(cap, ns, dir);
        captured.push(ns);
      } catch (err) {
        // Containers come and go while we read (Docker, Kubernetes): one that left is not an error.
        if (!(ns.discovered && err instanceof ConfigError && host.nsInode(`/run/netns/${ns.netns}`) === null)) throw err;
        rmSync(dir, { recursive: true, force: true });
        Object.assign(cap.counts, before);
        cap.warn(`ns/${ns.folder}: namespace deleted during the snapshot; not captured`);
      }
    }
    if (captured.length === 0) throw new ConfigError(out, '', 'every namespace disappeared during the snapshot; nothing was written.');
    cap.counts.namespaces = captured.length;
    const meta: SnapshotMeta = {
      format: 'pktpath-snapshot',
      version: 1,
      created: (opts.now ?? new Date()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      kernel: release(),
      hostname: hostname(),
      namespaces: captured.map((t) => t.folder),
      ...(captureRoot ? { root: rootName } : {}),
      warnings: cap.warnings,
    };
    writeFileSync(join(tmp, 'snapshot.json'), JSON.stringify(meta, null, 1) + '\n');
    publish(tmp, out, Boolean(opts.force));
    return { dir: out, meta, counts: cap.counts, warnings: cap.warnings };
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

/** One paragraph for stderr: what was captured and how many warnings. */
export function formatSummary(r: SnapshotResult): string {
  const c = r.counts;
  const n = (k: number, one: string, many = one + 's'): string => `${k} ${k === 1 ? one : many}`;
  const names = r.meta.namespaces.map((f) => (f === r.meta.root ? `${f} (root)` : f)).join(', ');
  return (
    `pktpath: wrote ${r.dir} (kernel ${r.meta.kernel}, host ${r.meta.hostname}): ` +
    `${n(c.namespaces, 'namespace')} [${names}], ${n(c.devices, 'device')}, ${n(c.routes, 'route')}, ` +
    `${n(c.rules, 'rule')}, ${n(c.nftTables, 'nft table')}, ${n(c.iptablesTables, 'iptables table')}, ` +
    `${n(c.sockets, 'socket')}, ${n(r.warnings.length, 'warning')}` +
    (r.warnings.length > 0 ? ' (listed below and in snapshot.json).' : '.')
  );
}

function isValidNsName(name: string): boolean {
  return NETNS_NAME_RE.test(name) && name !== '.' && name !== '..';
}

// ---------------------------------------------------------------------------------------------
// Output directory

function checkOutDir(out: string, force: boolean): void {
  let st;
  try {
    st = statSync(out);
  } catch {
    return;
  }
  if (!st.isDirectory()) throw new UsageError(`${out} exists and is not a directory; choose another output path.`);
  if (readdirSync(out).length === 0) return;
  if (!force) throw new UsageError(`${out} exists and is not empty; pass --force to replace it, or choose another path.`);
  // --force replaces a previous snapshot, never an arbitrary directory (think `snapshot ~ --force`).
  if (!isSnapshotDir(out)) {
    throw new UsageError(`${out} is not a pktpath snapshot (no snapshot.json); refusing to replace it even with --force.`);
  }
}

function isSnapshotDir(dir: string): boolean {
  try {
    const meta = JSON.parse(readFileSync(join(dir, 'snapshot.json'), 'utf8')) as { format?: unknown };
    return meta.format === 'pktpath-snapshot';
  } catch {
    return false;
  }
}

/** Move the finished temporary directory into place (rename(2): atomic for an absent or empty target). */
function publish(tmp: string, out: string, force: boolean): void {
  checkOutDir(out, force); // again: something may have appeared while we were capturing
  if (existsSync(out) && readdirSync(out).length > 0) {
    const old = join(dirname(out), `.${basename(out)}.old-${process.pid}`);
    renameSync(out, old);
    renameSync(tmp, out);
    rmSync(old, { recursive: true, force: true });
    return;
  }
  renameSync(tmp, out);
}

// ---------------------------------------------------------------------------------------------
// Namespaces

/** `ip netns list` names, from JSON (iproute2 ≥ 4.17) or the text form `name (id: N)`. */
async function listNetns(cap: Capture): Promise<string[]> {
  const res = await cap.host.run([cap.ipPath, '-j', 'netns', 'list'], cap.timeoutMs);
  let text = res.status === 'ok' ? res.stdout.toString('utf8') : '';
  if (text.trim() !== '') {
    try {
      const arr = JSON.parse(text) as Array<{ name?: unknown }>;
      if (Array.isArray(arr)) return arr.map((e) => (typeof e.name === 'string' ? e.name : '')).filter((n) => n !== '');
    } catch {
      // older ip ignores -j here: fall through to the text form
    }
  }
  const res2 = await cap.host.run([cap.ipPath, 'netns', 'list'], cap.timeoutMs);
  if (res2.status !== 'ok') {
    throw new ConfigError('ip netns list', '', `${failureText(res2)}; cannot list network namespaces.`);
  }
  text = res2.stdout.toString('utf8');
  return text
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n !== '');
}

async function selectNamespaces(cap: Capture, opts: SnapshotOptions): Promise<string[]> {
  const requested = [...new Set(opts.netns ?? [])];
  for (const n of requested) {
    if (!isValidNsName(n)) {
      throw new UsageError(`--netns "${n}": not a valid namespace name (1-64 characters from A-Z a-z 0-9 _ . -).`);
    }
  }
  if (requested.length === 0 && !opts.allNetns) return [];
  const existing = await listNetns(cap);
  const known = new Set(existing);
  for (const n of requested) {
    if (!known.has(n)) {
      const shown = existing.length ? existing.join(', ') : 'none';
      throw new UsageError(`--netns "${n}": no such network namespace (ip netns list shows: ${shown}).`);
    }
  }
  const chosen = new Set(requested);
  if (opts.allNetns) {
    for (const n of existing) {
      if (isValidNsName(n)) chosen.add(n);
      else cap.warn(`namespace "${n}" skipped: its name is not 1-64 characters from A-Z a-z 0-9 _ . -`);
    }
  }
  return [...chosen].sort();
}

/** Warn when two folders hold the same namespace, or when "root" is not PID 1's namespace. */
function checkNamespaceIdentity(cap: Capture, targets: readonly NsTarget[], rootName: string, captureRoot: boolean): void {
  const self = cap.host.nsInode('/proc/self/ns/net');
  if (self === null) return;
  if (captureRoot) {
    const init = cap.host.nsInode('/proc/1/ns/net');
    if (init !== null && init !== self) {
      cap.warn(`ns/${rootName}: pktpath runs outside the initial network namespace; ns/${rootName} holds the namespace it runs in`);
    }
  }
  for (const t of targets) {
    if (t.netns === null) continue;
    const ino = cap.host.nsInode(`/run/netns/${t.netns}`);
    if (captureRoot && ino === self) cap.warn(`ns/${t.folder}: the same namespace as ns/${rootName}`);
  }
}

// ---------------------------------------------------------------------------------------------
// One namespace

async function captureNamespace(cap: Capture, ns: NsTarget, dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const where = `ns/${ns.folder}`;
  let links: LinkInfo[] = [];
  for (const spec of NS_FILES) {
    const data = await captureFile(cap, ns, spec);
    if (data === null) continue;
    writeFileSync(join(dir, spec.file), data.raw);
    count(cap.counts, spec.file, data);
    if (spec.file === 'link.json') links = linkInfo(data.json, `${where}/link.json`);
  }
  await captureEthtool(cap, ns, dir, links);
  await captureCpus(cap, ns, dir, links);
}

interface Captured {
  raw: Buffer;
  text: string;
  json: unknown;
}

/** Run one spec; null when the file is not to be written (warning recorded), throws for a required one. */
async function captureFile(cap: Capture, ns: NsTarget, spec: FileSpec): Promise<Captured | null> {
  const where = `ns/${ns.folder}/${spec.file}`;
  const [tool, ...args] = spec.argv as [string, ...string[]];
  const cmd = spec.argv.join(' ');
  const fail = (what: string): null => {
    if (spec.required) throw new ConfigError(where, '', `${what}; nothing was written.`);
    cap.warn(`${where}: ${what}`);
    return null;
  };

  const path = cap.which(tool);
  if (!path && tool === 'sysctl') return readSysctlFallback(cap, ns, where);
  if (!path) return fail(`${tool} not installed`);
  const res = await cap.host.run(cap.argvIn(ns, path, args), cap.timeoutMs);
  if (res.status !== 'ok') {
    // sysctl exits non-zero on some unreadable keys, yet prints all the others.
    if (!(tool === 'sysctl' && res.status === 'failed' && res.stdout.length > 0)) {
      return fail(describeFailure(cap, ns, cmd, res, spec.needs));
    }
  }
  if (tool === 'sysctl' && /permission denied/i.test(res.stderr)) {
    const keys = res.stderr.split('\n').filter((l) => /permission denied/i.test(l));
    const first = /'([^']+)'/.exec(keys[0] ?? '')?.[1];
    cap.warn(`${where}: ${keys.length} key${keys.length === 1 ? '' : 's'} unreadable without root${first ? ` (e.g. ${first})` : ''}`);
  }

  const raw = res.stdout;
  const text = raw.toString('utf8');
  if (text.trim() === '') {
    if (spec.required) return fail(`\`${cmd}\` printed nothing`);
    return null; // an empty optional file means "nothing there": not written
  }
  let json: unknown = null;
  if (spec.kind === 'json') {
    try {
      json = JSON.parse(text);
    } catch (e) {
      return fail(`\`${cmd}\` did not print valid JSON (${(e as Error).message}); is iproute2/nftables too old for -j?`);
    }
  } else if (spec.kind === 'iptables') {
    if (/iptables-legacy tables present/i.test(text) || /iptables-legacy tables present/i.test(res.stderr)) {
      cap.warn(`${where}: ${tool} reports iptables-legacy tables as well; they are not captured (see ${tool.replace('-save', '-legacy-save')})`);
    }
    if (!/^\*/m.test(text)) return null; // no tables: no file
  }
  return { raw, text, json };
}

/** One sentence for a failed command, with what to do about it. */
function describeFailure(cap: Capture, ns: NsTarget, cmd: string, res: RunResult, needs: string | undefined): string {
  if (res.status === 'timeout') return `\`${cmd}\` timed out after ${Math.round(cap.timeoutMs / 1000)} s`;
  if (res.status === 'missing') return `${cmd.split(' ')[0]} not installed`;
  const detail = firstLine(res.stderr) || `exit code ${res.code ?? '?'}`;
  const denied = /not permitted|permission denied|must be root/i.test(res.stderr);
  if (ns.netns !== null && /setting the network namespace|mount --make|unshare/i.test(res.stderr)) {
    return `cannot enter namespace "${ns.netns}" (${detail}); ip netns exec needs root (CAP_SYS_ADMIN)`;
  }
  if (denied) return `\`${cmd}\` failed: ${detail}; reading it needs ${needs ?? 'more privileges'} (run as root)`;
  return `\`${cmd}\` failed: ${detail}`;
}

function firstLine(s: string): string {
  return (s.split('\n').find((l) => l.trim() !== '') ?? '').trim();
}

function failureText(res: RunResult): string {
  if (res.status === 'timeout') return 'timed out';
  return firstLine(res.stderr) || `exit code ${res.code ?? '?'}`;
}

function count(c: SnapshotCounts, file: string, data: Captured): void {
  const len = (v: unknown): number => (Array.isArray(v) ? v.length : 0);
  switch (file) {
    case 'link.json':
      c.devices += len(data.json);
      break;
    case 'route4.json':
    case 'route6.json':
      c.routes += len(data.json);
      break;
    case 'rule4.json':
    case 'rule6.json':
      c.rules += len(data.json);
      break;
    case 'nft.json': {
      const items = (data.json as { nftables?: unknown } | null)?.nftables;
      if (Array.isArray(items)) c.nftTables += items.filter((i) => i !== null && typeof i === 'object' && 'table' in i).length;
      break;
    }
    case 'iptables.txt':
    case 'ip6tables.txt':
      c.iptablesTables += data.text.split('\n').filter((l) => l.startsWith('*')).length;
      break;
    case 'sockets.txt':
      c.sockets += data.text.split('\n').filter((l) => l.trim() !== '').length;
      break;
    default:
      break;
  }
}

function linkInfo(json: unknown, where: string): LinkInfo[] {
  if (!Array.isArray(json)) throw new ConfigError(where, '', 'ip printed JSON that is not an array; nothing was written.');
  const out: LinkInfo[] = [];
  for (const e of json as Array<Record<string, unknown>>) {
    if (e === null || typeof e !== 'object' || typeof e.ifname !== 'string') continue;
    out.push({
      ifname: e.ifname,
      rxQueues: typeof e.num_rx_queues === 'number' ? e.num_rx_queues : 1,
      parentbus: typeof e.parentbus === 'string' ? e.parentbus : null,
      parentdev: typeof e.parentdev === 'string' ? e.parentdev : null,
    });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// sysctl.txt without sysctl(8): walk /proc/sys/net, which shows the reading task's namespace.

async function readSysctlFallback(cap: Capture, ns: NsTarget, where: string): Promise<Captured | null> {
  let lines: string[];
  if (ns.netns === null) {
    lines = [];
    walkProcSys(cap.host, '/proc/sys/net', lines);
  } else {
    const grep = cap.which('grep');
    if (!grep) {
      cap.warn(`${where}: sysctl and grep not installed`);
      return null;
    }
    // grep -r -H prints "path:line"; -s hides write-only and unreadable keys.
    const res = await cap.host.run(cap.argvIn(ns, grep, ['-r', '-s', '-H', '', '/proc/sys/net']), cap.timeoutMs);
    if (res.stdout.length === 0) {
      cap.warn(`${where}: sysctl not installed, and reading /proc/sys/net failed: ${failureText(res)}`);
      return null;
    }
    const byKey = new Map<string, string[]>();
    for (const l of res.stdout.toString('utf8').split('\n')) {
      const i = l.indexOf(':');
      if (i <= 0) continue;
      const key = procPathToKey(l.slice(0, i));
      const v = byKey.get(key);
      if (v) v.push(l.slice(i + 1));
      else byKey.set(key, [l.slice(i + 1)]);
    }
    lines = [...byKey].map(([k, v]) => `${k} = ${v.join(' ')}`);
  }
  if (lines.length === 0) {
    cap.warn(`${where}: sysctl not installed, and /proc/sys/net could not be read`);
    return null;
  }
  cap.warn(`${where}: sysctl not installed; read /proc/sys/net directly`);
  lines.sort();
  const text = lines.join('\n') + '\n';
  return { raw: Buffer.from(text), text, json: null };
}

function walkProcSys(host: HostAccess, dir: string, out: string[]): void {
  const entries = host.readDir(dir);
  if (!entries) return;
  for (const e of entries) {
    const p = `${dir}/${e}`;
    const sub = host.readDir(p);
    if (sub) {
      walkProcSys(host, p, out);
      continue;
    }
    const v = host.readFile(p);
    if (v !== null) out.push(`${procPathToKey(p)} = ${v.trim().split('\n').join(' ')}`);
  }
}

/** /proc/sys/net/ipv4/conf/eth0.100/rp_filter → net.ipv4.conf.eth0/100.rp_filter, as sysctl(8) prints it. */
function procPathToKey(p: string): string {
  return p
    .replace(/^\/proc\/sys\//, '')
    .split('/')
    .map((c) => c.replace(/\./g, '/'))
    .join('.');
}

// ---------------------------------------------------------------------------------------------
// ethtool/<dev>.txt: channels (-l), RSS indirection and key (-x), rings (-g) of physical devices.

async function captureEthtool(cap: Capture, ns: NsTarget, dir: string, links: readonly LinkInfo[]): Promise<void> {
  // Only devices on a bus (parentbus in `ip -d`) have hardware queues and RSS worth modelling.
  const devs = links.filter((l) => l.parentbus !== null && DEV_NAME_RE.test(l.ifname) && l.ifname !== '.' && l.ifname !== '..');
  if (devs.length === 0) return;
  const where = `ns/${ns.folder}/ethtool`;
  const ethtool = cap.which('ethtool');
  if (!ethtool) {
    cap.warn(`${where}: ethtool not installed (queues, RSS and rings of ${devs.map((d) => d.ifname).join(', ')} not captured)`);
    return;
  }
  for (const d of devs) {
    const parts: string[] = [];
    const errors: string[] = [];
    for (const flag of ETHTOOL_FLAGS) {
      const res = await cap.host.run(cap.argvIn(ns, ethtool, [flag, d.ifname]), cap.timeoutMs);
      if (res.status === 'ok' && res.stdout.length > 0) {
        parts.push(`# ethtool ${flag} ${d.ifname}\n${res.stdout.toString('utf8').replace(/\n?$/, '\n')}`);
      } else if (res.status !== 'ok' && !/not supported/i.test(res.stderr)) {
        errors.push(`ethtool ${flag}: ${failureText(res)}`);
      }
    }
    if (parts.length > 0) {
      mkdirSync(join(dir, 'ethtool'), { recursive: true });
      writeFileSync(join(dir, 'ethtool', `${d.ifname}.txt`), parts.join(''));
    }
    if (errors.length > 0) cap.warn(`${where}/${d.ifname}.txt: ${errors.join('; ')}`);
  }
}

// ---------------------------------------------------------------------------------------------
// cpus.txt
//
//   # nproc
//   4
//   # <irq> <dev-queue> <smp_affinity_list>
//   38 eth0:virtio2-input.0 1            dev-queue = <dev>:<irq name in /proc/interrupts>
//   # <dev-queue> <rps_cpus>
//   eth0:rx-0 0                          hex CPU mask from /sys/class/net/<dev>/queues/rx-N/rps_cpus

async function captureCpus(cap: Capture, ns: NsTarget, dir: string, links: readonly LinkInfo[]): Promise<void> {
  const where = `ns/${ns.folder}/cpus.txt`;
  const devs = links.filter((l) => DEV_NAME_RE.test(l.ifname) && l.ifname !== '.' && l.ifname !== '..');

  let nproc = '';
  const nprocPath = cap.which('nproc');
  if (nprocPath) {
    const res = await cap.host.run([nprocPath], cap.timeoutMs);
    if (res.status === 'ok') nproc = res.stdout.toString('utf8').trim();
  }
  if (!/^\d+$/.test(nproc)) nproc = String(availableParallelism());

  const irqLines: string[] = [];
  const interrupts = cap.host.readFile('/proc/interrupts');
  if (interrupts === null) {
    cap.warn(`${where}: /proc/interrupts unreadable; IRQ affinities not captured`);
  } else {
    const names = parseInterrupts(interrupts);
    // Only devices on a bus have IRQs; a container's veth "eth0" must not claim the host eth0's vectors.
    for (const d of devs) {
      if (d.parentbus === null) continue;
      for (const irq of nicIrqs(cap.host, d, names)) {
        const aff = cap.host.readFile(`/proc/irq/${irq}/smp_affinity_list`)?.trim() || '?';
        irqLines.push(`${irq} ${d.ifname}:${(names.get(irq) ?? '').replace(/\s+/g, '_')} ${aff}`);
      }
    }
  }

  const rpsLines = await readRps(cap, ns, devs, where);
  const text =
    `# nproc\n${nproc}\n` +
    `# <irq> <dev-queue> <smp_affinity_list>\n${irqLines.map((l) => l + '\n').join('')}` +
    `# <dev-queue> <rps_cpus>\n${rpsLines.map((l) => l + '\n').join('')}`;
  writeFileSync(join(dir, 'cpus.txt'), text);
}

/** IRQ number → action name, from /proc/interrupts. */
export function parseInterrupts(text: string): Map<number, string> {
  const lines = text.split('\n');
  const ncpu = (lines[0] ?? '').trim().split(/\s+/).filter((t) => /^CPU\d+$/.test(t)).length;
  const out = new Map<number, string>();
  for (const line of lines.slice(1)) {
    const m = /^\s*(\d+):\s*(.*)$/.exec(line);
    if (!m) continue;
    const rest = m[2]!.trim().split(/\s+/).slice(ncpu); // chip, hwirq-type, actions...
    // The action names follow the trigger type ("1-edge", "PCI-MSI-edge", "fasteoi"); else take the last token.
    const t = rest.findIndex((tok) => /(edge|level|fasteoi)$/i.test(tok));
    const name = t >= 0 && t < rest.length - 1 ? rest.slice(t + 1).join(' ') : (rest[rest.length - 1] ?? '');
    out.set(Number(m[1]), name);
  }
  return out;
}

/** The queue IRQs of a device: its bus device's MSI vectors (minus control ones), plus names carrying its name. */
function nicIrqs(host: HostAccess, d: LinkInfo, names: ReadonlyMap<number, string>): number[] {
  const irqs = new Set<number>();
  const nameRe = new RegExp(`(^|[^A-Za-z0-9])${d.ifname.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}([^A-Za-z0-9]|$)`);
  for (const [irq, name] of names) if (nameRe.test(name)) irqs.add(irq);
  if (d.parentbus && d.parentdev && SYSFS_NAME_RE.test(d.parentbus) && SYSFS_NAME_RE.test(d.parentdev)) {
    const devPath = host.realpath(`/sys/bus/${d.parentbus}/devices/${d.parentdev}`);
    if (devPath) {
      // virtio-net's vectors belong to the PCI function above the virtio device.
      const msi = host.readDir(`${devPath}/msi_irqs`) ?? host.readDir(`${dirname(devPath)}/msi_irqs`) ?? [];
      for (const e of msi) {
        const irq = Number(e);
        const name = names.get(irq);
        if (!Number.isInteger(irq) || name === undefined || NON_QUEUE_IRQ_RE.test(name)) continue;
        // A multi-function PCI parent (virtio) also holds other virtio devices' vectors.
        if (d.parentbus === 'virtio' && !name.startsWith(`${d.parentdev}-`)) continue;
        irqs.add(irq);
      }
    }
  }
  return [...irqs].sort((a, b) => a - b);
}

/** `<dev>:rx-N <mask>` for every rx queue; sysfs of a named namespace is only visible through ip netns exec. */
async function readRps(cap: Capture, ns: NsTarget, devs: readonly LinkInfo[], where: string): Promise<string[]> {
  const paths: Array<[string, string]> = [];
  for (const d of devs) {
    for (let q = 0; q < Math.max(1, d.rxQueues); q++) {
      paths.push([`${d.ifname}:rx-${q}`, `/sys/class/net/${d.ifname}/queues/rx-${q}/rps_cpus`]);
    }
  }
  if (paths.length === 0) return [];
  if (ns.netns === null) {
    const out: string[] = [];
    for (const [label, p] of paths) {
      const v = cap.host.readFile(p);
      if (v !== null) out.push(`${label} ${v.trim()}`);
    }
    return out;
  }
  const grep = cap.which('grep');
  if (!grep) {
    cap.warn(`${where}: grep not installed; rps_cpus not captured`);
    return [];
  }
  const res = await cap.host.run(cap.argvIn(ns, grep, ['-s', '-H', '', ...paths.map((p) => p[1])]), cap.timeoutMs);
  const byPath = new Map<string, string>();
  for (const l of res.stdout.toString('utf8').split('\n')) {
    const i = l.indexOf(':');
    if (i > 0) byPath.set(l.slice(0, i), l.slice(i + 1).trim());
  }
  if (byPath.size === 0 && res.status !== 'ok') cap.warn(`${where}: rps_cpus not read: ${failureText(res)}`);
  return paths.filter(([, p]) => byPath.has(p)).map(([label, p]) => `${label} ${byPath.get(p)}`);
}
