#!/usr/bin/env python3
"""Bounded servers and clients for tests/kernel/make-docker-host.sh (Python 3 standard library only).

Every mode ends on its own: servers after --count connections/datagrams or --timeout seconds,
clients after one exchange or --timeout seconds. Each prints one JSON line saying what happened.

  tcp-server PORT PREFIX [--count N] [--timeout S]   accept, read to EOF, reply PREFIX+data, close
  udp-echo   PORT PREFIX [--count N] [--timeout S]   reply PREFIX+data to each datagram
  tcp-client DST DPORT SPORT MSG [--timeout S]       connect from SPORT, send MSG, shut down writing,
                                                     read the reply to EOF, close
  udp-client DST DPORT SPORT MSG [--timeout S]       one datagram, wait for one reply
"""
import argparse
import json
import socket
import sys
import time


def out(**kw):
    print(json.dumps(kw), flush=True)


def tcp_server(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", a.port))
    s.listen(8)
    out(event="listening", proto="tcp", port=a.port)
    deadline = time.monotonic() + a.timeout
    served = 0
    while served < a.count:
        left = deadline - time.monotonic()
        if left <= 0:
            out(event="timeout", served=served)
            break
        s.settimeout(left)
        try:
            c, peer = s.accept()
        except socket.timeout:
            out(event="timeout", served=served)
            break
        c.settimeout(5)
        data = b""
        try:
            while True:
                b = c.recv(4096)
                if not b:
                    break
                data += b
            c.sendall(a.prefix.encode() + data)
        except OSError as e:
            out(event="conn-error", peer="%s:%d" % peer, error=str(e))
        finally:
            c.close()
        served += 1
        out(event="served", peer="%s:%d" % peer, got=data.decode(errors="replace"))
    s.close()


def udp_echo(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", a.port))
    out(event="listening", proto="udp", port=a.port)
    deadline = time.monotonic() + a.timeout
    served = 0
    while served < a.count:
        left = deadline - time.monotonic()
        if left <= 0:
            out(event="timeout", served=served)
            break
        s.settimeout(left)
        try:
            data, peer = s.recvfrom(4096)
        except socket.timeout:
            out(event="timeout", served=served)
            break
        s.sendto(a.prefix.encode() + data, peer)
        served += 1
        out(event="served", peer="%s:%d" % peer, got=data.decode(errors="replace"))
    s.close()


def tcp_client(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", a.sport))
    s.settimeout(a.timeout)
    t0 = time.monotonic()
    try:
        s.connect((a.dst, a.dport))
    except socket.timeout:
        out(result="timeout", after_s=round(time.monotonic() - t0, 3))
        return
    except ConnectionRefusedError:
        out(result="refused", after_s=round(time.monotonic() - t0, 3))
        return
    except OSError as e:
        out(result="error", error=str(e), after_s=round(time.monotonic() - t0, 3))
        return
    try:
        s.sendall(a.msg.encode())
        s.shutdown(socket.SHUT_WR)
        data = b""
        while True:
            b = s.recv(4096)
            if not b:
                break
            data += b
        out(result="ok", reply=data.decode(errors="replace"), after_s=round(time.monotonic() - t0, 3))
    except OSError as e:
        out(result="error", error=str(e), after_s=round(time.monotonic() - t0, 3))
    finally:
        s.close()


def udp_client(a):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", a.sport))
    s.settimeout(a.timeout)
    t0 = time.monotonic()
    s.sendto(a.msg.encode(), (a.dst, a.dport))
    try:
        data, peer = s.recvfrom(4096)
        out(result="ok", reply=data.decode(errors="replace"), peer="%s:%d" % peer,
            after_s=round(time.monotonic() - t0, 3))
    except socket.timeout:
        out(result="timeout", after_s=round(time.monotonic() - t0, 3))
    except OSError as e:
        out(result="error", error=str(e), after_s=round(time.monotonic() - t0, 3))
    s.close()


def main():
    p = argparse.ArgumentParser()
    sub = p.add_subparsers(dest="mode", required=True)
    for name in ("tcp-server", "udp-echo"):
        q = sub.add_parser(name)
        q.add_argument("port", type=int)
        q.add_argument("prefix")
        q.add_argument("--count", type=int, default=1)
        q.add_argument("--timeout", type=float, default=60)
    for name in ("tcp-client", "udp-client"):
        q = sub.add_parser(name)
        q.add_argument("dst")
        q.add_argument("dport", type=int)
        q.add_argument("sport", type=int)
        q.add_argument("msg")
        q.add_argument("--timeout", type=float, default=3)
    a = p.parse_args()
    {"tcp-server": tcp_server, "udp-echo": udp_echo, "tcp-client": tcp_client, "udp-client": udp_client}[a.mode](a)


if __name__ == "__main__":
    sys.exit(main())
