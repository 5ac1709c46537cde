import { createTwoFilesPatch } from 'diff';
import { Bundle } from '../model/bundle';

/** Sections printed by the remote transaction's status action. */
export interface LiveState {
  readonly main: string[];
  readonly master: string[];
  readonly mainOrig: Map<string, { state: string; value: string }>;
  readonly masterOrig: Map<string, { state: string; value: string }>;
  readonly files: Map<string, { present: boolean; stat?: string; sha256?: string; content?: Buffer }>;
}

export function parseStatus(output: string): LiveState {
  const sections = new Map<string, string[]>();
  const files: LiveState['files'] = new Map();
  let current: string[] = [];
  for (const line of output.split('\n')) {
    if (line.startsWith('@@section\t')) {
      const [, name, path, stat, sha] = line.split('\t');
      current = [];
      if (name === 'file') files.set(path, { present: true, stat, sha256: sha });
      else if (name === 'nofile') files.set(path, { present: false });
      sections.set(name === 'file' || name === 'nofile' ? `${name}:${path}` : name, current);
      continue;
    }
    if (line.startsWith('result\t')) break;
    current.push(line);
  }
  for (const [path, file] of files) {
    const body = sections.get(`file:${path}`)?.join('') ?? '';
    if (file.present && body) file.content = Buffer.from(body, 'base64');
  }
  const records = (name: string) => {
    const m = new Map<string, { state: string; value: string }>();
    for (const l of sections.get(name) ?? []) {
      if (!l) continue;
      const [k, state, ...rest] = l.split('\t');
      m.set(k, { state, value: rest.join('\t') });
    }
    return m;
  };
  const nonEmpty = (name: string) => (sections.get(name) ?? []).filter((l) => l !== '');
  return { main: nonEmpty('main'), master: nonEmpty('master'), mainOrig: records('main.orig'), masterOrig: records('master.orig'), files };
}

/** main.cf as `postconf -n` lines after the bundle would be applied. */
export function expectedMain(live: LiveState, bundle: Bundle): string[] {
  const values = new Map<string, string>();
  for (const line of live.main) {
    const i = line.indexOf(' = ');
    if (i > 0) values.set(line.slice(0, i), line.slice(i + 3));
    else if (line.endsWith(' =')) values.set(line.slice(0, -2), '');
  }
  for (const [name, orig] of live.mainOrig) {
    if (name in bundle.mainCf.set || bundle.mainCf.remove.includes(name)) continue;
    if (orig.state === 'set') values.set(name, orig.value);
    else values.delete(name);
  }
  for (const [name, value] of Object.entries(bundle.mainCf.set)) values.set(name, value);
  for (const name of bundle.mainCf.remove) values.delete(name);
  return [...values.keys()].sort().map((k) => (values.get(k) === '' ? `${k} =` : `${k} = ${values.get(k)}`));
}

const normalizeLine = (l: string): string => l.replace(/[ \t]+/g, ' ').trim();
const keyOf = (l: string): string => l.split(' ').slice(0, 2).join('/');

/** master.cf entries (normalized, one a line) after the bundle would be applied. */
export function expectedMaster(live: LiveState, bundle: Bundle): string[] {
  const entries = live.master.map(normalizeLine);
  const index = new Map(entries.map((l, i) => [keyOf(l), i]));
  const result: (string | undefined)[] = [...entries];
  const put = (key: string, line: string | undefined) => {
    const i = index.get(key);
    if (i !== undefined) result[i] = line;
    else if (line !== undefined) {
      index.set(key, result.length);
      result.push(line);
    }
  };
  for (const [key, orig] of live.masterOrig) {
    if (key in bundle.masterCf.set || bundle.masterCf.remove.includes(key)) continue;
    put(key, orig.state === 'set' ? orig.value : undefined);
  }
  for (const [key, line] of Object.entries(bundle.masterCf.set)) put(key, normalizeLine(line));
  for (const key of bundle.masterCf.remove) put(key, undefined);
  return result.filter((l): l is string => l !== undefined);
}

/** One file that differs: which, and its unified diff (or a one-line note for secrets and metadata). */
export interface FileChange {
  readonly file: string;
  readonly patch: string;
}

export interface HostDiff {
  readonly different: boolean;
  readonly text: string;
  /** The same differences, one entry a file (for `diff --json`). */
  readonly changes: FileChange[];
}

/** A unified diff of the live host against its bundle (main.cf, master.cf, each managed file). */
export function diffHost(
  live: LiveState,
  bundle: Bundle,
  label: string,
  desiredFile: (path: string) => { sha256: string; content?: Buffer; secret: boolean },
): HostDiff {
  const changes: FileChange[] = [];
  const add = (file: string, text: string) => {
    const last = changes[changes.length - 1];
    if (last?.file === file) changes[changes.length - 1] = { file, patch: last.patch + text };
    else changes.push({ file, patch: text });
  };
  const patch = (name: string, before: string, after: string, file = name) => {
    if (before === after) return;
    add(file, createTwoFilesPatch(`${label}:${name} (live)`, `${label}:${name} (desired)`, before, after, '', '', { context: 3 }));
  };
  const text = (lines: string[]) => (lines.length ? lines.join('\n') + '\n' : '');
  patch('main.cf (postconf -n)', text(live.main), text(expectedMain(live, bundle)), 'main.cf');
  patch('master.cf (postconf -M)', text(live.master.map(normalizeLine)), text(expectedMaster(live, bundle)), 'master.cf');
  for (const path of Object.keys(bundle.files)) {
    const liveFile = live.files.get(path);
    const want = desiredFile(path);
    const wantStat = `${bundle.files[path].mode.replace(/^0+/, '') || '0'} ${bundle.files[path].owner} ${bundle.files[path].group}`;
    if (liveFile?.present && liveFile.sha256 === want.sha256 && liveFile.stat === wantStat) continue;
    if (!liveFile?.present) {
      add(
        path,
        want.secret || !want.content
          ? `+++ ${label}:${path}: missing on the host (sha256 ${want.sha256})\n`
          : createTwoFilesPatch(`${label}:${path} (absent)`, `${label}:${path} (desired)`, '', want.content.toString('utf8')),
      );
      continue;
    }
    if (liveFile.sha256 !== want.sha256) {
      if (want.secret || !want.content || !liveFile.content)
        add(path, `~~~ ${label}:${path}: content differs (live sha256 ${liveFile.sha256}, desired ${want.sha256})\n`);
      else patch(path, liveFile.content.toString('utf8'), want.content.toString('utf8'));
    }
    if (liveFile.stat !== wantStat) add(path, `~~~ ${label}:${path}: mode/owner ${liveFile.stat} -> ${wantStat}\n`);
  }
  return { different: changes.length > 0, text: changes.map((c) => c.patch).join(''), changes };
}
