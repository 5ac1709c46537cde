/**
 * The mail queue as data: list it with `postqueue -j`, select messages exactly (never by substring),
 * and act on the selection with ONE `postsuper -X -` call that reads the queue ids from stdin.
 *
 * Replaces the classic `mailq | fgrep addr | awk '{print $1}' | postsuper -d -`, which hands
 * postsuper recipient addresses (mailq prints recipients on their own lines) and matches
 * `hill@domain.tld` inside `hill@domain.tld.example`.
 *
 * Commands are a fixed table: the local executor spawns their argv without a shell, the SSH executor
 * sends their constant string. Queue ids only ever travel on stdin.
 */
import { spawn } from 'child_process';
import { ConnectionSpec } from '../model/connection';
import { CdktfPostfixError, describeProblem } from '../errors';
import { PostfixConfigError } from '../model/errors';
import { resolveConnection } from '../transport/connection';
import { SshSession } from '../transport/ssh';

export const QUEUE_NAMES = ['active', 'deferred', 'hold', 'incoming', 'maildrop'] as const;
export type QueueName = (typeof QUEUE_NAMES)[number];

export const QUEUE_ACTIONS = ['delete', 'hold', 'release', 'requeue'] as const;
export type QueueAction = (typeof QUEUE_ACTIONS)[number];

/** One recipient as `postqueue -j` prints it (recipients already delivered are not listed). */
export interface QueueRecipient {
  readonly address: string;
  readonly delay_reason?: string;
}

/**
 * One message as `postqueue -j` prints it. Field names are postqueue's own, so `--json` output
 * works with the jq filters people already have.
 */
export interface QueueMessage {
  readonly queue_name: string;
  readonly queue_id: string;
  /** Seconds since the epoch. */
  readonly arrival_time: number;
  readonly message_size: number;
  readonly forced_expire: boolean;
  /** Envelope sender; "" for the null sender (bounces). */
  readonly sender: string;
  readonly recipients: readonly QueueRecipient[];
}

/** All criteria are ANDed; ids are ORed among themselves. An empty selector selects everything. */
export interface QueueSelector {
  readonly ids?: readonly string[];
  /** Exact envelope sender; "" or "<>" for the null sender. */
  readonly sender?: string;
  /** Exact recipient: local part as written, domain case-insensitive. */
  readonly recipient?: string;
  readonly queue?: QueueName;
  /** Seconds: only messages that arrived more than this long ago. */
  readonly olderThan?: number;
  /** Seconds: only messages that arrived less than this long ago. */
  readonly newerThan?: number;
}

// ---------------------------------------------------------------------------------------------
// parsing

// Postfix queue ids: short (hex) or long (base 52 + 'z'-separated) form; validated so that
// nothing but an id can ever reach postsuper's stdin.
const QUEUE_ID = /^[0-9A-Za-z]{6,32}$/;

export function isQueueId(id: string): boolean {
  return QUEUE_ID.test(id);
}

/** `postqueue -j` output (one JSON object a line) -> messages. Throws on a line it cannot read. */
export function parsePostqueueJson(text: string): QueueMessage[] {
  const out: QueueMessage[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].trim();
    if (line) out.push(parseLine(line, i + 1));
  }
  return out;
}

function parseLine(line: string, lineNo: number): QueueMessage {
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(line) as Record<string, unknown>;
  } catch (e) {
    throw new CdktfPostfixError(
      `postqueue -j: ${describeProblem(`line ${lineNo}`, line.slice(0, 80), `is not JSON (${(e as Error).message})`, 'check that the host runs Postfix 3.1 or later (`postconf mail_version`)')}`,
      { cause: e },
    );
  }
  const bad = (field: string) =>
    new CdktfPostfixError(
      `postqueue -j: ${describeProblem(`line ${lineNo}`, line.slice(0, 80), `has no valid ${field}`, 'report this line: postqueue printed a record this tool does not understand')}`,
    );
  if (typeof raw.queue_id !== 'string' || !isQueueId(raw.queue_id)) throw bad('queue_id');
  if (typeof raw.queue_name !== 'string') throw bad('queue_name');
  if (!Array.isArray(raw.recipients)) throw bad('recipients');
  return {
    queue_name: raw.queue_name,
    queue_id: raw.queue_id,
    arrival_time: Number(raw.arrival_time) || 0,
    message_size: Number(raw.message_size) || 0,
    forced_expire: raw.forced_expire === true,
    sender: typeof raw.sender === 'string' ? raw.sender : '',
    recipients: (raw.recipients as Record<string, unknown>[]).map((r) => ({
      address: typeof r.address === 'string' ? r.address : '',
      ...(typeof r.delay_reason === 'string' ? { delay_reason: r.delay_reason } : {}),
    })),
  };
}

