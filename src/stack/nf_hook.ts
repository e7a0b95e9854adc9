/**
 * NF_HOOK for IPv4, IPv6 and the bridge family: the base chains of a hook in priority order, with the
 * conntrack (−200), NAT core (−100 / 100) and confirm (INT_MAX) entries where the kernel registers
 * them (nf_conntrack_proto.c ipv4_conntrack_ops, nf_nat_proto.c nf_nat_ipv4_ops).
 */
import type { Datapath } from './datapath.js';
import { hdrOf, dropStep } from './datapath.js';
import type { Skb } from './skb.js';
import { intern, type Final, type PacketRecord, type Step } from './record.js';
import { nftDoChain, V_DROP, VERDICT_NAMES, natReqText, type CompiledChain, type CompiledRule, type NatReq, type RejectReq } from './netfilter/compile.js';
import { DR, dropReasonName } from './drop_reason.js';
import {
  CtPacket, CtResult, IP_CT_NEW, IP_CT_RELATED, IP_CT_UNTRACKED, IP_CT_RELATED_REPLY,
  nfNatSetupInfo, nfNatAllocNullBinding, nfNatAdopt, nfNatPacket, natManipPkt4, natManipPkt6, NatRewrite, nfNatInitialized,
  NF_NAT_MANIP_SRC, NF_NAT_MANIP_DST, NatRange, NF_NAT_RANGE_PROTO_RANDOM, NF_NAT_RANGE_PROTO_RANDOM_FULLY,
  NF_NAT_RANGE_PERSISTENT, type NatManip, ctinfoDir, IP_CT_DIR_ORIGINAL, IPS_NAT_DONE_MASK, IPS_NAT_MASK, IPPROTO_ICMP, IPPROTO_ICMPV6,
} from './conntrack/index.js';
import { decodeL3, L3_IPV6 } from './wire/decode.js';
import { icmpSend, tcpV4SendReset } from './icmp.js';
import { icmp6Send, tcpV6SendReset } from './icmp6.js';
import { ICMP_DEST_UNREACH, ICMP_REDIRECT } from './wire/icmp.js';
import { ICMP6_DST_UNREACH } from './wire/icmpv6.js';
import { formatIpv6, ipv6DevGetSaddr } from './route6.js';

/** IPv4 hook names. */
export type Hook4 = 'prerouting' | 'input' | 'forward' | 'output' | 'postrouting';

const PRIO_CONNTRACK = -200;
const PRIO_NAT_DST = -100;
const PRIO_NAT_SRC = 100;

const ctPkt = new CtPacket();
/** ctinfo → the state name `ct state` matches. */
const CTINFO_NAMES = ['ESTABLISHED', 'RELATED', 'NEW', 'ESTABLISHED', 'RELATED'];
const ctRes = new CtResult();
const natRw = new NatRewrite();
/** Set by natBind for the nfNatInet call in progress: this packet made the binding. */
let natCreated = false;

/**
 * Run the IPv4 hook for skb. Returns true when the packet goes on (accepted), false when netfilter
 * dropped it (already reported) — NF_HOOK's okfn is the caller's next line.
 */
export function nfHookIpv4(dp: Datapath, skb: Skb, hook: Hook4): boolean {
  return nfHookInet(dp, skb, hook, 'ip');
}

/**
 * Run the IPv6 hook for skb (NF_HOOK(NFPROTO_IPV6, ...)): ip6 and inet chains, with conntrack at −200
 * (ipv6_conntrack_ops), the NAT core at −100 / 100 (nf_nat_ipv6_ops) and confirm last: the same
 * priorities as IPv4.
 */
export function nfHookIpv6(dp: Datapath, skb: Skb, hook: Hook4): boolean {
  return nfHookInet(dp, skb, hook, 'ip6');
}

