/**
 * A fleet of three hosts born in the same deploy: two inbound MX hosts and a submission host. Each
 * host's address and SSH host key come from another resource (here a terraform_data per machine
 * stands in for a VM, offline; in production a cloud server resource whose user data installs a
 * host key made by tls_private_key, see tls.ts), so nothing is trusted on first use and nothing is
 * known before the deploy. The runner waits for SSH with backoff while the machines boot.
 *
 * Terraform variables (values, e.g. TF_VAR_mx1_address, TF_VAR_mx1_host_key):
 *   <name>_address    the machine's address
 *   <name>_host_key   its SSH host public key line (`ssh-ed25519 AAAA... comment`)
 *   for name in mx1, mx2, submit.
 * Environment (synth):
 *   FLEET_DOMAIN      mail domain; hosts are <name>.<domain>; default example.org
 *   FLEET_SSH_USER    default root
 *   FLEET_SSH_KEY     private key path; default ssh-agent
 *   FLEET_SSH_WAIT    seconds to wait for each machine's SSH; default 300
 *   FLEET_TLS_CERT / FLEET_TLS_KEY   certificate and key paths on the hosts; default Debian's snakeoil pair
 * Outputs: <name>_smtp_endpoints for each host, <name>_dns_* (MX, SPF) for the MX hosts.
 */
import { App, DataResource, ITerraformDependable, TerraformStack, TerraformVariable, Token } from 'cdktf';
import { Construct } from 'constructs';
import { MailDnsRecords, PostfixHost, Submission, Submissions, TlsCertificate, TlsPolicy } from '../../index';

/** What the fleet needs of a machine: where it is and which host key it has, both possibly known only at apply time. */
export interface FleetMachine {
  readonly address: string;
  /** The machine's SSH host public key line (a value or a token). */
  readonly hostKey: string;
  /** The server certificate; default: FLEET_TLS_CERT/FLEET_TLS_KEY on the host. */
  readonly certificate?: TlsCertificate;
  /** Resources to finish before the host is configured (e.g. the machine itself, when no token ties them). */
  readonly dependsOn?: ITerraformDependable[];
}

/** Makes the machine for one host: its stand-in resource and the values the host takes from it. */
export type MachineFactory = (scope: Construct, name: string, hostname: string) => FleetMachine;

/** One role of the fleet. */
interface Role {
  readonly name: string;
  /** MX preference, for the hosts that receive the domain's mail. */
  readonly mxPreference?: number;
  readonly submission?: boolean;
}

export const FLEET_ROLES: readonly Role[] = [
  { name: 'mx1', mxPreference: 10 },
  { name: 'mx2', mxPreference: 20 },
  { name: 'submit', submission: true },
];

/**
 * The offline stand-in for a VM: a terraform_data whose output carries the address and host key
 * given as variables, as a cloud server resource's attributes would. The hosts read them from its
 * output, so Terraform orders them after it and the values are known only at apply time.
 */
export const terraformDataMachine: MachineFactory = (scope, name) => {
  const address = new TerraformVariable(scope, `${name}_address`, { type: 'string', description: `address of the ${name} machine` });
  const hostKey = new TerraformVariable(scope, `${name}_host_key`, {
    type: 'string',
    description: `SSH host public key line of the ${name} machine`,
  });
  const vm = new DataResource(scope, `${name}_vm`, { input: { address: address.stringValue, host_key: hostKey.stringValue } });
  return { address: Token.asString(vm.output.lookup('address')), hostKey: Token.asString(vm.output.lookup('host_key')) };
};

export interface FleetStackProps {
  readonly env: NodeJS.ProcessEnv;
  /** @default terraformDataMachine */
  readonly machines?: MachineFactory;
}

export class FleetStack extends TerraformStack {
  readonly hosts: Record<string, PostfixHost> = {};
  readonly dns: Record<string, MailDnsRecords> = {};

  constructor(scope: Construct, id: string, props: FleetStackProps) {
    super(scope, id);
    const env = props.env;
    const domain = env.FLEET_DOMAIN ?? 'example.org';
    const machines = props.machines ?? terraformDataMachine;
    for (const role of FLEET_ROLES) {
      const hostname = `${role.name}.${domain}`;
      const machine = machines(this, role.name, hostname);
      const host = new PostfixHost(this, role.name, {
        connection: {
          host: machine.address,
          hostKey: machine.hostKey,
          user: env.FLEET_SSH_USER ?? 'root',
          privateKeyPath: env.FLEET_SSH_KEY || undefined,
          waitTimeoutSeconds: env.FLEET_SSH_WAIT ? Number(env.FLEET_SSH_WAIT) : undefined,
        },
        settings: {
          myhostname: hostname,
          smtpd_banner: '$myhostname ESMTP fleet',
          ...(role.mxPreference !== undefined ? { mydestination: `$myhostname, localhost, ${domain}` } : {}),
        },
        dependsOn: machine.dependsOn,
      });
      if (role.submission) {
        host.addService(Submission.starttls());
        host.addService(Submissions.implicitTls());
      }
      new TlsPolicy(host, 'tls', {
        certificates: [
          machine.certificate ?? {
            certFile: env.FLEET_TLS_CERT ?? '/etc/ssl/certs/ssl-cert-snakeoil.pem',
            keyFile: env.FLEET_TLS_KEY ?? '/etc/ssl/private/ssl-cert-snakeoil.key',
          },
        ],
      });
      if (role.mxPreference !== undefined) {
        // The MX target is the host's own myhostname; the first MX publishes the domain's SPF.
        this.dns[role.name] = new MailDnsRecords(host, 'dns', {
          domain,
          mxPreference: role.mxPreference,
          omitSpf: role.name !== 'mx1',
          outputPrefix: `${role.name}_dns`,
        });
      }
      this.hosts[role.name] = host;
    }
  }
}

if (require.main === module) {
  const app = new App();
  new FleetStack(app, 'fleet', { env: process.env });
  app.synth();
}
