/**
 * `--filter EXPR`: tcpdump filter expressions (a pcap-filter(7) subset), compiled once into closures
 * over the decoder's PacketInfo. A packet passes when tcpdump would select it from the same capture —
 * tests/filter/tcpdump.test.ts checks that against tcpdump 4.99 / libpcap 1.10 on a real capture.
 *
 *   expr  := term (('and' | '&&' | 'or' | '||') term)*     and/or: one precedence, left to right
 *   term  := ('not' | '!') term | '(' expr ')' | relation | primitive | id    (id: see "abbreviation")
 *   primitive := [proto] [dir] [type] id | proto-only | 'vlan' [N] | 'greater' N | 'less' N
 *              | [ether|ip|ip6] 'proto' N | [ether|ip|ip6] broadcast/multicast
 *   relation  := arith ('>' | '<' | '>=' | '<=' | '=' | '==' | '!=') arith
 *   arith     := N | 'len' | name | proto '[' arith [':' 1|2|4] ']' | arith op arith | '-' arith | '(' arith ')'
 *
 * Where our results differ from libpcap's BPF, by design:
 * - VLAN: libpcap's `vlan` moves every later offset in the expression 4 bytes on, so without `vlan`
 *   a tagged frame matches nothing past the Ethernet header. Our decoder has already stripped the tags,
 *   so `vlan` and `vlan N` test the tags (the k-th `vlan` in the text tests the k-th tag, as in
 *   libpcap: `vlan 200 and vlan 300` is S-tag 200 over C-tag 300) and everything else reads the inner
 *   packet, tagged or not: `host 192.0.2.1` also selects that host's frames on VLAN 10. On a frame
 *   with k tags, EXPR selects what tcpdump's `vlan and … (k times) and (EXPR)` does. Only 802.1Q
 *   (0x8100) and 802.1ad (0x88a8) tags count (libpcap also takes 0x9100) and at most two `vlan`s.
 * - Not supported: host names (give addresses), `gateway`, `protochain`, `rarp host`/`rarp net` (and
 *   `host` does not look into RARP), `ip broadcast` (needs the capture's netmask), LLC `ether proto`
 *   values ≤ 1500, and the 802.11/MPLS/PPPoE/Geneve/DECnet/ISO/`inbound` primitives.
 * - Accepted although libpcap refuses them: `ip proto tcp` (no backslash), `net 10/8`, `proto \icmp6`.
 *   Refused although libpcap accepts them: `host 10` (0.0.0.10), `ip proto 300` (never matches).
 * What we copy from libpcap, quirks included: `tcp`/`udp`/`icmp6`/`ip6 proto N` on IPv6 look at the
 * first next header only, or the one after a leading fragment header; `port` on IPv6 needs TCP/UDP/SCTP
 * right after the fixed header; `tcp[…]`, `udp[…]`, `icmp[…]` index IPv4 only (non-first fragments
 * never match); port names mean TCP or UDP as Debian's /etc/services lists them (`port http` is TCP
 * only, `udp port http` is an error); a read past the captured bytes, once evaluation reaches it,
 * rejects the packet whatever `not` or `or` surround it, as a BPF program does.
 *
 * Evaluation allocates nothing: closures read `info` fields and `info.bytes`.
 */
import { UsageError } from '../errors.js';
import { ipv4ToString, ipv6ToString, macToString, parseIpv4, parseIpv6, type PacketInfo } from '../stack/wire/decode.js';
import { ETH_P_ARP, ETH_P_IP, ETH_P_IPV6 } from '../stack/wire/ethernet.js';

/** A compiled filter: true when the packet is selected. */
export type PacketFilter = (info: PacketInfo) => boolean;

/** Compile a filter expression once; throws UsageError (with the column and a hint) on bad syntax. */
export function compileFilter(expr: string): PacketFilter {
  const pred = compileNode(new Parser(expr).parse());
  // A BPF program that reads past the captured bytes stops and rejects the packet (bpf_filter()).
  return (info) => {
    aborted = false;
    const r = pred(info);
    return r && !aborted;
  };
}

/** The expression in canonical form: every qualifier spelled out, abbreviations expanded, numbers
 * resolved, parentheses where pcap's left-to-right and/or would surprise. "" selects every packet. */
export function describeFilter(expr: string): string {
  return describe(new Parser(expr).parse());
}

// ---------------------------------------------------------------------------------------------
// Syntax tree (compile time only).

/** Address direction: 0 src, 1 dst, 2 src or dst, 3 src and dst. */
type Dir = 0 | 1 | 2 | 3;
const DIR_TEXT = ['src ', 'dst ', '', 'src and dst '];

type Node =
  | { k: 'and' | 'or'; a: Node; b: Node }
  | { k: 'not'; a: Node }
  | { k: 'all' }
  | { k: 'ethertype'; type: number }
  | { k: 'proto'; fam: 0 | 4 | 6; proto: number }
  | { k: 'host4'; fam: 0 | 4 | 0x806; dir: Dir; addr: number; mask: number }
  | { k: 'host6'; dir: Dir; addr: Uint8Array; bits: number }
  | { k: 'ether'; dir: Dir; hi: number; lo: number }
  | { k: 'port'; proto: number; dir: Dir; lo: number; hi: number; range: boolean }
  | { k: 'vlan'; depth: number; id: number }
  | { k: 'greater' | 'less'; n: number }
  | { k: 'cast'; what: 'ether broadcast' | 'ether multicast' | 'ip multicast' | 'ip6 multicast' }
  | { k: 'rel'; op: string; a: Arith; b: Arith };

type Arith =
  | { k: 'num'; v: number }
  | { k: 'len' }
  | { k: 'load'; base: string; off: Arith; size: number }
  | { k: 'bin'; op: string; a: Arith; b: Arith }
  | { k: 'neg'; a: Arith };

/** Qualifiers of a primitive as written (null: not given). */
interface Qual {
  proto: string | null;
  dir: Dir | null;
  type: string | null;
}

// ---------------------------------------------------------------------------------------------
// Names: keywords, protocols, ports, constants.

/** `proto` keywords that stand alone (libpcap gen_proto_abbrev_internal): family 0 = IPv4 or IPv6. */
const PROTO_KW: Record<string, [fam: 0 | 4 | 6, proto: number]> = {
  tcp: [0, 6], udp: [0, 17], sctp: [0, 132], icmp: [4, 1], icmp6: [6, 58], igmp: [4, 2], igrp: [4, 9],
  pim: [0, 103], vrrp: [4, 112], carp: [4, 112], ah: [0, 51], esp: [0, 50],
};

/** Words that qualify a following host/net/port or stand alone. */
const PROTO_QUAL = new Set(['ether', 'link', 'ip', 'ip6', 'arp', 'rarp', ...Object.keys(PROTO_KW)]);

/** Bases for `proto[off:size]` loads. */
const LOAD_BASE = new Set(['ether', 'link', 'ip', 'ip6', 'arp', 'tcp', 'udp', 'icmp', 'icmp6', 'igmp', 'sctp']);

/** IP protocol names for `proto \name` (Debian's /etc/protocols; libpcap asks getprotobyname). */
const IP_PROTO_NAMES: Record<string, number> = {
  ip: 0, hopopt: 0, icmp: 1, igmp: 2, ipencap: 4, tcp: 6, egp: 8, igp: 9, udp: 17, dccp: 33, ipv6: 41,
  'ipv6-route': 43, 'ipv6-frag': 44, rsvp: 46, gre: 47, esp: 50, ah: 51, 'ipv6-icmp': 58, icmp6: 58,
  'ipv6-nonxt': 59, 'ipv6-opts': 60, eigrp: 88, ospf: 89, ipip: 94, etherip: 97, pim: 103, ipcomp: 108,
  vrrp: 112, l2tp: 115, isis: 124, sctp: 132, udplite: 136, 'mpls-in-ip': 137,
};

