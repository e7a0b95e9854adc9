/**
 * TCP connection tracking: the state machine and window tracking of
 * net/netfilter/nf_conntrack_proto_tcp.c (tcp_conntracks, tcp_new, tcp_in_window,
 * nf_conntrack_tcp_packet), ported from Linux 6.x.
 *
 * Window tracking is ported in full (td_end/td_maxend/td_maxwin per direction, SACK right edges,
 * window scaling, retransmission counting), because it decides what `conntrack -L` shows: unacked data
 * shortens ESTABLISHED to the 300 s "unacknowledged" timeout, a zero window or 3 retransmissions to the
 * 300 s "max_retrans" one, and out-of-window segments are INVALID unless tcp_be_liberal is set or the
 * flow was picked up mid-stream. What is not modelled: NAT sequence adjustment (helpers), SYN proxy.
 */
import type { Conn, ConntrackTable, CtResult } from './table.js';
import { IP_CT_DIR_ORIGINAL, IP_CT_DIR_REPLY, IPS_ASSURED, IPS_CONFIRMED, IPS_FIXED_TIMEOUT, IPS_SEEN_REPLY, type CtPacket } from './tuple.js';

/** enum tcp_conntrack (include/uapi/linux/netfilter/nf_conntrack_tcp.h). */
export const TCP_CONNTRACK_NONE = 0;
export const TCP_CONNTRACK_SYN_SENT = 1;
export const TCP_CONNTRACK_SYN_RECV = 2;
export const TCP_CONNTRACK_ESTABLISHED = 3;
export const TCP_CONNTRACK_FIN_WAIT = 4;
export const TCP_CONNTRACK_CLOSE_WAIT = 5;
export const TCP_CONNTRACK_LAST_ACK = 6;
export const TCP_CONNTRACK_TIME_WAIT = 7;
export const TCP_CONNTRACK_CLOSE = 8;
export const TCP_CONNTRACK_SYN_SENT2 = 9;
export const TCP_CONNTRACK_MAX = 10;
export const TCP_CONNTRACK_IGNORE = 11;
export const TCP_CONNTRACK_RETRANS = 12;
export const TCP_CONNTRACK_UNACK = 13;
export const TCP_CONNTRACK_TIMEOUT_MAX = 14;

/** tcp_conntrack_names[], as `conntrack -L` prints them. */
export const TCP_CONNTRACK_NAMES = [
  'NONE', 'SYN_SENT', 'SYN_RECV', 'ESTABLISHED', 'FIN_WAIT', 'CLOSE_WAIT', 'LAST_ACK', 'TIME_WAIT', 'CLOSE', 'SYN_SENT2',
] as const;

/** enum tcp_bit_set: the table row chosen by get_conntrack_index(). */
export const TCP_SYN_SET = 0;
export const TCP_SYNACK_SET = 1;
export const TCP_FIN_SET = 2;
export const TCP_ACK_SET = 3;
export const TCP_RST_SET = 4;
export const TCP_NONE_SET = 5;

/** struct ip_ct_tcp_state flags (nf_conntrack_tcp.h). */
export const IP_CT_TCP_FLAG_WINDOW_SCALE = 0x01;
export const IP_CT_TCP_FLAG_SACK_PERM = 0x02;
export const IP_CT_TCP_FLAG_CLOSE_INIT = 0x04;
export const IP_CT_TCP_FLAG_BE_LIBERAL = 0x08;
export const IP_CT_TCP_FLAG_DATA_UNACKNOWLEDGED = 0x10;
export const IP_CT_TCP_FLAG_MAXACK_SET = 0x20;
export const IP_CT_EXP_CHALLENGE_ACK = 0x40;
export const IP_CT_TCP_SIMULTANEOUS_OPEN = 0x80;

const TH_FIN = 0x01, TH_SYN = 0x02, TH_RST = 0x04, TH_PSH = 0x08, TH_ACK = 0x10, TH_URG = 0x20;
const TH_ECE = 0x40, TH_CWR = 0x80;
const TCP_MAX_WSCALE = 14;
const MAXACKWINCONST = 66000;

