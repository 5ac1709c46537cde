/**
 * One TLS handshake with a mail server, through node's own net and tls modules: for STARTTLS the
 * SMTP dialogue of RFC 3207 (wait for the 220 greeting, EHLO, check that STARTTLS is offered,
 * STARTTLS, wait for 220), then the TLS handshake on the same socket; for implicit TLS (submissions,
 * RFC 8314) the handshake from the first byte. What was negotiated is read from the TLS API
 * (getProtocol, getCipher, getEphemeralKeyInfo, getPeerCertificate), not from any tool's text.
 */
import { X509Certificate } from 'crypto';
import { isIP, Socket } from 'net';
import { hostname } from 'os';
import { checkServerIdentity, connect as tlsConnect, rootCertificates, SecureVersion, TLSSocket } from 'tls';
import { readFileSync } from 'fs';

export type TlsCheckMode = 'starttls' | 'implicit';

export interface TlsCheckTarget {
  readonly host: string;
  readonly port: number;
  readonly mode: TlsCheckMode;
}

export interface KeyExchange {
  /** e.g. X25519, prime256v1, DH. */
  readonly group: string;
  readonly bits: number;
}

export interface HandshakeOptions {
  /** Offer nothing older than this. @default node's default (TLSv1.2) */
  readonly minVersion?: SecureVersion;
  /** Offer nothing newer than this. @default TLSv1.3 */
  readonly maxVersion?: SecureVersion;
  /** OpenSSL cipher list for TLS 1.2 and older. @default node's default */
  readonly ciphers?: string;
  /** EHLO name for STARTTLS. @default this machine's name when it is a dotted name, else localhost */
  readonly ehloName?: string;
  /** For the whole conversation (connect, SMTP, handshake). @default 15000 */
  readonly timeoutMs?: number;
  /** Check the certificate's name against the host (names only, never IP addresses). @default true */
  readonly verifyHostname?: boolean;
}

/**
 * Where a failed handshake stopped. connect: no TCP connection (or it timed out); smtp: the server
 * did not greet, did not offer STARTTLS or refused it; tls: the TLS handshake itself failed, which
 * is the server's answer to what we offered; client: this client cannot offer what was asked.
 */
export type HandshakeStage = 'connect' | 'smtp' | 'tls' | 'client';

export interface HandshakeFacts {
  readonly established: boolean;
  readonly failedAt?: HandshakeStage;
  readonly timedOut?: boolean;
  readonly error?: string;
  readonly protocol?: string;
  /** OpenSSL's name for it, e.g. ECDHE-RSA-AES128-GCM-SHA256 or TLS_AES_256_GCM_SHA384. */
  readonly cipher?: string;
  readonly keyExchange?: KeyExchange;
  /** The server's own certificate. */
  readonly certificate?: X509Certificate;
  /** The chain verified against node's CA store (and the host name, when checked). */
  readonly verified?: boolean;
  readonly verifyError?: string;
}

/** Node's certificate verification codes, in words. */
const VERIFY_WORDS: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'self-signed certificate',
  SELF_SIGNED_CERT_IN_CHAIN: 'self-signed certificate in the chain',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'unable to verify the first certificate (intermediate missing?)',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'issuer not in the trust store',
  CERT_HAS_EXPIRED: 'certificate has expired',
  CERT_NOT_YET_VALID: 'certificate is not yet valid',
};

function verifyWords(code: string): string {
  return VERIFY_WORDS[code] ? `${VERIFY_WORDS[code]} (${code})` : code;
}

/** "...:error:0A00042E:SSL routines:ssl3_read_bytes:tlsv1 alert protocol version:../deps/..." -> "tlsv1 alert protocol version". */
function errorWords(e: NodeJS.ErrnoException): string {
  const reason = /SSL routines:[^:]*:([^:]+)/.exec(e.message)?.[1];
  const text = reason ?? e.message.split('\n')[0];
  return e.code && !text.includes(e.code) ? `${text} (${e.code})` : text;
}

/** An EHLO argument (RFC 5321 4.1.1.1): a domain name or an address literal such as [192.0.2.1]. */
export function isEhloName(name: string): boolean {
  const label = '[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?';
  return new RegExp(`^${label}(?:\\.${label})*$`).test(name) || /^\[(IPv6:)?[0-9A-Fa-f:.]+\]$/.test(name);
}

