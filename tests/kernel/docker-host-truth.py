#!/usr/bin/env python3
"""Derive the demo's inputs and truth from a recording made by tests/kernel/make-docker-host.sh.

  docker-host-truth.py --raw RAW --out OUT [--prefix ppdemo-<pid>-]

RAW holds the recording (per-device pcaps <ns>-<dev>.pcap, host-any.pcapng (SLL2, -i any in the
host), nft-trace.txt, perf-script.txt + clock-offset-*, after-* state, results.jsonl, logs/).
OUT holds the snapshot already (ns/host/link.json ...). Written to OUT:

  inputs/<dev>.pcap   frames that entered the host on each edge device: nanosecond pcap, Ethernet,
                      timestamps of the -i any capture, TCP/UDP checksums recomputed
  truth.jsonl         one record per input frame, in the order `pktpath replay` numbers them
  raw/                the part of RAW worth keeping (pcaps, trace, drop events, state, results)
  README.md           the block between <!-- generated:begin --> and <!-- generated:end --> rewritten

Python 3 standard library only. Exits non-zero, naming the frame, when a frame's fate cannot be
explained: the recording is then not a usable oracle and must be made again.
"""
import argparse
import gzip
import json
import os
import re
import shutil
import struct
import sys

HOOKS_TRACED = ("ip",)          # nft trace families kept (the demo's own trace tables are bridge/inet)
NEIGH_WAIT_NS = 5_000_000_000   # a forwarded packet may wait this long for ARP
SAME_STEP_NS = 50_000_000       # an answer (ARP reply, RST) follows its cause within this


def die(msg):
    sys.stderr.write("docker-host-truth: %s\n" % msg)
    sys.exit(1)


# ------------------------------------------------------------------------------------------ readers
def read_pcap(path):
    """-> (linktype, [(ts_ns, bytes)])"""
    data = open(path, "rb").read()
    if len(data) < 24:
        die("%s: not a pcap file" % path)
    magic = data[:4]
    table = {b"\xd4\xc3\xb2\xa1": ("<", 1000), b"\xa1\xb2\xc3\xd4": (">", 1000),
             b"\x4d\x3c\xb2\xa1": ("<", 1), b"\xa1\xb2\x3c\x4d": (">", 1)}
    if magic not in table:
        die("%s: unknown pcap magic %s" % (path, magic.hex()))
    e, mul = table[magic]
    linktype = struct.unpack(e + "I", data[20:24])[0] & 0x0FFFFFFF
    off, out = 24, []
    while off + 16 <= len(data):
        sec, frac, incl, _orig = struct.unpack(e + "IIII", data[off:off + 16])
        off += 16
        out.append((sec * 1_000_000_000 + frac * mul, data[off:off + incl]))
        off += incl
    return linktype, out


def read_pcapng(path):
    """-> [(ts_ns, linktype, bytes, if_name)] (EPB only; if_tsresol honoured)"""
    data = open(path, "rb").read()
    off, ifaces, out, e = 0, [], [], "<"
    while off + 12 <= len(data):
        btype = struct.unpack(e + "I", data[off:off + 4])[0]
        if btype == 0x0A0D0D0A:
            bom = data[off + 8:off + 12]
            e = "<" if bom == b"\x4d\x3c\x2b\x1a" else ">"
            ifaces = []
        blen = struct.unpack(e + "I", data[off + 4:off + 8])[0]
        body = data[off + 8:off + blen - 4]
        if btype == 1:   # IDB
            linktype = struct.unpack(e + "H", body[0:2])[0]
            tsres, name = 1000, None     # default 10^-6
            o = 8
            while o + 4 <= len(body):
                code, olen = struct.unpack(e + "HH", body[o:o + 4])
                val = body[o + 4:o + 4 + olen]
                if code == 0:
                    break
                if code == 2:
                    name = val.decode(errors="replace")
                if code == 9:
                    r = val[0]
                    tsres = (10 ** 9) // (10 ** r) if not r & 0x80 else None
                    if tsres is None or tsres == 0:
                        die("%s: unsupported if_tsresol %#x" % (path, r))
                o += 4 + ((olen + 3) & ~3)
            ifaces.append((linktype, tsres, name))
        elif btype == 6:  # EPB
            ifid, th, tl, cap, _orig = struct.unpack(e + "IIIII", body[0:20])
            linktype, tsres, name = ifaces[ifid]
            ts = ((th << 32) | tl) * tsres
            out.append((ts, linktype, body[20:20 + cap], name))
        off += blen
    return out


def read_json(path, default=None):
    try:
        with open(path) as f:
            return json.load(f)
    except FileNotFoundError:
        return default


# ------------------------------------------------------------------------------------------ headers
def mac(b):
    return ":".join("%02x" % x for x in b)


def ip4(b):
    return "%d.%d.%d.%d" % tuple(b)


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


TCP_FLAG_ORDER = (("F", 0x01), ("S", 0x02), ("R", 0x04), ("P", 0x08), ("A", 0x10), ("U", 0x20), ("E", 0x40), ("C", 0x80))


def tcp_flags_text(f):
    return "".join(c for c, bit in TCP_FLAG_ORDER if f & bit)


