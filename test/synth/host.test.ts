import { existsSync, readFileSync } from 'fs';
import { join } from 'path';
import { App, DataResource, TerraformStack, TerraformVariable, Testing } from 'cdktf';
import {
  HostResourceType,
  MasterService,
  PostfixHost,
  PostfixHostProps,
  SaslType,
  ServiceType,
  Submission,
  Submissions,
} from '../../index';
import { Bundle } from '../../lib/model/bundle';
import { synthStack } from '../helpers/deploy';

const connection = { host: '192.0.2.10', privateKeyPath: '/keys/id_ed25519', knownHostsPath: '/keys/known_hosts' };

function hostIn(props: Partial<PostfixHostProps> = {}) {
  const app = Testing.app();
  const stack = new TerraformStack(app, 'test');
  const host = new PostfixHost(stack, 'mx1', {
    connection,
    settings: { myhostname: 'mx1.example.org', message_size_limit: 25_000_000 },
    ...props,
  });
  return { app, stack, host };
}

type Resource = {
  triggers_replace?: Record<string, string>;
  triggers?: Record<string, string>;
  input?: Record<string, string>;
  depends_on?: string[];
  provisioner: { 'local-exec': { interpreter: string[]; command: string; environment: Record<string, string>; when?: string } }[];
};

function resources(stack: TerraformStack, type = 'terraform_data'): Resource[] {
  const json = JSON.parse(Testing.synth(stack)) as { resource: Record<string, Record<string, Resource>> };
  return Object.values(json.resource[type] ?? {});
}

function synthErrors(stack: TerraformStack): string {
  try {
    Testing.fullSynth(stack);
  } catch (e) {
    return (e as Error).message;
  }
  return '';
}

