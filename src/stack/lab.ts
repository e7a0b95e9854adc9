/**
 * Hand-written labs: a YAML (or JSON) file describing namespaces, links, addresses and routes in `ip`
 * syntax, neighbours, sysctls, sockets and rulesets (nft text, nft JSON or iptables-save text).
 * Every error names the file, line and column.
 *
 *   namespaces:
 *     host:
 *       sysctl: { net.ipv4.ip_forward: 1 }
 *       links:
 *         - { name: eth0, kind: ether, mac: "02:00:c6:33:64:02" }            # no peer: an edge
 *         - { name: docker0, kind: bridge, mac: "02:42:ac:11:00:01" }
 *         - { name: vethc1, kind: veth, peer: c1/eth0, master: docker0 }
 *       addresses: [ "198.51.100.2/24 dev eth0", "172.17.0.1/16 dev docker0" ]
 *       routes: [ "default via 198.51.100.1 dev eth0" ]
 *       rules: [ "from 172.18.0.0/16 lookup 100 pref 100" ]
 *       neighbours: [ "198.51.100.1 dev eth0 lladdr 02:00:c6:33:64:01 permanent" ]
 *       sockets: [ "tcp 0.0.0.0:22 LISTEN" ]
 *       nft: |
 *         table ip nat { chain post { type nat hook postrouting priority srcnat; masquerade } }
 */
import { parseRate } from './sched/tc_spec.js';
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, type Node, type Document } from 'yaml';
import { ConfigError } from '../errors.js';
import { World, type Netns } from './netns.js';
import type { DevKind, NetDevice } from './netdev.js';
import { BridgeState } from './bridge.js';
import { FibRoute, FibRule, RT_TABLE_DEFAULT, RT_TABLE_LOCAL, RT_TABLE_MAIN, RTN_NAMES, RTN_UNICAST, routeText, tableName } from './route.js';
import { maskOf, parseIpv4, parseMac, parsePrefix4 } from './inet.js';
import { addKernelRoutes, type LoadOptions } from './snapshot/load.js';
import {
  Fib6Route, Fib6Rule, addKernelRoutes6, eui64LinkLocal, formatIpv6, isLinkLocal6, isLoopback6, onLinkDev6, parseIpv6Addr, parsePrefix6,
  refreshLocal6, route6Text,
} from './route6.js';
import { nudFromName, NUD_NOARP, NUD_PERMANENT } from './neigh.js';
import { parseSs } from './socket.js';
import { parseNftJson } from './netfilter/nft_json.js';
import { parseNftText } from './netfilter/nft_text.js';
import { parseIptablesSave } from './netfilter/iptables_save.js';
import { mergeRulesets } from './netfilter/merge.js';
import type { RulesetIR } from './netfilter/ir.js';

type Path = Array<string | number>;

/** Error helper that turns a YAML path into "line L, column C". */
class Where {
  constructor(readonly file: string, readonly doc: Document, readonly lc: LineCounter) {}
  at(path: Path): string {
    const node = this.doc.getIn(path, true) as Node | undefined;
    const off = node && node.range ? node.range[0] : 0;
    const p = this.lc.linePos(off);
    return `line ${p.line}, column ${p.col}`;
  }
  fail(path: Path, what: string): never {
    throw new ConfigError(this.file, `${this.at(path)} (${path.join('.')})`, what);
  }
}

const KINDS: DevKind[] = ['ether', 'veth', 'bridge', 'vlan', 'dummy', 'loopback'];