def parse_l3(ethertype, p):
    """Parse the network layer (and L4) of a frame: -> dict (l3 = arp / ipv4 / other)."""
    if ethertype == 0x0806 and len(p) >= 28:
        op = struct.unpack("!H", p[6:8])[0]
        return {"l3": "arp", "arp_op": op, "sha": mac(p[8:14]), "spa": ip4(p[14:18]), "tha": mac(p[18:24]), "tpa": ip4(p[24:28])}
    if ethertype != 0x0800 or len(p) < 20 or p[0] >> 4 != 4:
        return {"l3": "other", "ethertype": ethertype}
    ihl = (p[0] & 0x0F) * 4
    tot = struct.unpack("!H", p[2:4])[0]
    h = {"l3": "ipv4", "src": ip4(p[12:16]), "dst": ip4(p[16:20]), "ipid": struct.unpack("!H", p[4:6])[0],
         "ttl": p[8], "len": tot, "_proto": p[9], "_ihl": ihl, "_frag": struct.unpack("!H", p[6:8])[0] & 0x3FFF}
    l4 = p[ihl:tot]
    h["_l4"] = l4
    if p[9] == 6 and len(l4) >= 20:
        doff = (l4[12] >> 4) * 4
        h.update(proto="tcp", sport=struct.unpack("!H", l4[0:2])[0], dport=struct.unpack("!H", l4[2:4])[0],
                 tcp_flags=tcp_flags_text(l4[13]), seq=struct.unpack("!I", l4[4:8])[0],
                 _ack=struct.unpack("!I", l4[8:12])[0], _payload=l4[doff:])
    elif p[9] == 17 and len(l4) >= 8:
        h.update(proto="udp", sport=struct.unpack("!H", l4[0:2])[0], dport=struct.unpack("!H", l4[2:4])[0], _payload=l4[8:])
    elif p[9] == 1 and len(l4) >= 8:
        h.update(proto="icmp", icmp_type=l4[0], icmp_code=l4[1])
        if l4[0] in (0, 8):
            h.update(icmp_id=struct.unpack("!H", l4[4:6])[0], icmp_seq=struct.unpack("!H", l4[6:8])[0], _payload=l4[8:])
        elif l4[0] in (3, 11, 12) and len(l4) >= 28:
            inner = parse_l3(0x0800, l4[8:])
            h["_inner"] = inner
    else:
        h["proto"] = str(p[9])
    return h


def fix_l4_checksum(frame):
    """Recompute the TCP/UDP checksum of an Ethernet IPv4 frame (veth senders leave it partial)."""
    if len(frame) < 34 or struct.unpack("!H", frame[12:14])[0] != 0x0800:
        return frame, False
    b = bytearray(frame)
    ip = 14
    ihl = (b[ip] & 0x0F) * 4
    tot = struct.unpack("!H", b[ip + 2:ip + 4])[0]
    frag = struct.unpack("!H", b[ip + 6:ip + 8])[0] & 0x3FFF
    proto = b[ip + 9]
    if frag or proto not in (6, 17) or ip + tot > len(b):
        return frame, False
    l4o, l4len = ip + ihl, tot - ihl
    co = l4o + (16 if proto == 6 else 6)
    if proto == 17 and b[co:co + 2] == b"\0\0":
        return frame, False          # UDP without checksum stays so
    old = bytes(b[co:co + 2])
    b[co:co + 2] = b"\0\0"
    pseudo = bytes(b[ip + 12:ip + 20]) + struct.pack("!BBH", 0, proto, l4len)
    c = csum(pseudo + bytes(b[l4o:l4o + l4len]))
    if proto == 17 and c == 0:
        c = 0xFFFF
    b[co:co + 2] = struct.pack("!H", c)
    return bytes(b), old != bytes(b[co:co + 2])


def public(h):
    """The key as truth.jsonl shows it (no private fields)."""
    order = ("l3", "arp_op", "sha", "spa", "tha", "tpa", "proto", "src", "dst", "ipid", "ttl", "len", "sport", "dport",
             "tcp_flags", "seq", "icmp_type", "icmp_code", "icmp_id", "icmp_seq")
    return {k: h[k] for k in order if k in h}


def out_tuple(h):
    t = {"src": h["src"], "dst": h["dst"]}
    if "sport" in h:
        t["sport"], t["dport"] = h["sport"], h["dport"]
    if "icmp_id" in h:
        t["icmp_id"] = h["icmp_id"]
    return t


def nat_invariant(h):
    """Fields NAT does not change: matches a frame in with the same frame out."""
    base = (h.get("proto"), h["ipid"], h["len"])
    if h.get("proto") == "tcp":
        return base + (h["seq"], h["_ack"], h["tcp_flags"], h["_payload"])
    if h.get("proto") == "udp":
        return base + (h["_payload"],)
    if h.get("proto") == "icmp" and "icmp_seq" in h:
        return base + (h["icmp_type"], h["icmp_code"], h["icmp_seq"], h["_payload"])
    return base + (h["_l4"],)


