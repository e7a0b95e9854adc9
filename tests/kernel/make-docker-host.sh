#!/usr/bin/env bash
# Build pktpath's bundled demo on the real kernel: a Docker 28.x host (iptables-nft rules, docker0
# bridge, one container c1 with -p 8080:80, a DOCKER-USER drop of tcp/25) in three network
# namespaces, run bounded traffic through it, record everything, and write captures/docker-host/:
#
#   snapshot.json ns/host/...      snapshot of the host namespace alone, taken after the servers
#                                  listen and before any traffic (its veths to c1 and peer are edges)
#   world-full/                    the same moment, all three namespaces, veth peers joined
#   inputs/eth0.pcap inputs/vethc1.pcap
#                                  the frames that entered the host on each edge device
#   truth.jsonl                    what the kernel did with each of them
#   raw/                           the recording the truth is derived from
#   README.md                      hand-written; the block between the "generated" markers is rewritten
#
# Run as root from anywhere:   bash tests/kernel/make-docker-host.sh
# Env: OUT=<dir> writes elsewhere (default: <repo>/captures/docker-host); KEEP_WORK=1 keeps the
# scratch directory; PYTHON=<python3>.
#
# Safety: every namespace is named ppdemo-<pid>-{host,c1,peer} and deleted on every exit path; only
# 192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24 and 172.17.0.0/16 are used, inside the namespaces;
# nothing in the root namespace (interfaces, routes, sysctls, firewall) is touched. The only
# system-wide action is an optional `perf record -e skb:kfree_skb` (read-only tracepoint, on for the
# traffic only; tracefs is unmounted again if perf had to mount it).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
OUT=${OUT:-$REPO/captures/docker-host}
PY=${PYTHON:-$(command -v python3)}
TOOL="$HERE/docker-host-tool.py"
TRUTH="$HERE/docker-host-truth.py"

PFX="ppdemo-$$-"
NS_HOST="${PFX}host"
NS_C1="${PFX}c1"
NS_PEER="${PFX}peer"

log() { printf '[make-docker-host %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (network namespaces, nftables, tcpdump)"
for t in ip bridge nft iptables-nft-restore iptables-nft-save iptables-nft tcpdump editcap conntrack ss sysctl ping timeout stdbuf "$PY"; do
  command -v "$t" >/dev/null 2>&1 || die "missing tool: $t"
done
"$PY" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 8) else 1)' || die "python3 >= 3.8 needed"

WORK=$(mktemp -d "/tmp/ppdemo-$$.XXXXXX")
RAW="$WORK/raw"       # the recording (copied to $OUT/raw at the end)
STAGE="$WORK/out"     # the new contents of $OUT
mkdir -p "$RAW/logs" "$STAGE"

CREATED_NS=()
BG_PIDS=()            # recorders and servers we started (pids of `ip netns exec` = the tool after exec)
PERF_PID=""
TRACEFS_WAS_MOUNTED=1
mountpoint -q /sys/kernel/tracing 2>/dev/null || TRACEFS_WAS_MOUNTED=0

# Stop one process we started: SIGINT (what tcpdump and perf expect), then SIGTERM, then SIGKILL.
# Background jobs of a non-interactive shell start with SIGINT ignored; tools that do not install
# their own handler (nft monitor) need SIGTERM.
declare -A FIRST_SIG=()   # pid -> signal to stop it with first (default INT)
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