/** Load a lab file. */
export function loadLab(file: string, opts: LoadOptions): World {
  const text = readFileSync(file, 'utf8');
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  if (doc.errors.length) {
    const e = doc.errors[0];
    const p = lc.linePos(e.pos[0]);
    throw new ConfigError(file, `line ${p.line}, column ${p.col}`, `${e.message.split('\n')[0]}; fix the YAML syntax`);
  }
  const w: Where = new Where(file, doc, lc);
  const root = doc.toJS() as Record<string, unknown> | null;
  if (!root || typeof root !== 'object' || Array.isArray(root)) w.fail([], 'expected a mapping with a "namespaces" key');
  const nss = root.namespaces as Record<string, Record<string, unknown>> | undefined;
  if (!nss || typeof nss !== 'object' || Array.isArray(nss)) w.fail(['namespaces'], 'expected "namespaces:" with one mapping per namespace');
  for (const k of Object.keys(root)) if (k !== 'namespaces' && k !== 'description' && k !== 'root') w.fail([k], `unknown key "${k}" (expected namespaces, description, root)`);

  const world = new World();
  world.source = file;
  const pendingPeers: Array<{ dev: NetDevice; spec: string; path: Path }> = [];
  for (const [name, spec] of Object.entries(nss)) {
    if (!/^[A-Za-z0-9_.-]{1,64}$/.test(name)) w.fail(['namespaces', name], `namespace name "${name}" may only use letters, digits, _ . -`);
    const ns = world.addNs(name);
    loadNs(w, world, ns, spec ?? {}, ['namespaces', name], opts, pendingPeers);
  }
  for (const { dev, spec, path } of pendingPeers) {
    const m = /^([^/:]+)[/:](.+)$/.exec(spec);
    if (!m) w.fail(path, `peer "${spec}" must be NS/DEV (or "none" for an edge)`);
    const pns = world.byName.get(m[1]);
    const peer = pns?.byName.get(m[2]);
    if (!peer) w.fail(path, `peer ${spec}: no such device (namespaces: ${world.namespaces.map((n) => n.name).join(', ')})`);
    if (peer.kind !== 'veth') w.fail(path, `peer ${spec} is not a veth`);
    dev.peer = peer;
    peer.peer = dev;
    dev.edge = peer.edge = false;
  }
  return world;
}

function seq(w: Where, v: unknown, path: Path): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) w.fail(path, 'expected a list');
  return v;
}

