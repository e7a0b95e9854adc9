/**
 * A generated kube-proxy (iptables mode) nat table, for the load benchmark and the parser tests.
 */

/** kube-proxy's iptables layout: per service a KUBE-SVC chain with 3 endpoints (statistic) and 3 KUBE-SEP chains. */
export function kubeProxyRuleset(services: number): string {
  const decl: string[] = [];
  const rules: string[] = [];
  for (let s = 0; s < services; s++) {
    const svc = `KUBE-SVC-${String(s).padStart(16, 'X')}`;
    const ip = `10.96.${s >> 8}.${s & 255}`;
    decl.push(`:${svc} - [0:0]`);
    rules.push(`-A KUBE-SERVICES -d ${ip}/32 -p tcp -m comment --comment "ns/svc${s}:http cluster IP" -m tcp --dport 80 -j ${svc}`);
    rules.push(`-A ${svc} ! -s 10.244.0.0/16 -d ${ip}/32 -p tcp -m comment --comment "ns/svc${s}:http cluster IP" -m tcp --dport 80 -j KUBE-MARK-MASQ`);
    for (let e = 0; e < 3; e++) {
      const sep = `KUBE-SEP-${String(s).padStart(14, 'Y')}E${e}`;
      const ep = `10.244.${(s * 3 + e) >> 8 & 255}.${(s * 3 + e) & 255}`;
      decl.push(`:${sep} - [0:0]`);
      const stat = e < 2 ? ` -m statistic --mode random --probability ${(1 / (3 - e)).toFixed(11)}` : '';
      rules.push(`-A ${svc} -m comment --comment "ns/svc${s}:http"${stat} -j ${sep}`);
      rules.push(`-A ${sep} -s ${ep}/32 -m comment --comment "ns/svc${s}:http" -j KUBE-MARK-MASQ`);
      rules.push(`-A ${sep} -p tcp -m comment --comment "ns/svc${s}:http" -m tcp -j DNAT --to-destination ${ep}:8080`);
    }
  }
  return [
    '*nat', ':PREROUTING ACCEPT [0:0]', ':INPUT ACCEPT [0:0]', ':OUTPUT ACCEPT [0:0]', ':POSTROUTING ACCEPT [0:0]',
    ':KUBE-SERVICES - [0:0]', ':KUBE-MARK-MASQ - [0:0]', ...decl,
    '-A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES',
    '-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000',
    ...rules, 'COMMIT', '',
  ].join('\n');
}