/** struct ip_ct_tcp_state: what conntrack knows about one direction's sequence space. */
export class CtTcpSeen {
  tdEnd = 0;
  tdMaxend = 0;
  tdMaxwin = 0;
  tdMaxack = 0;
  tdScale = 0;
  flags = 0;

  /** memset 0. */
  clear(): void {
    this.tdEnd = 0; this.tdMaxend = 0; this.tdMaxwin = 0; this.tdMaxack = 0; this.tdScale = 0; this.flags = 0;
  }
}

const sNO = TCP_CONNTRACK_NONE, sSS = TCP_CONNTRACK_SYN_SENT, sSR = TCP_CONNTRACK_SYN_RECV;
const sES = TCP_CONNTRACK_ESTABLISHED, sFW = TCP_CONNTRACK_FIN_WAIT, sCW = TCP_CONNTRACK_CLOSE_WAIT;
const sLA = TCP_CONNTRACK_LAST_ACK, sTW = TCP_CONNTRACK_TIME_WAIT, sCL = TCP_CONNTRACK_CLOSE;
const sS2 = TCP_CONNTRACK_SYN_SENT2, sIV = TCP_CONNTRACK_MAX, sIG = TCP_CONNTRACK_IGNORE;

/**
 * tcp_conntracks[2][6][TCP_CONNTRACK_MAX], flattened: [dir * 60 + index * 10 + old_state].
 * Copied row by row from nf_conntrack_proto_tcp.c (Linux 6.x); see the kernel file for the reasoning
 * behind every cell.
 */
export const TCP_CONNTRACKS = Uint8Array.from([
  // ORIGINAL   sNO  sSS  sSR  sES  sFW  sCW  sLA  sTW  sCL  sS2
  /* syn    */ sSS, sSS, sIG, sIG, sIG, sIG, sIG, sSS, sSS, sS2,
  /* synack */ sIV, sIV, sSR, sIV, sIV, sIV, sIV, sIV, sIV, sSR,
  /* fin    */ sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV,
  /* ack    */ sES, sIV, sES, sES, sCW, sCW, sTW, sTW, sCL, sIV,
  /* rst    */ sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL,
  /* none   */ sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV,
  // REPLY      sNO  sSS  sSR  sES  sFW  sCW  sLA  sTW  sCL  sS2
  /* syn    */ sIV, sS2, sIV, sIV, sIV, sIV, sIV, sSS, sIV, sS2,
  /* synack */ sIV, sSR, sIG, sIG, sIG, sIG, sIG, sIG, sIG, sSR,
  /* fin    */ sIV, sIV, sFW, sFW, sLA, sLA, sLA, sTW, sCL, sIV,
  /* ack    */ sIV, sIG, sSR, sES, sCW, sCW, sTW, sTW, sCL, sIG,
  /* rst    */ sIV, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL, sCL,
  /* none   */ sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV, sIV,
]);

/** tcp_conntracks[dir][index][old]. */
export function tcpTransition(dir: number, index: number, old: number): number {
  return TCP_CONNTRACKS[dir * 60 + index * 10 + old]!;
}

/** Valid flag combinations, PSH/ECE/CWR masked out (tcp_valid_flags[]). */
const TCP_VALID_FLAGS = new Uint8Array(64);
for (const f of [TH_SYN, TH_SYN | TH_URG, TH_SYN | TH_ACK, TH_RST, TH_RST | TH_ACK, TH_FIN | TH_ACK,
  TH_FIN | TH_ACK | TH_URG, TH_ACK, TH_ACK | TH_URG]) TCP_VALID_FLAGS[f] = 1;

/** get_conntrack_index(). */
export function getConntrackIndex(flags: number): number {
  if (flags & TH_RST) return TCP_RST_SET;
  if (flags & TH_SYN) return flags & TH_ACK ? TCP_SYNACK_SET : TCP_SYN_SET;
  if (flags & TH_FIN) return TCP_FIN_SET;
  if (flags & TH_ACK) return TCP_ACK_SET;
  return TCP_NONE_SET;
}

// Sequence arithmetic (include/net/tcp.h before/after) on u32 held in numbers.
function before(a: number, b: number): boolean { return ((a - b) | 0) < 0; }
function after(a: number, b: number): boolean { return ((b - a) | 0) < 0; }
function u32(x: number): number { return x >>> 0; }

