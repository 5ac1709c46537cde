/**
 * DKIM signing through OpenDKIM as the builder takes it: OpenDKIM's configuration files, the key
 * (generated on the host by a `dkim-keygen` hook, or given as a secret that travels as a fromEnv
 * file), a `service-restart` hook that (re)starts opendkim whenever its files change, and the milter
 * wiring in main.cf (postconf(5): smtpd_milters, non_smtpd_milters, milter_default_action,
 * milter_protocol).
 */
import { createHash } from 'node:crypto';
import { BundleHook } from '../model/bundle';
import { PostfixConfigError } from '../model/errors';
import { DesiredFile } from '../model/host-state';
import {
  DKIM_RSA_BITS,
  OPENDKIM_DIR,
  openDkimKeyPath,
  postfixMilterAddress,
  renderKeyTable,
  renderOpenDkimConf,
  renderSigningTable,
  renderTrustedHosts,
  validateDomain,
  validateIntRange,
  validateSelector,
} from '../model/dns';
import { IsUnresolved } from './unresolved';

export const DEFAULT_OPENDKIM_CONF = '/etc/opendkim.conf';
export const DEFAULT_OPENDKIM_PORT = 8891;

export interface DkimSigningProps {
  /** The signing domain (`d=`): mail whose sender address is in this domain is signed. */
  readonly domain: string;
  /** The selector (`s=`): one DNS label, e.g. "mail" or "2026a" (a dot is refused). */
  readonly selector: string;
  /**
   * The private key PEM, from another resource (e.g. tls_private_key.private_key_pem) or a
   * sensitive variable: a token, never text in the program. It reaches the host as a 0600 file
   * owned by opendkim through the runner's environment, never through the bundle or the state.
   * @default - generated on the host (RSA, keyBits) on the first apply and kept there
   */
  readonly privateKeyPem?: string;
  /**
   * The matching public key PEM (not a secret), for the DKIM DNS record; a token is fine.
   * @default - no DNS record at synth (see DkimSigning.publicKeyCommand for a host-generated key)
   */
  readonly publicKeyPem?: string;
  /** Size of a host-generated RSA key: 2048 (RFC 8301 §3.2), 3072 or 4096. @default 2048 */
  readonly keyBits?: number;
  /** Change this to generate a new host key on the next apply (publish the new record first!). @default "1" */
  readonly keyGeneration?: string;
  /** opendkim.conf on the host; the file name must be opendkim.conf. @default "/etc/opendkim.conf" */
  readonly configPath?: string;
  /** Directory of KeyTable, SigningTable, TrustedHosts and keys/. @default "/etc/opendkim" */
  readonly dataDirectory?: string;
  /**
   * OpenDKIM listens on inet:PORT@localhost. A TCP socket needs no chroot care (Debian's smtpd and
   * cleanup run chrooted in the queue directory, where a UNIX socket would have to live).
   * @default 8891
   */
  readonly inetPort?: number;
  /** More hosts (IPs, CIDRs, names) whose mail is signed, besides loopback. @default - loopback only */
  readonly trustedHosts?: string[];
}

export interface DkimSigningPlan {
  readonly domain: string;
  readonly selector: string;
  /** Where the private key lives on the host. */
  readonly keyPath: string;
  /** True when the key is generated on the host (its public half is not known at synth). */
  readonly keyOnHost: boolean;
  /** The milter address as main.cf names it, e.g. inet:localhost:8891. */
  readonly milter: string;
  readonly configPath: string;
  readonly parameters: Readonly<Record<string, string>>;
  readonly files: readonly DesiredFile[];
  readonly hooks: readonly BundleHook[];
  /** A shell command that prints the `p=` value of the key on the host (run it over SSH as root). */
  readonly publicKeyCommand: string;
}

export function planDkimSigning(where: string, props: DkimSigningProps, isUnresolved: IsUnresolved): DkimSigningPlan {
  try {
    return plan(where, props, isUnresolved);
  } catch (e) {
    throw e instanceof PostfixConfigError && e.where === '' ? e.at(where) : e;
  }
}

