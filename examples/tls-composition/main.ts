/**
 * TLS composition: a mail host whose certificate comes from other Terraform resources in the same
 * stack, with the intermediate profile, submission ports, the TLS lint in strict mode and a TLS
 * check after every apply.
 *
 * The natural source is @cdktf/provider-tls (hashicorp/tls): a `tls_private_key` and a
 * `tls_self_signed_cert` (or an ACME certificate from another provider). That provider cannot be
 * downloaded on the machines this repository is built on, and @cdktf/provider-tls is not a
 * dependency, so this example takes the same two PEM strings from sensitive Terraform variables
 * instead. The wiring into TlsPolicy is identical: both are Terraform tokens at synth time, the key
 * never enters bundle.json, and Terraform hands it to the apply program in an environment variable.
 *
 * With the provider installed (npm i @cdktf/provider-tls; cdktf.json "terraformProviders":
 * ["hashicorp/tls@~> 4.0"]), replace `certificateFromVariables` with:
 *
 *   import { provider, privateKey, selfSignedCert } from '@cdktf/provider-tls';
 *   new provider.TlsProvider(this, 'tls-provider');
 *   const key = new privateKey.PrivateKey(this, 'key', { algorithm: 'ECDSA', ecdsaCurve: 'P256' });
 *   const cert = new selfSignedCert.SelfSignedCert(this, 'cert', {
 *     privateKeyPem: key.privateKeyPem,
 *     subject: { commonName: hostname },          // a one-element list in older provider releases
 *     dnsNames: [hostname],
 *     validityPeriodHours: 24 * 90,
 *     earlyRenewalHours: 24 * 30,
 *     allowedUses: ['digital_signature', 'key_encipherment', 'server_auth'],
 *   });
 *   return { privateKeyPem: key.privateKeyPem, certificatePem: cert.certPem };
 *
 * Mapping: variable `tls_private_key_pem` = tls_private_key.key.private_key_pem (Postfix reads the
 * SEC1 "EC PRIVATE KEY" form as well as PKCS#8), variable `tls_certificate_pem` =
 * tls_self_signed_cert.cert.cert_pem. The PostfixHost resource then depends on both resources
 * through the tokens, so Terraform creates (and, on renewal, replaces) the certificate first, and a
 * new certificate changes the host's triggers, so the next deploy uploads it and reloads Postfix.
 *
 * Deploy (with the variables set, e.g. TF_VAR_tls_private_key_pem="$(cat key.pem)"):
 *   MAIL_HOST=192.0.2.25 MAIL_HOSTNAME=mx1.example.org cdktf deploy
 *   (cdktf.json "app": "npm run --silent build && node dist/examples/tls-composition/main.js")
 */
import { App, TerraformStack, TerraformVariable } from 'cdktf';
import { Construct } from 'constructs';
import { PostfixHost } from '../../constructs/postfix-host';
import { Submission, Submissions } from '../../constructs/master-service';
import { TlsPolicy } from '../../constructs/tls-policy';
import { TlsLint } from '../../constructs/tls-lint';
import { connectionFromEnv } from '../connection-from-env';

/** PEM strings for one certificate: literal text or Terraform tokens. */
export interface CertificateMaterial {
  readonly privateKeyPem: string;
  readonly certificatePem: string;
}

/** Stand-in for provider-tls: the same two strings, from sensitive variables. */
export function certificateFromVariables(scope: Construct): CertificateMaterial {
  const key = new TerraformVariable(scope, 'tls_private_key_pem', {
    type: 'string',
    sensitive: true,
    description: 'Private key (PEM, unencrypted): tls_private_key.<name>.private_key_pem',
  });
  const cert = new TerraformVariable(scope, 'tls_certificate_pem', {
    type: 'string',
    description: 'Certificate chain (PEM, leaf first): tls_self_signed_cert.<name>.cert_pem or an ACME chain',
  });
  return { privateKeyPem: key.stringValue, certificatePem: cert.stringValue };
}

export interface TlsCompositionStackProps {
  readonly env: NodeJS.ProcessEnv;
  /** Where the certificate comes from. @default certificateFromVariables */
  readonly certificate?: (scope: Construct, hostname: string) => CertificateMaterial;
}

export class TlsCompositionStack extends TerraformStack {
  readonly host: PostfixHost;
  readonly tls: TlsPolicy;

  constructor(scope: Construct, id: string, props: TlsCompositionStackProps) {
    super(scope, id);
    const env = props.env;
    const hostname = env.MAIL_HOSTNAME ?? 'mail.example.org';
    const material = (props.certificate ?? certificateFromVariables)(this, hostname);
    this.host = new PostfixHost(this, 'mx', {
      connection: connectionFromEnv(env),
      settings: { myhostname: hostname },
      // Right after each apply: forward secrecy and nothing below TLS 1.2 on 25, 587 and 465.
      tlsCheckAfterApply: {},
    });
    this.host.addService(Submission.starttls());
    this.host.addService(Submissions.implicitTls());
    this.tls = new TlsPolicy(this.host, 'tls', { certificates: [{ ...material, name: 'mx' }] });
  }
}

if (require.main === module) {
  const app = new App();
  new TlsCompositionStack(app, 'tls-composition', { env: process.env });
  TlsLint.addTo(app, { strict: true });
  app.synth();
}
