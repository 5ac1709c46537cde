/**
 * OpenDKIM file renderers (Debian 12, opendkim 2.11). The rendered opendkim.conf, KeyTable,
 * SigningTable and TrustedHosts are loaded by the real `opendkim -n` (parse, open every data set,
 * exit 0 only if the filter would start). Needs apt-get install -y opendkim.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  generateDkimKeyPair,
  keyTableLine,
  openDkimKeyPath,
  openDkimSocketSpec,
  postfixMilterAddress,
  renderKeyTable,
  renderOpenDkimConf,
  renderSigningTable,
  renderTrustedHosts,
  signingTableLine,
} from '../../lib/model/dns';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'dns-opendkim-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const keys = [
  { domain: 'example.org', selector: 'mail' },
  { domain: 'example.net', selector: '2026a' },
];

/** Write the four files and a key per selector under `dir`, then ask opendkim -n about them. */
function opendkimCheck(conf: string, keyTable: string): { status: number | null; stderr: string } {
  for (const k of keys) {
    mkdirSync(join(dir, 'keys', k.domain), { recursive: true });
    writeFileSync(join(dir, 'keys', k.domain, `${k.selector}.private`), generateDkimKeyPair().privateKeyPem, { mode: 0o600 });
  }
  writeFileSync(join(dir, 'opendkim.conf'), conf);
  writeFileSync(join(dir, 'KeyTable'), keyTable);
  writeFileSync(join(dir, 'SigningTable'), renderSigningTable(keys));
  writeFileSync(join(dir, 'TrustedHosts'), renderTrustedHosts(['192.0.2.0/24', '2001:db8::/64', 'relay.example.org']));
  const run = spawnSync('opendkim', ['-n', '-x', join(dir, 'opendkim.conf')], { encoding: 'utf8' });
  return { status: run.status, stderr: run.stderr };
}

describe('OpenDKIM renderers', () => {
  test('exact table lines and key layout', () => {
    expect(openDkimKeyPath(keys[0])).toBe('/etc/opendkim/keys/example.org/mail.private');
    expect(keyTableLine(keys[0])).toBe('mail._domainkey.example.org example.org:mail:/etc/opendkim/keys/example.org/mail.private');
    expect(signingTableLine(keys[0])).toBe('*@example.org mail._domainkey.example.org');
    expect(renderTrustedHosts()).toBe('127.0.0.1\n::1\nlocalhost\n');
  });

  test('exact opendkim.conf for a UNIX socket', () => {
    expect(renderOpenDkimConf({ socket: { local: '/run/opendkim/opendkim.sock' } })).toBe(
      [
        '# Managed by cdktf-postfix; see opendkim.conf(5).',
        'Syslog              yes',
        'SyslogSuccess       yes',
        'UMask               007',
        'UserID              opendkim',
        'PidFile             /run/opendkim/opendkim.pid',
        'Socket              local:/run/opendkim/opendkim.sock',
        'Mode                sv',
        'Canonicalization    relaxed/simple',
        'OversignHeaders     From',
        'KeyTable            file:/etc/opendkim/KeyTable',
        'SigningTable        refile:/etc/opendkim/SigningTable',
        'InternalHosts       refile:/etc/opendkim/TrustedHosts',
        'ExternalIgnoreList  refile:/etc/opendkim/TrustedHosts',
        'TrustAnchorFile     /usr/share/dns/root.key',
        '',
      ].join('\n'),
    );
  });

  test('socket forms for OpenDKIM and for Postfix smtpd_milters', () => {
    expect(openDkimSocketSpec({ inet: 8891 })).toBe('inet:8891@localhost');
    expect(postfixMilterAddress({ inet: 8891 })).toBe('inet:localhost:8891');
    expect(openDkimSocketSpec({ local: '/var/spool/postfix/opendkim/opendkim.sock' })).toBe(
      'local:/var/spool/postfix/opendkim/opendkim.sock',
    );
    expect(postfixMilterAddress({ local: '/opendkim/opendkim.sock' })).toBe('unix:/opendkim/opendkim.sock');
  });

  test('the real opendkim -n accepts the rendered configuration and tables', () => {
    const conf = renderOpenDkimConf({ dir, socket: { inet: 8891 }, canonicalization: 'relaxed/relaxed' });
    const result = opendkimCheck(conf, renderKeyTable(keys, join(dir, 'keys')));
    expect(result).toEqual({ status: 0, stderr: '' });
  });

  test('opendkim -n refuses a KeyTable pointing at a missing table (the check can fail)', () => {
    const conf = renderOpenDkimConf({ dir: join(dir, 'missing') });
    const result = opendkimCheck(conf, renderKeyTable(keys, join(dir, 'keys')));
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/No such file or directory/);
  });
});

describe('OpenDKIM validation', () => {
  test('a selector with a dot is refused', () => {
    expect(() => keyTableLine({ domain: 'example.org', selector: 'my.selector' })).toThrow(
      /dkim\.selector = "my\.selector": contains a dot/,
    );
  });
  test('a bad domain is refused', () => {
    expect(() => signingTableLine({ domain: 'example', selector: 'mail' })).toThrow(/opendkim\.domain = "example"/);
  });
  test('two selectors for one domain in the SigningTable are refused', () => {
    expect(() =>
      renderSigningTable([
        { domain: 'example.org', selector: 'a' },
        { domain: 'example.org', selector: 'b' },
      ]),
    ).toThrow(/opendkim\.keys = "b@example\.org": names a second selector/);
  });
  test('bad paths, ports, modes, canonicalization and peers are refused', () => {
    expect(() => openDkimKeyPath({ domain: 'example.org', selector: 'mail' }, 'keys')).toThrow(
      /opendkim\.keyDir = "keys": is not an absolute path/,
    );
    expect(() => openDkimSocketSpec({ local: '/run/../x.sock' })).toThrow(/opendkim\.socket\.local/);
    expect(() => openDkimSocketSpec({ inet: 70000 })).toThrow(/opendkim\.socket\.inet = "70000"/);
    expect(() => renderOpenDkimConf({ mode: 'x' as never })).toThrow(/opendkim\.mode = "x": is not an OpenDKIM mode/);
    expect(() => renderOpenDkimConf({ canonicalization: 'loose/simple' as never })).toThrow(/opendkim\.canonicalization = "loose\/simple"/);
    expect(() => renderTrustedHosts(['192.0.2.0/40'])).toThrow(
      /opendkim\.trustedHosts\[0\] = "192\.0\.2\.0\/40": is not an IP address, CIDR network or host name/,
    );
    expect(() => renderTrustedHosts(['not a host'])).toThrow(/opendkim\.trustedHosts\[0\] = "not a host"/);
  });
});