/** Ethertype names for `ether proto \name` (libpcap's eproto_db). */
const ETHER_PROTO_NAMES: Record<string, number> = {
  ip: 0x0800, ip6: 0x86dd, arp: 0x0806, rarp: 0x8035, atalk: 0x809b, aarp: 0x80f3, decnet: 0x6003,
  lat: 0x6004, sca: 0x6007, mopdl: 0x6001, moprc: 0x6002, loopback: 0x9000, pup: 0x0200, sprite: 0x0500,
};

const PT = 1, PU = 2, PTU = 3;
/**
 * Port names with the transports Debian's /etc/services (netbase) lists them for. As libpcap's
 * pcap_nametoport: a name listed only for TCP makes `port NAME` TCP-only.
 */
const PORT_NAMES: Record<string, [port: number, protos: number]> = {
  echo: [7, PTU], discard: [9, PTU], daytime: [13, PTU], 'ftp-data': [20, PT], ftp: [21, PT], ssh: [22, PT],
  telnet: [23, PT], smtp: [25, PT], time: [37, PTU], whois: [43, PT], tacacs: [49, PTU], domain: [53, PTU],
  bootps: [67, PU], bootpc: [68, PU], tftp: [69, PU], gopher: [70, PT], finger: [79, PT], http: [80, PT],
  www: [80, PT], kerberos: [88, PTU], pop3: [110, PT], sunrpc: [111, PTU], auth: [113, PT], nntp: [119, PT],
  ntp: [123, PU], epmap: [135, PT], 'netbios-ns': [137, PU], 'netbios-dgm': [138, PU], 'netbios-ssn': [139, PT],
  imap2: [143, PT], imap: [143, PT], snmp: [161, PTU], 'snmp-trap': [162, PTU], xdmcp: [177, PU], bgp: [179, PT],
  ldap: [389, PTU], https: [443, PTU], 'microsoft-ds': [445, PT], kpasswd: [464, PTU], isakmp: [500, PU],
  exec: [512, PT], login: [513, PT], shell: [514, PT], printer: [515, PT], syslog: [514, PTU], talk: [517, PU],
  ntalk: [518, PU], route: [520, PU], rtsp: [554, PTU], submission: [587, PT], ipp: [631, PT], ldaps: [636, PTU],
  'kerberos-adm': [749, PT], 'domain-s': [853, PTU], rsync: [873, PT], ftps: [990, PT], telnets: [992, PT],
  imaps: [993, PT], pop3s: [995, PT], openvpn: [1194, PTU], l2tp: [1701, PU], radius: [1812, PTU],
  'radius-acct': [1813, PTU], nfs: [2049, PTU], 'iscsi-target': [3260, PT], mysql: [3306, PT],
  'ms-wbt-server': [3389, PT], svn: [3690, PT], 'ipsec-nat-t': [4500, PU], sip: [5060, PTU], 'sip-tls': [5061, PTU],
  'xmpp-client': [5222, PT], 'xmpp-server': [5269, PT], mdns: [5353, PU], postgresql: [5432, PT], x11: [6000, PT],
  redis: [6379, PT], 'http-alt': [8080, PT], webcache: [8080, PT], git: [9418, PT],
};

/** Named constants usable in arithmetic (pcap-filter(7) "expr relop expr"). */
const CONSTANTS: Record<string, number> = {
  tcpflags: 13, 'tcp-fin': 0x01, 'tcp-syn': 0x02, 'tcp-rst': 0x04, 'tcp-push': 0x08, 'tcp-ack': 0x10,
  'tcp-urg': 0x20, 'tcp-ece': 0x40, 'tcp-cwr': 0x80,
  icmptype: 0, icmpcode: 1, 'icmp-echoreply': 0, 'icmp-unreach': 3, 'icmp-sourcequench': 4, 'icmp-redirect': 5,
  'icmp-echo': 8, 'icmp-routeradvert': 9, 'icmp-routersolicit': 10, 'icmp-timxceed': 11, 'icmp-paramprob': 12,
  'icmp-tstamp': 13, 'icmp-tstampreply': 14, 'icmp-ireq': 15, 'icmp-ireqreply': 16, 'icmp-maskreq': 17,
  'icmp-maskreply': 18,
  icmp6type: 0, icmp6code: 1, 'icmp6-destinationunreach': 1, 'icmp6-packettoobig': 2, 'icmp6-timeexceeded': 3,
  'icmp6-parameterproblem': 4, 'icmp6-echo': 128, 'icmp6-echoreply': 129, 'icmp6-multicastlistenerquery': 130,
  'icmp6-multicastlistenerreportv1': 131, 'icmp6-multicastlistenerdone': 132, 'icmp6-routersolicit': 133,
  'icmp6-routeradvert': 134, 'icmp6-neighborsolicit': 135, 'icmp6-neighboradvert': 136, 'icmp6-redirect': 137,
  'icmp6-routerrenum': 138, 'icmp6-nodeinformationquery': 139, 'icmp6-nodeinformationresponse': 140,
  'icmp6-ineighbordiscoverysolicit': 141, 'icmp6-ineighbordiscoveryadvert': 142,
  'icmp6-multicastlistenerreportv2': 143, 'icmp6-homeagentdiscoveryrequest': 144,
  'icmp6-homeagentdiscoveryreply': 145, 'icmp6-mobileprefixsolicit': 146, 'icmp6-mobileprefixadvert': 147,
  'icmp6-certpathsolicit': 148, 'icmp6-certpathadvert': 149, 'icmp6-multicastrouteradvert': 151,
  'icmp6-multicastroutersolicit': 152, 'icmp6-multicastrouterterm': 153,
};

/** pcap-filter words we recognise but do not implement: a clear error instead of "unknown word". */
const UNSUPPORTED = new Set([
  'gateway', 'protochain', 'inbound', 'outbound', 'ifname', 'on', 'rnr', 'rulenum', 'reason', 'rset',
  'ruleset', 'srnr', 'subrulenum', 'action', 'type', 'subtype', 'dir', 'wlan', 'ra', 'ta', 'addr1', 'addr2',
  'addr3', 'addr4', 'fddi', 'tr', 'ppp', 'slip', 'mpls', 'pppoed', 'pppoes', 'geneve', 'llc', 'atalk',
  'aarp', 'decnet', 'iso', 'esis', 'isis', 'clnp', 'stp', 'ipx', 'netbeui', 'lat', 'sca', 'moprc', 'mopdl',
  'l1', 'l2', 'iih', 'lsp', 'snp', 'csnp', 'psnp', 'radio', 'vxlan', 'hdlc', 'fisu', 'lssu', 'msu', 'sio',
  'opc', 'dpc', 'sls', 'atmfield', 'lane', 'oamf4', 'metac', 'bcc', 'sc', 'ilmic', 'connectmsg', 'metaconnect',
]);

const KEYWORDS = new Set([
  ...PROTO_QUAL, 'src', 'dst', 'host', 'net', 'port', 'portrange', 'mask', 'proto', 'vlan', 'greater', 'less',
  'len', 'broadcast', 'multicast', 'and', 'or', 'not', ...Object.keys(CONSTANTS), ...UNSUPPORTED,
]);

// ---------------------------------------------------------------------------------------------
// Tokens.

const enum Tk { Word, Op, End }

interface Token {
  t: Tk;
  s: string;
  /** 1-based column of the first character. */
  col: number;
}

const OPS2 = ['&&', '||', '!=', '==', '>=', '<=', '<<', '>>'];
const OPS1 = '!()[]+-*/%&|^<>=:';

function isWordStart(c: string): boolean {
  return /[A-Za-z0-9_\\]/.test(c);
}
function isWordChar(c: string): boolean {
  return /[A-Za-z0-9_.:\-]/.test(c);
}

