/**
 * File targets are limited to the configuration directory and the roots the user declares: at
 * synth (HostBuilder), by the runner before it connects, and by the remote transaction (roots.sh,
 * run by a real sh).
 */
import { execFileSync } from 'child_process';
import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { HostBuilder } from '../../lib/host';
import { DhRotation } from '../../lib/host/vocabulary';
import { runHostOperation } from '../../lib/apply/apply';
import { checkFileRoots, isUnderRoot } from '../../lib/model/file-roots';

const ERROR =
  /file \/etc\/ssl\/mail\/key\.pem.*outside the directories this host may write to \(\/etc\/postfix\).*fileRoots: \["\/etc\/ssl\/mail"\]/s;

test('a root covers itself and what is below it, never a sibling with the same prefix', () => {
  expect(isUnderRoot('/etc/postfix/main.cf', '/etc/postfix')).toBe(true);
  expect(isUnderRoot('/etc/postfix', '/etc/postfix/')).toBe(true);
  expect(isUnderRoot('/etc/postfixx/a', '/etc/postfix')).toBe(false);
  expect(isUnderRoot('/etc/passwd', '/etc/postfix')).toBe(false);
});

test('synth refuses a file outside the config directory, naming the path, the roots and the fix', () => {
  const b = new HostBuilder({ where: 'mail/mx' });
  b.addFile({ path: '/etc/ssl/mail/key.pem', content: 'x\n' });
  expect(() => b.toBundle()).toThrow(ERROR);
});

test('a declared root allows files below it and travels in the bundle; none declared: no field', () => {
  const b = new HostBuilder({ where: 'mail/mx', fileRoots: ['/etc/ssl/mail'] });
  b.addFile({ path: '/etc/ssl/mail/key.pem', content: 'x\n' });
  expect(b.toBundle().bundle.fileRoots).toEqual(['/etc/ssl/mail']);
  const plain = new HostBuilder({ where: 'mail/mx' });
  plain.addFile({ path: '/etc/postfix/senders', content: 'x\n' });
  expect('fileRoots' in plain.toBundle().bundle).toBe(false);
  const sibling = new HostBuilder({ where: 'mail/mx', fileRoots: ['/etc/ssl/mail'] });
  sibling.addFile({ path: '/etc/ssl/mailer/key.pem', content: 'x\n' });
  expect(() => sibling.toBundle()).toThrow(/\/etc\/ssl\/mailer\/key\.pem.*outside/s);
});

test('a declared root must itself be a clean absolute path', () => {
  expect(() => new HostBuilder({ where: 'mail/mx', fileRoots: ['etc/ssl'] }).toBundle()).toThrow(/fileRoots.*not absolute/s);
});

test('the DH piece adds the exact paths it places outside the config directory (script, schedule)', () => {
  const b = new HostBuilder({ where: 'mail/mx' });
  b.addDhParameters({ rotation: DhRotation.CRON });
  const { bundle } = b.toBundle();
  const outside = Object.keys(bundle.files).filter((p) => !p.startsWith('/etc/postfix/'));
  expect(outside.length).toBeGreaterThan(0);
  for (const p of outside) expect(bundle.fileRoots).toContain(p);
  expect(() => checkFileRoots('x', bundle.configDirectory, bundle.fileRoots, Object.keys(bundle.files))).not.toThrow();
});

test('the runner refuses a hand-edited bundle before it connects', async () => {
  const b = new HostBuilder({ where: 'mail/mx' });
  b.addFile({ path: '/etc/postfix/senders', content: 'x\n' });
  const bundle = JSON.parse(JSON.stringify(b.toBundle().bundle));
  bundle.files['/etc/ssl/mail/key.pem'] = bundle.files['/etc/postfix/senders'];
  // Port 9 on loopback: a connection attempt would fail with a different error.
  await expect(
    runHostOperation({
      connection: { host: '127.0.0.1', port: 9 },
      bundle: { bundle, sha256: 'x', dir: '/nonexistent' },
      action: 'apply',
      env: {},
    }),
  ).rejects.toThrow(ERROR);
});

test('the remote transaction refuses a target outside the staged roots', () => {
  const d = mkdtempSync(join(tmpdir(), 'roots-'));
  writeFileSync(join(d, 'file_roots'), '/etc/postfix\n/etc/ssl/mail/\n');
  const run = (files: string, hooks = '') => {
    writeFileSync(join(d, 'files.list'), files);
    writeFileSync(join(d, 'hooks.list'), hooks);
    const script = `TAB=$(printf '\\t'); D=${d}; C=/etc/postfix; . ${join(__dirname, '../../lib/apply/remote/common.sh')}; . ${join(__dirname, '../../lib/apply/remote/roots.sh')}; refuse_outside_roots; echo ok`;
    try {
      return execFileSync('sh', ['-c', script], { encoding: 'utf8' });
    } catch (e) {
      return String((e as { stdout: string }).stdout);
    }
  };
  expect(run('/etc/postfix/senders\t0644\troot\troot\tabc\thash\tno\n/etc/ssl/mail/key.pem\t0600\troot\troot\tabc\t-\tyes\n')).toBe('ok\n');
  expect(run('/etc/postfixx/senders\t0644\troot\troot\tabc\t-\tno\n')).toMatch(
    /^error\trefusing \/etc\/postfixx\/senders: it is outside the directories this host may write to \(\/etc\/postfix, \/etc\/ssl\/mail\/\).*declare its directory in fileRoots\nresult\tfailed\n$/s,
  );
  expect(run('', 'dhparam-generate\t/srv/dh.pem\t2048\t0\n')).toMatch(/refusing \/srv\/dh\.pem/);
});