function loadNs(w: Where, world: World, ns: Netns, spec: Record<string, unknown>, path: Path, opts: LoadOptions, peers: Array<{ dev: NetDevice; spec: string; path: Path }>): void {
  const known = ['sysctl', 'links', 'addresses', 'routes', 'rules', 'neighbours', 'neighbors', 'sockets', 'nft', 'nft-json', 'iptables', 'ip6tables'];
  for (const k of Object.keys(spec)) if (!known.includes(k)) w.fail([...path, k], `unknown key "${k}" (expected ${known.join(', ')})`);
  const sys = spec.sysctl as Record<string, unknown> | undefined;
  if (sys) for (const [k, v] of Object.entries(sys)) ns.sysctl.set(k, String(v));
  // Loopback always exists (as in a fresh namespace), with 127.0.0.1/8.
  const lo = ns.newDev(1, 'lo', 'loopback');
  lo.mtu = 65536;
  lo.addrs4.push({ local: 0x7f000001, prefixlen: 8, broadcast: 0, scope: 'host', secondary: false });
  let ifindex = 2;
  const links = seq(w, spec.links, [...path, 'links']);
  links.forEach((l, i) => {
    const p = [...path, 'links', i];
    if (typeof l !== 'object' || l === null) w.fail(p, 'expected { name, kind, ... }');
    const o = l as Record<string, unknown>;
    const name = String(o.name ?? '');
    if (!/^[A-Za-z0-9_.@-]{1,15}$/.test(name)) w.fail([...p, 'name'], `device name "${name}" is not valid (1-15 characters)`);
    if (ns.byName.has(name)) w.fail([...p, 'name'], `device ${name} is defined twice`);
    const kind = String(o.kind ?? 'ether') as DevKind;
    if (!KINDS.includes(kind)) w.fail([...p, 'kind'], `kind "${kind}" is not one of ${KINDS.join(', ')}`);
    const d = ns.newDev(ifindex++, name, kind);
    if (o.mac !== undefined) {
      const m = parseMac(String(o.mac));
      if (!m) w.fail([...p, 'mac'], `"${o.mac}" is not a MAC address`);
      d.macHi = m.hi;
      d.macLo = m.lo;
    } else {
      // A locally administered MAC derived from the namespace and ifindex, stable across runs.
      d.macHi = 0x0200 | (ns.id & 0xff);
      d.macLo = (0x00000000 + d.ifindex) >>> 0;
    }
    if (o.mtu !== undefined) d.mtu = Number(o.mtu);
    if (o.up === false) d.up = false;
    if (o.txqlen !== undefined) d.txqlen = Number(o.txqlen);
    if (o.qdisc !== undefined) d.qdisc = String(o.qdisc);
    if (o.rate !== undefined) {
      try {
        d.rate = parseRate(String(o.rate));
      } catch (e) {
        w.fail([...p, 'rate'], (e as Error).message);
      }
    }
    if (o.queues !== undefined) d.numRxQueues = d.numTxQueues = Number(o.queues);
    if (kind === 'bridge') d.bridge = new BridgeState();
    if (kind === 'ether') {
      d.edge = true;
      d.edgeNote = 'physical device';
    }
    if (kind === 'veth') {
      const peer = o.peer === undefined ? 'none' : String(o.peer);
      if (peer === 'none') {
        d.edge = true;
        d.edgeNote = 'veth whose peer is outside the lab';
      } else peers.push({ dev: d, spec: peer, path: [...p, 'peer'] });
    }
    if (kind === 'vlan') {
      const lower = ns.byName.get(String(o.link ?? ''));
      if (!lower) w.fail([...p, 'link'], `a vlan needs "link: <lower device defined above>"`);
      d.lower = lower;
      d.vlanId = Number(o.id);
      if (!Number.isInteger(d.vlanId) || d.vlanId < 1 || d.vlanId > 4094) w.fail([...p, 'id'], 'VLAN id must be 1..4094');
    }
    if (o.master !== undefined) {
      const m = ns.byName.get(String(o.master));
      if (!m || !m.bridge) w.fail([...p, 'master'], `master "${o.master}" is not a bridge defined above`);
      d.master = m;
      m.bridge.ports.push(d);
      d.brport = { state: 'forwarding', learning: true, flood: true, hairpin: o.hairpin === true, isolated: false };
      m.bridge.fdb.set(BridgeState.key(d.macHi, d.macLo), { macHi: d.macHi, macLo: d.macLo, dst: d, permanent: true, local: true, updated: NaN });
    }
    if (kind === 'bridge') d.bridge!.fdb.set(BridgeState.key(d.macHi, d.macLo), { macHi: d.macHi, macLo: d.macLo, dst: d, permanent: true, local: true, updated: NaN });
  });
  // Addresses: "A/len dev DEV [brd B]", or "A:B::C/len dev DEV [nodad|noprefixroute|tentative]".
  seq(w, spec.addresses, [...path, 'addresses']).forEach((a, i) => {
    const p = [...path, 'addresses', i];
    const t = String(a).trim().split(/\s+/);
    if (t[0].includes(':')) return addAddr6(w, ns, t, String(a), p);
    const pfx = t[0];
    const di = t.indexOf('dev');
    if (!pfx || di < 0) w.fail(p, `"${a}": expected "A.B.C.D/len dev DEV" or "A:B::C/len dev DEV"`);
    const slash = pfx.indexOf('/');
    const local = parseIpv4(slash < 0 ? pfx : pfx.slice(0, slash));
    const len = slash < 0 ? 32 : Number(pfx.slice(slash + 1));
    if (Number.isNaN(local) || !Number.isInteger(len) || len < 0 || len > 32) w.fail(p, `"${pfx}" is not an IPv4 address/prefix`);
    const d = ns.byName.get(t[di + 1]);
    if (!d) w.fail(p, `device "${t[di + 1]}" is not defined in links`);
    const bi = t.indexOf('brd');
    const bc = bi >= 0 ? parseIpv4(t[bi + 1]) : len < 31 ? (local | ~maskOf(len)) >>> 0 : 0;
    d.addrs4.push({ local, prefixlen: len, broadcast: bc, scope: 'global', secondary: d.addrs4.some((x) => x.prefixlen === len && ((x.local ^ local) & maskOf(len)) === 0) });
  });
  addKernelRoutes(ns);
  // IPv6: a namespace that mentions IPv6 anywhere gets what addrconf gives every interface (::1 on lo,
  // an EUI-64 link-local address on every other device) and the kernel's routes for its addresses.
  const is6 = (x: unknown) => /(^|\s)[0-9a-fA-F]*:[0-9a-fA-F:.]*(\/\d+)?(\s|$)/.test(String(x).replace(/lladdr \S+/, ''));
  const uses6 = [spec.addresses, spec.routes, spec.rules, spec.neighbours ?? spec.neighbors].some((l) => Array.isArray(l) && l.some(is6));
  if (uses6 && ns.sysctl.int('net.ipv6.conf.all.disable_ipv6') === 0) addrconfDefaults(ns);
  addKernelRoutes6(ns);
  seq(w, spec.routes, [...path, 'routes']).forEach((r, i) => {
    if (is6(r)) ns.fib6.add(parseRoute6(w, ns, String(r), [...path, 'routes', i]));
    else ns.fib4.add(parseRoute(w, ns, String(r), [...path, 'routes', i]));
  });
  refreshLocal6(ns);
  const rules = seq(w, spec.rules, [...path, 'rules']);
  ns.fib4.defaultRules();
  ns.fib6.defaultRules();
  rules.forEach((r, i) => {
    if (is6(r)) ns.fib6.rules.push(parseRule6(w, String(r), [...path, 'rules', i]));
    else ns.fib4.rules.push(parseRule(w, String(r), [...path, 'rules', i]));
  });
  ns.fib4.sortRules();
  ns.fib6.sortRules();
  seq(w, spec.neighbours ?? spec.neighbors, [...path, spec.neighbours ? 'neighbours' : 'neighbors']).forEach((n, i) => {
    const p = [...path, spec.neighbours ? 'neighbours' : 'neighbors', i];
    const t = String(n).trim().split(/\s+/);
    const a6 = t[0].includes(':') ? parseIpv6Addr(t[0]) : null;
    const addr = a6 ? 0 : parseIpv4(t[0]);
    const d = ns.byName.get(t[t.indexOf('dev') + 1]);
    if ((t[0].includes(':') && !a6) || Number.isNaN(addr) || t.indexOf('dev') < 0 || !d) w.fail(p, `"${n}": expected "A.B.C.D|A:B::C dev DEV lladdr MAC [permanent|reachable|stale|failed]"`);
    const e = a6 ? ns.neigh6.create(d, ns.addr6Ids.id(a6)) : ns.neigh.create(d, addr);
    const li = t.indexOf('lladdr');
    if (li >= 0) {
      const m = parseMac(t[li + 1]);
      if (!m) w.fail(p, `"${t[li + 1]}" is not a MAC address`);
      e.macHi = m.hi;
      e.macLo = m.lo;
    }
    const st = t.find((x) => nudFromName(x.toUpperCase()) > 0);
    e.state = st ? nudFromName(st.toUpperCase()) : li >= 0 ? NUD_PERMANENT : 0;
    if (e.state & (NUD_PERMANENT | NUD_NOARP)) e.confirmed = Infinity;
  });
  const socks = seq(w, spec.sockets, [...path, 'sockets']);
  socks.forEach((s, i) => {
    const t = String(s).trim().split(/\s+/);
    // "tcp 0.0.0.0:22 LISTEN [process]" → ss -H -tuanp columns.
    const line = `${t[0]} ${t[2] ?? (t[0] === 'tcp' ? 'LISTEN' : 'UNCONN')} 0 0 ${t[1]} ${t[1]?.includes('[') ? '[::]:*' : '0.0.0.0:*'} ${t.slice(3).join(' ')}`;
    const { socks: parsed, bad } = parseSs(line);
    if (bad.length || parsed.length !== 1) w.fail([...path, 'sockets', i], `"${s}": expected "tcp|udp ADDR:PORT [LISTEN|UNCONN|ESTAB] [process]"`);
    ns.sockets.push(parsed[0]);
  });
  // Rulesets.
  const warnings: string[] = [];
  const popts = { allowUnsupported: opts.allowUnsupported, warnings };
  let nftIr: RulesetIR | null = null;
  if (spec['nft-json'] !== undefined) {
    const v = spec['nft-json'];
    nftIr = parseNftJson(typeof v === 'string' ? v : JSON.stringify(v), `${w.file} ${w.at([...path, 'nft-json'])}`, popts);
  }
  if (spec.nft !== undefined) {
    if (nftIr) w.fail([...path, 'nft'], 'give the nft ruleset once: either "nft:" (text) or "nft-json:"');
    // Positions inside the block scalar: the parser counts lines from the block's first line.
    nftIr = parseNftText(String(spec.nft), `${w.file} (nft: block starting ${w.at([...path, 'nft'])})`, popts);
  }
  const ipt4 = spec.iptables !== undefined ? parseIptablesSave(String(spec.iptables), `${w.file} ${w.at([...path, 'iptables'])}`, 'ip', popts) : null;
  const ipt6 = spec.ip6tables !== undefined ? parseIptablesSave(String(spec.ip6tables), `${w.file} ${w.at([...path, 'ip6tables'])}`, 'ip6', popts) : null;
  const merged = mergeRulesets(nftIr, ipt4, ipt6, w.file, popts);
  ns.ruleset = merged.ruleset;
  ns.rulesetSources = merged.sources.map((s) => ({ family: s.family, table: s.table, source: s.source, file: s.file }));
  world.warnings.push(...warnings);
}

