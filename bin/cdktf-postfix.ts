#!/usr/bin/env node
import { existsSync, readFileSync } from 'fs';
import { join } from 'path';
import { Command } from 'commander';
import { registerApplyCommands } from './commands/apply';
import { registerLogsCommand } from './commands/logs';
import { registerQueueCommand } from './commands/queue';
import { registerTlsCheckCommand } from './commands/tls-check';

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
    .version(packageVersion())
    .showHelpAfterError();
  registerApplyCommands(program);
  registerQueueCommand(program);
  registerLogsCommand(program);
  registerTlsCheckCommand(program);
  return program;
}

if (require.main === module) {
  buildProgram().parseAsync(process.argv).catch((e: Error) => {
    process.stderr.write(`cdktf-postfix: ${e.message}\n`);
    process.exit(1);
  });
}
