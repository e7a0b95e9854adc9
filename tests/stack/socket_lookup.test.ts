// Socket lookup on a busy host's table (tens of thousands of connections, as `ss -tuanp` lists them):
// the established 4-tuple first, then the most specific listener, per protocol and port — the same
// answers whatever else the table holds, found through the per-port index (socket.ts socketsOnPort).
import { describe, expect, it } from 'vitest';
import { lookupSock4, parseSs } from '../../src/stack/socket.js';
import { parseIpv4 } from '../../src/stack/inet.js';

describe('socket lookup on a large table', () => {
  const lines = [
    'tcp LISTEN 0 4096 0.0.0.0:443 0.0.0.0:* users:(("nginx",pid=10,fd=6))',
    'tcp LISTEN 0 4096 192.0.2.2:443 0.0.0.0:* users:(("envoy",pid=11,fd=6))',
    'udp UNCONN 0 0 0.0.0.0:443 0.0.0.0:* users:(("quic",pid=12,fd=7))',
    'tcp LISTEN 0 4096 0.0.0.0:8080 0.0.0.0:*',
  ];
  for (let i = 0; i < 30_000; i++) lines.push(`tcp ESTAB 0 0 192.0.2.2:443 198.51.${100 + (i >> 14)}.${(i >> 6) & 255}:${20000 + (i & 63)}`);
  const { socks, bad } = parseSs(lines.join('\n'));
  const host = parseIpv4('192.0.2.2'), other = parseIpv4('192.0.2.3');
  const name = (s: ReturnType<typeof lookupSock4>) => (s ? s.text || s.name() : null);

  it('reads the whole table', () => {
    expect(bad).toEqual([]);
    expect(socks.length).toBe(30_004);
  });

  it('finds the established connection, else the best listener, per protocol and port', () => {
    const peer = parseIpv4('198.51.101.7');
    // i = 16384 + 7 * 64 + 5 → 198.51.101.7:20005
    expect(name(lookupSock4(socks, 'tcp', peer, 20005, host, 443))).toContain('ESTAB');
    expect(lookupSock4(socks, 'tcp', peer, 20005, host, 443)!.peerPort).toBe(20005);
    // Same peer, unknown port: the listener bound to the address beats the wildcard one.
    expect(name(lookupSock4(socks, 'tcp', peer, 40000, host, 443))).toContain('envoy');
    // Another local address: only the wildcard listener takes it.
    expect(name(lookupSock4(socks, 'tcp', peer, 40000, other, 443))).toContain('nginx');
    // UDP on the same port is a different socket; a port nobody holds has none.
    expect(name(lookupSock4(socks, 'udp', peer, 20005, host, 443))).toContain('quic');
    expect(lookupSock4(socks, 'tcp', peer, 20005, host, 444)).toBeNull();
    expect(name(lookupSock4(socks, 'tcp', peer, 20005, host, 8080))).toContain('8080');
  });

  it('sees sockets added after a lookup', () => {
    const list = parseSs(lines.slice(0, 1).join('\n')).socks;
    expect(lookupSock4(list, 'tcp', 1, 1, host, 22)).toBeNull();
    list.push(...parseSs('tcp LISTEN 0 128 0.0.0.0:22 0.0.0.0:*').socks);
    expect(lookupSock4(list, 'tcp', 1, 1, host, 22)).not.toBeNull();
  });
});
