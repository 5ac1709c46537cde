import { dirname } from 'path';
import { ApplyError } from '../errors';
import { readInputFile } from '../files';
import { Bundle, checkBundleFormat } from '../model/bundle';
import { ConnectionSpec } from '../model/connection';
import { sha256Hex } from '../render/hash';
import { bundleJson } from '../render/bundle';
import { checkFileRoots } from '../model/file-roots';
import { buildGoAnswer, buildStage, envContentsOf, fileContent, StageInput, TransactionAction } from './stage';
import { TRANSACTION_COMMAND } from './remote-script';
import { resolveConnection } from '../transport/connection';
import { ExecResult, SshSession } from '../transport/ssh';
import { PassThrough } from 'stream';
import { checkTls, TlsCheckResult } from '../probe/tls-check';
import { relayRefusal } from './relay-preflight';

export interface HostChange {
  readonly kind: 'main' | 'master' | 'file';
  readonly name: string;
}

/** The machine-readable report of one host's apply. */
export interface HostReport {
  readonly host: string;
  readonly target: string;
  readonly action: TransactionAction;
  readonly result: 'applied' | 'unchanged' | 'removed' | 'failed' | 'status' | 'changes';
  readonly changed: HostChange[];
  readonly ran: string[];
  /** Milliseconds from sending the transaction to the end of each step (as the lines arrive). */
  readonly steps: Record<string, number>;
  /** The remote transaction's CPU (its shell and reaped children) at the end of each step, ms; for benchmarks. */
  readonly hostCpuMs?: Record<string, number>;
  readonly durationMs: number;
  readonly connectMs: number;
  readonly error?: string;
  /** Raw output for the status action (used by diff). */
  readonly output?: string;
  /** TLS probes made right after the apply, when the bundle asks for them. */
  readonly tlsChecks?: TlsCheckResult[];
}

export interface LoadedBundle {
  readonly bundle: Bundle;
  readonly sha256: string;
  readonly dir: string;
}

export function loadBundle(path: string): LoadedBundle {
  const text = readInputFile(
    path,
    'bundle',
    'synthesize the stack again (`cdktf synth`) and pass its directory, e.g. cdktf.out/stacks/mail',
  );
  const bundle = JSON.parse(text) as Bundle;
  checkBundleFormat(path, (bundle as { format?: unknown }).format);
  return { bundle, sha256: sha256Hex(bundleJson(bundle)), dir: dirname(path) };
}

export interface HostOperation {
  readonly connection: ConnectionSpec;
  readonly bundle: LoadedBundle;
  readonly action: TransactionAction;
  /** Environment for fromEnv files. @default process.env */
  readonly env?: NodeJS.ProcessEnv;
  /** For destroy: the bundle hash recorded by Terraform when it applied (skip if the host moved on). */
  readonly appliedSha256?: string;
  /** Files the host-side hooks need, by payload name. */
  readonly hookScripts?: Readonly<Record<string, string>>;
  /** Open session to reuse (one connection per host). */
  readonly session?: SshSession;
  /** Wait-for-SSH progress lines. @default process.stderr */
  readonly progress?: (line: string) => void;
  /** Cancels the operation: the SSH connection is closed (the remote transaction ends on its own). */
  readonly signal?: AbortSignal;
}

/**
 * Run one transaction on one host over one SSH connection. The staging stream carries the plan
 * without file payloads; an apply's host holds, says which payloads it lacks, and only those travel,
 * on the same stdin, once the relay check has passed (transact).
 */
