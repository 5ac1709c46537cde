/**
 * Issue 13 items 2 and 3: examples/fleet deployed with the real `cdktf deploy` (terraform_data,
 * offline) to three lab hosts that start only after the deploy began, as VMs born in the same
 * deploy would. Their addresses are reserved and their host keys made beforehand (prepareLab) and
 * given to the stack as values (TF_VAR_*), through the terraform_data machines, never through a
 * known_hosts file. The runner waits for SSH; once the hosts are up the deploy succeeds, and the
 * outputs (`terraform output -json`) name endpoints that answer with each host's own banner and TLS.
 * Needs root, the lab's Debian packages and `npm run build`.
 */
import { rmSync } from 'fs';
import { join } from 'path';
import * as tls from 'tls';
import { FLEET_ROLES } from '../../examples/fleet/main';
import { checkTls } from '../../lib/probe/tls-check';
import { Lab, LabHost, PreparedLab, prepareLab } from '../lab';
import { smtpGreeting } from '../helpers/smtp-client';
import { CDKTF_BIN, exampleProject, expectOk, startCommand, stripAnsi, terraform, terraformEnv } from '../helpers/terraform';

jest.setTimeout(900_000);

interface Endpoint {
  kind: string;
  address: string;
  hostname: string;
  port: number;
  tls: string;
  service: string;
}

let prepared: PreparedLab;
let lab: Lab | undefined;
let project: string;
let deployOutput = '';
let outputs: Record<string, { value: unknown }>;
const hostFor = new Map<string, LabHost>();

/** The greeting on a port that speaks TLS from the first byte. */
function implicitTlsGreeting(host: string, port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host, port, rejectUnauthorized: false }, () => undefined);
    let buffer = '';
    s.setTimeout(15_000, () => s.destroy(new Error(`no greeting from ${host}:${port}`)));
    s.on('error', reject);
    s.on('data', (d: Buffer) => {
      buffer += d.toString('utf8');
      const line = /^(\d{3} [^\r\n]*)\r?\n/m.exec(buffer);
      if (line) {
        s.end('QUIT\r\n');
        resolve(line[1]);
      }
    });
  });
}

beforeAll(async () => {
  prepared = await prepareLab({ count: FLEET_ROLES.length });
  FLEET_ROLES.forEach((role, i) => hostFor.set(role.name, prepared.hosts[i]));
  project = exampleProject('fleet');
}, 120_000);

afterAll(async () => {
  await (lab ?? prepared)?.stop();
  if (project) rmSync(project, { recursive: true, force: true });
});

describe('examples/fleet on lab hosts that start after the deploy began', () => {
  test('the deploy waits for SSH on every machine and succeeds once they are up', async () => {
    const vars: Record<string, string> = {};
    for (const [name, h] of hostFor) {
      vars[`TF_VAR_${name}_address`] = h.address;
      vars[`TF_VAR_${name}_host_key`] = h.hostPublicKey;
    }
    const env = terraformEnv({ ...vars, FLEET_DOMAIN: 'lab.test', FLEET_SSH_KEY: prepared.privateKeyPath, FLEET_SSH_WAIT: '300' });
    const deploy = startCommand(CDKTF_BIN, ['deploy', '--auto-approve', '--no-color', 'fleet'], { cwd: project, env, timeoutMs: 600_000 });
    // Every host's runner has tried and is waiting: the machines are "booting".
    for (const h of hostFor.values())
      await deploy.waitForOutput(new RegExp(`waiting for ssh on ${h.address.replace(/\./g, '\\.')}:22 \\(`));
    lab = await prepared.start();
    const result = await deploy.result;
    deployOutput = stripAnsi(result.stdout + result.stderr);
    expectOk(result);
    expect(deployOutput).toMatch(/Apply complete! Resources: 9 added, 0 changed, 0 destroyed\./);
    for (const h of hostFor.values()) expect(deployOutput).toContain(`waiting for ssh on ${h.address}:22`);
    const stackDir = join(project, 'cdktf.out', 'stacks', 'fleet');
    outputs = JSON.parse(expectOk(await terraform(stackDir, ['output', '-json'], env)).stdout);
  });

  test("each host's outputs name its endpoints at the lab address, and each answers with its banner and TLS mode", async () => {
    for (const [name, h] of hostFor) {
      const endpoints = outputs[`${name}_smtp_endpoints`].value as Endpoint[];
      const expectedPorts = name === 'submit' ? [25, 465, 587] : [25];
      expect(endpoints.map((e) => e.port)).toEqual(expectedPorts);
      for (const e of endpoints) {
        expect(e).toMatchObject({ address: h.address, hostname: `${name}.lab.test` });
        const banner = e.tls === 'implicit' ? await implicitTlsGreeting(e.address, e.port) : await smtpGreeting(e.address, e.port);
        expect(banner).toBe(`220 ${name}.lab.test ESMTP fleet`);
        expect(e.tls).toBe({ 25: 'starttls', 465: 'implicit', 587: 'starttls-required' }[e.port]);
        const probe = await checkTls(
          { host: e.address, port: e.port, mode: e.tls === 'implicit' ? 'implicit' : 'starttls' },
          { minProtocol: 'TLSv1.2' },
          { verifyHostname: false },
        );
        expect(probe.connected).toBe(true);
      }
    }
  });

  test("the MX hosts' record outputs point at the hosts themselves", () => {
    expect((outputs.mx1_dns_mx.value as { value: string }).value).toBe('10 mx1.lab.test.');
    expect((outputs.mx2_dns_mx.value as { value: string }).value).toBe('20 mx2.lab.test.');
    expect((outputs.mx1_dns_spf.value as { value: string }).value).toBe('v=spf1 mx -all');
  });
});
