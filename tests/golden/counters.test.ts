/**
 * Counters after each oracle scenario: every nft rule counter (`nft list ruleset` after the traffic,
 * state/host/nft-ruleset.nft) and every device's `ip -s link` RX/TX packets and bytes
 * (state/host/link-stats.json) equal the model's.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadWorld } from '../../src/stack/world_load.js';
import { runReplay, parseInputArg } from '../../src/workers/replay.js';
import { Summary } from '../../src/trace/summary.js';

const shared = resolve(__dirname, '../../../shared/oracle');
const scen = existsSync(shared) ? readdirSync(shared).filter((d) => existsSync(join(shared, d, 'state', 'host', 'nft-ruleset.nft'))) : [];

describe('rule and device counters equal the kernel\'s', () => {
  it.skipIf(scen.length === 0)(`(${scen.join(', ') || 'skipped: ../shared/oracle not present'})`, () => {
    for (const s of scen) {
      const tdir = join(shared, s, 'truth');
      const world = loadWorld(join(tdir, 'world'), { allowUnsupported: false });
      const summary = new Summary(world);
      const inputs = readdirSync(join(tdir, 'inputs')).filter((f) => f.endsWith('.pcap')).sort().map((f) => `${join(tdir, 'inputs', f)}@host:${f.slice(0, -5)}`);
      const stats = runReplay(world, inputs.map(parseInputArg), {
        datapath: { verifyChecksums: true, trace: false, allowUnsupported: false, seed: 1 },
        limit: 0,
        onRecord: (r) => summary.add(r),
        onDone: (dp) => summary.finish({ firstTs: '', lastTs: '' }, dp),
      });
      expect(stats.packets).toBeGreaterThan(0);
      // nft: "... counter packets N bytes M ... # handle H" inside "table F T { chain C {".
      const nft = readFileSync(join(shared, s, 'state', 'host', 'nft-ruleset.nft'), 'utf8');
      let table = '', chain = '';
      let compared = 0;
      for (const line of nft.split('\n')) {
        const t = /^table (\S+) (\S+)/.exec(line);
        if (t) table = `${t[1]} ${t[2]}`;
        const c = /^\s*chain (\S+) \{/.exec(line);
        if (c) chain = c[1];
        const r = /counter packets (\d+) bytes (\d+).*# handle (\d+)/.exec(line);
        if (!r) continue;
        const mine = summary.rules.find((x) => `${x.family} ${x.table}` === table && x.chain === chain && x.handle === Number(r[3]));
        expect({ s, table, chain, handle: Number(r[3]), packets: mine?.packets ?? 0, bytes: mine?.bytes ?? 0 }).toEqual({ s, table, chain, handle: Number(r[3]), packets: Number(r[1]), bytes: Number(r[2]) });
        compared++;
      }
      expect(compared).toBeGreaterThan(0);
      const links = JSON.parse(readFileSync(join(shared, s, 'state', 'host', 'link-stats.json'), 'utf8')) as Array<{ ifname: string; stats64: { rx: { packets: number; bytes: number }; tx: { packets: number; bytes: number } } }>;
      for (const l of links) {
        const d = world.byName.get('host')!.byName.get(l.ifname);
        if (!d || d.kind === 'loopback') continue;
        expect({ s, dev: l.ifname, rx: [d.stats.rxPackets, d.stats.rxBytes], tx: [d.stats.txPackets, d.stats.txBytes] }).toEqual({ s, dev: l.ifname, rx: [l.stats64.rx.packets, l.stats64.rx.bytes], tx: [l.stats64.tx.packets, l.stats64.tx.bytes] });
      }
    }
  });
});
