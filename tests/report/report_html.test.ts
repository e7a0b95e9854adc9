/**
 * `--report FILE.html` (src/trace/report_html.ts): built from the real records of the bundled demo
 * capture (replayed by the built CLI with --trace JSONL), checked for content and escaping, kept bounded
 * on a synthetic stream, then loaded in headless Chromium: no console message or exception, no fetch,
 * the inline script ran, the screenshot is not blank.
 *
 * Artifacts (HTML, PNG) are kept in $PKTPATH_REPORT_OUT or <tmpdir>/pktpath-report-test for a look.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HtmlReport, esc, type ReportWorld } from '../../src/trace/report_html.js';
import type { TraceRecord } from '../../src/trace/schema.js';
import { loadWorld } from '../../src/stack/world_load.js';

const ROOT = join(import.meta.dirname, '../..');
const DEMO = join(ROOT, 'captures/oracle-docker-egress');
const OUT = process.env.PKTPATH_REPORT_OUT ?? join(tmpdir(), 'pktpath-report-test');
mkdirSync(OUT, { recursive: true });
const work = mkdtempSync(join(tmpdir(), 'pktpath-report-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

const cli = join(ROOT, 'dist/cli/main.js');
const cliWorks = existsSync(cli) && spawnSync(process.execPath, [cli, 'replay', '--help'], { stdio: 'ignore' }).status === 0;
if (!cliWorks) console.warn(`tests/report: skipping the demo-capture tests: the built CLI ${cli} is missing or broken (run npm run build)`);

const CHROMIUM = process.env.CHROMIUM ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => existsSync(p)) ?? '';
const hasChromium = CHROMIUM !== '' && spawnSync(CHROMIUM, ['--version'], { stdio: 'ignore', timeout: 30_000 }).status === 0;
if (!hasChromium) console.warn('tests/report: skipping the browser checks: no working Chromium (apt-get install -y chromium, or set CHROMIUM=/path/to/chrome)');

// ---- the demo capture, replayed by the built CLI ----------------------------------------------------

interface DemoRun {
  records: TraceRecord[];
  summary: Record<string, any>;
  world: ReportWorld;
  html: string;
  report: HtmlReport;
}
let demo: DemoRun;

/** The record of the demo capture whose rule text gets a hostile twin (quotes, <, &). */
const HOSTILE_RULE = `iifname "br0" ip saddr != 10.0.0.0/8 meta mark < 0x10 log prefix "</script><b x='1'>&amp;" drop`;

beforeAll(() => {
  if (!cliWorks) return;
  const trace = join(work, 'demo.jsonl'), sum = join(work, 'demo.summary.json');
  const res = spawnSync(process.execPath, [cli, 'replay', '--world', join(DEMO, 'world'),
    `${join(DEMO, 'inputs/eth0.pcap')}@host:eth0`, `${join(DEMO, 'inputs/vethc1.pcap')}@host:vethc1`, '--trace', trace, '--summary', sum, '-q'], { encoding: 'utf8' });
  expect([res.status, res.stderr]).toEqual([0, '']);
  const records = readFileSync(trace, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as TraceRecord);
  const summary = JSON.parse(readFileSync(sum, 'utf8'));
  // The real world (device kinds), with the counters the CLI's replay left (the summary has them).
  const world = loadWorld(join(DEMO, 'world'), { allowUnsupported: false });
  for (const d of summary.devices) Object.assign(world.byName.get(d.ns)!.byName.get(d.dev)!.stats, d);
  const report = new HtmlReport({
    title: 'pktpath <demo> & "oracle-docker-egress"',
    world,
    warnings: ['rule "x" uses <unsupported> & was accepted with --allow-unsupported'],
    meta: [['World', 'captures/oracle-docker-egress/world'], ['Captures', 'eth0.pcap@host:eth0 vethc1.pcap@host:vethc1']],
  });
  for (const r of records) report.add(r);
  const html = report.render(summary);
  writeFileSync(join(OUT, 'demo.html'), html);
  demo = { records, summary, world, html, report };
});

