/**
 * Load a host snapshot directory (shared/docs/snapshot-format.md, version 1) into a World.
 * Every file is the verbatim output of a standard command; every value we rely on is checked, and a
 * bad one is refused with the file and JSON path (`ns/host/route4.json [3].type: ...`).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError } from '../../errors.js';
import { World, type Netns } from '../netns.js';
import type { DevKind, NetDevice } from '../netdev.js';
import { BridgeState } from '../bridge.js';
import { FibRoute, FibRule, RTN_BLACKHOLE, RTN_BROADCAST, RTN_LOCAL, RTN_MULTICAST, RTN_PROHIBIT, RTN_THROW, RTN_UNICAST, RTN_UNREACHABLE, RTN_ANYCAST, RT_TABLE_LOCAL, RT_TABLE_MAIN, RT_TABLE_DEFAULT, routeText, tableName } from '../route.js';
import { maskOf, parseIpv4, parseMac, parsePrefix4 } from '../inet.js';
import { nudFromName, NUD_NOARP, NUD_PERMANENT } from '../neigh.js';
import { parseSs } from '../socket.js';
import { addKernelRoutes6, Fib6Route, Fib6Rule, parseIpv6Addr, parsePrefix6, refreshLocal6, route6Text, maskInPlace6, onLinkDev6 } from '../route6.js';
import { parseNftJson } from '../netfilter/nft_json.js';
import { parseIptablesSave } from '../netfilter/iptables_save.js';
import { mergeRulesets } from '../netfilter/merge.js';
import type { RulesetIR } from '../netfilter/ir.js';

/** Options shared by the world loaders. */
export interface LoadOptions {
  /** Turn refusals of unmodellable constructs into warnings (listed in every report). */
  allowUnsupported: boolean;
}

type J = Record<string, unknown>;

/** A JSON reader that names the file and path in every error. */
class JsonFile {
  constructor(readonly file: string) {}
  fail(path: string, what: string): never {
    throw new ConfigError(this.file, path, what);
  }
  str(o: J, key: string, path: string): string {
    const v = o[key];
    if (typeof v !== 'string') this.fail(`${path}.${key}`, `expected a string, found ${JSON.stringify(v) ?? 'nothing'}`);
    return v;
  }
  optStr(o: J, key: string, path: string): string | null {
    const v = o[key];
    if (v === undefined || v === null) return null;
    if (typeof v !== 'string') this.fail(`${path}.${key}`, `expected a string, found ${JSON.stringify(v)}`);
    return v;
  }
  num(o: J, key: string, path: string): number {
    const v = o[key];
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(`${path}.${key}`, `expected a number, found ${JSON.stringify(v) ?? 'nothing'}`);
    return v;
  }
  optNum(o: J, key: string, path: string, dflt: number): number {
    const v = o[key];
    if (v === undefined || v === null) return dflt;
    if (typeof v !== 'number' || !Number.isFinite(v)) this.fail(`${path}.${key}`, `expected a number, found ${JSON.stringify(v)}`);
    return v;
  }
  ipv4(o: J, key: string, path: string): number {
    const s = this.str(o, key, path);
    const a = parseIpv4(s);
    if (Number.isNaN(a)) this.fail(`${path}.${key}`, `"${s}" is not an IPv4 address`);
    return a;
  }
}

function readText(dir: string, name: string): string | null {
  const p = join(dir, name);
  return existsSync(p) ? readFileSync(p, 'utf8') : null;
}

function parseJsonFile(file: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ConfigError(file, '', `is not valid JSON (${(e as Error).message}); re-run the command that made it, e.g. \`ip -j ...\``);
  }
}

function jsonArray(file: string, text: string | null): J[] {
  if (text === null || text.trim() === '') return [];
  const v = parseJsonFile(file, text);
  if (!Array.isArray(v)) throw new ConfigError(file, '', 'expected a JSON array, as `ip -j` prints');
  v.forEach((x, i) => {
    if (typeof x !== 'object' || x === null || Array.isArray(x)) throw new ConfigError(file, `[${i}]`, 'expected an object');
  });
  return v as J[];
}

const ROUTE_TYPES: Record<string, number> = {
  unicast: RTN_UNICAST, local: RTN_LOCAL, broadcast: RTN_BROADCAST, anycast: RTN_ANYCAST, multicast: RTN_MULTICAST,
  blackhole: RTN_BLACKHOLE, unreachable: RTN_UNREACHABLE, prohibit: RTN_PROHIBIT, throw: RTN_THROW,
};