export async function runHostOperation(op: HostOperation): Promise<HostReport> {
  const started = Date.now();
  const env = op.env ?? process.env;
  const bundle = op.action === 'destroy' ? desiredNothing(op.bundle.bundle) : op.bundle.bundle;
  const envContents = envContentsOf(bundle, env);
  const shaCache = new Map<string, string>();
  const shaOf = (path: string): string => {
    const f = bundle.files[path];
    if (f.sha256) return f.sha256;
    if (!shaCache.has(path)) shaCache.set(path, sha256Hex(fileContent({ bundle, bundleDir: op.bundle.dir, envContents }, path)));
    return shaCache.get(path)!;
  };
  // Refused before connecting: a bundle (hand-edited, or from elsewhere) naming a file outside its roots.
  checkFileRoots(bundle.host, bundle.configDirectory, bundle.fileRoots, [...Object.keys(bundle.files), ...bundle.hooks.map((h) => h.path)]);
  const target = resolveConnection(op.connection, env);
  const session = op.session ?? (await SshSession.connect(target, { progress: op.progress }));
  const connectMs = Date.now() - started;
  const cancel = (): void => session.close();
  op.signal?.addEventListener('abort', cancel, { once: true });
  try {
    if (op.signal?.aborted) throw new ApplyError(target.label, 'connect', 'cancelled');
    const sha =
      op.action === 'destroy'
        ? await destroyGuardSha(session, op.bundle.bundle, bundle, op.appliedSha256)
        : desiredSha256(op.bundle.sha256, bundle, shaOf);
    let payloads = new Set<string>();
    // An apply holds after its plan for the relay check (relay-preflight.ts) and, when it passes,
    // goes on in the same transaction with the payloads the host lacks; a no-op ends before (fast
    // path). Another round only if the host still lacks a payload (its files changed meanwhile).
    let hold = op.action === 'apply';
    for (let round = 0; round < 4; round++) {
      const input: StageInput = {
        action: op.action,
        bundle,
        bundleSha256: sha,
        bundleDir: op.bundle.dir,
        envContents,
        payloads,
        hookScripts: op.hookScripts,
        hold,
        fault: env.CDKTF_POSTFIX_FAULT,
      };
      const t = await transact(session, input, shaOf, (held) => relayRefusal(held, input, target.label));
      const { parsed } = t;
      if (t.refusal)
        return {
          host: bundle.host,
          target: target.label,
          action: op.action,
          result: 'failed',
          changed: [],
          ran: [],
          steps: parsed.steps,
          hostCpuMs: parsed.hostCpuMs,
          durationMs: Date.now() - started,
          connectMs,
          error: t.refusal,
        };
      hold = false;
      if (parsed.result === 'need') {
        payloads = new Set([...payloads, ...parsed.needs]);
        continue;
      }
      const result = t.result;
      const error =
        parsed.errors.join('; ') ||
        (result.code !== 0 || !parsed.result
          ? `remote transaction exited ${result.code}: ${result.stderr.trim() || result.stdout.trim()}`
          : undefined);
      const tlsChecks = !error && op.action === 'apply' ? await runTlsChecks(bundle, target.hostName) : undefined;
      const tlsError = tlsChecks
        ?.filter((c) => !c.ok)
        .map((c) => `TLS check of port ${c.target.port} failed: ${[c.error, ...c.violations].filter(Boolean).join('; ')}`)
        .join('; ');
      return {
        host: bundle.host,
        target: target.label,
        action: op.action,
        result: error ? 'failed' : (parsed.result as HostReport['result']),
        changed: parsed.changed,
        ran: parsed.ran,
        steps: parsed.steps,
        hostCpuMs: parsed.hostCpuMs,
        durationMs: Date.now() - started,
        connectMs,
        ...(error || tlsError ? { error: error || tlsError } : {}),
        ...(tlsChecks ? { tlsChecks } : {}),
        ...(op.action === 'status' ? { output: result.stdout } : {}),
      };
    }
    throw new ApplyError(target.label, 'stage', 'the host kept asking for file contents; another apply may be changing the same files');
  } finally {
    op.signal?.removeEventListener('abort', cancel);
    if (!op.session) session.close();
  }
}

interface Transaction {
  readonly result: ExecResult;
  /** Events after the hold (all of them when there was none); steps and host CPU of the whole run. */
  readonly parsed: ParsedEvents;
  /** The relay check's refusal of a held plan (the host was told to stop). */
  readonly refusal?: string;
}

/**
 * One transaction on the host over one exec: the staging stream, and for a held apply the answer to
 * its plan on the same stdin (remote/plan.sh): "stop" when `checkHeld` refuses the live state the
 * host printed, else "go" with the payloads the host said it lacks. One SSH session, one lock, one
 * reading of the host's state for the check and the change.
 */
export async function transact(
  session: SshSession,
  input: StageInput,
  shaOf: (path: string) => string,
  checkHeld: (held: string) => string | undefined,
): Promise<Transaction> {
  const stdin = new PassThrough();
  const stage = buildStage(input, shaOf);
  stage.on('error', (e) => stdin.destroy(e));
  stage.pipe(stdin, { end: !input.hold });
  const lines: string[] = [];
  const stepTimes: Record<string, number> = {};
  let heldLines = -1;
  let refusal: string | undefined;
  const sent = Date.now();
  // It runs inside the SSH stream's data handler: a throw there would escape this call, so it is
  // kept, the host told to stop, and thrown once the transaction has ended.
  let failure: { error: unknown } | undefined;
  const answerHold = (): void => {
    heldLines = lines.length;
    const held = lines.join('\n');
    try {
      refusal = checkHeld(held);
      if (refusal) return void stdin.end('stop\n');
      const answer = buildGoAnswer(input, new Set(parseEvents(held).needs), shaOf);
      answer.on('error', (e) => stdin.destroy(e));
      answer.pipe(stdin);
    } catch (error) {
      failure = { error };
      stdin.end('stop\n');
    }
  };
  let result: ExecResult;
  try {
    result = await session.exec(TRANSACTION_COMMAND, stdin, (line) => {
      lines.push(line);
      if (line.startsWith('step\t')) stepTimes[line.slice(5)] = Date.now() - sent;
      else if (line === 'result\thold' && heldLines < 0) answerHold();
    });
  } finally {
    // A transaction that ended without holding (fast path, failure) leaves its stdin open.
    stdin.destroy();
  }
  if (failure) throw failure.error;
  const whole = parseEvents(result.stdout);
  const parsed = heldLines < 0 ? whole : parseEvents(lines.slice(heldLines).join('\n'));
  return { result, parsed: { ...parsed, steps: { ...whole.steps, ...stepTimes }, hostCpuMs: whole.hostCpuMs }, refusal };
}