function tokenize(expr: string, fail: (col: number, msg: string) => never): Token[] {
  const out: Token[] = [];
  let i = 0, brackets = 0;
  while (i < expr.length) {
    const c = expr[i];
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      i++;
      continue;
    }
    if (isWordStart(c) || (c === ':' && expr[i + 1] === ':' && brackets === 0)) {
      let j = i + 1;
      // Inside [...] a ':' separates offset and size (no addresses there); outside it belongs to an
      // IPv6 or MAC address.
      while (j < expr.length && isWordChar(expr[j]) && !(brackets > 0 && expr[j] === ':')) j++;
      out.push({ t: Tk.Word, s: expr.slice(i, j), col: i + 1 });
      i = j;
      continue;
    }
    const two = expr.slice(i, i + 2);
    if (OPS2.includes(two)) {
      out.push({ t: Tk.Op, s: two, col: i + 1 });
      i += 2;
      continue;
    }
    if (OPS1.includes(c)) {
      if (c === '[') brackets++;
      else if (c === ']' && brackets > 0) brackets--;
      out.push({ t: Tk.Op, s: c, col: i + 1 });
      i++;
      continue;
    }
    fail(i + 1, `unexpected character "${c}"`);
  }
  out.push({ t: Tk.End, s: '', col: expr.length + 1 });
  return out;
}

// ---------------------------------------------------------------------------------------------
// Parser: recursive descent over the pcap grammar (libpcap grammar.y), building the syntax tree.

/** A parse failure at a column; turned into one UsageError at the top. */
class SyntaxFail {
  constructor(readonly col: number, readonly msg: string) {}
}

const REL_OPS = new Set(['>', '<', '>=', '<=', '=', '==', '!=']);
/** Binding power of binary arithmetic operators (grammar.y %left lines; '^' is handled apart). */
const ARITH_BP: Record<string, number> = { '|': 1, '&': 2, '<<': 3, '>>': 3, '+': 4, '-': 4, '*': 5, '/': 5, '%': 5 };
const BP_UNARY = 6;

class Parser {
  private toks: Token[] = [];
  private pos = 0;
  /** Qualifiers of the last primitive with an id: what a bare id reuses (`host A or B`). */
  private last: Qual | null = null;
  /** `vlan` keywords seen so far: the k-th tests the k-th tag. */
  private vlans = 0;

  constructor(private readonly expr: string) {}

  parse(): Node {
    try {
      this.toks = tokenize(this.expr, (col, msg) => this.fail(col, msg));
      if (this.peek().t === Tk.End) return { k: 'all' };
      const n = this.expression();
      const t = this.peek();
      if (t.t !== Tk.End) this.unexpected(t);
      return n;
    } catch (e) {
      if (e instanceof SyntaxFail) throw new UsageError(`--filter "${this.expr}": column ${e.col}: ${e.msg}`);
      throw e;
    }
  }

  // ---- helpers

  private peek(k = 0): Token {
    return this.toks[Math.min(this.pos + k, this.toks.length - 1)];
  }
  private next(): Token {
    const t = this.peek();
    if (this.pos < this.toks.length - 1) this.pos++;
    return t;
  }
  private isWord(t: Token, ...words: string[]): boolean {
    return t.t === Tk.Word && words.includes(t.s);
  }
  private isOp(t: Token, ...ops: string[]): boolean {
    return t.t === Tk.Op && ops.includes(t.s);
  }
  private fail(col: number, msg: string): never {
    throw new SyntaxFail(col, msg);
  }
  private expect(op: string, what: string): Token {
    const t = this.peek();
    if (!this.isOp(t, op)) this.fail(t.col, `expected "${op}" ${what}, found ${show(t)}`);
    return this.next();
  }

  /** The error for a token that cannot come where it is. */
  private unexpected(t: Token): never {
    if (t.t === Tk.End) this.fail(t.col, 'unexpected end of expression');
    if (this.isOp(t, ')')) this.fail(t.col, 'unmatched ")"');
    if (t.t === Tk.Word && !KEYWORDS.has(t.s) && classify(t.s) === 'name') this.unknownWord(t);
    this.fail(t.col, `expected "and" or "or" before ${show(t)}`);
  }

  private unknownWord(t: Token): never {
    if (UNSUPPORTED.has(t.s)) this.fail(t.col, `"${t.s}" is not supported by pktpath's --filter`);
    const near = suggest(t.s, KEYWORDS);
    const head = t.s.slice(0, t.s.indexOf('-'));
    if (near === null && head !== '' && (head === 'len' || !Number.isNaN(parseNumber(head)) || CONSTANTS[head] !== undefined)) {
      this.fail(t.col, `unknown word "${t.s}" (put spaces around "-" to subtract)`);
    }
    this.fail(t.col, `unknown word "${t.s}"${near ? ` (did you mean "${near}"?)` : ' (host names are not resolved; give an address)'}`);
  }

  /** Run `f`; on failure restore the position and qualifier state and return the failure. */
  private attempt<T>(f: () => T): T | SyntaxFail {
    const pos = this.pos, last = this.last, vlans = this.vlans;
    try {
      return f();
    } catch (e) {
      if (!(e instanceof SyntaxFail)) throw e;
      this.pos = pos;
      this.last = last;
      this.vlans = vlans;
      return e;
    }
  }

  // ---- boolean structure

  /** expr := term ((and|or) term)*: equal precedence, left to right, as pcap-filter(7) says. */
  private expression(): Node {
    let n = this.term();
    for (;;) {
      const t = this.peek();
      let k: 'and' | 'or';
      if (this.isWord(t, 'and') || this.isOp(t, '&&')) k = 'and';
      else if (this.isWord(t, 'or') || this.isOp(t, '||')) k = 'or';
      else return n;
      this.next();
      if (this.peek().t === Tk.End) this.fail(this.peek().col, `expected a primitive after "${t.s}"`);
      n = { k, a: n, b: this.term() };
    }
  }

  private term(): Node {
    const t = this.peek();
    if (this.isWord(t, 'not') || this.isOp(t, '!')) {
      this.next();
      if (this.peek().t === Tk.End) this.fail(this.peek().col, `expected a primitive after "${t.s}"`);
      return { k: 'not', a: this.term() };
    }
    return this.rterm();
  }

  private rterm(): Node {
    const t = this.peek();
    if (this.isOp(t, '(')) {
      // '(' opens either arithmetic (`(tcp[13] & 2) != 0`) or a group: try the relation first and
      // report whichever reading got further.
      const rel = this.attempt(() => this.relation());
      if (!(rel instanceof SyntaxFail)) return rel;
      const grp = this.attempt(() => this.group());
      if (!(grp instanceof SyntaxFail)) return grp;
      throw grp.col >= rel.col ? grp : rel;
    }
    if (this.startsArith()) {
      const rel = this.attempt(() => this.relation());
      if (!(rel instanceof SyntaxFail)) return rel;
      // A number may also be an id, abbreviated (`port 80 or 443`) or missing its keyword (`80`).
      const isId = t.t === Tk.Word && classify(t.s) === 'number' && (this.last !== null || rel.col === this.peek(1).col);
      if (!isId) throw rel;
    }
    if (this.isWord(t, 'and', 'or')) this.fail(t.col, `expected a primitive before "${t.s}"`);
    if (t.t === Tk.Op) {
      if (t.s === ')') this.fail(t.col, '"()" is empty or an operand is missing before ")"');
      this.fail(t.col, `expected a primitive such as "host", "port" or "tcp", found ${show(t)}`);
    }
    if (t.t === Tk.End) this.fail(t.col, 'unexpected end of expression');
    return this.primitive();
  }

  /** '(' expr ')': qualifiers flow in and are restored after, as in grammar.y's `paren`. */
  private group(): Node {
    const open = this.next();
    const saved = this.last;
    if (this.isOp(this.peek(), ')')) this.fail(this.peek().col, '"()" is empty');
    const n = this.expression();
    const t = this.peek();
    if (!this.isOp(t, ')')) {
      if (t.t === Tk.End) this.fail(t.col, `"(" at column ${open.col} is not closed`);
      this.unexpected(t);
    }
    this.next();
    this.last = saved;
    return n;
  }

  // ---- primitives