/** Table id from `ip -j` spelling. */
function tableId(jf: JsonFile, v: unknown, path: string): number {
  if (v === undefined || v === null) return RT_TABLE_MAIN;
  if (v === 'main') return RT_TABLE_MAIN;
  if (v === 'local') return RT_TABLE_LOCAL;
  if (v === 'default') return RT_TABLE_DEFAULT;
  const n = typeof v === 'number' ? v : typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : NaN;
  if (!Number.isInteger(n)) jf.fail(path, `table ${JSON.stringify(v)} is not a table id or main/local/default`);
  return n;
}

/** Load a snapshot directory. */
export function loadSnapshot(dir: string, opts: LoadOptions): World {
  const metaFile = join(dir, 'snapshot.json');
  if (!existsSync(dir)) throw new ConfigError(dir, '', 'no such snapshot directory; make one with `pktpath snapshot DIR`');
  if (!existsSync(metaFile)) throw new ConfigError(dir, '', 'has no snapshot.json: not a pktpath snapshot (see docs: snapshot format)');
  const meta = parseJsonFile(metaFile, readFileSync(metaFile, 'utf8')) as J;
  const mf: JsonFile = new JsonFile(metaFile);
  if (meta.format !== 'pktpath-snapshot') mf.fail('.format', `expected "pktpath-snapshot", found ${JSON.stringify(meta.format)}`);
  if (meta.version !== 1) mf.fail('.version', `version ${JSON.stringify(meta.version)} is not supported (this pktpath reads version 1)`);
  if (!Array.isArray(meta.namespaces) || meta.namespaces.length === 0 || !meta.namespaces.every((n) => typeof n === 'string'))
    mf.fail('.namespaces', 'expected a non-empty array of namespace folder names');
  const names = meta.namespaces as string[];
  const root = typeof meta.root === 'string' ? meta.root : null;

  const world = new World();
  world.source = dir;
  world.kernel = typeof meta.kernel === 'string' ? meta.kernel : '';
  const raw = new Map<string, { links: J[]; file: string }>();
  for (const name of names) {
    const nsDir = join(dir, 'ns', name);
    if (!existsSync(nsDir)) mf.fail('.namespaces', `lists "${name}" but ns/${name}/ does not exist`);
    const ns = world.addNs(name);
    raw.set(name, loadNamespace(world, ns, nsDir, `ns/${name}`, opts));
  }
  joinPeers(world, raw, root);
  return world;
}