/** segment_seq_plus_len(). */
function segEnd(p: CtPacket): number {
  return u32(p.tcpSeq + p.payloadLen + (p.tcpFlags & TH_SYN ? 1 : 0) + (p.tcpFlags & TH_FIN ? 1 : 0));
}

/** tcp_options(): window scale and SACK-permitted. No options at all leaves the state untouched. */
function tcpOptions(p: CtPacket, s: CtTcpSeen): void {
  if (p.tcpOptLen <= 0) return;
  s.tdScale = 0;
  s.flags &= IP_CT_TCP_FLAG_BE_LIBERAL;
  if (p.tcpSackPerm) s.flags |= IP_CT_TCP_FLAG_SACK_PERM;
  if (p.tcpWscale >= 0) {
    s.tdScale = p.tcpWscale > TCP_MAX_WSCALE ? TCP_MAX_WSCALE : p.tcpWscale;
    s.flags |= IP_CT_TCP_FLAG_WINDOW_SCALE;
  }
}

/** tcp_init_sender(). */
function tcpInitSender(sender: CtTcpSeen, receiver: CtTcpSeen, p: CtPacket, end: number, win: number, dir: number): void {
  sender.tdEnd = end;
  sender.tdMaxend = end;
  sender.tdMaxwin = win === 0 ? 1 : win;
  tcpOptions(p, sender);
  // RFC 1323: both sides must send the Window Scale option to enable scaling in either direction.
  if (dir === IP_CT_DIR_REPLY &&
      !(sender.flags & IP_CT_TCP_FLAG_WINDOW_SCALE && receiver.flags & IP_CT_TCP_FLAG_WINDOW_SCALE)) {
    sender.tdScale = 0;
    receiver.tdScale = 0;
  }
}

const NFCT_TCP_IGNORE = 0, NFCT_TCP_INVALID = 1, NFCT_TCP_ACCEPT = 2;

/** Why tcp_in_window() refused the last segment (nf_tcp_log_invalid messages). */
let windowDetail = '';

/** nf_tcp_log_invalid(): liberal senders (or tcp_be_liberal) turn every complaint into ACCEPT. */
function logInvalid(t: ConntrackTable, sender: CtTcpSeen, ret: number, msg: string): number {
  if (sender.flags & IP_CT_TCP_FLAG_BE_LIBERAL || t.tcpBeLiberal) return NFCT_TCP_ACCEPT;
  windowDetail = msg;
  return ret;
}

