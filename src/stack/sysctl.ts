/**
 * Datapath sysctls of one namespace, read from `sysctl -a` lines, with the kernel's defaults for a
 * fresh namespace where a key is absent (datapath-facts.md: ip_forward 0, rp_filter 0, br_netfilter on).
 */

/** Defaults of a new network namespace (kernel 6.x). */
const DEFAULTS: Record<string, string> = {
  'net.ipv4.ip_forward': '0',
  'net.ipv4.conf.all.forwarding': '0',
  'net.ipv4.conf.default.forwarding': '0',
  'net.ipv4.conf.all.rp_filter': '0',
  'net.ipv4.conf.default.rp_filter': '0',
  'net.ipv4.conf.all.accept_local': '0',
  'net.ipv4.conf.default.accept_local': '0',
  'net.ipv4.conf.all.arp_ignore': '0',
  'net.ipv4.conf.default.arp_ignore': '0',
  'net.ipv4.conf.all.route_localnet': '0',
  'net.ipv4.conf.default.route_localnet': '0',
  'net.ipv4.conf.all.send_redirects': '1',
  'net.ipv4.conf.default.send_redirects': '1',
  'net.ipv4.icmp_echo_ignore_broadcasts': '1',
  'net.ipv4.icmp_echo_ignore_all': '0',
  'net.ipv4.icmp_ratelimit': '1000',
  'net.ipv4.icmp_ratemask': '6168',
  'net.ipv4.icmp_errors_use_inet_iif': '0',
  'net.ipv4.ip_default_ttl': '64',
  'net.ipv4.ip_local_port_range': '32768\t60999',
  'net.bridge.bridge-nf-call-iptables': '1',
  'net.bridge.bridge-nf-call-ip6tables': '1',
  'net.bridge.bridge-nf-call-arptables': '1',
  'net.core.netdev_max_backlog': '1000',
  'net.core.netdev_budget': '300',
  'net.core.netdev_budget_usecs': '8000',
  'net.core.dev_weight': '64',
  'net.netfilter.nf_conntrack_max': '262144',
  'net.netfilter.nf_conntrack_buckets': '65536',
  'net.netfilter.nf_conntrack_tcp_loose': '1',
  'net.netfilter.nf_conntrack_tcp_be_liberal': '0',
  'net.ipv4.neigh.default.retrans_time_ms': '1000',
  'net.ipv4.neigh.default.ucast_solicit': '3',
  'net.ipv4.neigh.default.mcast_solicit': '3',
  'net.ipv4.neigh.default.app_solicit': '0',
  'net.ipv4.neigh.default.delay_first_probe_time': '5',
  'net.ipv4.neigh.default.base_reachable_time_ms': '30000',
  'net.ipv4.neigh.default.gc_stale_time': '60',
  'net.ipv4.neigh.default.unres_qlen': '101',
};

/** Per-device IPv4 settings the receive path reads for every packet, resolved once (sysctls do not change during a replay). */
export class DevConf {
  constructor(
    readonly rpFilter: number,
    readonly forwarding: boolean,
    readonly acceptLocal: boolean,
    readonly routeLocalnet: boolean,
    readonly arpIgnore: number,
  ) {}
}

/** The sysctl values of one namespace. */
export class Sysctl {
  readonly values = new Map<string, string>();
  private confs = new Map<string, DevConf>();
  private brNf = -1;

  /** The resolved per-device settings of `dev` (cached). */
  conf(dev: string): DevConf {
    let c = this.confs.get(dev);
    if (!c) {
      c = new DevConf(
        this.rpFilter(dev),
        this.forwarding(dev),
        this.acceptLocal(dev),
        this.int('net.ipv4.conf.all.route_localnet') !== 0 || this.devConf(dev, 'route_localnet') !== 0,
        Math.max(this.int('net.ipv4.conf.all.arp_ignore'), this.devConf(dev, 'arp_ignore')),
      );
      this.confs.set(dev, c);
    }
    return c;
  }

  /** net.bridge.bridge-nf-call-iptables (cached). */
  brNfCallIptables(): boolean {
    if (this.brNf < 0) this.brNf = this.int('net.bridge.bridge-nf-call-iptables', 1) !== 0 ? 1 : 0;
    return this.brNf === 1;
  }