/** Text of a table's rows under the <caption>: cells with tags stripped and entities decoded. */
function rows(html: string, caption: string): string[][] {
  const i = html.indexOf(`<caption>${esc(caption)}</caption>`);
  if (i < 0) return [];
  const body = html.slice(html.indexOf('<tbody>', i), html.indexOf('</tbody>', i));
  return [...body.matchAll(/<tr>(.*?)<\/tr>/g)].map((m) => [...m[1].matchAll(/<td[^>]*>(.*?)<\/td>/g)].map((c) => unesc(c[1].replace(/<[^>]+>/g, ''))));
}

function unesc(s: string): string {
  return s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
}

/** <title>s of the diagram's nodes and edges, decoded. */
function svgTitles(html: string, cls: 'node' | 'e'): string[] {
  const svg = html.slice(html.indexOf('<svg id="path-svg"'), html.indexOf('</svg>', html.indexOf('<svg id="path-svg"')));
  const re = cls === 'node' ? /<g class="node[^"]*"[^>]*><title>(.*?)<\/title>/g : /<g class="e[^"]*"[^>]*><title>(.*?)<\/title>/g;
  return [...svg.matchAll(re)].map((m) => unesc(m[1]));
}

describe.skipIf(!cliWorks)('HTML report of the demo capture (records from the built CLI)', () => {
  it('counts packets by verdict as the summary does', () => {
    const { html, summary, records } = demo;
    expect(records).toHaveLength(24);
    const verdicts = Object.fromEntries(rows(html, 'Packets by verdict').map((r) => [r[0], Number(r[1])]));
    expect(verdicts).toEqual(summary.verdicts);
    expect(verdicts).toEqual({ transmitted: 16, consumed: 4, dropped: 4 });
    expect(html).toContain('<div class="k">packets</div><div class="v">24</div>');
  });

  it('draws a path whose every packet enters at its device and ends at one fate', () => {
    const { html, records } = demo;
    const nodes = svgTitles(html, 'node');
    const edges = svgTitles(html, 'e');
    const count = (t: string) => Number(/: ([\d,]+) packet\(s\)/.exec(t)![1].replace(/,/g, ''));
    // Ingress nodes: as many packets as entered on each device.
    const rx = (dev: string) => records.filter((r) => r.in.dev === dev).length;
    expect(nodes.find((t) => t.startsWith('vethc1 (ingress, veth)'))).toBe(`vethc1 (ingress, veth): ${rx('vethc1')} packet(s), first #0`);
    expect(nodes.find((t) => t.startsWith('eth0 (ingress'))).toMatch(new RegExp(`: ${rx('eth0')} packet\\(s\\), first #2$`));
    // Fates: each node's packets all arrive by its edges; all fates together are all the packets.
    const fates = nodes.filter((t) => /^(transmitted|delivered|consumed|dropped|unmodelled)/.test(t));
    let total = 0;
    for (const f of fates) {
      const name = f.includes(' — ') ? f.slice(0, f.indexOf(' — ')) : f.slice(0, f.lastIndexOf(': ', f.indexOf(' packet(s)')));
      const incoming = edges.filter((e) => e.includes(` → ${name}: `));
      expect(incoming.length, f).toBeGreaterThan(0);
      expect(incoming.reduce((n, e) => n + count(e), 0), f).toBe(count(f));
      total += count(f);
    }
    expect(total).toBe(records.length);
    expect(nodes).toContain('transmitted on eth0: 9 packet(s), first #1');
    expect(nodes).toContain('dropped: NETFILTER_DROP at forward · ip filter forward — tcp dport 25 counter drop: 3 packet(s), first #18');
    // Edges follow the steps: forwarded TCP/UDP/ICMP from the container pass routing → forward → postrouting.
    expect(edges).toContain('routing (decision) → forward (IP hook): 20 packet(s) (16 transmitted, 4 dropped)');
    expect(edges).toContain('forward (IP hook) → dropped: NETFILTER_DROP at forward · ip filter forward: 3 packet(s) (3 dropped)');
    expect(edges.some((e) => e.startsWith('vethc1 (ingress, veth) → prerouting (bridge hook): 15 packet(s)'))).toBe(true);
    // Every edge has a visible count label.
    expect((html.match(/<text class="elabel"/g) ?? []).length).toBe(edges.length);
  });

  it('lists drops by reason and place with the first packet', () => {
    const { html, summary } = demo;
    const drops = rows(html, 'Drops by reason and place');
    expect(drops).toEqual([
      ['NETFILTER_DROP', 'host', 'forward', 'ip filter forward', 'tcp dport 25 counter drop (handle 3)', '3', '#18'],
      ['NEIGH_FAILED', 'host', 'neigh_invalidate', 'dev eth0', 'no ARP reply from 198.51.100.99 after 3 probes', '1', '#21'],
    ]);
    expect(drops.reduce((n, r) => n + Number(r[5]), 0)).toBe(summary.verdicts.dropped);
    // The first packet links to its example trace.
    expect(html).toContain('<a href="#p18">#18</a>');
    expect(html).toMatch(/<details id="p18"><summary>#18 .*first drop: NETFILTER_DROP/);
  });

  it('lists NAT bindings with the translated tuple, also when the first packet was dropped later', () => {
    const { html, summary } = demo;
    const nat = rows(html, 'NAT bindings created (before → after)');
    expect(nat).toEqual([
      ['#1', 'host', 'snat', 'postrouting', 'tcp', '172.17.0.2:40001 > 198.51.100.1:7000', '→', '198.51.100.2:40001 > 198.51.100.1:7000', '1'],
      ['#12', 'host', 'snat', 'postrouting', 'udp', '172.17.0.2:40002 > 198.51.100.1:5353', '→', '198.51.100.2:40002 > 198.51.100.1:5353', '2'],
      ['#14', 'host', 'snat', 'postrouting', 'icmp', '172.17.0.2 > 198.51.100.1 id 15476', '→', '198.51.100.2 > 198.51.100.1 id 15476', '3'],
      ['#21', 'host', 'snat', 'postrouting', 'icmp', '172.17.0.2 > 198.51.100.99 id 15485', '→', '198.51.100.2 > 198.51.100.99 id 15485', '7'],
    ]);
    expect(nat).toHaveLength(summary.nat_bindings.length);
    expect(rows(html, 'NAT bindings by translated address')).toEqual([['host', 'snat', 'postrouting', '198.51.100.2', '4']]);
  });

  it('shows device counters, top flows, conntrack buckets and warnings', () => {
    const { html, summary } = demo;
    const devs = rows(html, 'Per-device counters');
    expect(devs.map((r) => [r[0], r[1], r[2]])).toEqual([['host', 'lo', 'loopback'], ['host', 'eth0', 'veth'], ['host', 'br0', 'bridge'], ['host', 'vethc1', 'veth']]);
    for (const d of summary.devices) {
      const r = devs.find((x) => x[1] === d.dev)!;
      expect(r.slice(3).map((v) => Number(v.replace(/,/g, '')))).toEqual([d.rxPackets, d.rxBytes, d.rxDropped, d.txPackets, d.txBytes, d.txDropped]);
    }
    const flows = rows(html, 'Top flows');
    expect(flows[0]).toEqual(['tcp 172.17.0.2:40001 > 198.51.100.1:7000', '6', '421', '0', '#1']);
    expect(flows.find((r) => r[0] === 'tcp 172.17.0.2:40004 > 198.51.100.1:25')).toEqual(['tcp 172.17.0.2:40004 > 198.51.100.1:25', '3', '222', '3', '#18']);
    // ct ids 1..7 (4, 5, 6: the three dropped SYNs, each a new unconfirmed entry).
    expect(html).toContain('7 distinct connection(s) seen in all.');
    const ct = rows(html, 'Conntrack ids seen per time bucket');
    expect(ct.reduce((n, r) => n + Number(r[2]), 0)).toBe(7); // NEW
    expect(ct.reduce((n, r) => n + Number(r[3]), 0)).toBe(24);
    expect(html).toContain('<li>rule &quot;x&quot; uses &lt;unsupported&gt; &amp; was accepted with --allow-unsupported</li>');
  });

  it('escapes every text: titles, rule texts with quotes and <, warnings', () => {
    const { html, records, world } = demo;
    expect(html).toContain('<title>pktpath &lt;demo&gt; &amp; &quot;oracle-docker-egress&quot;</title>');
    expect(html).toContain('iifname &quot;br0&quot; oifname &quot;eth0&quot; counter accept');
    expect(html).not.toContain('iifname "br0"');

    // A drop at a rule whose text is hostile, on a copy of a real dropped record.
    const r = structuredClone(records[18]);
    r.index = 1000;
    (r.final as { where: { rule: string } }).where.rule = HOSTILE_RULE;
    for (const s of r.steps as Array<{ kind: string; rule?: string }>) if (s.kind === 'nf' && s.rule?.startsWith('3 ')) s.rule = `3 ${HOSTILE_RULE}`;
    const rep = new HtmlReport({ title: '<x>', world, warnings: [] });
    rep.add(r);
    const out = rep.render(null);
    expect(out).not.toContain('</script><b');
    expect(out).not.toContain("<b x='1'>");
    expect(out.match(/<script>/g)).toHaveLength(1);
    expect(rows(out, 'Drops by reason and place')[0][4]).toBe(`${HOSTILE_RULE} (handle 3)`);
    expect(out).toContain(esc(`3 ${HOSTILE_RULE}`)); // in the example trace
  });

  it('is self-contained: nothing to fetch', () => {
    const { html } = demo;
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/\b(src|srcset|xlink:href)=/);
    expect(html).not.toMatch(/href="(?!#)/);
    expect(html).not.toMatch(/url\(|@import|@font-face/);
    expect(html).toContain(`<meta http-equiv="Content-Security-Policy" content="default-src 'none';`);
  });
});

// ---- synthetic streams ----------------------------------------------------------------------------

function rec(index: number, o: Partial<TraceRecord> & { t?: number }): TraceRecord {
  const t = o.t ?? 1000 + index * 0.001;
  return {
    v: 1, index, ts: t.toFixed(9), in: o.in ?? { ns: 'host', dev: 'eth0' },
    pkt: o.pkt ?? { l3: 'ipv4', proto: 'udp', len: 60, src: '10.0.0.1', dst: '10.0.0.2', sport: 1, dport: 2 },
    steps: o.steps ?? [], final: o.final ?? { verdict: 'transmitted', ns: 'host', dev: 'eth1' }, nat: o.nat ?? [], ct: o.ct ?? null, emitted: o.emitted ?? [], problems: o.problems ?? [],
  };
}

const WORLD2: ReportWorld = {
  namespaces: ['host', 'ctr'].map((name) => ({
    name,
    devs: ['eth0', 'eth1', 'veth0'].map((d) => ({ name: d, kind: d.startsWith('veth') ? 'veth' : 'ether', stats: { rxPackets: 1, rxBytes: 2, rxDropped: 0, txPackets: 3, txBytes: 4, txDropped: 5 } })),
  })),
};

describe('HTML report on synthetic streams', () => {
  it('stays bounded over 200k packets with unique flows, connections, drop places and bindings', () => {
    const rep = new HtmlReport({ title: 'big', world: WORLD2, warnings: [] });
    const N = 200_000;
    const t0 = performance.now();
    for (let i = 0; i < N; i++) {
      const heavy = i % 10 === 0; // one flow with 10 % of the packets
      const dropped = i % 3 === 0, place = (i / 3) % 1500;
      const sport = heavy ? 9999 : 1024 + (i % 60000), src = heavy ? '10.9.9.9' : `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
      const pkt = { l3: 'ipv4', proto: 'tcp', len: 100, src, dst: '192.0.2.1', sport, dport: 443 };
      rep.add(rec(i, {
        t: 1000 + i * 0.0005,
        pkt,
        steps: [
          { kind: 'rx', ns: 'host', dev: 'eth0', pkttype: 'host' },
          { kind: 'ct', ns: 'host', state: 'NEW', dir: 'original', id: i + 1 },
          { kind: 'route', ns: 'host', table: 'main', rule: '', route: 'default', result: 'forward', oif: 'eth1' },
          { kind: 'nf', ns: 'host', family: 'ip', table: 'filter', chain: 'forward', hook: 'forward', prio: 0, rule: `${place} drop`, verdict: dropped ? 'drop' : 'accept' },
        ],
        final: dropped
          ? { verdict: 'dropped', ns: 'host', reason: 'NETFILTER_DROP', where: { family: 'ip', table: 'filter', chain: 'forward', rule: `tcp dport ${place} drop`, handle: place, base_chain: 'forward', hook: 'forward' } }
          : { verdict: 'transmitted', ns: 'host', dev: 'eth1' },
        nat: [{ kind: 'snat', ns: 'host', hook: 'postrouting', before: pkt, after: { ...pkt, src: '198.51.100.7' }, created: true }],
        ct: { state: 'NEW', dir: 'original', id: i + 1 },
      }));
    }
    const ms = performance.now() - t0;
    const f = rep.footprint();
    expect(f.packets).toBe(N);
    expect(f.flows).toBeLessThanOrEqual(2048);
    expect(f.natRows).toBe(200);
    expect(f.examples).toBeLessThanOrEqual(200);
    expect(f.dropRows).toBe(1000 + 1); // 1000 places + "(other)"
    expect(f.ctKeys).toBeLessThanOrEqual(120 * 1024 + 65536);
    expect(f.nodes).toBeLessThanOrEqual(600 + 1); // 1500 drop places as fates: capped, then one "other" node
    const html = rep.render({});
    expect(html.length).toBeLessThan(3_000_000);
    // The heavy flow survives the Misra–Gries evictions; counts are marked as lower bounds.
    const top = rows(html, 'Top flows')[0];
    expect(top[0]).toBe('tcp 10.9.9.9:9999 > 192.0.2.1:443');
    expect(Number(top[1].replace(/[≥ ,]/g, ''))).toBeGreaterThan(N / 10 - N / 2048);
    expect(html).toContain('top-flow counts are lower bounds');
    // Drops: the first 1000 places are exact, the rest add up in "(other)".
    const drops = rows(html, 'Drops by reason and place');
    expect(drops.reduce((n, r) => n + Number(r[5].replace(/,/g, '')), 0)).toBe(Math.ceil(N / 3));
    expect(drops.find((r) => r[0] === '(other)')).toBeDefined();
    // 200k connections over 100 s: every bucket holds > 1024 ids, so estimates within a few per cent.
    const ct = rows(html, 'Conntrack ids seen per time bucket');
    expect(html).toContain('HyperLogLog estimates');
    const estimated = ct.reduce((n, r) => n + Number(r[1].replace(/,/g, '')), 0);
    expect(Math.abs(estimated - N) / N).toBeLessThan(0.05);
    expect(ct.reduce((n, r) => n + Number(r[2].replace(/,/g, '')), 0)).toBe(N);
    console.log(`tests/report: 200k synthetic records aggregated in ${ms.toFixed(0)} ms`);
  });

  it('lays out several namespaces, a loop back into a namespace, records without steps and many fates', () => {
    const rep = new HtmlReport({ title: 'multi', world: WORLD2, warnings: [] });
    const via = (ns: string, dev: string) => [
      { kind: 'rx', ns, dev, pkttype: 'host' },
      { kind: 'nf', ns, family: 'ip', table: 'nat', chain: 'PREROUTING', hook: 'prerouting', prio: -100, rule: 'policy', verdict: 'policy-accept' },
      { kind: 'route', ns, table: 'main', rule: '', route: 'default', result: 'forward', oif: 'veth0' },
      { kind: 'forward', ns, ttl: 63 },
      { kind: 'neigh', ns, dev: 'veth0', addr: '10.0.0.2', state: 'REACHABLE', action: 'use' },
      { kind: 'tx', ns, dev: 'veth0', hdr: null },
      { kind: 'veth', from: `${ns}:veth0`, to: `${ns === 'host' ? 'ctr' : 'host'}:veth0` },
    ];
    let i = 0;
    // host → ctr → host's prerouting again (a loop), then delivered.
    for (let k = 0; k < 5; k++) rep.add(rec(i++, { steps: [...via('host', 'eth0'), ...via('ctr', 'veth0'), ...via('host', 'veth0').slice(0, 3), { kind: 'socket', ns: 'host', socket: 'udp *:53' }], final: { verdict: 'delivered', ns: 'host', socket: 'udp *:53 UNCONN' } }));
    // No steps (replay without tracing).
    rep.add(rec(i++, { in: { ns: 'ctr', dev: 'eth1' }, final: { verdict: 'consumed', ns: 'ctr', dev: 'eth1' } }));
    // 30 distinct drop fates: 14 drawn, the rest merged.
    for (let k = 0; k < 30; k++) rep.add(rec(i++, { steps: via('host', 'eth1').slice(0, 2), final: { verdict: 'dropped', ns: 'host', reason: `R${k}`, where: { stage: `stage<${k}>` } } }));
    rep.add(rec(i++, { final: { verdict: 'unmodelled', ns: 'host', dev: 'eth0', detail: 'IPv6' }, problems: ['bad-csum'] }));
    const html = rep.render(undefined);
    const nodes = svgTitles(html, 'node');
    expect(nodes).toContain('host eth0 (ingress, ether): 6 packet(s), first #0');
    expect(nodes).toContain('host eth1 (ingress, ether): 30 packet(s), first #6');
    expect(nodes).toContain('host prerouting (IP hook): 35 packet(s), first #0');
    expect(nodes).toContain('ctr veth0 (ingress, veth): 5 packet(s), first #0');
    expect(nodes).toContain('ctr prerouting (IP hook): 5 packet(s), first #0');
    expect(nodes).toContain('delivered to socket udp *:53 UNCONN (host): 5 packet(s), first #0');
    expect(nodes).toContain('19 other fates (in the tables below): 19 packet(s), first #18');
    expect(html).toMatch(/<g class="e[^"]* back"/); // the loop into host drawn back
    expect(html).toContain('2 of 37 records carry no steps');
    expect(html).toContain('Packet problem &quot;bad-csum&quot;: 1 packet(s), first #36.');
    expect(rows(html, 'Drops by reason and place')).toHaveLength(30);
    expect(html).toContain('stage&lt;7&gt;');
    writeFileSync(join(OUT, 'multi.html'), html);
  });

  it('renders an empty report', () => {
    const html = new HtmlReport({ title: 'empty', world: { namespaces: [] }, warnings: [] }).render(null);
    expect(html).toContain('<p class="muted">No packets.</p>');
    expect(html).toContain('</html>');
  });

  it('rejects bad options with a TypeError', () => {
    expect(() => new HtmlReport({ title: 1 } as never)).toThrow(TypeError);
    expect(() => new HtmlReport({ title: 't', world: {} } as never)).toThrow(TypeError);
  });
});

// ---- headless Chromium ------------------------------------------------------------------------------

/** Run Chromium on a file; its console messages and uncaught exceptions appear on stderr as `CONSOLE` lines. */
function chromium(file: string, extra: string[]): { stdout: string; console: string[]; status: number | null } {
  const profile = mkdtempSync(join(work, 'chromium-'));
  const res = spawnSync(CHROMIUM, ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`, '--enable-logging=stderr', '--v=0', '--hide-scrollbars', ...extra, `file://${file}`],
  { encoding: 'utf8', timeout: 90_000, maxBuffer: 64 << 20 });
  return { stdout: res.stdout, console: res.stderr.split('\n').filter((l) => /:CONSOLE[:(\]]/.test(l)), status: res.status };
}

describe.skipIf(!hasChromium || !cliWorks)('HTML report in headless Chromium', () => {
  it('notices console errors (positive control for the checks below)', () => {
    const bad = join(work, 'bad.html');
    writeFileSync(bad, '<!doctype html><title>bad</title><script>console.error("boom"); missingFunction();</script>');
    const r = chromium(bad, ['--dump-dom']);
    expect(r.console.join('\n')).toContain('missingFunction');
  });

  it('loads without console messages, runs its script and fetches nothing', () => {
    const file = join(OUT, 'demo.html');
    const r = chromium(file, ['--dump-dom', '--virtual-time-budget=2000']);
    expect(r.console).toEqual([]);
    expect(r.stdout).toMatch(/<html lang="en" data-ready="1">/);
  });

  it('renders a non-trivial screenshot in the light and the dark scheme', () => {
    const file = join(OUT, 'demo.html');
    for (const [png, extra] of [['demo.png', []], ['demo-dark.png', ['--force-dark-mode', '--blink-settings=preferredColorScheme=0']]] as const) {
      const out = join(OUT, png);
      rmSync(out, { force: true });
      const r = chromium(file, [...extra, `--screenshot=${out}`, '--window-size=1280,2000']);
      expect(r.console).toEqual([]);
      expect(existsSync(out)).toBe(true);
      expect(statSync(out).size).toBeGreaterThan(10_000);
      expect(readFileSync(out).subarray(1, 4).toString()).toBe('PNG');
    }
    console.log(`tests/report: screenshots in ${OUT}/demo.png and demo-dark.png`);
  });

  it('loads the multi-namespace report cleanly too', () => {
    const r = chromium(join(OUT, 'multi.html'), ['--dump-dom']);
    expect(r.console).toEqual([]);
    expect(r.stdout).toContain('data-ready="1"');
  });
  it('loads a report with the queue model and the egress qdisc chart cleanly, and renders it', () => {
    const file = join(OUT, 'queues.html');
    const res = spawnSync(process.execPath, [cli, 'replay', '-q', '--world', join(DEMO, 'world'),
      `${join(DEMO, 'inputs/eth0.pcap')}@host:eth0`, `${join(DEMO, 'inputs/vethc1.pcap')}@host:vethc1`,
      '--cpus', '2', '--link-rate', 'host:eth0=64kbit', '--qdisc', 'host:eth0=pfifo limit 2', '--report', file], { encoding: 'utf8' });
    expect([res.status, res.stderr]).toEqual([0, '']);
    const html = readFileSync(file, 'utf8');
    expect(html).toContain('<h3>Egress qdiscs</h3>');
    expect(html).toContain('<h3>Packets the queues dropped</h3>');
    expect(html).toMatch(/qdisc pfifo limit 2 of host:eth0/);
    const r = chromium(file, ['--dump-dom', '--virtual-time-budget=2000']);
    expect(r.console).toEqual([]);
    expect(r.stdout).toContain('data-ready="1"');
    expect(r.stdout).toContain('Egress qdisc backlog per device');
    const png = join(OUT, 'queues.png');
    rmSync(png, { force: true });
    expect(chromium(file, [`--screenshot=${png}`, '--window-size=1280,3000']).console).toEqual([]);
    expect(statSync(png).size).toBeGreaterThan(10_000);
  });
});