function nfHookInet(dp: Datapath, skb: Skb, hook: Hook4, family: 'ip' | 'ip6'): boolean {
  const ns = skb.ns!;
  const rt = dp.nsrt(ns);
  const chains = rt.rules.chainsFor(family, hook);
  const ctOn = rt.ct !== null;
  const ctHook = ctOn && (hook === 'prerouting' || hook === 'output');
  const natPrio = hook === 'prerouting' || hook === 'output' ? PRIO_NAT_DST : hook === 'forward' ? NaN : PRIO_NAT_SRC;
  const natOn = ctOn && rt.rules.hasNat && !Number.isNaN(natPrio);
  const confirmHook = ctOn && (hook === 'postrouting' || hook === 'input');
  let ctDone = !ctHook;
  let natDone = !natOn;
  if (chains.length > 0 || ctOn) dp.work.hooks++;
  for (let i = 0; i <= chains.length; i++) {
    const c = i < chains.length ? chains[i] : null;
    const prio = c ? c.base!.prio : Infinity;
    if (!ctDone && prio > PRIO_CONNTRACK) {
      ctDone = true;
      if (!nfConntrackIn(dp, skb, hook)) return false;
    }
    if (!natDone && prio > natPrio) {
      natDone = true;
      if (!nfNatInet(dp, skb, hook, family)) return false;
    }
    if (!c) break;
    if (c.base!.type === 'nat') continue; // evaluated by the NAT core, for a connection's first packet only
    if (!runChain(dp, skb, c, hook)) return false;
  }
  // __nf_conntrack_confirm() confirms only packets in the original direction (an ICMP error attached
  // to its cause's new entry is RELATED in the reply direction).
  if (confirmHook && skb.ct && !skb.untracked && !skb.ct.confirmed && ctinfoDir(skb.ctinfo) === IP_CT_DIR_ORIGINAL) {
    // __nf_conntrack_confirm(): insert; a clash with an entry made meanwhile drops the packet.
    if (!rt.ct!.confirm(skb.ct, dp.now)) {
      dp.drop(skb, DR.NETFILTER_DROP, { stage: '__nf_conntrack_confirm', detail: 'tuple clash (insert_failed)' }, 'conntrack insert failed');
      return false;
    }
  }
  return true;
}

/** The base chain being evaluated with tracing on, for onRuleTraced (one function, no closure per chain run). */
const ruleTrace = { dp: null as Datapath | null, base: null as CompiledChain | null, hook: '', ns: '' };

/** EvalState.onRule while tracing: one nf step per rule verdict met. */
function onRuleTraced(chain: CompiledChain, rule: CompiledRule | null, v: number): void {
  const dp = ruleTrace.dp!;
  if (!dp.tracing) return;
  const c = ruleTrace.base!;
  const table = c.table;
  // Interned per (rule or end of chain, base chain, verdict): the hook and prio are the base chain's.
  const holder: CompiledRule | CompiledChain = rule ?? chain;
  const m = (holder.traceSteps ??= new Map());
  let a = m.get(c);
  if (!a) m.set(c, (a = []));
  dp.step((a[v] ??= intern({ kind: 'nf', ns: ruleTrace.ns, family: table.family, table: table.name, chain: chain.name, hook: ruleTrace.hook, prio: c.base!.prio, rule: rule ? `${rule.nftHandle >= 0 ? rule.nftHandle : rule.handle} ${rule.text}` : 'end of chain', verdict: VERDICT_NAMES[v] })) as Step);
}

