/**
 * The bundle's schema version: the runner applies only bundles of a schema it knows, and refuses
 * others with a message naming both versions and the fix, before any connection is made.
 */
import { mkdtempSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { spawnSync } from 'child_process';
import { join } from 'path';
import { loadBundle } from '../../lib/apply/apply';
import { BUNDLE_FORMAT, checkBundleFormat } from '../../lib/model/bundle';
import { PostfixConfigError } from '../../lib/model/errors';
import { HostBuilder } from '../../lib/host';
import { bundleJson } from '../../lib/render/bundle';

const dir = mkdtempSync(join(tmpdir(), 'bundle-schema-'));

function bundleFile(name: string, format: unknown): string {
  const { bundle } = new HostBuilder({ where: 'mail/mx' }).setParameter('myhostname', 'mx.example.org').toBundle();
  const file = join(dir, `${name}.json`);
  writeFileSync(file, JSON.stringify({ ...bundle, format }));
  return file;
}

function refusal(fn: () => unknown): PostfixConfigError {
  try {
    fn();
  } catch (e) {
    if (e instanceof PostfixConfigError) return e;
    throw e;
  }
  throw new Error('expected a PostfixConfigError');
}

describe('bundle schema version', () => {
  it('bundles carry the schema version the runner reads', () => {
    const { bundle } = new HostBuilder({ where: 'mail/mx' }).toBundle();
    expect(bundle.format).toBe('cdktf-postfix/1');
    expect(BUNDLE_FORMAT).toBe('cdktf-postfix/1');
    const file = join(dir, 'current.json');
    writeFileSync(file, bundleJson(bundle));
    expect(loadBundle(file).bundle.format).toBe(BUNDLE_FORMAT);
  });

  it('refuses a bundle written by a newer cdktf-postfix, naming both versions and the fix', () => {
    const file = bundleFile('newer', 'cdktf-postfix/2');
    const e = refusal(() => loadBundle(file));
    expect([e.where, e.field, e.value]).toEqual([file, 'format', 'cdktf-postfix/2']);
    expect(e.problem).toBe(
      'the bundle was written by a newer cdktf-postfix with schema cdktf-postfix/2, but the installed runner reads schema cdktf-postfix/1',
    );
    expect(e.fix).toMatch(
      /re-synthesize the stack with the installed cdktf-postfix.*or install the cdktf-postfix version that wrote the bundle/,
    );
  });

  it('refuses an older schema and anything that is not a cdktf-postfix schema', () => {
    expect(refusal(() => checkBundleFormat('b.json', 'cdktf-postfix/0')).message).toMatch(
      /an older cdktf-postfix with schema cdktf-postfix\/0, but the installed runner reads schema cdktf-postfix\/1/,
    );
    expect(refusal(() => loadBundle(bundleFile('missing', undefined))).message).toMatch(
      /format: not a cdktf-postfix bundle schema; this runner reads cdktf-postfix\/1/,
    );
    expect(refusal(() => checkBundleFormat('b.json', 'other-tool/1')).value).toBe('other-tool/1');
    expect(refusal(() => checkBundleFormat('b.json', 1)).message).toMatch(/b\.json: format = "1": not a cdktf-postfix bundle schema/);
  });
});

describe('the bundled runner', () => {
  it('refuses an unknown schema before it connects anywhere (exit 1, both versions and the fix on stderr)', () => {
    const runner = join(__dirname, '..', '..', 'dist', 'runner', 'cdktf-postfix-runner.js');
    // A connection nobody listens on: a runner that did connect would fail differently.
    const env = { ...process.env, CDKTF_POSTFIX_HOST: '127.0.0.1', CDKTF_POSTFIX_PORT: '1' };
    const r = spawnSync(process.execPath, [runner, 'apply', bundleFile('runner-newer', 'cdktf-postfix/2')], { env, encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(
      /format = "cdktf-postfix\/2": the bundle was written by a newer cdktf-postfix with schema cdktf-postfix\/2, but the installed runner reads schema cdktf-postfix\/1\. Fix: re-synthesize/,
    );
    expect(r.stdout).toBe('');
  });
});
