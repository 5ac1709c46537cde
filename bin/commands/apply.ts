import { Command } from 'commander';
import { MultiBar, Presets } from 'cli-progress';
import { HostReport } from '../../lib/apply/apply';
import { applyStackHost, diffStackHost, mapLimit } from '../../lib/apply/hosts';
import { formatReport } from '../../lib/apply/report';
import { readStackHosts } from '../../lib/apply/stack';

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--concurrency ${value}: not a positive whole number`);
  return n;
}

export function registerApplyCommands(program: Command): void {
  program
    .command('apply')
    .description('apply the bundles of a synthesized stack directory to their hosts, without Terraform')
    .argument('<stack-dir>', 'synthesized stack, e.g. cdktf.out/stacks/mail')
    .option('--target <id>', 'only this host (construct id or path)')
    .option('--concurrency <n>', 'hosts in flight at once', positiveInt, 10)
    .option('--json', 'print the reports as JSON')
    .action(async (stackDir: string, opts: { target?: string; concurrency: number; json?: boolean }) => {
      const hosts = readStackHosts(stackDir, opts.target);
      const showProgress = !opts.json && process.stderr.isTTY && hosts.length > 1;
      const bars = showProgress ? new MultiBar({ format: '{bar} {value}/{total} hosts | {status}', hideCursor: true, stream: process.stderr }, Presets.shades_classic) : undefined;
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

  program
    .command('diff')
    .description('show a unified diff of each live host against its bundle (exit 0 same, 2 different, 1 error)')
    .argument('<stack-dir>', 'synthesized stack, e.g. cdktf.out/stacks/mail')
    .option('--target <id>', 'only this host (construct id or path)')
    .option('--concurrency <n>', 'hosts in flight at once', positiveInt, 10)
    .action(async (stackDir: string, opts: { target?: string; concurrency: number }) => {
      const hosts = readStackHosts(stackDir, opts.target);
      const results = await mapLimit(hosts, opts.concurrency, diffStackHost);
      for (const r of results) {
        if (r.error) process.stderr.write(`${r.host}: ${r.error}\n`);
        else if (r.different) process.stdout.write(r.text);
        else process.stderr.write(`${r.host}: no differences\n`);
      }
      process.exitCode = results.some((r) => r.error) ? 1 : results.some((r) => r.different) ? 2 : 0;
    });
}
