/**
 * The two small Python 3 programs `verify` runs inside the namespaces it made: the frame sender (in the
 * injector namespace) and the socket listeners (one per world namespace with sockets). They are
 * written to the work directory and run as `ip netns exec NS python3 FILE ARGS`, never via a shell.
 * Python is used because it is on every Debian/Ubuntu host and has AF_PACKET raw sockets built in.
 */

/**
 * Sender. argv: SPEC.json FRAMES.bin. SPEC = {"devs": [[netns|null, name]...], "topspeed": bool}.
 * FRAMES.bin = repeated records: u32 dev index, u64 offset from the first frame in ns, u32 length,
 * frame bytes (little-endian header). It prints "ready" once its sockets are bound, waits for one line
 * on stdin ("go"), then sends every frame at its offset (or back to back with topspeed) and prints one
 * line per frame: "INDEX BEFORE_NS AFTER_NS ERRNO" with CLOCK_MONOTONIC times around send().
 */
export const SENDER_PY = String.raw`
import json, os, socket, struct, sys, time

spec = json.load(open(sys.argv[1]))
data = open(sys.argv[2], 'rb').read()
frames = []
off = 0
while off < len(data):
    dev, at, n = struct.unpack_from('<IQI', data, off)
    off += 16
    frames.append((dev, at, data[off:off + n]))
    off += n

CLONE_NEWNET = 0x40000000
libc = None
home = os.open('/proc/self/ns/net', os.O_RDONLY)
socks = []
for netns, name in spec['devs']:
    if netns:
        # A veth inside the world: open the socket in its namespace (sockets keep the namespace they
        # were made in), then come back.
        if libc is None:
            import ctypes
            libc = ctypes.CDLL(None, use_errno=True)
        fd = os.open('/run/netns/' + netns, os.O_RDONLY)
        if libc.setns(fd, CLONE_NEWNET) != 0:
            raise OSError(ctypes.get_errno(), 'setns ' + netns)
        os.close(fd)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, 0)
    s.bind((name, 0))
    socks.append(s)
    if netns:
        libc.setns(home, CLONE_NEWNET)
print('ready', flush=True)
if sys.stdin.readline().strip() != 'go':
    sys.exit(0)

out = []
start = time.monotonic_ns()
for i, (dev, at, frame) in enumerate(frames):
    if not spec['topspeed']:
        due = start + at
        while True:
            left = due - time.monotonic_ns()
            if left <= 0:
                break
            # Sleep most of the wait, spin the last 0.2 ms: time.sleep overshoots by ~0.1 ms.
            time.sleep(left / 1e9 - 0.0002 if left > 300000 else 0)
    before = time.monotonic_ns()
    err = 0
    try:
        socks[dev].send(frame)
    except OSError as e:
        err = e.errno or -1
    after = time.monotonic_ns()
    out.append('%d %d %d %d' % (i, before, after, err))
sys.stdout.write('\n'.join(out) + ('\n' if out else ''))
sys.stdout.write('done\n')
sys.stdout.flush()
`;

/**
 * Listeners. argv: SPEC.json LOG. SPEC = {"tcp": [[addr, port(, v6only)]...], "udp": [...]}; an address
 * with a colon is IPv6 (AF_INET6, IPV6_V6ONLY as given; IPv4-mapped peers are logged as IPv4).
 * Binds every socket (TCP listen, UDP bind), prints "ready" (or "bindfail ADDR PORT ERRNO" lines
 * first), then logs what arrives as JSON lines: accepted TCP connections and UDP datagrams with the
 * local address they were sent to (IP_PKTINFO). Runs until killed.
 */
export const LISTENER_PY = String.raw`
import json, select, socket, sys, time

spec = json.load(open(sys.argv[1]))
log = open(sys.argv[2], 'a', buffering=1)
IP_PKTINFO = 8
IPV6_RECVPKTINFO = 49
IPV6_PKTINFO = 50
def unmap(a):
    return a[7:] if a.startswith('::ffff:') and '.' in a else a
socks = {}
for proto, items in (('tcp', spec.get('tcp', [])), ('udp', spec.get('udp', []))):
    for item in items:
        addr, port = item[0], item[1]
        v6 = ':' in addr
        s = socket.socket(socket.AF_INET6 if v6 else socket.AF_INET, socket.SOCK_STREAM if proto == 'tcp' else socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if v6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1 if len(item) > 2 and item[2] else 0)
        try:
            s.bind((addr, port))
        except OSError as e:
            print('bindfail %s %d %d' % (addr, port, e.errno), flush=True)
            continue
        if proto == 'tcp':
            s.listen(64)
        elif v6:
            s.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVPKTINFO, 1)
        else:
            s.setsockopt(socket.IPPROTO_IP, IP_PKTINFO, 1)
        s.setblocking(False)
        socks[s.fileno()] = (proto, s, addr, port)
print('ready', flush=True)
while True:
    r, _, _ = select.select([v[1] for v in socks.values()], [], [], 1.0)
    for s in r:
        proto, _, addr, port = socks[s.fileno()]
        t = time.monotonic_ns()
        try:
            if proto == 'tcp':
                c, peer = s.accept()
                log.write(json.dumps({'proto': 'tcp', 'sock': '%s:%d' % (addr, port), 'src': unmap(peer[0]), 'sport': peer[1], 't': t}) + '\n')
                c.close()
            else:
                data, anc, _, peer = s.recvmsg(65535, 256)
                dst = ''
                for lvl, typ, val in anc:
                    if lvl == socket.IPPROTO_IP and typ == IP_PKTINFO and len(val) >= 12:
                        dst = socket.inet_ntoa(val[8:12])
                    elif lvl == socket.IPPROTO_IPV6 and typ == IPV6_PKTINFO and len(val) >= 16:
                        dst = unmap(socket.inet_ntop(socket.AF_INET6, val[:16]))
                log.write(json.dumps({'proto': 'udp', 'sock': '%s:%d' % (addr, port), 'src': unmap(peer[0]), 'sport': peer[1], 'dst': dst, 'dport': port, 'len': len(data), 't': t}) + '\n')
        except OSError:
            pass
`;