def short(h):
    if h["l3"] == "arp":
        return "ARP %s %s > %s" % ("request" if h["arp_op"] == 1 else "reply", h["spa"], h["tpa"])
    if h["l3"] != "ipv4":
        return "ethertype %#06x" % h.get("ethertype", 0)
    s = "%s" % h["src"] + (":%d" % h["sport"] if "sport" in h else "")
    s += " > %s" % h["dst"] + (":%d" % h["dport"] if "dport" in h else "")
    s += " %s" % h.get("proto")
    if h.get("proto") == "tcp":
        s += " [%s]" % h["tcp_flags"]
        if h["_payload"]:
            s += " len %d" % len(h["_payload"])
    if h.get("proto") == "udp":
        s += " len %d" % len(h["_payload"])
    if "icmp_type" in h:
        s += " type %d/%d" % (h["icmp_type"], h["icmp_code"]) + (" id %d seq %d" % (h["icmp_id"], h["icmp_seq"]) if "icmp_id" in h else "")
    return s


def fmt_ts(ns):
    return "%d.%09d" % divmod(ns, 1_000_000_000)


# ------------------------------------------------------------------------------------------ nft trace
TRACE_RE = re.compile(r"^trace id (\S+) (\S+) (\S+) (\S+) (packet|rule|policy|verdict)\s?(.*)$")


def parse_trace(path):
    """-> list of hook visits: {trace, family, table, chain, pkt{...}, steps[], verdict, handle, rule, rule_chain}"""
    visits, cur = [], {}
    if not os.path.exists(path):
        return visits
    for line in open(path, errors="replace"):
        m = TRACE_RE.match(line.rstrip("\n"))
        if not m:
            continue
        tid, fam, table, chain, kind, rest = m.groups()
        if fam not in HOOKS_TRACED:
            continue
        if kind == "packet":
            v = {"trace": tid, "family": fam, "table": table, "chain": chain, "pkt": parse_trace_packet(rest),
                 "steps": [], "verdict": None}
            visits.append(v)
            cur[tid] = v
            continue
        v = cur.get(tid)
        if v is None:
            continue
        if kind == "policy":
            v["verdict"] = rest.strip().split()[0]
            v["steps"].append("policy %s" % v["verdict"])
        elif kind == "rule":
            hm = re.search(r"# handle (\d+) \(verdict ([^)]*)\)", rest)
            handle = int(hm.group(1)) if hm else None
            verdict = hm.group(2) if hm else "?"
            v["steps"].append("%s#%s %s" % (chain, handle, verdict))
            word = verdict.split()[0]
            if word in ("accept", "drop", "queue", "stolen"):
                v["verdict"] = word
                v["handle"], v["rule_chain"] = handle, chain
                v["rule"] = re.sub(r"\s*# handle.*$", "", rest).strip()
    return visits


def parse_trace_packet(rest):
    p = {}
    for k, rx in (("iif", r'iif "([^"]+)"'), ("oif", r'oif "([^"]+)"'), ("src", r"ip saddr (\S+)"), ("dst", r"ip daddr (\S+)"),
                  ("ipid", r"ip id (\d+)"), ("ttl", r"ip ttl (\d+)"), ("sport", r"(?:tcp|udp) sport (\d+)"),
                  ("dport", r"(?:tcp|udp) dport (\d+)"), ("icmp_type", r"icmp type (\S+)"), ("icmp_id", r"icmp id (\d+)"),
                  ("icmp_seq", r"icmp sequence (\d+)"), ("l4", r"(tcp|udp|icmp) ")):
        m = re.search(rx, rest)
        if m:
            p[k] = int(m.group(1)) if m.group(1).isdigit() else m.group(1)
    return p


def visit_matches(v, h, out_h):
    p = v["pkt"]
    if p.get("ipid") != h["ipid"]:
        return False
    srcs = {h["src"]} | ({out_h["src"]} if out_h else set())
    dsts = {h["dst"]} | ({out_h["dst"]} if out_h else set())
    if p.get("src") not in srcs or p.get("dst") not in dsts:
        return False
    if "sport" in h:
        sp = {h["sport"]} | ({out_h["sport"]} if out_h else set())
        dp = {h["dport"]} | ({out_h["dport"]} if out_h else set())
        if p.get("sport") not in sp or p.get("dport") not in dp:
            return False
    if "icmp_seq" in h and p.get("icmp_seq") is not None and p.get("icmp_seq") != h["icmp_seq"]:
        return False
    return True


