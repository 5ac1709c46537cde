/**
 * examples/satellite end to end on two lab hosts, through the real `terraform apply`:
 * - host2 is a smarthost that requires SASL AUTH (Cyrus SASL, sasldb from sasl2-bin, PLAIN/LOGIN
 *   after STARTTLS with Debian's snakeoil certificate); an unauthenticated client is refused;
 * - host1 gets the satellite (Presets.satellite + SmartHostRelay, password through the sensitive
 *   variable TF_VAR_sasl_password); mail submitted there with sendmail is relayed by host2, whose
 *   log shows sasl_username=<user>, and delivered into host2's mailbox; mail to root follows
 *   MAIL_ROOT_ALIAS (a virtual alias on host1: recipient rewritten, sender kept);
 * - the relay probe: a client outside the satellite's mynetworks (127.0.0.5) asking it to relay is refused;
 * - the password appears in no synth output, bundle, state, plan or apply output, nor host1's mail log.
 * Lab-only overrides (the lab's own rules, not the example's): host1 listens on its lab address
 * instead of loopback-only (the lab hosts share 127.0.0.1), and its transports, which the lab sets to
 * "sends nowhere", are smtp again.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { App, LocalBackend } from 'cdktf';
import { Lab, LabHost, startLab } from '../lab';
import { SatelliteStack } from '../../examples/satellite/main';
import { expectOk, filesContaining, terraform, terraformEnv } from '../helpers/terraform';
import { run } from '../helpers/run';
import { addSaslUser } from '../helpers/sasl';

jest.setTimeout(300_000);

const OUTSIDE = '127.0.0.5';
const SASL_USER = 'relayuser';
const PASSWORD = `sasl-marker-${process.pid}-${Date.now()}`;
let lab: Lab;
let sat: LabHost;
let smart: LabHost;
let outdir: string;
const artifacts = new Map<string, string>();

/** The smarthost: Cyrus SASL (sasldb), AUTH required to send through it, STARTTLS with the snakeoil pair. */
async function configureSmarthost(h: LabHost): Promise<void> {
  await addSaslUser(h, SASL_USER, PASSWORD);
  const r = await h.exec([
    'postconf',
    '-e',
    'smtpd_sasl_auth_enable=yes',
    'smtpd_sasl_type=cyrus',
    'smtpd_tls_cert_file=/etc/ssl/certs/ssl-cert-snakeoil.pem',
    'smtpd_tls_key_file=/etc/ssl/private/ssl-cert-snakeoil.key',
    'smtpd_tls_security_level=may',
    'smtpd_tls_auth_only=yes',
    'mynetworks=127.0.0.1/32',
    'smtpd_relay_restrictions=permit_sasl_authenticated, reject',
  ]);
  if (r.code !== 0) throw new Error(r.stderr);
  await h.exec(['postfix', 'reload']);
}

function synthSatellite(): string {
  const app = new App({ outdir });
  const stack = new SatelliteStack(app, 'satellite', {
    env: {
      MAIL_HOST: sat.address,
      MAIL_SSH_KEY: sat.privateKeyPath,
      MAIL_KNOWN_HOSTS: sat.knownHostsPath,
      MAIL_HOSTNAME: sat.hostname,
      MAIL_SMARTHOST: `[${smart.address}]:25`,
      MAIL_SASL_USER: SASL_USER,
      MAIL_ROOT_ALIAS: `root@${smart.hostname}`,
    },
  });
  const stackDir = join(outdir, 'stacks', 'satellite');
  new LocalBackend(stack, { path: join(stackDir, 'terraform.tfstate') });
  stack.host.builder.replaceParameter('inet_interfaces', sat.address, 'smarthost.test (lab)');
  stack.host.applySettings({ default_transport: 'smtp', relay_transport: 'smtp' }, 'smarthost.test (lab)');
  app.synth();
  return stackDir;
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 300));
  }
}

