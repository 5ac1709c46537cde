/**
 * Issue 13 item 2 at synth: examples/fleet wires each host's address and SSH host key from another
 * resource (terraform_data stand-ins; in tls.ts, hashicorp/tls keys and a self-signed certificate),
 * with no secret in the synthesized stack or the bundles, and one set of outputs per host.
 * The tls variant cannot deploy here (its provider is not downloadable offline): synth only.
 */
import { mkdtempSync, readdirSync, readFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { App } from 'cdktf';
import { FleetStack, FLEET_ROLES } from '../../examples/fleet/main';
import { FleetTlsStack } from '../../examples/fleet/tls';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any -- synthesized Terraform JSON, walked by key
interface Synth {
  json: Json;
  bundles: Record<string, string>;
}

function synth(make: (app: App) => void, stackName: string): Synth {
  const outdir = mkdtempSync(join(tmpdir(), 'fleet-synth-'));
  const app = new App({ outdir });
  make(app);
  app.synth();
  const dir = join(outdir, 'stacks', stackName);
  const hostsDir = join(dir, 'assets', 'CdktfPostfixBundles', 'hosts');
  const bundles = Object.fromEntries(readdirSync(hostsDir).map((h) => [h, readFileSync(join(hostsDir, h, 'bundle.json'), 'utf8')]));
  return { json: JSON.parse(readFileSync(join(dir, 'cdk.tf.json'), 'utf8')) as Json, bundles };
}

function applyResource(json: Json, host: string): Json {
  return Object.entries(json.resource.terraform_data as Record<string, Json>).find(([k]) => k.startsWith(`${host}_apply`))![1];
}

const names = FLEET_ROLES.map((r) => r.name);

describe('examples/fleet', () => {
  const { json, bundles } = synth(
    (app) => new FleetStack(app, 'fleet', { env: { FLEET_DOMAIN: 'example.net', FLEET_SSH_WAIT: '120' } }),
    'fleet',
  );

  test("each host connects to its machine's address with its host key pinned, both read from the machine resource", () => {
    for (const name of names) {
      const env = applyResource(json, name).provisioner[0]['local-exec'].environment;
      expect(env.CDKTF_POSTFIX_HOST).toBe(`\${terraform_data.${name}_vm.output["address"]}`);
      expect(env.CDKTF_POSTFIX_HOST_PUBLIC_KEY).toBe(`\${terraform_data.${name}_vm.output["host_key"]}`);
      expect(env.CDKTF_POSTFIX_SSH_WAIT).toBe('120');
      expect(json.resource.terraform_data[`${name}_vm`].input).toEqual({
        address: `\${var.${name}_address}`,
        host_key: `\${var.${name}_host_key}`,
      });
    }
  });

  test("outputs: each host's endpoints (the address a reference), the MX hosts' records with the host as MX target", () => {
    expect(json.output.mx1_smtp_endpoints.value).toEqual([
      {
        kind: 'smtp',
        address: '${terraform_data.mx1_vm.output["address"]}',
        hostname: 'mx1.example.net',
        port: 25,
        tls: 'starttls',
        service: 'smtp/inet',
      },
    ]);
    expect(json.output.submit_smtp_endpoints.value.map((e: Json) => `${e.kind}:${e.port}:${e.tls}`)).toEqual([
      'smtp:25:starttls',
      'submissions:465:implicit',
      'submission:587:starttls-required',
    ]);
    expect(json.output.mx1_dns_mx.value).toEqual({ name: 'example.net', type: 'MX', ttl: 3600, value: '10 mx1.example.net.' });
    expect(json.output.mx2_dns_mx.value.value).toBe('20 mx2.example.net.');
    expect(json.output.mx2_dns_spf).toBeUndefined();
    expect(Object.keys(bundles).sort()).toEqual([...names].sort());
  });
});

describe('examples/fleet/tls.ts (hashicorp/tls keys and certificates)', () => {
  const { json, bundles } = synth((app) => new FleetTlsStack(app, 'fleet-tls', {}), 'fleet-tls');
  const text = JSON.stringify(json);

  test('the host key pin is the public half of a tls_private_key; the machine gets the private half', () => {
    for (const name of names) {
      expect(json.resource.tls_private_key[`${name}_ssh_host_key`].algorithm).toBe('ED25519');
      const r = applyResource(json, name);
      expect(r.provisioner[0]['local-exec'].environment.CDKTF_POSTFIX_HOST_PUBLIC_KEY).toBe(
        `\${tls_private_key.${name}_ssh_host_key.public_key_openssh}`,
      );
      expect(r.depends_on).toEqual([`terraform_data.${name}_vm`]);
      expect(json.resource.terraform_data[`${name}_vm`].input.ssh_host_ed25519_key).toBe(
        `\${tls_private_key.${name}_ssh_host_key.private_key_openssh}`,
      );
    }
  });

  test("the TLS key and self-signed certificate reach the host through the runner's environment, by hash in the triggers", () => {
    for (const name of names) {
      const cert = json.resource.tls_self_signed_cert[`${name}_tls_cert`];
      expect(cert.private_key_pem).toBe(`\${tls_private_key.${name}_tls_key.private_key_pem}`);
      expect(cert.dns_names).toEqual([`${name}.example.org`]);
      const r = applyResource(json, name);
      const pair = `\${tls_private_key.${name}_tls_key.private_key_pem}\n\${tls_self_signed_cert.${name}_tls_cert.cert_pem}\n`;
      const env = r.provisioner[0]['local-exec'].environment;
      const varName = Object.keys(env).find((k) => env[k] === pair)!;
      expect(varName).toMatch(/^CDKTF_POSTFIX_TLS_[0-9A-F]+$/);
      expect(r.triggers_replace['file:/etc/postfix/tls/server.pem']).toBe(`sha256:\${sha256("${pair.replace(/\n/g, '\\n')}")}`);
      const bundle = JSON.parse(bundles[name]);
      expect(bundle.files['/etc/postfix/tls/server.pem']).toEqual({ fromEnv: varName, group: 'root', mode: '0600', owner: 'root' });
      expect(bundle.mainCf.set.smtpd_tls_chain_files).toBe('/etc/postfix/tls/server.pem');
    }
  });

  test('no key material in the stack or the bundles: only references', () => {
    expect(text).not.toMatch(/BEGIN [A-Z ]*PRIVATE KEY|BEGIN CERTIFICATE|ssh-ed25519 AAAA/);
    for (const b of Object.values(bundles)) expect(b).not.toMatch(/PRIVATE KEY|CERTIFICATE|tls_private_key|cert_pem/);
    expect(json.provider.tls).toBeDefined();
  });
});