/** A dotted, DNS-safe name for EHLO: this machine's, or localhost. */
export function defaultEhloName(name = hostname()): string {
  return name.includes('.') && isEhloName(name) ? name : 'localhost';
}

/**
 * Reads SMTP replies (RFC 5321 4.2: "250-..." continues, "250 ..." ends) from a socket; a close or
 * an error while a reply is awaited rejects it.
 */
class ReplyReader {
  private buffer = '';
  private lines: string[] = [];
  private waiting?: { resolve: (reply: { code: number; text: string }) => void; reject: (e: Error) => void };
  private ended?: Error;

  constructor(private readonly socket: Socket) {
    socket.on('data', this.onData).on('close', this.onClose).on('error', this.onError);
  }

  private readonly onData = (chunk: Buffer): void => {
    this.buffer += chunk.toString('latin1');
    let i: number;
    while ((i = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, i).replace(/\r$/, '');
      this.buffer = this.buffer.slice(i + 1);
      this.lines.push(line);
      if (/^\d{3}(?!-)/.test(line) && this.waiting) {
        const reply = { code: Number(line.slice(0, 3)), text: this.lines.join('\n') };
        this.lines = [];
        const w = this.waiting;
        this.waiting = undefined;
        w.resolve(reply);
      }
    }
  };

  private readonly onClose = (): void => this.end(new StageError('smtp', 'the server closed the connection during the SMTP dialogue'));
  private readonly onError = (e: NodeJS.ErrnoException): void => this.end(new StageError('smtp', errorWords(e)));

  private end(e: Error): void {
    this.ended ??= e;
    this.waiting?.reject(e);
    this.waiting = undefined;
  }

  next(): Promise<{ code: number; text: string }> {
    return new Promise((resolve, reject) => {
      if (this.ended) reject(this.ended);
      else this.waiting = { resolve, reject };
    });
  }

  /** Stop reading: the socket now belongs to TLS. */
  detach(): void {
    this.socket.removeListener('data', this.onData).removeListener('close', this.onClose).removeListener('error', this.onError);
  }
}

class StageError extends Error {
  constructor(
    readonly stage: HandshakeStage,
    message: string,
  ) {
    super(message);
  }
}

async function startTls(socket: Socket, ehloName: string): Promise<void> {
  const reader = new ReplyReader(socket);
  const expect = async (code: number, after: string) => {
    const reply = await reader.next();
    if (reply.code !== code) throw new StageError('smtp', `${after}: the server answered "${reply.text.split('\n').pop()}"`);
    return reply.text;
  };
  await expect(220, 'greeting');
  socket.write(`EHLO ${ehloName}\r\n`);
  const ehlo = await expect(250, 'EHLO');
  if (!/^250[- ]STARTTLS\b/im.test(ehlo)) throw new StageError('smtp', 'the server did not offer STARTTLS in its EHLO reply');
  socket.write('STARTTLS\r\n');
  await expect(220, 'STARTTLS');
  reader.detach();
}

function connectTcp(socket: Socket, target: TlsCheckTarget): Promise<void> {
  return new Promise((resolve, reject) => {
    const failed = (e: NodeJS.ErrnoException) => reject(new StageError('connect', errorWords(e)));
    socket.once('error', failed);
    socket.connect({ host: target.host, port: target.port }, () => {
      socket.removeListener('error', failed);
      resolve();
    });
  });
}

/** The system's trust store (Debian's ca-certificates bundle), as openssl s_client and Postfix's smtp(8) use it. */
const SYSTEM_CA_BUNDLE = '/etc/ssl/certs/ca-certificates.crt';
let trustedRoots: string[] | undefined;

/**
 * Node's built-in roots, the system bundle (a private CA added with update-ca-certificates counts) and
 * NODE_EXTRA_CA_CERTS: an explicit `ca` replaces node's defaults, extras included, so all are named.
 */
function roots(): string[] {
  if (!trustedRoots) {
    const extra = [SYSTEM_CA_BUNDLE, process.env.NODE_EXTRA_CA_CERTS].flatMap((file) => {
      if (!file) return [];
      try {
        return [readFileSync(file, 'utf8')];
      } catch {
        return []; // absent: the other sources still count
      }
    });
    trustedRoots = [...rootCertificates, ...extra];
  }
  return trustedRoots;
}

