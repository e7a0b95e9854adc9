#!/usr/bin/env bash
# Record pktpath's IPv6 kernel-oracle scenarios on the real kernel and write tests/golden/ipv6/<scenario>/:
#
#   world/                 snapshot of the host under test alone (its veth peers are edges), taken after
#                          the servers listen and before any traffic (shared/docs/snapshot-format.md)
#   inputs/<dev>.pcap      the frames that entered it on each edge device (nanosecond pcap, Ethernet,
#                          timestamps of the `-i any` capture, TCP/UDP checksums recomputed: the veth
#                          senders use checksum offload)
#   truth.jsonl            what the kernel did with each of them (shared/oracle truth.jsonl shape)
#   evidence/              host-any.pcapng (every frame in and out, SLL2), kfree_skb.tsv (the kernel's
#                          drop events for IPv6), nft-trace.txt, flows.jsonl (what each client saw)
#
# Scenarios (argument: router | host | firewall | all; default all):
#   router    a router between 2001:db8:1::/64 (eth0) and 2001:db8:2::/64 (eth1, mtu 1400), no ruleset:
#             NDP (the first packet waits for the NA; a neighbour that never answers → address
#             unreachable), forwarded ICMPv6 echo and TCP, hop limit expiry, packet too big, no route,
#             local echo / link-local echo / closed TCP port
#   host      a host (forwarding off) with a dual-stack TCP listener *:80, a v6only UDP socket
#             [::]:5353, a closed TCP port (RST), a closed UDP port (port unreachable), echo (global
#             and link-local), a packet for another network (IP_INADDRERRORS)
#   firewall  the router with an ip6 filter forward chain (policy drop, ct state, a tcp/23 drop rule),
#             an inet table matching ip6 saddr/daddr prefixes and sets, and `fib daddr type local`
#
# Run as root:   bash tests/kernel/ipv6-scenarios.sh [scenario]
# Env: OUT=<dir> (default <repo>/tests/golden/ipv6), KEEP_WORK=1 keeps the scratch directory,
#      NO_PERF=1 skips the skb:kfree_skb recording (drop reasons are then only derived).
#
# Safety: namespaces are named pp6-<pid>-<role> and deleted on every exit path; only 2001:db8::/32 and
# fe80::/10 addresses are used, inside those namespaces; nothing in the root namespace (interfaces,
# routes, sysctls, firewall) is touched; every client is bounded in count and time. The only
# system-wide action is `perf record -e skb:kfree_skb` (a read-only tracepoint, filtered to IPv6).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
OUTROOT=${OUT:-$REPO/tests/golden/ipv6}
PY=${PYTHON:-$(command -v python3)}
WHICH=${1:-all}
case "$WHICH" in router|host|firewall|all) ;; *) echo "usage: $0 [router|host|firewall|all]" >&2; exit 2 ;; esac

