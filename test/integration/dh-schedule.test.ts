/**
 * Issue 12 item 9: the DH rotation that the host schedules actually fires. On a lab host, the job
 * installed by DhParameters is run exactly as its scheduler would run it:
 * - cron: the command of the /etc/cron.d entry, through SHELL (/bin/sh -c) with cron's own minimal
 *   environment (SHELL=/bin/sh PATH=/usr/bin:/bin HOME=/root LOGNAME=root) plus the variables the
 *   file sets, as cron(8) does; and once with cron's bare defaults only;
 * - systemd: the ExecStart argv of the installed .service, without a shell, with the manager's
 *   default PATH and nothing else.
 * Each time: the parameter file is replaced (different, passes `openssl dhparam -check`), Postfix is
 * reloaded (same master pid, "reload" in its log) and DHE handshakes carry the new group (dh_p on the
 * wire equals the prime in the file).
 * And a stale lock cannot block it forever: a rotation SIGKILLed mid-generation, and the lock
 * directory that earlier versions of the script left behind, are both followed by a rotation that
 * works; a rotation that is really running still makes a second one back off (exit 75).
 *
 * No -i: the scheduled command runs unchanged. Generation is instant because of the openssl stand-in
 * of test/helpers/dh-lab.ts (RFC 7919 groups for `openssl dhparam -out`), which can also be made to
 * sleep mid-generation, which is where this test kills a rotation.
 */
import { DhRotation } from '../../constructs/dh-parameters';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Lab, LabHost, startLab } from '../lab';
import { dhParameterPrime } from '../../lib/model/dh';
import { DH_ROTATE_EXIT } from '../../lib/render/dh-rotation';
import { applyStack } from '../helpers/deploy';
import { readPids, signalPid } from '../helpers/signal';
import { DhLabHost, dheHandshake, dhStack, hostExec, prepareDhLabHost, selfSignedRsa } from '../helpers/dh-lab';

jest.setTimeout(240_000);

const DH_PATH = '/etc/postfix/dh2048.pem';
const CRON = '/etc/cron.d/cdktf-postfix-dh';
const UNIT = '/etc/systemd/system/cdktf-postfix-dh.service';
/** What cron(8) puts in a job's environment before the crontab's own assignments. */
const CRON_DEFAULTS = ['SHELL=/bin/sh', 'PATH=/usr/bin:/bin', 'HOME=/root', 'LOGNAME=root'];
/** systemd's default PATH for system services (no HOME, LOGNAME or SHELL without User=). */
const SYSTEMD_PATH = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

let lab: Lab;
let h: LabHost;
let dir: string;
let certPem: string;
let hooks: DhLabHost;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'dh-schedule-'));
  let keyPem: string;
  ({ keyPem, certPem } = selfSignedRsa(dir));
  process.env.TF_VAR_tls_key = keyPem;
  lab = await startLab({ count: 1 });
  h = lab.hosts[0];
  hooks = await prepareDhLabHost(h, dir, false);
}, 180_000);

