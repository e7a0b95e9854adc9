/**
 * ARP (net/ipv4/arp.c): arp_rcv → arp_process answers requests for local addresses (after the
 * route check, which applies rp_filter to the sender) and feeds the neighbour table; arpSolicit sends
 * the probes neighbour resolution needs.
 */
import type { Datapath } from './datapath.js';
import type { Step } from './record.js';
import type { NetDevice } from './netdev.js';
import { PACKET_HOST, Skb } from './skb.js';
import { DR } from './drop_reason.js';
import { formatIpv4, formatMac } from './inet.js';
import { writeArp, ARPOP_REPLY, ARPOP_REQUEST } from './wire/arp.js';
import { writeEthernet, ETH_P_ARP } from './wire/ethernet.js';
import { decodeFrame } from './wire/decode.js';
import { devQueueXmit } from './dev.js';
import { NUD_INCOMPLETE, NUD_REACHABLE, NUD_STALE, NUD_VALID, NUD_PERMANENT, NUD_NOARP, nudName } from './neigh.js';
import { ipRouteInput, ROUTE_LOCAL } from './ip_input.js';
import { neighUpdate } from './ip_output.js';

function u32(b: Uint8Array, o: number): number {
  return ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;
}

/** arp_rcv() + arp_process(). The ARP packet itself is consumed. */
export function arpRcv(dp: Datapath, skb: Skb, dev: NetDevice): void {
  const i = skb.info;
  const ns = dev.ns;
  if (i.arpOp < 0 || i.arpSpaOff < 0 || i.problems > 0) {
    dp.drop(skb, i.problem0 || DR.PKT_TOO_SMALL, { stage: 'arp_rcv', dev: dev.name });
    return;
  }
  const b = skb.data;
  const sip = u32(b, i.arpSpaOff);
  const tip = u32(b, i.arpTpaOff);
  const shaHi = (b[i.arpShaOff] << 8) | b[i.arpShaOff + 1];
  const shaLo = u32(b, i.arpShaOff + 2);
  const op = i.arpOp;
  const rec = dp.recOf(skb);
  if ((tip >>> 28) === 0xe || (sip >>> 28) === 0xe) {
    dp.drop(skb, DR.NOT_SPECIFIED, { stage: 'arp_process', dev: dev.name }, 'multicast address in ARP');
    return;
  }
  let answered = false;
  if (op === ARPOP_REQUEST && sip !== 0) {
    // ip_route_input_noref(skb, tip, sip, 0, dev): a local route for tip, with sip validated (rp_filter).
    const r = ipRouteInput(dp, skb, tip, sip, dev, true);
    if (r === ROUTE_LOCAL) {
      const arpIgnore = ns.sysctl.conf(dev.name).arpIgnore;
      // arp_ignore 1: reply only if tip is configured on the incoming interface.
      const ignore = arpIgnore >= 1 && !dev.hasAddr4(tip);
      if (!ignore) {
        // neigh_event_ns(): the sender becomes (at least) STALE.
        neighFromArp(dp, dev, sip, shaHi, shaLo, NUD_STALE, true);
        arpSend(dp, skb, ARPOP_REPLY, dev, tip, sip, shaHi, shaLo, shaHi, shaLo);
        answered = true;
      } else if (dp.tracing) dp.step({ kind: 'local', ns: ns.name, what: `ARP request for ${formatIpv4(tip)} ignored (arp_ignore ${arpIgnore})` });
    } else if (ns.local4.has(tip)) {
      if (dp.tracing) dp.step({ kind: 'local', ns: ns.name, what: `ARP request from ${formatIpv4(sip)} for ${formatIpv4(tip)} ignored: the route check of the sender failed (rp_filter)` });
    }
  }
  if (!answered) {
    // Update an existing entry (a reply to our probe, or any ARP from a known host).
    const n = ns.neigh.lookup(dev, sip);
    if (n) {
      const state = op === ARPOP_REPLY && skb.pktType === PACKET_HOST ? NUD_REACHABLE : NUD_STALE;
      neighFromArp(dp, dev, sip, shaHi, shaLo, state, false);
    }
  }
  if (!skb.generated) dp.final(rec, { verdict: 'consumed', ns: ns.name, dev: dev.name });
  else dp.emittedFate(skb, `consumed by ${ns.name} (arp_rcv on ${dev.name})`);
}

function neighFromArp(dp: Datapath, dev: NetDevice, ip: number, hi: number, lo: number, state: number, create: boolean): void {
  const ns = dev.ns;
  let n = ns.neigh.lookup(dev, ip);
  if (!n) {
    if (!create) return;
    n = ns.neigh.create(dev, ip);
  }
  if (n.state & (NUD_PERMANENT | NUD_NOARP)) return;
  const changed = n.macHi !== hi || n.macLo !== lo;
  // neigh_update(): a STALE report about an unchanged valid address does not downgrade the entry.
  if (state === NUD_STALE && (n.state & NUD_VALID) && !changed && !(n.state & NUD_INCOMPLETE)) return;
  const old = n.state;
  neighUpdate(dp, n, hi, lo, state);
  if (dp.tracing) dp.step({ kind: 'neigh', ns: ns.name, dev: dev.name, addr: formatIpv4(ip), state: nudName(n.state), action: `${nudName(old)} → ${nudName(n.state)}`, lladdr: formatMac(hi, lo) });
}

/**
 * arp_send(): build and transmit an ARP packet from dev. Requests to an unknown target are broadcast;
 * `thaHi/thaLo` −1 means unknown (zero in the body).
 */
export function arpSend(dp: Datapath, cause: Skb | null, op: number, dev: NetDevice, sip: number, tip: number, dstHi: number, dstLo: number, thaHi: number, thaLo: number): void {
  const g = new Skb();
  // arp_create(): 14 + 28 bytes, no padding (veth and bridges do not pad to 60; NICs do on the wire).
  const frame = new Uint8Array(42);
  const off = writeEthernet(frame, 0, dstHi, dstLo, dev.macHi, dev.macLo, ETH_P_ARP);
  writeArp(frame, off, op, dev.macHi, dev.macLo, sip, thaHi < 0 ? 0 : thaHi, thaLo < 0 ? 0 : thaLo, tip);
  g.load(frame, 42);
  decodeFrame(g.info, g.data, 42, 42, 1, { verifyChecksums: false });
  g.ns = dev.ns;
  g.index = cause ? cause.index : -1;
  g.generated = true;
  const rec = cause ? dp.recOf(cause) : null;
  const steps: Step[] = [];
  dp.emit(rec, g, { type: op === ARPOP_REPLY ? 'arp-reply' : 'arp-request', ns: dev.ns.name, dev: dev.name, src: formatIpv4(sip), dst: formatIpv4(tip), steps });
  dp.withSink(steps, () => devQueueXmit(dp, g, dev));
}