/** tcp_in_window(). */
function tcpInWindow(t: ConntrackTable, ct: Conn, dir: number, index: number, p: CtPacket): number {
  const sender = ct.seen[dir]!;
  const receiver = ct.seen[dir ^ 1]!;
  const flags = p.tcpFlags;
  let seq = p.tcpSeq >>> 0;
  let ack = p.tcpAck >>> 0;
  let sack = ack;
  const winRaw = p.tcpWin & 0xffff;
  let win = winRaw;
  let end = segEnd(p);

  if (receiver.flags & IP_CT_TCP_FLAG_SACK_PERM) {
    for (let i = 0; i < p.tcpSackCount; i++) {
      const edge = p.tcpSackRight[i]!;
      if (after(edge, sack)) sack = edge;
    }
  }
  // NAT sequence adjustment (nf_ct_seq_offset) is always 0 here: no helpers.

  if (sender.tdMaxwin === 0) {
    // Initialize sender data.
    if (flags & TH_SYN) {
      tcpInitSender(sender, receiver, p, end, win, dir);
      if (!(flags & TH_ACK)) return NFCT_TCP_ACCEPT; // simultaneous open
    } else {
      // Mid-connection: history lost, use the data from the packet.
      sender.tdEnd = end;
      const swin = u32(win << sender.tdScale);
      sender.tdMaxwin = swin === 0 ? 1 : swin;
      sender.tdMaxend = u32(end + sender.tdMaxwin);
      if (receiver.tdMaxwin === 0) {
        // No traffic seen the other way yet: tweak tracking to pass III and IV until then.
        receiver.tdEnd = receiver.tdMaxend = sack;
      } else if (sack === u32(receiver.tdEnd + 1)) {
        receiver.tdEnd = u32(receiver.tdEnd + 1); // likely a reply to a keepalive
      }
    }
  } else if (flags & TH_SYN && after(end, sender.tdEnd) &&
             (ct.tcpState === TCP_CONNTRACK_SYN_SENT || ct.tcpState === TCP_CONNTRACK_SYN_RECV)) {
    // RFC 793: a reinitialized TCP may use larger sequence numbers at once; re-init this direction.
    tcpInitSender(sender, receiver, p, end, win, dir);
    if (dir === IP_CT_DIR_REPLY && !(flags & TH_ACK)) return NFCT_TCP_ACCEPT;
  }

  if (!(flags & TH_ACK)) {
    ack = sack = receiver.tdEnd; // no ACK: pretend it was set and OK
  } else if ((flags & (TH_ACK | TH_RST)) === (TH_ACK | TH_RST) && ack === 0) {
    ack = sack = receiver.tdEnd; // broken stacks: ACK set in RST with a zero ack
  }

  if (flags & TH_RST && seq === 0 && ct.tcpState === TCP_CONNTRACK_SYN_SENT) {
    seq = end = sender.tdEnd; // RST answering a SYN
  }

  const maxackwin = sender.tdMaxwin > MAXACKWINCONST ? sender.tdMaxwin : MAXACKWINCONST;
  const seqOk = before(seq, u32(sender.tdMaxend + 1));
  if (!seqOk) {
    const overshot = u32(end - sender.tdMaxend + 1);
    const ackOk = after(sack, u32(receiver.tdEnd - maxackwin - 1));
    const inRecvWin = receiver.tdMaxwin !== 0 && after(end, u32(sender.tdEnd - receiver.tdMaxwin - 1));
    if (inRecvWin && ackOk && overshot <= receiver.tdMaxwin && before(sack, u32(receiver.tdEnd + 1))) {
      // TCPs that send more than the receive window allows: remember the data for the peer's ACK.
      sender.tdEnd = end;
      sender.flags |= IP_CT_TCP_FLAG_DATA_UNACKNOWLEDGED;
      return logInvalid(t, sender, NFCT_TCP_IGNORE, 'bytes more than expected');
    }
    return logInvalid(t, sender, NFCT_TCP_INVALID, 'SEQ is over upper bound (over the window of the receiver)');
  }
  if (!before(sack, u32(receiver.tdEnd + 1))) {
    return logInvalid(t, sender, NFCT_TCP_INVALID, 'ACK is over upper bound (ACKed data not seen yet)');
  }
  const inRecvWin = receiver.tdMaxwin === 0 || after(end, u32(sender.tdEnd - receiver.tdMaxwin - 1));
  if (!inRecvWin) {
    return logInvalid(t, sender, NFCT_TCP_IGNORE, 'SEQ is under lower bound (already ACKed data retransmitted)');
  }
  if (!after(sack, u32(receiver.tdEnd - maxackwin - 1))) {
    return logInvalid(t, sender, NFCT_TCP_IGNORE, 'ignored ACK under lower bound (possible overly delayed)');
  }

  // Window scaling (RFC 1323) applies to everything but SYNs.
  if (!(flags & TH_SYN)) win = u32(win << sender.tdScale);

  // Update sender data.
  const swin = u32(win + u32(sack - ack));
  if (sender.tdMaxwin < swin) sender.tdMaxwin = swin;
  if (after(end, sender.tdEnd)) {
    sender.tdEnd = end;
    sender.flags |= IP_CT_TCP_FLAG_DATA_UNACKNOWLEDGED;
  }
  if (flags & TH_ACK) {
    if (!(sender.flags & IP_CT_TCP_FLAG_MAXACK_SET)) {
      sender.tdMaxack = ack;
      sender.flags |= IP_CT_TCP_FLAG_MAXACK_SET;
    } else if (after(ack, sender.tdMaxack)) {
      sender.tdMaxack = ack;
    }
  }

  // Update receiver data.
  if (receiver.tdMaxwin !== 0 && after(end, sender.tdMaxend)) {
    receiver.tdMaxwin = u32(receiver.tdMaxwin + u32(end - sender.tdMaxend));
  }
  if (after(u32(sack + win), u32(receiver.tdMaxend - 1))) {
    receiver.tdMaxend = u32(sack + win);
    if (win === 0) receiver.tdMaxend = u32(receiver.tdMaxend + 1);
  }
  if (ack === receiver.tdEnd) receiver.flags &= ~IP_CT_TCP_FLAG_DATA_UNACKNOWLEDGED;

  // Check retransmissions.
  if (index === TCP_ACK_SET) {
    if (ct.lastDir === dir && ct.lastSeq === seq && ct.lastAck === ack && ct.lastEnd === end && ct.lastWin === winRaw) {
      ct.retrans++;
    } else {
      ct.lastDir = dir;
      ct.lastSeq = seq;
      ct.lastAck = ack;
      ct.lastEnd = end;
      ct.lastWin = winRaw;
      ct.retrans = 0;
    }
  }
  return NFCT_TCP_ACCEPT;
}