afterAll(async () => {
  delete process.env.TF_VAR_tls_key;
  await lab?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The installed cron.d entry: its variable assignments and the command of its one job line. */
function cronJob(text: string): { env: string[]; command: string } {
  const env: string[] = [];
  const jobs: string[] = [];
  for (const line of text.split('\n').map((l) => l.trim())) {
    if (line === '' || line.startsWith('#')) continue;
    const assignment = /^([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (assignment) env.push(`${assignment[1]}=${assignment[2]}`);
    else jobs.push(line);
  }
  expect(jobs).toHaveLength(1);
  // cron.d: five time fields (or one @keyword), the user, then the command to the end of the line.
  const fields = jobs[0].startsWith('@') ? 1 : 5;
  const m = new RegExp(`^(?:\\S+\\s+){${fields}}(\\S+)\\s+(.+)$`).exec(jobs[0]);
  expect(m?.[1]).toBe('root');
  return { env, command: m![2] };
}

/** Runs the cron job's command as cron would: env -i, cron's defaults (+ the file's), $SHELL -c. */
async function runCronJob(withFileEnv = true) {
  const job = cronJob(h.readFile(CRON));
  const env = [...CRON_DEFAULTS, ...(withFileEnv ? job.env : [])];
  return h.exec(['env', '-i', ...env, '/bin/sh', '-c', job.command]);
}

interface Before {
  content: string;
  masterPid: string;
  logAt: number;
}

async function snapshot(): Promise<Before> {
  return {
    content: h.readFile(DH_PATH),
    masterPid: (await hostExec(h, ['cat', '/var/spool/postfix/pid/master.pid'])).trim(),
    logAt: readFileSync(h.mailLogPath, 'utf8').length,
  };
}

/** Replaced with valid parameters, reloaded (not restarted), and the new group on the wire. */
async function expectRotated(before: Before): Promise<void> {
  const after = h.readFile(DH_PATH);
  expect(after).not.toBe(before.content);
  const check = await h.exec(['openssl', 'dhparam', '-in', DH_PATH, '-check', '-noout']);
  expect([check.code, `${check.stdout}${check.stderr}`.trim()]).toEqual([0, 'DH parameters appear to be ok.']);
  expect((await hostExec(h, ['stat', '-c', '%a %U', DH_PATH])).trim()).toBe('644 root');
  expect((await hostExec(h, ['ls', '-a', '/etc/postfix'])).split('\n').filter((f) => /^dh2048\.pem\./.test(f))).toEqual([]);
  expect((await hostExec(h, ['cat', '/var/spool/postfix/pid/master.pid'])).trim()).toBe(before.masterPid);
  const end = Date.now() + 15_000;
  const logSince = () => readFileSync(h.mailLogPath, 'utf8').slice(before.logAt);
  while (!/postfix\/master\[\d+\]: reload -- version/.test(logSince()) && Date.now() < end) await new Promise((r) => setTimeout(r, 200));
  expect(logSince()).toMatch(/postfix\/master\[\d+\]: reload -- version/);
  const hs = await dheHandshake(h.address);
  expect(hs.established).toBe(true);
  expect(hs.cipher).toMatch(/^DHE-RSA-/);
  expect(hs.prime?.toString('hex')).toBe(dhParameterPrime(after).toString('hex'));
  expect(hs.prime?.toString('hex')).not.toBe(dhParameterPrime(before.content).toString('hex'));
}

async function waitFor(cond: () => boolean, what: string): Promise<void> {
  for (const end = Date.now() + 30_000; !cond(); await new Promise((r) => setTimeout(r, 100))) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
  }
}

describe('the scheduled DH rotation fires', () => {
  it("cron: the installed entry, run with cron's environment, rotates and reloads", async () => {
    const [r] = await applyStack(dhStack(h, certPem, { rotation: DhRotation.CRON }));
    expect([r.result, r.error]).toEqual(['applied', undefined]);
    const before = await snapshot();
    const run = await runCronJob();
    expect([run.code, run.stderr]).toEqual([DH_ROTATE_EXIT.OK, '']);
    await expectRotated(before);
  });

  it('a rotation that is running makes a second one back off; SIGKILLed mid-generation, it blocks nothing', async () => {
    const before = await snapshot();
    writeFileSync(hooks.slowMarker, '');
    // The job in the background, as cron would start it; its openssl stand-in sleeps mid-generation.
    const job = cronJob(h.readFile(CRON));
    await hostExec(h, ['sh', '-c', 'env -i "$@" >/dev/null 2>&1 &', 'sh', ...CRON_DEFAULTS, ...job.env, '/bin/sh', '-c', job.command]);
    await waitFor(() => readPids(hooks.slowPidFile, 2) !== undefined, 'the rotation to reach openssl dhparam');
    const [opensslPid, rotationPid] = readPids(hooks.slowPidFile, 2)!;

    const second = await runCronJob();
    expect(second.code).toBe(DH_ROTATE_EXIT.BUSY);
    expect(h.readFile(DH_PATH)).toBe(before.content);

    signalPid(rotationPid, 'SIGKILL'); // the rotation script itself; its openssl lives on, orphaned
    await waitFor(() => !existsSync(`/proc/${rotationPid}`), 'the killed rotation to be gone');
    rmSync(hooks.slowMarker);
    try {
      const after = await runCronJob(false); // cron's bare defaults this time: the script needs no more
      expect([after.code, after.stderr]).toEqual([DH_ROTATE_EXIT.OK, '']);
      await expectRotated(before);
    } finally {
      signalPid(opensslPid, 'SIGKILL');
    }
  });

  it('the lock directory an earlier version left behind does not block it', async () => {
    const before = await snapshot();
    await hostExec(h, ['mkdir', `${DH_PATH}.lock`]);
    const run = await runCronJob();
    expect([run.code, run.stderr]).toEqual([DH_ROTATE_EXIT.OK, '']);
    await expectRotated(before);
    expect((await h.exec(['test', '-e', `${DH_PATH}.lock`])).code).not.toBe(0);
  });

  it("systemd: the installed unit's ExecStart, run as the manager would, rotates and reloads", async () => {
    const [r] = await applyStack(dhStack(h, certPem, { rotation: DhRotation.SYSTEMD }));
    expect([r.result, r.error]).toEqual(['applied', undefined]);
    const execStart = /^ExecStart=(.+)$/m.exec(h.readFile(UNIT))?.[1];
    expect(execStart).toBeDefined();
    const before = await snapshot();
    // systemd splits ExecStart into argv itself (no shell); the line has only plain words.
    const run = await h.exec(['env', '-i', SYSTEMD_PATH, ...execStart!.split(/\s+/)]);
    expect([run.code, run.stderr]).toEqual([DH_ROTATE_EXIT.OK, '']);
    await expectRotated(before);
  });
});