/** Load one namespace folder. Returns the raw link objects for the peer join. */
function loadNamespace(world: World, ns: Netns, dir: string, rel: string, opts: LoadOptions): { links: J[]; file: string } {
  const linkText = readText(dir, 'link.json');
  if (linkText === null) throw new ConfigError(`${rel}/link.json`, '', 'is missing; it is required (`ip -j -d link show`)');
  const addrText = readText(dir, 'addr.json');
  if (addrText === null) throw new ConfigError(`${rel}/addr.json`, '', 'is missing; it is required (`ip -j addr show`)');

  // sysctl first: device defaults depend on it.
  const sysText = readText(dir, 'sysctl.txt');
  if (sysText !== null) {
    const bad = ns.sysctl.load(sysText);
    if (bad.length) throw new ConfigError(`${rel}/sysctl.txt`, `line ${bad[0]}`, 'is not a `key = value` line (expected `sysctl -a` output)');
  }

  const links = jsonArray(`${rel}/link.json`, linkText);
  const lf: JsonFile = new JsonFile(`${rel}/link.json`);
  links.forEach((l, i) => {
    const p = `[${i}]`;
    const ifindex = lf.num(l, 'ifindex', p);
    let name = lf.str(l, 'ifname', p);
    const at = name.indexOf('@');
    if (at > 0) name = name.slice(0, at);
    const info = (l.linkinfo ?? {}) as J;
    const infoKind = typeof info.info_kind === 'string' ? info.info_kind : null;
    const linkType = typeof l.link_type === 'string' ? l.link_type : 'ether';
    let kind: DevKind;
    if (linkType === 'loopback') kind = 'loopback';
    else if (infoKind === 'veth' || infoKind === 'bridge' || infoKind === 'vlan' || infoKind === 'dummy') kind = infoKind;
    else if (infoKind === null && linkType === 'ether') kind = 'ether';
    else kind = 'other';
    const d = ns.newDev(ifindex, name, kind);
    const flags = Array.isArray(l.flags) ? (l.flags as string[]) : [];
    d.up = flags.includes('UP');
    d.mtu = lf.optNum(l, 'mtu', p, 1500);
    d.txqlen = lf.optNum(l, 'txqlen', p, 1000);
    d.qdisc = lf.optStr(l, 'qdisc', p) ?? 'noqueue';
    d.numRxQueues = lf.optNum(l, 'num_rx_queues', p, 1);
    d.numTxQueues = lf.optNum(l, 'num_tx_queues', p, 1);
    const mac = lf.optStr(l, 'address', p);
    if (mac && linkType === 'ether') {
      const m = parseMac(mac);
      if (!m) lf.fail(`${p}.address`, `"${mac}" is not a MAC address`);
      d.macHi = m.hi;
      d.macLo = m.lo;
    }
    if (kind === 'bridge') {
      const data = (info.info_data ?? {}) as J;
      const b = (d.bridge = new BridgeState());
      if (typeof data.ageing_time === 'number') b.ageingTime = data.ageing_time / 100; // centiseconds in `ip -d`
      if (typeof data.stp_state === 'number') b.stpState = data.stp_state;
      b.vlanFiltering = data.vlan_filtering === 1;
      b.nfCallIptables = data.nf_call_iptables === 1;
    }
    if (kind === 'vlan') {
      const data = (info.info_data ?? {}) as J;
      d.vlanId = lf.optNum(data, 'id', `${p}.linkinfo.info_data`, -1);
    }
    if (kind === 'other' && infoKind !== null && !opts.allowUnsupported) {
      lf.fail(`${p}.linkinfo.info_kind`, `device kind "${infoKind}" (${name}) is not modelled; remove it from the snapshot or pass --allow-unsupported to treat it as an edge`);
    }
    if (kind === 'other') world.warnings.push(`${rel}/link.json: ${name}: device kind "${infoKind ?? linkType}" is not modelled; treated as an edge`);
  });
  // Second pass: masters, VLAN lower devices, bridge port flags.
  links.forEach((l, i) => {
    const d = ns.byIndex.get(l.ifindex as number)!;
    const master = typeof l.master === 'string' ? l.master : null;
    if (master) {
      const m = ns.byName.get(master);
      if (!m) lf.fail(`[${i}].master`, `"${master}" is not a device of this namespace`);
      if (m.bridge) {
        d.master = m;
        m.bridge.ports.push(d);
        const sd = ((l.linkinfo as J | undefined)?.info_slave_data ?? {}) as J;
        d.brport = {
          state: (typeof sd.state === 'string' ? sd.state : 'forwarding') as NonNullable<NetDevice['brport']>['state'],
          learning: sd.learning !== false,
          flood: sd.flood !== false,
          hairpin: sd.hairpin === true,
          isolated: sd.isolated === true,
        };
      }
    }
    if (d.kind === 'vlan') {
      const lower = typeof l.link === 'string' ? ns.byName.get(l.link) : typeof l.link_index === 'number' ? ns.byIndex.get(l.link_index) : undefined;
      if (!lower) lf.fail(`[${i}].link`, `VLAN device ${d.name} has no lower device in this namespace`);
      d.lower = lower;
    }
  });

  // Addresses.
  const af: JsonFile = new JsonFile(`${rel}/addr.json`);
  jsonArray(`${rel}/addr.json`, addrText).forEach((a, i) => {
    const name = af.str(a, 'ifname', `[${i}]`);
    const d = ns.byName.get(name.split('@')[0]);
    if (!d) af.fail(`[${i}].ifname`, `"${name}" is not in link.json`);
    const infos = Array.isArray(a.addr_info) ? (a.addr_info as J[]) : [];
    infos.forEach((ai, k) => {
      const p = `[${i}].addr_info[${k}]`;
      if (ai.family === 'inet') {
        const local = af.ipv4(ai, 'local', p);
        const prefixlen = af.num(ai, 'prefixlen', p);
        const bc = typeof ai.broadcast === 'string' ? parseIpv4(ai.broadcast) : 0;
        d.addrs4.push({
          local,
          prefixlen,
          broadcast: Number.isNaN(bc) ? 0 : bc,
          scope: (typeof ai.scope === 'string' ? ai.scope : 'global') as 'global',
          secondary: ai.secondary === true,
        });
        ns.local4.add(local);
      } else if (ai.family === 'inet6') {
        const text = af.str(ai, 'local', p);
        const prefixlen = af.num(ai, 'prefixlen', p);
        const addr = parseIpv6Addr(text);
        if (!addr) af.fail(`${p}.local`, `"${text}" is not an IPv6 address`);
        if (prefixlen < 0 || prefixlen > 128) af.fail(`${p}.prefixlen`, `${prefixlen} is not an IPv6 prefix length`);
        d.addrs6.push(`${text}/${prefixlen}`);
        d.ifa6.push({
          addr,
          prefixlen,
          scope: (typeof ai.scope === 'string' ? ai.scope : 'global') as 'global',
          flags: IFA6_FLAGS.filter((k) => ai[k] === true),
        });
      }
    });
  });

  // netns ids.
  const idText = readText(dir, 'netns-id.json');
  jsonArray(`${rel}/netns-id.json`, idText).forEach((e, i) => {
    const jf: JsonFile = new JsonFile(`${rel}/netns-id.json`);
    ns.nsids.set(jf.num(e, 'nsid', `[${i}]`), jf.optStr(e, 'name', `[${i}]`));
  });

  // Routes and rules.
  const routeText4 = readText(dir, 'route4.json');
  if (routeText4 === null) addKernelRoutes(ns);
  else loadRoutes(ns, `${rel}/route4.json`, jsonArray(`${rel}/route4.json`, routeText4));
  const ruleText4 = readText(dir, 'rule4.json');
  if (ruleText4 === null) ns.fib4.defaultRules();
  else loadRules(ns, `${rel}/rule4.json`, jsonArray(`${rel}/rule4.json`, ruleText4));
  // IPv6: `ip -j -6 route show table all` and `ip -j -6 rule show`; without them, what addrconf adds
  // for the addresses and the default rules 0 local, 32766 main.
  const routeText6 = readText(dir, 'route6.json');
  if (routeText6 === null) addKernelRoutes6(ns);
  else {
    loadRoutes6(ns, `${rel}/route6.json`, jsonArray(`${rel}/route6.json`, routeText6));
    refreshLocal6(ns);
  }
  const ruleText6 = readText(dir, 'rule6.json');
  if (ruleText6 === null) ns.fib6.defaultRules();
  else loadRules6(ns, `${rel}/rule6.json`, jsonArray(`${rel}/rule6.json`, ruleText6));

  // Neighbours: IPv4 entries in neigh, IPv6 ones in neigh6.
  const nf: JsonFile = new JsonFile(`${rel}/neigh.json`);
  jsonArray(`${rel}/neigh.json`, readText(dir, 'neigh.json')).forEach((e, i) => {
    const p = `[${i}]`;
    const dst = nf.str(e, 'dst', p);
    const dev = ns.byName.get(nf.str(e, 'dev', p));
    if (!dev) nf.fail(`${p}.dev`, `"${e.dev}" is not in link.json`);
    const v6 = dst.includes(':');
    const a6 = v6 ? parseIpv6Addr(dst) : null;
    if (v6 && !a6) nf.fail(`${p}.dst`, `"${dst}" is not an IPv6 address`);
    const addr = v6 ? 0 : nf.ipv4(e, 'dst', p);
    const states = Array.isArray(e.state) ? (e.state as string[]) : [];
    let state = 0;
    for (const s of states) {
      const b = nudFromName(s);
      if (b < 0) nf.fail(`${p}.state`, `"${s}" is not a neighbour state`);
      state |= b;
    }
    const n = a6 ? ns.neigh6.create(dev, ns.addr6Ids.id(a6)) : ns.neigh.create(dev, addr);
    n.state = state;
    const ll = nf.optStr(e, 'lladdr', p);
    if (ll) {
      const m = parseMac(ll);
      if (!m) nf.fail(`${p}.lladdr`, `"${ll}" is not a MAC address`);
      n.macHi = m.hi;
      n.macLo = m.lo;
    }
    if (state & (NUD_PERMANENT | NUD_NOARP)) n.confirmed = Infinity;
  });

  // Bridge FDB: master entries (not `self`) are the bridge's; permanent ones on the bridge or a port are local.
  const ff: JsonFile = new JsonFile(`${rel}/bridge-fdb.json`);
  jsonArray(`${rel}/bridge-fdb.json`, readText(dir, 'bridge-fdb.json')).forEach((e, i) => {
    const p = `[${i}]`;
    const flags = Array.isArray(e.flags) ? (e.flags as string[]) : [];
    const master = ff.optStr(e, 'master', p);
    if (!master || flags.includes('self')) return;
    const br = ns.byName.get(master)?.bridge;
    const port = ns.byName.get(ff.str(e, 'ifname', p));
    if (!br || !port) ff.fail(p, `bridge ${master} or port ${e.ifname} is not in link.json`);
    const m = parseMac(ff.str(e, 'mac', p));
    if (!m) ff.fail(`${p}.mac`, `"${e.mac}" is not a MAC address`);
    const state = ff.optStr(e, 'state', p) ?? '';
    const permanent = state === 'permanent' || state === 'static';
    br.fdb.set(BridgeState.key(m.hi, m.lo), {
      macHi: m.hi, macLo: m.lo, dst: port, permanent, local: state === 'permanent', updated: NaN,
    });
  });

  // Sockets.
  const ssText = readText(dir, 'sockets.txt');
  if (ssText !== null) {
    const { socks, bad } = parseSs(ssText);
    if (bad.length) throw new ConfigError(`${rel}/sockets.txt`, `line ${bad[0]}`, 'is not an `ss -H -tuanp` line');
    ns.sockets = socks;
  }

  // Netfilter.
  const warnings: string[] = [];
  const popts = { allowUnsupported: opts.allowUnsupported, warnings };
  const nftText = readText(dir, 'nft.json');
  const ipt4Text = readText(dir, 'iptables.txt');
  const ipt6Text = readText(dir, 'ip6tables.txt');
  const nft: RulesetIR | null = nftText !== null && nftText.trim() ? parseNftJson(nftText, `${rel}/nft.json`, popts) : null;
  const ipt4 = ipt4Text !== null && ipt4Text.trim() ? parseIptablesSave(ipt4Text, `${rel}/iptables.txt`, 'ip', popts) : null;
  const ipt6 = ipt6Text !== null && ipt6Text.trim() ? parseIptablesSave(ipt6Text, `${rel}/ip6tables.txt`, 'ip6', popts) : null;
  const merged = mergeRulesets(nft, ipt4, ipt6, `${rel}/nft.json`, popts);
  if (nft) adoptNftHandles(merged.ruleset, nft);
  ns.ruleset = merged.ruleset;
  ns.rulesetSources = merged.sources.map((s) => ({ family: s.family, table: s.table, source: s.source, file: s.file }));
  world.warnings.push(...warnings);
  return { links, file: `${rel}/link.json` };
}