  private primitive(): Node {
    const t = this.peek();
    const w = t.s;
    if (UNSUPPORTED.has(w)) this.fail(t.col, `"${w}" is not supported by pktpath's --filter`);
    switch (w) {
      case 'vlan':
        return this.vlan();
      case 'greater':
      case 'less': {
        this.next();
        const n = this.number(`after "${w}"`, 0xffffffff);
        this.last = null;
        return { k: w, n };
      }
      case 'broadcast':
        this.next();
        this.last = null;
        return { k: 'cast', what: 'ether broadcast' };
      case 'multicast':
        this.next();
        this.last = null;
        return { k: 'cast', what: 'ether multicast' };
      case 'proto':
        this.next();
        this.last = null;
        return { k: 'proto', fam: 0, proto: this.ipProto() };
      case 'mask':
      case 'len':
        this.fail(t.col, w === 'len' ? '"len" must be compared: "len > 100"' : '"mask" must follow "net ADDRESS"');
    }
    if (!PROTO_QUAL.has(w) && w !== 'src' && w !== 'dst' && !['host', 'net', 'port', 'portrange'].includes(w)) {
      return this.bareId(t);
    }
    const q: Qual = { proto: null, dir: null, type: null };
    if (PROTO_QUAL.has(w)) {
      q.proto = w;
      this.next();
      const n = this.peek();
      if (this.isWord(n, 'proto') && (w === 'ether' || w === 'link' || w === 'ip' || w === 'ip6')) {
        this.next();
        this.last = null;
        if (w === 'ether' || w === 'link') return { k: 'ethertype', type: this.etherProto() };
        return { k: 'proto', fam: w === 'ip' ? 4 : 6, proto: this.ipProto() };
      }
      if (this.isWord(n, 'broadcast', 'multicast')) {
        this.next();
        this.last = null;
        if (w === 'ether' || w === 'link') return { k: 'cast', what: n.s === 'broadcast' ? 'ether broadcast' : 'ether multicast' };
        if (n.s === 'multicast' && (w === 'ip' || w === 'ip6')) return { k: 'cast', what: w === 'ip' ? 'ip multicast' : 'ip6 multicast' };
        if (n.s === 'broadcast' && w === 'ip') this.fail(n.col, '"ip broadcast" needs the capture\'s netmask; use "dst host A.B.C.255" or "ether broadcast"');
        this.fail(n.col, `"${w} ${n.s}" is not a primitive`);
      }
    }
    const d = this.peek();
    if (this.isWord(d, 'src', 'dst')) q.dir = this.direction();
    const ty = this.peek();
    if (this.isWord(ty, 'host', 'net', 'port', 'portrange')) {
      q.type = ty.s;
      this.next();
    }
    if (q.dir === null && q.type === null) return this.protoOnly(t, q.proto!);
    const n = this.peek();
    if (this.isOp(n, '(')) return this.idGroup(q);
    return this.id(q);
  }

  /** src | dst | src or dst | src and dst (and dst-first spellings). */
  private direction(): Dir {
    const a = this.next().s;
    const c = this.peek(), b = this.peek(1);
    const other = a === 'src' ? 'dst' : 'src';
    if ((this.isWord(c, 'or') || this.isOp(c, '||')) && this.isWord(b, other)) {
      this.pos += 2;
      return 2;
    }
    if ((this.isWord(c, 'and') || this.isOp(c, '&&')) && this.isWord(b, other)) {
      this.pos += 2;
      return 3;
    }
    return a === 'src' ? 0 : 1;
  }

  private protoOnly(t: Token, proto: string): Node {
    this.last = null;
    const n = this.peek();
    if (n.t === Tk.Word && !KEYWORDS.has(n.s)) {
      const kind = classify(n.s);
      if (kind === 'number') this.fail(n.col, `"${n.s}" after "${proto}" needs a keyword: "${proto} port ${n.s}"?`);
      if (kind !== 'name') this.fail(n.col, `"${n.s}" after "${proto}" needs a keyword: "${proto} host ${n.s}"?`);
    }
    switch (proto) {
      case 'ether':
      case 'link':
        return this.fail(t.col, `"${proto}" needs "host", "src", "dst", "proto", "broadcast" or "multicast" after it`);
      case 'ip':
        return { k: 'ethertype', type: ETH_P_IP };
      case 'ip6':
        return { k: 'ethertype', type: ETH_P_IPV6 };
      case 'arp':
        return { k: 'ethertype', type: ETH_P_ARP };
      case 'rarp':
        return { k: 'ethertype', type: 0x8035 };
    }
    const [fam, p] = PROTO_KW[proto];
    return { k: 'proto', fam, proto: p };
  }

  /** A bare id reuses the last qualifiers: `host A or B` is `host A or host B` (pcap-filter(7)). */
  private bareId(t: Token): Node {
    const kind = classify(t.s);
    if (KEYWORDS.has(t.s)) this.unknownWord(t);
    // A misspelt keyword followed by its id reads better as that than as an id itself ("prot 80").
    const n = this.peek(1);
    if (kind === 'name' && (this.last === null || (suggest(t.s, KEYWORDS) !== null && n.t === Tk.Word && !this.isWord(n, 'and', 'or')))) {
      this.unknownWord(t);
    }
    if (this.last === null) {
      const kw = kind === 'number' ? 'port' : kind === 'mac' ? 'ether host' : 'host';
      this.fail(t.col, `"${t.s}" needs a keyword before it, such as "${kw} ${t.s}"`);
    }
    return this.id(this.last);
  }

  /** `host (A or B)`: ids joined by and/or under one set of qualifiers (grammar.y `pid`). */
  private idGroup(q: Qual): Node {
    const open = this.next();
    let n = this.idAtom(q);
    for (;;) {
      const t = this.peek();
      if (this.isOp(t, ')')) break;
      let k: 'and' | 'or';
      if (this.isWord(t, 'and') || this.isOp(t, '&&')) k = 'and';
      else if (this.isWord(t, 'or') || this.isOp(t, '||')) k = 'or';
      else if (t.t === Tk.End) this.fail(t.col, `"(" at column ${open.col} is not closed`);
      else this.fail(t.col, `expected "and", "or" or ")" in the list of ids, found ${show(t)}`);
      this.next();
      n = { k, a: n, b: this.idAtom(q) };
    }
    this.next();
    this.last = q;
    return n;
  }

  private idAtom(q: Qual): Node {
    return this.isOp(this.peek(), '(') ? this.idGroup(q) : this.id(q);
  }

  /** The id after qualifiers: an address, network, MAC, port or port range. */
  private id(q: Qual): Node {
    const t = this.peek();
    const after = qualText(q);
    if (t.t !== Tk.Word || KEYWORDS.has(t.s)) {
      this.fail(t.col, `expected ${q.type === 'port' ? 'a port' : q.type === 'portrange' ? 'a port range' : 'an address'} after "${after}", found ${show(t)}`);
    }
    this.next();
    this.last = q;
    const s = t.s;
    const dir: Dir = q.dir ?? 2;
    if (q.type === 'port' || q.type === 'portrange') {
      const proto = this.portProto(q, t);
      if (q.type === 'port') {
        const [port, protos] = this.port(s, t.col);
        return { k: 'port', proto: this.nameProto(proto, protos, s, t.col), dir, lo: port, hi: port, range: false };
      }
      // libpcap pcap_nametoportrange: "A-B" split at the first '-', or one port.
      const dash = s.indexOf('-');
      if (dash === 0 || dash === s.length - 1) this.fail(t.col, `"${s}" is not a port range: write "portrange 1024-2047"`);
      const [a, pa] = this.port(dash < 0 ? s : s.slice(0, dash), t.col);
      const [b, pb] = dash < 0 ? [a, pa] : this.port(s.slice(dash + 1), t.col);
      const p = this.nameProto(proto, pa & pb || PTU, s, t.col);
      return { k: 'port', proto: p, dir, lo: Math.min(a, b), hi: Math.max(a, b), range: true };
    }
    const kind = classify(s);
    if (kind === 'name') {
      if (q.type === 'host' || q.type === 'net' || q.proto !== null || q.dir !== null) {
        this.fail(t.col, `"${s}" is not an address (host names are not resolved)`);
      }
      this.unknownWord(t);
    }
    if (kind === 'number' && q.type !== 'net') {
      this.fail(t.col, `"${s}" is not an address; did you mean "${q.proto ? q.proto + ' ' : ''}${q.dir !== null ? DIR_TEXT[q.dir] : ''}port ${s}"?`);
    }
    if (q.proto === 'ether' || q.proto === 'link') {
      if (kind !== 'mac') this.fail(t.col, `"${after}" needs a MAC address such as 02:00:00:00:00:01, found "${s}"`);
      if (q.type === 'net') this.fail(t.col, '"ether net" is not valid; use "ether host MAC"');
      const m = parseMacLoose(s)!;
      return { k: 'ether', dir, hi: m.hi, lo: m.lo };
    }
    if (q.proto === 'rarp') this.fail(t.col, '"rarp host" and "rarp net" are not supported by pktpath\'s --filter');
    if (kind === 'mac') this.fail(t.col, `"${s}" is a MAC address: write "ether ${q.dir !== null ? DIR_TEXT[q.dir] : ''}host ${s}"`);
    if (q.proto !== null && !['ip', 'ip6', 'arp'].includes(q.proto)) {
      this.fail(t.col, `"${q.proto}" does not go with ${q.type ?? 'host'} (libpcap: '${q.proto}' modifier applied to ${q.type ?? 'host'}); did you mean "${q.proto} and ${q.dir !== null ? DIR_TEXT[q.dir] : ''}${q.type ?? 'host'} ${s}"?`);
    }
    if (kind === 'ipv6') return this.host6(q, t, dir);
    if (q.proto === 'ip6') this.fail(t.col, `"${s}" is an IPv4 address; "ip6" needs an IPv6 one`);
    return this.host4(q, t, dir, kind);
  }

