#!/usr/bin/env bash
# Which drop reason does the running kernel give a qdisc overflow? (needs root, gcc, tc, perf)
# Namespaces ppq-a → ppq-b over a veth (198.51.100.0/24); on ppq-a's veth a tbf root (rate 1mbit,
# limit 3000 bytes) alone, or with a pfifo_fast (txqueuelen 10) or pfifo (limit 5) child; a 2000-frame
# burst from cost_probe.c; `perf record -e skb:kfree_skb -a` counts the reasons. Deleted on exit.
# Linux 6.18.44 printed: tbf (bfifo child) QDISC_DROP, pfifo_fast QDISC_OVERLIMIT, pfifo QDISC_DROP.
set -u
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/ppq-qr.XXXXXX)
cleanup() { ip netns del ppq-a 2>/dev/null; ip netns del ppq-b 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT INT TERM
gcc -O2 -o "$work/send" "$here/cost_probe.c" || exit 1
for kind in tbf pfifo_fast pfifo; do
  ip netns del ppq-a 2>/dev/null; ip netns del ppq-b 2>/dev/null
  ip netns add ppq-a; ip netns add ppq-b
  ip -n ppq-a link add ppq-va type veth peer name ppq-vb netns ppq-b
  ip -n ppq-a addr add 198.51.100.1/24 dev ppq-va
  ip -n ppq-b addr add 198.51.100.2/24 dev ppq-vb
  ip -n ppq-a link set ppq-va up txqueuelen 10
  ip -n ppq-b link set ppq-vb up
  ip netns exec ppq-a tc qdisc add dev ppq-va root handle 1: tbf rate 1mbit burst 1600 limit 3000
  case $kind in
    pfifo_fast) ip netns exec ppq-a tc qdisc add dev ppq-va parent 1:1 handle 10: pfifo_fast ;;
    pfifo) ip netns exec ppq-a tc qdisc add dev ppq-va parent 1:1 handle 10: pfifo limit 5 ;;
  esac
  perf record -q -o "$work/$kind.data" -e skb:kfree_skb -a -- sleep 1.5 >/dev/null 2>&1 &
  pp=$!
  sleep 0.5
  ip netns exec ppq-a "$work/send" ppq-va "$(ip netns exec ppq-a cat /sys/class/net/ppq-va/address)" \
    "$(ip netns exec ppq-b cat /sys/class/net/ppq-vb/address)" 198.51.100.2 9 2000 0 >/dev/null 2>&1
  wait "$pp"
  echo "== $kind: $(perf script -i "$work/$kind.data" 2>/dev/null | grep -o 'reason: QDISC_[A-Z_]*' | sort | uniq -c | tr -s ' ' | paste -sd,)"
done
