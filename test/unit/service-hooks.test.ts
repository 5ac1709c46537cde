/** The dkim-keygen / service-restart hook plumbing: watched-file generations and the shipped scripts. */
import { spawnSync } from 'child_process';
import { hookScriptsFor } from '../../lib/apply/hook-scripts';
import { hookGeneration } from '../../lib/apply/stage';
import { Bundle, BundleHook } from '../../lib/model/bundle';

const restart: BundleHook = {
  kind: 'service-restart',
  path: '/etc/opendkim.conf',
  generation: '1',
  watch: ['/etc/opendkim.conf', '/etc/opendkim/KeyTable'],
};

test("a watched file's content changes the generation; the same content keeps it", () => {
  const shas = (conf: string) => (p: string) => (p === '/etc/opendkim.conf' ? conf : 'b'.repeat(64));
  const a = hookGeneration(restart, shas('a'.repeat(64)));
  expect(a).toMatch(/^1\.[0-9a-f]{16}$/);
  expect(hookGeneration(restart, shas('a'.repeat(64)))).toBe(a);
  expect(hookGeneration(restart, shas('c'.repeat(64)))).not.toBe(a);
  expect(hookGeneration({ kind: 'dkim-keygen', path: '/k', generation: '2' }, () => 'x')).toBe('2');
});

test("only the scripts the bundle's hooks need are shipped, and each is valid sh", () => {
  const bundle = {
    hooks: [restart, { kind: 'dkim-keygen', path: '/etc/opendkim/keys/example.org/mail.private', bits: 2048 }],
  } as unknown as Bundle;
  const scripts = hookScriptsFor(bundle);
  expect(Object.keys(scripts).sort()).toEqual(['hook-dkim-keygen.sh', 'hook-service-restart.sh']);
  for (const text of Object.values(scripts)) expect(spawnSync('sh', ['-n'], { input: text }).status).toBe(0);
  expect(hookScriptsFor({ hooks: [] } as unknown as Bundle)).toEqual({});
});

test('the restart script refuses a configuration it does not know, and the keygen script a bad size', () => {
  const scripts = hookScriptsFor({ hooks: [restart, { kind: 'dkim-keygen', path: '/x', bits: 2048 }] } as unknown as Bundle);
  const r = spawnSync('sh', ['-c', scripts['hook-service-restart.sh'], 'sh', '/etc/other.conf'], { encoding: 'utf8' });
  expect(r.status).toBe(2);
  expect(r.stderr).toContain('no supported service is configured by /etc/other.conf');
  const k = spawnSync('sh', ['-c', scripts['hook-dkim-keygen.sh'], 'sh', '/tmp/never/written.private', '1024'], { encoding: 'utf8' });
  expect(k.status).toBe(2);
  expect(k.stderr).toContain('1024 is not 2048, 3072 or 4096');
});
