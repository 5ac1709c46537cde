/**
 * examples/tls-composition synthesizes: certificate content from Terraform (variables standing in
 * for @cdktf/provider-tls resources) reaches the host as a secret, never through bundle.json. And
 * issue 5's bad input, fed through a real App synth: each is a clear error and nothing is written,
 * so nothing can be applied.
 */
import { execFileSync } from 'child_process';
import { mkdtempSync, readdirSync, readFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { App, TerraformStack, TerraformVariable } from 'cdktf';
import { Construct } from 'constructs';
import { TlsCompositionStack } from '../../examples/tls-composition/main';
import { PostfixHost } from '../../constructs/postfix-host';
import { TlsPolicy, TlsPolicyProps } from '../../constructs/tls-policy';
import { DhParameters, DhParametersProps } from '../../constructs/dh-parameters';
import { TlsLint } from '../../constructs/tls-lint';
import { PostfixConfigError } from '../../lib/model/errors';
import { selfSigned } from '../helpers/certs';

const dir = mkdtempSync(join(tmpdir(), 'tls-composition-'));
function pair(name: string): { key: string; cert: string } {
  const p = selfSigned(dir, { cn: `${name}.example.org`, key: 'ec', name });
  return { key: p.keyPem, cert: p.certPem };
}
const a = pair('a');
const b = pair('b');

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- synthesized Terraform JSON, walked by key

function synthApp(build: (app: App) => void): { outdir: string; error?: Error } {
  const outdir = mkdtempSync(join(tmpdir(), 'tls-composition-out-'));
  const app = new App({ outdir, skipValidation: false });
  try {
    build(app);
    app.synth();
    return { outdir };
  } catch (e) {
    return { outdir, error: e as Error };
  }
}

/** Files synthesis left in outdir (cdktf's App creates empty directories up front). */
function writtenFiles(outdir: string): string[] {
  return readdirSync(outdir, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => d.name);
}

function stackJson(outdir: string, stack: string): Json {
  return JSON.parse(readFileSync(join(outdir, 'stacks', stack, 'cdk.tf.json'), 'utf8')) as Json;
}

function bundleText(outdir: string, stack: string): string {
  const root = join(outdir, 'stacks', stack);
  const files = (readdirSync(root, { recursive: true }) as string[]).filter((f) => f.endsWith('bundle.json'));
  expect(files).toHaveLength(1);
  return readFileSync(join(root, files[0]), 'utf8');
}

describe('examples/tls-composition', () => {
  const env = { MAIL_HOST: '192.0.2.25', MAIL_HOSTNAME: 'mx1.example.org' };

  it('synthesizes with strict TLS lint; the key travels from the variable to the host as a secret', () => {
    const { outdir, error } = synthApp((app) => {
      new TlsCompositionStack(app, 'tls-composition', { env });
      TlsLint.addTo(app, { strict: true });
    });
    expect(error).toBeUndefined();
    const json = stackJson(outdir, 'tls-composition');
    expect(json.variable.tls_private_key_pem).toMatchObject({ type: 'string', sensitive: true });
    const [resource] = Object.values<Json>(json.resource.terraform_data);
    const environment = resource.provisioner[0]['local-exec'].environment as Record<string, string>;
    const secret = Object.entries(environment).find(([name]) => name.startsWith('CDKTF_POSTFIX_TLS_'));
    expect(secret?.[1]).toBe('${var.tls_private_key_pem}\n${var.tls_certificate_pem}\n');
    expect(resource.triggers_replace.main_cf).toContain('smtpd_tls_chain_files = /etc/postfix/tls/mx.pem\n');
    expect(resource.triggers_replace.main_cf).toContain('smtpd_tls_mandatory_protocols = >=TLSv1.2\n');

    const bundle = JSON.parse(bundleText(outdir, 'tls-composition')) as Json;
    expect(bundle.files['/etc/postfix/tls/mx.pem']).toMatchObject({ mode: '0600', fromEnv: secret?.[0] });
    expect(bundle.files['/etc/postfix/tls/mx.pem'].content).toBeUndefined();
    expect(bundleText(outdir, 'tls-composition')).not.toContain('var.tls_private_key_pem');
    expect(bundle.tlsChecks).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ port: 25, mode: 'starttls' }),
        expect.objectContaining({ port: 587, mode: 'starttls' }),
        expect.objectContaining({ port: 465, mode: 'implicit' }),
      ]),
    );
  });

  it('a private key written as literal PEM text is refused before anything is written: it would land in cdk.tf.json', () => {
    const { outdir, error } = synthApp((app) => {
      new TlsCompositionStack(app, 'tls-composition', { env, certificate: () => ({ privateKeyPem: a.key, certificatePem: a.cert }) });
    });
    expect(error).toBeInstanceOf(PostfixConfigError);
    expect((error as PostfixConfigError).field).toBe('certificates[0].privateKeyPem');
    expect(error!.message).not.toContain('PRIVATE KEY');
    expect(writtenFiles(outdir).filter((f) => f.endsWith('cdk.tf.json'))).toEqual([]);
  });

  it('a literal certificate with the key from a token is fine: only the certificate is checked', () => {
    const { outdir, error } = synthApp((app) => {
      new TlsCompositionStack(app, 'tls-composition', {
        env,
        certificate: (scope) => ({
          privateKeyPem: new TerraformVariable(scope, 'key', { type: 'string', sensitive: true }).stringValue,
          certificatePem: a.cert,
        }),
      });
    });
    expect(error).toBeUndefined();
    expect(bundleText(outdir, 'tls-composition')).not.toContain('CERTIFICATE');
  });
});

