/**
 * `pktpath verify`: check the model against the real kernel. Builds the world in fresh network
 * namespaces, sends the captures' frames through them, and compares the kernel's fate for every
 * packet with the model's. Exit 0 on full agreement, 3 on any disagreement, 2 without root or
 * network namespaces (or on bad usage), 1 on other failures.
 */
import { Command } from 'commander';
import { parsePositiveInt, reportError } from './run.js';
import { UsageError } from '../errors.js';
import { verify, verifyJson, verifyPlan, verifyText, VerifyError, VerifyUnavailable } from '../verify/index.js';

interface VerifyOpts {
  world: string;
  json?: boolean;
  topspeed?: boolean;
  keepGoing?: boolean;
  keepWork?: boolean;
  droptrace: boolean;
  allowUnsupported?: boolean;
  count?: number;
  maxDuration?: number;
  dryRun?: boolean;
  quiet?: boolean;
  verbose?: boolean;
}

/** Register the command. */
export function register(program: Command): void {
  program
    .command('verify')
    .description('check the model against the real kernel: build the world in network namespaces, inject the captures, compare every packet (root)')
    .argument('[capture...]', 'capture files as FILE@NS:DEV, injected as received on device DEV of namespace NS')
    .requiredOption('-w, --world <dir|lab>', 'snapshot directory or lab file')
    .option('--json', 'print the report as JSON')
    .option('--topspeed', 'send the frames back to back instead of at the capture\'s pace')
    .option('--keep-going', 'when a part of the world cannot be built (a route, a rule, a ruleset), note it and verify the rest')
    .option('--keep-work', 'keep the work directory (captures of every namespace, nft traces, logs) and print its path')
    .option('--no-droptrace', 'do not read skb:kfree_skb drop reasons through tracefs')
    .option('--allow-unsupported', 'turn refusals of unmodellable rules/devices into warnings')
    .option('-c, --count <n>', 'only the first n packets', parsePositiveInt)
    .option('--max-duration <s>', 'refuse paced runs longer than this many seconds (default 300)', parsePositiveInt)
    .option('--dry-run', 'print the commands that would build the world, and stop (no root needed)')
    .option('-v, --verbose', 'list every packet with the kernel\'s and the model\'s view')
    .option('-q, --quiet', 'no progress lines on stderr')
    .addHelpText('after', `
Needs root, network namespaces and: ip (iproute2), nft (nftables), tcpdump, python3, sysctl (procps);
iptables-restore (iptables) for iptables rules; conntrack (conntrack) for the conntrack check.
Namespaces are named ppv<pid>-<ns> (+ ppv<pid>-inj, where edge devices lead) and removed on every exit.

Examples:
  sudo pktpath verify --world captures/labs/docker-host.yaml in.pcap@host:eth0
  sudo pktpath verify --world ./snap eth0.pcap@host:eth0 veth.pcap@host:vethc1 --json > report.json
  pktpath verify --world captures/labs/docker-host.yaml --dry-run`)
    .action(async (captures: string[], o: VerifyOpts) => {
      try {
        if (o.dryRun) {
          process.stdout.write(verifyPlan({ world: o.world, allowUnsupported: o.allowUnsupported }).text);
          return;
        }
        if (!captures.length) throw new UsageError('give at least one capture as FILE@NS:DEV (or --dry-run)');
        const res = await verify({
          world: o.world,
          inputs: captures,
          topspeed: o.topspeed,
          allowUnsupported: o.allowUnsupported,
          droptrace: o.droptrace,
          keepWork: o.keepWork,
          keepGoing: o.keepGoing,
          count: o.count,
          maxDurationS: o.maxDuration,
          log: o.quiet ? undefined : (l) => process.stderr.write(`pktpath verify: ${l}\n`),
        });
        process.stdout.write(o.json ? JSON.stringify(verifyJson(res), null, 1) + '\n' : verifyText(res, o.verbose));
        if (res.workDir && !o.quiet) process.stderr.write(`pktpath verify: work directory kept: ${res.workDir}\n`);
        process.exitCode = res.agree ? 0 : 3;
      } catch (err) {
        if (err instanceof VerifyUnavailable) {
          process.stderr.write(`pktpath verify needs root and network namespaces: ${err.message}.\n`);
          process.exitCode = 2;
          return;
        }
        if (err instanceof VerifyError) process.stderr.write(`pktpath: ${err.message}\n`);
        else reportError(err);
        process.exitCode = err instanceof UsageError ? 2 : 1;
      }
    });
}
