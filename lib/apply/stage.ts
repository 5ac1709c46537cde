import { readFileSync } from 'fs';
import { join } from 'path';
import { createHash } from 'crypto';
import { Bundle, BundleHook } from '../model/bundle';
import { PostfixConfigError } from '../model/errors';
import { allowedFileRoots } from '../model/file-roots';
import { remoteScriptEntries, transactionPreamble } from './remote-script';
import { framedTarStream, prefixed, TarEntry } from './tar';
import { Readable } from 'stream';

export type TransactionAction = 'apply' | 'check' | 'destroy' | 'status';

export interface StageInput {
  readonly action: TransactionAction;
  readonly bundle: Bundle;
  readonly bundleSha256: string;
  /** Directory of bundle.json (asset files sit beside it). */
  readonly bundleDir: string;
  /** Contents of fromEnv files, resolved by the caller. */
  readonly envContents: ReadonlyMap<string, Buffer>;
  /** Which payloads to include (sha256s); undefined = none. */
  readonly payloads?: ReadonlySet<string>;
  /** Extra files the host-side hooks need (e.g. dh-rotate.sh). */
  readonly hookScripts?: Readonly<Record<string, string>>;
  /** Lab fault injection ("kill-after:STEP"); the host honours it only where the lab marked it. */
  readonly fault?: string;
  /** Stop after the plan, print the live state for the relay check (`result hold`) and wait for the answer (buildGoAnswer). */
  readonly hold?: boolean;
}

/** Line-based records: a value must not be able to start another record. */
function checkField(where: string, field: string, value: string, allowSpaces = true): string {
  if (/[\n\r\0\t]/.test(value) || (!allowSpaces && /\s/.test(value))) {
    throw new PostfixConfigError(
      where,
      field,
      value,
      'contains a newline, tab or NUL (or whitespace where none is allowed)',
      'fix the bundle; regenerate it with cdktf synth',
    );
  }
  return value;
}

/**
 * Names that travel to postconf as arguments (`-e name=value`, `-X name`, `-M name/type=...`,
 * `-MX name/type`) are checked here as well as at synth, so a hand-edited bundle cannot turn a
 * name into a postconf option (`-n`, `-c/tmp/x`). Parameter names: letters, digits, `_` and `-`
 * (per-service names such as smtp-out_destination_concurrency_limit); master.cf service names
 * (master(5)): no whitespace, `#`, `=`, `/` or braces; neither may start with `-`.
 */