/** Evaluate one base chain; false when it dropped the packet (reported here). */
export function runChain(dp: Datapath, skb: Skb, c: CompiledChain, hook: string): boolean {
  const st = dp.st;
  const res = dp.cres;
  st.now = dp.now;
  st.reject = null;
  st.nat = null;
  st.jumpTarget = null;
  st.flowHash = flowHash(skb);
  st.logs.length = 0;
  const ns = skb.ns!.name;
  const table = c.table;
  if (dp.opts.trace) {
    ruleTrace.dp = dp;
    ruleTrace.base = c;
    ruleTrace.hook = hook;
    ruleTrace.ns = ns;
    st.onRule = onRuleTraced;
  } else st.onRule = null;
  nftDoChain(c, skb, st, res);
  st.onRule = null;
  if (dp.opts.trace && res.rule === null) {
    if (dp.tracing) {
      const m = (c.traceSteps ??= new Map());
      let a = m.get(c);
      if (!a) m.set(c, (a = []));
      const k = res.verdict === V_DROP ? 1 : 0;
      dp.step((a[256 + k] ??= intern({ kind: 'nf', ns, family: table.family, table: table.name, chain: c.name, hook, prio: c.base!.prio, rule: 'policy', verdict: k ? 'policy-drop' : 'policy-accept' })) as Step);
    }
  }
  if (res.verdict !== V_DROP) return true;
  const rej = st.reject as RejectReq | null;
  const detail = rej ? `reject ${rej.type ?? 'icmp'} ${rej.code ?? 'port-unreachable'}` : undefined;
  // Where, step and final depend only on the rule (or policy) and its base chain (a rule's reject,
  // hence the detail, is its own): made once per such place and shared by every packet dropped there.
  const holder: CompiledRule | CompiledChain = res.rule ?? res.chain ?? c;
  const m = (holder.dropRecords ??= new Map());
  let d = m.get(c);
  if (d === undefined) {
    const chainName = (res.chain ?? c).name;
    const iptables = table.ir.source.includes('iptables');
    const where = intern({
      family: table.family, table: table.name, chain: chainName,
      rule: res.rule ? res.rule.text : 'policy',
      // The nft handle (what `nft list -a` and nft trace show); for iptables rules also their number.
      handle: res.rule ? (res.rule.nftHandle >= 0 ? res.rule.nftHandle : iptables ? null : res.rule.handle) : null,
      rule_number: res.rule && iptables ? res.rule.handle : null,
      base_chain: c.name, hook, source: table.ir.source,
    });
    const reason = dropReasonName(DR.NETFILTER_DROP);
    d = {
      step: intern(dropStep(ns, reason, where, detail)),
      final: intern({ verdict: 'dropped', ns, reason, where, ...(detail ? { detail } : {}) } as Final),
      reason,
    };
    m.set(c, d);
  }
  if (rej) nfReject(dp, skb, rej.type, rej.code); // generates a packet: uses st/res, read above
  dp.dropWith(skb, d.step, d.final, d.reason, detail);
  return false;
}

/** Fill the conntrack view of the packet from its decoded headers. */
function fillCtPacket(skb: Skb, pre: boolean): CtPacket {
  const i = skb.info;
  const p = ctPkt.reset();
  const b = skb.data;
  const v6 = i.l3 === L3_IPV6;
  p.l3 = v6 ? 6 : 4;
  p.proto = i.l4proto;
  p.src4 = i.src4;
  p.dst4 = i.dst4;
  if (v6) {
    p.src6.set(b.subarray(i.srcOff, i.srcOff + 16));
    p.dst6.set(b.subarray(i.dstOff, i.dstOff + 16));
  }
  p.sport = i.sport < 0 ? 0 : i.sport;
  p.dport = i.dport < 0 ? 0 : i.dport;
  p.icmpType = i.icmpType;
  p.icmpCode = i.icmpCode;
  p.icmpId = i.icmpId;
  if ((i.l4proto === 1 || i.l4proto === 58) && i.l4Off >= 0 && i.l4Off + 6 <= skb.len) p.icmpId = (b[i.l4Off + 4] << 8) | b[i.l4Off + 5];
  const l4Total = Math.max(0, Math.min(i.l3Len, skb.len - i.l3Off) - i.ipHdrLen);
  if (i.l4proto === 6 && i.l4Off >= 0) {
    const doff = ((b[i.l4Off + 12] >> 4) & 15) << 2;
    p.tcpFlags = i.tcpFlags < 0 ? 0 : i.tcpFlags & 0xff;
    p.tcpSeq = i.tcpSeq >>> 0;
    p.tcpAck = i.tcpAck >>> 0;
    p.tcpWin = i.tcpWin < 0 ? 0 : i.tcpWin;
    p.tcpOptLen = Math.max(0, doff - 20);
    p.tcpWscale = i.tcpWscale;
    p.tcpSackPerm = i.tcpSackPerm;
    p.payloadLen = Math.max(0, l4Total - doff);
    p.hdrError = doff < 20 || doff > l4Total;
  } else p.payloadLen = Math.max(0, l4Total - (i.l4proto === 17 ? 8 : 0));
  if (i.icmpInnerOff >= 0 && v6) fillInner6(p, b, i.icmpInnerOff, skb.len);
  else if (i.icmpInnerOff >= 0) {
    // Quoted header of an ICMP error: IPv4 header, then 8 bytes of transport (RFC 792).
    const o = i.icmpInnerOff;
    const ihl = (b[o] & 15) << 2;
    const t = o + ihl;
    // nf_conntrack_icmpv4_error / icmp_error_message: the quoted header needs the ports (4 bytes),
    // 8 for a quoted ICMP header (its id).
    if (o + 20 <= skb.len && t + (b[o + 9] === 1 ? 8 : 4) <= skb.len) {
      p.innerValid = true;
      p.innerProto = b[o + 9];
      p.innerSrc4 = ((b[o + 12] << 24) | (b[o + 13] << 16) | (b[o + 14] << 8) | b[o + 15]) >>> 0;
      p.innerDst4 = ((b[o + 16] << 24) | (b[o + 17] << 16) | (b[o + 18] << 8) | b[o + 19]) >>> 0;
      p.innerSport = (b[t] << 8) | b[t + 1];
      p.innerDport = (b[t + 2] << 8) | b[t + 3];
      if (p.innerProto === 1) {
        p.innerIcmpType = b[t];
        p.innerIcmpCode = b[t + 1];
        p.innerIcmpId = (b[t + 4] << 8) | b[t + 5];
      }
    }
  }
  // nf_conntrack_checksum (default 1): a bad L4 checksum makes the packet INVALID, checked only in
  // PREROUTING (nf_ip_checksum in tcp_error/udp_error/icmp_error). Captures taken with checksum offload
  // must be replayed with --no-checksums, which leaves these problems unset.
  if (pre && i.problems > 0 && skb.ns!.sysctl.int('net.netfilter.nf_conntrack_checksum', 1) !== 0) {
    for (let k = 0; k < i.problemList.length; k++) {
      const pr = i.problemList[k];
      if (pr === DR.TCP_CSUM || pr === DR.UDP_CSUM || pr === DR.ICMP_CSUM) p.csumBad = true;
    }
  }
  return p;
}