function loadRoutes(ns: Netns, file: string, routes: J[]): void {
  const jf: JsonFile = new JsonFile(file);
  routes.forEach((o, i) => {
    const p = `[${i}]`;
    const r = new FibRoute();
    const type = jf.optStr(o, 'type', p) ?? 'unicast';
    const t = ROUTE_TYPES[type];
    if (t === undefined) jf.fail(`${p}.type`, `"${type}" is not supported`);
    r.type = t;
    const dst = jf.str(o, 'dst', p);
    const pfx = parsePrefix4(dst);
    if (!pfx) jf.fail(`${p}.dst`, `"${dst}" is not an IPv4 destination`);
    r.dst = pfx.addr;
    r.len = pfx.len;
    r.table = tableId(jf, o.table, `${p}.table`);
    r.metric = jf.optNum(o, 'metric', p, 0);
    r.tos = typeof o.tos === 'string' ? parseInt(o.tos, 16) || 0 : jf.optNum(o, 'tos', p, 0);
    r.proto = jf.optStr(o, 'protocol', p) ?? '';
    r.scope = (jf.optStr(o, 'scope', p) ?? (t === RTN_LOCAL ? 'host' : t === RTN_BROADCAST ? 'link' : 'global')) as FibRoute['scope'];
    const ps = jf.optStr(o, 'prefsrc', p);
    if (ps) r.prefsrc = jf.ipv4(o, 'prefsrc', p);
    const nhDev = (name: string | null, path: string) => {
      if (name === null) return null;
      const d = ns.byName.get(name);
      if (!d) jf.fail(path, `device "${name}" is not in link.json`);
      return d;
    };
    if (Array.isArray(o.nexthops)) {
      (o.nexthops as J[]).forEach((nh, k) => {
        const np = `${p}.nexthops[${k}]`;
        r.nh.push({
          gw: nh.gateway ? jf.ipv4(nh, 'gateway', np) : 0,
          dev: nhDev(jf.optStr(nh, 'dev', np), `${np}.dev`),
          weight: jf.optNum(nh, 'weight', np, 1),
        });
      });
    } else if (o.dev !== undefined || o.gateway !== undefined) {
      r.nh.push({ gw: o.gateway ? jf.ipv4(o, 'gateway', p) : 0, dev: nhDev(jf.optStr(o, 'dev', p), `${p}.dev`), weight: 1 });
    }
    if (t === RTN_UNICAST && r.nh.length === 0) jf.fail(p, 'a unicast route needs a dev or gateway');
    // A gateway route without dev: the kernel resolved the device when it was added; find it now.
    for (const nh of r.nh) {
      if (!nh.dev && nh.gw) {
        for (const d of ns.devs) for (const a of d.addrs4) if (((nh.gw ^ a.local) & maskOf(a.prefixlen)) === 0) nh.dev = d;
        if (!nh.dev) jf.fail(`${p}.gateway`, `no device has a subnet holding gateway ${o.gateway}`);
      }
    }
    r.text = routeText(r);
    ns.fib4.add(r);
    if (t === RTN_LOCAL && r.len === 32) ns.local4.add(r.dst);
  });
}

