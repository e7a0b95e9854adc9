/**
 * Root qdiscs written as `tc qdisc add dev DEV root ...` takes them, and tc's units (tc/tc_util.c
 * get_rate64, get_size, get_time), so a user can paste what `tc qdisc show` prints:
 *
 *   noqueue | pfifo_fast | pfifo [limit N] | bfifo [limit SIZE] | mq
 *   fq_codel [limit N] [flows N] [quantum SIZE] [target TIME] [interval TIME] [memory_limit SIZE]
 *            [drop_batch N] [ecn | noecn]
 *   tbf rate RATE (burst | buffer | maxburst) SIZE (latency TIME | limit SIZE)
 *
 * `mq` gives each tx queue a child of net.core.default_qdisc (sch_mq.c mq_init → qdisc_create_dflt).
 */
import type { QdiscPacket, Qdisc } from './qdisc.js';
import { PfifoFast, Pfifo } from './sch_fifo.js';
import { FqCodel, type FqCodelOptions } from './sch_fq_codel.js';
import { Tbf } from './sch_tbf.js';
import { Mq } from './sch_mq.js';

/** A bad spec: the message names the word and what tc would accept. */
export class TcSpecError extends Error {}

// tc_util.c suffixes: rates in bits (…bit) or bytes (…bps) per second, SI or IEC, case-insensitive.
const RATE_SUFFIX: Record<string, number> = {
  bit: 1, kibit: 1024, kbit: 1000, mibit: 1024 ** 2, mbit: 1e6, gibit: 1024 ** 3, gbit: 1e9, tibit: 1024 ** 4, tbit: 1e12,
  bps: 8, kibps: 8 * 1024, kbps: 8e3, mibps: 8 * 1024 ** 2, mbps: 8e6, gibps: 8 * 1024 ** 3, gbps: 8e9, tibps: 8 * 1024 ** 4, tbps: 8e12,
};

function numberAndSuffix(s: string): [number, string] | null {
  const m = /^([0-9]+(?:\.[0-9]*)?|\.[0-9]+)([A-Za-z]*)$/.exec(s.trim());
  return m ? [Number(m[1]), m[2].toLowerCase()] : null;
}

/** tc rate → bytes per second (get_rate64: a bare number is bits per second). */
export function parseRate(s: string): number {
  const m = numberAndSuffix(s);
  const scale = m ? (m[1] === '' ? 1 : RATE_SUFFIX[m[1]]) : undefined;
  if (!m || scale === undefined || !(m[0] > 0)) throw new TcSpecError(`"${s}" is not a rate (tc units: 100mbit, 1gbit, 10gbit, 125mbps...)`);
  return (m[0] * scale) / 8;
}

/** bits/s the way tc prints rates. */
export function formatRate(bits: number): string {
  if (bits >= 1e9 && bits % 1e9 === 0) return `${bits / 1e9}Gbit`;
  if (bits >= 1e6 && bits % 1e6 === 0) return `${bits / 1e6}Mbit`;
  if (bits >= 1e3 && bits % 1e3 === 0) return `${bits / 1e3}Kbit`;
  return `${bits}bit`;
}

/** tc size → bytes (get_size: a bare number is bytes; k/kb = 1024, m/mb, g/gb, kbit/mbit/gbit). */
export function parseSize(s: string): number {
  const m = numberAndSuffix(s);
  const scale = !m ? undefined : ({ '': 1, b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, kbit: 1024 / 8, mbit: 1024 ** 2 / 8, gbit: 1024 ** 3 / 8 } as Record<string, number>)[m[1]];
  if (!m || scale === undefined) throw new TcSpecError(`"${s}" is not a size (tc units: 1514, 32kb, 1mb, 64kbit)`);
  return Math.floor(m[0] * scale);
}

/** tc time → seconds (get_time: a bare number is microseconds). */
export function parseTime(s: string): number {
  const m = numberAndSuffix(s);
  const scale = !m ? undefined : ({ '': 1e-6, s: 1, sec: 1, secs: 1, ms: 1e-3, msec: 1e-3, msecs: 1e-3, us: 1e-6, usec: 1e-6, usecs: 1e-6 } as Record<string, number>)[m[1]];
  if (!m || scale === undefined) throw new TcSpecError(`"${s}" is not a time (tc units: 5ms, 100ms, 1s, 500us)`);
  return m[0] * scale;
}

/** What a qdisc is built for: the device's tx queue length, MTU and tx queue count. */
export interface QdiscDevice {
  txqlen: number;
  mtu: number;
  numTxQueues: number;
  /** net.core.default_qdisc (children of mq). */
  defaultQdisc: string;
}