PFX="pp6-$$-"
log() { printf '[ipv6-scenarios %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (network namespaces, nftables, tcpdump)"
for t in ip nft tcpdump editcap ss sysctl ping timeout stdbuf "$PY"; do command -v "$t" >/dev/null 2>&1 || die "missing tool: $t"; done

WORK=$(mktemp -d "/tmp/pp6-$$.XXXXXX")
CREATED_NS=()
BG_PIDS=()
PERF_PID=""
declare -A FIRST_SIG=()

stop_pid() {
  local pid=$1 i
  kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
  kill "-${FIRST_SIG[$pid]:-INT}" "$pid" 2>/dev/null || true
  for i in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

del_namespaces() {
  local ns pid
  for ns in "${CREATED_NS[@]}"; do
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || log "warning: could not delete namespace $ns"
  done
  CREATED_NS=()
}

cleanup() {
  local rc=$? pid left
  set +e
  trap - EXIT INT TERM HUP
  [ -n "$PERF_PID" ] && stop_pid "$PERF_PID"
  for pid in "${BG_PIDS[@]}"; do stop_pid "$pid"; done
  del_namespaces
  if [ "${KEEP_WORK:-0}" = 1 ]; then log "scratch kept: $WORK"; else rm -rf "$WORK"; fi
  left=$(ip netns list 2>/dev/null | grep -c "^$PFX" || true)
  [ "$left" = 0 ] || { log "error: $left namespace(s) named $PFX* are left"; rc=1; }
  if [ "$rc" = 0 ]; then log "done (namespaces removed)"; else log "failed (rc=$rc); namespaces removed"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
wait_for() { local secs=$1 i; shift; for i in $(seq 1 $((secs * 10))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done; return 1; }

# ---------------------------------------------------------------------------------------------- tools
cat >"$WORK/tool.py" <<'EOF'
"""Bounded IPv6 servers and clients: each mode ends on its own and prints one JSON line per event."""
import argparse, json, socket, sys, time

def out(**kw):
    print(json.dumps(kw), flush=True)

def tcp_server(a):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1 if a.v6only else 0)
    s.bind(("::", a.port)); s.listen(8)
    out(event="listening", proto="tcp", port=a.port)
    deadline, served = time.monotonic() + a.timeout, 0
    while served < a.count:
        left = deadline - time.monotonic()
        if left <= 0: break
        s.settimeout(left)
        try: c, peer = s.accept()
        except socket.timeout: break
        c.settimeout(5); data = b""
        try:
            while True:
                b = c.recv(4096)
                if not b: break
                data += b
            c.sendall(a.prefix.encode() + data)
        except OSError as e:
            out(event="conn-error", error=str(e))
        finally:
            c.close()
        served += 1
        out(event="served", peer=str(peer[0]), got=data.decode(errors="replace"))
    s.close()

def udp_echo(a):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1 if a.v6only else 0)
    s.bind(("::", a.port))
    out(event="listening", proto="udp", port=a.port)
    deadline, served = time.monotonic() + a.timeout, 0
    while served < a.count:
        left = deadline - time.monotonic()
        if left <= 0: break
        s.settimeout(left)
        try: data, peer = s.recvfrom(4096)
        except socket.timeout: break
        s.sendto(a.prefix.encode() + data, peer)
        served += 1
        out(event="served", peer=str(peer[0]), got=data.decode(errors="replace"))
    s.close()

def tcp_client(a):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::", a.sport)); s.settimeout(a.timeout)
    t0 = time.monotonic()
    try:
        s.connect((a.dst, a.dport))
        s.sendall(a.msg.encode()); s.shutdown(socket.SHUT_WR)
        data = b""
        while True:
            b = s.recv(4096)
            if not b: break
            data += b
        out(result="ok", reply=data.decode(errors="replace"), after_s=round(time.monotonic() - t0, 3))
    except socket.timeout:
        out(result="timeout", after_s=round(time.monotonic() - t0, 3))
    except ConnectionRefusedError:
        out(result="refused", after_s=round(time.monotonic() - t0, 3))
    except OSError as e:
        out(result="error", error=str(e), after_s=round(time.monotonic() - t0, 3))
    finally:
        s.close()

def udp_client(a):
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.bind(("::", a.sport)); s.settimeout(a.timeout)
    t0 = time.monotonic()
    s.sendto(a.msg.encode(), (a.dst, a.dport))
    try:
        data, peer = s.recvfrom(4096)
        out(result="ok", reply=data.decode(errors="replace"), after_s=round(time.monotonic() - t0, 3))
    except socket.timeout:
        out(result="timeout", after_s=round(time.monotonic() - t0, 3))
    except OSError as e:
        out(result="error", error=str(e), after_s=round(time.monotonic() - t0, 3))
    s.close()

p = argparse.ArgumentParser()
sub = p.add_subparsers(dest="mode", required=True)
for name in ("tcp-server", "udp-echo"):
    q = sub.add_parser(name); q.add_argument("port", type=int); q.add_argument("prefix")
    q.add_argument("--count", type=int, default=1); q.add_argument("--timeout", type=float, default=60)
    q.add_argument("--v6only", action="store_true")
for name in ("tcp-client", "udp-client"):
    q = sub.add_parser(name); q.add_argument("dst"); q.add_argument("dport", type=int); q.add_argument("sport", type=int)
    q.add_argument("msg"); q.add_argument("--timeout", type=float, default=3)
a = p.parse_args()
{"tcp-server": tcp_server, "udp-echo": udp_echo, "tcp-client": tcp_client, "udp-client": udp_client}[a.mode](a)
EOF
TOOL="$WORK/tool.py"

# ---------------------------------------------------------------------------------------------- topology
# new_ns <role>: a namespace with IPv6 on and the noise a capture would pick up turned off: no DAD
# (addresses usable at once), no router solicitations; IPv4 left unconfigured (no ARP).
new_ns() {
  local ns="${PFX}$1" k
  ip netns add "$ns"
  CREATED_NS+=("$ns")
  for k in all default; do
    nsx "$ns" sysctl -q -w "net.ipv6.conf.$k.disable_ipv6=0" "net.ipv6.conf.$k.accept_dad=0" \
      "net.ipv6.conf.$k.router_solicitations=0" "net.ipv6.conf.$k.accept_ra=0" "net.ipv6.conf.$k.forwarding=0"
  done
  ip -n "$ns" link set lo up
}

# two_links <host-role> <peer0-role> <peer1-role>: host eth0 ↔ peer0 eth0, host eth1 ↔ peer1 eth0 (mtu 1400)
two_links() {
  local h="${PFX}$1" a="${PFX}$2" b="${PFX}$3"
  ip -n "$h" link add eth0 address 02:00:00:00:01:01 type veth peer name eth0 address 02:00:00:00:01:02 netns "$a"
  ip -n "$h" link add eth1 address 02:00:00:00:02:01 mtu 1400 type veth peer name eth0 address 02:00:00:00:02:02 mtu 1400 netns "$b"
  ip -n "$h" addr add 2001:db8:1::1/64 dev eth0
  ip -n "$h" addr add 2001:db8:2::1/64 dev eth1
  ip -n "$a" addr add 2001:db8:1::2/64 dev eth0
  ip -n "$b" addr add 2001:db8:2::2/64 dev eth0
  ip -n "$h" link set eth0 up; ip -n "$h" link set eth1 up
  ip -n "$a" link set eth0 up; ip -n "$b" link set eth0 up
  ip -n "$a" route add default via 2001:db8:1::1 dev eth0
  # b reaches the router by its link-local address, as a router advertisement would set it up
  ip -n "$b" route add default via fe80::ff:fe00:201 dev eth0
}

start_bg() {  # start_bg <logname> <ns> <cmd...>
  local name=$1 ns=$2; shift 2
  ip netns exec "$ns" "$@" >"$RAW/logs/$name.log" 2>&1 &
  BG_PIDS+=("$!")
}
listening() { nsx "$1" ss -H -ln "$2" "sport = :$3" | grep -q .; }

snap_ns() {  # snap_ns <live ns> <dir>
  local ns=$1 d=$2 f
  mkdir -p "$d"
  run_into() { local file=$1; shift; nsx "$ns" "$@" >"$d/$file.tmp" 2>>"$RAW/logs/snapshot.err" || true; }
  run_into link.json ip -j -d link show
  run_into addr.json ip -j addr show
  run_into route4.json ip -j -4 route show table all
  run_into route6.json ip -j -6 route show table all
  run_into rule4.json ip -j -4 rule show
  run_into rule6.json ip -j -6 rule show
  run_into neigh.json ip -j neigh show
  run_into netns-id.json ip -j netns list-id
  run_into nft.json nft -j list ruleset
  run_into nft.txt nft list ruleset
  run_into sockets.txt ss -H -tuanp
  # the spec's pattern is '^net\.'; kept to the families and tables the datapath reads
  run_into sysctl.txt sysctl -a --pattern '^net\.(ipv4\.(ip_forward|conf\.|neigh\.|icmp)|ipv6\.(conf\.|neigh\.|icmp)|netfilter\.|bridge\.|core\.(netdev_max_backlog|dev_weight))'
  sed -i -E "s/\"${PFX}/\"/g" "$d/netns-id.json.tmp"
  for f in "$d"/*.tmp; do
    if grep -q '[^[:space:]]' "$f" || [ "$(basename "$f")" = sockets.txt.tmp ]; then mv "$f" "${f%.tmp}"; else rm -f "$f"; fi
  done
  # `ip -j neigh` lists entries the traffic has not made yet only if the test put them there: none here
  [ -s "$d/link.json" ] && [ -s "$d/addr.json" ] || die "snapshot of $ns: link.json/addr.json missing"
}

write_meta() {  # write_meta <dir> <scenario>
  "$PY" - "$1" "$(uname -r)" "$2" <<'EOF'
import json, sys, datetime
d, kernel, scen = sys.argv[1:4]
meta = {"format": "pktpath-snapshot", "version": 1,
        "created": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "kernel": kernel, "hostname": "pp6-" + scen, "namespaces": ["host"], "root": "host",
        "source": "tests/kernel/ipv6-scenarios.sh " + scen}
open(d + "/snapshot.json", "w").write(json.dumps(meta, indent=1) + "\n")
EOF
}

# start_recorders <host ns>: tcpdump on every device of the host and -i any (SLL2), nft monitor trace,
# perf skb:kfree_skb (IPv6 only, system-wide: matched to our frames by time and kernel function).
start_recorders() {
  local h=$1 dev
  for dev in $(nsx "$h" ip -j link show | "$PY" -c 'import json,sys; print(" ".join(l["ifname"] for l in json.load(sys.stdin)))'); do
    start_bg "tcpdump-$dev" "$h" tcpdump -Z root -i "$dev" -U --immediate-mode -n -s 4096 -B 16384 --time-stamp-precision nano -w "$RAW/host-$dev.pcap"
    wait_for 5 grep -q 'listening on' "$RAW/logs/tcpdump-$dev.log" || die "tcpdump on $dev did not start"
  done
  start_bg tcpdump-any "$h" tcpdump -Z root -i any -y LINUX_SLL2 -U --immediate-mode -n -s 4096 -B 16384 --time-stamp-precision nano -w "$RAW/host-any.pcap"
  wait_for 5 grep -q 'listening on' "$RAW/logs/tcpdump-any.log" || die "tcpdump -i any did not start"
  start_bg nft-monitor-trace "$h" stdbuf -oL nft -a monitor trace
  FIRST_SIG[$!]=TERM
  if command -v perf >/dev/null 2>&1 && [ "${NO_PERF:-0}" != 1 ]; then
    "$PY" -c 'import time; print(time.clock_gettime_ns(time.CLOCK_REALTIME) - time.clock_gettime_ns(time.CLOCK_MONOTONIC))' >"$RAW/clock-offset"
    perf record --no-buffering -e skb:kfree_skb --filter 'protocol == 34525' -a -k mono -o "$RAW/perf.data" >"$RAW/logs/perf.log" 2>&1 &
    PERF_PID=$!
    sleep 1.5
    kill -0 "$PERF_PID" 2>/dev/null || { log "perf record did not start; drop reasons will be derived"; PERF_PID=""; }
  fi
  sleep 0.5
}

stop_recorders() {
  local pid f
  sleep 1.2
  if [ -n "$PERF_PID" ]; then
    stop_pid "$PERF_PID"; PERF_PID=""
    perf script -i "$RAW/perf.data" --ns -F comm,pid,cpu,time,trace >"$RAW/perf-script.txt" 2>>"$RAW/logs/perf.log" || true
    rm -f "$RAW/perf.data" "$RAW/perf.data.old"
  fi
  for pid in "${BG_PIDS[@]}"; do stop_pid "$pid"; done
  BG_PIDS=()
  for f in "$RAW"/logs/tcpdump-*.log; do
    grep -q 'packets captured' "$f" || die "$(basename "$f"): tcpdump did not exit cleanly"
    if grep -Eq '^[1-9][0-9]* packets dropped by kernel' "$f"; then die "$(basename "$f"): the kernel dropped frames; run again"; fi
  done
  cp "$RAW/logs/nft-monitor-trace.log" "$RAW/nft-trace.txt"
}

RESULTS=""
flow() {  # flow <id> <from-role> <description> <cmd...>
  local id=$1 from=$2 desc=$3 rc=0 outp; shift 3
  log "flow $id: $desc"
  outp=$(nsx "${PFX}$from" "$@" 2>&1) || rc=$?
  "$PY" -c 'import json,sys; print(json.dumps({"flow":sys.argv[1],"from":sys.argv[2],"description":sys.argv[3],"rc":int(sys.argv[4]),"output":sys.argv[5]}))' \
    "$id" "$from" "$desc" "$rc" "$outp" >>"$RESULTS"
  sleep 0.3
}

# ---------------------------------------------------------------------------------------------- scenarios
scenario_router() {
  new_ns host; new_ns a; new_ns b
  nsx "${PFX}host" sysctl -q -w net.ipv6.conf.all.forwarding=1
  two_links host a b
  start_bg server-b-tcp-80 "${PFX}b" timeout 60 "$PY" -u "$TOOL" tcp-server 80 "b: " --count 1 --timeout 55
  wait_for 10 listening "${PFX}b" -t 80 || die "b: TCP server did not start"
  sleep 3   # MLD reports of the new addresses are over before the capture starts
}
flows_router() {
  flow R1 a "a -> b ICMPv6 echo x2 through the router (NDP on both links)" timeout 10 ping -6 -n -c 2 -i 0.3 -W 2 2001:db8:2::2
  flow R2 a "a:40001 -> [2001:db8:2::2]:80 TCP exchange and close (forwarded)" timeout 10 "$PY" -u "$TOOL" tcp-client 2001:db8:2::2 80 40001 "a hello" --timeout 5
  flow R3 a "a -> b echo with hop limit 1 (time exceeded)" timeout 10 ping -6 -n -c 1 -t 1 -W 2 2001:db8:2::2
  flow R4 a "a -> b echo of 1500 bytes (eth1 mtu 1400: packet too big)" timeout 10 ping -6 -n -c 1 -s 1452 -W 2 2001:db8:2::2
  flow R5 a "a -> 2001:db8:2::99 echo (nobody answers the NS: address unreachable)" timeout 10 ping -6 -n -c 1 -W 6 2001:db8:2::99
  flow R6 a "a -> 2001:db8:3::1 echo (no route: ICMPv6 no route)" timeout 10 ping -6 -n -c 1 -W 2 2001:db8:3::1
  flow R7 a "a -> router 2001:db8:1::1 echo (local)" timeout 10 ping -6 -n -c 1 -W 2 2001:db8:1::1
  flow R8 a "a -> router 2001:db8:2::1 echo (local, address of the other link)" timeout 10 ping -6 -n -c 1 -W 2 2001:db8:2::1
  flow R9 a "a -> router fe80::ff:fe00:101%eth0 echo (link-local)" timeout 10 ping -6 -n -c 1 -W 2 fe80::ff:fe00:101%eth0
  flow R10 a "a:40010 -> router [2001:db8:1::1]:22 TCP SYN (closed: RST)" timeout 10 "$PY" -u "$TOOL" tcp-client 2001:db8:1::1 22 40010 "x" --timeout 3
  sleep 6   # the router's DELAY entries turn into PROBE: unicast NS, answered by NA
}

scenario_host() {
  new_ns host; new_ns c
  local h="${PFX}host" c="${PFX}c"
  ip -n "$h" link add eth0 address 02:00:00:00:10:01 type veth peer name eth0 address 02:00:00:00:10:02 netns "$c"
  ip -n "$h" addr add 2001:db8:10::1/64 dev eth0
  ip -n "$c" addr add 2001:db8:10::2/64 dev eth0
  ip -n "$h" link set eth0 up; ip -n "$c" link set eth0 up
  ip -n "$c" route add default via 2001:db8:10::1 dev eth0
  # a route the host would forward by, if forwarding were on
  ip -n "$h" route add 2001:db8:20::/64 via 2001:db8:10::99 dev eth0
  start_bg server-host-tcp-80 "$h" timeout 60 "$PY" -u "$TOOL" tcp-server 80 "host: " --count 1 --timeout 55
  start_bg server-host-udp-5353 "$h" timeout 60 "$PY" -u "$TOOL" udp-echo 5353 "host: " --count 1 --timeout 55 --v6only
  wait_for 10 listening "$h" -t 80 || die "host TCP server did not start"
  wait_for 10 listening "$h" -u 5353 || die "host UDP server did not start"
  sleep 3
}
flows_host() {
  flow H1 c "c:40001 -> [2001:db8:10::1]:80 TCP exchange and close (dual-stack listener *:80)" timeout 10 "$PY" -u "$TOOL" tcp-client 2001:db8:10::1 80 40001 "c hello" --timeout 5
  flow H2 c "c:40002 -> [2001:db8:10::1]:81 TCP SYN (closed: RST)" timeout 10 "$PY" -u "$TOOL" tcp-client 2001:db8:10::1 81 40002 "x" --timeout 3
  flow H3 c "c:40003 -> [2001:db8:10::1]:53 UDP (closed: port unreachable)" timeout 10 "$PY" -u "$TOOL" udp-client 2001:db8:10::1 53 40003 "x" --timeout 2
  flow H4 c "c:40004 -> [2001:db8:10::1]:5353 UDP request/reply ([::]:5353 v6only)" timeout 10 "$PY" -u "$TOOL" udp-client 2001:db8:10::1 5353 40004 "c hello udp" --timeout 3
  flow H5 c "c -> host echo x2" timeout 10 ping -6 -n -c 2 -i 0.3 -W 2 2001:db8:10::1
  flow H6 c "c -> host link-local fe80::ff:fe00:1001%eth0 echo" timeout 10 ping -6 -n -c 1 -W 2 fe80::ff:fe00:1001%eth0
  flow H7 c "c -> 2001:db8:20::5 via the host, whose forwarding is off (dropped silently)" timeout 10 ping -6 -n -c 1 -W 2 2001:db8:20::5
  sleep 6
}

scenario_firewall() {
  new_ns host; new_ns a; new_ns b
  nsx "${PFX}host" sysctl -q -w net.ipv6.conf.all.forwarding=1
  two_links host a b
  nsx "${PFX}host" nft -f - <<'EOF'
table ip6 filter {
  chain forward {
    type filter hook forward priority filter; policy drop;
    ct state established,related accept
    ct state invalid drop
    iifname "eth0" oifname "eth1" tcp dport 80 accept
    iifname "eth0" oifname "eth1" udp dport 53 accept
    iifname "eth0" icmpv6 type echo-request accept
    tcp dport 23 counter drop
  }
}
table inet guard {
  chain guard_fwd {
    type filter hook forward priority -10; policy accept;
    ip6 saddr 2001:db8:1::/64 ip6 daddr { 2001:db8:2::3, 2001:db8:2::4 } counter drop
    ip6 daddr 2001:db8:2::10-2001:db8:2::1f counter drop
  }
  chain guard_in {
    type filter hook input priority filter; policy accept;
    fib daddr type local tcp dport 2222 counter drop
    ip6 saddr != { 2001:db8::/32, fe80::/10 } counter drop
  }
}
EOF
  start_bg server-b-tcp-80 "${PFX}b" timeout 60 "$PY" -u "$TOOL" tcp-server 80 "b: " --count 1 --timeout 55
  start_bg server-a-tcp-80 "${PFX}a" timeout 60 "$PY" -u "$TOOL" tcp-server 80 "a: " --count 1 --timeout 55
  wait_for 10 listening "${PFX}b" -t 80 || die "b: TCP server did not start"
  wait_for 10 listening "${PFX}a" -t 80 || die "a: TCP server did not start"
  sleep 3
}
flows_firewall() {
  flow F1 a "a:40001 -> [2001:db8:2::2]:80 TCP exchange (accepted, then established)" timeout 10 "$PY" -u "$TOOL" tcp-client 2001:db8:2::2 80 40001 "a hello" --timeout 5
  flow F2 a "a -> b echo x2 (echo-request accepted, reply established)" timeout 10 ping -6 -n -c 2 -i 0.3 -W 2 2001:db8:2::2
  flow F3 a "a:40003 -> [2001:db8:2::2]:23 TCP SYN (tcp dport 23 drop)" timeout 10 "$PY" -u "$TOOL" tcp-client 2001:db8:2::2 23 40003 "x" --timeout 2.5
  flow F4 b "b:40004 -> [2001:db8:1::2]:80 TCP SYN (new from eth1: policy drop)" timeout 10 "$PY" -u "$TOOL" tcp-client 2001:db8:1::2 80 40004 "x" --timeout 2.5
  flow F5 a "a:40005 -> [2001:db8:2::2]:53 UDP (accepted; b's port unreachable comes back related)" timeout 10 "$PY" -u "$TOOL" udp-client 2001:db8:2::2 53 40005 "x" --timeout 2
  flow F6 a "a -> 2001:db8:2::3 echo (inet guard: saddr prefix, daddr set)" timeout 10 ping -6 -n -c 1 -W 2 2001:db8:2::3
  flow F7 a "a -> 2001:db8:2::12 echo (inet guard: daddr range)" timeout 10 ping -6 -n -c 1 -W 2 2001:db8:2::12
  flow F8 a "a:40008 -> router [2001:db8:1::1]:2222 TCP SYN (fib daddr type local drop)" timeout 10 "$PY" -u "$TOOL" tcp-client 2001:db8:1::1 2222 40008 "x" --timeout 2.5
  flow F9 a "a:40009 -> router [2001:db8:1::1]:22 TCP SYN (closed: RST)" timeout 10 "$PY" -u "$TOOL" tcp-client 2001:db8:1::1 22 40009 "x" --timeout 3
  sleep 6
}

# ---------------------------------------------------------------------------------------------- truth
cat >"$WORK/derive.py" <<'EOF'
"""Derive inputs/ and truth.jsonl of one scenario from its recording (see the script's header)."""
import ipaddress, json, os, re, shutil, struct, sys

RAW, OUT, SCEN = sys.argv[1], sys.argv[2], sys.argv[3]
SLL2_OUTGOING = 4
NEIGH_WAIT_NS = 5_000_000_000
ANSWER_NS = 100_000_000        # an answer (NA, RST, echo reply, ICMP error) follows its cause within this
DROP_EVENT_NS = 5_000_000      # a kfree_skb event follows its packet's arrival within this

def die(msg):
    sys.stderr.write("ipv6-truth %s: %s\n" % (SCEN, msg)); sys.exit(1)

def read_pcap(path):
    data = open(path, "rb").read()
    magic = data[:4]
    e, mul = {b"\xd4\xc3\xb2\xa1": ("<", 1000), b"\xa1\xb2\xc3\xd4": (">", 1000),
              b"\x4d\x3c\xb2\xa1": ("<", 1), b"\xa1\xb2\x3c\x4d": (">", 1)}[magic]
    lt = struct.unpack(e + "I", data[20:24])[0] & 0x0FFFFFFF
    off, out = 24, []
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack(e + "IIII", data[off:off + 16]); off += 16
        out.append((sec * 10**9 + frac * mul, data[off:off + incl])); off += incl
    return lt, out

def write_pcap(path, frames):
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b23c4d, 2, 4, 0, 0, 65535, 1))
        for ts, b in frames:
            f.write(struct.pack("<IIII", ts // 10**9, ts % 10**9, len(b), len(b))); f.write(b)

def a6(b): return str(ipaddress.IPv6Address(bytes(b)))
def mac(b): return ":".join("%02x" % x for x in b)

def csum(data):
    if len(data) % 2: data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16: s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF

def l4_of(p):
    """IPv6 packet bytes -> (next header, offset of the transport header) after extension headers."""
    nh, o = p[6], 40
    while nh in (0, 43, 60) and o + 2 <= len(p):
        nh, o = p[o], o + ((p[o + 1] + 1) << 3)
    if nh == 44 and o + 8 <= len(p):
        nh, o = p[o], o + 8
    return nh, o

def parse6(p):
    if len(p) < 40 or p[0] >> 4 != 6: return None
    h = {"l3": "ipv6", "src": a6(p[8:24]), "dst": a6(p[24:40]), "hlim": p[7], "len": 40 + struct.unpack("!H", p[4:6])[0]}
    nh, o = l4_of(p)
    l4 = p[o:h["len"]]
    h["_nh"], h["_l4"] = nh, bytes(l4)
    if nh == 6 and len(l4) >= 20:
        fl = l4[13]
        h.update(proto="tcp", sport=struct.unpack("!H", l4[0:2])[0], dport=struct.unpack("!H", l4[2:4])[0],
                 tcp_flags="".join(c for c, b in (("F", 1), ("S", 2), ("R", 4), ("P", 8), ("A", 16)) if fl & b),
                 seq=struct.unpack("!I", l4[4:8])[0])
    elif nh == 17 and len(l4) >= 8:
        h.update(proto="udp", sport=struct.unpack("!H", l4[0:2])[0], dport=struct.unpack("!H", l4[2:4])[0])
    elif nh == 58 and len(l4) >= 8:
        h.update(proto="icmpv6", icmp_type=l4[0], icmp_code=l4[1])
        if l4[0] in (128, 129):
            h.update(icmp_id=struct.unpack("!H", l4[4:6])[0], icmp_seq=struct.unpack("!H", l4[6:8])[0])
        if l4[0] in (135, 136) and len(l4) >= 24:
            h["target"] = a6(l4[8:24])
            if l4[0] == 136: h["na_flags"] = "".join(c for c, b in (("R", 0x80), ("S", 0x40), ("O", 0x20)) if l4[4] & b)
        if 1 <= l4[0] <= 4 and len(l4) >= 48:
            h["_inner"] = bytes(l4[8:])
    else:
        h["proto"] = str(nh)
    return h

def fix_checksum(frame):
    """Recompute TCP/UDP checksums of an Ethernet IPv6 frame (veth senders leave them partial)."""
    if len(frame) < 54 or frame[12:14] != b"\x86\xdd": return frame
    b = bytearray(frame); p = b[14:]
    nh, o = l4_of(bytes(p))
    if nh not in (6, 17): return frame
    plen = 40 + struct.unpack("!H", p[4:6])[0]
    l4o, l4len = 14 + o, plen - o
    co = l4o + (16 if nh == 6 else 6)
    b[co:co + 2] = b"\0\0"
    pseudo = bytes(p[8:40]) + struct.pack("!IxxxB", l4len, nh)
    c = csum(pseudo + bytes(b[l4o:l4o + l4len]))
    if nh == 17 and c == 0: c = 0xFFFF
    b[co:co + 2] = struct.pack("!H", c)
    return bytes(b)

def public(h):
    order = ("l3", "proto", "src", "dst", "hlim", "len", "sport", "dport", "tcp_flags", "seq", "icmp_type", "icmp_code", "icmp_id", "icmp_seq", "target", "na_flags")
    return {k: h[k] for k in order if k in h}

def short(h):
    s = h["src"] + (":%d" % h["sport"] if "sport" in h else "") + " > " + h["dst"] + (":%d" % h["dport"] if "dport" in h else "") + " " + h.get("proto", "?")
    if "tcp_flags" in h: s += " [%s]" % h["tcp_flags"]
    if "icmp_type" in h: s += " type %d/%d" % (h["icmp_type"], h["icmp_code"])
    if "target" in h: s += " target " + h["target"]
    return s

def fmt_ts(ns): return "%d.%09d" % divmod(ns, 10**9)

world = os.path.join(OUT, "world", "ns", "host")
links = json.load(open(os.path.join(world, "link.json")))
devmac = {l["ifname"]: l.get("address") for l in links}
ifname = {l["ifindex"]: l["ifname"] for l in links}
edges = [l["ifname"] for l in links if l.get("link_type") != "loopback"]
local = set()
for a in json.load(open(os.path.join(world, "addr.json"))):
    for ai in a.get("addr_info", []):
        if ai.get("family") == "inet6": local.add(str(ipaddress.IPv6Address(ai["local"])))
sockets = open(os.path.join(world, "sockets.txt")).read().split("\n") if os.path.exists(os.path.join(world, "sockets.txt")) else []

# -i any: every frame with its direction and device
lt, anyf = read_pcap(os.path.join(RAW, "host-any.pcap"))
if lt != 276: die("host-any.pcap is not SLL2")
ANY = []
for i, (ts, b) in enumerate(anyf):
    proto, ifx, pkttype = struct.unpack("!H", b[0:2])[0], struct.unpack("!I", b[4:8])[0], b[10]
    if proto != 0x86dd: continue
    p = b[20:]
    ANY.append({"i": i, "ts": ts, "dev": ifname.get(ifx, "if%d" % ifx), "out": pkttype == SLL2_OUTGOING, "p": p, "h": parse6(p), "used": False})

# inputs: frames on each edge device whose source MAC is not the device's own
inputs = []
for dev in edges:
    path = os.path.join(RAW, "host-%s.pcap" % dev)
    if not os.path.exists(path): continue
    lt, frames = read_pcap(path)
    if lt != 1: die("%s is not Ethernet" % path)
    pos = 0
    for k, (ts, b) in enumerate(frames):
        if mac(b[6:12]) == devmac[dev] or b[12:14] != b"\x86\xdd": continue
        p = b[14:]
        m = next((x for x in ANY if not x["used"] and not x["out"] and x["dev"] == dev and x["p"] == p), None)
        if m is None: die("frame %d of %s (%s) is not in the -i any capture" % (k, dev, short(parse6(p))))
        m["used"] = True
        inputs.append({"ts": m["ts"], "dev": dev, "frame": fix_checksum(b), "p": p, "h": parse6(p), "pos": pos, "any": m["i"]})
        pos += 1
inputs.sort(key=lambda x: (x["ts"], x["dev"], x["pos"]))
outs = [x for x in ANY if x["out"]]

# kfree_skb events (perf script: comm pid [cpu] time: skbaddr=... protocol=34525 location=FN+0x.. reason: R)
events = []
off = int(open(os.path.join(RAW, "clock-offset")).read()) if os.path.exists(os.path.join(RAW, "clock-offset")) else None
EV = re.compile(r"^\s*(.+?)\s+(\d+)\s+\[(\d+)\]\s+(\d+)\.(\d+):\s+.*location=([\w.]+)\+0x[0-9a-f]+\s+reason:\s+(\w+)")
if off is not None and os.path.exists(os.path.join(RAW, "perf-script.txt")):
    for line in open(os.path.join(RAW, "perf-script.txt")):
        m = EV.match(line)
        if m: events.append({"ts": int(m.group(4)) * 10**9 + int(m.group(5).ljust(9, "0")[:9]) + off, "fn": m.group(6), "reason": m.group(7), "used": False, "comm": m.group(1)})
HOST_FNS = {"ip6_forward", "ip6_rcv_core", "ipv6_rcv", "nf_hook_slow", "nft_do_chain", "ip6_pkt_drop", "ip6_pkt_discard", "dst_discard",
            "tcp_v6_rcv", "__udp6_lib_rcv", "udpv6_rcv", "icmpv6_rcv", "ndisc_rcv", "ip6_mc_input", "ip6_input_finish",
            "ip6_protocol_deliver_rcu", "neigh_invalidate", "ip6_rcv_finish", "ip6_route_input", "ip6_finish_output2"}

def take_event(t0, t1, fns=None, sync=True):
    """The first unclaimed event in [t0, t1] at one of `fns`. A drop while the packet is being received
    runs in the sender's context (veth → netif_rx → softirq on the same task) or ksoftirqd; events from
    kworkers are other namespaces' timers (MLD, router solicitations) and are skipped."""
    for e in events:
        if e["used"] or e["ts"] < t0 - 200_000 or e["ts"] > t1: continue
        if e["fn"] not in (fns or HOST_FNS): continue
        if sync and e["comm"].startswith("kworker"): continue
        e["used"] = True
        return e
    return None

# nft monitor trace: per trace id, the packet line and the verdicts
traces = []
TR = re.compile(r"^trace id (\S+) (\S+) (\S+) (\S+) (packet|rule|policy|verdict)\s?(.*)$")
cur = {}
if os.path.exists(os.path.join(RAW, "nft-trace.txt")):
    for line in open(os.path.join(RAW, "nft-trace.txt"), errors="replace"):
        m = TR.match(line.rstrip("\n"))
        if not m: continue
        tid, fam, table, chain, kind, rest = m.groups()
        if kind == "packet":
            v = {"family": fam, "table": table, "chain": chain, "pkt": rest, "verdict": None, "rule": None, "used": False}
            traces.append(v); cur[(tid, fam, table, chain)] = v
            continue
        v = cur.get((tid, fam, table, chain))
        if v is None: continue
        if kind == "policy": v["verdict"], v["rule"] = rest.split()[0], "policy"
        elif kind == "rule":
            mv = re.search(r"\(verdict (\w+)", rest)
            if mv and mv.group(1) in ("accept", "drop"):
                v["verdict"] = mv.group(1); mh = re.search(r"# handle (\d+)", rest)
                v["rule"] = re.sub(r"\s*(# handle \d+\s*)?\(verdict.*$", "", rest); v["handle"] = int(mh.group(1)) if mh else None

def trace_pkt_matches(t, h):
    s = t["pkt"]
    def has(k, v): return re.search(r"\b%s %s\b" % (re.escape(k), re.escape(str(v))), s) is not None
    if not has("ip6 saddr", h["src"]) or not has("ip6 daddr", h["dst"]): return False
    if "sport" in h and not (has("th sport", h["sport"]) or has("tcp sport", h["sport"]) or has("udp sport", h["sport"])): return False
    if "dport" in h and not (has("th dport", h["dport"]) or has("tcp dport", h["dport"]) or has("udp dport", h["dport"])): return False
    return True

def nf_drop_for(h):
    for t in traces:
        if t["used"] or t["verdict"] != "drop" or not trace_pkt_matches(t, h): continue
        t["used"] = True
        return t
    return None

def find_out(pred, t0, t1):
    for o in outs:
        if t0 <= o["ts"] <= t1 and not o["used"] and o["h"] and pred(o):
            return o
    return None

def quotes(o, inp):
    """The ICMPv6 error quotes this packet: same addresses and first 8 transport bytes (the hop limit
    may differ: a queued forwarded packet was already decremented)."""
    inner, p = o["h"].get("_inner"), bytes(inp["p"])
    return inner is not None and len(inner) >= 48 and inner[8:40] == p[8:40] and inner[40:48] == p[40:48]

def resolution_for(o, t):
    """NS frames the host sent to resolve the destination of its answer `o` before sending it."""
    found = [x for x in outs if t <= x["ts"] <= o["ts"] and not x["used"] and x["h"] and x["h"].get("icmp_type") == 135
             and x["dev"] == o["dev"] and x["h"].get("target") == o["h"]["dst"]]
    for x in found: x["used"] = True
    return [emitted_of(x, note="neighbour resolution for the answer") for x in found]

def emitted_of(o, **kw):
    h = o["h"]; e = {"type": None, "dev": o["dev"], "host_any_frame": o["i"], "src": h["src"], "dst": h["dst"]}
    if h.get("icmp_type") == 135: e["type"] = "ndisc-ns"; e["target"] = h["target"]
    elif h.get("icmp_type") == 136: e["type"] = "ndisc-na"; e["target"] = h["target"]; e["na_flags"] = h.get("na_flags", "")
    elif h.get("icmp_type") == 129: e["type"] = "icmp-echo-reply"
    elif h.get("icmp_type") in (1, 2, 3, 4): e["type"] = "icmp-error"; e["icmp_type"] = h["icmp_type"]; e["icmp_code"] = h["icmp_code"]
    elif h.get("proto") == "tcp" and "R" in h.get("tcp_flags", ""): e["type"] = "tcp-rst"
    else: e["type"] = h.get("proto", "other")
    e.update(kw)
    return e

def socket_for(proto, port):
    for line in sockets:
        f = line.split()
        if len(f) >= 5 and f[0] == proto and f[4].rsplit(":", 1)[-1] == str(port): return line.strip()
    return None

truth = []
for idx, inp in enumerate(inputs):
    h, t = inp["h"], inp["ts"]
    rec = {"index": idx, "ts": fmt_ts(t), "in": {"ns": "host", "dev": inp["dev"]}, "key": public(h), "final": None, "emitted": [], "evidence": ""}
    p = inp["p"]
    # 1. forwarded: the same packet leaves with the hop limit one lower
    fwd = find_out(lambda o: o["h"]["hlim"] == h["hlim"] - 1 and o["p"][:7] == p[:7] and o["p"][8:] == p[8:], t, t + NEIGH_WAIT_NS)
    if fwd:
        fwd["used"] = True
        rec["final"] = {"verdict": "transmitted", "ns": "host", "dev": fwd["dev"]}
        rec["out"] = {k: fwd["h"][k] for k in ("src", "dst", "sport", "dport", "icmp_id") if k in fwd["h"]}
        ns_ = [o for o in outs if t <= o["ts"] <= fwd["ts"] and o["h"] and o["h"].get("icmp_type") == 135 and o["dev"] == fwd["dev"] and not o["used"]]
        for o in ns_:
            o["used"] = True; rec["emitted"].append(emitted_of(o, note="next-hop resolution; the packet waited for the answer"))
        rec["evidence"] = "host-any frame %d in %s -> frame %d out %s (%.1f us later)" % (inp["any"], inp["dev"], fwd["i"], fwd["dev"], (fwd["ts"] - t) / 1000)
        truth.append(rec); continue
    # 2. errors the host sent about it (quoting it)
    errs = [o for o in outs if t <= o["ts"] <= t + NEIGH_WAIT_NS and o["h"] and o["h"].get("icmp_type") in (1, 2, 3, 4) and not o["used"] and quotes(o, inp)]
    for o in errs[:1]: o["used"] = True
    err = errs[0] if errs else None
    proto, ity = h.get("proto"), h.get("icmp_type")
    dst_local = h["dst"] in local
    ev = None
    if ity == 135:   # neighbour solicitation
        na = find_out(lambda o: o["h"].get("icmp_type") == 136 and o["h"].get("target") == h["target"] and o["dev"] == inp["dev"], t, t + ANSWER_NS)
        if na:
            na["used"] = True
            rec["final"] = {"verdict": "consumed", "ns": "host"}
            rec["emitted"].append(emitted_of(na))
            rec["evidence"] = "NS for %s answered: NA frame %d out %s" % (h["target"], na["i"], na["dev"])
        else:
            ev = take_event(t, t + DROP_EVENT_NS, {"ndisc_rcv", "icmpv6_rcv", "ip6_mc_input"})
            if not ev: die("frame %d (%s): NS not answered and no drop event" % (idx, short(h)))
            rec["final"] = {"verdict": "dropped", "ns": "host", "reason": ev["reason"], "where": {"stage": ev["fn"]}}
            rec["evidence"] = "NS for %s not answered; kfree_skb %s %s" % (h["target"], ev["fn"], ev["reason"])
    elif ity == 136:  # neighbour advertisement
        ev = take_event(t, t + DROP_EVENT_NS, {"ndisc_rcv", "icmpv6_rcv"})
        if ev:
            rec["final"] = {"verdict": "dropped", "ns": "host", "reason": ev["reason"], "where": {"stage": ev["fn"]}}
            rec["evidence"] = "NA for %s; kfree_skb %s %s" % (h["target"], ev["fn"], ev["reason"])
        else:
            rec["final"] = {"verdict": "consumed", "ns": "host"}
            rec["evidence"] = "NA for %s (%s) updates the neighbour; no kfree_skb event" % (h["target"], h.get("na_flags"))
    elif dst_local and ity == 128:
        rep = find_out(lambda o: o["h"].get("icmp_type") == 129 and o["h"].get("icmp_id") == h["icmp_id"] and o["h"].get("icmp_seq") == h["icmp_seq"], t, t + ANSWER_NS)
        if rep:
            rep["used"] = True
            rec["final"] = {"verdict": "consumed", "ns": "host"}
            rec["emitted"] += resolution_for(rep, t)
            rec["emitted"].append(emitted_of(rep))
            rec["evidence"] = "echo request to %s answered: frame %d out %s" % (h["dst"], rep["i"], rep["dev"])
    elif dst_local and proto == "tcp":
        rst = find_out(lambda o: o["h"].get("proto") == "tcp" and "R" in o["h"]["tcp_flags"] and o["h"]["sport"] == h["dport"] and o["h"]["dport"] == h["sport"], t, t + ANSWER_NS)
        if rst and "R" not in h["tcp_flags"]:
            rst["used"] = True
            ev = take_event(t, t + DROP_EVENT_NS, {"tcp_v6_rcv"})
            rec["final"] = {"verdict": "dropped", "ns": "host", "reason": ev["reason"] if ev else "NO_SOCKET", "where": {"stage": "tcp_v6_rcv"}}
            rec["emitted"] += resolution_for(rst, t)
            rec["emitted"].append(emitted_of(rst))
            rec["evidence"] = "RST frame %d out %s%s" % (rst["i"], rst["dev"], "; kfree_skb %s %s" % (ev["fn"], ev["reason"]) if ev else "")
    elif dst_local and proto == "udp":
        if err and err["h"]["icmp_type"] == 1 and err["h"]["icmp_code"] == 4:
            ev = take_event(t, t + DROP_EVENT_NS, {"__udp6_lib_rcv", "udpv6_rcv"})
            rec["final"] = {"verdict": "dropped", "ns": "host", "reason": ev["reason"] if ev else "NO_SOCKET", "where": {"stage": "__udp6_lib_rcv"}}
            rec["emitted"] += resolution_for(err, t)
            rec["emitted"].append(emitted_of(err)); err = None
            rec["evidence"] = "ICMPv6 port unreachable back" + ("; kfree_skb %s %s" % (ev["fn"], ev["reason"]) if ev else "")
    if rec["final"] is None:
        # 3. a drop: the kernel's event says where and why
        if ev is None and err and err["h"]["icmp_type"] == 1 and err["h"]["icmp_code"] == 3:
            # address unreachable: the packet waited for a neighbour that never answered
            ev = take_event(err["ts"] - 5_000_000, err["ts"] + 5_000_000, {"neigh_invalidate"}, sync=False)
        nfd = None
        if ev is None:
            # a netfilter drop: nft monitor trace names the chain (perf may lose an event; the trace does not)
            nfd = nf_drop_for(h)
            if nfd:
                ev = take_event(t, t + DROP_EVENT_NS, {"nft_do_chain", "nf_hook_slow"}, sync=False) or \
                    {"fn": "nft_do_chain", "reason": "NETFILTER_DROP", "ts": t, "missing": True}
        if ev is None: ev = take_event(t, t + DROP_EVENT_NS)
        if ev is None and dst_local and proto in ("tcp", "udp"):
            sk = socket_for(proto, h["dport"])
            if sk:
                rec["final"] = {"verdict": "delivered", "ns": "host", "socket": sk}
                rec["evidence"] = "to a local socket (%s); no drop event" % sk
        if rec["final"] is None:
            if ev is None: die("frame %d (%s) from %s: not forwarded, not answered, no drop event" % (idx, short(h), inp["dev"]))
            where = {"stage": ev["fn"]}
            if nfd:
                where = {"family": nfd["family"], "table": nfd["table"], "chain": nfd["chain"], "rule": nfd["rule"]}
                if nfd.get("handle") is not None: where["handle"] = nfd["handle"]
            rec["final"] = {"verdict": "dropped", "ns": "host", "reason": ev["reason"], "where": where}
            if ev["fn"] == "neigh_invalidate":
                ns_ = [o for o in outs if t <= o["ts"] <= ev["ts"] and o["h"] and o["h"].get("icmp_type") == 135 and o["h"].get("target") == h["dst"] and not o["used"]]
                for o in ns_: o["used"] = True; rec["emitted"].append(emitted_of(o))
            rec["evidence"] = ("no kfree_skb event recorded (perf lost it)" if ev.get("missing") else "kfree_skb %s %s %.1f us after arrival" % (ev["fn"], ev["reason"], (ev["ts"] - t) / 1000)) + \
                ("; nft trace: %s %s %s %s" % (nfd["family"], nfd["table"], nfd["chain"], nfd["rule"]) if nfd else "")
    if err is not None:
        rec["emitted"] += resolution_for(err, t)
        rec["emitted"].append(emitted_of(err))
        rec["evidence"] += "; ICMPv6 %d/%d frame %d out %s quotes it" % (err["h"]["icmp_type"], err["h"]["icmp_code"], err["i"], err["dev"])
    rec["source"] = {"input": "inputs/%s.pcap#%d" % (inp["dev"], inp["pos"]), "host_any_frame": inp["any"]}
    truth.append(rec)

os.makedirs(os.path.join(OUT, "inputs"), exist_ok=True)
for dev in edges:
    write_pcap(os.path.join(OUT, "inputs", "%s.pcap" % dev), [(x["ts"], x["frame"]) for x in sorted((x for x in inputs if x["dev"] == dev), key=lambda x: x["pos"])])
with open(os.path.join(OUT, "truth.jsonl"), "w") as f:
    for r in truth: f.write(json.dumps(r) + "\n")
ev_dir = os.path.join(OUT, "evidence"); os.makedirs(ev_dir, exist_ok=True)
with open(os.path.join(ev_dir, "kfree_skb.tsv"), "w") as f:
    f.write("ts\tfunction\treason\tcomm\tclaimed\n")
    for e in events: f.write("%s\t%s\t%s\t%s\t%s\n" % (fmt_ts(e["ts"]), e["fn"], e["reason"], e["comm"], "yes" if e["used"] else "no"))
unexplained = [o for o in outs if not o["used"] and o["h"] and not (o["h"].get("icmp_type") in (135, 136, 143) or o["dev"] == "lo")]
for o in unexplained: sys.stderr.write("ipv6-truth %s: note: outgoing frame %d (%s) on %s not attributed\n" % (SCEN, o["i"], short(o["h"]), o["dev"]))
n = {}
for r in truth: n[r["final"]["verdict"]] = n.get(r["final"]["verdict"], 0) + 1
print("%s: %d input frames: %s" % (SCEN, len(truth), ", ".join("%d %s" % (v, k) for k, v in sorted(n.items()))))
EOF

# ---------------------------------------------------------------------------------------------- run
run_scenario() {
  local s=$1 out="$OUTROOT/$1"
  RAW="$WORK/$s/raw"; RESULTS="$RAW/flows.jsonl"
  mkdir -p "$RAW/logs"; : >"$RESULTS"
  log "scenario $s"
  "scenario_$s"
  local stage="$WORK/$s/out"
  rm -rf "$stage"; mkdir -p "$stage/world/ns"
  snap_ns "${PFX}host" "$stage/world/ns/host"
  write_meta "$stage/world" "$s"
  if [ "$s" = firewall ]; then
    # nftrace only after the snapshot: it sets the trace flag and nothing else
    nsx "${PFX}host" nft -f - <<'EOF'
table inet pp6_trace {
  chain pre { type filter hook prerouting priority -350; policy accept; meta nftrace set 1; }
  chain out { type filter hook output priority -350; policy accept; meta nftrace set 1; }
}
EOF
  fi
  start_recorders "${PFX}host"
  "flows_$s"
  stop_recorders
  nsx "${PFX}host" ip -j neigh show nud all >"$RAW/after-neigh.json" 2>/dev/null || true
  nsx "${PFX}host" conntrack -L >"$RAW/after-conntrack.txt" 2>/dev/null || true
  del_namespaces
  "$PY" "$WORK/derive.py" "$RAW" "$stage" "$s"
  editcap -F pcapng "$RAW/host-any.pcap" "$stage/evidence/host-any.pcapng"
  cp "$RAW/nft-trace.txt" "$RESULTS" "$stage/evidence/"
  cp "$RAW/after-neigh.json" "$stage/evidence/neigh-after.json"
  [ -s "$RAW/after-conntrack.txt" ] && cp "$RAW/after-conntrack.txt" "$stage/evidence/conntrack-after.txt"
  [ -s "$stage/evidence/nft-trace.txt" ] || rm -f "$stage/evidence/nft-trace.txt"
  mkdir -p "$out"
  rm -rf "${out:?}/world" "${out:?}/inputs" "${out:?}/evidence" "${out:?}/truth.jsonl"
  cp -a "$stage"/. "$out"/
  log "wrote $out"
}

if [ "$WHICH" = all ]; then for s in router host firewall; do run_scenario "$s"; done; else run_scenario "$WHICH"; fi