cleanup() {
  local rc=$? pid ns left
  set +e
  trap - EXIT INT TERM HUP
  [ -n "$PERF_PID" ] && stop_pid "$PERF_PID"
  for pid in "${BG_PIDS[@]}"; do stop_pid "$pid"; done
  for ns in "${CREATED_NS[@]}"; do
    # anything still running inside a namespace we made is ours (servers, clients): end it by pid
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
    ip netns del "$ns" 2>/dev/null || log "warning: could not delete namespace $ns"
  done
  if [ "$TRACEFS_WAS_MOUNTED" = 0 ] && mountpoint -q /sys/kernel/tracing 2>/dev/null; then
    umount /sys/kernel/tracing 2>/dev/null || true   # perf mounted it for us
  fi
  if [ "${KEEP_WORK:-0}" = 1 ]; then log "scratch kept: $WORK"; else rm -rf "$WORK"; fi
  left=$(ip netns list 2>/dev/null | grep -c "^$PFX" || true)
  [ "$left" = 0 ] || { log "error: $left namespace(s) named $PFX* are left"; rc=1; }
  if [ "$rc" = 0 ]; then log "done: $OUT (namespaces removed)"; else log "failed (rc=$rc); namespaces removed"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# wait_for <seconds> <command...>: poll until the command succeeds
wait_for() {
  local secs=$1 i; shift
  for i in $(seq 1 $((secs * 10))); do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  return 1
}

# ---------------------------------------------------------------------------------------------
log "namespaces $NS_HOST $NS_C1 $NS_PEER"
for ns in "$NS_HOST" "$NS_C1" "$NS_PEER"; do
  ip netns add "$ns"
  CREATED_NS+=("$ns")
done

# A new namespace inherits the root namespace's IPv4 conf/{all,default} (devconf_inherit_init_net=0),
# so every value the flows depend on is set explicitly, before any device exists. IPv6 is off
# everywhere: no router/neighbour solicitations or MLD in the captures.
base_sysctls() {
  local ns=$1 fwd=$2 rpf=$3 k
  nsx "$ns" sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  for k in all default lo; do
    nsx "$ns" sysctl -q -w \
      "net.ipv4.conf.$k.rp_filter=$rpf" "net.ipv4.conf.$k.accept_local=0" "net.ipv4.conf.$k.route_localnet=0" \
      "net.ipv4.conf.$k.arp_ignore=0" "net.ipv4.conf.$k.arp_announce=0" "net.ipv4.conf.$k.arp_filter=0" \
      "net.ipv4.conf.$k.proxy_arp=0" "net.ipv4.conf.$k.send_redirects=1" "net.ipv4.conf.$k.log_martians=0"
  done
  nsx "$ns" sysctl -q -w "net.ipv4.ip_forward=$fwd"
}
# host: a typical distribution's loose reverse-path filter (systemd's 50-default.conf), forwarding on
# (Docker turns it on); c1 and peer: plain hosts.
base_sysctls "$NS_HOST" 1 2
base_sysctls "$NS_C1" 0 0
base_sysctls "$NS_PEER" 0 0
# br_netfilter is built in; 1 is its default and what Docker expects. Set it anyway: it is per netns.
nsx "$NS_HOST" sysctl -q -w net.bridge.bridge-nf-call-iptables=1 net.bridge.bridge-nf-call-ip6tables=1 net.bridge.bridge-nf-call-arptables=1 \
  || die "net.bridge.bridge-nf-call-iptables is missing: br_netfilter is not available in this kernel"

# Devices are created inside the namespaces (ip -n), so nsids exist only between host and its
# peers (never towards the root namespace).
ip -n "$NS_HOST" link add eth0 address 02:00:c6:33:64:02 type veth peer name eth0 address 02:00:c6:33:64:01 netns "$NS_PEER"
ip -n "$NS_HOST" link add docker0 address 02:42:ac:11:00:01 type bridge stp_state 0
ip -n "$NS_HOST" link add vethc1 address 0a:00:ac:11:00:02 type veth peer name eth0 address 02:42:ac:11:00:02 netns "$NS_C1"
ip -n "$NS_HOST" link set vethc1 master docker0

ip -n "$NS_HOST" addr add 198.51.100.2/24 dev eth0
ip -n "$NS_HOST" addr add 172.17.0.1/16 dev docker0
ip -n "$NS_C1" addr add 172.17.0.2/16 dev eth0
ip -n "$NS_PEER" addr add 198.51.100.1/24 dev eth0
for ns in "$NS_HOST" "$NS_C1" "$NS_PEER"; do ip -n "$ns" link set lo up; done
ip -n "$NS_HOST" link set docker0 up
ip -n "$NS_HOST" link set vethc1 up
ip -n "$NS_HOST" link set eth0 up
ip -n "$NS_C1" link set eth0 up
ip -n "$NS_PEER" link set eth0 up
ip -n "$NS_HOST" route add default via 198.51.100.1 dev eth0
ip -n "$NS_C1" route add default via 172.17.0.1 dev eth0
# peer has no route to 172.17.0.0/16: it only ever sees the masqueraded source.

port_forwarding() { [ "$(nsx "$NS_HOST" bridge -j link show dev vethc1 | "$PY" -c 'import json,sys; print(json.load(sys.stdin)[0]["state"])')" = forwarding ]; }
wait_for 10 port_forwarding || die "vethc1 never reached the forwarding state"
up_with_carrier() { nsx "$1" ip -j link show dev "$2" | grep -q '"operstate":"UP"'; }
wait_for 5 up_with_carrier "$NS_HOST" eth0 || die "host eth0 not up"
wait_for 5 up_with_carrier "$NS_HOST" docker0 || die "host docker0 not up"

# ---------------------------------------------------------------------------------------------
# Docker 28.x, default bridge, `docker run -p 8080:80` (docs/datapath-facts.md §4, adapted to
# docker0/172.17.0.2), plus one DOCKER-USER rule. Loaded with iptables-nft-restore, as Docker does.
log "iptables-nft rules"
nsx "$NS_HOST" iptables-nft-restore <<'EOF'
*raw
:PREROUTING ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A PREROUTING -d 172.17.0.2/32 ! -i docker0 -j DROP
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
:DOCKER-BRIDGE - [0:0]
:DOCKER-CT - [0:0]
:DOCKER-FORWARD - [0:0]
:DOCKER-ISOLATION-STAGE-1 - [0:0]
:DOCKER-ISOLATION-STAGE-2 - [0:0]
:DOCKER-USER - [0:0]
-A FORWARD -j DOCKER-USER
-A FORWARD -j DOCKER-FORWARD
-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT
-A DOCKER ! -i docker0 -o docker0 -j DROP
-A DOCKER-BRIDGE -o docker0 -j DOCKER
-A DOCKER-CT -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
-A DOCKER-FORWARD -j DOCKER-CT
-A DOCKER-FORWARD -j DOCKER-ISOLATION-STAGE-1
-A DOCKER-FORWARD -j DOCKER-BRIDGE
-A DOCKER-FORWARD -i docker0 -j ACCEPT
-A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2
-A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP
-A DOCKER-USER -p tcp -m tcp --dport 25 -j DROP
-A DOCKER-USER -j RETURN
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
-A DOCKER -i docker0 -j RETURN
-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80
COMMIT
EOF

# ---------------------------------------------------------------------------------------------
log "servers"
start_bg() {  # start_bg <logname> <ns> <cmd...>
  local name=$1 ns=$2; shift 2
  # a simple command (not a function) in the background: $! is then `ip`, which execs the tool,
  # so signals reach the tool itself
  ip netns exec "$ns" "$@" >"$RAW/logs/$name.log" 2>&1 &
  BG_PIDS+=("$!")
}
start_bg server-c1-tcp-80 "$NS_C1" timeout 120 "$PY" -u "$TOOL" tcp-server 80 "c1: " --count 1 --timeout 110
start_bg server-peer-tcp-7000 "$NS_PEER" timeout 120 "$PY" -u "$TOOL" tcp-server 7000 "peer: " --count 1 --timeout 110
start_bg server-peer-udp-5353 "$NS_PEER" timeout 120 "$PY" -u "$TOOL" udp-echo 5353 "peer: " --count 1 --timeout 110
listening() { nsx "$1" ss -H -ln "$2" "sport = :$3" | grep -q .; }
wait_for 10 listening "$NS_C1" -t 80 || die "c1 server on 80 did not start"
wait_for 10 listening "$NS_PEER" -t 7000 || die "peer server on 7000 did not start"
wait_for 10 listening "$NS_PEER" -u 5353 || die "peer UDP echo on 5353 did not start"

# ---------------------------------------------------------------------------------------------
# Snapshots (docs/snapshot-format.md), before any traffic: verbatim output of the spec's commands;
# an output with nothing but white space is not written (it means "nothing there", as in
# src/stack/snapshot/write.ts). The only edit: netns-id.json names lose
# the ppdemo-<pid>- prefix so that they match the folder names.
snap_ns() {  # snap_ns <live ns> <dir>
  local ns=$1 d=$2 f
  mkdir -p "$d"
  run_into() { local file=$1; shift; nsx "$ns" "$@" >"$d/$file.tmp" 2>>"$RAW/logs/snapshot.err" || true; }
  run_into link.json ip -j -d link show
  run_into addr.json ip -j addr show
  run_into route4.json ip -j -4 route show table all
  run_into rule4.json ip -j -4 rule show
  run_into neigh.json ip -j neigh show
  run_into netns-id.json ip -j netns list-id
  run_into bridge-link.json bridge -j link show
  run_into bridge-fdb.json bridge -j fdb show
  run_into nft.json nft -j list ruleset
  run_into nft.txt nft list ruleset
  run_into iptables.txt iptables-nft-save
  run_into sockets.txt ss -H -tuanp
  # the spec's pattern is '^net\.'; IPv6 is off in every namespace, so net.ipv6 is kept only for
  # disable_ipv6 (its other 470 lines were 20 KB per namespace of defaults)
  run_into sysctl.txt sysctl -a --pattern '^net\.(ipv4|core|netfilter|bridge|unix)\.|^net\.ipv6\.conf\.[^.]+\.disable_ipv6$'
  sed -i -E "s/\"${PFX}/\"/g" "$d/netns-id.json.tmp"
  for f in "$d"/*.tmp; do
    # sockets.txt is kept even when empty: ss ran, and nothing listens (host port 9999 is closed)
    if grep -q '[^[:space:]]' "$f" || [ "$(basename "$f")" = sockets.txt.tmp ]; then
      mv "$f" "${f%.tmp}"
    else
      rm -f "$f"
    fi
  done
  [ -s "$d/link.json" ] && [ -s "$d/addr.json" ] || die "snapshot of $ns: link.json/addr.json missing"
}
write_meta() {  # write_meta <dir> <ns...>
  local d=$1; shift
  "$PY" - "$d" "$(uname -r)" "$@" <<'EOF'
import json, sys, datetime
d, kernel, names = sys.argv[1], sys.argv[2], sys.argv[3:]
meta = {"format": "pktpath-snapshot", "version": 1,
        "created": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "kernel": kernel, "hostname": "docker-host", "namespaces": sorted(names), "root": "host",
        "source": "tests/kernel/make-docker-host.sh (ppdemo namespaces; folder names are the ip netns names without the run's prefix)"}
open(d + "/snapshot.json", "w").write(json.dumps(meta, indent=1) + "\n")
EOF
}
log "snapshots (before traffic)"
snap_ns "$NS_HOST" "$STAGE/ns/host"
write_meta "$STAGE" host
mkdir -p "$STAGE/world-full/ns"
cp -a "$STAGE/ns/host" "$STAGE/world-full/ns/host"
snap_ns "$NS_C1" "$STAGE/world-full/ns/c1"
snap_ns "$NS_PEER" "$STAGE/world-full/ns/peer"
write_meta "$STAGE/world-full" host c1 peer

# Config of every namespace for the record (not part of the world): neighbours with nud all.
for n in host c1 peer; do
  nsx "${PFX}$n" ip -j neigh show nud all >"$RAW/before-$n-neigh.json" 2>/dev/null || true
done

# ---------------------------------------------------------------------------------------------
# Recorders. nft trace tables are added only now, after the snapshot: they set nftrace and
# nothing else, so the world stays the Docker host.
log "recorders"
nsx "$NS_HOST" nft -f - <<'EOF'
table inet ppdemo_trace {
  chain pre { type filter hook prerouting priority -350; policy accept; meta nftrace set 1; }
  chain out { type filter hook output priority -350; policy accept; meta nftrace set 1; }
}
table bridge ppdemo_trace {
  chain pre { type filter hook prerouting priority -350; policy accept; meta nftrace set 1; }
  chain out { type filter hook output priority -350; policy accept; meta nftrace set 1; }
}
EOF
declare -A DEVS=()
for n in host c1 peer; do
  DEVS[$n]=$(nsx "${PFX}$n" ip -j link show | "$PY" -c 'import json,sys; print(" ".join(l["ifname"] for l in json.load(sys.stdin)))')
done
for n in host c1 peer; do
  for dev in ${DEVS[$n]}; do
    start_bg "tcpdump-$n-$dev" "${PFX}$n" tcpdump -Z root -i "$dev" -U --immediate-mode -n -s 4096 -B 16384 \
      --time-stamp-precision nano -w "$RAW/$n-$dev.pcap"
  done
done
# -i any in the host: SLL2 carries the ifindex and the direction of every frame (converted to
# pcapng at the end). tcpdump rather than dumpcap: dumpcap loses the last buffer on SIGINT.
# Immediate mode makes every ring slot snaplen long, so the default snaplen (256 KiB) in the
# default 2 MiB buffer leaves ~8 slots: a burst (the packets an ARP reply releases) overflowed it
# and the kernel dropped frames. Hence -s 4096 -B 16384 on every capture.
start_bg tcpdump-host-any "$NS_HOST" tcpdump -Z root -i any -y LINUX_SLL2 -U --immediate-mode -n -s 4096 -B 16384 \
  --time-stamp-precision nano -w "$RAW/host-any.pcap"
start_bg nft-monitor-trace "$NS_HOST" stdbuf -oL nft -a monitor trace
FIRST_SIG[$!]=TERM
start_bg conntrack-events "$NS_HOST" stdbuf -oL conntrack -E -o timestamp,extended
FIRST_SIG[$!]=TERM
for n in host c1 peer; do
  for dev in ${DEVS[$n]} ; do
    wait_for 5 grep -q 'listening on' "$RAW/logs/tcpdump-$n-$dev.log" || die "tcpdump on $n/$dev did not start"
  done
done
wait_for 5 grep -q 'listening on' "$RAW/logs/tcpdump-host-any.log" || die "tcpdump -i any did not start"

# The kernel's own drop reasons: skb:kfree_skb, system-wide (the tracepoint has no netns field:
# events are matched to our packets by time, reason and location), IPv4 and ARP only.
if command -v perf >/dev/null 2>&1 && [ "${NO_PERF:-0}" != 1 ]; then
  "$PY" -c 'import time; print(time.clock_gettime_ns(time.CLOCK_REALTIME) - time.clock_gettime_ns(time.CLOCK_MONOTONIC))' >"$RAW/clock-offset-before"
  perf record --no-buffering -e skb:kfree_skb --filter 'protocol == 2048 || protocol == 2054' -a -k mono \
    -o "$RAW/perf.data" >"$RAW/logs/perf.log" 2>&1 &
  PERF_PID=$!
  sleep 1.5
  kill -0 "$PERF_PID" 2>/dev/null || { log "perf record did not start (see raw/logs/perf.log); drop reasons will be derived"; PERF_PID=""; }
else
  log "perf not available: drop reasons will be derived from the captures and the nft trace"
fi
sleep 0.5

# ---------------------------------------------------------------------------------------------
# Traffic: one flow at a time, each bounded in count and time.
RESULTS="$RAW/results.jsonl"
: >"$RESULTS"
flow() {  # flow <id> <from> <description> <cmd...>
  local id=$1 from=$2 desc=$3 ns rc=0 outp t0 t1; shift 3
  ns="${PFX}$from"
  log "flow $id: $desc"
  t0=$(date +%s.%N)
  outp=$(nsx "$ns" "$@" 2>&1) || rc=$?
  t1=$(date +%s.%N)
  "$PY" -c 'import json,sys; print(json.dumps({"flow":sys.argv[1],"from":sys.argv[2],"description":sys.argv[3],"rc":int(sys.argv[4]),"start":sys.argv[5],"end":sys.argv[6],"output":sys.argv[7]}))' \
    "$id" "$from" "$desc" "$rc" "$t0" "$t1" "$outp" >>"$RESULTS"
  sleep 0.3
}
flow F1 c1 "c1:40001 -> peer 198.51.100.1:7000 TCP exchange with close (egress masquerade)" \
  timeout 10 "$PY" -u "$TOOL" tcp-client 198.51.100.1 7000 40001 "c1 hello tcp/7000" --timeout 5
flow F2 c1 "c1:40002 -> peer 198.51.100.1:5353 UDP request/reply" \
  timeout 10 "$PY" -u "$TOOL" udp-client 198.51.100.1 5353 40002 "c1 hello udp/5353" --timeout 3
flow F3 c1 "c1 -> peer 198.51.100.1 ICMP echo x2" \
  timeout 10 ping -n -c 2 -i 0.2 -W 2 198.51.100.1
flow F4 peer "peer:40004 -> host 198.51.100.2:8080 TCP exchange (published port: DNAT to 172.17.0.2:80)" \
  timeout 10 "$PY" -u "$TOOL" tcp-client 198.51.100.2 8080 40004 "peer hello tcp/8080" --timeout 5
flow F5 peer "peer:40005 -> host 198.51.100.2:9999 TCP SYN (closed port: RST)" \
  timeout 10 "$PY" -u "$TOOL" tcp-client 198.51.100.2 9999 40005 "x" --timeout 3
flow F6 c1 "c1:40006 -> peer 198.51.100.1:25 TCP SYN, client gives up after 2.5 s (DOCKER-USER drop)" \
  timeout 10 "$PY" -u "$TOOL" tcp-client 198.51.100.1 25 40006 "x" --timeout 2.5
flow F7 c1 "c1 -> 198.51.100.99 ICMP echo x1 (nobody owns it: neighbour failure)" \
  timeout 10 ping -n -c 1 -W 6 198.51.100.99
sleep 1.2   # let the last frames reach every capture

# ---------------------------------------------------------------------------------------------
log "state after traffic"
nsx "$NS_HOST" conntrack -L -o extended >"$RAW/after-host-conntrack.txt" 2>"$RAW/logs/conntrack-L.log" || true
nsx "$NS_HOST" iptables-nft -L -v -n -x >"$RAW/after-host-iptables-L.txt" 2>&1 || true
nsx "$NS_HOST" iptables-nft -t nat -L -v -n -x >>"$RAW/after-host-iptables-L.txt" 2>&1 || true
nsx "$NS_HOST" iptables-nft -t raw -L -v -n -x >>"$RAW/after-host-iptables-L.txt" 2>&1 || true
nsx "$NS_HOST" iptables-nft-save -c >"$RAW/after-host-iptables-save-c.txt" 2>&1 || true
nsx "$NS_HOST" nft -a list ruleset >"$RAW/after-host-nft.txt" 2>&1 || true
for n in host c1 peer; do
  nsx "${PFX}$n" ip -j neigh show nud all >"$RAW/after-$n-neigh.json" 2>/dev/null || true
done
nsx "$NS_HOST" bridge -j fdb show >"$RAW/after-host-bridge-fdb.json" 2>/dev/null || true
nsx "$NS_HOST" nstat -asz >"$RAW/after-host-nstat.txt" 2>/dev/null || true

log "stopping recorders"
if [ -n "$PERF_PID" ]; then
  stop_pid "$PERF_PID"; PERF_PID=""
  "$PY" -c 'import time; print(time.clock_gettime_ns(time.CLOCK_REALTIME) - time.clock_gettime_ns(time.CLOCK_MONOTONIC))' >"$RAW/clock-offset-after"
  perf script -i "$RAW/perf.data" --ns -F time,cpu,trace >"$RAW/perf-script.txt" 2>>"$RAW/logs/perf.log" || true
  rm -f "$RAW/perf.data" "$RAW/perf.data.old"
fi
for pid in "${BG_PIDS[@]}"; do stop_pid "$pid"; done
BG_PIDS=()
for f in "$RAW"/logs/tcpdump-*.log; do
  grep -q 'packets captured' "$f" || die "$(basename "$f"): tcpdump did not exit cleanly"
  if grep -Eq '^[1-9][0-9]* packets dropped by kernel' "$f"; then die "$(basename "$f"): the kernel dropped frames; run again"; fi
done
cp "$RAW/logs/nft-monitor-trace.log" "$RAW/nft-trace.txt"
cp "$RAW/logs/conntrack-events.log" "$RAW/conntrack-events.txt"
editcap -F pcapng "$RAW/host-any.pcap" "$RAW/host-any.pcapng"
rm -f "$RAW/host-any.pcap"

# ---------------------------------------------------------------------------------------------
log "deriving inputs and truth"
# README.md (hand-written) is kept; the truth script rewrites its generated block.
if [ -f "$OUT/README.md" ]; then cp "$OUT/README.md" "$STAGE/README.md"; fi
"$PY" "$TRUTH" --raw "$RAW" --out "$STAGE" --prefix "$PFX"

mkdir -p "$OUT"
for f in snapshot.json ns world-full inputs truth.jsonl raw; do rm -rf "${OUT:?}/$f"; done
cp -a "$STAGE"/. "$OUT"/
