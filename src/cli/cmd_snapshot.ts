/**
 * `pktpath snapshot OUTDIR`: write a snapshot of this host's network configuration (read-only).
 */
import { Command, InvalidArgumentError } from 'commander';
import { formatSummary, NETNS_NAME_RE, writeSnapshot } from '../stack/snapshot/write.js';
import { action, parsePositiveInt } from './run.js';

interface SnapshotCliOptions {
  netns?: string[];
  allNetns?: boolean;
  root: boolean;
  rootName: string;
  force?: boolean;
  timeout: number;
}

const HELP_AFTER = `
Writes OUTDIR/snapshot.json and OUTDIR/ns/<name>/ (link.json, addr.json, routes, rules, neighbours,
bridge ports and FDB, nft and iptables rulesets, sockets, net.* sysctls, ethtool queues, IRQ and RPS
CPUs), each file the verbatim output of a read-only command run inside the namespace. Nothing on the
host is changed. Missing tools and unreadable parts are listed as warnings in snapshot.json; run as
root to read nftables/iptables rules and named namespaces.

Examples:
  pktpath snapshot ./snap                      the root namespace only, as ns/host
  pktpath snapshot ./snap --all-netns          the root namespace and every \`ip netns\` namespace
  pktpath snapshot ./snap --netns c1 --netns c2 --no-root
  pktpath snapshot ./snap --all-netns --force  replace a previous snapshot in ./snap`;

/** commander argParser: repeatable `--netns`, also accepting `a,b,c`. */
function collectNetns(value: string, previous: string[] | undefined): string[] {
  const names = value.split(',').filter((n) => n !== '');
  for (const n of names) {
    if (!NETNS_NAME_RE.test(n) || n === '.' || n === '..') {
      throw new InvalidArgumentError(`"${n}" is not a namespace name (1-64 characters from A-Z a-z 0-9 _ . -).`);
    }
  }
  return [...(previous ?? []), ...names];
}

function parseRootName(value: string): string {
  if (!NETNS_NAME_RE.test(value) || value === '.' || value === '..') {
    throw new InvalidArgumentError('expected 1-64 characters from A-Z a-z 0-9 _ . -');
  }
  return value;
}

/** Register `snapshot` on the program. */
export function register(program: Command): void {
  program
    .command('snapshot')
    .summary('write a snapshot of this host\'s network configuration')
    .description('Write a snapshot of the live host\'s network configuration, one folder per network namespace. Read-only.')
    .argument('<outdir>', 'directory to write; written as OUTDIR.tmp-<pid> and renamed at the end')
    .option('--netns <name>', 'also capture this `ip netns` namespace (repeat, or a,b,c)', collectNetns)
    .option('--all-netns', 'capture every namespace that `ip netns list` shows')
    .option('--no-root', 'do not capture the root namespace (the one pktpath runs in)')
    .option('--root-name <name>', 'folder name of the root namespace', parseRootName, 'host')
    .option('--force', 'replace OUTDIR when it holds a previous snapshot')
    .option('--timeout <seconds>', 'timeout of each command', parsePositiveInt, 30)
    .addHelpText('after', HELP_AFTER)
    .action(
      action(async (outdir: string, opts: SnapshotCliOptions) => {
        const result = await writeSnapshot({
          out: outdir,
          netns: opts.netns ?? [],
          allNetns: Boolean(opts.allNetns),
          root: opts.root,
          rootName: opts.rootName,
          force: Boolean(opts.force),
          timeoutMs: opts.timeout * 1000,
        });
        process.stderr.write(formatSummary(result) + '\n');
        for (const w of result.warnings) process.stderr.write(`  warning: ${w}\n`);
      }),
    );
}
