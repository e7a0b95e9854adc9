#!/usr/bin/env python3
"""Conntrack lab: replay crafted packets through a real kernel router and record what conntrack did.

Used by tests/conntrack/kernel.test.ts (and by hand) to check the TypeScript model against the kernel.

Topology (three throwaway namespaces, all named ppct-<tag>-*; deleted on every exit):

    ppct-<tag>-c  c0 192.0.2.2/24 (+192.0.2.3, .4)  ==veth==  r0 192.0.2.1/24     ppct-<tag>-r
    ppct-<tag>-s  s0 198.51.100.2/24                 ==veth==  r1 198.51.100.1/24  (ip_forward=1)

c and s drop everything at INPUT (so their own stacks never answer); packets are crafted here and sent
through raw IP sockets opened inside c or s. The router forwards them with conntrack loaded (a forward
chain counts `ct state new/established/related/invalid/untracked`); an optional NAT ruleset is added.
After every packet step the harness records `conntrack -L`, the ct-state counters, `conntrack -S`, and
the frames that arrived on c0 / s0 (AF_PACKET), so a test can compare state, timeout, flags, verdict
class and the rewritten bytes.

Input (stdin, JSON): {"routerNft": "<nft text or empty>", "steps": [...]}; step ops:
  {"op":"tcp","side":"c|s","src","dst","sport","dport","flags":"S|SA|A|PA|FA|R|RA|...","seq","ack",
   "win","len","wscale":-1,"sackPerm":false}
  {"op":"udp","side","src","dst","sport","dport","len","csum":true}
  {"op":"icmp","side","src","dst","type","code","id","seq"}
  {"op":"icmperr","side","src","dst","type","code","inner":{<tcp|udp|icmp step>},"quote":28}
  {"op":"sleep","s":2.5}
Output (stdout, JSON): {"kernel": uname -r, "steps": [{"t", "ct": [lines], "counters": {...},
  "stats": {...}, "rx": {"c": [hex], "s": [hex]}}]}. t is seconds since the first packet.
"""
import ctypes
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import time

CLONE_NEWNET = 0x40000000
TAG = 'ppct-%d' % (os.getpid() % 100000)
NS_C, NS_R, NS_S = TAG + '-c', TAG + '-r', TAG + '-s'
libc = ctypes.CDLL(None, use_errno=True)
HOME_NS = os.open('/proc/self/ns/net', os.O_RDONLY)


def sh(*args, check=True, ns=None, inp=None):
    cmd = list(args)
    if ns:
        cmd = ['ip', 'netns', 'exec', ns] + cmd
    r = subprocess.run(cmd, input=inp, capture_output=True, text=True)
    if check and r.returncode != 0:
        raise RuntimeError('%s: %s' % (' '.join(cmd), r.stderr.strip()))
    return r.stdout


def cleanup():
    for ns in (NS_C, NS_R, NS_S):
        subprocess.run(['ip', 'netns', 'del', ns], capture_output=True)


def setns(name):
    """Enter namespace `name`, or go back to the one we started in (None)."""
    fd = os.open('/run/netns/' + name, os.O_RDONLY) if name else HOME_NS
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), 'setns ' + str(name))
    finally:
        if name:
            os.close(fd)


COUNTERS = """
table inet ppct {
  chain ctstate {
    type filter hook forward priority 0; policy accept;
    ct state new counter
    ct state established counter
    ct state related counter
    ct state invalid counter
    ct state untracked counter
  }
}
"""
DROP_INPUT = """
table inet ppct {
  chain in {
    type filter hook input priority 0; policy drop;
  }
}
"""