function plan(where: string, props: DkimSigningProps, isUnresolved: IsUnresolved): DkimSigningPlan {
  const domain = validateDomain(props.domain, 'DkimSigning.domain');
  const selector = validateSelector(props.selector, 'DkimSigning.selector');
  const configPath = checkConfigPath(props.configPath ?? DEFAULT_OPENDKIM_CONF);
  const dir = checkDir(props.dataDirectory ?? OPENDKIM_DIR);
  const port = validateIntRange(
    props.inetPort ?? DEFAULT_OPENDKIM_PORT,
    'DkimSigning.inetPort',
    1,
    65535,
    'use 8891, the port Debian examples use',
  );
  const bits = props.keyBits ?? 2048;
  if (!(DKIM_RSA_BITS as readonly number[]).includes(bits)) {
    throw new PostfixConfigError(
      '',
      'DkimSigning.keyBits',
      String(bits),
      'is not a DKIM RSA key size we generate',
      'use 2048 (RFC 8301 §3.2), 3072 or 4096',
    );
  }
  const keyGeneration = props.keyGeneration ?? '1';
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(keyGeneration)) {
    throw new PostfixConfigError(
      '',
      'DkimSigning.keyGeneration',
      keyGeneration,
      'is not a plain generation label',
      'use letters, digits, dots or hyphens, e.g. "2"',
    );
  }
  if (props.privateKeyPem !== undefined && !isUnresolved(props.privateKeyPem)) {
    throw new PostfixConfigError(
      '',
      'DkimSigning.privateKeyPem',
      undefined,
      'a private key given as text would be written into the synthesized stack (cdk.tf.json)',
      "pass it as a token (a tls_private_key resource's private_key_pem, or a sensitive TerraformVariable), or leave it out to generate the key on the host",
    );
  }
  const key = { domain, selector };
  const keyPath = openDkimKeyPath(key, `${dir}/keys`);
  const socket = { inet: port };
  const table = (name: string, content: string): DesiredFile => ({ path: `${dir}/${name}`, content, mode: '0644' });
  const files: DesiredFile[] = [
    { path: configPath, content: renderOpenDkimConf({ socket, dir }), mode: '0644' },
    table('KeyTable', renderKeyTable([key], `${dir}/keys`)),
    table('SigningTable', renderSigningTable([key])),
    table('TrustedHosts', renderTrustedHosts(props.trustedHosts ?? [])),
  ];
  const hooks: BundleHook[] = [];
  if (props.privateKeyPem !== undefined) {
    // OpenDKIM refuses keys other users can read (RequireSafeKeys, opendkim.conf(5)).
    files.push({
      path: keyPath,
      mode: '0600',
      owner: 'opendkim',
      group: 'opendkim',
      secret: true,
      fromEnv: { name: envName(where, keyPath), value: props.privateKeyPem },
    });
  } else {
    hooks.push({ kind: 'dkim-keygen', path: keyPath, bits, generation: keyGeneration });
  }
  // Restart when any file changes (watch) or a new host key was generated (generation).
  hooks.push({ kind: 'service-restart', path: configPath, generation: keyGeneration, watch: files.map((f) => f.path).sort() });
  const milter = postfixMilterAddress(socket);
  return {
    domain,
    selector,
    keyPath,
    keyOnHost: props.privateKeyPem === undefined,
    milter,
    configPath,
    files,
    hooks,
    parameters: milterParameters(milter),
    publicKeyCommand: `openssl pkey -in ${keyPath} -pubout -outform DER | base64 -w0`,
  };
}

/**
 * postconf(5): smtpd_milters for mail received over SMTP, non_smtpd_milters for sendmail(1) and
 * pickup, protocol 6 (Postfix >= 2.6, what OpenDKIM 2.11 speaks). milter_default_action = accept:
 * when opendkim is down or restarting, mail still flows, unsigned, instead of being refused with a
 * 451 (tempfail, Postfix's default) at every client; a missing signature costs less than a mail
 * outage, and the next restart hook or apply brings the milter back.
 */
export function milterParameters(milter: string): Record<string, string> {
  return { smtpd_milters: milter, non_smtpd_milters: milter, milter_default_action: 'accept', milter_protocol: '6' };
}

function checkConfigPath(path: string): string {
  if (!/^\/[A-Za-z0-9._/-]*\/opendkim\.conf$/.test(path) || path.split('/').includes('..')) {
    throw new PostfixConfigError(
      '',
      'DkimSigning.configPath',
      path,
      'is not an absolute path to a file named opendkim.conf (the restart hook starts opendkim from it)',
      'use /etc/opendkim.conf, or e.g. /etc/postfix/opendkim/opendkim.conf for a second instance',
    );
  }
  return path;
}

function checkDir(path: string): string {
  if (!/^\/[A-Za-z0-9._/-]+$/.test(path) || path.endsWith('/') || path.split('/').includes('..')) {
    throw new PostfixConfigError(
      '',
      'DkimSigning.dataDirectory',
      path,
      'is not an absolute directory path of plain characters',
      'use /etc/opendkim',
    );
  }
  return path;
}

function envName(where: string, path: string): string {
  return `CDKTF_POSTFIX_DKIM_${createHash('sha256').update(`${where}#${path}`).digest('hex').slice(0, 12).toUpperCase()}`;
}
