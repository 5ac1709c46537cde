/**
 * tls-check against real TLS servers on loopback: `openssl s_server` for implicit TLS (once
 * refusing TLS 1.0/1.1, once accepting them) and a small STARTTLS SMTP server in node, plus SMTP
 * servers that go wrong before TLS (no STARTTLS offered, a 554 greeting, a hang-up).
 */
import { ChildProcess, spawn } from 'child_process';
import { mkdtempSync, readFileSync } from 'fs';
import { createServer, Server, Socket } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';
import { TLSSocket } from 'tls';
import { checkTls, formatTlsCheck } from '../../lib/probe/tls-check';
import { selfSigned } from '../helpers/certs';

const dir = mkdtempSync(join(tmpdir(), 'tls-check-'));
const { keyPath, certPath } = selfSigned(dir, { cn: 'mx-test.example', key: 'ec', days: 30 });

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

async function startSServer(extra: string[]): Promise<{ port: number; child: ChildProcess }> {
  const port = await freePort();
  // SECLEVEL=0 on the server so that TLS 1.0/1.1 are really possible unless -no_tls1/-no_tls1_1 say otherwise.
  const child = spawn(
    'openssl',
    ['s_server', '-accept', `127.0.0.1:${port}`, '-cert', certPath, '-key', keyPath, '-cipher', 'DEFAULT@SECLEVEL=0', '-quiet', ...extra],
    { stdio: ['pipe', 'ignore', 'ignore'] },
  );
  for (let i = 0; i < 50; i++) {
    const open = await new Promise<boolean>((resolve) => {
      const s = new Socket()
        .once('connect', () => {
          s.destroy();
          resolve(true);
        })
        .once('error', () => resolve(false));
      s.connect(port, '127.0.0.1');
    });
    if (open) return { port, child };
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('s_server did not start');
}

/** Just enough SMTP for STARTTLS (RFC 3207): banner, EHLO with STARTTLS, then TLS. */
function startStarttlsServer(minVersion: 'TLSv1' | 'TLSv1.2'): Promise<{ port: number; server: Server }> {
  const options = { key: readFileSync(keyPath), cert: readFileSync(certPath), minVersion, ciphers: 'DEFAULT@SECLEVEL=0' };
  const server = createServer((socket) => {
    socket.on('error', () => undefined);
    socket.write('220 mx-test.example ESMTP\r\n');
    let buffer = '';
    const onData = (d: Buffer) => {
      buffer += d.toString();
      let i: number;
      while ((i = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, i).trim();
        buffer = buffer.slice(i + 1);
        if (/^EHLO/i.test(line)) socket.write('250-mx-test.example\r\n250 STARTTLS\r\n');
        else if (/^STARTTLS/i.test(line)) {
          socket.removeListener('data', onData);
          socket.write('220 2.0.0 Ready to start TLS\r\n');
          const tls = new TLSSocket(socket, { isServer: true, ...options });
          tls.on('error', () => undefined);
          tls.on('data', () => tls.write('221 bye\r\n'));
          return;
        } else socket.write('250 ok\r\n');
      }
    };
    socket.on('data', onData);
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ port: (server.address() as { port: number }).port, server })),
  );
}

describe('checkTls against openssl s_server (implicit TLS)', () => {
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const c of children) c.kill();
  });

  it('passes a server that refuses TLS 1.0 and 1.1, and reports the session', async () => {
    const { port, child } = await startSServer(['-no_tls1', '-no_tls1_1']);
    children.push(child);
    const r = await checkTls({ host: '127.0.0.1', port, mode: 'implicit' });
    expect(r.connected).toBe(true);
    expect(r.protocol).toBe('TLSv1.3');
    expect(r.cipher).toMatch(/^TLS_/);
    expect(r.keyExchange).toEqual({ group: 'X25519', bits: 253 });
    expect(r.forwardSecrecy).toBe(true);
    expect(r.certificate?.subject).toBe('CN=mx-test.example');
    expect(r.certificate?.daysLeft).toBeGreaterThanOrEqual(29);
    expect(r.certificate?.verified).toBe(false);
    expect(r.probes.find((p) => p.protocol === 'TLSv1')?.outcome).toBe('refused');
    expect(r.probes.find((p) => p.protocol === 'TLSv1.1')?.outcome).toBe('refused');
    // node's TLS has no SSLv3 at all: reported as untested, never as a pass.
    expect(r.probes.find((p) => p.protocol === 'SSLv3')?.outcome).toBe('not-offered-by-client');
    expect(r.warnings.join('\n')).toMatch(/SSLv3 not tested: not offered by this client/);
    expect(r.probes.find((p) => p.protocol === 'TLSv1')?.detail).toMatch(/alert|unsupported protocol|version/i);
    expect(r.violations).toEqual([]);
    expect(r.ok).toBe(true);
    expect(formatTlsCheck(r)).toMatch(/result: OK/);
  });

  it('fails a server that still accepts TLS 1.0 and 1.1', async () => {
    const { port, child } = await startSServer([]);
    children.push(child);
    const r = await checkTls({ host: '127.0.0.1', port, mode: 'implicit' });
    expect(r.connected).toBe(true);
    expect(r.probes.find((p) => p.protocol === 'TLSv1')?.outcome).toBe('accepted');
    expect(r.probes.find((p) => p.protocol === 'TLSv1.1')?.outcome).toBe('accepted');
    expect(r.violations).toEqual(
      expect.arrayContaining([expect.stringMatching(/TLSv1 is accepted/), expect.stringMatching(/TLSv1.1 is accepted/)]),
    );
    expect(r.ok).toBe(false);
  });

  it('with a TLS 1.3 policy, TLS 1.2 must be refused too', async () => {
    const { port, child } = await startSServer(['-no_tls1', '-no_tls1_1']);
    children.push(child);
    const r = await checkTls({ host: '127.0.0.1', port, mode: 'implicit' }, { minProtocol: 'TLSv1.3' });
    expect(r.probes.find((p) => p.protocol === 'TLSv1.2')?.outcome).toBe('accepted');
    expect(r.violations.join('\n')).toMatch(/TLSv1.2 is accepted/);
  });

  it('reports no TLS session when nothing listens', async () => {
    const r = await checkTls({ host: '127.0.0.1', port: await freePort(), mode: 'implicit' }, undefined, { timeoutMs: 5000 });
    expect(r.connected).toBe(false);
    expect(r.ok).toBe(false);
    expect(r.error).toBeTruthy();
  });
});