/** nf_tcp_handle_invalid(): an out-of-window FIN/RST answering one shortens an assured entry. */
function tcpHandleInvalid(t: ConntrackTable, ct: Conn, dir: number, index: number, now: number): void {
  if (!(ct.status & IPS_ASSURED) || ct.status & IPS_FIXED_TIMEOUT) return;
  if (index !== TCP_RST_SET && index !== TCP_FIN_SET) return;
  if (ct.lastDir !== dir && (ct.lastIndex === TCP_FIN_SET || ct.lastIndex === TCP_RST_SET)) {
    const expires = ct.timeoutAt - now;
    if (expires < 120) return;
    const timeout = t.tcpTimeouts[TCP_CONNTRACK_UNACK]!;
    if (expires > timeout) t.setTimeout(ct, now + timeout);
  } else {
    ct.lastIndex = index;
    ct.lastDir = dir;
  }
}

/** tcp_error(): truncated, bad checksum, or a flag combination no TCP sends. */
export function tcpError(p: CtPacket): string {
  if (p.hdrError) return 'truncated packet';
  if (p.csumBad) return 'bad checksum';
  if (!TCP_VALID_FLAGS[p.tcpFlags & ~(TH_ECE | TH_CWR | TH_PSH) & 0x3f]) return 'invalid tcp flag combination';
  return '';
}

/** tcp_new(): set up a fresh entry, or refuse (returns false). */
function tcpNew(t: ConntrackTable, ct: Conn, p: CtPacket): boolean {
  const newState = tcpTransition(0, getConntrackIndex(p.tcpFlags), TCP_CONNTRACK_NONE);
  if (newState >= TCP_CONNTRACK_MAX) return false;
  const s0 = ct.seen[0]!, s1 = ct.seen[1]!;
  s0.clear();
  s1.clear();
  ct.tcpState = TCP_CONNTRACK_NONE;
  ct.lastDir = 0; ct.lastIndex = 0; ct.lastSeq = 0; ct.lastAck = 0; ct.lastEnd = 0; ct.lastWin = 0;
  ct.lastWscale = 0; ct.lastFlags = 0; ct.retrans = 0;
  s0.tdEnd = segEnd(p);
  s0.tdMaxwin = p.tcpWin & 0xffff || 1;
  if (newState === TCP_CONNTRACK_SYN_SENT) {
    s0.tdMaxend = s0.tdEnd;
    tcpOptions(p, s0);
  } else if (!t.tcpLoose) {
    return false; // don't pick up connections
  } else {
    // Mid-connection pickup: assume SACK and liberal window checking to cope with window scaling.
    s0.tdMaxend = u32(s0.tdEnd + s0.tdMaxwin);
    s0.flags = s1.flags = IP_CT_TCP_FLAG_SACK_PERM | IP_CT_TCP_FLAG_BE_LIBERAL;
  }
  ct.lastIndex = TCP_NONE_SET;
  return true;
}