/**
 * The IPv6 header quoted by an ICMPv6 error (RFC 4443 §2.4): 40 bytes, extension headers skipped as
 * ipv6_skip_exthdr does, then the transport ports (4 bytes; 8 for a quoted ICMPv6 header's id).
 */
function fillInner6(p: CtPacket, b: Uint8Array, o: number, len: number): void {
  if (o + 40 > len) return;
  let nh = b[o + 6];
  let t = o + 40;
  while ((nh === 0 || nh === 43 || nh === 60 || nh === 44) && t + 8 <= len) {
    if (nh === 44) {
      if ((((b[t + 2] << 8) | b[t + 3]) & 0xfff8) !== 0) return; // a non-first fragment: no ports
      nh = b[t];
      t += 8;
    } else {
      const next = b[t];
      t += (b[t + 1] + 1) << 3;
      nh = next;
    }
  }
  if (t + (nh === 58 ? 8 : 4) > len) return;
  p.innerValid = true;
  p.innerProto = nh;
  p.innerSrc6.set(b.subarray(o + 8, o + 24));
  p.innerDst6.set(b.subarray(o + 24, o + 40));
  p.innerSport = (b[t] << 8) | b[t + 1];
  p.innerDport = (b[t + 2] << 8) | b[t + 3];
  if (nh === 58) {
    p.innerIcmpType = b[t];
    p.innerIcmpCode = b[t + 1];
    p.innerIcmpId = (b[t + 4] << 8) | b[t + 5];
  }
}