def setup(router_nft):
    cleanup()
    for ns in (NS_C, NS_R, NS_S):
        sh('ip', 'netns', 'add', ns)
    sh('ip', 'link', 'add', 'c0', 'netns', NS_C, 'type', 'veth', 'peer', 'name', 'r0', 'netns', NS_R)
    sh('ip', 'link', 'add', 's0', 'netns', NS_S, 'type', 'veth', 'peer', 'name', 'r1', 'netns', NS_R)
    for ns, dev, addrs in ((NS_C, 'c0', ['192.0.2.2/24', '192.0.2.3/24', '192.0.2.4/24']),
                           (NS_R, 'r0', ['192.0.2.1/24']), (NS_R, 'r1', ['198.51.100.1/24']),
                           (NS_S, 's0', ['198.51.100.2/24'])):
        for a in addrs:
            sh('ip', '-n', ns, 'addr', 'add', a, 'dev', dev)
        sh('ip', '-n', ns, 'link', 'set', dev, 'up')
    for ns in (NS_C, NS_R, NS_S):
        sh('ip', '-n', ns, 'link', 'set', 'lo', 'up')
    sh('ip', '-n', NS_C, 'route', 'add', 'default', 'via', '192.0.2.1')
    sh('ip', '-n', NS_S, 'route', 'add', 'default', 'via', '198.51.100.1')
    sh('sysctl', '-qw', 'net.ipv4.ip_forward=1', ns=NS_R)
    sh('nft', '-f', '-', ns=NS_C, inp=DROP_INPUT)
    sh('nft', '-f', '-', ns=NS_S, inp=DROP_INPUT)
    sh('nft', '-f', '-', ns=NS_R, inp=COUNTERS + (router_nft or ''))
    # Resolve neighbours once so the first crafted packet is not parked behind ARP.
    sh('ping', '-c1', '-W1', '192.0.2.1', ns=NS_C, check=False)
    sh('ping', '-c1', '-W1', '198.51.100.1', ns=NS_S, check=False)
    sh('conntrack', '-F', ns=NS_R, check=False)


def csum16(b):
    if len(b) % 2:
        b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def ip4(a):
    return socket.inet_aton(a)


def ipv4_packet(src, dst, proto, l4, ttl=64, ident=0x1234):
    hdr = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(l4), ident, 0x4000, ttl, proto, 0, ip4(src), ip4(dst))
    hdr = hdr[:10] + struct.pack('!H', csum16(hdr)) + hdr[12:]
    return hdr + l4


FLAGS = {'F': 1, 'S': 2, 'R': 4, 'P': 8, 'A': 16, 'U': 32, 'E': 64, 'C': 128}


def tcp_segment(st):
    opts = b''
    if st.get('mss'):
        opts += struct.pack('!BBH', 2, 4, st['mss'])
    if st.get('sackPerm'):
        opts += b'\x04\x02'
    if st.get('wscale', -1) >= 0:
        opts += struct.pack('!BBBB', 1, 3, 3, st['wscale'])
    while len(opts) % 4:
        opts += b'\x01'
    flags = 0
    for ch in st['flags']:
        flags |= FLAGS[ch]
    doff = (20 + len(opts)) // 4
    payload = b'x' * st.get('len', 0)
    th = struct.pack('!HHIIBBHHH', st['sport'], st['dport'], st.get('seq', 0) & 0xffffffff,
                     st.get('ack', 0) & 0xffffffff, doff << 4, flags, st.get('win', 64240), 0, 0) + opts
    seg = th + payload
    pseudo = ip4(st['src']) + ip4(st['dst']) + struct.pack('!BBH', 0, 6, len(seg))
    c = csum16(pseudo + seg)
    return seg[:16] + struct.pack('!H', c) + seg[18:]


def udp_datagram(st):
    payload = b'u' * st.get('len', 0)
    d = struct.pack('!HHHH', st['sport'], st['dport'], 8 + len(payload), 0) + payload
    if st.get('csum', True):
        pseudo = ip4(st['src']) + ip4(st['dst']) + struct.pack('!BBH', 0, 17, len(d))
        c = csum16(pseudo + d) or 0xffff
        d = d[:6] + struct.pack('!H', c) + d[8:]
    return d


