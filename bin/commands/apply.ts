import { Command, InvalidArgumentError } from 'commander';
import { MultiBar, Presets } from 'cli-progress';
import { HostReport } from '../../lib/apply/apply';
import { applyStackHost, diffStackHost, HostDiffResult, mapLimit } from '../../lib/apply/hosts';
import { formatReport } from '../../lib/apply/report';
import { readStackHosts, StackHost } from '../../lib/apply/stack';
import { STACK_HELP, stackFrom } from '../stack-arg';
import { progressAllowed } from '../tty';

interface StackFlags {
  stack?: string;
  target?: string;
  concurrency: number;
  json?: boolean;
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`--concurrency ${value}: not a positive whole number`);
  return n;
}

/** The flags apply and diff share, so both take the stack and its hosts the same way. */
function stackCommand(program: Command, name: string, description: string): Command {
  return program
    .command(name)
    .description(description)
    .argument('[stack]', STACK_HELP)
    .option('--stack <stack>', 'the same as the argument (as queue and logs take it)')
    .option('--target <id>', 'only this host (construct id or path)')
    .option('--concurrency <n>', 'hosts in flight at once', positiveInt, 10);
}

function hostsOf(stack: string | undefined, opts: StackFlags): StackHost[] {
  return readStackHosts(stackFrom(stack, opts.stack), opts.target);
}

export function registerApplyCommands(program: Command): void {
  stackCommand(
    program,
    'apply',
    'apply the bundles of a synthesized stack directory to their hosts, without Terraform (exit 1 when a host fails)',
  )
    .option('--json', 'print the reports as JSON')
    .action(async (stack: string | undefined, opts: StackFlags) => {
      const hosts = hostsOf(stack, opts);
      const showProgress = !opts.json && progressAllowed(process.stderr) && hosts.length > 1;
      const bars = showProgress
        ? new MultiBar(
            { format: '{bar} {value}/{total} hosts | {status}', hideCursor: true, stream: process.stderr },
            Presets.shades_classic,
          )
        : undefined;
      const bar = bars?.create(hosts.length, 0, { status: 'connecting' });
      const reports: HostReport[] = await mapLimit(hosts, opts.concurrency, async (host) => {
        const report = await applyStackHost(host);
        bar?.increment(1, { status: `${host.path.split('/').pop()}: ${report.result}` });
        return report;
      });
      bars?.stop();
      if (opts.json) process.stdout.write(JSON.stringify(reports, null, 2) + '\n');
      else for (const r of reports) process.stdout.write(formatReport(r) + '\n');
      process.exitCode = reports.some((r) => r.error) ? 1 : 0;
    });

  stackCommand(
    program,
    'diff',
    'show a unified diff of each live host against its bundle (exit 0 no differences, 1 differences or a host error)',
  )
    .option('--json', "print each host's changes as JSON: [{ host, different, changes: [{ file, patch }], error? }]")
    .action(async (stack: string | undefined, opts: StackFlags) => {
      const results = await mapLimit(hostsOf(stack, opts), opts.concurrency, diffStackHost);
      if (opts.json) process.stdout.write(JSON.stringify(results.map(diffJson), null, 2) + '\n');
      else printDiffs(results);
      process.exitCode = results.some((r) => r.error || r.different) ? 1 : 0;
    });
}

function diffJson(r: HostDiffResult): object {
  return { host: r.host, different: r.different, changes: r.changes, ...(r.error ? { error: r.error } : {}) };
}

function printDiffs(results: HostDiffResult[]): void {
  for (const r of results) {
    if (r.error) process.stderr.write(`${r.host}: ${r.error}\n`);
    else if (r.different) process.stdout.write(r.text);
    else process.stderr.write(`${r.host}: no differences\n`);
  }
}
