/**
 * The fleet of main.ts with its keys made by Terraform (@cdktf/provider-tls, hashicorp/tls): per
 * machine an ed25519 SSH host key, whose public half pins the connection and whose private half
 * the machine receives (in production: cloud-init user data of the server resource), and an ECDSA
 * key with a self-signed certificate for the host's name, uploaded to the host as its TLS pair.
 * The private keys travel only through Terraform (state, the runner's environment): never into
 * the synthesized stack or the bundle. Needs the hashicorp/tls provider at deploy time.
 */
import { App, DataResource, TerraformVariable, Token } from 'cdktf';
import { PrivateKey } from '@cdktf/provider-tls/lib/private-key';
import { TlsProvider } from '@cdktf/provider-tls/lib/provider';
import { SelfSignedCert } from '@cdktf/provider-tls/lib/self-signed-cert';
import { FleetStack, MachineFactory } from './main';

export const tlsMachine: MachineFactory = (scope, name, hostname) => {
  const hostKey = new PrivateKey(scope, `${name}_ssh_host_key`, { algorithm: 'ED25519' });
  const tlsKey = new PrivateKey(scope, `${name}_tls_key`, { algorithm: 'ECDSA', ecdsaCurve: 'P256' });
  const cert = new SelfSignedCert(scope, `${name}_tls_cert`, {
    privateKeyPem: tlsKey.privateKeyPem,
    subject: [{ commonName: hostname }],
    dnsNames: [hostname],
    validityPeriodHours: 24 * 90,
    earlyRenewalHours: 24 * 30,
    allowedUses: ['digital_signature', 'key_agreement', 'server_auth'],
  });
  const address = new TerraformVariable(scope, `${name}_address`, { type: 'string', description: `address of the ${name} machine` });
  // The VM stand-in: a real server resource would take the private host key in its user data.
  const vm = new DataResource(scope, `${name}_vm`, {
    input: { address: address.stringValue, ssh_host_ed25519_key: hostKey.privateKeyOpenssh },
  });
  return {
    address: Token.asString(vm.output.lookup('address')),
    hostKey: hostKey.publicKeyOpenssh,
    certificate: { privateKeyPem: tlsKey.privateKeyPem, certificatePem: cert.certPem },
    dependsOn: [vm],
  };
};

export class FleetTlsStack extends FleetStack {
  constructor(scope: App, id: string, env: NodeJS.ProcessEnv) {
    super(scope, id, {
      env,
      machines: (s, name, hostname) => {
        if (!s.node.tryFindChild('tls')) new TlsProvider(s, 'tls');
        return tlsMachine(s, name, hostname);
      },
    });
  }
}

if (require.main === module) {
  const app = new App();
  new FleetTlsStack(app, 'fleet-tls', process.env);
  app.synth();
}
