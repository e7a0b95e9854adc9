/**
 * `pktpath snapshot` against the real kernel: a small topology in two fresh namespaces
 * (ppsnap-<random>-a, -b), captured with writeSnapshot() and once through the CLI.
 *
 *   ns a                                   ns b
 *   dum0 198.51.100.1/24 (veth to dum1)    br0 192.0.2.2/24
 *   va 192.0.2.1/24  <----- veth ----->    vb (port of br0)
 *   table 100: 203.0.113.0/24 via .2       iptables-nft: INPUT tcp dport 4243 ACCEPT
 *   rule 1000: from 198.51.100.0/24 lookup 100
 *   blackhole 203.0.113.128/25
 *   nft inet ppsnap input: tcp dport 4242 counter accept
 *   listener tcp 0.0.0.0:4242 (python3 or nc)
 *
 * The root namespace is only ever read. The kernel cases need root and `ip netns`; without them each
 * case is skipped and says why. The fake-host cases at the end run everywhere.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, UsageError } from '../../src/errors.js';
import type { HostAccess, RunResult } from '../../src/stack/snapshot/exec.js';
import { findExecutable } from '../../src/stack/snapshot/exec.js';
import { formatSummary, parseInterrupts, writeSnapshot } from '../../src/stack/snapshot/write.js';

const ROOT_DIR = fileURLToPath(new URL('../..', import.meta.url)).replace(/\/$/, '');
const PORT_NFT = 4242;
const PORT_IPT = 4243;

function kernelSkipReason(): string | null {
  if (process.platform !== 'linux') return 'not Linux';
  if (typeof process.geteuid !== 'function' || process.geteuid() !== 0) return 'needs root (creates network namespaces)';
  if (!findExecutable('ip')) return 'ip (iproute2) not installed';
  const r = spawnSync(findExecutable('ip')!, ['netns', 'list'], { timeout: 10_000 });
  if (r.status !== 0) return `\`ip netns list\` failed: ${String(r.stderr).trim()}`;
  for (const tool of ['nft', 'iptables', 'ss']) if (!findExecutable(tool)) return `${tool} not installed`;
  return null;
}

const SKIP = kernelSkipReason();
if (SKIP) console.warn(`tests/snapshot/write.test.ts: kernel cases skipped: ${SKIP}`);
const kernelIt = it.skipIf(SKIP !== null);
const why = SKIP ? ` [skipped: ${SKIP}]` : '';

const PREFIX = `ppsnap-${randomBytes(3).toString('hex')}-`;
const NS_A = `${PREFIX}a`;
const NS_B = `${PREFIX}b`;

/** Run a setup command; throw with its stderr when it fails. */
function sh(...argv: string[]): string {
  const [cmd, ...args] = argv as [string, ...string[]];
  const r = spawnSync(findExecutable(cmd) ?? cmd, args, { timeout: 15_000, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')}: ${r.error?.message ?? r.stderr.trim()} (exit ${r.status})`);
  return r.stdout;
}

function inNs(ns: string, ...argv: string[]): string {
  return sh('ip', 'netns', 'exec', ns, ...argv);
}

let listener: ChildProcess | null = null;
let created: string[] = [];
let scratch = '';

async function teardown(): Promise<void> {
  if (listener?.pid !== undefined && listener.exitCode === null) {
    try {
      process.kill(-listener.pid, 'SIGKILL'); // its own process group: the ip → python3 chain
    } catch {
      listener.kill('SIGKILL');
    }
  }
  listener = null;
  for (const ns of created) spawnSync(findExecutable('ip') ?? 'ip', ['netns', 'del', ns], { timeout: 10_000 });
  created = [];
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  scratch = '';
}

async function buildTopology(): Promise<void> {
  scratch = mkdtempSync(join(tmpdir(), PREFIX));
  for (const ns of [NS_A, NS_B]) {
    sh('ip', 'netns', 'add', ns);
    created.push(ns);
    sh('ip', '-n', ns, 'link', 'set', 'lo', 'up');
  }
  sh('ip', '-n', NS_A, 'link', 'add', 'va', 'type', 'veth', 'peer', 'name', 'vb', 'netns', NS_B);
  sh('ip', '-n', NS_A, 'addr', 'add', '192.0.2.1/24', 'dev', 'va');
  sh('ip', '-n', NS_A, 'link', 'set', 'va', 'up');
  sh('ip', '-n', NS_A, 'link', 'add', 'dum0', 'type', 'veth', 'peer', 'name', 'dum1'); // no dummy module everywhere
  sh('ip', '-n', NS_A, 'addr', 'add', '198.51.100.1/24', 'dev', 'dum0');
  sh('ip', '-n', NS_A, 'link', 'set', 'dum0', 'up');
  sh('ip', '-n', NS_A, 'route', 'add', '203.0.113.0/24', 'via', '192.0.2.2', 'dev', 'va', 'table', '100');
  sh('ip', '-n', NS_A, 'rule', 'add', 'from', '198.51.100.0/24', 'lookup', '100', 'priority', '1000');
  sh('ip', '-n', NS_A, 'route', 'add', 'blackhole', '203.0.113.128/25');
  inNs(NS_A, 'nft', 'add', 'table', 'inet', 'ppsnap');
  inNs(NS_A, 'nft', 'add', 'chain', 'inet', 'ppsnap', 'input', '{ type filter hook input priority 0; policy accept; }');
  inNs(NS_A, 'nft', 'add', 'rule', 'inet', 'ppsnap', 'input', 'tcp', 'dport', String(PORT_NFT), 'counter', 'accept');

  sh('ip', '-n', NS_B, 'link', 'add', 'br0', 'type', 'bridge');
  sh('ip', '-n', NS_B, 'link', 'set', 'vb', 'master', 'br0');
  sh('ip', '-n', NS_B, 'addr', 'add', '192.0.2.2/24', 'dev', 'br0');
  sh('ip', '-n', NS_B, 'link', 'set', 'br0', 'up');
  sh('ip', '-n', NS_B, 'link', 'set', 'vb', 'up');
  inNs(NS_B, 'iptables', '-A', 'INPUT', '-p', 'tcp', '--dport', String(PORT_IPT), '-j', 'ACCEPT');

  // A short-lived listener: it exits by itself after 90 s even if the kill below never happens.
  const py = findExecutable('python3');
  const cmd = py
    ? [py, '-c', `import socket,time\ns=socket.socket()\ns.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)\ns.bind(('0.0.0.0',${PORT_NFT}))\ns.listen()\ntime.sleep(90)`]
    : ['timeout', '90', 'nc', '-l', String(PORT_NFT)];
  listener = spawn(findExecutable('ip')!, ['netns', 'exec', NS_A, ...cmd], { stdio: 'ignore', detached: true });
  for (let i = 0; i < 100; i++) {
    if (inNs(NS_A, 'ss', '-H', '-tln').includes(`:${PORT_NFT}`)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`the listener on port ${PORT_NFT} in ${NS_A} did not come up`);
}

const readJson = (p: string): unknown => JSON.parse(readFileSync(p, 'utf8'));
type Obj = Record<string, unknown>;

/** The checks shared by the function and the CLI runs. */
function checkSnapshot(dir: string): void {
  const meta = readJson(join(dir, 'snapshot.json')) as Obj;
  expect(meta.format).toBe('pktpath-snapshot');
  expect(meta.version).toBe(1);
  expect(meta.created).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  expect(meta.kernel).toBe(release());
  expect(typeof meta.hostname).toBe('string');
  expect(meta.namespaces).toEqual([NS_A, NS_B]);
  expect(meta).not.toHaveProperty('root');
  expect(Array.isArray(meta.warnings)).toBe(true);
  expect(readdirSync(join(dir, 'ns')).sort()).toEqual([NS_A, NS_B]);

  for (const ns of [NS_A, NS_B]) {
    const d = join(dir, 'ns', ns);
    const files = readdirSync(d);
    for (const f of ['link.json', 'addr.json', 'route4.json', 'rule4.json', 'rule6.json', 'netns-id.json',
      'bridge-link.json', 'bridge-fdb.json', 'nft.json', 'nft.txt', 'sysctl.txt', 'cpus.txt']) {
      expect(files, `${ns}/${f}`).toContain(f);
    }
    for (const f of files.filter((f) => f.endsWith('.json'))) expect(() => readJson(join(d, f)), `${ns}/${f}`).not.toThrow();
    expect(readFileSync(join(d, 'sysctl.txt'), 'utf8')).toMatch(/^net\.ipv4\.ip_forward = 0$/m);
    const cpus = readFileSync(join(d, 'cpus.txt'), 'utf8').split('\n');
    expect(cpus[0]).toBe('# nproc');
    expect(cpus[1]).toMatch(/^\d+$/);
  }
  const a = join(dir, 'ns', NS_A);
  const b = join(dir, 'ns', NS_B);

  // veth peers join through link_netnsid → netns-id.json → the other namespace's name.
  for (const [here, dev, other] of [[a, 'va', NS_B], [b, 'vb', NS_A]] as const) {
    const link = (readJson(join(here, 'link.json')) as Obj[]).find((l) => l.ifname === dev);
    expect(link, dev).toBeDefined();
    expect(typeof link!.link_netnsid).toBe('number');
    const ids = readJson(join(here, 'netns-id.json')) as Obj[];
    expect(ids.find((e) => e.nsid === link!.link_netnsid)?.name).toBe(other);
  }

  const routes = readJson(join(a, 'route4.json')) as Obj[];
  expect(routes.find((r) => r.dst === '203.0.113.0/24' && r.table === '100')).toMatchObject({ gateway: '192.0.2.2', dev: 'va' });
  expect(routes.find((r) => r.dst === '203.0.113.128/25')).toMatchObject({ type: 'blackhole' });
  const rules = readJson(join(a, 'rule4.json')) as Obj[];
  expect(rules.find((r) => r.priority === 1000)).toMatchObject({ src: '198.51.100.0', srclen: 24, table: '100' });

  const nft = (readJson(join(a, 'nft.json')) as { nftables: Obj[] }).nftables;
  expect(nft.some((i) => (i.table as Obj | undefined)?.name === 'ppsnap')).toBe(true);
  const rule = nft.map((i) => i.rule as Obj | undefined).find((r) => r?.table === 'ppsnap' && r.chain === 'input');
  expect(JSON.stringify(rule?.expr)).toContain(String(PORT_NFT));
  expect(readFileSync(join(a, 'nft.txt'), 'utf8')).toContain(`tcp dport ${PORT_NFT} counter`);
  expect(readdirSync(a)).not.toContain('iptables.txt'); // no iptables tables there: no file

  const ipt = readFileSync(join(b, 'iptables.txt'), 'utf8');
  expect(ipt).toMatch(/^\*filter$/m);
  expect(ipt).toContain(`--dport ${PORT_IPT} -j ACCEPT`);
  const ports = readJson(join(b, 'bridge-link.json')) as Obj[];
  expect(ports.find((p) => p.ifname === 'vb')?.master).toBe('br0');
  expect(readFileSync(join(b, 'cpus.txt'), 'utf8')).toMatch(/^vb:rx-0 [0-9a-f,]+$/m);

  const sockets = readFileSync(join(a, 'sockets.txt'), 'utf8');
  expect(sockets).toMatch(new RegExp(`^tcp\\s+LISTEN\\s.*:${PORT_NFT}\\s`, 'm'));
}

describe('pktpath snapshot on the live kernel', () => {
  beforeAll(async () => {
    if (SKIP) return;
    try {
      await buildTopology();
    } catch (err) {
      await teardown();
      throw err;
    }
  });
  afterAll(teardown);

  kernelIt(`writeSnapshot() captures two namespaces joined by a veth${why}`, async () => {
    const out = join(scratch, 'fn');
    const r = await writeSnapshot({ out, netns: [NS_B, NS_A], root: false });
    expect(r.dir).toBe(out);
    checkSnapshot(out);
    expect(r.counts.namespaces).toBe(2);
    expect(r.counts.devices).toBeGreaterThanOrEqual(6); // lo×2, va, dum0, dum1, vb, br0
    expect(r.counts.nftTables).toBeGreaterThanOrEqual(2); // inet ppsnap in a, ip filter in b
    expect(r.counts.iptablesTables).toBe(1);
    expect(r.counts.sockets).toBeGreaterThanOrEqual(1);
    expect(existsSync(`${out}.tmp-${process.pid}`)).toBe(false);
    expect(formatSummary(r)).toMatch(/^pktpath: wrote .*: 2 namespaces .*, \d+ devices, \d+ routes, \d+ rules, \d+ nft tables, 1 iptables table, \d+ sockets?, \d+ warnings?/);
  });

  kernelIt(`the root namespace is captured as "host"${why}`, async () => {
    const out = join(scratch, 'root');
    const r = await writeSnapshot({ out, netns: [NS_A] });
    expect(r.meta.namespaces).toEqual(['host', NS_A]);
    expect(r.meta.root).toBe('host');
    for (const f of ['link.json', 'addr.json', 'cpus.txt']) expect(existsSync(join(out, 'ns', 'host', f))).toBe(true);
  });

  kernelIt(`unknown and invalid --netns names are refused${why}`, async () => {
    await expect(writeSnapshot({ out: join(scratch, 'x'), netns: [`${PREFIX}nope`], root: false })).rejects.toThrow(/no such network namespace/);
    await expect(writeSnapshot({ out: join(scratch, 'x'), netns: ['../etc'], root: false })).rejects.toThrow(UsageError);
    expect(existsSync(join(scratch, 'x'))).toBe(false);
  });

  kernelIt(`the CLI writes the same snapshot, refuses to overwrite, and replaces with --force${why}`, async (ctx) => {
    const build = spawnSync('npx', ['tsc', '-p', ROOT_DIR], { cwd: ROOT_DIR, encoding: 'utf8', timeout: 300_000 });
    if (build.status !== 0) {
      const first = (build.stdout + build.stderr).split('\n').find((l) => l.trim() !== '') ?? `exit ${build.status}`;
      ctx.skip(`the build failed (npx tsc -p ${ROOT_DIR}): ${first}`);
    }
    const main = join(ROOT_DIR, 'dist', 'cli', 'main.js');
    const out = join(scratch, 'cli');
    const run = (...extra: string[]) =>
      spawnSync(process.execPath, [main, 'snapshot', out, '--netns', NS_A, '--netns', NS_B, '--no-root', ...extra], { encoding: 'utf8', timeout: 120_000 });
    const r1 = run();
    expect(r1.status, r1.stderr).toBe(0);
    expect(r1.stderr).toMatch(/^pktpath: wrote .* 2 namespaces/);
    checkSnapshot(out);
    const r2 = run();
    expect(r2.status).toBe(2);
    expect(r2.stderr).toMatch(/not empty; pass --force/);
    const r3 = run('--force');
    expect(r3.status, r3.stderr).toBe(0);
    checkSnapshot(out);
  }, 400_000);
}, 600_000);

// ---------------------------------------------------------------------------------------------
// A fake host: no root, no kernel. Pins down warnings, the required files and the output directory.

interface FakeOptions {
  missing?: string[];
  outputs?: Record<string, string>;
  fail?: Record<string, string>;
  /** Names that exist under /run/netns. */
  namespaces?: string[];
  files?: Record<string, string>;
  dirs?: Record<string, string[]>;
}

const FAKE_LINKS = JSON.stringify([
  { ifindex: 1, ifname: 'lo', num_rx_queues: 1 },
  { ifindex: 2, ifname: 'eth0', num_rx_queues: 1, parentbus: 'virtio', parentdev: 'virtio2' },
]);
const PCI = '/sys/devices/pci0000:00/0000:00:03.0';

function fakeHost(o: FakeOptions = {}): HostAccess {
  const outputs: Record<string, string> = {
    'ip -j -d link show': FAKE_LINKS,
    'ip -j addr show': '[]\n',
    'ip -j -4 route show table all': '[{"dst":"192.0.2.0/24","dev":"eth0"}]\n',
    'ip -j -6 route show table all': '',
    'iptables-save': '# Generated by iptables-save\n',
    nproc: '2\n',
    ...o.outputs,
  };
  const files: Record<string, string> = {
    '/proc/interrupts':
      '           CPU0       CPU1\n' +
      ' 37:          0          0 PCI-MSIX-0000:00:03.0   0-edge      virtio2-config\n' +
      ' 38:          0       2671 PCI-MSIX-0000:00:03.0   1-edge      virtio2-input.0\n' +
      ' 39:       2001          0 PCI-MSIX-0000:00:03.0   2-edge      virtio2-output.0\n' +
      'NMI:          0          0   Non-maskable interrupts\n',
    '/proc/irq/38/smp_affinity_list': '1\n',
    '/proc/irq/39/smp_affinity_list': '0\n',
    '/sys/class/net/lo/queues/rx-0/rps_cpus': '0\n',
    '/sys/class/net/eth0/queues/rx-0/rps_cpus': '3\n',
    ...o.files,
  };
  const dirs: Record<string, string[]> = { [`${PCI}/msi_irqs`]: ['37', '38', '39'], ...o.dirs };
  return {
    which: (tool) => (o.missing?.includes(tool) ? null : `/fake/${tool}`),
    async run(argv): Promise<RunResult> {
      // `ip netns exec NAME /fake/tool args` is looked up as "NAME: tool args", then as "tool args".
      const inNs = argv[0] === '/fake/ip' && argv[1] === 'netns' && argv[2] === 'exec';
      const cmd = (inNs ? argv.slice(4) : argv).join(' ').replace(/^\/fake\//, '');
      for (const key of inNs ? [`${argv[3]}: ${cmd}`, cmd] : [cmd]) {
        if (o.fail?.[key] !== undefined) return { status: 'failed', code: 1, stdout: Buffer.alloc(0), stderr: o.fail[key]! };
        if (outputs[key] !== undefined) return { status: 'ok', code: 0, stdout: Buffer.from(outputs[key]!), stderr: '' };
      }
      return { status: 'ok', code: 0, stdout: Buffer.alloc(0), stderr: '' };
    },
    readFile: (p) => files[p] ?? null,
    readDir: (p) => dirs[p] ?? null,
    realpath: (p) => (p === '/sys/bus/virtio/devices/virtio2' ? `${PCI}/virtio2` : null),
    nsInode: (p) => (o.namespaces?.includes(p.replace('/run/netns/', '')) ? 1 : null),
    uid: () => 0,
  };
}

describe('writeSnapshot on a fake host', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ppsnap-fake-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('records missing and failing optional tools as warnings and writes the rest', async () => {
    const out = join(dir, 'warn');
    const r = await writeSnapshot({
      out,
      host: fakeHost({ missing: ['nft', 'ethtool'], fail: { 'ss -H -tuanp': 'Cannot open netlink socket: Permission denied' } }),
      now: new Date('2026-11-27T21:00:00.123Z'),
    });
    expect(r.meta).toMatchObject({ format: 'pktpath-snapshot', version: 1, created: '2026-11-27T21:00:00Z', namespaces: ['host'], root: 'host' });
    expect(r.warnings).toContain('ns/host/nft.json: nft not installed');
    expect(r.warnings).toContain('ns/host/nft.txt: nft not installed');
    expect(r.warnings.some((w) => w.startsWith('ns/host/sockets.txt: `ss -H -tuanp` failed: Cannot open netlink socket'))).toBe(true);
    expect(r.warnings.some((w) => w.startsWith('ns/host/ethtool: ethtool not installed'))).toBe(true);
    expect((readJson(join(out, 'snapshot.json')) as Obj).warnings).toEqual(r.warnings);
    const files = readdirSync(join(out, 'ns', 'host')).sort();
    expect(files).toEqual(['addr.json', 'cpus.txt', 'link.json', 'route4.json']); // empty outputs: no file
    expect(readFileSync(join(out, 'ns', 'host', 'link.json'), 'utf8')).toBe(FAKE_LINKS);
    expect(readFileSync(join(out, 'ns', 'host', 'cpus.txt'), 'utf8')).toBe(
      '# nproc\n2\n# <irq> <dev-queue> <smp_affinity_list>\n38 eth0:virtio2-input.0 1\n39 eth0:virtio2-output.0 0\n' +
        '# <dev-queue> <rps_cpus>\nlo:rx-0 0\neth0:rx-0 3\n',
    );
    expect(r.counts).toMatchObject({ namespaces: 1, devices: 2, routes: 1, rules: 0, nftTables: 0, iptablesTables: 0, sockets: 0 });
  });

  it('fails when link.json cannot be read, and leaves nothing behind', async () => {
    const out = join(dir, 'fail');
    const p = writeSnapshot({ out, host: fakeHost({ fail: { 'ip -j -d link show': 'RTNETLINK answers: Operation not permitted' } }) });
    await expect(p).rejects.toThrow(ConfigError);
    await expect(writeSnapshot({ out, host: fakeHost({ outputs: { 'ip -j addr show': 'not json' } }) })).rejects.toThrow(/addr\.json: `ip -j addr show` did not print valid JSON/);
    expect(readdirSync(dir).filter((f) => f.startsWith('fail'))).toEqual([]);
  });

  it('refuses a non-empty OUTDIR without --force, and a non-snapshot one even with it', async () => {
    const out = join(dir, 'busy');
    mkdirSync(out);
    writeFileSync(join(out, 'keep.txt'), 'precious');
    await expect(writeSnapshot({ out, host: fakeHost() })).rejects.toThrow(/not empty; pass --force/);
    await expect(writeSnapshot({ out, host: fakeHost(), force: true })).rejects.toThrow(/not a pktpath snapshot/);
    expect(readFileSync(join(out, 'keep.txt'), 'utf8')).toBe('precious');

    const snap = join(dir, 'again');
    await writeSnapshot({ out: snap, host: fakeHost() });
    await expect(writeSnapshot({ out: snap, host: fakeHost() })).rejects.toThrow(UsageError);
    const r = await writeSnapshot({ out: snap, host: fakeHost(), force: true, now: new Date('2030-01-01T00:00:00Z') });
    expect((readJson(join(snap, 'snapshot.json')) as Obj).created).toBe('2030-01-01T00:00:00Z');
    expect(r.warnings).toEqual([]);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp-') || f.includes('.old-'))).toEqual([]);
  });

  it('refuses to capture nothing, and a namespace named like the root folder', async () => {
    await expect(writeSnapshot({ out: join(dir, 'none'), root: false, host: fakeHost() })).rejects.toThrow(/nothing to capture/);
    const host = fakeHost({ outputs: { 'ip -j netns list': '[{"name":"host","id":0}]\n' } });
    await expect(writeSnapshot({ out: join(dir, 'clash'), netns: ['host'], host })).rejects.toThrow(/--root-name/);
  });

  it('skips a namespace that --all-netns found but that vanished, and fails for one asked by name', async () => {
    const o: FakeOptions = {
      outputs: { 'ip -j netns list': '[{"name":"c1","id":0},{"name":"gone"}]\n' },
      fail: { 'gone: ip -j -d link show': 'Cannot open network namespace "gone": No such file or directory' },
      namespaces: ['c1'],
    };
    const r = await writeSnapshot({ out: join(dir, 'churn'), allNetns: true, host: fakeHost(o) });
    expect(r.meta.namespaces).toEqual(['host', 'c1']);
    expect(r.warnings).toContain('ns/gone: namespace deleted during the snapshot; not captured');
    expect(readdirSync(join(dir, 'churn', 'ns')).sort()).toEqual(['c1', 'host']);
    expect(r.counts.devices).toBe(4);
    await expect(writeSnapshot({ out: join(dir, 'churn2'), netns: ['gone'], host: fakeHost(o) })).rejects.toThrow(/ns\/gone\/link\.json: .*No such file/);
    await expect(writeSnapshot({ out: join(dir, 'churn2'), host: fakeHost({ outputs: { 'ip -j -d link show': '' } }) })).rejects.toThrow(/printed nothing/);
  });

  it('reads /proc/sys/net when sysctl is not installed, naming keys as sysctl does', async () => {
    const host = fakeHost({
      missing: ['sysctl'],
      dirs: { '/proc/sys/net': ['ipv4'], '/proc/sys/net/ipv4': ['ip_forward', 'conf'], '/proc/sys/net/ipv4/conf': ['eth0.100'], '/proc/sys/net/ipv4/conf/eth0.100': ['rp_filter'] },
      files: { '/proc/sys/net/ipv4/ip_forward': '1\n', '/proc/sys/net/ipv4/conf/eth0.100/rp_filter': '2\n' },
    });
    const r = await writeSnapshot({ out: join(dir, 'nosysctl'), host });
    expect(readFileSync(join(dir, 'nosysctl', 'ns', 'host', 'sysctl.txt'), 'utf8')).toBe('net.ipv4.conf.eth0/100.rp_filter = 2\nnet.ipv4.ip_forward = 1\n');
    expect(r.warnings).toContain('ns/host/sysctl.txt: sysctl not installed; read /proc/sys/net directly');
  });

  it('parses /proc/interrupts action names', () => {
    const m = parseInterrupts('  CPU0 CPU1\n 24: 1 0 IO-APIC 5-edge ACPI:Ged\n 50: 3 4 PCI-MSI-edge eth0-TxRx-0\nLOC: 1 2 Local timer\n');
    expect([...m]).toEqual([[24, 'ACPI:Ged'], [50, 'eth0-TxRx-0']]);
  });
});