/** nf_conntrack_in(): attach the connection (or mark invalid / untracked). */
function nfConntrackIn(dp: Datapath, skb: Skb, hook: string): boolean {
  const ns = skb.ns!;
  const ct = dp.nsrt(ns).ct!;
  if (skb.untracked) {
    skb.ct = null;
    skb.ctinfo = IP_CT_UNTRACKED;
    if (dp.tracing) dp.step({ kind: 'ct', ns: ns.name, state: 'UNTRACKED', dir: '-', id: 0 });
    return true;
  }
  if (skb.ct) {
    // Already attached: an ICMP error carries its cause's entry (icmp.ts), or br_netfilter ran
    // prerouting before. Say so for the generated packet, whose path would otherwise show no ct.
    if (dp.tracing && skb.generated && hook === 'output') {
      dp.step({ kind: 'ct', ns: ns.name, state: CTINFO_NAMES[skb.ctinfo] ?? 'RELATED', dir: ctinfoDir(skb.ctinfo) === IP_CT_DIR_ORIGINAL ? 'original' : 'reply', id: skb.ct.id, detail: 'the entry of the packet it answers (nf_conntrack_attach)' });
    }
    return true;
  }
  const l3 = skb.info.l3;
  if (l3 !== 1 && l3 !== L3_IPV6) return true;
  if (skb.info.fragOff > 0 || skb.info.moreFrags) {
    // nf_defrag_ipv4/ipv6 (priority −400) reassemble before conntrack; pktpath does not reassemble yet.
    const v = l3 === 1 ? 'IPv4' : 'IPv6';
    if (!skb.generated)
      dp.final(dp.recOf(skb), { verdict: 'unmodelled', ns: ns.name, detail: `${v} fragment in a namespace with connection tracking: reassembly by nf_defrag_${v.toLowerCase()} is not modelled yet` });
    return false;
  }
  ct.in(fillCtPacket(skb, hook === 'prerouting'), dp.now, ctRes);
  dp.work.ctLookups++;
  if (ctRes.created) dp.work.ctInserts++;
  if (ctRes.verdict === 'drop') {
    dp.drop(skb, DR.NETFILTER_DROP, { stage: 'nf_conntrack_in', detail: ctRes.detail }, ctRes.detail);
    return false;
  }
  if (ctRes.verdict === 'ok' && !ctRes.conn && ctRes.ctinfo === IP_CT_UNTRACKED) {
    // Neighbour discovery and MLD are never tracked (nf_conntrack_proto_icmpv6.c noct_valid_new).
    skb.untracked = true;
    skb.ctinfo = IP_CT_UNTRACKED;
    if (dp.tracing) dp.step({ kind: 'ct', ns: ns.name, state: 'UNTRACKED', dir: '-', id: 0, detail: ctRes.detail });
    return true;
  }
  if (ctRes.verdict === 'invalid' || !ctRes.conn) {
    skb.ct = null;
    skb.ctinfo = -1;
    if (dp.tracing) dp.step({ kind: 'ct', ns: ns.name, state: 'INVALID', dir: '-', id: 0, ...(ctRes.detail ? { detail: ctRes.detail } : {}) });
    return true;
  }
  skb.ct = ctRes.conn;
  skb.ctinfo = ctRes.ctinfo;
  if (!dp.tracing) return true;
  const state = CTINFO_NAMES[skb.ctinfo] ?? 'INVALID';
  const dir = ctRes.dir === 0 ? 'original' : 'reply';
  const rec = dp.recOf(skb);
  // Made once per entry, ctinfo and direction and shared by its packets (its id never changes). Not
  // interned: most connections are short, and interning costs more than encoding them a few times.
  const cache = (skb.ct.traceSteps ??= []);
  const k = skb.ctinfo * 2 + ctRes.dir;
  if (rec && !skb.generated && !rec.ct) rec.ct = (cache[16 + k] ??= Object.freeze({ state, dir, id: skb.ct.id })) as PacketRecord['ct'];
  dp.step((cache[k] ??= Object.freeze({ kind: 'ct', ns: ns.name, state, dir, id: skb.ct.id })) as Step);
  return true;
}

/**
 * nf_nat_inet_fn(): for a connection's first packet (NEW or RELATED, not yet bound for this manip)
 * run the nat chains of this hook until one binds; no binding → null binding. Then translate the
 * packet from the binding (nf_nat_packet), in both directions.
 */