const esc = (s: string) => s.replace(/[.[\]]/g, '\\$&');
const read = (p: string) => (existsSync(p) ? readFileSync(p, 'utf8') : '');

beforeAll(async () => {
  outdir = mkdtempSync(join(tmpdir(), 'smarthost-proof-'));
  lab = await startLab({ count: 2 });
  [sat, smart] = lab.hosts;
  await configureSmarthost(smart);
  const stackDir = synthSatellite();
  const env = terraformEnv({ TF_VAR_sasl_password: PASSWORD });
  expectOk(await terraform(stackDir, ['init', '-input=false', '-no-color'], env));
  const plan = expectOk(await terraform(stackDir, ['plan', '-input=false', '-no-color'], env));
  artifacts.set('terraform plan', plan.stdout + plan.stderr);
  const apply = expectOk(await terraform(stackDir, ['apply', '-auto-approve', '-input=false', '-no-color'], env));
  artifacts.set('terraform apply', apply.stdout + apply.stderr);
}, 240_000);

afterAll(async () => {
  await lab?.stop();
  if (outdir) rmSync(outdir, { recursive: true, force: true });
});

describe('the smarthost requires AUTH', () => {
  it('an unauthenticated client is refused', async () => {
    const r = await run(
      'swaks',
      [
        '--server',
        `${smart.address}:25`,
        '--local-interface',
        OUTSIDE,
        '--from',
        'a@outside.test',
        '--to',
        `root@${smart.hostname}`,
        '--quit-after',
        'RCPT',
        '--timeout',
        '20',
      ],
      60_000,
    );
    expect(r.stdout + r.stderr).toMatch(/<\*\* +554 5\.7\.1 .*Access denied/);
  });

  it('offers PLAIN and LOGIN after STARTTLS', async () => {
    const r = await run(
      'swaks',
      ['--server', `${smart.address}:25`, '--local-interface', OUTSIDE, '-tls', '--quit-after', 'AUTH', '--timeout', '20'],
      60_000,
    );
    expect(r.stdout).toMatch(/250-AUTH PLAIN LOGIN/);
  });
});

