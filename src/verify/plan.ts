/**
 * The materialisation plan: a world (snapshot or lab) turned into the list of `ip`, `sysctl`, `nft`,
 * `iptables-restore` and `bridge` commands that rebuild it in fresh network namespaces. Pure data —
 * building it needs no root, so `verify --dry-run` can print it and tests can check it anywhere.
 *
 *   world ns "host"   → netns ppv<pid>-host        world device names are kept (≤ 15 characters)
 *   world ns "c1"     → netns ppv<pid>-c1          veth peers inside the world: one pair per two ends
 *   every edge device → veth pair, peer "inj<k>" in netns ppv<pid>-inj (the outside, where frames
 *                       are injected and where transmitted frames end)
 *
 * The kernel adds its own local/broadcast/connected routes when addresses are added, so routes with
 * `proto kernel` are skipped; so are the default rules 0/32766/32767 (deleted when the world lacks
 * one). IPv6 is built in the namespaces whose world uses it (any IPv6 address): addresses with
 * `nodad` (and DAD, kernel-made link-local addresses and router solicitations off, so the kernel
 * adds nothing the world lacks), routes and rules from fib6 except the kernel's own (proto kernel,
 * the local table, fe80::/64, multicast), permanent neighbours, and the IPv6 sysctls. Namespaces
 * without IPv6 (and the injector) keep it disabled: it would add router solicitations, MLD reports
 * and DAD to every capture.
 */
import { ConfigError } from '../errors.js';
import type { World, Netns } from '../stack/netns.js';
import type { NetDevice } from '../stack/netdev.js';
import { formatIpv4, formatMac } from '../stack/inet.js';
import { RT_TABLE_DEFAULT, RT_TABLE_LOCAL, RT_TABLE_MAIN, RTN_NAMES, RTN_UNICAST, RTN_LOCAL, type FibRoute, type FibRule } from '../stack/route.js';
import { formatIpv6, isLinkLocal6, isLoopback6, isMulticast6, type Fib6Route, type Fib6Rule, sysctl6 } from '../stack/route6.js';
import { nudName, NUD_DELAY, NUD_NOARP, NUD_PERMANENT, NUD_PROBE, NUD_REACHABLE, NUD_STALE } from '../stack/neigh.js';
import type { RawRuleset } from './rulesets.js';

/** Namespace and device names as the brief requires: letters, digits, _ . - only. */
export const NAME_RE = /^[A-Za-z0-9_.-]+$/;
/** IFNAMSIZ - 1. */
export const MAX_IFNAME = 15;

/** One command of the plan. */
export interface PlanStep {
  /** Tool name (resolved to a path when run) and its arguments. */
  argv: string[];
  /** What it does, for error messages: "create veth vethc1 (host) ↔ eth0 (c1)". */
  what: string;
  /** Text fed to stdin (iptables-restore). */
  input?: string;
  /** A file the step reads, written to the work directory first: {name, content}. */
  file?: { name: string; content: string };
  /** sysctl batches: failures of single keys become notes instead of errors. */
  sysctl?: boolean;
  /** Failure is a note, not an error. */
  optional?: boolean;
  /** Run these instead when this step fails (with `fallbackNote` recorded). */
  fallback?: PlanStep[];
  fallbackNote?: string;
  /** Retry once after the rest of its phase (routes whose gateway needs another route first). */
  retry?: boolean;
}

/** An edge: a world device whose other end is the injector namespace. */
export interface EdgeLink {
  ns: string;
  dev: string;
  /** Device name in the injector namespace. */
  injDev: string;
  /** MAC of the injector end: the world's neighbour on that link when there is exactly one. */
  injMac: string;
}

/** Sockets to open per namespace (TCP listen, UDP bind). */
export interface ListenerSpec {
  ns: string;
  /** [address, port], and for IPv6 addresses whether the socket is v6only (ss prints `[::]`, not `*`). */
  tcp: Array<[string, number, boolean?]>;
  udp: Array<[string, number, boolean?]>;
}

/** The plan and the name maps. */
export interface Plan {
  prefix: string;
  /** World namespace name → kernel netns name. */
  netns: Map<string, string>;
  injNs: string;
  edges: EdgeLink[];
  /** Per world namespace: world device name → kernel device name (the same unless renamed). */
  devNames: Map<string, Map<string, string>>;
  steps: PlanStep[];
  listeners: ListenerSpec[];
  /** Things that could not be materialised exactly, said once in every report. */
  notes: string[];
}

/** Options of the planner. */
export interface PlanOptions {
  prefix: string;
  allowUnsupported: boolean;
  rulesets: Map<string, RawRuleset>;
}

