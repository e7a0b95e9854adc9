/**
 * `world show` of every oracle snapshot prints the same routes the kernel's `ip route show table all`
 * printed (config/host/route.txt), the same addresses as `ip -j addr`, and every nft chain.
 */
import { describe, expect, it } from 'vitest';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadWorld } from '../../src/stack/world_load.js';
import { formatWorld } from '../../src/trace/format_world.js';

const root = resolve(__dirname, '../..');
const shared = resolve(root, '../shared/oracle');
const scen = existsSync(shared) ? readdirSync(shared).filter((d) => existsSync(join(shared, d, 'config', 'host', 'route.txt'))) : [];

describe('world show', () => {
  it.skipIf(scen.length === 0)(`matches the kernel's ip/nft output (${scen.join(', ') || 'skipped: ../shared/oracle not present'})`, () => {
    for (const s of scen) {
      const text = formatWorld(loadWorld(join(shared, s, 'truth', 'world'), { allowUnsupported: false }));
      const kernelRoutes = readFileSync(join(shared, s, 'config', 'host', 'route.txt'), 'utf8').split('\n').map((l) => l.trim()).filter(Boolean);
      const lines = new Set(text.split('\n').map((l) => l.trim()));
      for (const r of kernelRoutes) expect(lines.has(r), `${s}: route "${r}"`).toBe(true);
      const addrs = JSON.parse(readFileSync(join(shared, s, 'config', 'host', 'addr.json'), 'utf8')) as Array<{ ifname: string; addr_info: Array<{ family: string; local: string; prefixlen: number }> }>;
      for (const a of addrs) for (const ai of a.addr_info) if (ai.family === 'inet') expect(text).toContain(`${ai.local}/${ai.prefixlen}`);
      const nft = readFileSync(join(shared, s, 'config', 'host', 'nft-ruleset.nft'), 'utf8');
      const chains = [...nft.matchAll(/^\s*chain (\S+) \{/gm)].map((m) => m[1]);
      for (const c of chains) expect(text).toMatch(new RegExp(`chain ${c}[ :]`));
      const ruleCount = (nft.match(/# handle \d+\s*$/gm) ?? []).length - chains.length - (nft.match(/^table .*# handle/gm) ?? []).length;
      const shown = [...text.matchAll(/: (\d+) rule\(s\)/g)].reduce((n, m) => n + Number(m[1]), 0);
      expect(shown, `${s}: rule count`).toBe(ruleCount);
    }
  });

  it('shows the bundled demo world with its edges', () => {
    const text = formatWorld(loadWorld(join(root, 'captures', 'oracle-docker-egress', 'world'), { allowUnsupported: false }));
    expect(text).toContain('host:eth0 host:vethc1');
    expect(text).toContain('chain postrouting { type nat hook postrouting priority 100; policy accept; }: 1 rule(s)');
  });
});
