/**
 * `pktpath replay`: the main job. Loads a world, replays captures through the datapath and writes the
 * trace and a summary.
 */
import { writeFileSync } from 'node:fs';
import { Command, Option } from 'commander';
import { action } from './run.js';
import { UsageError } from '../errors.js';
import { loadWorld } from '../stack/world_load.js';
import { parseInputArg, runReplay } from '../workers/replay.js';
import { toTraceRecord } from '../trace/schema.js';
import { TraceWriter, type TraceFormat } from '../trace/writer.js';
import { Summary } from '../trace/summary.js';
import { queueModelText } from '../workers/queue_model.js';
import { addQueueOptions, queueModelFrom, type QueueOpts } from './queue_opts.js';
import { compileFilter, describeFilter } from '../trace/filter.js';
import { PcapOut } from '../trace/pcap_out.js';
import { HtmlReport } from '../trace/report_html.js';
import { Consistency } from '../trace/consistency.js';
import { basename } from 'node:path';
import { statSync } from 'node:fs';
import cliProgress from 'cli-progress';

function fileSize(p: string): number {
  try {
    return statSync(p).size;
  } catch {
    return 0;
  }
}
import { conntrackJson } from '../trace/conntrack_dump.js';
import type { Datapath } from '../stack/datapath.js';
import { renameSync } from 'node:fs';

/** commander parser for a capture time in epoch seconds. */
export function parseTime(v: string): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`--at-time ${v}: expected seconds since the epoch, as the trace's ts field prints them`);
  return n;
}

/** Write a whole file under a temporary name, then rename it into place. */
export function writeFileAtomic(path: string, data: string): void {
  if (path === '-') {
    process.stdout.write(data);
    return;
  }
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, path);
}

interface ReplayOpts extends QueueOpts {
  world: string;
  trace?: string;
  format: TraceFormat;
  summary?: string;
  allowUnsupported?: boolean;
  checksums: boolean;
  count?: number;
  quiet?: boolean;
  conntrack?: string;
  pcapOut?: string;
  report?: string;
  filter?: string;
  atTime?: number;
  queueDrops?: string;
}