/** A whole-number argument of `ip route`/`ip rule`; a typo (NaN) fails here instead of matching nothing later. */
function uintArg(w: Where, p: Path, text: string, key: string, v: string | undefined, max: number): number {
  const n = Number(v);
  if (v === undefined || v === '' || !Number.isInteger(n) || n < 0 || n > max) w.fail(p, `"${text}": ${key} "${v ?? ''}" is not a whole number from 0 to ${max}`);
  return n;
}

function tableArg(w: Where, v: string | undefined, p: Path): number {
  if (v === 'main') return RT_TABLE_MAIN;
  if (v === 'local') return RT_TABLE_LOCAL;
  if (v === 'default') return RT_TABLE_DEFAULT;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > 0xffffffff) w.fail(p, `table "${v}" is not a table id or main/local/default`);
  return n;
}

/** What a family adds to the attribute loop of parseRouteAttrs. */
interface RouteFamily<A, R> {
  /** A gateway or source address; null when it is not one. */
  addr(s: string): A | null;
  /** What an address is called in errors. */
  addrName: string;
  /** The "no gateway" value of a next hop. */
  noGw: A;
  setSrc(r: R, a: A): void;
  /** A family's own attribute (scope, tos / pref); false when it is not one. `uint(max)` reads its value as a bounded integer. */
  extra(r: R, word: string, arg: string, uint: (max: number) => number): boolean;
  /** The attributes it knows, for the error about an unknown one. */
  known: string;
}

