/**
 * Run the real Terraform and cdktf CLIs the way this machine needs: offline (no checkpoint calls),
 * with an empty CLI configuration file (quiets "Unable to open CLI configuration file"), no colour.
 */
import { spawn } from 'child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { connect } from 'net';
import { join, resolve } from 'path';

export const REPO_ROOT = resolve(__dirname, '..', '..');
export const CDKTF_BIN = join(REPO_ROOT, 'node_modules', '.bin', 'cdktf');

let emptyCliConfig: string | undefined;

/** Environment for terraform/cdktf runs: process.env + CHECKPOINT_DISABLE + an empty TF_CLI_CONFIG_FILE. */
export function terraformEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  if (!emptyCliConfig || !existsSync(emptyCliConfig)) {
    emptyCliConfig = join(mkdtempSync(join(tmpdir(), 'cdktf-postfix-tfrc-')), 'empty.tfrc');
    writeFileSync(emptyCliConfig, '');
  }
  return {
    ...process.env,
    CHECKPOINT_DISABLE: '1',
    TF_CLI_CONFIG_FILE: emptyCliConfig,
    TF_IN_AUTOMATION: '1',
    NO_COLOR: '1',
    FORCE_COLOR: '0',
    ...extra,
  };
}

export interface CommandResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** The command line, for failure messages. */
  readonly command: string;
}

/** A command started in the background: its output so far, a wait for a line, and its result. */
export interface StartedCommand {
  readonly result: Promise<CommandResult>;
  /** stdout + stderr so far. */
  output(): string;
  /** Resolves once the output matches `pattern`; rejects if the command ends first (with its output). */
  waitForOutput(pattern: RegExp): Promise<void>;
}

/** Starts a command (stdin closed); its result never rejects on a non-zero exit. */
export function startCommand(
  cmd: string,
  args: string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): StartedCommand {
  const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? terraformEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  let both = '';
  const watchers: (() => void)[] = [];
  const seen = () => [...watchers].forEach((w) => w());
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 300_000);
  child.stdout.on('data', (b: Buffer) => {
    out.push(b);
    both += b.toString('utf8');
    seen();
  });
  child.stderr.on('data', (b: Buffer) => {
    err.push(b);
    both += b.toString('utf8');
    seen();
  });
  let ended = false;
  const result = new Promise<CommandResult>((resolvePromise, reject) => {
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      ended = true;
      resolvePromise({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        command: `(cd ${opts.cwd} && ${cmd} ${args.join(' ')})`,
      });
      seen();
    });
  });
  const waitForOutput = (pattern: RegExp) =>
    new Promise<void>((resolveWait, reject) => {
      const check = () => {
        if (pattern.test(stripAnsi(both))) resolveWait();
        else if (ended) reject(new Error(`${cmd} ended before its output matched ${pattern}:\n${both}`));
        else return;
        watchers.splice(watchers.indexOf(check), 1);
      };
      watchers.push(check);
      check();
    });
  return { result, output: () => both, waitForOutput };
}

/** Runs a command to completion (stdin closed); never rejects on a non-zero exit. */
export function runCommand(
  cmd: string,
  args: string[],
  opts: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<CommandResult> {
  return startCommand(cmd, args, opts).result;
}

/** `terraform ARGS` in dir. */
export function terraform(dir: string, args: string[], env?: NodeJS.ProcessEnv): Promise<CommandResult> {
  return runCommand('terraform', args, { cwd: dir, env: env ?? terraformEnv() });
}

/** `cdktf ARGS` (the cdktf-cli devDependency) in a project directory. */
export function cdktf(projectDir: string, args: string[], env?: NodeJS.ProcessEnv): Promise<CommandResult> {
  return runCommand(CDKTF_BIN, args, { cwd: projectDir, env: env ?? terraformEnv(), timeoutMs: 600_000 });
}

/** Throws with the full output unless the command exited 0 (or one of `okCodes`). */
export function expectOk(r: CommandResult, okCodes: number[] = [0]): CommandResult {
  if (!okCodes.includes(r.code)) {
    throw new Error(`${r.command} exited ${r.code}\n--- stdout:\n${r.stdout}\n--- stderr:\n${r.stderr}`);
  }
  return r;
}

/** Strips ANSI escape sequences (cdktf's progress output keeps some even with --no-color). */
export function stripAnsi(text: string): string {
  return text.replace(/\x1b\[[0-9;?]*[A-Za-z]/g, '');
}

/** Files under dir (recursively, .terraform included) whose content contains needle. */
export function filesContaining(dir: string, needle: string): string[] {
  const hits: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      const st = statSync(p);
      if (st.isDirectory()) walk(p);
      else if (st.isFile() && readFileSync(p).includes(needle)) hits.push(p);
    }
  };
  walk(dir);
  return hits;
}

/**
 * A cdktf project directory whose app runs the built examples/mail-host program (dist/), so
 * `cdktf deploy` synthesizes without rebuilding the package. State lands in the project dir.
 */
export function mailHostProject(): string {
  return exampleProject('mail-host');
}

/** A cdktf project directory whose app runs the built examples/<name>/main.js (see mailHostProject). */
export function exampleProject(name: string): string {
  const main = join(REPO_ROOT, 'dist', 'examples', name, 'main.js');
  if (!existsSync(main)) throw new Error(`${main} is missing: run \`npm run build\` first`);
  const dir = mkdtempSync(join(tmpdir(), 'cdktf-postfix-project-'));
  writeFileSync(
    join(dir, 'cdktf.json'),
    JSON.stringify(
      {
        language: 'typescript',
        app: `node ${JSON.stringify(main)}`,
        projectId: 'cdktf-postfix-test',
        sendCrashReports: 'false',
        terraformProviders: [],
        terraformModules: [],
        context: {},
      },
      null,
      2,
    ),
  );
  return dir;
}

/** Connects to address:25, returns the 220 greeting and the EHLO response lines, then QUITs. */
export function smtpGreeting(address: string, port = 25, timeoutMs = 10_000): Promise<{ banner: string; ehlo: string[] }> {
  return new Promise((resolvePromise, reject) => {
    const socket = connect(port, address);
    let buffer = '';
    let banner = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`SMTP ${address}:${port}: no complete answer in ${timeoutMs} ms (got ${JSON.stringify(buffer)})`));
    }, timeoutMs);
    socket.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    socket.on('data', (d: Buffer) => {
      buffer += d.toString('utf8');
      const lines = buffer.split('\r\n');
      if (!banner) {
        const last = lines.findIndex((l) => /^\d{3} /.test(l));
        if (last < 0) return;
        banner = lines[last];
        buffer = lines.slice(last + 1).join('\r\n');
        socket.write('EHLO cdktf-postfix.test\r\n');
        return;
      }
      const done = lines.findIndex((l) => /^\d{3} /.test(l));
      if (done < 0) return;
      clearTimeout(timer);
      socket.end('QUIT\r\n');
      resolvePromise({ banner, ehlo: lines.slice(0, done + 1) });
    });
  });
}