const PARAMETER_NAME = /^[A-Za-z0-9_][A-Za-z0-9_-]*$/;
const SERVICE_KEY = /^[^-\s#=/{}\0][^\s#=/{}\0]*\/(inet|unix|unix-dgram|fifo|pass)$/;

function checkName(where: string, field: string, name: string, syntax: RegExp, fix: string): string {
  if (!syntax.test(name)) {
    throw new PostfixConfigError(
      where,
      field,
      name,
      'is not a valid Postfix name (it could reach postconf as an option or break the line)',
      `${fix}; the bundle was edited by hand or is corrupt: regenerate it with cdktf synth`,
    );
  }
  return name;
}
const parameterName = (where: string, field: string, name: string) =>
  checkName(where, field, name, PARAMETER_NAME, 'use a main.cf parameter name such as smtpd_banner');
const serviceKey = (where: string, field: string, key: string) =>
  checkName(where, field, key, SERVICE_KEY, 'use a master.cf "service/type" such as submission/inet');

/** The contents of the bundle's fromEnv files that the environment provides. */
export function envContentsOf(bundle: Bundle, env: NodeJS.ProcessEnv): Map<string, Buffer> {
  const contents = new Map<string, Buffer>();
  for (const file of Object.values(bundle.files)) {
    if (file.fromEnv && env[file.fromEnv] !== undefined) contents.set(file.fromEnv, Buffer.from(env[file.fromEnv]!, 'utf8'));
  }
  return contents;
}

/** A payload for the tar stream: asset files stay on disk and are streamed. */
function payloadData(input: Pick<StageInput, 'bundle' | 'bundleDir' | 'envContents'>, path: string): TarEntry['data'] {
  const file = input.bundle.files[path];
  if (file.asset !== undefined && file.content === undefined)
    return { path: join(input.bundleDir, file.asset.replace(/[/\\]/g, '')), size: file.size ?? 0 };
  return fileContent(input, path);
}

/** File content for a bundle entry, from inline text, an asset beside bundle.json or the environment. */
export function fileContent(input: Pick<StageInput, 'bundle' | 'bundleDir' | 'envContents'>, path: string): Buffer {
  const file = input.bundle.files[path];
  if (file.content !== undefined) return Buffer.from(file.content, 'utf8');
  if (file.asset !== undefined) return readFileSync(join(input.bundleDir, file.asset.replace(/[/\\]/g, '')));
  const env = file.fromEnv !== undefined ? input.envContents.get(file.fromEnv) : undefined;
  if (env === undefined)
    throw new PostfixConfigError(
      input.bundle.host,
      `file ${path}`,
      undefined,
      `its content comes from environment variable ${file.fromEnv}, which is not set`,
      'run the apply through Terraform (cdktf deploy), or export the variable',
    );
  return env;
}

export function buildStage(input: StageInput, shaOf: (path: string) => string): Readable {
  const { bundle } = input;
  const where = bundle.host;
  const lines = (xs: string[]): Buffer => Buffer.from(xs.map((x) => x + '\n').join(''), 'utf8');
  const entries: TarEntry[] = [
    ...remoteScriptEntries(),
    { name: 'action', data: Buffer.from(input.action) },
    { name: 'config_directory', data: Buffer.from(checkField(where, 'configDirectory', bundle.configDirectory, false)) },
    { name: 'bundle_sha256', data: Buffer.from(input.bundleSha256) },
    {
      name: 'main.set',
      data: lines(Object.entries(bundle.mainCf.set).map(([k, v]) => `${parameterName(where, 'mainCf.set', k)}=${checkField(where, k, v)}`)),
    },
    { name: 'main.remove', data: lines(bundle.mainCf.remove.map((k) => parameterName(where, 'mainCf.remove', k))) },
    {
      name: 'master.set',
      data: lines(
        Object.entries(bundle.masterCf.set).map(([k, v]) => `${serviceKey(where, 'masterCf.set', k)}=${checkField(where, k, v)}`),
      ),
    },
    { name: 'master.remove', data: lines(bundle.masterCf.remove.map((k) => serviceKey(where, 'masterCf.remove', k))) },
    {
      name: 'files.list',
      data: lines(
        Object.entries(bundle.files).map(([path, f]) =>
          [
            checkField(where, 'file', path, false),
            f.mode,
            f.owner,
            f.group,
            shaOf(path),
            f.postmap ?? (f.postalias ? `postalias:${f.postalias}` : '-'),
            f.fromEnv ? 'yes' : 'no',
          ]
            .map((x) => checkField(where, `file ${path}`, x, false))
            .join('\t'),
        ),
      ),
    },
    { name: 'tabletypes', data: lines(bundle.tableTypes.map((t) => checkField(where, 'tableTypes', t, false))) },
    { name: 'packages', data: lines(bundle.installPackages.map((p) => checkField(where, 'installPackages', p, false))) },
    {
      name: 'file_roots',
      data: lines(allowedFileRoots(bundle.configDirectory, bundle.fileRoots).map((r) => checkField(where, 'fileRoots', r, false))),
    },
    {
      name: 'hooks.list',
      data: lines(
        bundle.hooks.map((h) =>
          [h.kind, h.path, String(h.bits ?? 2048), hookGeneration(h, shaOf)].map((x) => checkField(where, 'hook', x, false)).join('\t'),
        ),
      ),
    },
  ];
  if (input.hold) entries.push({ name: 'hold', data: Buffer.from('yes\n') });
  entries.push(...payloadEntries(input, input.payloads, shaOf));
  if (input.fault) entries.push({ name: 'fault', data: Buffer.from(checkField(where, 'CDKTF_POSTFIX_FAULT', input.fault, false) + '\n') });
  for (const [name, text] of Object.entries(input.hookScripts ?? {}))
    entries.push({ name: `payload/${name}`, data: Buffer.from(text, 'utf8') });
  entries.push({ name: 'END', data: Buffer.from('ok\n') });
  // The entry program and its fast path's line first (remote-script.ts); the values are the tar's own.
  const preamble = transactionPreamble(input.action, checkField(where, 'bundle hash', input.bundleSha256, false), bundle.configDirectory);
  return prefixed(preamble, framedTarStream(entries));
}

/**
 * The answer to a held plan that may go on (remote/plan.sh, hold_for_relay_check): "go", then the
 * payloads the host said it lacks, as a framed tar ending in its own marker (END.go).
 */
export function buildGoAnswer(input: StageInput, needs: ReadonlySet<string>, shaOf: (path: string) => string): Readable {
  return prefixed('go\n', framedTarStream([...payloadEntries(input, needs, shaOf), { name: 'END.go', data: Buffer.from('ok\n') }]));
}

/** One tar member per wanted payload (by sha256; a content several files share travels once). */
function payloadEntries(input: StageInput, wanted: ReadonlySet<string> | undefined, shaOf: (path: string) => string): TarEntry[] {
  const entries: TarEntry[] = [];
  const added = new Set<string>();
  for (const path of Object.keys(input.bundle.files)) {
    const sha = shaOf(path);
    if (!wanted?.has(sha) || added.has(sha)) continue;
    added.add(sha);
    entries.push({ name: `payload/${sha}`, data: payloadData(input, path) });
  }
  return entries;
}

/** A hook's generation with the content of the files it watches folded in (see BundleHook.watch). */
export function hookGeneration(hook: BundleHook, shaOf: (path: string) => string): string {
  const generation = hook.generation ?? '0';
  if (!hook.watch?.length) return generation;
  const watched = createHash('sha256')
    .update(hook.watch.map((p) => `${p}\0${shaOf(p)}\n`).join(''))
    .digest('hex');
  return `${generation}.${watched.slice(0, 16)}`;
}