# ------------------------------------------------------------------------------------------ drop events
def read_drops(raw):
    """perf script lines -> [(ts_ns realtime, cpu, protocol, location, reason, skbaddr)]"""
    path = os.path.join(raw, "perf-script.txt")
    if not os.path.exists(path):
        return None, None
    offs = []
    for f in ("clock-offset-before", "clock-offset-after"):
        try:
            offs.append(int(open(os.path.join(raw, f)).read().strip()))
        except (OSError, ValueError):
            pass
    if not offs:
        return None, None
    off = sum(offs) // len(offs)
    ev = []
    rx = re.compile(r"\[(\d+)\]\s+(\d+)\.(\d+):.*?skbaddr=(\S+).*?protocol=(\d+) location=(\S+) reason: (\S+)")
    for line in open(path, errors="replace"):
        m = rx.search(line)
        if not m:
            continue
        cpu, sec, frac, skb, proto, loc, reason = m.groups()
        mono = int(sec) * 1_000_000_000 + int(frac.ljust(9, "0")[:9])
        ev.append((mono + off, int(cpu), int(proto), loc, reason, skb))
    meta = {"source": "perf record -e skb:kfree_skb --filter 'protocol == 2048 || protocol == 2054' -a -k mono",
            "clock": "CLOCK_MONOTONIC shifted to CLOCK_REALTIME", "offsets_ns": offs, "offset_used_ns": off,
            "note": "system-wide tracepoint: events of every network namespace (also other users' of this machine) "
                    "appear; they are matched to this run's packets by time, reason and location"}
    return ev, meta


def find_drop(drops, t0, t1, reason, loc_prefix=None):
    if not drops:
        return None
    for e in drops:
        if t0 <= e[0] <= t1 and e[4] == reason and (loc_prefix is None or e[3].startswith(loc_prefix)):
            return e
    return None