/**
 * The attributes after an `ip route` destination, shared by IPv4 and IPv6 (iproute.c
 * iproute_modify's loop): via, dev, nexthop groups with weights, table, metric, src, proto, then the
 * family's own. Fills r.nh; `nexthop` takes no value.
 */
function parseRouteAttrs<A, R extends { table: number; metric: number; proto: string; nh: Array<{ gw: A; dev: NetDevice | null; weight: number }> }>(
  w: Where, ns: Netns, text: string, p: Path, t: string[], k: number, r: R, fam: RouteFamily<A, R>,
): void {
  let nh: { gw: A; dev: NetDevice | null; weight: number } | null = null;
  const addr = (s: string): A => {
    const a = fam.addr(s);
    if (a === null) w.fail(p, `"${text}": "${s}" is not an ${fam.addrName}`);
    return a;
  };
  while (k < t.length) {
    const word = t[k++];
    const arg = t[k++];
    if (arg === undefined && word !== 'nexthop') w.fail(p, `"${text}": "${word}" needs a value`);
    switch (word) {
      case 'via':
        nh = nh ?? { gw: fam.noGw, dev: null, weight: 1 };
        nh.gw = addr(arg);
        break;
      case 'dev': {
        nh = nh ?? { gw: fam.noGw, dev: null, weight: 1 };
        const d = ns.byName.get(arg);
        if (!d) w.fail(p, `"${text}": device "${arg}" is not defined in links`);
        nh.dev = d;
        break;
      }
      case 'weight':
        if (!nh) w.fail(p, `"${text}": weight before any nexthop`);
        nh.weight = uintArg(w, p, text, 'weight', arg, 256);
        break;
      case 'nexthop':
        if (nh) r.nh.push(nh);
        nh = { gw: fam.noGw, dev: null, weight: 1 };
        k--; // nexthop takes no value itself
        break;
      case 'table':
        r.table = tableArg(w, arg, p);
        break;
      case 'metric':
      case 'priority':
        r.metric = uintArg(w, p, text, word, arg, 0xffffffff);
        break;
      case 'src':
        fam.setSrc(r, addr(arg));
        break;
      case 'proto':
      case 'protocol':
        r.proto = arg;
        break;
      default:
        if (!fam.extra(r, word, arg, (max) => uintArg(w, p, text, word, arg, max))) w.fail(p, `"${text}": "${word}" is not ${fam.known}`);
    }
  }
  if (nh) r.nh.push(nh);
}