const CONF_LEAVES = new Set([
  'forwarding', 'rp_filter', 'accept_local', 'route_localnet', 'arp_ignore', 'arp_announce', 'arp_filter', 'arp_accept',
  'proxy_arp', 'send_redirects', 'accept_redirects', 'secure_redirects', 'accept_source_route', 'src_valid_mark',
  'log_martians', 'bootp_relay', 'shared_media', 'drop_gratuitous_arp', 'drop_unicast_in_l2_multicast', 'arp_notify',
]);
// Per-device settings the model reads for every packet: always written with the model's effective value,
// because a new namespace inherits conf.all/default from the host (devconf_inherit_init_net = 0).
const MODEL_CONF = ['rp_filter', 'accept_local', 'route_localnet', 'arp_ignore'] as const;
const GLOBAL_RE = new RegExp(
  '^net\\.ipv4\\.(ip_default_ttl|ip_local_port_range|ip_nonlocal_bind|ip_no_pmtu_disc|fwmark_reflect|icmp_ratelimit|icmp_ratemask|' +
    'icmp_msgs_per_sec|icmp_msgs_burst|icmp_echo_ignore_all|icmp_echo_ignore_broadcasts|icmp_errors_use_inet_iif|' +
    'tcp_syncookies|tcp_fwmark_accept|udp_l3mdev_accept|tcp_l3mdev_accept|ip_early_demux)$' +
    '|^net\\.netfilter\\.nf_conntrack_(?!count$|buckets$|max$|expect_max$)' +
    '|^net\\.bridge\\.bridge-nf-' +
    '|^net\\.ipv4\\.neigh\\.default\\.',
);

