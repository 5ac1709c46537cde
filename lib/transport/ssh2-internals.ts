import { Client } from 'ssh2';

/**
 * The two places where the SSH session reaches into ssh2's protocol object (ssh2 1.17, built by
 * Client.connect(): call these right after it), each for work or a round trip ssh2 offers no option
 * to skip. Where the shape is not the one written against, the client is left as it is: an ssh2
 * upgrade can only bring the cost back, never break a session. test/integration/ssh-edge.test.ts
 * reads a DEBUG3 sshd's log for both.
 */

/** The global request OpenSSH's sshd sends after login to announce every host key it has. */
const HOSTKEYS_NOTICE = 'hostkeys-00@openssh.com';

interface ProtocolSide {
  requestSuccess(): void;
}
type GlobalRequestHandler = (protocol: ProtocolSide, name: string, wantReply: boolean, data: unknown) => void;
/** A key as ssh2 parses it; sign() returns the signature, or an Error. */
interface ParsedKey {
  isPrivateKey?: () => boolean;
  sign?: (data: Buffer, hash?: string) => Buffer | Error;
}
type SignCallback = (data: Buffer, done: (signature: Buffer) => void) => void;
type AuthPK = (username: string, key: ParsedKey, keyAlgo?: string, sign?: SignCallback) => void;
interface Ssh2Protocol {
  _handlers?: Record<string, GlobalRequestHandler | undefined>;
  authPK?: AuthPK;
}

function protocolOf(client: Client): Ssh2Protocol | undefined {
  return (client as unknown as { _protocol?: Ssh2Protocol })._protocol;
}

/**
 * After login, sshd announces all its host keys (for clients that keep known_hosts up to date:
 * OpenSSH's UpdateHostKeys). ssh2 answers every such notice by asking the server to prove each key
 * (hostkeys-prove-00@openssh.com): the server signs the session with every host key it holds, an RSA
 * signature among them on most hosts, and ssh2 verifies each, all for a 'hostkeys' event nothing here
 * listens to. An apply never updates the operator's known_hosts, so the notice is acknowledged if
 * asked and dropped.
 */
export function skipHostKeyProofs(client: Client): void {
  const handlers = protocolOf(client)?._handlers;
  const original = handlers?.GLOBAL_REQUEST;
  if (!handlers || typeof original !== 'function') return;
  handlers.GLOBAL_REQUEST = (protocol, name, wantReply, data) => {
    if (name !== HOSTKEYS_NOTICE) return original(protocol, name, wantReply, data);
    if (wantReply) protocol.requestSuccess();
  };
}

/** The hash ssh2 signs with for a public key algorithm (RFC 8332's RSA names; others carry their own). */
const HASH_OF_ALGORITHM: Record<string, string> = { 'rsa-sha2-256': 'sha256', 'rsa-sha2-512': 'sha512', 'ssh-rsa': 'sha1' };

/**
 * ssh2 logs in with a key file in two round trips: it asks whether the server would accept the key
 * (publickey without a signature), and signs only after the server says yes. RFC 4252 section 7 lets
 * the first request carry the signature, which saves a round trip on every connection; the server
 * answers it exactly as it answers the second. Only for a private key ssh2 holds (an agent's keys
 * keep the query: which of them the server takes is what it tells); a key that cannot sign here
 * goes through ssh2's own path, which reports the error.
 */
export function signFirstLogin(client: Client): void {
  const protocol = protocolOf(client);
  const authPK = protocol?.authPK;
  if (!protocol || typeof authPK !== 'function') return;
  protocol.authPK = function (this: Ssh2Protocol, username, key, keyAlgo, sign) {
    if (sign || typeof key?.sign !== 'function' || key.isPrivateKey?.() !== true) return authPK.call(this, username, key, keyAlgo, sign);
    const signWithKey = key.sign.bind(key);
    // ssh2 calls this before it sends anything, so a key that cannot sign leaves no trace to undo.
    const unsigned = new Error('the key could not sign');
    const signed = (data: Buffer, done: (signature: Buffer) => void) => {
      const signature = signWithKey(data, keyAlgo ? HASH_OF_ALGORITHM[keyAlgo] : undefined);
      if (signature instanceof Error) throw unsigned;
      done(signature);
    };
    try {
      return authPK.call(this, username, key, keyAlgo, signed);
    } catch (e) {
      if (e !== unsigned) throw e;
      return authPK.call(this, username, key, keyAlgo);
    }
  };
}
