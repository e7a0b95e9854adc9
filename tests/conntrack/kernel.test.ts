/**
 * The model against the real kernel.
 *
 * How it was checked: tests/conntrack/kernel/ctlab.py builds three throwaway namespaces
 * (ppct-<pid>-c / -r / -s; client 192.0.2.2-4, router 192.0.2.1 + 198.51.100.1 with ip_forward and
 * conntrack, server 198.51.100.2), sends each scenario's crafted packets from c or s through raw
 * sockets, and after every packet records the router's `conntrack -L`, `conntrack -S`, per-`ct state`
 * nft counters in its forward chain, and the frames that left the router (AF_PACKET on c0/s0). The
 * recordings in tests/conntrack/kernel/recorded/ were made on Linux 6.18.44 (conntrack-tools 1.4.7,
 * nftables 1.0.6). This file replays the same bytes through ModelRouter (conntrack + NAT at the
 * kernel's hook points) and requires, after every packet:
 *   - the same `conntrack -L` lines (state, flags, tuples; timeouts within 1 s),
 *   - the same ct state classification counts (new / established / related / invalid / untracked),
 *   - the same conntrack -S invalid / error / drop / insert_failed / early_drop,
 *   - byte-identical forwarded packets (NAT rewrites and incremental checksums included).
 * Random NAT choices (get_random_u16) are checked twice: once with the model choosing (the port must
 * come from the kernel's range), once adopting the kernel's observed choice (nfNatAdopt) so every
 * later packet can still be compared byte for byte.
 *
 * When run as root with ip/nft/conntrack/python3 available, the "live" suite re-runs every scenario on
 * this machine's kernel (CTLAB=0 disables it; CTLAB_RECORD=1 rewrites the recordings).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { formatConntrack, formatTuple } from '../../src/stack/conntrack/index.js';
import { ModelRouter, hex, toHex } from './helpers.js';
import { SCENARIOS, type Scenario } from './kernel/scenarios.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const LAB = join(HERE, 'kernel', 'ctlab.py');
const RECORDED = join(HERE, 'kernel', 'recorded');

interface KStep {
  t: number;
  tList: number;
  sent: string;
  ct: string[];
  counters: Record<string, number>;
  stats: Record<string, number>;
  rx: { c: string[]; s: string[] };
}
interface KRun { kernel: string; steps: KStep[] }

/**
 * Split a conntrack -L line into (line without the timeout, timeout). `use=` is the reference count:
 * a packet parked in neighbour resolution holds one more (use=2), which the model doesn't track.
 */
function splitTimeout(line: string): [string, number] {
  const tok = line.trim().split(/\s+/);
  const to = Number(tok[2]);
  tok[2] = '_';
  return [tok.join(' ').replace(/ use=\d+$/, ' use=_'), to];
}

function compareLines(kernel: string[], model: string[], where: string): void {
  const k = kernel.map(splitTimeout).sort((a, b) => a[0].localeCompare(b[0]));
  const m = model.map(splitTimeout).sort((a, b) => a[0].localeCompare(b[0]));
  expect(m.map((x) => x[0]), where).toEqual(k.map((x) => x[0]));
  for (let i = 0; i < k.length; i++) {
    expect(Math.abs(m[i]![1] - k[i]![1]), `${where}: timeout of ${k[i]![0]} kernel ${k[i]![1]} model ${m[i]![1]}`)
      .toBeLessThanOrEqual(1);
  }
}

/** The mapped source port (or ICMP id) of a flow from its conntrack -L line: the reply's dport / id. */
function mappedPort(line: string): number {
  const all = [...line.matchAll(/(?:dport|id)=(\d+)/g)].map((x) => Number(x[1]));
  return all.length > 0 ? all[all.length - 1]! : -1;
}

const STATS = ['invalid', 'error', 'drop', 'insert_failed', 'early_drop'] as const;