/** Build the plan for `world`. Throws ConfigError for names or devices that cannot be made. */
export function buildPlan(world: World, opts: PlanOptions): Plan {
  const P = opts.prefix;
  if (!NAME_RE.test(P)) throw new ConfigError(world.source, '', `namespace prefix "${P}" may only use letters, digits, _ . -`);
  const plan: Plan = { prefix: P, netns: new Map(), injNs: '', edges: [], devNames: new Map(), steps: [], listeners: [], notes: [] };
  for (const ns of world.namespaces) {
    if (!NAME_RE.test(ns.name)) throw new ConfigError(world.source, `namespace "${ns.name}"`, 'may only use letters, digits, _ . - to be materialised');
    plan.netns.set(ns.name, `${P}-${ns.name}`);
  }
  let inj = 'inj';
  while (world.byName.has(inj)) inj += '_';
  plan.injNs = `${P}-${inj}`;

  // Device names: kept unless they cannot be created; renamed ones are mapped back in every report.
  let renamed = 0;
  for (const ns of world.namespaces) {
    const m = new Map<string, string>();
    for (const d of ns.devs) {
      if (NAME_RE.test(d.name) && d.name.length <= MAX_IFNAME) m.set(d.name, d.name);
      else {
        const k = `ppvd${renamed++}`;
        m.set(d.name, k);
        plan.notes.push(`${ns.name}:${d.name} is created as ${k} (the name is not a valid Linux device name); reports use the world's name`);
      }
    }
    plan.devNames.set(ns.name, m);
  }
  const kdev = (d: NetDevice): string => plan.devNames.get(d.ns.name)!.get(d.name)!;
  const kns = (ns: Netns): string => plan.netns.get(ns.name)!;
  const ipn = (ns: Netns | string, ...args: string[]): string[] => ['ip', '-n', typeof ns === 'string' ? ns : kns(ns), ...args];
  const step = (s: PlanStep) => plan.steps.push(s);

  // 1. Namespaces, with IPv6 off and the host-wide settings the model reads (before any device exists,
  //    so that new devices inherit conf.default).
  for (const ns of world.namespaces) step({ argv: ['ip', 'netns', 'add', kns(ns)], what: `create network namespace ${kns(ns)} (world namespace ${ns.name})` });
  step({ argv: ['ip', 'netns', 'add', plan.injNs], what: `create the injector namespace ${plan.injNs}` });
  for (const ns of world.namespaces) {
    const kv = globalSysctls(ns, plan.notes, uses6(ns));
    step({ argv: ['ip', 'netns', 'exec', kns(ns), 'sysctl', '-w', ...kv], what: `sysctls of ${ns.name}`, sysctl: true });
    step({ argv: ipn(ns, 'link', 'set', 'dev', 'lo', 'up'), what: `bring up lo in ${ns.name}` });
  }
  step({
    argv: ['ip', 'netns', 'exec', plan.injNs, 'sysctl', '-w', 'net/ipv6/conf/all/disable_ipv6=1', 'net/ipv6/conf/default/disable_ipv6=1', 'net/ipv4/ip_forward=0'],
    what: 'sysctls of the injector namespace',
    sysctl: true,
  });

  // 2. Devices: bridges, veth pairs inside the world, edges, then the rest.
  const edgeDevs: NetDevice[] = [];
  for (const ns of world.namespaces) {
    for (const d of ns.devs) {
      if (d.kind !== 'bridge') continue;
      const b = d.bridge!;
      // Only non-default options: a kernel without CONFIG_BRIDGE_VLAN_FILTERING refuses even "vlan_filtering 0".
      const args = ['link', 'add', kdev(d), 'type', 'bridge', 'stp_state', String(b.stpState ? 1 : 0), 'ageing_time', String(Math.round(b.ageingTime * 100)), 'mcast_snooping', '0'];
      if (b.vlanFiltering) args.push('vlan_filtering', '1');
      if (b.nfCallIptables) args.push('nf_call_iptables', '1');
      step({ argv: ipn(ns, ...args), what: `create bridge ${ns.name}:${d.name}` });
    }
  }
  const pairDone = new Set<NetDevice>();
  for (const ns of world.namespaces) {
    for (const d of ns.devs) {
      if (d.kind !== 'veth' || d.edge || !d.peer || pairDone.has(d)) continue;
      pairDone.add(d);
      pairDone.add(d.peer);
      step({
        argv: ipn(ns, 'link', 'add', kdev(d), 'type', 'veth', 'peer', 'name', kdev(d.peer), 'netns', kns(d.peer.ns)),
        what: `create veth pair ${ns.name}:${d.name} ↔ ${d.peer.ns.name}:${d.peer.name}`,
      });
    }
  }
  for (const ns of world.namespaces) {
    for (const d of ns.devs) {
      if (d.kind === 'loopback' || d.kind === 'bridge' || (d.kind === 'veth' && !d.edge)) continue;
      if (d.kind === 'vlan') {
        step({
          argv: ipn(ns, 'link', 'add', 'link', kdev(d.lower!), 'name', kdev(d), 'type', 'vlan', 'id', String(d.vlanId)),
          what: `create VLAN ${ns.name}:${d.name} (id ${d.vlanId} on ${d.lower!.name}); the kernel needs 802.1Q support (module 8021q)`,
        });
        continue;
      }
      if (d.kind === 'dummy') {
        const k = edgeDevs.length;
        edgeDevs.push(d);
        step({
          argv: ipn(ns, 'link', 'add', kdev(d), 'type', 'dummy'),
          what: `create dummy ${ns.name}:${d.name}`,
          fallback: [{ argv: ipn(ns, 'link', 'add', kdev(d), 'type', 'veth', 'peer', 'name', `inj${k}`, 'netns', plan.injNs), what: `create ${ns.name}:${d.name} as a veth to the injector` }],
          fallbackNote: `${ns.name}:${d.name}: this kernel has no dummy devices; made a veth whose peer in the injector namespace discards what it sends`,
        });
        plan.edges.push({ ns: ns.name, dev: d.name, injDev: `inj${k}`, injMac: edgeMac(d, k) });
        continue;
      }
      if (!d.edge) {
        const what = `${ns.name}:${d.name}: device kind "${d.kind}" cannot be materialised`;
        if (!opts.allowUnsupported) throw new ConfigError(world.source, '', `${what}; remove it or pass --allow-unsupported`);
        plan.notes.push(`${what}; left out`);
        continue;
      }
      const k = edgeDevs.length;
      edgeDevs.push(d);
      plan.edges.push({ ns: ns.name, dev: d.name, injDev: `inj${k}`, injMac: edgeMac(d, k) });
      step({
        argv: ipn(ns, 'link', 'add', kdev(d), 'type', 'veth', 'peer', 'name', `inj${k}`, 'netns', plan.injNs),
        what: `create edge ${ns.name}:${d.name} (${d.kind === 'ether' ? 'a physical NIC' : d.edgeNote || 'edge'}) as a veth to the injector`,
      });
    }
  }

  // 3. MACs, MTUs, bridge ports, up. The injector ends take any frame size: the world device decides.
  for (const ns of world.namespaces) {
    for (const d of ns.devs) {
      if (d.kind === 'loopback') continue;
      const args = ['link', 'set', 'dev', kdev(d)];
      if (d.macHi !== 0 || d.macLo !== 0) args.push('address', formatMac(d.macHi, d.macLo));
      args.push('mtu', String(d.mtu));
      step({ argv: ipn(ns, ...args), what: `set MAC and MTU of ${ns.name}:${d.name}` });
    }
  }
  for (const e of plan.edges) {
    step({
      argv: ipn(plan.injNs, 'link', 'set', 'dev', e.injDev, 'address', e.injMac, 'mtu', '65535', 'up'),
      what: `set up the injector end ${e.injDev} of ${e.ns}:${e.dev}`,
      fallback: [{ argv: ipn(plan.injNs, 'link', 'set', 'dev', e.injDev, 'address', e.injMac, 'up'), what: `set up the injector end ${e.injDev}` }],
    });
  }
  for (const ns of world.namespaces) {
    for (const d of ns.devs) {
      if (!d.master) continue;
      step({ argv: ipn(ns, 'link', 'set', 'dev', kdev(d), 'master', kdev(d.master)), what: `enslave ${ns.name}:${d.name} to bridge ${d.master.name}` });
      const p = d.brport;
      if (p && (!p.learning || !p.flood || p.hairpin || p.isolated)) {
        step({
          argv: ipn(ns, 'link', 'set', 'dev', kdev(d), 'type', 'bridge_slave', 'learning', p.learning ? 'on' : 'off', 'flood', p.flood ? 'on' : 'off',
            'hairpin', p.hairpin ? 'on' : 'off', 'isolated', p.isolated ? 'on' : 'off'),
          what: `bridge port flags of ${ns.name}:${d.name}`,
        });
      }
    }
  }
  for (const ns of world.namespaces) {
    for (const d of ns.devs) {
      if (d.kind === 'loopback' || !d.up) continue;
      step({ argv: ipn(ns, 'link', 'set', 'dev', kdev(d), 'up'), what: `bring up ${ns.name}:${d.name}` });
    }
  }

  // 4. Per-device sysctls: exactly what the model reads.
  for (const ns of world.namespaces) {
    const kv = deviceSysctls(ns, kdev, uses6(ns));
    if (kv.length) step({ argv: ['ip', 'netns', 'exec', kns(ns), 'sysctl', '-w', ...kv], what: `per-device sysctls of ${ns.name}`, sysctl: true });
  }

  // 5. Addresses, routes, rules, neighbours, static FDB entries.
  for (const ns of world.namespaces) {
    for (const d of ns.devs) {
      for (const a of d.addrs4) {
        if (d.kind === 'loopback' && a.local === 0x7f000001 && a.prefixlen === 8) continue;
        const args = ['addr', 'add', `${formatIpv4(a.local)}/${a.prefixlen}`];
        if (a.broadcast) args.push('brd', formatIpv4(a.broadcast));
        if (a.scope !== 'global') args.push('scope', a.scope);
        args.push('dev', kdev(d));
        step({ argv: ipn(ns, ...args), what: `address ${formatIpv4(a.local)}/${a.prefixlen} on ${ns.name}:${d.name}` });
      }
    }
  }
  for (const ns of world.namespaces) {
    if (!uses6(ns)) continue;
    for (const d of ns.devs) {
      for (const a of d.ifa6) {
        if (d.kind === 'loopback' && isLoopback6(a.addr)) continue;
        const text = `${formatIpv6(a.addr)}/${a.prefixlen}`;
        const args = ['-6', 'addr', 'add', text, 'dev', kdev(d), 'nodad'];
        if (a.flags.includes('noprefixroute')) args.push('noprefixroute');
        step({ argv: ipn(ns, ...args), what: `address ${text} on ${ns.name}:${d.name}` });
      }
    }
  }
  for (const ns of world.namespaces) {
    for (const r of ns.fib4.all) {
      if (r.proto === 'kernel') continue;
      step({ argv: ipn(ns, 'route', 'add', ...routeArgs(r, kdev)), what: `route "${r.text}" in ${ns.name}`, retry: true });
    }
  }
  for (const ns of world.namespaces) {
    if (!uses6(ns)) continue;
    for (const r of ns.fib6.all) {
      if (r.proto === 'kernel' || r.table === RT_TABLE_LOCAL || isMulticast6(r.dst) || (r.len === 64 && isLinkLocal6(r.dst) && r.nh.every((h) => !h.gw))) continue;
      step({ argv: ipn(ns, '-6', 'route', 'add', ...route6Args(r, kdev)), what: `IPv6 route "${r.text}" in ${ns.name}`, retry: true });
    }
    for (const [pref, table] of [[0, RT_TABLE_LOCAL], [32766, RT_TABLE_MAIN]] as const) {
      if (!ns.fib6.rules.some((r) => isDefaultRule6(r, pref, table))) {
        step({ argv: ipn(ns, '-6', 'rule', 'del', 'pref', String(pref)), what: `delete the default IPv6 rule ${pref} in ${ns.name} (the world has none)` });
      }
    }
    for (const r of ns.fib6.rules) {
      if (isDefaultRule6(r, 0, RT_TABLE_LOCAL) || isDefaultRule6(r, 32766, RT_TABLE_MAIN)) continue;
      step({ argv: ipn(ns, '-6', 'rule', 'add', ...rule6Args(r)), what: `IPv6 rule "${r.text.replace(/\t/g, ' ')}" in ${ns.name}` });
    }
  }
  for (const ns of world.namespaces) {
    for (const [pref, table] of [[0, RT_TABLE_LOCAL], [32766, RT_TABLE_MAIN], [32767, RT_TABLE_DEFAULT]] as const) {
      if (!ns.fib4.rules.some((r) => isDefaultRule(r, pref, table))) {
        step({ argv: ipn(ns, 'rule', 'del', 'pref', String(pref)), what: `delete the default rule ${pref} in ${ns.name} (the world has none)` });
      }
    }
    for (const r of ns.fib4.rules) {
      if (isDefaultRule(r, 0, RT_TABLE_LOCAL) || isDefaultRule(r, 32766, RT_TABLE_MAIN) || isDefaultRule(r, 32767, RT_TABLE_DEFAULT)) continue;
      step({ argv: ipn(ns, 'rule', 'add', ...ruleArgs(r)), what: `rule "${r.text.replace(/\t/g, ' ')}" in ${ns.name}` });
    }
  }
  for (const ns of world.namespaces) {
    for (const n of ns.neigh.entries.values()) {
      const st = n.state;
      const usable = st & (NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE);
      if (!usable || n.macHi < 0) {
        if (st) plan.notes.push(`${ns.name}: neighbour ${formatIpv4(n.addr)} dev ${n.dev.name} (${nudName(st)}) is not created: the kernel resolves it again`);
        continue;
      }
      step({
        argv: ipn(ns, 'neigh', 'replace', formatIpv4(n.addr), 'dev', kdev(n.dev), 'lladdr', formatMac(n.macHi, n.macLo), 'nud', nudName(st).toLowerCase()),
        what: `neighbour ${formatIpv4(n.addr)} on ${ns.name}:${n.dev.name}`,
      });
    }
    for (const n of ns.neigh6.entries.values()) {
      const st = n.state;
      const a = formatIpv6(ns.addr6Ids.addr(n.addr));
      const usable = st & (NUD_PERMANENT | NUD_NOARP | NUD_REACHABLE | NUD_STALE | NUD_DELAY | NUD_PROBE);
      if (!usable || n.macHi < 0 || !uses6(ns)) {
        if (st) plan.notes.push(`${ns.name}: IPv6 neighbour ${a} dev ${n.dev.name} (${nudName(st)}) is not created: the kernel resolves it again`);
        continue;
      }
      step({
        argv: ipn(ns, '-6', 'neigh', 'replace', a, 'dev', kdev(n.dev), 'lladdr', formatMac(n.macHi, n.macLo), 'nud', nudName(st).toLowerCase()),
        what: `IPv6 neighbour ${a} on ${ns.name}:${n.dev.name}`,
      });
    }
    for (const d of ns.devs) {
      if (!d.bridge) continue;
      for (const e of d.bridge.fdb.values()) {
        if (!e.permanent || e.local || e.dst === d) continue;
        step({
          argv: ['ip', 'netns', 'exec', kns(ns), 'bridge', 'fdb', 'add', formatMac(e.macHi, e.macLo), 'dev', kdev(e.dst), 'master', 'static'],
          what: `static FDB entry ${formatMac(e.macHi, e.macLo)} on ${ns.name}:${e.dst.name}`,
        });
      }
    }
  }

  // 6. Rulesets, as the world's own text: iptables-save through iptables-restore, nft through nft -f.
  for (const ns of world.namespaces) {
    const rs = opts.rulesets.get(ns.name);
    if (!rs) continue;
    plan.notes.push(...rs.notes);
    if (rs.iptables) {
      step({ argv: ['ip', 'netns', 'exec', kns(ns), 'iptables-restore'], input: rs.iptables, what: `iptables rules of ${ns.name} (iptables-restore)` });
    }
    if (rs.nftText) {
      const name = `nft-${ns.name}.nft`;
      step({ argv: ['ip', 'netns', 'exec', kns(ns), 'nft', '-f', `@WORK/${name}`], file: { name, content: rs.nftText }, what: `nft ruleset of ${ns.name} (nft -f)` });
    }
    if (rs.nftJson) {
      const name = `nft-${ns.name}.json`;
      step({ argv: ['ip', 'netns', 'exec', kns(ns), 'nft', '-j', '-f', `@WORK/${name}`], file: { name, content: rs.nftJson }, what: `nft ruleset of ${ns.name} (nft -j -f)` });
    }
  }

  // 7. Listening sockets.
  for (const ns of world.namespaces) {
    const spec: ListenerSpec = { ns: ns.name, tcp: [], udp: [] };
    const seen = new Set<string>();
    for (const s of ns.sockets) {
      const listening = s.proto === 'tcp' ? s.state === 'LISTEN' : s.peerPort === 0;
      if (!listening || s.localPort === 0) continue;
      let addr: string;
      let v6only: boolean | undefined;
      if (s.family === 4) addr = formatIpv4(s.localAddr);
      else if (uses6(ns)) {
        addr = s.local6;
        // ss prints a dual-stack wildcard as `*:80` and a v6only one as `[::]:80` (the local address is field 5).
        v6only = s.local6 === '::' && !(s.text.trim().split(/\s+/)[4] ?? '').startsWith('*:');
      } else if (s.local6 === '::') addr = '0.0.0.0';
      else {
        plan.notes.push(`${ns.name}: socket ${s.name()} is IPv6-only; not opened`);
        continue;
      }
      const key = `${s.proto} ${addr}:${s.localPort}`;
      if (seen.has(key)) continue;
      seen.add(key);
      (s.proto === 'tcp' ? spec.tcp : spec.udp).push(v6only === undefined ? [addr, s.localPort] : [addr, s.localPort, v6only]);
    }
    if (spec.tcp.length || spec.udp.length) plan.listeners.push(spec);
  }
  return plan;
}