  /** Parse `key = value` lines; returns the line numbers that did not parse. */
  load(text: string): number[] {
    const bad: number[] = [];
    text.split('\n').forEach((line, i) => {
      const t = line.trim();
      if (t === '' || t.startsWith('#') || t.startsWith(';')) return;
      const eq = t.indexOf('=');
      if (eq < 0) {
        bad.push(i + 1);
        return;
      }
      this.values.set(t.slice(0, eq).trim().replace(/\//g, '.'), t.slice(eq + 1).trim());
    });
    return bad;
  }

  /** Set one value (lab files), with the side effects the kernel's handler has. */
  set(key: string, value: string): void {
    const k = key.replace(/\//g, '.');
    this.values.set(k, value);
    if (k === 'net.ipv4.ip_forward' || k === 'net.ipv4.conf.all.forwarding') {
      // One knob: ip_forward's data is conf.all.forwarding (sysctl_net_ipv4.c), and its handler
      // devinet_sysctl_forward → inet_forward_change() copies it to conf.default and every device, and
      // sets conf.all.accept_redirects to its negation.
      const on = (parseInt(value, 10) || 0) !== 0;
      for (const f of ['net.ipv4.ip_forward', 'net.ipv4.conf.all.forwarding', 'net.ipv4.conf.default.forwarding']) this.values.set(f, on ? '1' : '0');
      for (const x of [...this.values.keys()]) if (/^net\.ipv4\.conf\.[^.]+\.forwarding$/.test(x)) this.values.set(x, on ? '1' : '0');
      this.values.set('net.ipv4.conf.all.accept_redirects', on ? '0' : '1');
    } else if (k === 'net.ipv6.conf.all.forwarding') {
      // addrconf_sysctl_forward → addrconf_fixup_forwarding(): conf.default and every device follow all.
      const v = (parseInt(value, 10) || 0) !== 0 ? '1' : '0';
      for (const x of [...this.values.keys()]) if (/^net\.ipv6\.conf\.[^.]+\.forwarding$/.test(x)) this.values.set(x, v);
      this.values.set('net.ipv6.conf.default.forwarding', v);
    }
    this.confs.clear();
    this.brNf = -1;
  }

  /** Raw value or the namespace default; undefined when neither. */
  get(key: string): string | undefined {
    return this.values.get(key) ?? DEFAULTS[key];
  }

  /** Integer value (first field), or `dflt`. */
  int(key: string, dflt = 0): number {
    const v = this.get(key);
    if (v === undefined) return dflt;
    const n = parseInt(v, 10);
    return Number.isNaN(n) ? dflt : n;
  }

  /** net.ipv4.conf.<dev>.<key>; a device absent from the snapshot inherits conf.default (devinet_init_net). */
  devConf(dev: string, key: string): number {
    const v = this.values.get(`net.ipv4.conf.${dev}.${key}`);
    if (v !== undefined) return parseInt(v, 10) || 0;
    return this.int(`net.ipv4.conf.default.${key}`, 0);
  }

  /** IN_DEV_RPFILTER: max(conf.all.rp_filter, conf.<dev>.rp_filter) (include/linux/inetdevice.h IN_DEV_MAXCONF). */
  rpFilter(dev: string): number {
    return Math.max(this.int('net.ipv4.conf.all.rp_filter'), this.devConf(dev, 'rp_filter'));
  }

  /** IN_DEV_FORWARD: the arriving interface's forwarding flag decides (datapath-facts §8). */
  forwarding(dev: string): boolean {
    const v = this.values.get(`net.ipv4.conf.${dev}.forwarding`);
    if (v !== undefined) return v !== '0';
    return this.int('net.ipv4.conf.all.forwarding', this.int('net.ipv4.ip_forward')) !== 0;
  }

  /** IN_DEV_ACCEPT_LOCAL: OR of all and dev. */
  acceptLocal(dev: string): boolean {
    return this.int('net.ipv4.conf.all.accept_local') !== 0 || this.devConf(dev, 'accept_local') !== 0;
  }

  /** net.ipv4.neigh.<dev>.<key>, falling back to neigh.default. */
  neigh(dev: string, key: string): number {
    const v = this.values.get(`net.ipv4.neigh.${dev}.${key}`);
    if (v !== undefined) return parseInt(v, 10) || 0;
    return this.int(`net.ipv4.neigh.default.${key}`, 0);
  }
}