# ------------------------------------------------------------------------------------------ main
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--raw", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--prefix", default="")
    a = ap.parse_args()
    raw, out = a.raw, a.out

    links = read_json(os.path.join(out, "ns/host/link.json"))
    addrs = read_json(os.path.join(out, "ns/host/addr.json"))
    if not links or not addrs:
        die("no snapshot in %s (ns/host/link.json, addr.json)" % out)
    by_index = {l["ifindex"]: l for l in links}
    host_macs = {l["address"] for l in links if l.get("address")}
    edges = sorted(l["ifname"] for l in links if "link_netnsid" in l)   # veth whose peer is elsewhere
    host_ips = {ai["local"]: a_["ifname"] for a_ in addrs for ai in a_.get("addr_info", []) if ai.get("family") == "inet"}
    name_of = {i: l["ifname"] for i, l in by_index.items()}
    if edges != ["eth0", "vethc1"]:
        die("unexpected edge devices %s" % edges)

    # -i any: every frame with ifindex and direction
    anyf = []
    for pos, (ts, lt, b, _name) in enumerate(read_pcapng(os.path.join(raw, "host-any.pcapng"))):
        if lt != 276 or len(b) < 20:
            die("host-any.pcapng frame %d: not SLL2" % (pos + 1))
        proto, _res, ifindex, _hatype, pkttype, alen = struct.unpack("!HHIHBB", b[0:12])
        anyf.append({"frame": pos + 1, "ts": ts, "dev": name_of.get(ifindex, "if%d" % ifindex), "pkttype": pkttype,
                     "ethertype": proto, "src_mac": mac(b[12:12 + alen]) if alen else None, "l3": b[20:],
                     "h": parse_l3(proto, b[20:])})
    outgoing = [f for f in anyf if f["pkttype"] == 4 and f["dev"] in edges]

    # The -i any capture must hold every frame that the per-device captures hold (lo aside: libpcap
    # drops outgoing loopback frames on "any"); a lossy recording is no oracle.
    for l in links:
        dev = l["ifname"]
        p = os.path.join(raw, "host-%s.pcap" % dev)
        if dev == "lo" or not os.path.exists(p):
            continue
        n_dev = len(read_pcap(p)[1])
        n_any = sum(1 for f in anyf if f["dev"] == dev)
        if n_dev != n_any:
            die("host-%s.pcap has %d frames but host-any has %d on %s: a capture lost frames; run the script again"
                % (dev, n_dev, n_any, dev))

    # inputs: inbound frames of each edge device, bytes from the device's own pcap (the Ethernet header
    # is complete there), time from -i any (one clock for all devices)
    inputs = []
    for dev in edges:
        lt, frames = read_pcap(os.path.join(raw, "host-%s.pcap" % dev))
        if lt != 1:
            die("host-%s.pcap: linktype %d, want Ethernet" % (dev, lt))
        inbound_dev = [(ts, b) for ts, b in frames if mac(b[6:12]) not in host_macs]
        inbound_any = [f for f in anyf if f["dev"] == dev and f["pkttype"] != 4]
        if len(inbound_dev) != len(inbound_any):
            die("%s: %d inbound frames in host-%s.pcap but %d in host-any" % (dev, len(inbound_dev), dev, len(inbound_any)))
        for pos, ((tsd, b), f) in enumerate(zip(inbound_dev, inbound_any)):
            if b[14:] != f["l3"] or struct.unpack("!H", b[12:14])[0] != f["ethertype"]:
                die("%s inbound #%d: host-%s.pcap and host-any frame %d differ" % (dev, pos, dev, f["frame"]))
            fixed, changed = fix_l4_checksum(b)
            inputs.append({"dev": dev, "pos": pos, "ts": f["ts"], "ts_dev": tsd, "frame": fixed, "csum_fixed": changed,
                           "any": f, "h": parse_l3(struct.unpack("!H", b[12:14])[0], b[14:])})
    inputs.sort(key=lambda i: (i["ts"], i["dev"], i["pos"]))

    visits = parse_trace(os.path.join(raw, "nft-trace.txt"))
    used_visits = set()     # drop verdicts already given to an input
    nf_used = set()         # hook visits already given to an input's netfilter path
    drops, drops_meta = read_drops(raw)
    results = [json.loads(l) for l in open(os.path.join(raw, "results.jsonl")) if l.strip()]
    flows = [(r["flow"], int(float(r["start"]) * 1e9), int(float(r["end"]) * 1e9)) for r in results]

    def flow_of(ts):
        for fid, t0, t1 in flows:
            if t0 <= ts <= t1 + 300_000_000:
                return fid
        return None

    used_out = set()
    truth = []
    problems = []
    for idx, inp in enumerate(inputs):
        h, dev, ts = inp["h"], inp["dev"], inp["ts"]
        rec = {"index": idx, "ts": fmt_ts(ts), "in": {"ns": "host", "dev": dev}, "key": public(h)}
        emitted, evidence, final, out_h, nf = [], [], None, None, []
        if h["l3"] == "arp":
            if h["tpa"] in host_ips and h["arp_op"] == 1:
                rep = next((f for f in outgoing if f["dev"] == dev and ts <= f["ts"] <= ts + SAME_STEP_NS and f["h"]["l3"] == "arp"
                            and f["h"]["arp_op"] == 2 and f["h"]["tpa"] == h["spa"] and f["h"]["spa"] == h["tpa"]), None)
                final = {"verdict": "consumed", "ns": "host"}
                if rep:
                    emitted.append({"type": "arp-reply", "dev": dev, "host_any_frame": rep["frame"], "spa": h["tpa"], "tpa": h["spa"]})
                    evidence.append("ARP request for host address %s (%s); host replied: host-any frame %d out %s"
                                    % (h["tpa"], host_ips[h["tpa"]], rep["frame"], dev))
                else:
                    evidence.append("ARP request for host address %s (%s); no reply seen" % (h["tpa"], host_ips[h["tpa"]]))
            elif h["arp_op"] == 2 and h["tpa"] in host_ips:
                final = {"verdict": "consumed", "ns": "host"}
                evidence.append("ARP reply from %s (%s) to %s: neighbour update, not forwarded" % (h["spa"], h["sha"], h["tpa"]))
            else:
                final = {"verdict": "consumed", "ns": "host"}
                evidence.append("ARP not addressed to a host address: no reply, nothing forwarded")
        elif h["l3"] == "ipv4":
            inv = nat_invariant(h)
            cand = None
            for j, f in enumerate(outgoing):
                if j in used_out or f["h"]["l3"] != "ipv4" or not (ts <= f["ts"] <= ts + NEIGH_WAIT_NS):
                    continue
                if f["dev"] == dev and f["h"]["src"] == h["src"] and f["h"]["dst"] == h["dst"] and f["h"]["ttl"] == h["ttl"]:
                    continue     # would be the same frame reflected: never happens on a veth, be safe
                if nat_invariant(f["h"]) == inv:
                    cand = (j, f)
                    break
            if cand:
                j, f = cand
                used_out.add(j)
                out_h = f["h"]
                final = {"verdict": "transmitted", "ns": "host", "dev": f["dev"]}
                rec["out"] = out_tuple(out_h)
                changed = [k for k in ("src", "dst", "sport", "dport", "icmp_id") if k in out_h and out_h.get(k) != h.get(k)]
                ev = "host-any frame %d in %s -> frame %d out %s (%.1f us later), ttl %d -> %d" % (
                    inp["any"]["frame"], dev, f["frame"], f["dev"], (f["ts"] - ts) / 1000, h["ttl"], out_h["ttl"])
                if changed:
                    ev += "; NAT changed %s" % ", ".join("%s %s->%s" % (k, h[k], out_h[k]) for k in changed)
                evidence.append(ev)
                for g in anyf:
                    if g["dev"] == f["dev"] and g["pkttype"] == 4 and g["h"]["l3"] == "arp" and g["h"]["arp_op"] == 1 \
                            and ts <= g["ts"] <= f["ts"] and g["h"]["spa"] in host_ips:
                        emitted.append({"type": "arp-request", "dev": f["dev"], "host_any_frame": g["frame"], "spa": g["h"]["spa"],
                                        "tpa": g["h"]["tpa"], "note": "next-hop resolution; the packet waited for the answer"})
            else:
                # not transmitted: a netfilter drop (trace), a closed local port (RST), or a failed neighbour
                vdrop = next((k for k, v in enumerate(visits) if k not in used_visits and v["verdict"] == "drop" and visit_matches(v, h, None)), None)
                rst = None
                if h.get("proto") == "tcp" and h["dst"] in host_ips:
                    rst = next((f for f in outgoing if f["dev"] == dev and ts <= f["ts"] <= ts + SAME_STEP_NS and f["h"].get("proto") == "tcp"
                                and "R" in f["h"]["tcp_flags"] and f["h"]["dport"] == h["sport"] and f["h"]["sport"] == h["dport"]
                                and f["h"]["dst"] == h["src"]), None)
                icmp_err = next((f for f in outgoing if ts <= f["ts"] <= ts + NEIGH_WAIT_NS and f["h"].get("proto") == "icmp"
                                 and f["h"].get("icmp_type") == 3 and f["h"].get("_inner", {}).get("ipid") == h["ipid"]
                                 and f["h"].get("_inner", {}).get("dst") == h["dst"]), None)
                if vdrop is not None:
                    v = visits[vdrop]
                    used_visits.add(vdrop)
                    where = {"family": v["family"], "table": v["table"], "chain": v.get("rule_chain") or v["chain"],
                             "handle": v.get("handle"), "base_chain": v["chain"], "rule": v.get("rule")}
                    final = {"verdict": "dropped", "ns": "host", "reason": "NETFILTER_DROP", "where": where}
                    evidence.append("nft trace %s: %s %s %s rule handle %s (%s) verdict drop" % (
                        v["trace"], v["family"], v["table"], where["chain"], v.get("handle"), v.get("rule")))
                    e = find_drop(drops, ts - 1_000_000, ts + 20_000_000, "NETFILTER_DROP")
                    if e:
                        final["kernel_location"] = e[3]
                        evidence.append("kfree_skb %s NETFILTER_DROP %.1f us later" % (e[3], (e[0] - ts) / 1000))
                    evidence.append("never leaves the host (no frame out of %s)" % ", ".join(edges))
                elif rst:
                    final = {"verdict": "dropped", "ns": "host", "reason": "NO_SOCKET", "where": {"stage": "tcp_v4_rcv"}}
                    emitted.append({"type": "tcp-rst", "dev": dev, "host_any_frame": rst["frame"], "src": rst["h"]["src"],
                                    "dst": rst["h"]["dst"], "sport": rst["h"]["sport"], "dport": rst["h"]["dport"]})
                    evidence.append("local destination %s:%d has no socket (sockets.txt); host answered RST: host-any frame %d out %s"
                                    % (h["dst"], h["dport"], rst["frame"], dev))
                    e = find_drop(drops, ts - 1_000_000, ts + 20_000_000, "NO_SOCKET", "tcp_v4_rcv")
                    if e:
                        final["kernel_location"] = e[3]
                        evidence.append("kfree_skb %s NO_SOCKET" % e[3])
                elif icmp_err and icmp_err["h"]["icmp_code"] == 1:
                    arps = [g for g in outgoing if g["h"]["l3"] == "arp" and g["h"]["arp_op"] == 1 and ts <= g["ts"] <= icmp_err["ts"]
                            and g["h"]["spa"] in host_ips]
                    answered = [g for g in inputs if g["h"]["l3"] == "arp" and g["h"]["arp_op"] == 2
                                and any(g["h"]["spa"] == r["h"]["tpa"] for r in arps)]
                    final = {"verdict": "dropped", "ns": "host", "reason": "NEIGH_FAILED", "where": {"stage": "neigh_invalidate"}}
                    for g in arps:
                        emitted.append({"type": "arp-request", "dev": g["dev"], "host_any_frame": g["frame"], "spa": g["h"]["spa"], "tpa": g["h"]["tpa"]})
                    emitted.append({"type": "icmp-error", "dev": icmp_err["dev"], "host_any_frame": icmp_err["frame"], "src": icmp_err["h"]["src"],
                                    "dst": icmp_err["h"]["dst"], "icmp_type": 3, "icmp_code": 1})
                    evidence.append("%d ARP request(s) for %s out %s got %s; host sent ICMP 3/1 quoting it (host-any frame %d out %s, %.1f ms later)"
                                    % (len(arps), ", ".join(sorted({g["h"]["tpa"] for g in arps})), ", ".join(sorted({g["dev"] for g in arps})),
                                       "an answer?!" if answered else "no answer", icmp_err["frame"], icmp_err["dev"], (icmp_err["ts"] - ts) / 1e6))
                    if answered:
                        problems.append("#%d: the neighbour answered, yet ICMP host unreachable" % idx)
                    e = find_drop(drops, ts + 1_000_000_000, icmp_err["ts"] + 50_000_000, "NEIGH_FAILED")
                    if e:
                        final["kernel_location"] = e[3]
                        evidence.append("kfree_skb %s NEIGH_FAILED %.1f ms after arrival" % (e[3], (e[0] - ts) / 1e6))
                    elif drops is not None:
                        evidence.append("no NEIGH_FAILED kfree_skb event was recorded for it this run (the reason is "
                                        "derived from the unanswered ARP and the ICMP host unreachable)")
                else:
                    problems.append("#%d %s %s in %s: fate unknown (not transmitted, no drop rule, no RST, no ICMP error)"
                                    % (idx, fmt_ts(ts), short(h), dev))
                    final = {"verdict": "unknown", "ns": "host"}
            # netfilter path of the packet (ip family base chains, in trace order)
            for k, v in enumerate(visits):
                if v["verdict"] is None and not v["steps"]:
                    continue
                if k in nf_used or not visit_matches(v, h, out_h):
                    continue
                nf_used.add(k)
                steps = [x[len(v["chain"]):] if x.startswith(v["chain"] + "#") else x for x in v["steps"]]
                nf.append("%s %s %s: %s" % (v["family"], v["table"], v["chain"], ", ".join(steps)))
        else:
            problems.append("#%d %s: %s in %s is neither ARP nor IPv4" % (idx, fmt_ts(ts), short(h), dev))
            final = {"verdict": "unknown", "ns": "host"}
        rec["final"] = final
        if "out" not in rec and final.get("verdict") == "transmitted":
            rec["out"] = out_tuple(out_h)
        rec["emitted"] = emitted
        if nf:
            rec["nf"] = nf
        fl = flow_of(ts)
        rec["flow"] = fl if fl else "background"
        rec["confidence"] = "observed"
        rec["evidence"] = "; ".join(evidence)
        rec["source"] = {"input": "inputs/%s.pcap#%d" % (dev, inp["pos"]), "host_any_frame": inp["any"]["frame"]}
        if inp["csum_fixed"]:
            rec["source"]["l4_checksum_recomputed"] = True
        truth.append(rec)
    if problems:
        die("frames whose fate is not explained:\n  " + "\n  ".join(problems))

    # ---- write
    os.makedirs(os.path.join(out, "inputs"), exist_ok=True)
    for dev in edges:
        with open(os.path.join(out, "inputs", "%s.pcap" % dev), "wb") as fh:
            fh.write(struct.pack("<IHHiIII", 0xA1B23C4D, 2, 4, 0, 0, 262144, 1))
            for inp in sorted((i for i in inputs if i["dev"] == dev), key=lambda i: i["pos"]):
                s, ns_ = divmod(inp["ts"], 1_000_000_000)
                fh.write(struct.pack("<IIII", s, ns_, len(inp["frame"]), len(inp["frame"])))
                fh.write(inp["frame"])
    with open(os.path.join(out, "truth.jsonl"), "w") as fh:
        for r in truth:
            fh.write(json.dumps(r) + "\n")

    # raw/: what the truth was derived from (small files only)
    rdir = os.path.join(out, "raw")
    os.makedirs(rdir, exist_ok=True)
    keep = [f for f in sorted(os.listdir(raw)) if f.endswith(".pcap") or f.endswith(".pcapng")]
    keep += ["results.jsonl", "conntrack-events.txt", "after-host-conntrack.txt", "after-host-iptables-L.txt",
             "after-host-iptables-save-c.txt", "after-host-nft.txt", "after-host-neigh.json", "after-c1-neigh.json",
             "after-peer-neigh.json", "after-host-bridge-fdb.json"]
    for f in keep:
        if os.path.exists(os.path.join(raw, f)):
            shutil.copyfile(os.path.join(raw, f), os.path.join(rdir, f))
    for f in sorted(os.listdir(os.path.join(raw, "logs"))):
        if f.startswith("server-"):
            shutil.copyfile(os.path.join(raw, "logs", f), os.path.join(rdir, f))
    if os.path.exists(os.path.join(raw, "nft-trace.txt")):
        with open(os.path.join(raw, "nft-trace.txt"), "rb") as src, gzip.GzipFile(os.path.join(rdir, "nft-trace.txt.gz"), "wb", 9, mtime=0) as dst:
            dst.write(src.read())
    if drops is not None:
        t0 = min(i["ts"] for i in inputs) - 2_000_000_000
        t1 = max(i["ts"] for i in inputs) + 6_000_000_000
        with open(os.path.join(rdir, "kfree_skb.tsv"), "w") as fh:
            fh.write("time\tcpu\tprotocol\tlocation\treason\tskbaddr\n")
            for e in drops:
                if t0 <= e[0] <= t1:
                    fh.write("%s\t%d\t%d\t%s\t%s\t%s\n" % (fmt_ts(e[0]), e[1], e[2], e[3], e[4], e[5]))
        drops_meta["window"] = [fmt_ts(t0), fmt_ts(t1)]
        with open(os.path.join(rdir, "kfree_skb.meta.json"), "w") as fh:
            fh.write(json.dumps(drops_meta, indent=1) + "\n")

    write_readme(out, raw, rdir, truth, results, inputs, anyf, drops is not None)
    counts = {}
    for r in truth:
        counts[r["final"]["verdict"]] = counts.get(r["final"]["verdict"], 0) + 1
    print("docker-host-truth: %d inputs (%s); %s" % (len(truth), ", ".join("%s %d" % (d, sum(1 for i in inputs if i["dev"] == d)) for d in edges),
                                                  ", ".join("%s %d" % kv for kv in sorted(counts.items()))))