function secure(socket: Socket, target: TlsCheckTarget, options: HandshakeOptions): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    let tls: TLSSocket;
    try {
      tls = tlsConnect({
        socket,
        // SNI takes names only (RFC 6066 3).
        ...(isIP(target.host) === 0 ? { servername: target.host } : {}),
        rejectUnauthorized: false, // judged below: opportunistic SMTP TLS works without a verified chain
        ca: roots(),
        ...(options.minVersion ? { minVersion: options.minVersion } : {}),
        ...(options.maxVersion ? { maxVersion: options.maxVersion } : {}),
        ...(options.ciphers ? { ciphers: options.ciphers } : {}),
      });
    } catch (e) {
      reject(new StageError('client', errorWords(e as NodeJS.ErrnoException)));
      return;
    }
    tls.once('error', (e: NodeJS.ErrnoException) => {
      const clientSide = e.code === 'ERR_SSL_NO_PROTOCOLS_AVAILABLE' || e.code === 'ERR_SSL_NO_CIPHERS_AVAILABLE';
      reject(new StageError(clientSide ? 'client' : 'tls', errorWords(e)));
    });
    tls.once('secureConnect', () => {
      tls.on('error', () => undefined); // a reset while we hang up is not a finding
      resolve(tls);
    });
  });
}

function describe(tls: TLSSocket, target: TlsCheckTarget, options: HandshakeOptions): HandshakeFacts {
  const kx = tls.getEphemeralKeyInfo() as { type?: string; name?: string; size?: number } | null;
  const keyExchange = kx?.type && kx.size ? { group: kx.type === 'ECDH' && kx.name ? kx.name : kx.type, bits: kx.size } : undefined;
  const peer = tls.getPeerCertificate();
  const certificate = peer?.raw ? new X509Certificate(peer.raw) : undefined;
  let verifyError = tls.authorized ? undefined : verifyWords(String(tls.authorizationError ?? 'not verified'));
  if (!verifyError && options.verifyHostname !== false && isIP(target.host) === 0 && peer?.raw) {
    verifyError = checkServerIdentity(target.host, peer)?.message;
  }
  return {
    established: true,
    protocol: tls.getProtocol() ?? undefined,
    cipher: tls.getCipher()?.name,
    keyExchange,
    certificate,
    verified: verifyError === undefined,
    ...(verifyError ? { verifyError } : {}),
  };
}

/**
 * Connect, speak SMTP up to STARTTLS when the mode says so, and complete one TLS handshake offering
 * what the options allow. Never throws: a failure is reported with the stage it happened at.
 */
export async function tlsHandshake(target: TlsCheckTarget, options: HandshakeOptions = {}): Promise<HandshakeFacts> {
  // Errors are handled where each stage listens; this one keeps a late one from being unhandled.
  const socket = new Socket().on('error', () => undefined);
  let stage: HandshakeStage = 'connect';
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new StageError(stage, 'timed out')), options.timeoutMs ?? 15_000);
  });
  const conversation = (async () => {
    const ehloName = options.ehloName ?? defaultEhloName();
    // It goes onto the wire as is: nothing but a name may reach the SMTP dialogue.
    if (!isEhloName(ehloName))
      throw new StageError('client', `EHLO name ${JSON.stringify(ehloName)} is not a domain name or an address literal`);
    await connectTcp(socket, target);
    if (target.mode === 'starttls') {
      stage = 'smtp';
      await startTls(socket, ehloName);
    }
    stage = 'tls';
    const tls = await secure(socket, target, options);
    try {
      return describe(tls, target, options);
    } finally {
      tls.end();
    }
  })();
  try {
    return await Promise.race([conversation, timeout]);
  } catch (e) {
    const failedAt = e instanceof StageError ? e.stage : stage;
    return {
      established: false,
      failedAt,
      error: (e as Error).message,
      ...(e instanceof StageError && e.message === 'timed out' ? { timedOut: true } : {}),
    };
  } finally {
    clearTimeout(timer);
    socket.destroy();
    conversation.catch(() => undefined); // after a timeout, its late failure is not news
  }
}