/** A JSON number or numeric string as u32; 0 when absent. */
function jsonU32(jf: JsonFile, o: J, k: string, p: string): number {
  const v = o[k];
  if (v === undefined) return 0;
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
  if (!Number.isFinite(n)) jf.fail(`${p}.${k}`, `${JSON.stringify(v)} is not a number`);
  return n >>> 0;
}

/** The selectors and actions IPv4 and IPv6 rules share (struct fib_rule), as `ip -j rule` prints them. */
interface RuleSelectors {
  iif: string | null;
  oif: string | null;
  fwmark: number;
  fwmask: number;
  suppressPrefixlen: number;
  ipproto: number;
  sportLo: number;
  sportHi: number;
  dportLo: number;
  dportHi: number;
  action: FibRule['action'];
  table: number;
  gotoPref: number;
}

/** Read the family-independent part of one `ip -j rule` / `ip -j -6 rule` entry into r. */
function readRuleSelectors(jf: JsonFile, o: J, p: string, r: RuleSelectors): void {
  r.iif = jf.optStr(o, 'iif', p) ?? jf.optStr(o, 'iifname', p);
  r.oif = jf.optStr(o, 'oif', p) ?? jf.optStr(o, 'oifname', p);
  r.fwmark = jsonU32(jf, o, 'fwmark', p);
  r.fwmask = o.fwmask !== undefined ? jsonU32(jf, o, 'fwmask', p) : r.fwmark ? 0xffffffff : 0;
  if (typeof o.suppress_prefixlen === 'number') r.suppressPrefixlen = o.suppress_prefixlen;
  if (o.ipproto !== undefined) {
    const v = o.ipproto;
    r.ipproto = v === 'tcp' || v === 'ipproto-tcp' ? 6 : v === 'udp' || v === 'ipproto-udp' ? 17 : v === 'icmp' || v === 'ipproto-icmp' ? 1
      : v === 'ipv6-icmp' || v === 'ipproto-ipv6-icmp' ? 58 : jsonU32(jf, o, 'ipproto', p);
  }
  for (const k of ['sport', 'dport'] as const) {
    if (o[k] === undefined) continue;
    const v = String(o[k]);
    const m = /^(\d+)(?:-(\d+))?$/.exec(v);
    if (!m) jf.fail(`${p}.${k}`, `"${v}" is not a port or range`);
    if (k === 'sport') [r.sportLo, r.sportHi] = [Number(m[1]), Number(m[2] ?? m[1])];
    else [r.dportLo, r.dportHi] = [Number(m[1]), Number(m[2] ?? m[1])];
  }
  const action = jf.optStr(o, 'action', p);
  if (action === null || action === 'lookup' || action === 'to_tbl') {
    r.action = 'lookup';
    r.table = tableId(jf, o.table, `${p}.table`);
  } else if (action === 'goto') {
    r.action = 'goto';
    r.gotoPref = jsonU32(jf, o, 'target', p);
  } else if (action === 'nop' || action === 'blackhole' || action === 'unreachable' || action === 'prohibit') {
    r.action = action;
  } else jf.fail(`${p}.action`, `"${action}" is not supported`);
  if (o.l3mdev !== undefined || o.uidrange !== undefined || o.tun_id !== undefined) {
    const k = o.l3mdev !== undefined ? 'l3mdev' : o.uidrange !== undefined ? 'uidrange' : 'tun_id';
    jf.fail(`${p}.${k}`, `rule selector "${k}" is not modelled`);
  }
}

