import { LabHost } from '../lab';

/**
 * Cyrus SASL on a lab host's smtpd: a sasldb of its own under /etc/postfix/sasl (inside the host's
 * bind mount, so this machine's /etc/sasldb2 is never touched), PLAIN and LOGIN, one user created
 * in the realm host.hostname (smtpd logs it as user@realm). Sets cyrus_sasl_config_path; the
 * caller enables SASL where it wants it.
 */
export async function addSaslUser(h: LabHost, user: string, password: string): Promise<void> {
  const sh = async (argv: string[], input?: string) => {
    const r = await h.exec(argv, { input });
    if (r.code !== 0) throw new Error(`${h.name}: ${argv.join(' ')}: ${r.stderr}`);
  };
  await sh(['mkdir', '-p', '/etc/postfix/sasl']);
  await sh(
    ['tee', '/etc/postfix/sasl/smtpd.conf'],
    'pwcheck_method: auxprop\nauxprop_plugin: sasldb\nmech_list: PLAIN LOGIN\nsasldb_path: /etc/postfix/sasl/sasldb2\n',
  );
  await sh(['saslpasswd2', '-c', '-p', '-f', '/etc/postfix/sasl/sasldb2', '-u', h.hostname, user], password);
  // smtpd runs as postfix (no chroot on lab hosts) and reads the sasldb itself.
  await sh(['chown', 'root:postfix', '/etc/postfix/sasl/sasldb2']);
  await sh(['chmod', '0640', '/etc/postfix/sasl/sasldb2']);
  await sh(['postconf', '-e', 'cyrus_sasl_config_path=/etc/postfix/sasl', `smtpd_sasl_local_domain=${h.hostname}`]);
}