  private host4(q: Qual, t: Token, dir: Dir, kind: string): Node {
    const fam = q.proto === 'ip' ? 4 : q.proto === 'arp' ? 0x806 : 0;
    let addr: number;
    let mask: number;
    if (kind === 'number') {
      // `net 10`: libpcap promotes a bare number to 10.0.0.0/8.
      addr = parseNumber(t.s);
      if (!(addr <= 0xffffffff)) this.fail(t.col, `"${t.s}" is not a network`);
      mask = 0xffffffff;
      while (addr !== 0 && (addr & 0xff000000) === 0) {
        addr = (addr << 8) >>> 0;
        mask = (mask << 8) >>> 0;
      }
    } else {
      const parts = t.s.split('.');
      const padded = parts.concat(['0', '0', '0']).slice(0, 4).join('.');
      addr = parseIpv4(padded);
      if (parts.length > 4 || parts.some((p) => p === '') || Number.isNaN(addr)) this.fail(t.col, `"${t.s}" is not a valid IPv4 address`);
      // `net 192.0.2` and even `host 192.0.2` mean 192.0.2.0/24 in libpcap.
      mask = (0xffffffff << (32 - 8 * parts.length)) >>> 0;
    }
    const slash = this.peek();
    if (this.isOp(slash, '/') || this.isWord(slash, 'mask')) {
      if (q.type !== 'net') {
        const m = this.peek(1);
        const rest = m.t === Tk.Word ? (slash.s === '/' ? `/${m.s}` : ` mask ${m.s}`) : '';
        this.fail(slash.col, `a mask needs "net": write "${q.proto ? q.proto + ' ' : ''}${q.dir !== null ? DIR_TEXT[q.dir] : ''}net ${t.s}${rest}"`);
      }
      this.next();
      if (slash.s === '/') {
        const len = this.number('after "/"', 32);
        mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
      } else {
        const m = this.peek();
        const v = m.t === Tk.Word ? parseIpv4(m.s) : NaN;
        if (Number.isNaN(v)) this.fail(m.col, `expected a dotted netmask such as 255.255.255.0 after "mask", found ${show(m)}`);
        this.next();
        mask = v;
      }
    }
    if ((addr & ~mask) >>> 0 !== 0) {
      const len = popcount(mask);
      const net = ipv4ToString((addr & mask) >>> 0) + (((0xffffffff << (32 - len)) >>> 0) === mask && len > 0 ? `/${len}` : ` mask ${ipv4ToString(mask)}`);
      this.fail(t.col, `non-network bits set in "${t.s}" for mask ${ipv4ToString(mask)} (did you mean "net ${net}" or "host ${t.s}"?)`);
    }
    return { k: 'host4', fam, dir, addr: addr >>> 0, mask };
  }

  private host6(q: Qual, t: Token, dir: Dir): Node {
    if (q.proto === 'ip' || q.proto === 'arp') this.fail(t.col, `"${t.s}" is an IPv6 address; "${q.proto}" needs an IPv4 one`);
    const addr = new Uint8Array(16);
    if (!parseIpv6(t.s, addr, 0)) this.fail(t.col, `"${t.s}" is not a valid IPv6 address`);
    let bits = 128;
    const slash = this.peek();
    if (this.isWord(slash, 'mask')) this.fail(slash.col, '"mask" is for IPv4 networks; write "net 2001:db8::/32"');
    if (this.isOp(slash, '/')) {
      this.next();
      bits = this.number('after "/"', 128);
      if (q.type !== 'net' && bits !== 128) this.fail(slash.col, `a prefix length needs "net": "net ${t.s}/${bits}"`);
    }
    let stray = false;
    const net = addr.slice();
    for (let i = 0; i < 16; i++) {
      const keep = bits >= 8 * (i + 1) ? 0xff : bits <= 8 * i ? 0 : (0xff << (8 - (bits - 8 * i))) & 0xff;
      if ((addr[i] & ~keep & 0xff) !== 0) stray = true;
      net[i] &= keep;
    }
    if (stray) this.fail(t.col, `non-network bits set in "${t.s}/${bits}" (did you mean "net ${ipv6ToString(net, 0)}/${bits}"?)`);
    return { k: 'host6', dir, addr, bits };
  }

  /** The transport of `port`: 6, 17, 132, or 0 for any of them. */
  private portProto(q: Qual, t: Token): number {
    switch (q.proto) {
      case null:
        return 0;
      case 'tcp':
        return 6;
      case 'udp':
        return 17;
      case 'sctp':
        return 132;
      default:
        this.fail(t.col, `"${q.proto} ${q.type}" is not valid: ${q.type} goes with tcp, udp or sctp`);
    }
  }

  /** libpcap: a port name restricts `port` to the transports it is listed for. */
  private nameProto(proto: number, protos: number, s: string, col: number): number {
    if (protos === PTU) return proto;
    const only = protos === PT ? 6 : 17;
    if (proto === 0) return only;
    if (proto === 132 || proto !== only) this.fail(col, `port "${s}" is ${only === 6 ? 'tcp' : 'udp'} only in /etc/services; give the number`);
    return proto;
  }

  /** A port number or name → [port, transports]. */
  private port(s: string, col: number): [number, number] {
    if (/^[0-9]/.test(s)) {
      const n = parseNumber(s);
      if (Number.isNaN(n)) this.fail(col, `"${s}" is not a port number`);
      if (n > 65535) this.fail(col, `port ${n} is above 65535`);
      return [n, PTU];
    }
    const e = PORT_NAMES[s];
    if (e === undefined) {
      const near = suggest(s, new Set(Object.keys(PORT_NAMES)));
      this.fail(col, `unknown port name "${s}"${near ? ` (did you mean "${near}"?)` : '; give the number'}`);
    }
    return e;
  }

  private vlan(): Node {
    const t = this.next();
    this.last = null;
    const depth = this.vlans++;
    if (depth >= 2) this.fail(t.col, 'at most two "vlan" keywords (the decoder keeps two tags)');
    let id = -1;
    const n = this.peek();
    if (n.t === Tk.Word && classify(n.s) === 'number') id = this.number('after "vlan"', 4095);
    return { k: 'vlan', depth, id };
  }

  /** A number token, at most `max`. */
  private number(where: string, max: number): number {
    const t = this.peek();
    const v = t.t === Tk.Word ? parseNumber(t.s) : NaN;
    if (Number.isNaN(v)) this.fail(t.col, `expected a number ${where}, found ${show(t)}`);
    if (v > max) this.fail(t.col, `${t.s} is above ${max}`);
    this.next();
    return v;
  }

