#!/usr/bin/env node
import { existsSync, readFileSync } from 'fs';
import { join } from 'path';
import { Command } from 'commander';
import { registerApplyCommands } from './commands/apply';
import { registerLogsCommand } from './commands/logs';
import { registerQueueCommand } from './commands/queue';
import { registerTlsCheckCommand } from './commands/tls-check';
import { reportFailure, shortUsageErrors } from './exit';

/** package.json sits one level up from bin/ in the sources and two from dist/bin/ when built. */
function packageVersion(): string {
  for (const up of ['..', '../..']) {
    const file = join(__dirname, up, 'package.json');
    if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  }
  return 'unknown';
}

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('cdktf-postfix')
    .description('Postfix mail servers as code: apply and diff synthesized stacks, manage the queue, report on logs, check TLS')
    .version(packageVersion());
  registerApplyCommands(program);
  registerQueueCommand(program);
  registerLogsCommand(program);
  registerTlsCheckCommand(program);
  shortUsageErrors(program);
  return program;
}

/** Parse and run; resolves to the process exit status (see bin/exit.ts). */
export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  let running: Command | undefined;
  program.hook('preAction', (_root, action) => {
    running = action;
  });
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (e) {
    return reportFailure(e, running, (s) => process.stderr.write(s));
  }
}

if (require.main === module) {
  void main(process.argv).then((code) => {
    process.exitCode = code;
  });
}