/** The leading route type word (`blackhole`, `local`...), if any: sets r.type; returns where the destination is. */
function routeType(t: string[], r: { type: number }): number {
  const typeIdx = RTN_NAMES.indexOf(t[0]);
  if (typeIdx <= 0) return 0;
  r.type = typeIdx;
  return 1;
}

const ROUTE4: RouteFamily<number, FibRoute> = {
  addr: (s) => {
    const a = parseIpv4(s);
    return Number.isNaN(a) ? null : a;
  },
  addrName: 'IPv4 address',
  noGw: 0,
  setSrc: (r, a) => (r.prefsrc = a),
  extra: (r, word, arg, uint) => {
    if (word === 'scope') r.scope = arg as FibRoute['scope'];
    else if (word === 'tos') r.tos = uint(255);
    else return false;
    return true;
  },
  known: 'a route attribute this model knows (via, dev, nexthop, weight, table, metric, src, scope, proto, tos)',
};

/** `ip route` syntax: [type] PREFIX [via GW] [dev DEV] [table T] [metric N] [src A] [scope S] [proto P] [nexthop via G dev D weight W]... */
function parseRoute(w: Where, ns: Netns, text: string, p: Path): FibRoute {
  const t = text.trim().split(/\s+/);
  const r = new FibRoute();
  const k = routeType(t, r);
  const pfx = parsePrefix4(t[k] ?? '');
  if (!pfx) w.fail(p, `"${text}": "${t[k] ?? ''}" is not a destination (A.B.C.D/len or default)`);
  r.dst = pfx.addr;
  r.len = pfx.len;
  parseRouteAttrs(w, ns, text, p, t, k + 1, r, ROUTE4);
  for (const h of r.nh) {
    if (!h.dev && h.gw) for (const d of ns.devs) for (const a of d.addrs4) if (((h.gw ^ a.local) & maskOf(a.prefixlen)) === 0) h.dev = d;
    if (!h.dev && r.type === RTN_UNICAST) w.fail(p, `"${text}": no device reaches gateway; add "dev DEV"`);
  }
  if (r.type === RTN_UNICAST && r.nh.length === 0) w.fail(p, `"${text}": a unicast route needs "via GW" or "dev DEV"`);
  if (r.type === RTN_UNICAST && r.nh.every((h) => h.gw === 0)) r.scope = 'link';
  r.text = routeText(r);
  return r;
}

/** `A:B::C/len dev DEV [nodad|noprefixroute|tentative|deprecated]` (`ip -6 addr add` syntax). */
function addAddr6(w: Where, ns: Netns, t: string[], text: string, p: Path): void {
  const di = t.indexOf('dev');
  const slash = t[0].indexOf('/');
  const addr = parseIpv6Addr(slash < 0 ? t[0] : t[0].slice(0, slash));
  const len = slash < 0 ? 128 : Number(t[0].slice(slash + 1));
  if (!addr || !Number.isInteger(len) || len < 0 || len > 128) w.fail(p, `"${t[0]}" is not an IPv6 address/prefix`);
  if (di < 0) w.fail(p, `"${text}": expected "A:B::C/len dev DEV"`);
  const d = ns.byName.get(t[di + 1]);
  if (!d) w.fail(p, `device "${t[di + 1]}" is not defined in links`);
  const flags = t.filter((x) => ['nodad', 'noprefixroute', 'tentative', 'deprecated', 'optimistic', 'dadfailed'].includes(x));
  d.ifa6.push({ addr, prefixlen: len, scope: isLinkLocal6(addr) ? 'link' : isLoopback6(addr) ? 'host' : 'global', flags });
  d.addrs6.push(`${t[0].slice(0, slash < 0 ? undefined : slash)}/${len}`);
}