  private ipProto(): number {
    const t = this.peek();
    if (t.t === Tk.Word) {
      const name = t.s.startsWith('\\') ? t.s.slice(1) : t.s;
      const v = IP_PROTO_NAMES[name];
      if (v !== undefined) {
        this.next();
        return v;
      }
      if (classify(t.s) !== 'number') this.fail(t.col, `unknown IP protocol "${name}"; give a number or a name such as \\tcp, \\udp, \\gre`);
    }
    return this.number('(IP protocol)', 255);
  }

  private etherProto(): number {
    const t = this.peek();
    if (t.t === Tk.Word) {
      const name = t.s.startsWith('\\') ? t.s.slice(1) : t.s;
      const v = ETHER_PROTO_NAMES[name];
      if (v !== undefined) {
        this.next();
        return v;
      }
      if (classify(t.s) !== 'number') this.fail(t.col, `unknown ethertype "${name}"; give a number such as 0x86dd or a name such as \\ip6`);
    }
    const v = this.number('(ethertype)', 0xffff);
    if (v <= 1500) this.fail(t.col, `ether proto ${v} is an 802.3 length (LLC SAP), which --filter does not match; give an ethertype ≥ 0x0600`);
    return v;
  }

  // ---- arithmetic

  private startsArith(): boolean {
    const t = this.peek();
    if (this.isOp(t, '-', '(')) return true;
    if (t.t !== Tk.Word) return false;
    if (t.s === 'len' || CONSTANTS[t.s] !== undefined || classify(t.s) === 'number') return true;
    return LOAD_BASE.has(t.s) && this.isOp(this.peek(1), '[');
  }

  private relation(): Node {
    const a = this.arith(1);
    const t = this.peek();
    if (t.t !== Tk.Op || !REL_OPS.has(t.s)) this.fail(t.col, `expected a comparison (>, <, >=, <=, =, !=) after the arithmetic, found ${show(t)}`);
    this.next();
    const b = this.arith(1);
    this.last = null;
    return { k: 'rel', op: t.s === '==' ? '=' : t.s, a, b };
  }

  /**
   * Precedence climbing with grammar.y's levels. '^' has no declared precedence there, so yacc always
   * shifts it: it binds to the operand just before it and takes the whole rest as its right side
   * (`len | 1 ^ 3` is len | (1 ^ 3); `len ^ 1 | 3` is len ^ (1 | 3)), as tcpdump -d shows.
   */
  private arith(minBp: number): Arith {
    let a = this.unary();
    for (;;) {
      const t = this.peek();
      if (t.t !== Tk.Op) return a;
      if (t.s === '^') {
        this.next();
        a = { k: 'bin', op: '^', a, b: this.arith(1) };
        continue;
      }
      const bp = ARITH_BP[t.s];
      if (bp === undefined || bp < minBp) return a;
      this.next();
      const b = this.arith(bp + 1);
      if ((t.s === '/' || t.s === '%') && b.k === 'num' && b.v === 0) this.fail(t.col, 'division by zero');
      a = { k: 'bin', op: t.s, a, b };
    }
  }

