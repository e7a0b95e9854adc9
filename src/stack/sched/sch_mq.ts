/**
 * mq (net/sched/sch_mq.c): the root of a multiqueue device, one child qdisc per tx queue. A packet
 * goes to the queue skb_tx_hash() picks (reciprocal_scale(hash, real_num_tx_queues); no XPS in the
 * model); the NIC serves its queues in turn, modelled as round-robin dequeue over the children.
 * Counters are the sum of the children's, as `tc -s qdisc show` prints them for mq.
 */
import { DR, type DropReason } from '../drop_reason.js';
import { QdiscBase, type Qdisc, type QdiscPacket } from './qdisc.js';

export class Mq<P extends QdiscPacket = QdiscPacket> extends QdiscBase<P> {
  readonly kind = 'mq';
  private next = 0;

  constructor(readonly children: Qdisc<P>[]) {
    super();
    if (children.length === 0) throw new RangeError('mq needs at least one tx queue');
    for (const c of children) {
      // A child dropping a queued packet (fq_codel batch drop, CoDel) shrinks the root's backlog too.
      c.onDrop = (pkt, reason, now) => {
        this.removed(pkt.len);
        this.dropQueued(pkt, reason, now);
      };
    }
  }

  /** skb_tx_hash(): reciprocal_scale(hash, n). */
  txQueue(hash: number): number {
    return Math.floor(((hash >>> 0) * this.children.length) / 2 ** 32);
  }

  enqueue(pkt: P, now: number): DropReason {
    const r = this.children[this.txQueue(pkt.hash)].enqueue(pkt, now);
    if (r === DR.NONE) this.added(pkt.len);
    else this.stats.dropped++;
    return r;
  }

  dequeue(now: number): P | null {
    const n = this.children.length;
    for (let k = 0; k < n; k++) {
      const c = this.children[(this.next + k) % n];
      if (c.qlen === 0) continue;
      const pkt = c.dequeue(now);
      if (pkt === null) continue; // throttled child (tbf): try the next queue
      this.next = (this.next + k + 1) % n;
      this.removed(pkt.len);
      this.sentOne(pkt.len);
      return pkt;
    }
    return null;
  }

  override nextReady(): number {
    let t = Infinity;
    for (const c of this.children) if (c.qlen > 0) t = Math.min(t, c.nextReady());
    return t;
  }
}