/** addrconf's own addresses: ::1/128 on lo, an EUI-64 link-local /64 on every other device without one. */
function addrconfDefaults(ns: Netns): void {
  for (const d of ns.devs) {
    if (d.kind === 'loopback') {
      if (!d.ifa6.some((a) => isLoopback6(a.addr))) {
        const lo = new Uint8Array(16);
        lo[15] = 1;
        d.ifa6.unshift({ addr: lo, prefixlen: 128, scope: 'host', flags: [] });
        d.addrs6.unshift('::1/128');
      }
      continue;
    }
    if (!d.up || d.ifa6.some((a) => isLinkLocal6(a.addr))) continue;
    const ll = eui64LinkLocal(d.macHi, d.macLo);
    d.ifa6.push({ addr: ll, prefixlen: 64, scope: 'link', flags: [] });
    d.addrs6.push(`${formatIpv6(ll)}/64`);
  }
}

const ROUTE6: RouteFamily<Uint8Array | null, Fib6Route> = {
  addr: (s) => parseIpv6Addr(s),
  addrName: 'IPv6 address',
  noGw: null,
  setSrc: (r, a) => (r.prefsrc = a),
  extra: (r, word, arg) => {
    if (word !== 'pref') return false;
    r.pref = arg;
    return true;
  },
  known: 'an IPv6 route attribute this model knows (via, dev, nexthop, weight, table, metric, src, proto, pref)',
};

/** `ip -6 route` syntax: [type] PREFIX [via GW] [dev DEV] [table T] [metric N] [src A] [proto P] [pref P]. */
function parseRoute6(w: Where, ns: Netns, text: string, p: Path): Fib6Route {
  const t = text.trim().split(/\s+/);
  const r = new Fib6Route();
  const k = routeType(t, r);
  const pfx = parsePrefix6(t[k] ?? '');
  if (!pfx) w.fail(p, `"${text}": "${t[k] ?? ''}" is not an IPv6 destination (A:B::/len or default)`);
  r.dst = pfx.addr;
  r.len = pfx.len;
  r.metric = r.type === 2 || r.type === 4 ? 0 : 1024;
  parseRouteAttrs(w, ns, text, p, t, k + 1, r, ROUTE6);
  for (const h of r.nh) {
    if (h.dev || !h.gw) continue;
    h.dev = onLinkDev6(ns, h.gw);
    if (!h.dev) w.fail(p, `"${text}": no device reaches gateway; add "dev DEV"`);
  }
  if (r.type === RTN_UNICAST && r.nh.length === 0) w.fail(p, `"${text}": a unicast route needs "via GW" or "dev DEV"`);
  r.text = route6Text(r);
  return r;
}

/** The selectors and actions IPv4 and IPv6 rules share (struct fib_rule); from/to differ by family. */
interface RuleCommon {
  pref: number;
  invert: boolean;
  iif: string | null;
  oif: string | null;
  fwmark: number;
  fwmask: number;
  /** IPv4 only (Fib6Rule has no tos selector). */
  tos?: number;
  ipproto: number;
  sportLo: number;
  sportHi: number;
  dportLo: number;
  dportHi: number;
  action: FibRule['action'];
  table: number;
  gotoPref: number;
  suppressPrefixlen: number;
}

/**
 * `ip rule` / `ip -6 rule` syntax into `r`; `from` and `to` are handed to `onPrefix` (the family's
 * prefix parser). Returns after checking that the rule has an action and a priority.
 */