describe('bad input: a clear synth error, nothing written', () => {
  function host(scope: Construct): PostfixHost {
    return new PostfixHost(scope, 'mx1', { connection: { host: '192.0.2.10', privateKeyPath: '/keys/id', knownHostsPath: '/keys/kh' } });
  }
  const tls = (props: TlsPolicyProps) => (stack: TerraformStack) => new TlsPolicy(host(stack), 'tls', props);
  const dh = (props: DhParametersProps) => (stack: TerraformStack) => new DhParameters(host(stack), 'dh', props);

  it.each<[string, (stack: TerraformStack) => void, { where: string; field: string; value: string; problem: RegExp }]>([
    [
      'a key file path given as the certificate',
      tls({ certificates: [{ keyFile: '/etc/ssl/private/mx1.key', certFile: '/etc/ssl/private/mx1.key' }] }),
      { where: 'mail/mx1/tls', field: 'certificates[0].certFile', value: '/etc/ssl/private/mx1.key', problem: /private key file/ },
    ],
    [
      'a key file path given as a chain file',
      tls({ chainFiles: ['/etc/ssl/private/mx1.key'] }),
      { where: 'mail/mx1/tls', field: 'chainFiles[0]', value: '/etc/ssl/private/mx1.key', problem: /private key file/ },
    ],
    [
      'mismatched key and certificate content',
      tls({ certificates: [{ privateKeyPem: b.key, certificatePem: a.cert }] }),
      {
        where: 'mail/mx1/tls',
        field: 'certificates[0].privateKeyPem',
        value: '-----BEGIN PRIVATE KEY-----',
        problem: /does not belong to the certificate for CN=a\.example\.org/,
      },
    ],
    [
      'key and certificate swapped',
      tls({ certificates: [{ privateKeyPem: a.cert, certificatePem: a.key }] }),
      {
        where: 'mail/mx1/tls',
        field: 'certificates[0].certificatePem',
        value: '-----BEGIN PRIVATE KEY-----',
        problem: /PRIVATE KEY, not a certificate/,
      },
    ],
    ['DH bits under 2048', dh({ bits: 1024 }), { where: 'mail/mx1/dh', field: 'bits', value: '1024', problem: /Logjam/ }],
    [
      'an unknown profile name',
      tls({ profile: 'intermediat' as never }),
      { where: 'mail/mx1/tls', field: 'profile', value: 'intermediat', problem: /not a known TLS profile/ },
    ],
    [
      'protocols with ; separators',
      tls({ parameters: { smtpd_tls_protocols: 'TLSv1.2;TLSv1.3' } }),
      { where: 'mail/mx1/tls', field: 'smtpd_tls_protocols', value: 'TLSv1.2;TLSv1.3', problem: /not valid Postfix 3.7 protocol syntax/ },
    ],
    [
      'protocols as ">= TLSv1.2" (the space makes it TLS 1.2 only)',
      tls({ parameters: { smtpd_tls_mandatory_protocols: '>= TLSv1.2' } }),
      { where: 'mail/mx1/tls', field: 'smtpd_tls_mandatory_protocols', value: '>= TLSv1.2', problem: /space after >=/ },
    ],
    [
      'protocols as ">TLSv1.2"',
      tls({ parameters: { smtp_tls_protocols: '>TLSv1.2' } }),
      { where: 'mail/mx1/tls', field: 'smtp_tls_protocols', value: '>TLSv1.2', problem: /not valid Postfix 3.7 protocol syntax/ },
    ],
  ])('%s', (_name, build, expected) => {
    const { outdir, error } = synthApp((app) => build(new TerraformStack(app, 'mail')));
    expect(error).toBeInstanceOf(PostfixConfigError);
    const e = error as PostfixConfigError;
    expect({ where: e.where, field: e.field, value: e.value }).toEqual({
      where: expected.where,
      field: expected.field,
      value: expected.value,
    });
    expect(e.problem).toMatch(expected.problem);
    expect(e.fix.length).toBeGreaterThan(10);
    expect(e.message).toContain(expected.field);
    expect(e.message).not.toContain(a.key.split('\n')[1]);
    expect(e.message).not.toContain(b.key.split('\n')[1]);
    expect(writtenFiles(outdir)).toEqual([]);
  });

  it('an uploaded X9.42 (-dsaparam) DH file, which Postfix 3.7 cannot load, fails the TLS lint', () => {
    const x942 = execFileSync('openssl', ['dhparam', '-dsaparam', '2048'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const { outdir, error } = synthApp((app) => {
      const stack = new TerraformStack(app, 'mail');
      const h = host(stack);
      h.applySettings({ smtpd_tls_dh1024_param_file: '/etc/postfix/dh.pem' });
      h.state.addFile({ path: '/etc/postfix/dh.pem', content: x942, mode: '0644' }, 'test');
      new TlsPolicy(h, 'tls', { chainFiles: ['/etc/ssl/private/mx1.pem'] });
      TlsLint.addTo(app);
    });
    expect(error?.message).toMatch(
      /\[tls-dh-file-x942\] smtpd_tls_dh1024_param_file = "\/etc\/postfix\/dh.pem".*Postfix 3.7 logs "error decoding DH parameters".*Fix: generate PKCS#3 parameters/,
    );
    // Lint errors fail synthesis after the host's assets are written, but before cdk.tf.json: no
    // Terraform configuration, so there is nothing to plan or deploy.
    expect(writtenFiles(outdir)).not.toContain('cdk.tf.json');
  });
});