# ------------------------------------------------------------------------------------------ README
BEGIN, END = "<!-- generated:begin -->", "<!-- generated:end -->"


def pcap_count(path):
    if path.endswith(".pcapng"):
        return len(read_pcapng(path))
    return len(read_pcap(path)[1])


def write_readme(out, raw, rdir, truth, results, inputs, anyf, have_drops):
    L = []
    meta = read_json(os.path.join(out, "snapshot.json"), {})
    L.append("Run: %s, kernel %s. Regenerate with `bash tests/kernel/make-docker-host.sh` (root); this block is rewritten."
             % (meta.get("created", "?"), meta.get("kernel", "?")))
    L.append("")
    L.append("### What each client saw (raw/results.jsonl)")
    L.append("")
    L.append("| flow | from | description | rc | client output |")
    L.append("|---|---|---|---|---|")
    for r in results:
        o = r["output"].strip().splitlines()
        o = [x for x in o if x.strip()]
        txt = o[0] if len(o) == 1 else " / ".join(x for x in o if ("From" in x or "transmitted" in x or "bytes from" in x))
        L.append("| %s | %s | %s | %d | %s |" % (r["flow"], r["from"], r["description"].replace("|", "/"), r["rc"], txt.replace("|", "/")))
    L.append("")
    L.append("### Inputs and truth")
    L.append("")
    per_dev = {}
    for i in inputs:
        per_dev[i["dev"]] = per_dev.get(i["dev"], 0) + 1
    vc = {}
    for t in truth:
        vc[t["final"]["verdict"]] = vc.get(t["final"]["verdict"], 0) + 1
    L.append("%d input frames (%s); verdicts: %s." % (len(truth), ", ".join("inputs/%s.pcap %d" % kv for kv in sorted(per_dev.items())),
                                                       ", ".join("%s %d" % kv for kv in sorted(vc.items()))))
    L.append("")
    L.append("| # | t (ms) | in | flow | packet | kernel's verdict | out (after NAT) |")
    L.append("|---|---|---|---|---|---|---|")
    t0 = int(truth[0]["ts"].replace(".", "")) if truth else 0
    for t, i in zip(truth, sorted(inputs, key=lambda i: (i["ts"], i["dev"], i["pos"]))):
        f = t["final"]
        v = f["verdict"]
        if v == "transmitted":
            v += " " + f["dev"]
        elif v == "dropped":
            v += " " + f["reason"]
            if f.get("reason") == "NETFILTER_DROP":
                v += " (%s %s %s, handle %s)" % (f["where"]["family"], f["where"]["table"], f["where"]["chain"], f["where"].get("handle"))
        o = t.get("out")
        os_ = ""
        if o:
            os_ = "%s%s > %s%s" % (o["src"], ":%d" % o["sport"] if "sport" in o else "", o["dst"], ":%d" % o["dport"] if "dport" in o else "")
        L.append("| %d | %.3f | %s | %s | %s | %s | %s |" % (t["index"], (int(t["ts"].replace(".", "")) - t0) / 1e6, t["in"]["dev"],
                                                          t.get("flow", ""), short(i["h"]), v, os_))
    L.append("")
    L.append("### Captures (frames per file, raw/)")
    L.append("")
    L.append("| file | frames |")
    L.append("|---|---|")
    for f in sorted(os.listdir(rdir)):
        if f.endswith(".pcap") or f.endswith(".pcapng"):
            L.append("| raw/%s | %d |" % (f, pcap_count(os.path.join(rdir, f))))
    for d in sorted(per_dev):
        L.append("| inputs/%s.pcap | %d |" % (d, per_dev[d]))
    L.append("")
    L.append("### conntrack in host after the traffic (raw/after-host-conntrack.txt)")
    L.append("")
    L.append("```")
    L.extend(l.rstrip() for l in open(os.path.join(raw, "after-host-conntrack.txt")) if l.strip())
    L.append("```")
    L.append("")
    L.append("### Rule counters after the traffic (non-zero, from raw/after-host-iptables-L.txt)")
    L.append("")
    L.append("```")
    table, chain = "filter", None
    for l in open(os.path.join(raw, "after-host-iptables-L.txt")):
        m = re.match(r"Chain (\S+) \(", l)
        if m:
            if m.group(1) == "PREROUTING" and table == "filter":
                table = "nat"
            elif m.group(1) == "PREROUTING" and table == "nat":
                table = "raw"
            chain = m.group(1)
            pm = re.search(r"policy (\S+) (\d+) packets", l)
            if pm and pm.group(2) != "0":
                L.append("%-6s %-26s policy %-6s %s packets" % (table, chain, pm.group(1), pm.group(2)))
            continue
        parts = l.split()
        if len(parts) > 3 and parts[0].isdigit() and parts[0] != "0":
            L.append("%-6s %-26s %5s pkts  %s" % (table, chain, parts[0], " ".join(parts[2:])))
    L.append("```")
    if have_drops:
        L.append("")
        L.append("### Kernel drop events matched to inputs (skb:kfree_skb, raw/kfree_skb.tsv)")
        L.append("")
        for t in truth:
            if t["final"].get("kernel_location"):
                L.append("- #%d %s: %s at %s" % (t["index"], t.get("flow"), t["final"]["reason"], t["final"]["kernel_location"]))
    block = "\n".join(L).rstrip() + "\n"

    path = os.path.join(out, "README.md")
    text = open(path).read() if os.path.exists(path) else "# Demo: a Docker host\n\n%s\n%s\n" % (BEGIN, END)
    if BEGIN not in text or END not in text:
        text = text.rstrip() + "\n\n## Observed in the last run (generated)\n\n%s\n%s\n" % (BEGIN, END)
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    open(path, "w").write(head + BEGIN + "\n" + block + END + tail)


if __name__ == "__main__":
    main()