function loadRules(ns: Netns, file: string, rules: J[]): void {
  const jf: JsonFile = new JsonFile(file);
  rules.forEach((o, i) => {
    const p = `[${i}]`;
    const r = new FibRule();
    r.pref = jf.num(o, 'priority', p);
    r.invert = o.not === true;
    const src = jf.optStr(o, 'src', p);
    if (src && src !== 'all') {
      const a = parseIpv4(src);
      if (Number.isNaN(a)) jf.fail(`${p}.src`, `"${src}" is not an IPv4 address`);
      r.srcLen = jf.optNum(o, 'srclen', p, 32);
      r.src = (a & maskOf(r.srcLen)) >>> 0;
    }
    const dst = jf.optStr(o, 'dst', p);
    if (dst && dst !== 'all') {
      const a = parseIpv4(dst);
      if (Number.isNaN(a)) jf.fail(`${p}.dst`, `"${dst}" is not an IPv4 address`);
      r.dstLen = jf.optNum(o, 'dstlen', p, 32);
      r.dst = (a & maskOf(r.dstLen)) >>> 0;
    }
    readRuleSelectors(jf, o, p, r);
    r.tos = typeof o.tos === 'string' ? parseInt(o.tos, 16) || 0 : jsonU32(jf, o, 'tos', p);
    r.text = `${r.pref}:\t${r.invert ? 'not ' : ''}from ${src ?? 'all'}${r.srcLen && r.srcLen < 32 ? '/' + r.srcLen : ''}` +
      (dst && dst !== 'all' ? ` to ${dst}${r.dstLen < 32 ? '/' + r.dstLen : ''}` : '') +
      (r.iif ? ` iif ${r.iif}` : '') + (r.oif ? ` oif ${r.oif}` : '') + (r.fwmark ? ` fwmark 0x${r.fwmark.toString(16)}` : '') +
      (r.action === 'lookup' ? ` lookup ${tableName(r.table)}` : r.action === 'goto' ? ` goto ${r.gotoPref}` : ` ${r.action}`);
    ns.fib4.rules.push(r);
  });
  ns.fib4.sortRules();
}