const AGE_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** "90s", "15m", "2h", "3d", "1w", "1d12h" -> seconds. A bare number is refused: minutes or days? */
export function parseAge(text: string): number {
  const s = text.trim().toLowerCase();
  if (!/^(\d+[smhdw])+$/.test(s)) {
    throw new PostfixConfigError('', 'age', text, 'is not an age', 'write a number with a unit: 30s, 15m, 2h, 3d, 1w (or combined, 1d12h)');
  }
  let total = 0;
  for (const m of s.matchAll(/(\d+)([smhdw])/g)) total += Number(m[1]) * AGE_UNITS[m[2]];
  return total;
}

// ---------------------------------------------------------------------------------------------
// selection

/**
 * The comparison form of an address: the local part stays as written (Postfix may treat it
 * case-sensitively), the domain is lowercased (DNS is not). Surrounding <> are dropped.
 */
export function addressKey(address: string): string {
  const a = address.trim().replace(/^<(.*)>$/, '$1');
  const at = a.lastIndexOf('@');
  return at < 0 ? a : a.slice(0, at) + '@' + a.slice(at + 1).toLowerCase();
}

export function sameAddress(a: string, b: string): boolean {
  return addressKey(a) === addressKey(b);
}

export function isEmptySelector(sel: QueueSelector): boolean {
  return (
    !sel.ids?.length &&
    sel.sender === undefined &&
    sel.recipient === undefined &&
    sel.queue === undefined &&
    sel.olderThan === undefined &&
    sel.newerThan === undefined
  );
}

/** A per-message predicate for the selector, with the address keys computed once. */
function matcher(sel: QueueSelector, now: number): (m: QueueMessage) => boolean {
  const ids = sel.ids?.length ? new Set(sel.ids) : undefined;
  const sender = sel.sender === undefined ? undefined : addressKey(sel.sender);
  const recipient = sel.recipient === undefined ? undefined : addressKey(sel.recipient);
  return (m) =>
    (!ids || ids.has(m.queue_id)) &&
    (sel.queue === undefined || m.queue_name === sel.queue) &&
    (sender === undefined || addressKey(m.sender) === sender) &&
    (recipient === undefined || m.recipients.some((r) => addressKey(r.address) === recipient)) &&
    (sel.olderThan === undefined || now - m.arrival_time > sel.olderThan) &&
    (sel.newerThan === undefined || now - m.arrival_time < sel.newerThan);
}

/** Messages matching the selector; `now` is seconds since the epoch by the queue host's clock. */
export function selectMessages(messages: readonly QueueMessage[], sel: QueueSelector, now: number): QueueMessage[] {
  const match = matcher(sel, now);
  return messages.filter(match);
}

/**
 * Whether postsuper would do anything to this message: release applies to held mail only, hold to
 * mail not yet held. Filtering here keeps dry-run counts equal to what the real run does.
 */
export function actionApplies(action: QueueAction, m: QueueMessage): boolean {
  if (action === 'release') return m.queue_name === 'hold';
  if (action === 'hold') return m.queue_name !== 'hold';
  return true;
}

/**
 * Selected messages that also go to recipients the --recipient selector did not name: postsuper
 * acts on whole messages, so deleting one drops those recipients' copies too.
 */
export function sharedMessages(selected: readonly QueueMessage[], sel: QueueSelector): string[] {
  if (sel.recipient === undefined) return [];
  const key = addressKey(sel.recipient);
  return selected.filter((m) => m.recipients.some((r) => addressKey(r.address) !== key)).map((m) => m.queue_id);
}

/** Oldest first, then by id: a stable order for tables and JSON. */
export function sortMessages(messages: readonly QueueMessage[]): QueueMessage[] {
  return [...messages].sort((a, b) => a.arrival_time - b.arrival_time || (a.queue_id < b.queue_id ? -1 : a.queue_id > b.queue_id ? 1 : 0));
}

// ---------------------------------------------------------------------------------------------
// executors

/** Every command this module runs. Constant: nothing from the user is ever added to them. */
export const QUEUE_COMMANDS = {
  list: ['postqueue', '-j'],
  clock: ['date', '+%s'],
  delete: ['postsuper', '-d', '-'],
  hold: ['postsuper', '-h', '-'],
  release: ['postsuper', '-H', '-'],
  requeue: ['postsuper', '-r', '-'],
} as const satisfies Record<string, readonly string[]>;
export type QueueCommand = keyof typeof QUEUE_COMMANDS;

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the fixed queue commands on one machine. */
export interface QueueExecutor {
  /** "local" or the SSH label, for reports. */
  readonly where: string;
  run(command: QueueCommand, stdin?: string): Promise<CommandResult>;
  close(): void;
}