/** A locally administered MAC for the injector end, or the world's only neighbour on that link. */
function edgeMac(d: NetDevice, k: number): string {
  const macs = new Set<string>();
  for (const n of d.ns.neigh.entries.values()) if (n.dev === d && n.macHi >= 0) macs.add(formatMac(n.macHi, n.macLo));
  if (macs.size === 1) return [...macs][0];
  return `02:70:76:00:${((k >> 8) & 255).toString(16).padStart(2, '0')}:${(k & 255).toString(16).padStart(2, '0')}`;
}

/** `key=value` arguments (sysctl's slash form, so device names with dots work). */
function kvArg(key: string, value: string): string {
  return `${key}=${value.replace(/\s+/g, '\t')}`;
}

/** True when the world gives this namespace any IPv6 address (a lab mentioning IPv6, a snapshot with it on). */
export function uses6(ns: Netns): boolean {
  return ns.sysctl.get('net.ipv6.conf.all.disable_ipv6') !== '1' && ns.devs.some((d) => d.ifa6.length > 0);
}

const GLOBAL6_RE = new RegExp(
  '^net\\.ipv6\\.(conf\\.(all|default)\\.(hop_limit|mtu|accept_source_route|proxy_ndp|accept_untracked_na|drop_unsolicited_na|' +
    'ignore_routes_with_linkdown|disable_policy|seg6_enabled)|icmp\\.[a-z_]+|neigh\\.default\\.[a-z_]+)$',
);
const DEV6_LEAVES = new Set(['hop_limit', 'mtu', 'accept_source_route', 'proxy_ndp', 'accept_untracked_na', 'drop_unsolicited_na', 'ignore_routes_with_linkdown']);