function nfNatInet(dp: Datapath, skb: Skb, hook: Hook4, family: 'ip' | 'ip6'): boolean {
  const conn = skb.ct;
  const v6 = skb.info.l3 === L3_IPV6;
  if (!conn || skb.untracked || (skb.info.l3 !== 1 && !v6)) return true;
  const ns = skb.ns!;
  const rt = dp.nsrt(ns);
  const manip: NatManip = hook === 'prerouting' || hook === 'output' ? NF_NAT_MANIP_DST : NF_NAT_MANIP_SRC;
  const ctinfo = skb.ctinfo;
  natCreated = false;
  const icmpRelated = skb.info.l4proto === (v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP) && (ctinfo === IP_CT_RELATED || ctinfo === IP_CT_RELATED_REPLY);
  if (icmpRelated && !v6 && skb.info.icmpType === ICMP_REDIRECT && ((conn.status & IPS_NAT_DONE_MASK) !== IPS_NAT_DONE_MASK || (conn.status & IPS_NAT_MASK) !== 0)) {
    // nf_nat_icmp_reply_translation(): "If NAT isn't finished, assume it and drop" — a redirect sent
    // before its connection passed POSTROUTING always is (observed: NETFILTER_DROP at nf_hook_slow).
    dp.drop(skb, DR.NETFILTER_DROP, { stage: 'nf_nat_icmp_reply_translation' }, 'redirect about a connection whose NAT is not finished');
    return false;
  }
  // nf_nat_ipv4_fn(): an ICMP error RELATED to a connection is only translated, never bound.
  if (!icmpRelated && (ctinfo === IP_CT_NEW || ctinfo === IP_CT_RELATED || ctinfo === IP_CT_RELATED_REPLY) && !nfNatInitialized(conn, manip)) {
    if (ctinfo === IP_CT_NEW) {
      const natChains = rt.rules.chainsFor(family, hook).filter((c) => c.base!.type === 'nat');
      for (const c of natChains) {
        if (!runChain(dp, skb, c, hook)) return false;
        const req = dp.st.nat;
        if (req) {
          if (!natBind(dp, skb, req, manip, hook)) return false;
          break;
        }
      }
    }
    if (!nfNatInitialized(conn, manip)) nfNatAllocNullBinding(rt.ct!, conn, manip, dp.now);
  }
  // nf_nat_packet(): rewrite if this direction needs this manip.
  if (nfNatPacket(conn, ctinfo, manip, natRw)) {
    const before = hdrOf(skb)!;
    const i = skb.info;
    dp.work.nats++;
    const ok = v6 ? natManipPkt6(skb.data, i.l3Off, i.l4Off, i.fragOff > 0 ? 0 : i.l4proto, natRw) : natManipPkt4(skb.data, i.l3Off, i.l4Off, i.l4proto, natRw);
    if (!ok) {
      dp.drop(skb, DR.NETFILTER_DROP, { stage: 'nf_nat_manip_pkt' }, 'packet too short to translate');
      return false;
    }
    decodeL3(i, skb.data, i.l3Off, skb.len, skb.len, v6 ? 0x86dd : 0x0800, { verifyChecksums: false });
    const after = hdrOf(skb)!;
    const kind = manip === NF_NAT_MANIP_SRC ? 'snat' : 'dnat';
    const rec = dp.recOf(skb);
    if (rec && !skb.generated) rec.addNat({ kind, ns: ns.name, hook, before, after, created: natCreated });
    if (dp.tracing) dp.step({ kind: 'nat', ns: ns.name, hook, manip: kind, from: before, to: after, binding: `ct ${conn.id}` });
  }
  return true;
}

