/**
 * `pktpath explain`: replay, then tell one packet's (or one flow's) story in plain words.
 */
import { Command } from 'commander';
import { action } from './run.js';
import { UsageError } from '../errors.js';
import { loadWorld } from '../stack/world_load.js';
import { parseInputArg, runReplay } from '../workers/replay.js';
import { toTraceRecord, type TraceRecord } from '../trace/schema.js';
import { explainQueueDrop, explainRecord, matchesFlow, parseFlow } from '../trace/explain.js';
import { addQueueOptions, queueModelFrom, type QueueOpts } from './queue_opts.js';

/** Register the command. */
export function register(program: Command): void {
  const cmd = program
    .command('explain')
    .description('replay captures and explain one packet or one flow step by step, with what to change if it died')
    .argument('<capture...>', 'capture files as FILE@NS:DEV (see `pktpath replay --help`)')
    .requiredOption('-w, --world <dir|lab>', 'snapshot directory or lab file')
    .option('-p, --packet <n>', 'the packet with this index (as the trace numbers them, from 0)')
    .option('--flow <flow>', 'every packet of a flow, both directions: "tcp A:p > B:q", "udp ...", "icmp A > B"')
    .option('--allow-unsupported', 'turn refusals of unmodellable rules into warnings')
    .option('--no-checksums', 'do not verify checksums');
  addQueueOptions(cmd)
    .addHelpText('after', `
Examples:
  pktpath explain --world captures/oracle-docker-egress/world captures/oracle-docker-egress/inputs/*.pcap@host:... --packet 18
  pktpath explain --world ./snap in.pcap@host:eth0 --flow "tcp 198.51.100.1:5555 > 198.51.100.2:8080"
  pktpath explain --world ./snap in.pcap@host:eth0 --packet 1234 --speed 10      # would a queue drop it at 10x?

With any queue-model option (see \`pktpath replay --help\`), the story ends with what the rx rings,
backlogs and egress qdiscs would have done to the packet.`)
    .action(action(async (captures: string[], o: QueueOpts & { world: string; packet?: string; flow?: string; allowUnsupported?: boolean; checksums: boolean }) => {
      if ((o.packet === undefined) === (o.flow === undefined)) throw new UsageError('give exactly one of --packet N and --flow "proto A:p > B:q"');
      const idx = o.packet !== undefined ? Number(o.packet) : -1;
      if (o.packet !== undefined && (!Number.isInteger(idx) || idx < 0)) throw new UsageError(`--packet ${o.packet}: expected a packet index (0, 1, ...)`);
      const flow = o.flow !== undefined ? parseFlow(o.flow) : null;
      if (o.flow !== undefined && !flow) throw new UsageError(`--flow "${o.flow}": expected "tcp A:p > B:q", "udp A:p > B:q" or "icmp A > B"`);
      const world = loadWorld(o.world, { allowUnsupported: Boolean(o.allowUnsupported) });
      const qm = queueModelFrom(world, o.world, o);
      const picked: TraceRecord[] = [];
      const stats = runReplay(world, captures.map(parseInputArg), {
        datapath: { verifyChecksums: o.checksums, trace: true, allowUnsupported: Boolean(o.allowUnsupported), seed: 1 },
        limit: 0,
        ...(qm ? { queueModel: qm } : {}),
        onRecord: (r) => {
          if (flow ? true : r.index === idx) {
            const tr = toTraceRecord(r);
            if (!flow || matchesFlow(tr, flow)) picked.push(tr);
          }
        },
      });
      if (picked.length === 0) {
        throw new UsageError(flow ? `no packet of flow "${o.flow}" among the ${stats.packets} replayed` : `--packet ${idx}: the input has ${stats.packets} packets (0..${stats.packets - 1})`);
      }
      if (!qm) {
        process.stdout.write(picked.map(explainRecord).join('\n'));
        return;
      }
      await qm.run();
      const rings = new Map(qm.queues.map((q) => [q.name, q.ring ?? null]));
      const byIndex = new Map<number, typeof qm.drops>();
      for (const d of qm.drops) byIndex.set(d.index, [...(byIndex.get(d.index) ?? []), d]);
      process.stdout.write(picked.map((r) => {
        const drops = byIndex.get(r.index) ?? [];
        const q = drops.length ? drops.map((d) => explainQueueDrop(d, (n) => rings.get(n) ?? null)).join('') : '  Queue model: no rx ring, backlog or egress qdisc dropped it.\n';
        return explainRecord(r) + q;
      }).join('\n'));
    }));
}