/**
 * Build the root qdisc a spec describes; null for noqueue (the device transmits at once). Throws
 * TcSpecError naming the word tc would refuse, or the construct the model does not have.
 */
export function makeQdisc<P extends QdiscPacket>(spec: string, dev: QdiscDevice): Qdisc<P> | null {
  const w = spec.trim().split(/\s+/);
  const kind = w[0] ?? '';
  const args = w.slice(1);
  const val = (i: number): string => {
    if (i >= args.length) throw new TcSpecError(`${kind}: "${args[i - 1]}" needs a value`);
    return args[i];
  };
  const count = (s: string, what: string): number => {
    if (!/^[0-9]+$/.test(s)) throw new TcSpecError(`${kind}: ${what} "${s}" is not a whole number`);
    return Number(s);
  };
  const none = (): void => {
    if (args.length) throw new TcSpecError(`${kind}: takes no options here (got "${args.join(' ')}")`);
  };
  switch (kind) {
    case 'noqueue':
      none();
      return null;
    case 'pfifo_fast':
      none();
      return new PfifoFast<P>(dev.txqlen);
    case 'pfifo':
    case 'bfifo': {
      // fifo_init() without options: limit = tx_queue_len packets, or tx_queue_len × MTU bytes.
      let limit = kind === 'pfifo' ? dev.txqlen : dev.txqlen * dev.mtu;
      for (let i = 0; i < args.length; i++) {
        if (args[i] === 'limit') limit = kind === 'pfifo' ? count(val(++i), 'limit') : parseSize(val(++i));
        else throw new TcSpecError(`${kind}: unknown option "${args[i]}" (have: limit)`);
      }
      return new Pfifo<P>(limit, kind === 'bfifo');
    }
    case 'fq_codel': {
      const o: FqCodelOptions = { mtu: dev.mtu + 14 };
      for (let i = 0; i < args.length; i++) {
        const a = args[i];
        if (a === 'limit') o.limit = count(val(++i), 'limit');
        else if (a === 'flows') o.flows = count(val(++i), 'flows');
        else if (a === 'quantum') o.quantum = parseSize(val(++i));
        else if (a === 'target') o.target = parseTime(val(++i)) * 1e9;
        else if (a === 'interval') o.interval = parseTime(val(++i)) * 1e9;
        else if (a === 'memory_limit') o.memoryLimit = parseSize(val(++i));
        else if (a === 'drop_batch') o.dropBatch = count(val(++i), 'drop_batch');
        else if (a === 'ecn') o.ecn = true;
        else if (a === 'noecn') o.ecn = false;
        else throw new TcSpecError(`fq_codel: option "${a}" is not modelled (have: limit, flows, quantum, target, interval, memory_limit, drop_batch, ecn, noecn)`);
      }
      return new FqCodel<P>(o);
    }
    case 'tbf': {
      let rate = 0, burst = 0, limit: number | undefined, latency: number | undefined;
      for (let i = 0; i < args.length; i++) {
        const a = args[i];
        if (a === 'rate') rate = parseRate(val(++i));
        else if (a === 'burst' || a === 'buffer' || a === 'maxburst') burst = parseSize(val(++i));
        else if (a === 'limit') limit = parseSize(val(++i));
        else if (a === 'latency') latency = parseTime(val(++i));
        else throw new TcSpecError(`tbf: option "${a}" is not modelled (have: rate, burst, limit, latency; peakrate and mtu are not)`);
      }
      if (!rate) throw new TcSpecError('tbf: needs rate (e.g. tbf rate 100mbit burst 32kb latency 50ms)');
      if (!burst) throw new TcSpecError('tbf: needs burst (e.g. burst 32kb)');
      if (limit === undefined && latency === undefined) throw new TcSpecError('tbf: needs latency or limit (tc refuses it otherwise)');
      return new Tbf<P>({ rate, burst, ...(limit !== undefined ? { limit } : {}), ...(latency !== undefined ? { latency } : {}) });
    }
    case 'mq': {
      none();
      if (dev.defaultQdisc === 'mq') throw new TcSpecError('mq: net.core.default_qdisc cannot be mq');
      const children: Qdisc<P>[] = [];
      for (let q = 0; q < Math.max(1, dev.numTxQueues); q++) {
        const c = makeQdisc<P>(dev.defaultQdisc, dev);
        if (c === null) return null; // default noqueue: every queue transmits at once
        children.push(c);
      }
      return new Mq<P>(children);
    }
    default:
      throw new TcSpecError(`qdisc "${kind}" is not modelled (have: noqueue, pfifo_fast, pfifo, bfifo, fq_codel, tbf, mq)`);
  }
}
