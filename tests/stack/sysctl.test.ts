/**
 * Sysctl side effects the kernel's handlers have (observed on Linux 6.18 in a fresh namespace with a
 * veth pair va/vb): writing net.ipv4.ip_forward or net.ipv4.conf.all.forwarding sets both, conf.default
 * and every device's forwarding (devinet_sysctl_forward → inet_forward_change), and
 * conf.all.accept_redirects to the negation; a later per-device write wins for that device. Writing
 * net.ipv6.conf.all.forwarding sets conf.default and every device; writing default changes only it.
 */
import { describe, expect, it } from 'vitest';
import { Sysctl } from '../../src/stack/sysctl.js';
import { lab, udp, replay } from '../helpers/frames.js';

describe('forwarding sysctls', () => {
  it('ip_forward=1 turns on all, default and every device, and accept_redirects off', () => {
    const s = new Sysctl();
    s.set('net.ipv4.conf.va.forwarding', '0');
    s.set('net.ipv4.ip_forward', '1');
    expect([s.forwarding('va'), s.forwarding('vb'), s.int('net.ipv4.conf.all.forwarding'), s.int('net.ipv4.conf.default.forwarding'), s.int('net.ipv4.conf.all.accept_redirects')]).toEqual([true, true, 1, 1, 0]);
    s.set('net.ipv4.conf.va.forwarding', '0');
    expect([s.int('net.ipv4.ip_forward'), s.forwarding('va'), s.forwarding('vb')]).toEqual([1, false, true]);
    s.set('net.ipv4/conf/all/forwarding', '0');
    expect([s.int('net.ipv4.ip_forward'), s.forwarding('vb'), s.int('net.ipv4.conf.all.accept_redirects')]).toEqual([0, false, 1]);
  });

  it('net.ipv6.conf.all.forwarding sets default and every device (addrconf_fixup_forwarding)', () => {
    const s = new Sysctl();
    s.set('net.ipv6.conf.va.forwarding', '0');
    s.set('net.ipv6.conf.all.forwarding', '1');
    expect([s.int('net.ipv6.conf.va.forwarding'), s.int('net.ipv6.conf.default.forwarding')]).toEqual([1, 1]);
    s.set('net.ipv6.conf.default.forwarding', '0');
    expect([s.int('net.ipv6.conf.all.forwarding'), s.int('net.ipv6.conf.va.forwarding')]).toEqual([1, 1]);
  });

  it('a lab that sets only net.ipv4.ip_forward forwards', () => {
    const w = lab(`
namespaces:
  r:
    sysctl: { net.ipv4.ip_forward: 1 }
    links:
      - { name: eth0, kind: ether, mac: "02:00:00:00:01:01" }
      - { name: eth1, kind: ether, mac: "02:00:00:00:02:01" }
    addresses: [ "192.0.2.2/24 dev eth0", "198.51.100.2/24 dev eth1" ]
    neighbours: [ "198.51.100.9 dev eth1 lladdr 02:00:00:00:02:09 permanent" ]
`);
    const [r] = replay(w, [['r:eth0', udp({ dstMac: '02:00:00:00:01:01', src: '192.0.2.10', dst: '198.51.100.9', sport: 5000, dport: 53 })]]);
    expect(r.final).toMatchObject({ verdict: 'transmitted', dev: 'eth1' });
  });
});