function globalSysctls(ns: Netns, notes: string[], v6: boolean): string[] {
  const s = ns.sysctl;
  const out: string[] = [];
  if (!v6) out.push(kvArg('net/ipv6/conf/all/disable_ipv6', '1'), kvArg('net/ipv6/conf/default/disable_ipv6', '1'));
  else {
    // IPv6 on, and nothing the world lacks: no DAD, no kernel-made link-local addresses (the world's
    // own are added with nodad), no router solicitations or RAs. Written before any device exists, so
    // every device inherits conf.default; forwarding goes through conf.all (it sets default too).
    out.push(kvArg('net/ipv6/conf/all/disable_ipv6', '0'), kvArg('net/ipv6/conf/default/disable_ipv6', '0'));
    for (const scope of ['all', 'default']) {
      out.push(kvArg(`net/ipv6/conf/${scope}/accept_dad`, '0'), kvArg(`net/ipv6/conf/${scope}/addr_gen_mode`, '1'),
        kvArg(`net/ipv6/conf/${scope}/router_solicitations`, '0'), kvArg(`net/ipv6/conf/${scope}/accept_ra`, '0'));
    }
    out.push(kvArg('net/ipv6/conf/all/forwarding', s.get('net.ipv6.conf.all.forwarding') ?? '0'));
    for (const [k, v] of s.values) if (GLOBAL6_RE.test(k)) out.push(kvArg(k.replace(/\./g, '/'), v));
  }
  // ip_forward first: writing it resets conf.all.forwarding and every device's flag.
  out.push(kvArg('net/ipv4/ip_forward', s.get('net.ipv4.ip_forward') ?? '0'));
  for (const scope of ['all', 'default']) {
    out.push(kvArg(`net/ipv4/conf/${scope}/forwarding`, s.get(`net.ipv4.conf.${scope}.forwarding`) ?? s.get('net.ipv4.ip_forward') ?? '0'));
    for (const leaf of MODEL_CONF) out.push(kvArg(`net/ipv4/conf/${scope}/${leaf}`, s.get(`net.ipv4.conf.${scope}.${leaf}`) ?? '0'));
  }
  for (const [k, v] of s.values) {
    const m = /^net\.ipv4\.conf\.(all|default)\.([a-z_]+)$/.exec(k);
    if (m) {
      if (CONF_LEAVES.has(m[2]) && m[2] !== 'forwarding' && !(MODEL_CONF as readonly string[]).includes(m[2])) out.push(kvArg(`net/ipv4/conf/${m[1]}/${m[2]}`, v));
      continue;
    }
    if (k === 'net.netfilter.nf_conntrack_max' && v !== '262144') {
      notes.push(`${ns.name}: net.netfilter.nf_conntrack_max = ${v} is not applied: it is global and read-only inside a network namespace, so the kernel uses the host's value`);
      continue;
    }
    if (GLOBAL_RE.test(k)) out.push(kvArg(k.replace(/\./g, '/'), v));
  }
  return out;
}