/** This machine: argv through child_process.spawn, no shell. postsuper needs root here. */
export class LocalQueueExecutor implements QueueExecutor {
  readonly where = 'local';

  run(command: QueueCommand, stdin?: string): Promise<CommandResult> {
    const [file, ...args] = QUEUE_COMMANDS[command];
    // /usr/sbin is where Debian installs postqueue/postsuper; a non-root PATH often lacks it.
    const env = { ...process.env, PATH: `${process.env.PATH ?? ''}:/usr/sbin:/usr/bin` };
    return new Promise((resolve, reject) => {
      const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], env });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.stderr.on('data', (d: Buffer) => err.push(d));
      child.stdin.on('error', () => undefined); // the command may exit before reading all ids
      child.on('error', (e) =>
        reject(
          new CdktfPostfixError(
            `${file}: ${e.message}${(e as NodeJS.ErrnoException).code === 'ENOENT' ? ' (is Postfix installed on this machine?)' : ''}`,
            { cause: e },
          ),
        ),
      );
      child.on('close', (code) =>
        resolve({ code: code ?? 128, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') }),
      );
      child.stdin.end(stdin ?? '');
    });
  }

  close(): void {}
}

/** A host over SSH (the apply transport). With sudo, SshSession prefixes `sudo -n`. */
export class SshQueueExecutor implements QueueExecutor {
  constructor(private readonly session: SshSession) {}

  get where(): string {
    return this.session.target.label;
  }

  static async connect(spec: ConnectionSpec, env: NodeJS.ProcessEnv = process.env): Promise<SshQueueExecutor> {
    return new SshQueueExecutor(await SshSession.connect(resolveConnection(spec, env)));
  }

  run(command: QueueCommand, stdin?: string): Promise<CommandResult> {
    return this.session.exec(QUEUE_COMMANDS[command].join(' '), stdin);
  }

  close(): void {
    this.session.close();
  }
}

/** Local executor for no spec, SSH executor otherwise. */
export async function openQueueExecutor(spec: ConnectionSpec | undefined): Promise<QueueExecutor> {
  return spec ? SshQueueExecutor.connect(spec) : new LocalQueueExecutor();
}

// ---------------------------------------------------------------------------------------------
// operations

/**
 * With the mail system down, postqueue(1) cannot reach its showq service and says "warning: Mail
 * system is down -- accessing queue directly". Where showq's socket was never created (Postfix
 * installed but never started) Debian 12's then stops with "fatal: malformed showq server
 * response"; where it is left from an earlier run, root's postqueue reads the queue files itself
 * and exits 0. Either way the mail system is stopped: say so, and what to do, instead of either.
 */
const POSTFIX_DOWN = /Mail system is down|malformed showq server response|Connect to the Postfix showq service/;

/** The queue's mail system is not running: the command cannot answer until Postfix is started. */
export class PostfixNotRunningError extends CdktfPostfixError {
  constructor(readonly where: string) {
    super(
      `${where}: Postfix is not running, so its queue cannot be listed (postqueue cannot reach the showq service). ` +
        `Fix: start it there (\`postfix start\`, or \`systemctl start postfix\`), or point --host at a mail host whose Postfix runs`,
    );
  }
}

function failed(executor: QueueExecutor, command: QueueCommand, r: CommandResult): Error {
  if (POSTFIX_DOWN.test(r.stderr)) return new PostfixNotRunningError(executor.where);
  const why = r.stderr.trim().split('\n').join('; ') || `exit status ${r.code}`;
  return new CdktfPostfixError(`${executor.where}: \`${QUEUE_COMMANDS[command].join(' ')}\` failed: ${why}`);
}

/** The whole queue, via one `postqueue -j`. */
export async function listQueue(executor: QueueExecutor): Promise<QueueMessage[]> {
  const r = await executor.run('list');
  if (r.code !== 0 || POSTFIX_DOWN.test(r.stderr)) throw failed(executor, 'list', r);
  return parsePostqueueJson(r.stdout);
}

/** Seconds since the epoch by the queue host's clock: ages are the host's, whatever our clock says. */
export async function hostClock(executor: QueueExecutor): Promise<number> {
  if (executor instanceof LocalQueueExecutor) return Math.floor(Date.now() / 1000);
  const r = await executor.run('clock');
  const n = Number(r.stdout.trim());
  if (r.code !== 0 || !Number.isInteger(n)) throw failed(executor, 'clock', r);
  return n;
}

/** What postsuper said about one call. */
export interface PostsuperResult {
  /** Ids postsuper named in a per-message line (`ID: removed`, `ID: placed on hold`, ...). */
  readonly done: string[];
  /** postsuper's own total from its summary line (`Deleted: N messages`), or done.length without one. */
  readonly count: number;
  /** The summary line as printed, e.g. `Deleted: 5000 messages`. */
  readonly summary?: string;
  /** Every other line postsuper wrote (warnings). */
  readonly warnings: string[];
}

