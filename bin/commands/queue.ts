import { Command, InvalidArgumentError, Option } from 'commander';
import { UsageError } from '../../lib/errors';
import { addConnectionOptions, connectionFromOptions, ConnectionOptions } from '../connection-flags';
import {
  isEmptySelector,
  openQueueExecutor,
  parseAge,
  queueAction,
  QueueAction,
  QueueActionReport,
  QueueExecutor,
  QueueMessage,
  QueueName,
  QUEUE_NAMES,
  QueueSelector,
  selectForAction,
} from '../../lib/ops/queue';

interface QueueOptions extends ConnectionOptions {
  id?: string[];
  sender?: string;
  recipient?: string;
  queue?: QueueName;
  olderThan?: number;
  newerThan?: number;
  dryRun?: boolean;
  json?: boolean;
  all?: boolean;
}

/** What each action does, for help and messages. */
const ACTIONS: Record<QueueAction, { help: string; done: string }> = {
  delete: { help: 'delete the selected messages (postsuper -d)', done: 'deleted' },
  hold: { help: 'put the selected messages on hold (postsuper -h)', done: 'put on hold' },
  release: { help: 'release the selected held messages (postsuper -H)', done: 'released' },
  requeue: {
    help: 'requeue the selected messages through cleanup again (postsuper -r; pickup takes them from maildrop within a minute)',
    done: 'requeued',
  },
};

function ageOption(value: string): number {
  try {
    return parseAge(value);
  } catch (e) {
    throw Object.assign(new InvalidArgumentError((e as Error).message), { cause: e });
  }
}

function addSelectionOptions(cmd: Command): Command {
  return cmd
    .option('--id <id...>', 'these queue ids')
    .option('--sender <address>', 'exact envelope sender (local part as written, domain in any case); "<>" for bounces')
    .option('--recipient <address>', 'exact recipient (local part as written, domain in any case)')
    .addOption(new Option('--queue <name>', 'only this queue').choices(QUEUE_NAMES))
    .option('--older-than <age>', 'arrived more than this long ago: 30m, 2h, 3d, 1w', ageOption)
    .option('--newer-than <age>', 'arrived less than this long ago: 30m, 2h, 3d, 1w', ageOption)
    .option('--json', 'print JSON (fields as postqueue -j names them)');
}

function selectorFrom(opts: QueueOptions): QueueSelector {
  return {
    ids: opts.id,
    sender: opts.sender,
    recipient: opts.recipient,
    queue: opts.queue,
    olderThan: opts.olderThan,
    newerThan: opts.newerThan,
  };
}

/** Connect (or not, for this machine), run, always close. */
async function withExecutor<T>(opts: QueueOptions, fn: (ex: QueueExecutor) => Promise<T>): Promise<T> {
  const executor = await openQueueExecutor(connectionFromOptions(opts));
  try {
    return await fn(executor);
  } finally {
    executor.close();
  }
}

export function registerQueueCommand(program: Command): void {
  const queue = program
    .command('queue')
    .description('list and act on the Postfix mail queue, exactly (postqueue -j, one postsuper call per action)');

  const list = queue.command('list').description('list queued messages (a table; --json for scripts)');
  addConnectionOptions(addSelectionOptions(list)).action(async (opts: QueueOptions) => {
    const selection = await withExecutor(opts, (ex) => selectForAction(ex, 'list', selectorFrom(opts)));
    if (opts.json) process.stdout.write(JSON.stringify(selection, null, 2) + '\n');
    else
      process.stdout.write(
        selection.messages.length ? formatTable(selection.messages, selection.now) : `${selection.where}: no messages match\n`,
      );
  });

  for (const action of Object.keys(ACTIONS) as QueueAction[]) {
    const cmd = queue.command(action).description(ACTIONS[action].help);
    addSelectionOptions(cmd)
      .option('--all', `${action} every message (needed when no selector is given)`)
      .option('--dry-run', 'show what would be touched, change nothing');
    addConnectionOptions(cmd).action((opts: QueueOptions) => runAction(action, opts));
  }
}

async function runAction(action: QueueAction, opts: QueueOptions): Promise<void> {
  const sel = selectorFrom(opts);
  if (isEmptySelector(sel) && !opts.all) {
    throw new UsageError(
      `queue ${action}: no selector given, refusing to ${action} every message. Fix: select with --id, --sender, --recipient, --queue, --older-than or --newer-than; to ${action} all mail on purpose, add --all`,
    );
  }
  const report = await withExecutor(opts, (ex) => queueAction(ex, action, sel, { dryRun: opts.dryRun }));
  if (opts.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  else process.stdout.write(formatReport(report));
}

/** Human summary of an action; a table of the selection only for a dry run (a purge can be 10,000 rows). */
export function formatReport(r: QueueActionReport): string {
  const n = r.selected.length;
  const lines: string[] = [];
  if (r.dryRun) {
    lines.push(`${r.where}: would ${r.action} ${n} message${n === 1 ? '' : 's'} (dry run, nothing changed)`);
    if (n) lines.push(formatTable(r.selected, r.now).trimEnd());
  } else {
    lines.push(
      `${r.where}: ${ACTIONS[r.action].done} ${r.count} of ${n} selected message${n === 1 ? '' : 's'}${r.summary ? ` (postsuper: ${r.summary})` : ''}`,
    );
    if (r.missed.length) lines.push(`  ${r.missed.length} left the queue before postsuper reached them: ${r.missed.join(' ')}`);
  }
  if (r.shared.length)
    lines.push(
      `  note: ${r.shared.length} of them also go to other recipients, whose copies are ${r.dryRun ? 'affected too' : `${ACTIONS[r.action].done} too`}: ${r.shared.join(' ')}`,
    );
  for (const w of r.warnings) lines.push(`  postsuper: ${w}`);
  return lines.join('\n') + '\n';
}

/** "45s", "12m", "3h05m", "2d4h": the two largest units are enough to read at a glance. */
export function formatAge(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600)}h`;
}

/** id, queue, age, size, sender, recipients: one row a message, every recipient shown in full. */
export function formatTable(messages: readonly QueueMessage[], now: number): string {
  const rows = messages.map((m) => [
    m.queue_id,
    m.queue_name,
    formatAge(now - m.arrival_time),
    String(m.message_size),
    m.sender || '<>',
    m.recipients.map((r) => r.address).join(', '),
  ]);
  const header = ['ID', 'QUEUE', 'AGE', 'SIZE', 'SENDER', 'RECIPIENTS'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) =>
    cells.map((c, i) => (i === cells.length - 1 ? c : i === 3 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ');
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}
