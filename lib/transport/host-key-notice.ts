import { Client } from 'ssh2';

/** The global request OpenSSH's sshd sends after login to announce every host key it has. */
const HOSTKEYS_NOTICE = 'hostkeys-00@openssh.com';

interface GlobalRequestSide {
  requestSuccess(): void;
}
type GlobalRequestHandler = (protocol: GlobalRequestSide, name: string, wantReply: boolean, data: unknown) => void;

/**
 * After login, sshd announces all its host keys (hostkeys-00@openssh.com, for clients that keep
 * known_hosts up to date: OpenSSH's UpdateHostKeys). ssh2 answers every such notice by asking the
 * server to prove each key (hostkeys-prove-00@openssh.com): the server signs the session with every
 * host key it holds, an RSA signature among them on most hosts, and ssh2 verifies each, all for a
 * 'hostkeys' event nothing here listens to. An apply never updates the operator's known_hosts, so
 * the notice is acknowledged if asked and dropped.
 *
 * ssh2 has no option for it: the handler for global requests is wrapped for that one name, on the
 * client ssh2 1.17 builds in connect() (call this right after it). Where that shape is missing the
 * client is left as it is: an ssh2 upgrade can only bring the proof back, never break a session
 * (test/integration/ssh-edge.test.ts reads the server's log for it).
 */
export function skipHostKeyProofs(client: Client): void {
  const handlers = (client as unknown as { _protocol?: { _handlers?: Record<string, GlobalRequestHandler | undefined> } })._protocol
    ?._handlers;
  const original = handlers?.GLOBAL_REQUEST;
  if (!handlers || typeof original !== 'function') return;
  handlers.GLOBAL_REQUEST = (protocol, name, wantReply, data) => {
    if (name !== HOSTKEYS_NOTICE) return original(protocol, name, wantReply, data);
    if (wantReply) protocol.requestSuccess();
  };
}
