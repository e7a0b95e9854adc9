/**
 * What the capture readers hand out: one reused packet object and the interfaces it refers to.
 */

/** One capture interface: classic pcap has one (id 0), pcapng one per IDB across all sections. */
export interface CaptureInterface {
  id: number;
  name: string | null;
  description: string | null;
  linktype: number;
  /** 0 means no limit. */
  snaplen: number;
  /** Nanoseconds per timestamp tick: 1000 for µs, 1 for ns, 976562.5 for if_tsresol 2^-10. */
  tsresolNs: number;
  /** if_tsoffset, already added to every packet's tsSec. */
  tsoffsetSec: number;
  /** 0-based pcapng section the interface belongs to. */
  section: number;
}

const EMPTY = new Uint8Array(0);
const EMPTY_DV = new DataView(EMPTY.buffer);

/**
 * The packet last returned by CaptureReader.next(). One object is reused for every packet and all its
 * fields are assigned here, so every packet shares one hidden class. Copy what you keep.
 */
export class CapturedPacket {
  /** 0-based packet number in this file. */
  index = 0;
  /** Captured bytes: a view over the read buffer (never a copy), valid until the next next(). */
  data: Uint8Array = EMPTY;
  /** The whole read buffer; the packet is buf[off, off + caplen). Lets hot paths skip `data`. */
  buf: Uint8Array = EMPTY;
  /** DataView over `buf` (one per buffer, not per packet). */
  dv: DataView = EMPTY_DV;
  /** Offset of the packet's first byte in buf/dv. */
  off = 0;
  caplen = 0;
  origLen = 0;
  /** Integer seconds since the epoch (if_tsoffset applied). */
  tsSec = 0;
  /** Nanoseconds within the second, 0..999999999. */
  tsNsec = 0;
  /** LINKTYPE_* of the packet's interface. */
  linktype = 0;
  /** Index into reader.interfaces for pcapng; -1 for classic pcap. */
  ifaceId = -1;
  /** 0 unknown, 1 inbound, 2 outbound (pcapng epb_flags bits 0-1). */
  direction = 0;
  /** caplen < origLen (cut by the snaplen). */
  truncated = false;
  /** Byte offset of the packet's record (pcap) or block (pcapng) in the file. */
  fileOffset = 0;
}

/** Decimal seconds with 9 fractional digits, as tshark prints frame.time_epoch: "1795815899.342449009". */
export function formatTs(sec: number, nsec: number): string {
  if (sec < 0 && nsec > 0) {
    // -1 s + 0.25 s is -0.75 s: borrow a second so the digits read as one signed decimal.
    return `-${-(sec + 1)}.${String(1e9 - nsec).padStart(9, '0')}`;
  }
  return `${sec}.${String(nsec).padStart(9, '0')}`;
}

/**
 * Merging several captures: the index of the head packet with the earliest timestamp (ties: the
 * lowest index, so command-line order, then file order); -1 when every input is done.
 */
export function earliestHead(heads: ReadonlyArray<CapturedPacket | null>): number {
  let best = -1;
  for (let k = 0; k < heads.length; k++) {
    const h = heads[k];
    if (!h) continue;
    if (best < 0) best = k;
    else {
      const b = heads[best]!;
      if (h.tsSec < b.tsSec || (h.tsSec === b.tsSec && h.tsNsec < b.tsNsec)) best = k;
    }
  }
  return best;
}
