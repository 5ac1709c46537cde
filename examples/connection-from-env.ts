import { PostfixConnection } from '../constructs/postfix-host';

/**
 * The examples' target, from the environment: MAIL_HOST (address or address:port; synth alone works
 * with the placeholder), MAIL_SSH_USER (default root), MAIL_SSH_KEY (default ssh-agent),
 * MAIL_KNOWN_HOSTS (default ~/.ssh/known_hosts).
 */
export function connectionFromEnv(env: NodeJS.ProcessEnv): PostfixConnection {
  const [address, port] = (env.MAIL_HOST ?? 'mail.example.org').split(':');
  return {
    host: address,
    port: port ? Number(port) : undefined,
    user: env.MAIL_SSH_USER ?? 'root',
    privateKeyPath: env.MAIL_SSH_KEY || undefined,
    knownHostsPath: env.MAIL_KNOWN_HOSTS || undefined,
  };
}