describe('PostfixHost synth', () => {
  test('one terraform_data per host whose triggers show the main.cf and master.cf lines', () => {
    const { stack, host } = hostIn();
    host.addService(Submission.starttls());
    host.addService(Submissions.implicitTls());
    const [r] = resources(stack);
    expect(r.triggers_replace!.main_cf).toBe('message_size_limit = 25000000\nmyhostname = mx1.example.org\n');
    expect(r.triggers_replace!.master_cf).toContain('submission inet n - - - - smtpd');
    expect(r.triggers_replace!.master_cf).toContain('-o smtpd_tls_wrappermode=yes');
    expect(r.triggers_replace!.bundle_sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(r.triggers_replace!.bundle_format).toBe('cdktf-postfix/1');
    // A library upgrade must not replace every host: the runner's hash is not a trigger.
    expect(Object.keys(r.triggers_replace!).filter((k) => /runner/.test(k))).toEqual([]);
    expect(r.provisioner).toHaveLength(1);
    expect(r.provisioner[0]['local-exec'].interpreter[0]).toBe('node');
    expect(r.provisioner[0]['local-exec'].interpreter[1]).toMatch(/^assets\/CdktfPostfixRunner\/[0-9A-F]+\/cdktf-postfix-runner\.js$/);
    expect(r.provisioner[0]['local-exec'].command).toBe('assets/CdktfPostfixBundles/hosts/mx1/bundle.json');
  });

  test('NODE_EXTRA_CA_CERTS is emptied for a runner that makes no TLS connection, and kept where a TLS check runs after the apply', () => {
    const plain = resources(hostIn().stack)[0].provisioner[0]['local-exec'].environment;
    expect(plain.NODE_EXTRA_CA_CERTS).toBe('');
    // The check trusts the operator's extra certificates too: the variable is not set at all.
    const checked = resources(hostIn({ tlsCheckAfterApply: {} }).stack)[0].provisioner[0]['local-exec'].environment;
    expect(Object.keys(checked)).not.toContain('NODE_EXTRA_CA_CERTS');
    expect(checked.CDKTF_POSTFIX_HOST).toBe('192.0.2.10');
  });

  test('a placement resource per address cleans the host it leaves: destroy-time only, self.* only', () => {
    const { stack } = hostIn();
    const json = JSON.parse(Testing.synth(stack)) as { resource: { terraform_data: Record<string, Resource> } };
    const [applyName, placementName] = Object.keys(json.resource.terraform_data);
    expect(applyName).toMatch(/^mx1_apply_/);
    expect(placementName).toMatch(/^mx1_placement_/);
    const p = json.resource.terraform_data[placementName];
    expect(p.depends_on).toEqual([`terraform_data.${applyName}`]);
    expect(p.triggers_replace).toEqual({ host: '192.0.2.10', port: '22', config_directory: '/etc/postfix' });
    expect((p as { lifecycle?: unknown }).lifecycle).toBeUndefined(); // destroy-then-create: Terraform runs its destroy provisioner
    expect(p.input!.CDKTF_POSTFIX_APPLIED_SHA256).toBe(json.resource.terraform_data[applyName].triggers_replace!.bundle_sha256);
    expect(p.provisioner).toHaveLength(1);
    expect(p.provisioner[0]['local-exec'].when).toBe('destroy');
    expect(p.provisioner[0]['local-exec'].interpreter.slice(-1)).toEqual(['destroy']);
    // Destroy-time provisioners may only use self.* (and literals: a destroy makes no TLS connection,
    // so node need not parse NODE_EXTRA_CA_CERTS's file).
    const { NODE_EXTRA_CA_CERTS: ca, ...destroyEnv } = p.provisioner[0]['local-exec'].environment;
    expect(ca).toBe('');
    for (const v of Object.values(destroyEnv)) expect(v).toMatch(/^\$\{self\.input\.[A-Z0-9_]+\}$/);
  });

  test('snapshot of a full host', () => {
    const { stack, host } = hostIn({
      settings: {
        myhostname: 'mx1.example.org',
        mydestination: ['$myhostname', 'localhost'],
        smtpd_banner: '$myhostname ESMTP',
        message_size_limit: '25MB',
        disable_vrfy_command: true,
      },
      removeSettings: ['smtpd_use_tls'],
    });
    host.addService(Submission.starttls({ sasl: { type: SaslType.DOVECOT, path: 'private/auth' } }));
    new MasterService(host, 'relay', {
      name: '127.0.0.1:10025',
      type: ServiceType.INET,
      private: false,
      chroot: false,
      command: 'smtpd',
      options: { content_filter: '' },
    });
    // The runner's asset directory changes with every engine change; everything else must stay put.
    const text = Testing.synth(stack).replace(/CdktfPostfixRunner\/[0-9A-F]+\//g, 'CdktfPostfixRunner/<hash>/');
    expect(text).toMatchSnapshot();
  });

  test('the same input synthesizes byte for byte the same', () => {
    const a = Testing.synth(hostIn().stack);
    const b = Testing.synth(hostIn().stack);
    expect(a).toBe(b);
  });

  test('sizes with units become bytes, booleans yes/no, lists comma-joined', () => {
    const { stack } = hostIn({
      settings: {
        message_size_limit: '25MB',
        mailbox_size_limit: '1GiB',
        disable_vrfy_command: true,
        mynetworks: ['127.0.0.0/8', '[::1]/128'],
      },
    });
    const main = resources(stack)[0].triggers_replace!.main_cf;
    expect(main).toContain('message_size_limit = 25000000\n');
    expect(main).toContain('mailbox_size_limit = 1073741824\n');
    expect(main).toContain('disable_vrfy_command = yes\n');
    expect(main).toContain('mynetworks = 127.0.0.0/8, [::1]/128\n');
  });

  test('null_resource on request, with the null provider and self.triggers in the destroy step', () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, 'test');
    new PostfixHost(stack, 'mx1', {
      connection,
      settings: { myhostname: 'mx1.example.org' },
      resourceType: HostResourceType.NULL_RESOURCE,
    });
    const json = JSON.parse(Testing.synth(stack)) as {
      provider?: Record<string, unknown>;
      resource: Record<string, Record<string, Resource>>;
    };
    expect(json.provider).toHaveProperty('null');
    const [r] = Object.values(json.resource.null_resource);
    expect(r.triggers!.main_cf).toBe('myhostname = mx1.example.org\n');
    expect(r.triggers!.CDKTF_POSTFIX_HOST).toBe('192.0.2.10');
    const { NODE_EXTRA_CA_CERTS: ca, ...destroyEnv } = r.provisioner[1]['local-exec'].environment;
    expect(ca).toBe('');
    for (const v of Object.values(destroyEnv)) expect(v).toMatch(/^\$\{self\.triggers\.[A-Z0-9_]+\}$/);
  });

  test('connection values may be tokens: they pass through unresolved and the resource depends on their source', () => {
    const app = Testing.app();
    const stack = new TerraformStack(app, 'test');
    const vm = new DataResource(stack, 'vm', { input: { address: '198.51.100.7' } });
    const keyPath = new TerraformVariable(stack, 'key_path', { type: 'string' });
    const other = new DataResource(stack, 'dns', {});
    new PostfixHost(stack, 'mx1', {
      connection: { host: vm.output.toString(), privateKeyPath: keyPath.stringValue, hostKeyFingerprint: keyPath.stringValue },
      dependsOn: [other],
    });
    const json = JSON.parse(Testing.synth(stack)) as { resource: Record<string, Record<string, Resource>> };
    const r = json.resource.terraform_data.mx1_apply_C784C2D6 ?? Object.values(json.resource.terraform_data).find((x) => x.provisioner);
    expect(r.provisioner[0]['local-exec'].environment.CDKTF_POSTFIX_HOST).toBe('${terraform_data.vm.output}');
    expect(r.provisioner[0]['local-exec'].environment.CDKTF_POSTFIX_IDENTITY).toBe('${var.key_path}');
    expect(r.depends_on).toEqual(['terraform_data.dns']);
    expect(synthErrors(stack)).toBe('');
  });

  test('the bundle is written beside the stack as plain JSON, and large files only by hash', () => {
    const stackDir = synthStack((stack) => {
      const host = new PostfixHost(stack, 'mx', { connection, settings: { myhostname: 'mx.example.org' } });
      host.state.addFile({ path: '/etc/postfix/small', content: 'a OK\n' }, 'test');
      host.state.addFile({ path: '/etc/postfix/big', sourcePath: join(__dirname, '..', '..', 'package.json') }, 'test');
    });
    const bundle = JSON.parse(readFileSync(join(stackDir, 'assets/CdktfPostfixBundles/hosts/mx/bundle.json'), 'utf8')) as Bundle;
    expect(bundle.mainCf.set).toEqual({ myhostname: 'mx.example.org' });
    expect(bundle.files['/etc/postfix/small'].content).toBe('a OK\n');
    expect(bundle.files['/etc/postfix/big'].content).toBeUndefined();
    expect(existsSync(join(stackDir, 'assets/CdktfPostfixBundles/hosts/mx', bundle.files['/etc/postfix/big'].asset!))).toBe(true);
    const tf = readFileSync(join(stackDir, 'cdk.tf.json'), 'utf8');
    expect(tf).toContain('"file:/etc/postfix/small": "a OK\\n"');
    expect(tf).toMatch(/"file:\/etc\/postfix\/big": "sha256:[0-9a-f]{64} \(\d+ bytes\)"/);
  });
});