describe('checkTls with STARTTLS', () => {
  const servers: Server[] = [];
  afterAll(() => {
    for (const s of servers) s.close();
  });

  it('negotiates after EHLO/STARTTLS and probes the same way', async () => {
    const modern = await startStarttlsServer('TLSv1.2');
    const legacy = await startStarttlsServer('TLSv1');
    servers.push(modern.server, legacy.server);
    const ok = await checkTls({ host: '127.0.0.1', port: modern.port, mode: 'starttls' });
    expect(ok.connected).toBe(true);
    expect(ok.certificate?.subject).toBe('CN=mx-test.example');
    expect(ok.probes.filter((p) => p.protocol !== 'SSLv3').map((p) => p.outcome)).toEqual(['refused', 'refused']);
    expect(ok.ok).toBe(true);
    const bad = await checkTls({ host: '127.0.0.1', port: legacy.port, mode: 'starttls' });
    expect(bad.probes.find((p) => p.protocol === 'TLSv1')?.outcome).toBe('accepted');
    expect(bad.ok).toBe(false);
  });
});

/** An SMTP server that never gets to TLS: `greeting` first, then `ehlo` for EHLO (or a hang-up when undefined). */
function startPlainSmtp(greeting: string | undefined, ehlo?: string): Promise<{ port: number; server: Server }> {
  const server = createServer((socket) => {
    socket.on('error', () => undefined);
    if (greeting === undefined) {
      socket.destroy();
      return;
    }
    socket.write(greeting);
    socket.on('data', (d) => {
      if (/^EHLO/i.test(d.toString()) && ehlo) socket.write(ehlo);
      else socket.end('221 bye\r\n');
    });
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ port: (server.address() as { port: number }).port, server })),
  );
}

describe('checkTls when SMTP goes wrong before TLS', () => {
  const servers: Server[] = [];
  afterAll(() => {
    for (const s of servers) s.close();
  });

  it.each([
    [
      'no STARTTLS in the EHLO reply',
      '220-mx ESMTP\r\n220 mx\r\n',
      '250-mx\r\n250-PIPELINING\r\n250 8BITMIME\r\n',
      /did not offer STARTTLS/,
    ],
    ['a 554 greeting', '554 5.7.1 no service\r\n', undefined, /greeting: the server answered "554 5.7.1 no service"/],
    ['a hang-up before the greeting', undefined, undefined, /closed the connection during the SMTP dialogue/],
  ])('%s: no TLS session, and the reason', async (_what, greeting, ehlo, reason) => {
    const { port, server } = await startPlainSmtp(greeting, ehlo);
    servers.push(server);
    const r = await checkTls({ host: '127.0.0.1', port, mode: 'starttls' }, undefined, { timeoutMs: 10_000 });
    expect(r.connected).toBe(false);
    expect(r.error).toMatch(reason);
    expect(r.ok).toBe(false);
  });

  it('an EHLO name that is not a name is refused before anything is sent', async () => {
    const r = await checkTls({ host: '127.0.0.1', port: 9, mode: 'starttls' }, undefined, { ehloName: 'x.example\r\nRCPT TO:<a@b>' });
    expect(r.connected).toBe(false);
    expect(r.error).toMatch(/EHLO name .* is not a domain name/);
  });
});

describe('cdktf-postfix tls-check command', () => {
  it('prints JSON and sets the exit code', async () => {
    const { Command } = await import('commander');
    const { registerTlsCheckCommand } = await import('../../bin/commands/tls-check');
    const { port, child } = await startSServer([]);
    try {
      const program = new Command().exitOverride();
      registerTlsCheckCommand(program);
      let out = '';
      const write = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
        out += String(chunk);
        return true;
      });
      try {
        await program.parseAsync(['node', 'cdktf-postfix', 'tls-check', `127.0.0.1:${port}`, '--json']);
      } finally {
        write.mockRestore();
      }
      const result = JSON.parse(out);
      expect(result.target).toEqual({ host: '127.0.0.1', port, mode: 'implicit' });
      expect(result.ok).toBe(false);
      expect(process.exitCode).toBe(1);
    } finally {
      process.exitCode = 0;
      child.kill();
    }
  });
});