/** Replay a kernel run through the model and compare step by step. */
function replay(sc: Scenario, run: KRun, mode: 'adopt' | 'choose'): void {
  const m = new ModelRouter({ seed: 0x51ed }, sc.dnat ?? null, sc.snat ?? null);
  const rand = mode === 'choose' ? (sc.random ?? []) : [];
  const isRandom = (line: string): boolean => rand.some((r) => line.includes(r.match));
  const sent = sc.steps.filter((s) => s.op !== 'sleep') as Array<{ side: 'c' | 's' }>;
  for (let i = 0; i < run.steps.length; i++) {
    const k = run.steps[i]!;
    const where = `${sc.name} step ${i} (${mode})`;
    // The frame that left the router on the other side, if any (none: dropped or never resolved).
    const egress = sent[i]!.side === 'c' ? k.rx.s[0] : k.rx.c[0];
    const out = m.forward(hex(k.sent), k.t, mode === 'adopt' && egress ? hex(egress) : null);
    const conn = m.res.conn;
    const lines = [...m.table.entries()].map((c) => formatConntrack(c, k.tList));
    compareLines(k.ct.filter((l) => !isRandom(l)), lines.filter((l) => !isRandom(l)), where);
    for (const r of rand) {
      const kl = k.ct.find((l) => l.includes(r.match));
      const ml = lines.find((l) => l.includes(r.match));
      expect(ml === undefined, `${where}: ${r.match} present`).toBe(kl === undefined);
      if (kl && ml) {
        for (const [who, l, all] of [['kernel', kl, k.ct], ['model', ml, lines]] as const) {
          const port = mappedPort(l);
          expect(port, `${where}: ${who} picked ${port} for ${r.match}`).toBeGreaterThanOrEqual(r.min);
          expect(port, `${where}: ${who} picked ${port} for ${r.match}`).toBeLessThanOrEqual(r.max);
          if (r.sameAs !== undefined) {
            const first = all.find((x) => x.includes(r.sameAs!));
            expect(port, `${where}: ${who} reuses the mapping of ${r.sameAs}`).toBe(mappedPort(first ?? ''));
          }
        }
      }
    }
    expect({ ...m.counters }, `${where}: ct state counters`).toEqual(k.counters);
    for (const s of STATS) expect(m.table.stats[s], `${where}: conntrack -S ${s}`).toBe(k.stats[s] ?? 0);
    if (mode === 'choose' && rand.length === 0) expect(m.table.stats.found, `${where}: found`).toBe(k.stats.found ?? 0);
    const randomFlow = conn !== null && isRandom(formatTuple(conn.orig) + ' ');
    if (egress !== undefined && !randomFlow) {
      expect(out === null ? null : toHex(out), `${where}: forwarded bytes`).toBe(egress);
    }
  }
}

function loadRecorded(name: string): KRun | null {
  const f = join(RECORDED, `${name}.json`);
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as KRun) : null;
}

describe('model vs recorded kernel runs (Linux 6.18.44)', () => {
  for (const sc of SCENARIOS) {
    const run = loadRecorded(sc.name);
    test.skipIf(run === null)(`${sc.name}: ${sc.about}`, () => {
      expect(run!.steps.length).toBe(sc.steps.filter((s) => s.op !== 'sleep').length);
      replay(sc, run!, 'adopt');
      replay(sc, run!, 'choose');
    });
  }
});

/** Can we build namespaces here? (root, tools, and CAP_SYS_ADMIN in practice) */
function labAvailable(): string {
  if (process.env.CTLAB === '0') return 'CTLAB=0';
  if (process.getuid?.() !== 0) return 'not root';
  for (const tool of ['ip', 'nft', 'conntrack', 'python3']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} missing`;
  }
  const probe = `ppct-probe-${process.pid}`;
  const ok = spawnSync('ip', ['netns', 'add', probe]).status === 0;
  spawnSync('ip', ['netns', 'del', probe]);
  return ok ? '' : 'cannot create network namespaces';
}

const why = labAvailable();
if (why !== '') console.log(`conntrack kernel lab skipped: ${why}`);

describe.skipIf(why !== '')('model vs this machine\'s kernel (live)', () => {
  for (const sc of SCENARIOS) {
    test(sc.name, () => {
      const steps = sc.steps;
      const r = spawnSync('python3', [LAB], {
        input: JSON.stringify({ routerNft: sc.routerNft, steps }),
        encoding: 'utf8',
        timeout: 120_000,
      });
      expect(r.status, r.stderr).toBe(0);
      const run = JSON.parse(r.stdout) as KRun;
      if (process.env.CTLAB_RECORD === '1') {
        mkdirSync(RECORDED, { recursive: true });
        writeFileSync(join(RECORDED, `${sc.name}.json`), JSON.stringify(run, null, 1) + '\n');
      }
      replay(sc, run, 'adopt');
      replay(sc, run, 'choose');
    });
  }
});
