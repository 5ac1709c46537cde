#!/usr/bin/env node
import { Command } from 'commander';
import { registerApplyCommands } from './commands/apply';

export function buildProgram(): Command {
  const program = new Command();
  program
    .name('cdktf-postfix')
    .description('Postfix mail servers as code: apply and diff synthesized stacks, manage the queue, report on logs, check TLS')
    .version(require('../../package.json').version)
    .showHelpAfterError();
  registerApplyCommands(program);
  return program;
}

if (require.main === module) {
  buildProgram().parseAsync(process.argv).catch((e: Error) => {
    process.stderr.write(`cdktf-postfix: ${e.message}\n`);
    process.exit(1);
  });
}