function deviceSysctls(ns: Netns, kdev: (d: NetDevice) => string, v6: boolean): string[] {
  const s = ns.sysctl;
  const out: string[] = [];
  for (const d of ns.devs) {
    const k = kdev(d);
    if (v6 && d.kind !== 'loopback') {
      out.push(kvArg(`net/ipv6/conf/${k}/forwarding`, String(sysctl6(ns, d.name, 'forwarding'))));
      for (const [key, v] of s.values) {
        for (const kind of ['conf', 'neigh'] as const) {
          const pfx = `net.ipv6.${kind}.${d.name}.`;
          if (!key.startsWith(pfx)) continue;
          const leaf = key.slice(pfx.length);
          if (leaf.includes('.') || (kind === 'conf' && !DEV6_LEAVES.has(leaf))) continue;
          out.push(kvArg(`net/ipv6/${kind}/${k}/${leaf}`, v));
        }
      }
    }
    out.push(kvArg(`net/ipv4/conf/${k}/forwarding`, s.forwarding(d.name) ? '1' : '0'));
    for (const leaf of MODEL_CONF) out.push(kvArg(`net/ipv4/conf/${k}/${leaf}`, String(s.devConf(d.name, leaf))));
    for (const [key, v] of s.values) {
      for (const kind of ['conf', 'neigh'] as const) {
        const pfx = `net.ipv4.${kind}.${d.name}.`;
        if (!key.startsWith(pfx)) continue;
        const leaf = key.slice(pfx.length);
        if (leaf.includes('.')) continue;
        if (kind === 'conf' && (!CONF_LEAVES.has(leaf) || leaf === 'forwarding' || (MODEL_CONF as readonly string[]).includes(leaf))) continue;
        out.push(kvArg(`net/ipv4/${kind}/${k}/${leaf}`, v));
      }
    }
  }
  return out;
}