describe('examples/satellite applied to host1', () => {
  it('the password map is 0600 and built, and holds the password (the marker is real)', async () => {
    const map = sat.realPath('/etc/postfix/sasl_passwd');
    expect(statSync(map).mode & 0o777).toBe(0o600);
    expect(statSync(`${map}.db`).mode & 0o777).toBe(0o600);
    expect(readFileSync(map, 'utf8')).toBe(`[${smart.address}]:25 ${SASL_USER}:${PASSWORD}\n`);
    const q = await sat.exec(['postmap', '-q', `[${smart.address}]:25`, 'hash:/etc/postfix/sasl_passwd']);
    expect(q.stdout.trim()).toBe(`${SASL_USER}:${PASSWORD}`);
  });

  it('runs the null-client settings', async () => {
    const r = await sat.exec([
      'postconf',
      '-h',
      'relayhost',
      'smtp_sasl_auth_enable',
      'smtp_tls_security_level',
      'mydestination',
      'local_transport',
      'mynetworks',
    ]);
    expect(r.stdout.split('\n').slice(0, 6)).toEqual([
      `[${smart.address}]:25`,
      'yes',
      'encrypt',
      '',
      'error:local delivery is disabled on this satellite',
      '127.0.0.1/32 [::1]/128',
    ]);
  });

  it('mail submitted on host1 is relayed by host2 after AUTH as the user, over TLS, and delivered there', async () => {
    const tag = `relayed-${Date.now()}`;
    const s = await sat.exec(['sendmail', '-f', `app@${sat.hostname}`, `root@${smart.hostname}`], { input: `Subject: ${tag}\n\n${tag}\n` });
    expect(s.code).toBe(0);
    await until('host2 mailbox', () => read(smart.mailboxPath('root')).includes(tag));
    // smtpd_sasl_local_domain names the realm the user was created in: smtpd logs user@realm.
    const queueId = new RegExp(`(\\w+): client=\\S+, sasl_method=(PLAIN|LOGIN), sasl_username=${SASL_USER}@${esc(smart.hostname)}\n`).exec(
      read(smart.mailLogPath),
    );
    expect(queueId).not.toBeNull();
    // Each side logs status=sent just after the mailbox write or the 250: wait for the lines, do not race them.
    const deliveredThere = new RegExp(
      `${queueId![1]}: to=<root@${esc(smart.hostname)}>, relay=local, .*status=sent \\(delivered to mailbox\\)`,
    );
    await until('host2 delivery log line', () => deliveredThere.test(read(smart.mailLogPath)));
    const relayedHere = new RegExp(
      `to=<root@${esc(smart.hostname)}>, relay=${esc(smart.address)}\\[${esc(smart.address)}\\]:25, .*status=sent`,
    );
    await until('host1 relay log line', () => relayedHere.test(read(sat.mailLogPath)));
    // smtpd's session summary: STARTTLS came before AUTH (smtpd_tls_auth_only would refuse AUTH otherwise).
    expect(read(smart.mailLogPath)).toMatch(/disconnect from \S+ ehlo=2 starttls=1 auth=1 mail=1 rcpt=1 data=1 quit=1/);
  });

  it('mail to root follows MAIL_ROOT_ALIAS', async () => {
    const tag = `to-root-${Date.now()}`;
    const s = await sat.exec(['sendmail', '-f', `cron@${sat.hostname}`, 'root'], { input: `Subject: ${tag}\n\n${tag}\n` });
    expect(s.code).toBe(0);
    await until('host2 mailbox (root alias)', () => read(smart.mailboxPath('root')).includes(tag));
    // virtual(5) rewrote the recipient on host1 (orig_to keeps what was asked for); the sender stays.
    const relayedRoot = new RegExp(
      `to=<root@${esc(smart.hostname)}>, orig_to=<root(@${esc(sat.hostname)})?>, relay=${esc(smart.address)}\\[`,
    );
    await until('host1 relay log line (root alias)', () => relayedRoot.test(read(sat.mailLogPath)));
    const message = read(smart.mailboxPath('root'))
      .split(/^From /m)
      .find((m) => m.includes(tag))!;
    expect(message).toMatch(new RegExp(`^Return-Path: <cron@${esc(sat.hostname)}>`, 'm'));
  });

  it('relay probe: a client outside mynetworks asking host1 to relay is refused; loopback is not', async () => {
    const ask = async (source: string) => {
      const r = await run(
        'swaks',
        [
          '--server',
          `${sat.address}:25`,
          '--local-interface',
          source,
          '--from',
          'a@outside.test',
          '--to',
          'victim@foreign.example',
          '--quit-after',
          'RCPT',
          '--timeout',
          '20',
        ],
        60_000,
      );
      return r.stdout + r.stderr;
    };
    expect(await ask(OUTSIDE)).toMatch(/<\*\* +554 5\.7\.1 <victim@foreign\.example>: (Recipient address rejected: )?Access denied/);
    expect(await ask('127.0.0.1')).toMatch(/<- +250 2\.1\.5 Ok/);
  });
});

describe('the SASL password never leaks', () => {
  it("appears in no synth output, bundle, state, plan or apply output, nor host1's mail log", () => {
    artifacts.set('host1 mail log', read(sat.mailLogPath));
    for (const f of filesContaining(outdir, '')) artifacts.set(f, readFileSync(f, 'latin1'));
    expect([...artifacts.keys()].some((k) => k.endsWith('terraform.tfstate'))).toBe(true);
    expect([...artifacts.keys()].some((k) => k.endsWith('cdk.tf.json'))).toBe(true);
    expect([...artifacts.keys()].some((k) => k.endsWith('bundle.json'))).toBe(true);
    const leaks = [...artifacts].filter(([, text]) => text.includes(PASSWORD)).map(([name]) => name);
    expect(leaks).toEqual([]);
  });
});
