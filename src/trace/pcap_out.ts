/**
 * `--pcap-out DIR`: one pcapng per device that packets crossed (`<ns>-<dev>.pcapng`), holding the
 * frames as they were on that device — after NAT where NAT happened — with the direction flag set,
 * so that each file opens in Wireshark like a capture taken there.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { PcapngWriter } from '../pcap/writer.js';
import type { NetDevice } from '../stack/netdev.js';

/** Device taps → pcapng files. */
export class PcapOut {
  private writers = new Map<NetDevice, { w: PcapngWriter; id: number }>();
  constructor(readonly dir: string) {
    mkdirSync(dir, { recursive: true });
  }

  /** A frame seen on dev at time t (seconds), inbound (1) or outbound (2). */
  tap(dev: NetDevice, dir: 1 | 2, t: number, frame: Uint8Array, len: number): void {
    let e = this.writers.get(dev);
    if (!e) {
      const w = new PcapngWriter(join(this.dir, `${safe(dev.ns.name)}-${safe(dev.name)}.pcapng`), { application: 'pktpath replay' });
      e = { w, id: w.addInterface(dev.name, 1, { description: `${dev.ns.name}:${dev.name} (modelled by pktpath)` }) };
      this.writers.set(dev, e);
    }
    const sec = Math.floor(t);
    const nsec = Math.min(999999999, Math.round((t - sec) * 1e9));
    e.w.write(e.id, sec, nsec, frame.subarray(0, len), { origLen: len, direction: dir });
  }

  /** Complete every file. */
  close(): void {
    for (const { w } of this.writers.values()) w.close();
  }

  /** Interrupted: leave `.partial` files. */
  abort(): void {
    for (const { w } of this.writers.values()) w.abort();
  }
}

function safe(s: string): string {
  return s.replace(/[^A-Za-z0-9_.@-]/g, '_');
}