/**
 * iptables-nft keeps each iptables rule as an nft rule with its own handle, in the same order: give the
 * rules read from iptables-save the handle nft.json shows at the same position, so traces and drop
 * places name the handle `nft monitor trace` prints (the iptables rule number stays `handle`).
 */
function adoptNftHandles(merged: RulesetIR, nft: RulesetIR): void {
  for (const t of merged.tables) {
    if (t.source !== 'iptables-save' && t.source !== 'ip6tables-save') continue;
    const twin = nft.tables.find((x) => x.family === t.family && x.name === t.name);
    if (!twin) continue;
    for (const c of t.chains) {
      const tc = twin.chains.find((x) => x.name === c.name);
      if (!tc || tc.rules.length !== c.rules.length) continue;
      c.rules.forEach((r, i) => (r.nftHandle = tc.rules[i].handle));
    }
  }
}

/** `ip -j addr` flags of an IPv6 address that the datapath looks at. */
const IFA6_FLAGS = ['tentative', 'dadfailed', 'deprecated', 'optimistic', 'nodad', 'noprefixroute', 'temporary', 'mngtmpaddr', 'home'];

/** `ip -j -6 route show table all`. */
function loadRoutes6(ns: Netns, file: string, routes: J[]): void {
  const jf: JsonFile = new JsonFile(file);
  const ip6 = (o: J, key: string, path: string): Uint8Array => {
    const s = jf.str(o, key, path);
    const a = parseIpv6Addr(s);
    if (!a) jf.fail(`${path}.${key}`, `"${s}" is not an IPv6 address`);
    return a;
  };
  routes.forEach((o, i) => {
    const p = `[${i}]`;
    const r = new Fib6Route();
    const type = jf.optStr(o, 'type', p) ?? 'unicast';
    const t = ROUTE_TYPES[type];
    if (t === undefined || t === RTN_BROADCAST) jf.fail(`${p}.type`, `"${type}" is not supported`);
    r.type = t;
    const dst = jf.str(o, 'dst', p);
    const pfx = parsePrefix6(dst);
    if (!pfx) jf.fail(`${p}.dst`, `"${dst}" is not an IPv6 destination`);
    r.dst = pfx.addr;
    r.len = pfx.len;
    r.table = tableId(jf, o.table, `${p}.table`);
    r.metric = jf.optNum(o, 'metric', p, t === RTN_LOCAL || t === RTN_ANYCAST ? 0 : 1024);
    r.proto = jf.optStr(o, 'protocol', p) ?? '';
    r.pref = jf.optStr(o, 'pref', p) ?? '';
    if (jf.optStr(o, 'prefsrc', p)) r.prefsrc = ip6(o, 'prefsrc', p);
    const nhDev = (name: string | null, path: string) => {
      if (name === null) return null;
      const d = ns.byName.get(name);
      if (!d) jf.fail(path, `device "${name}" is not in link.json`);
      return d;
    };
    if (Array.isArray(o.nexthops)) {
      (o.nexthops as J[]).forEach((nh, k) => {
        const np = `${p}.nexthops[${k}]`;
        r.nh.push({ gw: nh.gateway ? ip6(nh, 'gateway', np) : null, dev: nhDev(jf.optStr(nh, 'dev', np), `${np}.dev`), weight: jf.optNum(nh, 'weight', np, 1) });
      });
    } else if (o.dev !== undefined || o.gateway !== undefined) {
      r.nh.push({ gw: o.gateway ? ip6(o, 'gateway', p) : null, dev: nhDev(jf.optStr(o, 'dev', p), `${p}.dev`), weight: 1 });
    }
    if (t === RTN_UNICAST && r.nh.length === 0) jf.fail(p, 'a unicast route needs a dev or gateway');
    for (const nh of r.nh) {
      if (nh.dev || !nh.gw) continue;
      nh.dev = onLinkDev6(ns, nh.gw);
      if (!nh.dev) jf.fail(`${p}.gateway`, `no device has a prefix holding gateway ${o.gateway}`);
    }
    r.text = route6Text(r);
    ns.fib6.add(r);
  });
}

