/**
 * Table-driven datapath tests over the bundled Docker 28.x lab (captures/labs/docker-host.yaml).
 * Expectations follow what kernel 6.18 did in the oracle scenarios (shared/oracle: docker-egress,
 * datapath-facts.md §1/§4/§8, observed in namespaces): DNAT in PREROUTING before routing, masquerade
 * in POSTROUTING for the first packet, DOCKER-USER first in FORWARD, closed ports answered by RST.
 */
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { arp, fin, lab, ping, replay, tcp, udp } from '../helpers/frames.js';

const yaml = readFileSync(resolve(__dirname, '../../captures/labs/docker-host.yaml'), 'utf8');
const HOST_ETH0 = '02:00:c6:33:64:02', PEER = '02:00:c6:33:64:01', DOCKER0 = '02:42:ac:11:00:01', C1 = '02:42:ac:11:00:02';

describe('docker host lab', () => {
  it('published port: DNAT to the container, bridged to c1, delivered to its socket', () => {
    const [r] = replay(lab(yaml), [['host:eth0', tcp({ srcMac: PEER, dstMac: HOST_ETH0, src: '198.51.100.1', dst: '198.51.100.2', sport: 5555, dport: 8080, flags: 'S' })]]);
    expect(fin(r)).toMatchObject({ verdict: 'delivered', ns: 'c1', socket: expect.stringContaining('tcp *:80 LISTEN') });
    expect(r.nat).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'dnat', after: { src: '198.51.100.1', dst: '172.17.0.2', sport: 5555, dport: 80 } })]));
    const chains = (r.steps as Array<{ kind: string; chain?: string; verdict?: string }>).filter((s) => s.kind === 'nf').map((s) => `${s.chain}:${s.verdict}`);
    // raw PREROUTING (no match: policy), nat PREROUTING → DOCKER (DNAT, first packet only), filter
    // FORWARD through Docker 28's chains; nat POSTROUTING is evaluated (first packet) and binds nothing.
    expect(chains).toEqual([
      'PREROUTING:policy-accept', 'PREROUTING:jump', 'DOCKER:accept',
      'FORWARD:jump', 'DOCKER-USER:return', 'FORWARD:jump', 'DOCKER-FORWARD:jump', 'DOCKER-CT:return', 'DOCKER-FORWARD:jump',
      'DOCKER-ISOLATION-STAGE-1:return', 'DOCKER-FORWARD:jump', 'DOCKER-BRIDGE:jump', 'DOCKER:accept',
      'POSTROUTING:policy-accept',
    ]);
  });

  it('closed port on the host: RST, NO_SOCKET', () => {
    const [r] = replay(lab(yaml), [['host:eth0', tcp({ srcMac: PEER, dstMac: HOST_ETH0, src: '198.51.100.1', dst: '198.51.100.2', sport: 5555, dport: 9999, flags: 'S' })]]);
    expect(fin(r)).toMatchObject({ verdict: 'dropped', reason: 'NO_SOCKET' });
    expect(r.emitted).toEqual([expect.objectContaining({ type: 'tcp-rst', src: '198.51.100.2:9999', dst: '198.51.100.1:5555', fate: 'transmitted on host:eth0' })]);
  });

  it('ssh to the host is delivered to sshd', () => {
    const [r] = replay(lab(yaml), [['host:eth0', tcp({ srcMac: PEER, dstMac: HOST_ETH0, src: '198.51.100.1', dst: '198.51.100.2', sport: 5555, dport: 22, flags: 'S' })]]);
    expect(fin(r)).toMatchObject({ verdict: 'delivered', ns: 'host', socket: expect.stringContaining('sshd') });
  });

  it('DOCKER-USER drops SMTP from the container (rule 1 of DOCKER-USER)', () => {
    const [, r] = replay(lab(yaml), [
      ['host:vethc1', arp({ op: 1, srcMac: C1, dstMac: 'ff:ff:ff:ff:ff:ff', spa: '172.17.0.2', tpa: '172.17.0.1' })],
      ['host:vethc1', tcp({ srcMac: C1, dstMac: DOCKER0, src: '172.17.0.2', dst: '198.51.100.1', sport: 40004, dport: 25, flags: 'S' })],
    ]);
    expect(fin(r)).toMatchObject({ verdict: 'dropped', reason: 'NETFILTER_DROP', where: { family: 'ip', table: 'filter', chain: 'DOCKER-USER', rule_number: 1, rule: '-p tcp -m tcp --dport 25 -j DROP', base_chain: 'FORWARD' } });
  });

  it('egress is masqueraded to the host address, source port kept', () => {
    const [arpRec, r] = replay(lab(yaml), [
      ['host:vethc1', arp({ op: 1, srcMac: C1, dstMac: 'ff:ff:ff:ff:ff:ff', spa: '172.17.0.2', tpa: '172.17.0.1' })],
      ['host:vethc1', udp({ srcMac: C1, dstMac: DOCKER0, src: '172.17.0.2', dst: '198.51.100.1', sport: 40002, dport: 53 })],
    ]);
    expect(fin(arpRec)).toMatchObject({ verdict: 'consumed', ns: 'host' });
    expect(arpRec.emitted[0]).toMatchObject({ type: 'arp-reply', fate: expect.stringContaining('c1') });
    expect(fin(r)).toMatchObject({ verdict: 'transmitted', dev: 'eth0', out: { src: '198.51.100.2', dst: '198.51.100.1', sport: 40002, dport: 53 } });
  });

  it('raw PREROUTING drops direct access to the container address from outside', () => {
    const [r] = replay(lab(yaml), [['host:eth0', ping({ srcMac: PEER, dstMac: HOST_ETH0, src: '198.51.100.1', dst: '172.17.0.2', id: 7 })]]);
    expect(fin(r)).toMatchObject({ verdict: 'dropped', reason: 'NETFILTER_DROP', where: { table: 'raw', chain: 'PREROUTING', rule_number: 1 } });
  });

  it('the container answers a ping from the host side through the bridge (reply leaves by eth0)', () => {
    const recs = replay(lab(yaml), [
      ['host:vethc1', arp({ op: 1, srcMac: C1, dstMac: 'ff:ff:ff:ff:ff:ff', spa: '172.17.0.2', tpa: '172.17.0.1' })],
      ['host:vethc1', ping({ srcMac: C1, dstMac: DOCKER0, src: '172.17.0.2', dst: '198.51.100.1', id: 9 })],
      ['host:eth0', ping({ srcMac: PEER, dstMac: HOST_ETH0, src: '198.51.100.1', dst: '198.51.100.2', id: 9, type: 0 })],
    ]);
    expect(fin(recs[1])).toMatchObject({ verdict: 'transmitted', dev: 'eth0', out: { src: '198.51.100.2', icmp_id: 9 } });
    // The reply is un-SNATed in PREROUTING and crosses into c1, where the kernel consumes it (icmp_rcv).
    expect(fin(recs[2])).toMatchObject({ verdict: 'consumed', ns: 'c1' });
    expect(recs[2].nat[0]).toMatchObject({ kind: 'dnat', after: { dst: '172.17.0.2' } });
  });
});