/**
 * The desired-state hash the host records and compares (its no-op fast path, the destroy guard):
 * the bundle's hash, plus, when the bundle has apply-time (fromEnv) files, a hash of their contents,
 * which the bundle cannot hold. Without it a rotated TLS key from a variable would look "unchanged".
 * Form: BUNDLE_SHA or BUNDLE_SHA+CONTENT_SHA, so Terraform's recorded bundle hash still names it.
 */
export function desiredSha256(bundleSha256: string, bundle: Bundle, shaOf: (path: string) => string): string {
  const fromEnv = Object.keys(bundle.files)
    .filter((p) => bundle.files[p].fromEnv !== undefined)
    .sort();
  if (fromEnv.length === 0) return bundleSha256;
  return `${bundleSha256}+${sha256Hex(fromEnv.map((p) => `${p}\t${shaOf(p)}`).join('\n'))}`;
}

/**
 * The hash a destroy must match on the host (a newer apply owns the host otherwise, and it is left
 * alone). Terraform records only the bundle hash; with fromEnv files the host holds BUNDLE_SHA+CONTENT_SHA,
 * which the destroy cannot compute without the secrets, so it reads the host's record first (one
 * status round, only for such bundles) and accepts it when it extends the recorded bundle hash.
 */
async function destroyGuardSha(session: SshSession, original: Bundle, nothing: Bundle, recorded: string | undefined): Promise<string> {
  if (!recorded || !Object.values(original.files).some((f) => f.fromEnv !== undefined)) return recorded ?? '';
  const status = buildStage({ action: 'status', bundle: nothing, bundleSha256: '', bundleDir: '', envContents: new Map() }, () => '');
  const lines = (await session.exec(TRANSACTION_COMMAND, status)).stdout.split('\n');
  const onHost = lines[lines.indexOf('@@section\tapplied_sha256') + 1] ?? '';
  return lines.includes('@@section\tapplied_sha256') && onHost.startsWith(`${recorded}+`) ? onHost : recorded;
}

/**
 * What a destroy sends: the bundle without files or hooks. The host's desired state for destroy is
 * "nothing" (the transaction restores every managed name and file from its own record), so no file
 * content is read, hashed or needed: a destroy runs without the secrets an apply needs (a TLS key in
 * a fromEnv variable is absent from the destroy provisioner's environment by design).
 */
export function desiredNothing(bundle: Bundle): Bundle {
  return {
    ...bundle,
    mainCf: { set: {}, remove: [] },
    masterCf: { set: {}, remove: [] },
    files: {},
    hooks: [],
    tableTypes: [],
    installPackages: [],
    tlsChecks: [],
  };
}

/** The bundle's TLS probes, from this machine to the host's address. */
async function runTlsChecks(bundle: Bundle, address: string): Promise<TlsCheckResult[] | undefined> {
  if (!bundle.tlsChecks?.length) return undefined;
  return Promise.all(
    bundle.tlsChecks.map((c) =>
      checkTls({ host: address, port: c.port, mode: c.mode }, { minProtocol: c.minProtocol }, { verifyHostname: false }),
    ),
  );
}

/** The sum of sh's `times` output ("0m0.012000s 0m0.004000s 0m0.100000s 0m0.050000s"), ms. */
function timesMs(text: string | undefined): number {
  let ms = 0;
  for (const m of (text ?? '').matchAll(/(\d+)m([\d.]+)s/g)) ms += (Number(m[1]) * 60 + Number(m[2])) * 1000;
  return Math.round(ms);
}

interface ParsedEvents {
  result?: string;
  needs: string[];
  changed: HostChange[];
  ran: string[];
  steps: Record<string, number>;
  hostCpuMs: Record<string, number>;
  errors: string[];
}

export function parseEvents(stdout: string): ParsedEvents {
  const parsed: ParsedEvents = { needs: [], changed: [], ran: [], steps: {}, hostCpuMs: {}, errors: [] };
  for (const line of stdout.split('\n')) {
    const [event, a, b] = line.split('\t');
    switch (event) {
      case 'result':
        parsed.result = a;
        break;
      case 'need':
        parsed.needs.push(a);
        break;
      case 'changed':
        parsed.changed.push({ kind: a as HostChange['kind'], name: b });
        break;
      case 'ran':
        parsed.ran.push(a);
        break;
      case 'step':
        if (b !== undefined) parsed.steps[a] = Number(b);
        break;
      case 'error':
        parsed.errors.push(a);
        break;
      case 'cpu':
        parsed.hostCpuMs[a] = timesMs(b);
        break;
    }
  }
  return parsed;
}