function parseRuleWords(w: Where, text: string, p: Path, r: RuleCommon, onPrefix: (which: 'from' | 'to', s: string) => void): void {
  const t = text.trim().split(/\s+/);
  r.pref = -1;
  let k = 0, action = false;
  while (k < t.length) {
    const word = t[k++];
    if (word === 'not') {
      r.invert = true;
      continue;
    }
    if (word === 'blackhole' || word === 'unreachable' || word === 'prohibit' || word === 'nop') {
      r.action = word;
      action = true;
      continue;
    }
    const arg = t[k++];
    if (arg === undefined) w.fail(p, `"${text}": "${word}" needs a value`);
    switch (word) {
      case 'from':
      case 'to':
        onPrefix(word, arg);
        break;
      case 'iif':
        r.iif = arg;
        break;
      case 'oif':
        r.oif = arg;
        break;
      case 'fwmark': {
        const [v, m] = arg.split('/');
        r.fwmark = Number(v) >>> 0;
        r.fwmask = m !== undefined ? Number(m) >>> 0 : 0xffffffff;
        if (Number.isNaN(r.fwmark) || Number.isNaN(r.fwmask)) w.fail(p, `"${text}": fwmark "${arg}" is not VALUE[/MASK]`);
        break;
      }
      case 'tos':
        if (r.tos === undefined) w.fail(p, `"${text}": tos is not a selector of IPv6 rules here`);
        r.tos = uintArg(w, p, text, 'tos', arg, 255);
        break;
      case 'ipproto':
        r.ipproto = arg === 'tcp' ? 6 : arg === 'udp' ? 17 : arg === 'icmp' ? 1 : arg === 'ipv6-icmp' || arg === 'icmpv6' ? 58 : uintArg(w, p, text, 'ipproto', arg, 255);
        break;
      case 'sport':
      case 'dport': {
        const [a, b] = arg.split('-');
        const lo = uintArg(w, p, text, word, a, 65535);
        const hi = b === undefined ? undefined : uintArg(w, p, text, word, b, 65535);
        if (word === 'sport') [r.sportLo, r.sportHi] = [lo, hi ?? lo];
        else [r.dportLo, r.dportHi] = [lo, hi ?? lo];
        break;
      }
      case 'pref':
      case 'priority':
      case 'preference':
        r.pref = uintArg(w, p, text, word, arg, 0xffffffff);
        break;
      case 'lookup':
      case 'table':
        r.action = 'lookup';
        r.table = tableArg(w, arg, p);
        action = true;
        break;
      case 'goto':
        r.action = 'goto';
        r.gotoPref = uintArg(w, p, text, 'goto', arg, 0xffffffff);
        action = true;
        break;
      case 'suppress_prefixlength':
        r.suppressPrefixlen = uintArg(w, p, text, 'suppress_prefixlength', arg, 128);
        break;
      default:
        w.fail(p, `"${text}": "${word}" is not a rule selector this model knows`);
    }
  }
  if (!action) w.fail(p, `"${text}": a rule needs an action (lookup TABLE, goto PREF, blackhole, unreachable, prohibit)`);
  if (r.pref < 0) w.fail(p, `"${text}": give the rule a priority ("pref N"): the order of rules decides`);
}

/** An `ip -6 rule`. */
function parseRule6(w: Where, text: string, p: Path): Fib6Rule {
  const r = new Fib6Rule();
  parseRuleWords(w, text, p, r, (which, s) => {
    const x = parsePrefix6(s);
    if (!x) w.fail(p, `"${text}": "${s}" is not an IPv6 prefix`);
    if (which === 'from') [r.src, r.srcLen] = [x.addr, x.len];
    else [r.dst, r.dstLen] = [x.addr, x.len];
  });
  r.text = `${r.pref}:\t${text.replace(/\s*(pref|priority|preference) \d+/, '')}`;
  return r;
}

/** An `ip rule`. */
function parseRule(w: Where, text: string, p: Path): FibRule {
  const r = new FibRule();
  parseRuleWords(w, text, p, r, (which, s) => {
    const x = parsePrefix4(s);
    if (!x) w.fail(p, `"${text}": "${s}" is not a prefix`);
    if (which === 'from') [r.src, r.srcLen] = [x.addr, x.len];
    else [r.dst, r.dstLen] = [x.addr, x.len];
  });
  r.text = `${r.pref}:\t${r.invert ? 'not ' : ''}from ${r.srcLen ? `${fmt(r.src)}/${r.srcLen}` : 'all'}${r.dstLen ? ` to ${fmt(r.dst)}/${r.dstLen}` : ''}${r.iif ? ` iif ${r.iif}` : ''}${r.oif ? ` oif ${r.oif}` : ''}${r.fwmark ? ` fwmark 0x${r.fwmark.toString(16)}` : ''} ${r.action === 'lookup' ? `lookup ${tableName(r.table)}` : r.action === 'goto' ? `goto ${r.gotoPref}` : r.action}`;
  return r;
}

function fmt(a: number): string {
  return `${a >>> 24}.${(a >>> 16) & 255}.${(a >>> 8) & 255}.${a & 255}`;
}