/** tcp_can_early_drop(): closing states (used by the GC's early drop). */
export function tcpCanEarlyDrop(ct: Conn): boolean {
  const s = ct.tcpState;
  return s === TCP_CONNTRACK_FIN_WAIT || s === TCP_CONNTRACK_LAST_ACK || s === TCP_CONNTRACK_TIME_WAIT ||
    s === TCP_CONNTRACK_CLOSE || s === TCP_CONNTRACK_CLOSE_WAIT;
}

/** nf_conntrack_tcp_established(). */
function tcpEstablished(ct: Conn): boolean {
  return ct.tcpState === TCP_CONNTRACK_ESTABLISHED && (ct.status & IPS_ASSURED) !== 0;
}

/** Handler result: accept (state possibly updated). */
export const TCP_ACCEPT = 1;
/** Handler result: invalid (-NF_ACCEPT), the packet goes on without a conntrack. */
export const TCP_INVALID = -1;
/** Handler result: -NF_REPEAT, the old entry was killed; look up again (reopen from TIME_WAIT etc.). */
export const TCP_REPEAT = 2;

/**
 * nf_conntrack_tcp_packet(). `dir` and `ctinfo` as resolved by the table. Returns TCP_ACCEPT,
 * TCP_INVALID (out.detail says why) or TCP_REPEAT. `out.tcpOld/tcpNew` record the transition.
 */
