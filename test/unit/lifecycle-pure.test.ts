/**
 * The pure parts of the lifecycle fixes: a destroy stages an empty desired state (no file content,
 * so no fromEnv secret is read), and the hash the host records covers apply-time file contents.
 */
import { desiredNothing, desiredSha256 } from '../../lib/apply/apply';
import { buildStage } from '../../lib/apply/stage';
import { Bundle, BUNDLE_FORMAT } from '../../lib/model/bundle';

const bundle: Bundle = {
  format: BUNDLE_FORMAT,
  host: 'mail/mx',
  configDirectory: '/etc/postfix',
  mainCf: { set: { smtpd_tls_chain_files: '/etc/postfix/tls/server.pem' }, remove: [] },
  masterCf: { set: {}, remove: [] },
  files: { '/etc/postfix/tls/server.pem': { mode: '0600', owner: 'root', group: 'root', fromEnv: 'CDKTF_POSTFIX_TLS_0' } },
  tableTypes: [],
  installPackages: [],
  hooks: [{ kind: 'dhparam-generate', path: '/etc/postfix/dh.pem', bits: 2048 }],
};

test('a destroy stages no files, hooks or edits, and never asks for a fromEnv file content', async () => {
  const nothing = desiredNothing(bundle);
  expect(nothing).toMatchObject({
    host: 'mail/mx',
    configDirectory: '/etc/postfix',
    files: {},
    hooks: [],
    mainCf: { set: {}, remove: [] },
  });
  const asked: string[] = [];
  const stage = buildStage(
    { action: 'destroy', bundle: nothing, bundleSha256: 'b'.repeat(64), bundleDir: '/nonexistent', envContents: new Map() },
    (p) => {
      asked.push(p);
      return 'x';
    },
  );
  stage.resume();
  await new Promise((resolve) => stage.on('end', resolve));
  expect(asked).toEqual([]);
  // The full bundle would need the key: the error the defect showed.
  expect(() =>
    buildStage({ action: 'apply', bundle, bundleSha256: 'b', bundleDir: '/nonexistent', envContents: new Map() }, () => {
      throw new Error('its content comes from environment variable CDKTF_POSTFIX_TLS_0, which is not set');
    }),
  ).toThrow(/CDKTF_POSTFIX_TLS_0/);
});

test('the recorded hash: the bundle hash alone without fromEnv files, extended by their contents otherwise', () => {
  const plain: Bundle = { ...bundle, files: {} };
  expect(desiredSha256('a'.repeat(64), plain, () => 'never')).toBe('a'.repeat(64));
  const k1 = desiredSha256('a'.repeat(64), bundle, () => '1'.repeat(64));
  const k2 = desiredSha256('a'.repeat(64), bundle, () => '2'.repeat(64));
  expect(k1).toMatch(new RegExp(`^${'a'.repeat(64)}\\+[0-9a-f]{64}$`));
  expect(k1).not.toBe(k2); // a rotated key is a different desired state
});