  private unary(): Arith {
    const t = this.next();
    if (this.isOp(t, '-')) return { k: 'neg', a: this.arith(BP_UNARY) };
    if (this.isOp(t, '(')) {
      const a = this.arith(1);
      this.expect(')', 'to close the arithmetic "("');
      return a;
    }
    if (t.t === Tk.Word) {
      if (t.s === 'len') return { k: 'len' };
      const c = CONSTANTS[t.s];
      if (c !== undefined) return { k: 'num', v: c };
      if (LOAD_BASE.has(t.s) && this.isOp(this.peek(), '[')) {
        this.next();
        const off = this.arith(1);
        let size = 1;
        if (this.isOp(this.peek(), ':')) {
          this.next();
          const s = this.peek();
          size = this.number('after ":"', 4);
          if (size !== 1 && size !== 2 && size !== 4) this.fail(s.col, 'data size must be 1, 2, or 4');
        }
        this.expect(']', `to close "${t.s}["`);
        return { k: 'load', base: t.s, off, size };
      }
      const v = parseNumber(t.s);
      if (!Number.isNaN(v)) {
        if (v > 0xffffffff) this.fail(t.col, `${t.s} does not fit in 32 bits`);
        return { k: 'num', v };
      }
      if (classify(t.s) === 'name') this.unknownWord(t);
    }
    this.fail(t.col, `expected a number, "len" or a load such as tcp[13], found ${show(t)}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Word classification and small helpers.

/** What a word looks like as an id. */
function classify(s: string): 'number' | 'ipv4' | 'ipv6' | 'mac' | 'name' {
  if (/^(0[xX][0-9a-fA-F]+|[0-9]+)$/.test(s)) return 'number';
  if (/^[0-9]+(\.[0-9]*)+$/.test(s)) return 'ipv4';
  if (parseMacLoose(s) !== null) return 'mac';
  if (s.includes(':')) return 'ipv6';
  return 'name';
}

/** libpcap's number syntax: 0x hex, leading-0 octal, else decimal. NaN if malformed. */
function parseNumber(s: string): number {
  if (/^0[xX][0-9a-fA-F]+$/.test(s)) return parseInt(s.slice(2), 16);
  if (/^0[0-7]+$/.test(s)) return parseInt(s.slice(1), 8);
  if (/^[0-9]+$/.test(s) && !/^0[0-9]/.test(s)) return Number(s);
  return NaN;
}

/** MAC forms libpcap's scanner takes: six 1-2 digit groups split by ':', '-' or '.', or xxxx.xxxx.xxxx. */
function parseMacLoose(s: string): { hi: number; lo: number } | null {
  let bytes: number[] | null = null;
  const g = /^([0-9a-fA-F]{1,2})([:.-])([0-9a-fA-F]{1,2})\2([0-9a-fA-F]{1,2})\2([0-9a-fA-F]{1,2})\2([0-9a-fA-F]{1,2})\2([0-9a-fA-F]{1,2})$/.exec(s);
  if (g) bytes = [1, 3, 4, 5, 6, 7].map((i) => parseInt(g[i], 16));
  const c = /^([0-9a-fA-F]{4})\.([0-9a-fA-F]{4})\.([0-9a-fA-F]{4})$/.exec(s);
  if (c) bytes = [1, 2, 3].flatMap((i) => [parseInt(c[i].slice(0, 2), 16), parseInt(c[i].slice(2), 16)]);
  if (bytes === null) return null;
  return { hi: (bytes[0] << 8) | bytes[1], lo: ((bytes[2] << 24) | (bytes[3] << 16) | (bytes[4] << 8) | bytes[5]) >>> 0 };
}

function popcount(x: number): number {
  let n = 0;
  for (let v = x >>> 0; v !== 0; v = (v & (v - 1)) >>> 0) n++;
  return n;
}

function show(t: Token): string {
  return t.t === Tk.End ? 'the end' : `"${t.s}"`;
}

function qualText(q: Qual): string {
  return [q.proto, q.dir === null ? null : DIR_TEXT[q.dir].trim() || 'src or dst', q.type].filter((x) => x).join(' ');
}

/** The keyword closest to a misspelt word (edit distance ≤ 2, and less than half its length). */
function suggest(word: string, words: Set<string>): string | null {
  let best: string | null = null, bestD = 3;
  for (const w of words) {
    if (UNSUPPORTED.has(w)) continue;
    const d = editDistance(word, w);
    // On a tie, a word with the same first letter reads as the likelier slip ("htp" → "http").
    const better = d < bestD || (d === bestD && best !== null && w[0] === word[0] && best[0] !== word[0]);
    if (better && d * 2 < Math.max(word.length, w.length)) {
      best = w;
      bestD = d;
    }
  }
  return best;
}

/** Optimal string alignment distance: insertions, deletions, substitutions, adjacent swaps ("prot"). */
function editDistance(a: string, b: string): number {
  const d: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    d.push(new Array<number>(b.length + 1).fill(0));
    d[i][0] = i;
  }
  for (let j = 0; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

// ---------------------------------------------------------------------------------------------
// Compilation: one closure per node. Reads go through rd8/rd16/rd32, which check the captured length.

type Pred = (info: PacketInfo) => boolean;
type Val = (info: PacketInfo) => number;

/** Set when a read falls past the captured bytes; the packet is then rejected (see compileFilter). */
let aborted = false;

function rd8(info: PacketInfo, at: number): number {
  if (at < 0 || at + 1 > info.caplen) {
    aborted = true;
    return 0;
  }
  return info.bytes[at];
}
function rd16(info: PacketInfo, at: number): number {
  if (at < 0 || at + 2 > info.caplen) {
    aborted = true;
    return 0;
  }
  const b = info.bytes;
  return (b[at] << 8) | b[at + 1];
}
function rd32(info: PacketInfo, at: number): number {
  if (at < 0 || at + 4 > info.caplen) {
    aborted = true;
    return 0;
  }
  const b = info.bytes;
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}

/** IPv4 header offsets (RFC 791 §3.1); IPv6 (RFC 8200 §3); ARP over Ethernet/IPv4 (RFC 826). */
const IP_FRAG = 6, IP_PROTO = 9, IP_SRC = 12, IP_DST = 16;
const IP6_NEXT = 6, IP6_SRC = 8, IP6_DST = 24, IP6_HDR = 40;
const ARP_SPA = 14, ARP_TPA = 24;
const NEXTHDR_FRAGMENT = 44;

/** ip[IP_PROTO] is `p` and, for a transport read, this is not a non-first fragment (libpcap gen_ipfrag). */
function ip4Transport(info: PacketInfo, p: number): boolean {
  if (info.ethertype !== ETH_P_IP) return false;
  const o = info.l3Off;
  return rd8(info, o + IP_PROTO) === p && (rd16(info, o + IP_FRAG) & 0x1fff) === 0;
}

/** libpcap gen_proto(…, Q_IPV6): the first next header, or the one after a leading fragment header. */
function ip6Proto(info: PacketInfo, p: number): boolean {
  if (info.ethertype !== ETH_P_IPV6) return false;
  const o = info.l3Off;
  const nh = rd8(info, o + IP6_NEXT);
  return nh === p || (nh === NEXTHDR_FRAGMENT && rd8(info, o + IP6_HDR) === p);
}

function byDir(dir: Dir, src: Pred, dst: Pred): Pred {
  switch (dir) {
    case 0:
      return src;
    case 1:
      return dst;
    case 2:
      return (i) => src(i) || dst(i);
    case 3:
      return (i) => src(i) && dst(i);
  }
}

function compileNode(n: Node): Pred {
  switch (n.k) {
    case 'all':
      return () => true;
    case 'and': {
      const a = compileNode(n.a), b = compileNode(n.b);
      return (i) => a(i) && b(i);
    }
    case 'or': {
      const a = compileNode(n.a), b = compileNode(n.b);
      return (i) => a(i) || b(i);
    }
    case 'not': {
      const a = compileNode(n.a);
      return (i) => !a(i);
    }
    case 'ethertype': {
      const type = n.type;
      return (i) => i.ethertype === type;
    }
    case 'proto': {
      const p = n.proto;
      if (n.fam === 4) return (i) => i.ethertype === ETH_P_IP && rd8(i, i.l3Off + IP_PROTO) === p;
      if (n.fam === 6) return (i) => ip6Proto(i, p);
      return (i) => (i.ethertype === ETH_P_IP ? rd8(i, i.l3Off + IP_PROTO) === p : ip6Proto(i, p));
    }
    case 'host4': {
      const { addr, mask, fam } = n;
      // Offsets of the source / destination address for this packet's family, or -1.
      const at = (i: PacketInfo, ipOff: number, arpOff: number): number =>
        i.ethertype === ETH_P_IP && fam !== 0x806 ? i.l3Off + ipOff
          : i.ethertype === ETH_P_ARP && fam !== 4 ? i.l3Off + arpOff : -1;
      const test = (i: PacketInfo, o: number): boolean => o >= 0 && ((rd32(i, o) & mask) >>> 0) === addr;
      return byDir(n.dir, (i) => test(i, at(i, IP_SRC, ARP_SPA)), (i) => test(i, at(i, IP_DST, ARP_TPA)));
    }
    case 'host6': {
      const want = n.addr, full = n.bits >>> 3, rest = n.bits & 7;
      const lastMask = rest === 0 ? 0 : (0xff << (8 - rest)) & 0xff;
      const test = (i: PacketInfo, rel: number): boolean => {
        if (i.ethertype !== ETH_P_IPV6) return false;
        const o = i.l3Off + rel;
        if (o < 0 || o + 16 > i.caplen) {
          aborted = true;
          return false;
        }
        const b = i.bytes;
        for (let k = 0; k < full; k++) if (b[o + k] !== want[k]) return false;
        return rest === 0 || (b[o + full] & lastMask) === want[full];
      };
      return byDir(n.dir, (i) => test(i, IP6_SRC), (i) => test(i, IP6_DST));
    }
    case 'ether': {
      const { hi, lo } = n;
      return byDir(n.dir, (i) => i.srcMacHi === hi && i.srcMacLo === lo, (i) => i.dstMacHi === hi && i.dstMacLo === lo);
    }
    case 'port': {
      const { lo, hi, proto } = n;
      // libpcap gen_port/gen_port6: TCP, UDP or SCTP right after the IP header; IPv4 not a non-first fragment.
      const okProto = (p: number): boolean => (proto === 0 ? p === 6 || p === 17 || p === 132 : p === proto);
      const l4 = (i: PacketInfo): number => {
        const o = i.l3Off;
        if (i.ethertype === ETH_P_IP) {
          if (!okProto(rd8(i, o + IP_PROTO)) || (rd16(i, o + IP_FRAG) & 0x1fff) !== 0) return -1;
          return o + ((rd8(i, o) & 0x0f) << 2);
        }
        if (i.ethertype === ETH_P_IPV6) return okProto(rd8(i, o + IP6_NEXT)) ? o + IP6_HDR : -1;
        return -1;
      };
      const inRange = (v: number): boolean => v >= lo && v <= hi;
      switch (n.dir) {
        case 0:
          return (i) => { const t = l4(i); return t >= 0 && inRange(rd16(i, t)); };
        case 1:
          return (i) => { const t = l4(i); return t >= 0 && inRange(rd16(i, t + 2)); };
        case 2:
          return (i) => { const t = l4(i); return t >= 0 && (inRange(rd16(i, t)) || inRange(rd16(i, t + 2))); };
        case 3:
          return (i) => { const t = l4(i); return t >= 0 && inRange(rd16(i, t)) && inRange(rd16(i, t + 2)); };
      }
      break;
    }
    case 'vlan': {
      const id = n.id;
      if (n.depth === 0) return id < 0 ? (i) => i.vlanCount > 0 : (i) => i.vlanCount > 0 && i.vlan0 === id;
      return id < 0 ? (i) => i.vlanCount > 1 : (i) => i.vlanCount > 1 && i.vlan1 === id;
    }
    case 'greater': {
      const v = n.n;
      return (i) => i.len >= v;
    }
    case 'less': {
      const v = n.n;
      return (i) => i.len <= v;
    }
    case 'cast':
      switch (n.what) {
        case 'ether broadcast':
          return (i) => i.dstMacHi === 0xffff && i.dstMacLo === 0xffffffff;
        case 'ether multicast':
          return (i) => i.dstMacHi >= 0 && (i.dstMacHi & 0x100) !== 0;
        case 'ip multicast':
          return (i) => i.ethertype === ETH_P_IP && rd8(i, i.l3Off + IP_DST) >= 224;
        case 'ip6 multicast':
          return (i) => i.ethertype === ETH_P_IPV6 && rd8(i, i.l3Off + IP6_DST) === 0xff;
      }
      break;
    case 'rel':
      return compileRelation(n.op, n.a, n.b);
  }
  throw new Error('unreachable');
}

/** libpcap gen_relation: the protocol checks of every load in the relation, then the comparison. */
function compileRelation(op: string, a: Arith, b: Arith): Pred {
  const guards: Pred[] = [];
  const seen = new Set<string>();
  const va = compileArith(a, guards, seen), vb = compileArith(b, guards, seen);
  const cmp: (x: number, y: number) => boolean =
    op === '>' ? (x, y) => x > y : op === '<' ? (x, y) => x < y : op === '>=' ? (x, y) => x >= y
      : op === '<=' ? (x, y) => x <= y : op === '=' ? (x, y) => x === y : (x, y) => x !== y;
  let pred: Pred = (i) => cmp(va(i), vb(i));
  for (let k = guards.length - 1; k >= 0; k--) {
    const g = guards[k], rest = pred;
    pred = (i) => g(i) && rest(i);
  }
  return pred;
}

/** Values are unsigned 32-bit, as in BPF's accumulator. */
function compileArith(a: Arith, guards: Pred[], seen: Set<string>): Val {
  switch (a.k) {
    case 'num': {
      const v = a.v >>> 0;
      return () => v;
    }
    case 'len':
      return (i) => i.len;
    case 'neg': {
      const x = compileArith(a.a, guards, seen);
      return (i) => (-x(i)) >>> 0;
    }
    case 'bin': {
      const x = compileArith(a.a, guards, seen), y = compileArith(a.b, guards, seen);
      switch (a.op) {
        case '+': return (i) => (x(i) + y(i)) >>> 0;
        case '-': return (i) => (x(i) - y(i)) >>> 0;
        case '*': return (i) => Math.imul(x(i), y(i)) >>> 0;
        case '/': return (i) => { const d = y(i); if (d === 0) { aborted = true; return 0; } return Math.floor(x(i) / d) >>> 0; };
        case '%': return (i) => { const d = y(i); if (d === 0) { aborted = true; return 0; } return (x(i) % d) >>> 0; };
        case '&': return (i) => (x(i) & y(i)) >>> 0;
        case '|': return (i) => (x(i) | y(i)) >>> 0;
        case '^': return (i) => (x(i) ^ y(i)) >>> 0;
        // bpf_filter(): shifts of 32 or more give 0.
        case '<<': return (i) => { const s = y(i); return s < 32 ? (x(i) << s) >>> 0 : 0; };
        case '>>': return (i) => { const s = y(i); return s < 32 ? x(i) >>> s : 0; };
      }
      break;
    }
    case 'load': {
      const off = compileArith(a.off, guards, seen);
      const base = loadBase(a.base, guards, seen);
      const read = a.size === 1 ? rd8 : a.size === 2 ? rd16 : rd32;
      return (i) => read(i, base(i) + off(i));
    }
  }
  throw new Error('unreachable');
}

/** Where `proto[…]` counts from, adding its protocol check to the relation's guards once. */
function loadBase(base: string, guards: Pred[], seen: Set<string>): Val {
  const guard = (p: Pred): void => {
    if (!seen.has(base)) guards.push(p);
    seen.add(base);
  };
  switch (base) {
    case 'ether':
    case 'link':
      return () => 0;
    case 'ip':
      guard((i) => i.ethertype === ETH_P_IP);
      return (i) => i.l3Off;
    case 'ip6':
      guard((i) => i.ethertype === ETH_P_IPV6);
      return (i) => i.l3Off;
    case 'arp':
      guard((i) => i.ethertype === ETH_P_ARP);
      return (i) => i.l3Off;
    case 'icmp6':
      // libpcap 1.10: the next header right after the fixed header, at a fixed 40 bytes.
      guard((i) => i.ethertype === ETH_P_IPV6 && rd8(i, i.l3Off + IP6_NEXT) === 58);
      return (i) => i.l3Off + IP6_HDR;
    default: {
      // tcp, udp, icmp, igmp, sctp: IPv4 only in libpcap (gen_load: the header length comes from IHL).
      const p = base === 'tcp' ? 6 : base === 'udp' ? 17 : base === 'icmp' ? 1 : base === 'igmp' ? 2 : 132;
      guard((i) => ip4Transport(i, p));
      return (i) => i.l3Off + ((rd8(i, i.l3Off) & 0x0f) << 2);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Canonical text.

const PROTO_NAME: Record<string, string> = {
  '0:6': 'tcp', '0:17': 'udp', '0:132': 'sctp', '4:1': 'icmp', '6:58': 'icmp6', '4:2': 'igmp', '4:9': 'igrp',
  '0:103': 'pim', '4:112': 'vrrp', '0:51': 'ah', '0:50': 'esp',
};

function describe(n: Node, parent: 'and' | 'or' | 'not' | null = null, right = false): string {
  switch (n.k) {
    case 'all':
      return '';
    case 'and':
    case 'or': {
      const s = `${describe(n.a, n.k)} ${n.k} ${describe(n.b, n.k, true)}`;
      // pcap's and/or share one precedence, left to right: bracket every operand that is not a plain
      // left-nested chain of the same operator, so the text reads the same to anyone.
      return parent === null || (parent === n.k && !right) ? s : `(${s})`;
    }
    case 'not': {
      const inner = describe(n.a, 'not');
      return `not ${inner}`;
    }
    case 'ethertype':
      return n.type === ETH_P_IP ? 'ip' : n.type === ETH_P_IPV6 ? 'ip6' : n.type === ETH_P_ARP ? 'arp'
        : n.type === 0x8035 ? 'rarp' : `ether proto 0x${n.type.toString(16).padStart(4, '0')}`;
    case 'proto':
      return PROTO_NAME[`${n.fam}:${n.proto}`] ?? `${n.fam === 4 ? 'ip ' : n.fam === 6 ? 'ip6 ' : ''}proto ${n.proto}`;
    case 'host4': {
      const fam = n.fam === 4 ? 'ip ' : n.fam === 0x806 ? 'arp ' : '';
      const a = ipv4ToString(n.addr);
      if (n.mask === 0xffffffff) return `${fam}${DIR_TEXT[n.dir]}host ${a}`;
      const len = popcount(n.mask);
      const contiguous = len === 0 ? n.mask === 0 : ((0xffffffff << (32 - len)) >>> 0) === n.mask;
      return `${fam}${DIR_TEXT[n.dir]}net ${a}${contiguous ? `/${len}` : ` mask ${ipv4ToString(n.mask)}`}`;
    }
    case 'host6': {
      const a = ipv6ToString(n.addr, 0);
      return n.bits === 128 ? `${DIR_TEXT[n.dir]}host ${a}` : `${DIR_TEXT[n.dir]}net ${a}/${n.bits}`;
    }
    case 'ether':
      return `ether ${DIR_TEXT[n.dir]}host ${macToString(n.hi, n.lo)}`;
    case 'port': {
      const p = n.proto === 6 ? 'tcp ' : n.proto === 17 ? 'udp ' : n.proto === 132 ? 'sctp ' : '';
      return n.range ? `${p}${DIR_TEXT[n.dir]}portrange ${n.lo}-${n.hi}` : `${p}${DIR_TEXT[n.dir]}port ${n.lo}`;
    }
    case 'vlan':
      return n.id < 0 ? 'vlan' : `vlan ${n.id}`;
    case 'greater':
    case 'less':
      return `${n.k} ${n.n}`;
    case 'cast':
      return n.what;
    case 'rel':
      return `${arithText(n.a)} ${n.op} ${arithText(n.b)}`;
  }
}

function arithText(a: Arith, nested = false): string {
  switch (a.k) {
    case 'num':
      return a.v > 255 ? `0x${a.v.toString(16)}` : String(a.v);
    case 'len':
      return 'len';
    case 'neg':
      return `-${arithText(a.a, true)}`;
    case 'load':
      return `${a.base}[${arithText(a.off)}${a.size === 1 ? '' : `:${a.size}`}]`;
    case 'bin': {
      const s = `${arithText(a.a, true)} ${a.op} ${arithText(a.b, true)}`;
      return nested ? `(${s})` : s;
    }
  }
}