export function tcpPacket(t: ConntrackTable, ct: Conn, p: CtPacket, dir: number, now: number, out: CtResult): number {
  const err = tcpError(p);
  if (err !== '') { out.detail = err; return TCP_INVALID; }
  if (!(ct.status & IPS_CONFIRMED) && !tcpNew(t, ct, p)) { out.detail = 'invalid new'; return TCP_INVALID; }

  const flags = p.tcpFlags;
  let oldState = ct.tcpState;
  const index = getConntrackIndex(flags);
  let newState = tcpTransition(dir, index, oldState);
  out.tcpOld = oldState;
  out.tcpNew = newState;
  let skipWindow = false;

  // SYN_SENT from TIME_WAIT or later: a reopen (the old entry dies) or, failing that, handled like
  // an ignored packet (the kernel's switch falls through from SYN_SENT to IGNORE).
  let ignore = newState === TCP_CONNTRACK_IGNORE;
  if (newState === TCP_CONNTRACK_SYN_SENT && oldState >= TCP_CONNTRACK_TIME_WAIT) {
    // RFC 1122: a SYN may reopen from TIME_WAIT; also a client aborting and starting over.
    if ((ct.seen[dir]!.flags | ct.seen[dir ^ 1]!.flags) & IP_CT_TCP_FLAG_CLOSE_INIT ||
        (ct.lastDir === dir && ct.lastIndex === TCP_RST_SET)) {
      t.kill(ct);
      out.detail = 'reopen: old entry killed';
      return TCP_REPEAT;
    }
    ignore = true;
  }

  switch (ignore ? TCP_CONNTRACK_IGNORE : newState) {
    case TCP_CONNTRACK_IGNORE: {
      // Our entry may be out of sync: ignore packets that may signal the real connection
      // (a) SYN in ORIGINAL, (b) SYN/ACK in REPLY, (c) ACK in reply after the initial SYN.
      if (index === TCP_SYNACK_SET && ct.lastIndex === TCP_SYN_SET && ct.lastDir !== dir &&
          (p.tcpAck >>> 0) === ct.lastEnd) {
        // (b) This SYN/ACK acknowledges a SYN we ignored: both ends are in sync, resync from it.
        oldState = TCP_CONNTRACK_SYN_SENT;
        newState = TCP_CONNTRACK_SYN_RECV;
        out.tcpOld = oldState;
        out.tcpNew = newState;
        const ls = ct.seen[ct.lastDir]!;
        ls.tdEnd = ct.lastEnd;
        ls.tdMaxend = ct.lastEnd;
        ls.tdMaxwin = ct.lastWin === 0 ? 1 : ct.lastWin;
        ls.tdScale = ct.lastWscale;
        ct.lastFlags &= ~IP_CT_EXP_CHALLENGE_ACK;
        ls.flags = ct.lastFlags;
        const s = ct.seen[dir]!;
        s.tdEnd = 0; s.tdMaxend = 0; s.tdMaxwin = 0; s.tdMaxack = 0; s.tdScale = 0; s.flags &= IP_CT_TCP_FLAG_BE_LIBERAL;
        break;
      }
      ct.lastIndex = index;
      ct.lastDir = dir;
      ct.lastSeq = p.tcpSeq >>> 0;
      ct.lastEnd = segEnd(p);
      ct.lastWin = p.tcpWin & 0xffff;
      if (index === TCP_SYN_SET && dir === IP_CT_DIR_ORIGINAL) {
        // (a) Remember the SYN's options; the server's SYN/ACK will tell whether it was valid.
        ct.lastFlags = 0;
        ct.lastWscale = 0;
        if (p.tcpOptLen > 0 && p.tcpWscale >= 0) {
          ct.lastFlags |= IP_CT_TCP_FLAG_WINDOW_SCALE;
          ct.lastWscale = p.tcpWscale > TCP_MAX_WSCALE ? TCP_MAX_WSCALE : p.tcpWscale;
        }
        if (p.tcpOptLen > 0 && p.tcpSackPerm) ct.lastFlags |= IP_CT_TCP_FLAG_SACK_PERM;
        // RFC 5961 challenge ACK: in LAST_ACK an ACK would be read as acking the last FIN.
        if (oldState === TCP_CONNTRACK_LAST_ACK) ct.lastFlags |= IP_CT_EXP_CHALLENGE_ACK;
      }
      if (oldState === TCP_CONNTRACK_SYN_SENT && index === TCP_ACK_SET && dir === IP_CT_DIR_REPLY) {
        ct.lastAck = p.tcpAck >>> 0; // possible challenge ACK answering the SYN
      }
      out.detail = 'ignored';
      out.tcpNew = oldState;
      return TCP_ACCEPT;
    }
    case TCP_CONNTRACK_MAX:
      out.detail = 'invalid state transition';
      out.tcpNew = oldState;
      return TCP_INVALID;
    case TCP_CONNTRACK_TIME_WAIT:
      // RFC 5961: a challenge ACK provoked by a spurious SYN must not be taken as the last ACK.
      if (oldState === TCP_CONNTRACK_LAST_ACK && index === TCP_ACK_SET && ct.lastDir !== dir &&
          ct.lastIndex === TCP_SYN_SET && ct.lastFlags & IP_CT_EXP_CHALLENGE_ACK) {
        ct.lastFlags &= ~IP_CT_EXP_CHALLENGE_ACK;
        out.detail = 'challenge-ack ignored';
        out.tcpNew = oldState;
        return TCP_ACCEPT;
      }
      break;
    case TCP_CONNTRACK_SYN_SENT2:
      ct.lastFlags |= IP_CT_TCP_SIMULTANEOUS_OPEN; // the table alone can't handle simultaneous open
      break;
    case TCP_CONNTRACK_SYN_RECV:
      if (dir === IP_CT_DIR_REPLY && index === TCP_ACK_SET && ct.lastFlags & IP_CT_TCP_SIMULTANEOUS_OPEN) {
        newState = TCP_CONNTRACK_ESTABLISHED;
        out.tcpNew = newState;
      }
      break;
    case TCP_CONNTRACK_CLOSE: {
      if (index !== TCP_RST_SET) break;
      // Closing: the tuple may have been reused already; skip the validation checks.
      if (tcpCanEarlyDrop(ct)) { skipWindow = true; break; }
      const other = ct.seen[dir ^ 1]!;
      if (other.flags & IP_CT_TCP_FLAG_MAXACK_SET && ct.lastIndex !== TCP_SYN_SET) {
        const seq = p.tcpSeq >>> 0;
        // SEQ=0 outside ESTABLISHED: most likely the answer to a SYN we let through.
        if (seq === 0 && !tcpEstablished(ct)) break;
        if (before(seq, other.tdMaxack) && !t.tcpIgnoreInvalidRst) {
          out.detail = 'invalid rst';
          out.tcpNew = oldState;
          return TCP_INVALID;
        }
        if (!tcpEstablished(ct) || seq === other.tdMaxack) break;
        // RST as part of a train (data then RST at its end).
        if (ct.lastIndex === TCP_ACK_SET && ct.lastDir === dir && seq === ct.lastEnd) break;
        // Sequence doesn't match exactly: keep the state to allow a challenge ACK.
        newState = oldState;
        out.tcpNew = newState;
      }
      if ((((ct.status & IPS_SEEN_REPLY) !== 0 && ct.lastIndex === TCP_SYN_SET) ||
           ((ct.status & IPS_ASSURED) === 0 && ct.lastIndex === TCP_ACK_SET)) &&
          (p.tcpAck >>> 0) === ct.lastEnd) {
        skipWindow = true; // RST to a SYN or ACK we let through at (a)/(c): delete our entry
        break;
      }
      if (oldState === TCP_CONNTRACK_SYN_SENT && ct.lastIndex === TCP_ACK_SET &&
          ct.lastDir === IP_CT_DIR_REPLY && (p.tcpSeq >>> 0) === ct.lastAck) {
        skipWindow = true; // reset answering a challenge ACK we let through
      }
      break;
    }
    default:
      break;
  }

  if (!skipWindow) {
    const res = tcpInWindow(t, ct, dir, index, p);
    if (res === NFCT_TCP_IGNORE) {
      out.detail = windowDetail;
      out.tcpNew = oldState;
      return TCP_ACCEPT;
    }
    if (res === NFCT_TCP_INVALID) {
      tcpHandleInvalid(t, ct, dir, index, now);
      out.detail = windowDetail;
      out.tcpNew = oldState;
      return TCP_INVALID;
    }
  }

  // in_window: from now on we have in-window packets.
  ct.lastIndex = index;
  ct.lastDir = dir;
  ct.tcpState = newState;
  if (oldState !== newState && newState === TCP_CONNTRACK_FIN_WAIT) ct.seen[dir]!.flags |= IP_CT_TCP_FLAG_CLOSE_INIT;

  const to = t.tcpTimeouts;
  let timeout: number;
  if (ct.retrans >= t.tcpMaxRetrans && to[newState]! > to[TCP_CONNTRACK_RETRANS]!) {
    timeout = to[TCP_CONNTRACK_RETRANS]!;
  } else if (index === TCP_RST_SET) {
    timeout = to[TCP_CONNTRACK_CLOSE]!;
  } else if ((ct.seen[0]!.flags | ct.seen[1]!.flags) & IP_CT_TCP_FLAG_DATA_UNACKNOWLEDGED &&
             to[newState]! > to[TCP_CONNTRACK_UNACK]!) {
    timeout = to[TCP_CONNTRACK_UNACK]!;
  } else if (ct.lastWin === 0 && to[newState]! > to[TCP_CONNTRACK_RETRANS]!) {
    timeout = to[TCP_CONNTRACK_RETRANS]!;
  } else {
    timeout = to[newState]!;
  }

  if (!(ct.status & IPS_SEEN_REPLY)) {
    // Only reply is a RST: not an established connection, delete it at once.
    if (flags & TH_RST) {
      t.kill(ct);
      out.detail = 'rst before reply: entry deleted';
      return TCP_ACCEPT;
    }
    // Don't renew on SYN retransmit, or port reuse could keep the entry (and its NAT) alive forever.
    if (index === TCP_SYN_SET && oldState === TCP_CONNTRACK_SYN_SENT) return TCP_ACCEPT;
    // ESTABLISHED without a reply (loose pickup): avoid the 5-day timeout.
    if (newState === TCP_CONNTRACK_ESTABLISHED && timeout > to[TCP_CONNTRACK_UNACK]!) timeout = to[TCP_CONNTRACK_UNACK]!;
  } else if (!(ct.status & IPS_ASSURED) &&
             (oldState === TCP_CONNTRACK_SYN_RECV || oldState === TCP_CONNTRACK_ESTABLISHED) &&
             newState === TCP_CONNTRACK_ESTABLISHED) {
    // A valid ACK in ESTABLISHED after SYN_RECV, or a valid answer for a picked-up connection.
    ct.status |= IPS_ASSURED;
  }
  t.refresh(ct, timeout, now);
  return TCP_ACCEPT;
}