const PER_MESSAGE = /^postsuper: ([0-9A-Za-z]+): (removed|placed on hold|released from hold|requeued)$/;
const SUMMARY = /^postsuper: ((?:Deleted|Placed on hold|Released from hold|Requeued): (\d+) messages?)$/;

/** postsuper's stderr -> which ids it touched and its count. */
export function parsePostsuperOutput(stderr: string): PostsuperResult {
  const done: string[] = [];
  const warnings: string[] = [];
  let summary: string | undefined;
  let count: number | undefined;
  for (const line of stderr.split('\n')) {
    if (!line.trim()) continue;
    const m = PER_MESSAGE.exec(line);
    const s = m ? null : SUMMARY.exec(line);
    if (m) done.push(m[1]);
    else if (s) [summary, count] = [s[1], Number(s[2])];
    else warnings.push(line.replace(/^postsuper: /, ''));
  }
  return { done, count: count ?? done.length, summary, warnings };
}

/** One postsuper call for all ids (none: no call). Ids are checked again: stdin carries ids only. */
export async function runPostsuper(executor: QueueExecutor, action: QueueAction, ids: readonly string[]): Promise<PostsuperResult> {
  if (ids.length === 0) return { done: [], count: 0, warnings: [] };
  const badId = ids.find((id) => !isQueueId(id));
  if (badId !== undefined)
    throw new PostfixConfigError(executor.where, 'queue id', badId, 'is not a Postfix queue id', 'pass ids as `postqueue -j` prints them');
  const r = await executor.run(action, ids.join('\n') + '\n');
  if (r.code !== 0) throw failed(executor, action, r);
  return parsePostsuperOutput(r.stderr);
}

export interface QueueActionOptions {
  /** Show what would be touched; run nothing but `postqueue -j`. */
  readonly dryRun?: boolean;
}

export interface QueueActionReport {
  readonly where: string;
  readonly action: QueueAction;
  readonly dryRun: boolean;
  /** The host's clock at listing time, seconds since the epoch. */
  readonly now: number;
  /** Messages selected and applicable to the action, oldest first. */
  readonly selected: QueueMessage[];
  /** postsuper's count (0 in a dry run). */
  readonly count: number;
  /** Ids postsuper reported as done. */
  readonly done: string[];
  /** Selected ids postsuper did not touch: they left the queue (delivered, expired, moved) in between. */
  readonly missed: string[];
  /** Selected ids that also go to other recipients than --recipient (whole messages are acted on). */
  readonly shared: string[];
  readonly summary?: string;
  readonly warnings: string[];
}

/** A selection as seen on the host at one moment. */
export interface QueueSelection {
  readonly where: string;
  /** Seconds since the epoch by the host's clock when the queue was listed (ages are relative to it). */
  readonly now: number;
  /** Oldest first. */
  readonly messages: QueueMessage[];
}

/**
 * Selected messages the action applies to ('list': all selected). The host's clock is read next to
 * the listing (in parallel, so no extra round trip) because ages are the host's, whatever ours says.
 */
export async function selectForAction(executor: QueueExecutor, action: QueueAction | 'list', sel: QueueSelector): Promise<QueueSelection> {
  const [messages, now] = await Promise.all([listQueue(executor), hostClock(executor)]);
  const chosen = selectMessages(messages, sel, now);
  return {
    where: executor.where,
    now,
    messages: sortMessages(action === 'list' ? chosen : chosen.filter((m) => actionApplies(action, m))),
  };
}

/**
 * List, select, then one postsuper call. A message can leave the queue between the list and the
 * action; postsuper skips unknown ids, and the report names them as `missed`.
 */
export async function queueAction(
  executor: QueueExecutor,
  action: QueueAction,
  sel: QueueSelector,
  opts: QueueActionOptions = {},
): Promise<QueueActionReport> {
  const { now, messages: selected } = await selectForAction(executor, action, sel);
  const ids = selected.map((m) => m.queue_id);
  const base = { where: executor.where, action, dryRun: !!opts.dryRun, now, selected, shared: sharedMessages(selected, sel) };
  if (opts.dryRun) return { ...base, count: 0, done: [], missed: [], warnings: [] };
  const result = await runPostsuper(executor, action, ids);
  const done = new Set(result.done);
  // Without per-message lines (some setups log them to syslog only) trust postsuper's count.
  const missed = result.done.length > 0 || result.count === 0 ? ids.filter((id) => !done.has(id)) : [];
  return { ...base, count: result.count, done: result.done, missed, summary: result.summary, warnings: result.warnings };
}
