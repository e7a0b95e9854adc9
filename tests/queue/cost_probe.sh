#!/usr/bin/env bash
# Calibrate the defaults of src/workers/cost.ts on this machine's kernel (needs root, gcc, nft, ip).
#
# Two namespaces ppq-a → ppq-b joined by a veth (198.51.100.1 → .2). cost_probe.c sends K crafted
# 60-byte UDP frames with AF_PACKET on ppq-a's veth and prints the CPU time of its own thread per
# packet: the veth's receive runs in that thread (veth_xmit → netif_rx → softirq on local_bh_enable),
# so it is the tx cost plus the whole receive path in ppq-b, ending at a UDP socket that is never read
# (the buffer fills, later packets are dropped at the socket: the same cost in every run).
# The tx-only part is measured on a second veth whose peer is down, and subtracted.
# Each configuration runs R times, each in fresh namespaces; the median is printed, then each term.
# Nothing touches the root namespace; the namespaces are deleted on exit.
set -euo pipefail
K=${K:-200000}
R=${R:-5}
N_RULES=${N_RULES:-1000}
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/ppq-probe.XXXXXX)
sink=""
cleanup() {
  # Sinks are started inside $(run ...) subshells: their PIDs are listed in a file.
  [ -f "$work/sinks" ] && while read -r p; do kill "$p" 2>/dev/null || true; done <"$work/sinks"
  ip netns del ppq-a 2>/dev/null || true
  ip netns del ppq-b 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT INT TERM
gcc -O2 -o "$work/send" "$here/cost_probe.c"
# The interpreter itself, not a wrapper (pyenv shims fork, and the child would outlive `kill`).
py=$(python3 -c 'import sys; print(sys.executable)')

setup() {
  [ -n "$sink" ] && kill "$sink" 2>/dev/null || true
  sink=""
  ip netns del ppq-a 2>/dev/null || true
  ip netns del ppq-b 2>/dev/null || true
  ip netns add ppq-a
  ip netns add ppq-b
  ip -n ppq-a link add ppq-va type veth peer name ppq-vb netns ppq-b
  # tx-only baseline: a veth whose peer is down (veth_xmit → __dev_forward_skb drops it at once).
  ip -n ppq-a link add ppq-vt type veth peer name ppq-vt2
  ip -n ppq-a addr add 198.51.100.1/24 dev ppq-va
  ip -n ppq-b addr add 198.51.100.2/24 dev ppq-vb
  for l in lo ppq-va ppq-vt; do ip -n ppq-a link set "$l" up; done
  for l in lo ppq-vb; do ip -n ppq-b link set "$l" up; done
  ip netns exec ppq-b "$py" -c '
import socket, time
ss = []
for p in (9, 10):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", p)); ss.append(s)
time.sleep(600)' >/dev/null 2>&1 </dev/null &
  sink=$!
  echo "$sink" >>"$work/sinks"
  sleep 0.3
}

# run NAME DEV NEWFLOWS [nft ruleset text [shell command run in ppq-b]]
run() {
  local name=$1 dev=$2 newflows=$3 ruleset=${4:-} extra=${5:-} vals=()
  for _ in $(seq "$R"); do
    setup
    [ -n "$ruleset" ] && printf '%s\n' "$ruleset" | ip netns exec ppq-b nft -f -
    [ -n "$extra" ] && ip netns exec ppq-b sh -c "$extra"
    local smac dmac
    smac=$(ip netns exec ppq-a cat "/sys/class/net/$dev/address")
    dmac=$(ip netns exec ppq-b cat /sys/class/net/ppq-vb/address)
    vals+=("$(ip netns exec ppq-a taskset -c 1 "$work/send" "$dev" "$smac" "$dmac" 198.51.100.2 9 "$K" "$newflows")")
  done
  kill "$sink" 2>/dev/null || true
  sink=""
  local med
  med=$(printf '%s\n' "${vals[@]}" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  echo "$name $med (runs: ${vals[*]})" >&2
  echo "$med"
}

rules() { # N non-matching rules, then the given tail
  local i
  for ((i = 0; i < $1; i++)); do echo "ip saddr 192.0.2.$((i % 250 + 1)) drop"; done
}

tx=$(run tx ppq-vt 0)
base=$(run base ppq-va 0)
filter() { # an input chain with the given rules
  printf 'table inet t {\n chain input {\n  type filter hook input priority 0; policy accept;\n%s\n }\n}\n' "$1"
}
hook=$(run hook ppq-va 0 "$(filter '')")
many=$(run rules ppq-va 0 "$(filter "$(rules "$N_RULES")")")
ct=$(filter 'ct state invalid drop')
cthit=$(run ct-hit ppq-va 0 "$ct")
ctnew=$(run ct-new ppq-va 1 "$ct")
nat=$(run nat ppq-va 0 "$ct
table ip n {
 chain pre {
  type nat hook prerouting priority -100;
  udp dport 9 dnat to 198.51.100.2:10
 }
}")

# RPS to CPU 0 while the sender runs on CPU 1: its thread only steers (get_rps_cpu, enqueue_to_backlog).
rps=$(run rps ppq-va 0 '' 'echo 1 > /sys/class/net/ppq-vb/queues/rx-0/rps_cpus')

awk -v rps="$rps" -v tx="$tx" -v base="$base" -v hook="$hook" -v many="$many" -v n="$N_RULES" -v cthit="$cthit" -v ctnew="$ctnew" -v nat="$nat" 'BEGIN {
  perRule = (many - hook) / n
  printf "{\"base\": %.0f, \"perHook\": %.0f, \"perRule\": %.1f, \"ctLookup\": %.0f, \"ctInsert\": %.0f, \"nat\": %.0f, \"rpsEnqueue\": %.0f}\n",
    base - tx, hook - base, perRule, cthit - hook - perRule, ctnew - cthit, nat - cthit, rps - tx
}'