function natBind(dp: Datapath, skb: Skb, req: NatReq, manip: NatManip, hook: Hook4): boolean {
  const ns = skb.ns!;
  const conn = skb.ct!;
  if (skb.info.l3 === L3_IPV6) return natBind6(dp, skb, req, manip, hook);
  let minAddr = req.minAddr, maxAddr = req.maxAddr;
  if (req.kind === 'masquerade') {
    // nf_nat_masquerade_ipv4(): the source address the route out of oif would choose.
    const oif = skb.oif;
    const gw = skb.nexthop || skb.info.dst4;
    const a = oif ? oif.primaryAddr4(gw) : 0;
    if (a === 0) {
      dp.drop(skb, DR.NETFILTER_DROP, { stage: 'nf_nat_masquerade', detail: `no IPv4 address on ${oif?.name ?? '?'}` });
      return false;
    }
    minAddr = maxAddr = a;
  } else if (req.kind === 'redirect') {
    // nf_nat_redirect_ipv4(): the primary address of the incoming device (127.0.0.1 for local output).
    const a = hook === 'output' ? 0x7f000001 : (skb.iif ? skb.iif.primaryAddr4() : 0);
    if (a === 0) {
      dp.drop(skb, DR.NETFILTER_DROP, { stage: 'nf_nat_redirect', detail: 'no address on the input device' });
      return false;
    }
    minAddr = maxAddr = a;
  }
  let flags = 0;
  if (req.flags.includes('random')) flags |= NF_NAT_RANGE_PROTO_RANDOM;
  if (req.flags.includes('fully-random')) flags |= NF_NAT_RANGE_PROTO_RANDOM_FULLY;
  if (req.flags.includes('persistent')) flags |= NF_NAT_RANGE_PERSISTENT;
  const range = minAddr
    ? NatRange.v4(minAddr, maxAddr, req.minPort ? req.minPort : -1, req.minPort ? req.maxPort : -1, flags)
    : req.minPort ? NatRange.ports(req.minPort, req.maxPort, flags) : Object.assign(new NatRange(), { flags });
  const rt = dp.nsrt(ns);
  // The capture may show what the kernel actually chose for this packet: adopt it (the reply
  // packets in the capture then match the binding).
  const hint = dp.natHint ? dp.natHint(skb) : null;
  let adopted = false;
  if (hint) {
    const i = skb.info;
    const addr = manip === NF_NAT_MANIP_SRC ? hint.src4 : hint.dst4;
    const port = manip === NF_NAT_MANIP_SRC ? hint.sport : i.l4proto === 1 ? hint.sport : hint.dport;
    const same = manip === NF_NAT_MANIP_SRC ? addr === i.src4 && port === (i.l4proto === 1 ? i.icmpId : i.sport) : addr === i.dst4 && port === (i.l4proto === 1 ? i.icmpId : i.dport);
    if (!same) adopted = nfNatAdopt(rt.ct!, conn, manip, addr, port, dp.now);
  }
  const ok = adopted || nfNatSetupInfo(rt.ct!, conn, range, manip, dp.now);
  if (dp.tracing) dp.step({ kind: 'local', ns: ns.name, what: `nat binding ${natReqText(req)}${adopted ? ' (the kernel\'s choice, as the capture shows it)' : ok ? '' : ' failed: no free tuple'}` });
  if (!ok) {
    dp.drop(skb, DR.NETFILTER_DROP, { stage: 'nf_nat_setup_info', detail: 'no unique tuple in range' });
    return false;
  }
  // The translation itself is recorded by nfNatInet right after, with created = true.
  natCreated = true;
  return true;
}

/**
 * NAT66 (nf_nat_masquerade_ipv6, nf_nat_redirect_ipv6): masquerade takes the source address
 * ipv6_dev_get_saddr picks on the output device for the destination; redirect the first address of
 * the input device (::1 for local output). Rules with explicit IPv6 addresses are refused when the
 * ruleset is compiled; a rule with an IPv4 address met by an IPv6 packet (an inet table) is reported
 * as unmodelled.
 */
function natBind6(dp: Datapath, skb: Skb, req: NatReq, manip: NatManip, hook: Hook4): boolean {
  const ns = skb.ns!;
  const conn = skb.ct!;
  const i = skb.info;
  let a: Uint8Array | null = null;
  if (req.kind === 'masquerade') {
    a = skb.oif ? ipv6DevGetSaddr(ns, skb.oif, skb.data, i.dstOff) : null;
    if (!a) {
      dp.drop(skb, DR.NETFILTER_DROP, { stage: 'nf_nat_masquerade', detail: `no IPv6 address on ${skb.oif?.name ?? '?'}` });
      return false;
    }
  } else if (req.kind === 'redirect') {
    if (hook === 'output') a = LOOPBACK6;
    else {
      const list = skb.iif ? skb.iif.ifa6.filter((x) => !x.flags.includes('tentative')) : [];
      a = (list.find((x) => x.scope === 'global') ?? list[0])?.addr ?? null;
    }
    if (!a) {
      dp.drop(skb, DR.NETFILTER_DROP, { stage: 'nf_nat_redirect', detail: 'no IPv6 address on the input device' });
      return false;
    }
  } else if (req.minAddr) {
    if (!skb.generated) dp.final(dp.recOf(skb), { verdict: 'unmodelled', ns: ns.name, detail: `${natReqText(req)} (an IPv4 address) met an IPv6 packet: the inet NAT family check is not modelled` });
    return false;
  }
  let flags = 0;
  if (req.flags.includes('random')) flags |= NF_NAT_RANGE_PROTO_RANDOM;
  if (req.flags.includes('fully-random')) flags |= NF_NAT_RANGE_PROTO_RANDOM_FULLY;
  if (req.flags.includes('persistent')) flags |= NF_NAT_RANGE_PERSISTENT;
  const range = a
    ? NatRange.v6(a, a, req.minPort ? req.minPort : -1, req.minPort ? req.maxPort : -1, flags)
    : req.minPort ? NatRange.ports(req.minPort, req.maxPort, flags) : Object.assign(new NatRange(), { flags });
  const ok = nfNatSetupInfo(dp.nsrt(ns).ct!, conn, range, manip, dp.now);
  if (dp.tracing) dp.step({ kind: 'local', ns: ns.name, what: `nat binding ${natReqText(req)}${a ? ` (${formatIpv6(a)})` : ''}${ok ? '' : ' failed: no free tuple'}` });
  if (!ok) {
    dp.drop(skb, DR.NETFILTER_DROP, { stage: 'nf_nat_setup_info', detail: 'no unique tuple in range' });
    return false;
  }
  natCreated = true;
  return true;
}