describe('PostfixHost validation at synth time', () => {
  test('a typo in a parameter name fails synth with the closest names', () => {
    const { stack } = hostIn({ settings: { smtpd_tls_recieved_header: true } });
    const message = synthErrors(stack);
    expect(message).toContain('test/mx1');
    expect(message).toContain('smtpd_tls_recieved_header');
    expect(message).toContain('smtpd_tls_received_header');
  });

  test('a newline in a value fails synth', () => {
    const { stack } = hostIn({ settings: { smtpd_banner: 'hello\nrelay_domains = *' } });
    const message = synthErrors(stack);
    expect(message).toContain('smtpd_banner');
    expect(message).toMatch(/newline/i);
  });

  test('the same service twice is refused, naming both places', () => {
    const { host } = hostIn();
    host.addService(Submission.starttls());
    expect(() => host.addService(Submission.starttls())).toThrow(/service submission\/inet.*already defined/);
  });

  test('two constructs setting one parameter differently is refused', () => {
    const { host } = hostIn();
    expect(() => host.applySettings({ myhostname: 'other.example.org' }, 'test/other')).toThrow(
      /myhostname.*test\/other sets it, but test\/mx1 already set it/,
    );
  });

  test('setting and removing one parameter is refused', () => {
    expect(() => hostIn({ settings: { smtpd_use_tls: true }, removeSettings: ['smtpd_use_tls'] })).toThrow(
      /either set the parameter or remove it/,
    );
  });

  test('a bad size fails with the field and the fix', () => {
    expect(() => hostIn({ settings: { message_size_limit: '25 parsecs' } })).toThrow(
      /settings\.message_size_limit = "25 parsecs".*Fix: give a whole number of bytes/,
    );
  });

  test('connection: bad port, user, fingerprint and host are refused at synth time', () => {
    expect(() => hostIn({ connection: { ...connection, port: 70000 } })).toThrow(/connection\.port = "70000": not a TCP port/);
    expect(() => hostIn({ connection: { ...connection, user: 'root; rm -rf /' } })).toThrow(/connection\.user/);
    expect(() => hostIn({ connection: { ...connection, hostKeyFingerprint: 'MD5:aa:bb' } })).toThrow(/hostKeyFingerprint.*ssh-keygen -lf/);
    expect(() => hostIn({ connection: { ...connection, host: 'mx1 example' } })).toThrow(/connection\.host/);
    expect(() => hostIn({ configDirectory: 'etc/postfix' })).toThrow(/configDirectory.*not absolute/);
  });

  test('PostfixHost.of finds the enclosing host and refuses constructs outside one', () => {
    const { stack, host } = hostIn();
    const svc = new MasterService(host, 'svc', { name: 'relay', type: ServiceType.UNIX, command: 'smtp' });
    expect(PostfixHost.of(svc)).toBe(host);
    expect(() => new MasterService(stack, 'stray', { name: 'x', type: ServiceType.UNIX, command: 'smtp' })).toThrow(
      /not inside a PostfixHost/,
    );
  });

  test('no private key material reaches the synthesized output', () => {
    const stackDir = synthStack((stack) => {
      const key = new TerraformVariable(stack, 'private_key_pem', { type: 'string', sensitive: true });
      const host = new PostfixHost(stack, 'mx', { connection, settings: { myhostname: 'mx.example.org' } });
      host.state.addFile(
        { path: '/etc/postfix/key.pem', fromEnv: { name: 'CDKTF_POSTFIX_FILE_0', value: key.stringValue }, mode: '0600', secret: true },
        'test',
      );
    });
    const bundle = readFileSync(join(stackDir, 'assets/CdktfPostfixBundles/hosts/mx/bundle.json'), 'utf8');
    expect(bundle).not.toContain('private_key_pem');
    expect(JSON.parse(bundle).files['/etc/postfix/key.pem']).toEqual({
      fromEnv: 'CDKTF_POSTFIX_FILE_0',
      group: 'root',
      mode: '0600',
      owner: 'root',
    });
    const tf = readFileSync(join(stackDir, 'cdk.tf.json'), 'utf8');
    // Terraform hashes the value; only the hash reaches the plan and the state.
    expect(tf).toContain('"file:/etc/postfix/key.pem": "sha256:${sha256(var.private_key_pem)}"');
    expect(tf).toContain('"CDKTF_POSTFIX_FILE_0": "${var.private_key_pem}"');
    expect(tf).not.toContain('PRIVATE KEY');
  });
});

void App;

test('Postfix ${name} expansions reach Terraform as text, not as template expressions', () => {
  const { stack } = hostIn({
    settings: { smtp_tls_session_cache_database: 'btree:${data_directory}/smtp_scache', smtpd_banner: '$myhostname %{x}' },
  });
  const main = resources(stack)[0].triggers_replace!.main_cf;
  expect(main).toContain('smtp_tls_session_cache_database = btree:$${data_directory}/smtp_scache\n');
  expect(main).toContain('smtpd_banner = $myhostname %%{x}\n');
});