/** Register the command. */
export function register(program: Command): void {
  const cmd = program
    .command('replay')
    .description('replay captures through the world and report each packet\'s path and fate')
    .argument('<capture...>', 'capture files (pcap/pcapng, - for stdin), each as FILE@NS:DEV: injected as received on device DEV of namespace NS')
    .requiredOption('-w, --world <dir|lab>', 'snapshot directory (pktpath snapshot) or lab file (.yaml/.json)')
    .option('-t, --trace <file>', 'write one record per packet (- for stdout)')
    .addOption(new Option('-f, --format <fmt>', 'trace format').choices(['jsonl', 'msgpack', 'text']).default('jsonl'))
    .option('--filter <expr>', 'report only packets a tcpdump filter expression selects (all are still replayed, so state stays right)')
    .option('--summary <file>', 'write the summary as JSON')
    .option('--allow-unsupported', 'turn refusals of unmodellable rules/devices into warnings (listed in every report)')
    .option('--no-checksums', 'do not verify checksums (captures taken with checksum offload)')
    .option('-c, --count <n>', 'stop after n packets', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n <= 0) throw new UsageError(`--count ${v}: expected a positive integer`);
      return n;
    })
    .option('--report <file.html>', 'write a self-contained HTML report: path diagram, drops, NAT, conntrack, devices, flows')
    .option('--pcap-out <dir>', 'write one pcapng per device crossed (<ns>-<dev>.pcapng), frames as on that device')
    .option('--conntrack <file>', 'write the conntrack tables (at the end, or at --at-time) as JSON')
    .option('--at-time <t>', 'capture time (epoch seconds) at which --conntrack is taken', parseTime);
  addQueueOptions(cmd)
    .option('--queue-drops <file>', 'write every packet the queue model dropped (rx ring, backlog, egress qdisc) as JSONL: index, ts, reason, where')
    .option('-q, --quiet', 'no summary on stderr')
    .addHelpText(
      'after',
      `
Examples:
  pktpath replay --world captures/docker-host captures/docker-host/demo.pcap@host:eth0 --trace - --format text
  pktpath replay --world ./snap in-eth0.pcap@host:eth0 in-veth.pcap@host:vethc1 --trace out.jsonl --summary s.json
  pktpath replay --world ./snap any.pcapng --report r.html     # tcpdump -i any: direction-aware, with a consistency report
  tcpdump -i eth0 -w - | pktpath replay --world ./snap --trace - -f text -- -@host:eth0`,
    )
    .action(action(async (captures: string[], o: ReplayOpts) => {
      const filter = o.filter !== undefined ? compileFilter(o.filter) : null;
      const world = loadWorld(o.world, { allowUnsupported: Boolean(o.allowUnsupported) });
      const inputs = captures.map(parseInputArg);
      const writer = o.trace ? new TraceWriter(o.trace, o.format) : null;
      const summary = new Summary(world);
      const pcapOut = o.pcapOut ? new PcapOut(o.pcapOut) : null;
      const report = o.report
        ? new HtmlReport({ title: `pktpath replay — ${basename(o.world)}`, world, warnings: world.warnings, meta: [['World', o.world], ['Captures', captures.join('  ')]] })
        : null;
      const qm = queueModelFrom(world, o.world, o, Boolean(o.queueDrops));
      // A capture without @NS:DEV is direction-aware: its other frames are compared with the model.
      const consistency = inputs.some((i) => i.dev === null) ? new Consistency() : null;
      // A progress bar on a terminal for runs longer than a second (cli-progress, redrawn synchronously).
      const total = inputs.reduce((n, i) => n + (i.path === '-' ? 0 : fileSize(i.path)), 0);
      const t0 = Date.now();
      let bar: cliProgress.SingleBar | null = null;
      const onProgress = process.stderr.isTTY && total > 0
        ? (n: number, bytes: number) => {
            if (!bar && Date.now() - t0 > 1000) {
              bar = new cliProgress.SingleBar({ stream: process.stderr, format: 'replay [{bar}] {percentage}% | {packets} packets | {eta}s left', hideCursor: true, synchronousUpdate: true }, cliProgress.Presets.shades_classic);
              bar.start(total, 0, { packets: 0 });
            }
            bar?.update(bytes, { packets: n });
          }
        : undefined;
      let finalDp: Datapath | null = null;
      const onSig = () => {
        bar?.stop();
        writer?.abort();
        pcapOut?.abort();
        process.stderr.write('pktpath: interrupted; partial trace kept as <file>.partial\n');
        process.exit(130);
      };
      process.once('SIGINT', onSig);
      try {
        const stats = runReplay(world, inputs, {
          datapath: { verifyChecksums: o.checksums, trace: Boolean(writer) || Boolean(report), allowUnsupported: Boolean(o.allowUnsupported), seed: 1 },
          ...(consistency ? { consistency } : {}),
          limit: o.count ?? 0,
          onDone: (dp) => (finalDp = dp),
          ...(onProgress ? { onProgress } : {}),
          ...(pcapOut ? { tap: (dev, dir, t, frame, len) => pcapOut.tap(dev, dir, t, frame, len) } : {}),
          ...(o.conntrack ? { atTime: o.atTime, onAtTime: (dp: Datapath) => writeFileAtomic(o.conntrack!, JSON.stringify(conntrackJson(dp), null, 1) + '\n') } : {}),
          ...(filter ? { filter } : {}),
          ...(qm ? { queueModel: qm } : {}),
          onRecord: (r) => {
            if (!r.reported) return;
            summary.add(r);
            if (report) {
              const tr = toTraceRecord(r);
              writer?.writePacket(r, tr);
              report.add(tr);
            } else writer?.writePacket(r);
          },
        });
        if (bar) {
          (bar as cliProgress.SingleBar).update(total);
          (bar as cliProgress.SingleBar).stop();
        }
        summary.finish(stats, finalDp ?? undefined);
        if (qm) {
          // Before any output is completed: a worker failure leaves only .partial files.
          summary.softirq = await qm.run();
          summary.softirqText = queueModelText(summary.softirq, qm.opts, qm.activeWorkers, qm.sources, qm.rpsOn);
          if (o.queueDrops) {
            writeFileAtomic(o.queueDrops, qm.drops.map((d) => JSON.stringify(d) + '\n').join(''));
            summary.softirqText += `  ${qm.drops.length} packet drop${qm.drops.length === 1 ? '' : 's'} of the queue model written to ${o.queueDrops}\n`;
          }
        }
        writer?.close();
        pcapOut?.close();
        if (o.filter !== undefined) summary.filter = describeFilter(o.filter);
        if (consistency) summary.consistency = consistency.report();
        if (report) writeFileAtomic(o.report!, report.render(summary.toJSON()));
        if (o.summary) writeFileAtomic(o.summary, JSON.stringify(summary.toJSON(), null, 1) + '\n');
        if (!o.quiet) process.stderr.write(summary.text());
      } catch (e) {
        writer?.abort();
        pcapOut?.abort();
        throw e;
      } finally {
        process.removeListener('SIGINT', onSig);
      }
    }));
}
