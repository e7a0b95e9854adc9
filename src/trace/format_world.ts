/**
 * `pktpath world show`: the loaded world in the shapes `ip`, `bridge`, `nft` and `ss` print.
 */
import { formatRate } from '../stack/sched/tc_spec.js';
import type { World } from '../stack/netns.js';
import { formatIpv4, formatMac } from '../stack/inet.js';
import { tableName } from '../stack/route.js';
import { nudName } from '../stack/neigh.js';

/** Render the world as text. */
export function formatWorld(w: World): string {
  let s = `world: ${w.source}${w.kernel ? ` (kernel ${w.kernel})` : ''}, ${w.namespaces.length} namespace(s)\n`;
  for (const ns of w.namespaces) {
    s += `\n=== namespace ${ns.name}\n`;
    s += `-- ip -br addr\n`;
    for (const d of ns.devs) {
      const addrs = [...d.addrs4.map((a) => `${formatIpv4(a.local)}/${a.prefixlen}`), ...d.addrs6];
      const state = d.up ? (d.kind === 'loopback' ? 'UNKNOWN' : 'UP') : 'DOWN';
      s += `${d.name.padEnd(16)} ${state.padEnd(14)} ${addrs.join(' ')}\n`;
    }
    s += `-- links\n`;
    for (const d of ns.devs) {
      const extra: string[] = [d.kind];
      if (d.kind !== 'loopback') extra.push(formatMac(d.macHi, d.macLo));
      extra.push(`mtu ${d.mtu}`, `qdisc ${d.qdisc}`, ...(d.rate ? [`rate ${formatRate(d.rate * 8)}`] : []), `txqlen ${d.txqlen}`, `queues rx ${d.numRxQueues} tx ${d.numTxQueues}`);
      if (d.master) extra.push(`master ${d.master.name}`);
      if (d.peer) extra.push(`peer ${d.peer.ns.name}:${d.peer.name}`);
      if (d.edge) extra.push(`EDGE (${d.edgeNote})`);
      if (d.kind === 'vlan') extra.push(`vlan ${d.vlanId} on ${d.lower?.name}`);
      s += `${d.ifindex}: ${d.name}: ${extra.join(' ')}\n`;
    }
    s += `-- ip rule\n`;
    for (const r of ns.fib4.rules) s += `${r.text}\n`;
    const byTable = new Map<number, string[]>();
    for (const r of ns.fib4.all) {
      const l = byTable.get(r.table) ?? [];
      l.push(r.text);
      byTable.set(r.table, l);
    }
    for (const [t, lines] of [...byTable].sort((a, b) => order(a[0]) - order(b[0]))) {
      s += `-- ip route show table ${tableName(t)}\n`;
      for (const l of lines) s += `${l}\n`;
    }
    if (ns.fib6.all.length) {
      s += `-- ip -6 rule\n`;
      for (const r of ns.fib6.rules) s += `${r.text}\n`;
      const byTable6 = new Map<number, string[]>();
      for (const r of ns.fib6.all) {
        const l = byTable6.get(r.table) ?? [];
        l.push(r.text);
        byTable6.set(r.table, l);
      }
      for (const [t, lines] of [...byTable6].sort((a, b) => order(a[0]) - order(b[0]))) {
        s += `-- ip -6 route show table ${tableName(t)}\n`;
        for (const l of lines) s += `${l}\n`;
      }
    }
    const neigh = [...ns.neigh.entries.values()];
    if (neigh.length) {
      s += `-- ip neigh\n`;
      for (const n of neigh) s += `${formatIpv4(n.addr)} dev ${n.dev.name}${n.macHi >= 0 ? ` lladdr ${formatMac(n.macHi, n.macLo)}` : ''} ${nudName(n.state)}\n`;
    }
    for (const d of ns.devs) {
      if (!d.bridge) continue;
      s += `-- bridge ${d.name} (ageing ${d.bridge.ageingTime} s, stp ${d.bridge.stpState}, vlan_filtering ${d.bridge.vlanFiltering ? 1 : 0})\n`;
      for (const p of d.bridge.ports) s += `port ${p.name} state ${p.brport!.state}${p.brport!.hairpin ? ' hairpin' : ''}${p.brport!.learning ? '' : ' nolearning'}\n`;
      for (const e of d.bridge.fdb.values()) s += `fdb ${formatMac(e.macHi, e.macLo)} dev ${e.dst.name}${e.local ? ' local' : e.permanent ? ' static' : ''}\n`;
    }
    s += `-- ruleset\n`;
    if (ns.ruleset.tables.length === 0) s += `(empty)\n`;
    for (const t of ns.ruleset.tables) {
      const src = ns.rulesetSources.find((x) => x.family === t.family && x.table === t.name);
      s += `table ${t.family} ${t.name} (from ${src ? `${src.source} ${src.file}` : t.file})\n`;
      for (const c of t.chains) {
        const b = c.base;
        s += `  chain ${c.name}${b ? ` { type ${b.type} hook ${b.hook} priority ${b.prio}; policy ${b.policy}; }` : ''}: ${c.rules.length} rule(s)\n`;
      }
      for (const st of t.sets) s += `  ${st.map ? 'map' : 'set'} ${st.name}: ${st.elems.length} element(s)\n`;
    }
    s += `-- sockets\n`;
    if (ns.sockets.length === 0) s += `(none: TCP gets RST, UDP gets port unreachable)\n`;
    for (const k of ns.sockets) s += `${k.text || k.name()}\n`;
    const edges = ns.devs.filter((d) => d.edge);
    s += `-- edges (where packets enter and leave the world)\n${edges.length ? edges.map((d) => `${ns.name}:${d.name}`).join(' ') : '(none)'}\n`;
  }
  if (w.warnings.length) s += `\nwarnings:\n${w.warnings.map((x) => `  ${x}\n`).join('')}`;
  return s;
}

function order(t: number): number {
  return t === 254 ? 0 : t === 255 ? 2 : 1;
}
