/**
 * Both CDK flavours from one build (needs `npm run build`: dist/ and dist/cdktn/), and living with
 * what else a user's stack holds: their own null provider, TlsLint registered before the stacks.
 */
import { existsSync, mkdtempSync, readFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import * as cdktf from 'cdktf';
import { NullProvider } from '@cdktf/provider-null/lib/provider';
import { HostResourceType, PostfixHost, TlsLint } from '../../index';

type Package = typeof import('../../index');

/* eslint-disable @typescript-eslint/no-require-imports -- loads the built packages by path, as a consumer would; an import would pull dist's declarations into the type-checked test program */
const builtFor: Record<'cdktf' | 'cdktn', { pkg: Package; cdk: typeof cdktf }> = {
  cdktf: { pkg: require('../../dist') as Package, cdk: cdktf },
  cdktn: { pkg: require('../../dist/cdktn') as Package, cdk: require('cdktn') as typeof cdktf },
};
/* eslint-enable @typescript-eslint/no-require-imports */

const connection = { host: '192.0.2.10', privateKeyPath: '/keys/id_ed25519', knownHostsPath: '/keys/known_hosts' };

function synthOutdir(): string {
  return mkdtempSync(join(tmpdir(), 'cdktf-postfix-flavour-'));
}

describe.each(['cdktf', 'cdktn'] as const)('the %s flavour', (flavour) => {
  const { pkg, cdk } = builtFor[flavour];

  test('synthesizes a host with its own CDK: terraform_data, the runner and the bundle in the stack directory', () => {
    expect(pkg.CDK_FLAVOUR).toBe(flavour);
    const outdir = synthOutdir();
    const app = new cdk.App({ outdir });
    const stack = new cdk.TerraformStack(app, 'mail');
    const host = new pkg.PostfixHost(stack, 'mx1', { connection, settings: { myhostname: 'mx1.example.org' } });
    app.synth();
    const stackDir = join(outdir, 'stacks', 'mail');
    const json = JSON.parse(readFileSync(join(stackDir, 'cdk.tf.json'), 'utf8')) as {
      resource: Record<string, Record<string, { provisioner: { 'local-exec': { command: string; interpreter: string[] } }[] }>>;
    };
    const [resource] = Object.values(json.resource.terraform_data);
    expect(resource.provisioner[0]['local-exec'].command).toBe(host.bundlePath);
    expect(existsSync(join(stackDir, resource.provisioner[0]['local-exec'].interpreter[1]))).toBe(true);
    const bundle = JSON.parse(readFileSync(join(stackDir, host.bundlePath), 'utf8')) as { main: Record<string, string> };
    expect(JSON.stringify(bundle)).toContain('mx1.example.org');
  });
});

test('cdktn: null_resource is refused with the field, the reason and the fix (provider-null is cdktf-only)', () => {
  const { pkg, cdk } = builtFor.cdktn;
  const stack = new cdk.TerraformStack(new cdk.App({ outdir: synthOutdir() }), 'mail');
  expect(() => new pkg.PostfixHost(stack, 'mx1', { connection, resourceType: HostResourceType.NULL_RESOURCE })).toThrow(
    /resourceType = "null_resource": needs @cdktf\/provider-null, which is built for cdktf and has no cdktn edition.*terraform_data/,
  );
});

describe('null_resource beside a null provider the user declares', () => {
  function providers(declare: 'before' | 'after' | 'none' | 'aliased') {
    const app = cdktf.Testing.app();
    const stack = new cdktf.TerraformStack(app, 'mail');
    if (declare === 'before') new NullProvider(stack, 'mine');
    if (declare === 'aliased') new NullProvider(stack, 'mine', { alias: 'other' });
    new PostfixHost(stack, 'mx1', { connection, resourceType: HostResourceType.NULL_RESOURCE });
    new PostfixHost(stack, 'mx2', { connection: { ...connection, host: '192.0.2.11' }, resourceType: HostResourceType.NULL_RESOURCE });
    if (declare === 'after') new NullProvider(stack, 'mine');
    const json = JSON.parse(cdktf.Testing.synth(stack)) as { provider: { null: { alias?: string }[] } };
    return json.provider.null;
  }

  test.each(['before', 'after'] as const)('declared %s the hosts: one null provider in the stack', (when) => {
    expect(providers(when)).toEqual([{}]);
  });

  test('none declared: the hosts add exactly one; an aliased one of yours is kept beside the default', () => {
    expect(providers('none')).toEqual([{}]);
    expect(providers('aliased')).toEqual(expect.arrayContaining([{ alias: 'other' }, {}]));
    expect(providers('aliased')).toHaveLength(2);
  });
});

test('TlsLint.addTo(app) before any stack exists still lints hosts of stacks created later', () => {
  const app = cdktf.Testing.app();
  TlsLint.addTo(app);
  const stack = new cdktf.TerraformStack(app, 'late');
  const host = new PostfixHost(stack, 'mx1', {
    connection,
    settings: { smtpd_use_tls: 'yes', smtpd_tls_cert_file: '/etc/ssl/certs/mx1.pem' },
  });
  const obsolete = () =>
    host.node.metadata.filter((m) => m.type === '@cdktf/warn' && String(m.data).includes('[tls-obsolete-parameter] smtpd_use_tls'));
  cdktf.Testing.synth(stack);
  expect(obsolete()).toHaveLength(1);
  // Visited once per host, however many syntheses.
  cdktf.Testing.synth(stack);
  expect(obsolete()).toHaveLength(1);
});