function isDefaultRule(r: FibRule, pref: number, table: number): boolean {
  return r.pref === pref && r.action === 'lookup' && r.table === table && !r.invert && r.srcLen === 0 && r.dstLen === 0 && r.iif === null &&
    r.oif === null && r.fwmark === 0 && r.fwmask === 0 && r.tos === 0 && r.ipproto === 0 && r.sportHi === 0 && r.dportHi === 0 && r.suppressPrefixlen < 0;
}

/** `ip route add` arguments from the route's fields (FibRoute.text is the same in `ip route` syntax). */
export function routeArgs(r: FibRoute, kdev: (d: NetDevice) => string): string[] {
  const a: string[] = [];
  if (r.type !== RTN_UNICAST) a.push(RTN_NAMES[r.type]);
  a.push(r.len === 0 && r.dst === 0 ? 'default' : `${formatIpv4(r.dst)}/${r.len}`);
  if (r.tos) a.push('tos', String(r.tos));
  if (r.table !== RT_TABLE_MAIN) a.push('table', String(r.table));
  if (r.proto && r.proto !== 'kernel') a.push('proto', r.proto);
  const hasGw = r.nh.some((h) => h.gw !== 0);
  const dfltScope = r.type === RTN_LOCAL ? 'host' : r.type === RTN_UNICAST && !hasGw ? 'link' : 'global';
  if ((r.type === RTN_UNICAST || r.type === RTN_LOCAL) && r.scope !== dfltScope && r.scope !== 'nowhere') a.push('scope', r.scope);
  if (r.prefsrc) a.push('src', formatIpv4(r.prefsrc));
  if (r.metric) a.push('metric', String(r.metric));
  if (r.nh.length === 1) {
    const h = r.nh[0];
    if (h.gw) a.push('via', formatIpv4(h.gw));
    if (h.dev) a.push('dev', kdev(h.dev));
  } else {
    for (const h of r.nh) {
      a.push('nexthop');
      if (h.gw) a.push('via', formatIpv4(h.gw));
      if (h.dev) a.push('dev', kdev(h.dev));
      a.push('weight', String(h.weight));
    }
  }
  return a;
}

function isDefaultRule6(r: Fib6Rule, pref: number, table: number): boolean {
  return r.pref === pref && r.action === 'lookup' && r.table === table && !r.invert && r.srcLen === 0 && r.dstLen === 0 && r.iif === null &&
    r.oif === null && r.fwmark === 0 && r.fwmask === 0 && r.tclass === 0 && r.ipproto === 0 && r.sportHi === 0 && r.dportHi === 0 && r.suppressPrefixlen < 0;
}