/** `ip -j -6 rule show`. */
function loadRules6(ns: Netns, file: string, rules: J[]): void {
  const jf: JsonFile = new JsonFile(file);
  rules.forEach((o, i) => {
    const p = `[${i}]`;
    const r = new Fib6Rule();
    r.pref = jf.num(o, 'priority', p);
    r.invert = o.not === true;
    const pfx = (key: 'src' | 'dst') => {
      const s = jf.optStr(o, key, p);
      if (!s || s === 'all') return;
      const a = parseIpv6Addr(s);
      if (!a) jf.fail(`${p}.${key}`, `"${s}" is not an IPv6 address`);
      const len = jf.optNum(o, `${key}len`, p, 128);
      maskInPlace6(a, len);
      if (key === 'src') [r.src, r.srcLen] = [a, len];
      else [r.dst, r.dstLen] = [a, len];
    };
    pfx('src');
    pfx('dst');
    readRuleSelectors(jf, o, p, r);
    r.tclass = typeof o.tos === 'string' ? parseInt(o.tos, 16) || 0 : jsonU32(jf, o, 'tos', p);
    const src = jf.optStr(o, 'src', p) ?? 'all';
    const dst = jf.optStr(o, 'dst', p);
    r.text = `${r.pref}:\t${r.invert ? 'not ' : ''}from ${src}${r.srcLen && r.srcLen < 128 ? '/' + r.srcLen : ''}` +
      (dst && dst !== 'all' ? ` to ${dst}${r.dstLen < 128 ? '/' + r.dstLen : ''}` : '') +
      (r.iif ? ` iif ${r.iif}` : '') + (r.oif ? ` oif ${r.oif}` : '') + (r.fwmark ? ` fwmark 0x${r.fwmark.toString(16)}` : '') +
      (r.action === 'lookup' ? ` lookup ${tableName(r.table)}` : r.action === 'goto' ? ` goto ${r.gotoPref}` : ` ${r.action}`);
    ns.fib6.rules.push(r);
  });
  ns.fib6.sortRules();
}

/**
 * The routes the kernel adds by itself for each IPv4 address (fib_add_ifaddr): local /32 and
 * broadcast in table local, the connected subnet in main. Used by lab files and when a snapshot has no
 * route4.json.
 */
export function addKernelRoutes(ns: Netns): void {
  for (const d of ns.devs) {
    for (const a of d.addrs4) {
      const add = (type: number, dst: number, len: number, table: number, scope: FibRoute['scope']) => {
        const r = new FibRoute();
        r.type = type;
        r.dst = dst;
        r.len = len;
        r.table = table;
        r.scope = scope;
        r.prefsrc = a.local;
        r.proto = 'kernel';
        r.nh.push({ gw: 0, dev: d, weight: 1 });
        r.text = routeText(r);
        ns.fib4.add(r);
      };
      add(RTN_LOCAL, a.local, 32, RT_TABLE_LOCAL, 'host');
      ns.local4.add(a.local);
      if (d.kind === 'loopback') {
        add(RTN_LOCAL, (a.local & maskOf(a.prefixlen)) >>> 0, a.prefixlen, RT_TABLE_LOCAL, 'host');
        continue;
      }
      if (a.prefixlen < 31 && a.broadcast) add(RTN_BROADCAST, a.broadcast, 32, RT_TABLE_LOCAL, 'link');
      if (a.prefixlen < 32) add(RTN_UNICAST, (a.local & maskOf(a.prefixlen)) >>> 0, a.prefixlen, RT_TABLE_MAIN, 'link');
    }
  }
}

/**
 * Join veth peers across namespaces (link_index + link_netnsid via netns-id.json). A veth whose peer
 * is in no loaded namespace, and every physical NIC, becomes an edge.
 */
function joinPeers(world: World, raw: Map<string, { links: J[]; file: string }>, root: string | null): void {
  for (const ns of world.namespaces) {
    const { links } = raw.get(ns.name)!;
    for (const l of links) {
      const d = ns.byIndex.get(l.ifindex as number)!;
      if (d.kind === 'ether' || d.kind === 'other') {
        d.edge = true;
        d.edgeNote = d.kind === 'ether' ? 'physical device' : 'unmodelled device kind';
        continue;
      }
      if (d.kind !== 'veth') continue;
      const peerIndex = typeof l.link_index === 'number' ? l.link_index : null;
      let peerNs: Netns | undefined = ns;
      if (typeof l.link_netnsid === 'number') {
        const nsid = l.link_netnsid;
        if (!ns.nsids.has(nsid)) {
          peerNs = undefined;
          d.edgeNote = `peer is in nsid ${nsid}, which ${ns.name}'s netns-id.json does not name`;
        } else {
          const name = ns.nsids.get(nsid) ?? root;
          peerNs = name ? world.byName.get(name) : undefined;
          if (!peerNs) d.edgeNote = `peer namespace "${name ?? `nsid ${nsid}`}" is not in the snapshot`;
        }
      }
      const peer = peerNs && peerIndex !== null ? peerNs.byIndex.get(peerIndex) : undefined;
      if (peer && peer.kind === 'veth') {
        d.peer = peer;
      } else {
        d.edge = true;
        if (!d.edgeNote) d.edgeNote = peerIndex === null ? 'veth without a peer index' : `peer ifindex ${peerIndex} not found`;
      }
    }
  }
}
