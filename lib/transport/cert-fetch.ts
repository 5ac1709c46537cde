/**
 * Ask an SSH server for its host certificate, like `ssh-keyscan -c`: the start of an SSH handshake
 * (RFC 4253 version exchange and KEXINIT, RFC 8731 curve25519 key exchange) offering only certificate
 * host key algorithms, up to the server's KEX_ECDH_REPLY, which carries the certificate. Then the
 * connection is dropped.
 *
 * Why a second connection: ssh2 does not negotiate certificate algorithms, so the real session gets
 * the plain key. The certificate is a public document; what makes it safe is that the session's
 * handshake proves the server holds the private half of the key the CA certified (ssh2 checks that
 * signature), and the caller trusts the session's key only when it equals the certified key.
 */
import { generateKeyPairSync, randomBytes } from 'crypto';
import { Duplex } from 'stream';
import { SshReader, sshString } from './host-cert';

const CERT_ALGORITHMS = [
  'ssh-ed25519-cert-v01@openssh.com',
  'ecdsa-sha2-nistp256-cert-v01@openssh.com',
  'ecdsa-sha2-nistp384-cert-v01@openssh.com',
  'ecdsa-sha2-nistp521-cert-v01@openssh.com',
  'rsa-sha2-512-cert-v01@openssh.com',
  'rsa-sha2-256-cert-v01@openssh.com',
];
const MSG_DISCONNECT = 1;
const MSG_KEXINIT = 20;
const MSG_KEX_ECDH_INIT = 30;
const MSG_KEX_ECDH_REPLY = 31;

function nameList(names: string[]): Buffer {
  return sshString(names.join(','));
}

/** An unencrypted binary packet (RFC 4253 section 6): length, padding length, payload, padding. */
function packet(payload: Buffer): Buffer {
  let padding = 8 - ((5 + payload.length) % 8);
  if (padding < 4) padding += 8;
  const head = Buffer.alloc(5);
  head.writeUInt32BE(1 + payload.length + padding);
  head[4] = padding;
  return Buffer.concat([head, payload, randomBytes(padding)]);
}

function kexInit(): Buffer {
  return Buffer.concat([
    Buffer.from([MSG_KEXINIT]),
    randomBytes(16),
    nameList(['curve25519-sha256', 'curve25519-sha256@libssh.org']),
    nameList(CERT_ALGORITHMS),
    nameList(['aes128-ctr', 'aes256-ctr', 'aes128-gcm@openssh.com', 'chacha20-poly1305@openssh.com']),
    nameList(['aes128-ctr', 'aes256-ctr', 'aes128-gcm@openssh.com', 'chacha20-poly1305@openssh.com']),
    nameList(['hmac-sha2-256', 'hmac-sha2-512']),
    nameList(['hmac-sha2-256', 'hmac-sha2-512']),
    nameList(['none']),
    nameList(['none']),
    nameList([]),
    nameList([]),
    Buffer.from([0, 0, 0, 0, 0]), // first_kex_packet_follows = false, reserved uint32
  ]);
}

function ecdhInit(): Buffer {
  const { publicKey } = generateKeyPairSync('x25519');
  const raw = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
  return Buffer.concat([Buffer.from([MSG_KEX_ECDH_INIT]), sshString(raw)]);
}

/**
 * The host certificate blob the server at the other end of `sock` offers, or undefined when it
 * offers none (it then disconnects: no matching host key type). Rejects on a malformed reply or
 * when nothing arrives within timeoutMs. Always closes the socket.
 */
export function fetchHostCertificate(sock: Duplex, timeoutMs: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    let versionSeen = false;
    let settled = false;
    const finish = (err: Error | undefined, cert?: Buffer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      sock.removeAllListeners('data');
      sock.on('error', () => undefined);
      sock.destroy();
      if (err) reject(err);
      else resolve(cert);
    };
    const timer = setTimeout(() => finish(new Error(`no certificate answer within ${Math.round(timeoutMs / 1000)} s`)), timeoutMs);
    const onPacket = (payload: Buffer): void => {
      if (payload[0] === MSG_KEXINIT) {
        // Without a certificate algorithm in common the server would drop us (and reset the
        // connection if our next packet is still unread): stop here, there is no certificate.
        const r = new SshReader(payload.subarray(17));
        r.string(); // kex algorithms
        const offered = r.text().split(',');
        if (!CERT_ALGORITHMS.some((a) => offered.includes(a))) return finish(undefined, undefined);
        sock.write(packet(ecdhInit()));
      } else if (payload[0] === MSG_KEX_ECDH_REPLY) {
        const r = new SshReader(payload.subarray(1));
        finish(undefined, Buffer.from(r.string()));
      } else if (payload[0] === MSG_DISCONNECT) finish(undefined, undefined);
      // SSH_MSG_IGNORE, DEBUG and anything else before the reply: skip.
    };
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      try {
        while (!versionSeen) {
          const eol = buf.indexOf('\n');
          if (eol < 0) return;
          const line = buf.subarray(0, eol).toString('latin1');
          buf = buf.subarray(eol + 1);
          if (line.startsWith('SSH-')) {
            if (!line.startsWith('SSH-2.0-') && !line.startsWith('SSH-1.99-'))
              return finish(new Error(`not an SSH-2 server (${line.trim()})`));
            versionSeen = true;
            sock.write(packet(kexInit()));
          }
        }
        while (buf.length >= 4) {
          const len = buf.readUInt32BE(0);
          if (len > 256 * 1024) return finish(new Error('malformed SSH packet from the server'));
          if (buf.length < 4 + len) return;
          const padding = buf[4];
          const payload = buf.subarray(5, 4 + len - padding);
          buf = buf.subarray(4 + len);
          onPacket(payload);
          if (settled) return;
        }
      } catch (e) {
        finish(e as Error);
      }
    });
    sock.on('error', (e: Error) => finish(e));
    sock.on('close', () => finish(undefined, undefined));
    sock.write('SSH-2.0-cdktf_postfix_certscan\r\n');
  });
}