def icmp_message(st, body=None):
    if body is None:
        body = struct.pack('!HH', st.get('id', 0), st.get('seq', 0)) + b'p' * st.get('len', 8)
    m = struct.pack('!BBH', st['type'], st.get('code', 0), 0) + body
    return m[:2] + struct.pack('!H', csum16(m)) + m[4:]


def build(st):
    op = st['op']
    if op == 'tcp':
        return ipv4_packet(st['src'], st['dst'], 6, tcp_segment(st), ttl=st.get('ttl', 64))
    if op == 'udp':
        return ipv4_packet(st['src'], st['dst'], 17, udp_datagram(st), ttl=st.get('ttl', 64))
    if op == 'icmp':
        return ipv4_packet(st['src'], st['dst'], 1, icmp_message(st), ttl=st.get('ttl', 64))
    if op == 'icmperr':
        inner = build(st['inner'])[:st.get('quote', 28)]
        return ipv4_packet(st['src'], st['dst'], 1, icmp_message(st, b'\0\0\0\0' + inner), ttl=st.get('ttl', 64))
    raise ValueError('unknown op ' + op)


def ct_list():
    out = sh('conntrack', '-L', ns=NS_R, check=False)
    return sorted(l.strip() for l in out.splitlines() if l.strip())


def ct_stats():
    tot = {}
    for line in sh('conntrack', '-S', ns=NS_R, check=False).splitlines():
        for kv in line.split():
            if '=' in kv and not kv.startswith('cpu='):
                k, v = kv.split('=')
                tot[k] = tot.get(k, 0) + int(v)
    return tot


def counters():
    j = json.loads(sh('nft', '-j', 'list', 'chain', 'inet', 'ppct', 'ctstate', ns=NS_R))
    vals = []
    for o in j['nftables']:
        if 'rule' in o:
            for e in o['rule']['expr']:
                if 'counter' in e:
                    vals.append(e['counter']['packets'])
    return dict(zip(['new', 'established', 'related', 'invalid', 'untracked'], vals))


def main():
    spec = json.load(sys.stdin)
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda *_: (cleanup(), os._exit(1)))
    try:
        setup(spec.get('routerNft', ''))
        socks, sniff = {}, {}
        for side, ns, dev in (('c', NS_C, 'c0'), ('s', NS_S, 's0')):
            setns(ns)
            socks[side] = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
            p = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
            p.bind((dev, 0))
            p.setblocking(False)
            sniff[side] = p
        setns(None)

        def drain(wait):
            rx = {'c': [], 's': []}
            deadline = time.monotonic() + wait
            while True:
                left = deadline - time.monotonic()
                r, _, _ = select.select(list(sniff.values()), [], [], max(0.0, left))
                if not r:
                    break
                for side, p in sniff.items():
                    if p in r:
                        while True:
                            try:
                                data, addr = p.recvfrom(65535)
                            except BlockingIOError:
                                break
                            if addr[2] != socket.PACKET_OUTGOING:
                                rx[side].append(data[14:].hex())
            return rx

        drain(0.05)
        out, t0 = [], None
        for st in spec['steps']:
            if st['op'] == 'sleep':
                time.sleep(st['s'])
                continue
            pkt = build(st)
            socks[st['side']].sendto(pkt, (st['dst'], 0))
            t = time.monotonic()
            if t0 is None:
                t0 = t
            rx = drain(0.05)
            out.append({'t': round(t - t0, 4), 'sent': pkt.hex(), 'ct': ct_list(),
                        'tList': round(time.monotonic() - t0, 4), 'counters': counters(),
                        'stats': ct_stats(), 'rx': rx})
        json.dump({'kernel': os.uname().release, 'steps': out}, sys.stdout)
    finally:
        setns(None)
        cleanup()


if __name__ == '__main__':
    main()