const LOOPBACK6 = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]);

/** ICMPv6 destination unreachable codes of nft `reject` (icmpv6 and icmpx names; RFC 4443 §3.1). */
const REJECT6_CODES: Record<string, number> = {
  'no-route': 0, 'admin-prohibited': 1, 'addr-unreachable': 3, 'port-unreachable': 4, 'policy-fail': 5, 'reject-route': 6,
  'host-unreachable': 3, 'net-unreachable': 0, 'prot-unreachable': 4, 'net-prohibited': 1, 'host-prohibited': 1,
};

/** nft_reject_ipv4/ipv6 / ipt_REJECT / ip6t_REJECT: send the TCP RST or ICMP error the rule asks for. */
function nfReject(dp: Datapath, skb: Skb, type: string | null, code: string | null): void {
  if (skb.info.l3 === L3_IPV6) {
    // nf_send_reset6, or nf_send_unreach6 (icmp6_send).
    if (type === 'tcp reset') {
      if (skb.info.l4proto === 6) tcpV6SendReset(dp, skb, 'reject', true);
      return;
    }
    if (type === 'icmp') return; // `reject with icmp ...` in an inet table matches IPv4 only
    icmp6Send(dp, skb, ICMP6_DST_UNREACH, REJECT6_CODES[code ?? 'port-unreachable'] ?? 4, 0, 'reject');
    return;
  }
  if (skb.info.l3 !== 1) return;
  if (type === 'icmpv6') return;
  if (type === 'tcp reset') {
    if (skb.info.l4proto === 6) tcpV4SendReset(dp, skb, 'reject', true);
    return;
  }
  const codes: Record<string, number> = {
    'net-unreachable': 0, 'host-unreachable': 1, 'prot-unreachable': 2, 'port-unreachable': 3,
    'net-prohibited': 9, 'host-prohibited': 10, 'admin-prohibited': 13, 'no-route': 0, 'addr-unreachable': 1,
  };
  icmpSend(dp, skb, ICMP_DEST_UNREACH, codes[code ?? 'port-unreachable'] ?? 3, 0, 'reject');
}

/** A stable per-flow hash (for deterministic `statistic random`, ECMP). */
export function flowHash(skb: Skb): number {
  const i = skb.info;
  let s = i.src4, d = i.dst4;
  if (i.l3 === L3_IPV6 && i.srcOff >= 0) {
    // Fold the 16-byte addresses to 32 bits each (words XORed).
    const b = skb.data;
    s = d = 0;
    for (let k = 0; k < 16; k += 4) {
      s ^= (b[i.srcOff + k] << 24) | (b[i.srcOff + k + 1] << 16) | (b[i.srcOff + k + 2] << 8) | b[i.srcOff + k + 3];
      d ^= (b[i.dstOff + k] << 24) | (b[i.dstOff + k + 1] << 16) | (b[i.dstOff + k + 2] << 8) | b[i.dstOff + k + 3];
    }
  }
  let h = Math.imul(s ^ 0x9e3779b9, 0x85ebca6b) ^ d;
  h = Math.imul(h ^ (h >>> 15), 0xc2b2ae35) ^ ((i.sport & 0xffff) << 16 | (i.dport & 0xffff)) ^ i.l4proto;
  h ^= h >>> 13;
  return h >>> 0;
}