/** `ip -6 route add` arguments from the route's fields. */
export function route6Args(r: Fib6Route, kdev: (d: NetDevice) => string): string[] {
  const a: string[] = [];
  if (r.type !== RTN_UNICAST) a.push(RTN_NAMES[r.type]);
  a.push(r.len === 0 ? 'default' : `${formatIpv6(r.dst)}/${r.len}`);
  if (r.table !== RT_TABLE_MAIN) a.push('table', String(r.table));
  if (r.proto && r.proto !== 'kernel') a.push('proto', r.proto);
  if (r.prefsrc) a.push('src', formatIpv6(r.prefsrc));
  a.push('metric', String(r.metric));
  if (r.pref && r.pref !== 'medium') a.push('pref', r.pref);
  if (r.nh.length === 1) {
    const h = r.nh[0];
    if (h.gw) a.push('via', formatIpv6(h.gw));
    if (h.dev) a.push('dev', kdev(h.dev));
  } else {
    for (const h of r.nh) {
      a.push('nexthop');
      if (h.gw) a.push('via', formatIpv6(h.gw));
      if (h.dev) a.push('dev', kdev(h.dev));
      a.push('weight', String(h.weight));
    }
  }
  return a;
}

/** `ip -6 rule add` arguments from the rule's fields. */
export function rule6Args(r: Fib6Rule): string[] {
  const a: string[] = ['pref', String(r.pref)];
  if (r.invert) a.push('not');
  if (r.srcLen) a.push('from', `${formatIpv6(r.src)}/${r.srcLen}`);
  if (r.dstLen) a.push('to', `${formatIpv6(r.dst)}/${r.dstLen}`);
  if (r.iif !== null) a.push('iif', r.iif);
  if (r.oif !== null) a.push('oif', r.oif);
  if (r.fwmark || r.fwmask) a.push('fwmark', `0x${r.fwmark.toString(16)}/0x${(r.fwmask || 0xffffffff).toString(16)}`);
  if (r.tclass) a.push('tos', String(r.tclass));
  if (r.ipproto) a.push('ipproto', String(r.ipproto));
  if (r.sportHi) a.push('sport', r.sportLo === r.sportHi ? String(r.sportLo) : `${r.sportLo}-${r.sportHi}`);
  if (r.dportHi) a.push('dport', r.dportLo === r.dportHi ? String(r.dportLo) : `${r.dportLo}-${r.dportHi}`);
  if (r.action === 'lookup') a.push('lookup', String(r.table));
  else if (r.action === 'goto') a.push('goto', String(r.gotoPref));
  else a.push(r.action);
  if (r.suppressPrefixlen >= 0) a.push('suppress_prefixlength', String(r.suppressPrefixlen));
  return a;
}

/** `ip rule add` arguments from the rule's fields. */
export function ruleArgs(r: FibRule): string[] {
  const a: string[] = ['pref', String(r.pref)];
  if (r.invert) a.push('not');
  if (r.srcLen) a.push('from', `${formatIpv4(r.src)}/${r.srcLen}`);
  if (r.dstLen) a.push('to', `${formatIpv4(r.dst)}/${r.dstLen}`);
  if (r.iif !== null) a.push('iif', r.iif);
  if (r.oif !== null) a.push('oif', r.oif);
  if (r.fwmark || r.fwmask) a.push('fwmark', `0x${r.fwmark.toString(16)}/0x${(r.fwmask || 0xffffffff).toString(16)}`);
  if (r.tos) a.push('tos', String(r.tos));
  if (r.ipproto) a.push('ipproto', String(r.ipproto));
  if (r.sportHi) a.push('sport', r.sportLo === r.sportHi ? String(r.sportLo) : `${r.sportLo}-${r.sportHi}`);
  if (r.dportHi) a.push('dport', r.dportLo === r.dportHi ? String(r.dportLo) : `${r.dportLo}-${r.dportHi}`);
  switch (r.action) {
    case 'lookup':
      a.push('lookup', String(r.table));
      break;
    case 'goto':
      a.push('goto', String(r.gotoPref));
      break;
    default:
      a.push(r.action);
  }
  if (r.suppressPrefixlen >= 0) a.push('suppress_prefixlength', String(r.suppressPrefixlen));
  return a;
}

/** The plan as shell-like lines (for --dry-run and error reports; never executed through a shell). */
export function planText(plan: Plan): string {
  const q = (s: string) => (/^[A-Za-z0-9_.:/@=,+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  const lines: string[] = [];
  for (const s of plan.steps) {
    let line = s.argv.map(q).join(' ');
    if (s.input !== undefined) line += ` <<'EOF'\n${s.input.trimEnd()}\nEOF`;
    if (s.file) line += `\n# @WORK/${s.file.name}:\n${s.file.content.trimEnd().split('\n').map((l) => `#   ${l}`).join('\n')}`;
    lines.push(line);
  }
  for (const l of plan.listeners) lines.push(`# listeners in ${l.ns}: ${[...l.tcp.map(([a, p]) => `tcp ${a}:${p}`), ...l.udp.map(([a, p]) => `udp ${a}:${p}`)].join(', ')}`);
  for (const n of plan.notes) lines.push(`# note: ${n}`);
  return lines.join('\n') + '\n';
}
