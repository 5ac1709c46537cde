import { execFileSync, spawnSync } from 'child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, writeFileSync, mkdirSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { tarArchive, tarStream } from '../../lib/apply/tar';
import { parseEvents, transact } from '../../lib/apply/apply';
import type { SshSession } from '../../lib/transport/ssh';
import { buildGoAnswer, buildStage } from '../../lib/apply/stage';
import { expectedMain, expectedMaster, parseStatus } from '../../lib/apply/diff';
import { ENTRY_END, ENTRY_SCRIPT, remoteScripts, TRANSACTION_COMMAND } from '../../lib/apply/remote-script';
import { readStackHosts, selectHosts } from '../../lib/apply/stack';
import { Bundle, BUNDLE_FORMAT } from '../../lib/model/bundle';

const bundle: Bundle = {
  format: BUNDLE_FORMAT,
  host: 'mail/mx',
  configDirectory: '/etc/postfix',
  mainCf: { set: { myhostname: 'mx.example.org', smtpd_banner: '$myhostname ESMTP' }, remove: ['smtpd_use_tls'] },
  masterCf: { set: { 'submission/inet': 'submission inet n - - - - smtpd -o syslog_name=postfix/submission' }, remove: [] },
  files: {
    '/etc/postfix/blacklist': {
      mode: '0644',
      owner: 'root',
      group: 'root',
      sha256: 'a'.repeat(64),
      size: 3,
      content: 'x\n',
      postmap: 'hash',
    },
  },
  tableTypes: ['hash'],
  installPackages: [],
  hooks: [],
};

test('a streamed member from disk unpacks byte for byte', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tars-'));
  const big = join(dir, 'big');
  writeFileSync(big, Buffer.alloc(3_000_001, 65));
  const out = join(dir, 'out');
  mkdirSync(out);
  execFileSync('tar', ['-xf', '-', '-C', out], {
    input: await collect(
      tarStream([
        { name: 'payload/big', data: { path: big, size: 3_000_001 } },
        { name: 'END', data: Buffer.from('ok\n') },
      ]),
    ),
  });
  expect(readFileSync(join(out, 'payload/big')).equals(readFileSync(big))).toBe(true);
});

test('the tar stream unpacks with GNU tar, payload directories included', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tar-'));
  const archive = tarArchive([
    { name: 'a', data: Buffer.from('one\n') },
    { name: 'payload/abc', data: Buffer.alloc(1000, 7) },
    { name: 'END', data: Buffer.from('ok\n') },
  ]);
  execFileSync('tar', ['-xf', '-', '-C', dir], { input: archive });
  expect(readFileSync(join(dir, 'a'), 'utf8')).toBe('one\n');
  expect(readFileSync(join(dir, 'payload/abc'))).toEqual(Buffer.alloc(1000, 7));
  expect(readFileSync(join(dir, 'END'), 'utf8')).toBe('ok\n');
});

test('small members leave gathered into few chunks (each chunk is an SSH packet at least), byte for byte the archive; a large one is not copied', async () => {
  const small = Array.from({ length: 200 }, (_, i) => ({ name: `m${i}`, data: Buffer.alloc(1000, i % 256) }));
  const chunks: Buffer[] = [];
  for await (const c of tarStream([...small, { name: 'END', data: Buffer.from('ok\n') }])) chunks.push(c as Buffer);
  expect(Buffer.concat(chunks).equals(tarArchive([...small, { name: 'END', data: Buffer.from('ok\n') }]))).toBe(true);
  // 200 x 1.5 KiB = 300 KiB: five gathered chunks and the rest, not 600 (header, data, padding each).
  expect(chunks.length).toBeLessThanOrEqual(6);

  const big = Buffer.alloc(100_000, 9);
  const mixed = [small[0], { name: 'big', data: big }, small[1]];
  const out: Buffer[] = [];
  for await (const c of tarStream(mixed)) out.push(c as Buffer);
  expect(out).toContain(big);
  expect(Buffer.concat(out).equals(tarArchive(mixed))).toBe(true);
});

async function collect(stream: NodeJS.ReadableStream): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** The tar of a framed stream ("LENGTH\n" + exactly LENGTH bytes, as the host's `head -c` reads it), and what follows. */
function unframe(framed: Buffer): Buffer {
  const eol = framed.indexOf('\n');
  const length = Number(framed.subarray(0, eol).toString('ascii'));
  expect(framed.subarray(0, eol).toString('ascii')).toMatch(/^[0-9]+$/);
  expect(framed.length - eol - 1).toBe(length);
  return framed.subarray(eol + 1);
}

/**
 * A staging stream's parts: the entry program's frame (its length on a line, then the program as
 * remote-script.ts ships it), the fast path's line, and the framed tar.
 */
function unstage(stage: Buffer): { entry: string; fastLine: string; tar: Buffer } {
  const eol = stage.indexOf('\n');
  const length = Number(stage.subarray(0, eol).toString('ascii'));
  const entry = stage.subarray(eol + 1, eol + 1 + length).toString('utf8');
  const rest = stage.subarray(eol + 1 + length);
  const lineEnd = rest.indexOf('\n');
  return { entry, fastLine: rest.subarray(0, lineEnd).toString('utf8'), tar: unframe(rest.subarray(lineEnd + 1)) };
}

test('the answer to a held plan is "go" and a framed tar of exactly the payloads the host lacks, ending in END.go', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'go-'));
  const answer = await collect(
    buildGoAnswer(
      { action: 'apply', bundle, bundleSha256: 'f'.repeat(64), bundleDir: dir, envContents: new Map() },
      new Set(['a'.repeat(64)]),
      (p) => bundle.files[p].sha256!,
    ),
  );
  expect(answer.subarray(0, 3).toString()).toBe('go\n');
  execFileSync('tar', ['-xf', '-', '-C', dir], { input: unframe(answer.subarray(3)) });
  expect(readdirSync(dir).sort()).toEqual(['END.go', 'payload']);
  expect(readdirSync(join(dir, 'payload'))).toEqual(['a'.repeat(64)]);
  expect(readFileSync(join(dir, `payload/${'a'.repeat(64)}`), 'utf8')).toBe('x\n');
});

/** A session whose host holds at once and then waits for its stdin to end; what it was sent is kept. */
function holdingSession(): { session: SshSession; received: () => string } {
  let got = Buffer.alloc(0);
  const session = {
    exec: (_command: string, stdin: NodeJS.ReadableStream, onLine: (line: string) => void) =>
      new Promise((resolve) => {
        stdin.on('data', (d: Buffer) => (got = Buffer.concat([got, d])));
        stdin.on('end', () => resolve({ code: 3, stdout: 'result\thold\n', stderr: '' }));
        setImmediate(() => onLine('result\thold'));
      }),
  } as unknown as SshSession;
  return { session, received: () => got.toString('latin1') };
}

test('a held transaction answers stop on a refusal, and on a check that throws it stops the host first, then throws', async () => {
  const input = {
    action: 'apply' as const,
    bundle,
    bundleSha256: 'f'.repeat(64),
    bundleDir: '/nonexistent',
    envContents: new Map(),
    hold: true,
  };
  const shaOf = (p: string) => bundle.files[p].sha256!;
  const refused = holdingSession();
  const t = await transact(refused.session, input, shaOf, () => 'refused: open relay');
  expect(t.refusal).toBe('refused: open relay');
  expect(refused.received().endsWith('stop\n')).toBe(true);

  const throwing = holdingSession();
  await expect(
    transact(throwing.session, input, shaOf, () => {
      throw new Error('cannot read the table');
    }),
  ).rejects.toThrow('cannot read the table');
  expect(throwing.received().endsWith('stop\n')).toBe(true);
});

test('the staged plan is data, one record a line, and refuses values that could start another record', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'stage-'));
  const stage = await collect(
    buildStage(
      {
        action: 'apply',
        bundle,
        bundleSha256: 'f'.repeat(64),
        bundleDir: dir,
        envContents: new Map(),
        payloads: new Set(['a'.repeat(64)]),
      },
      (p) => bundle.files[p].sha256!,
    ),
  );
  const { entry, fastLine, tar } = unstage(stage);
  expect(entry).toBe(remoteScripts()[ENTRY_SCRIPT]);
  expect(fastLine).toBe(`apply\t${'f'.repeat(64)}\t/etc/postfix`);
  execFileSync('tar', ['-xf', '-', '-C', dir], { input: tar });
  expect(readFileSync(join(dir, 'main.set'), 'utf8')).toBe('myhostname=mx.example.org\nsmtpd_banner=$myhostname ESMTP\n');
  expect(readFileSync(join(dir, 'main.remove'), 'utf8')).toBe('smtpd_use_tls\n');
  expect(readFileSync(join(dir, 'files.list'), 'utf8')).toBe(`/etc/postfix/blacklist\t0644\troot\troot\t${'a'.repeat(64)}\thash\tno\n`);
  expect(readFileSync(join(dir, `payload/${'a'.repeat(64)}`), 'utf8')).toBe('x\n');
  const evil = { ...bundle, mainCf: { set: { smtpd_banner: 'x\nrelay_domains=*' }, remove: [] } };
  expect(() => buildStage({ action: 'apply', bundle: evil, bundleSha256: '', bundleDir: dir, envContents: new Map() }, () => '')).toThrow(
    /smtpd_banner.*newline/,
  );
});

test('the remote command is a constant: no bundle, host or user text can reach a shell', () => {
  expect(TRANSACTION_COMMAND).not.toMatch(/mx\.example|\$\{/);
  expect(TRANSACTION_COMMAND.startsWith("sh -c '")).toBe(true);
});

test('events from the remote transaction become a report', () => {
  const parsed = parseEvents('step\tlock\t3\nchanged\tmain\tsmtpd_banner\nran\tpostfix reload\nneed\tabc\nerror\tboom\nresult\tfailed\n');
  expect(parsed).toEqual({
    result: 'failed',
    needs: ['abc'],
    changed: [{ kind: 'main', name: 'smtpd_banner' }],
    ran: ['postfix reload'],
    steps: { lock: 3 },
    hostCpuMs: {},
    errors: ['boom'],
  });
});

test('diff expectations: set, remove, and revert what is no longer managed', () => {
  const live = parseStatus(
    [
      '@@section\tmain',
      'delay_warning_time = 4h',
      'myhostname = old.example.org',
      'smtpd_use_tls = yes',
      '@@section\tmaster',
      'smtp      inet  n  -  y  -  -  smtpd',
      'old inet n - - - - smtpd',
      '@@section\tmain.orig',
      'delay_warning_time\tunset\t',
      'myhostname\tset\told.example.org',
      '@@section\tmaster.orig',
      'old/inet\tunset\t',
      '@@section\tfiles.orig',
      '@@section\tapplied_sha256',
      'x',
      'result\tstatus',
    ].join('\n'),
  );
  expect(expectedMain(live, bundle)).toEqual(['myhostname = mx.example.org', 'smtpd_banner = $myhostname ESMTP']);
  expect(expectedMaster(live, bundle)).toEqual([
    'smtp inet n - y - - smtpd',
    'submission inet n - - - - smtpd -o syslog_name=postfix/submission',
  ]);
});

test('stack reading: hosts, targets, and connection values only Terraform knows are refused with the fix', () => {
  const dir = mkdtempSync(join(tmpdir(), 'stack-'));
  const resource = (host: string) => ({
    '//': { metadata: { path: `mail/${host}/apply` } },
    provisioner: [
      {
        'local-exec': {
          interpreter: ['node', 'assets/CdktfPostfixRunner/X/cdktf-postfix-runner.js', 'apply'],
          command: `assets/cdktf-postfix/${host}/bundle.json`,
          environment: { CDKTF_POSTFIX_HOST: host === 'mx2' ? '${terraform_data.vm.output}' : '192.0.2.1' },
        },
      },
    ],
  });
  writeFileSync(join(dir, 'cdk.tf.json'), JSON.stringify({ resource: { terraform_data: { mx1_apply: resource('mx1') } } }));
  const hosts = readStackHosts(dir);
  expect(hosts).toHaveLength(1);
  expect(hosts[0]).toMatchObject({ path: 'mail/mx1', address: 'terraform_data.mx1_apply', connection: { host: '192.0.2.1' } });
  expect(selectHosts(hosts, 'mx1')).toHaveLength(1);
  expect(() => selectHosts(hosts, 'mx7')).toThrow(/--target = "mx7".*use one of: mx1/);
  writeFileSync(join(dir, 'cdk.tf.json'), JSON.stringify({ resource: { terraform_data: { mx2_apply: resource('mx2') } } }));
  expect(() => readStackHosts(dir)).toThrow(/CDKTF_POSTFIX_HOST.*known only when Terraform applies.*cdktf deploy/);
  // --target: only the named host must be resolvable; another host's token does not block it.
  writeFileSync(
    join(dir, 'cdk.tf.json'),
    JSON.stringify({ resource: { terraform_data: { mx1_apply: resource('mx1'), mx2_apply: resource('mx2') } } }),
  );
  expect(readStackHosts(dir, 'mx1').map((h) => [h.path, h.connection.host])).toEqual([['mail/mx1', '192.0.2.1']]);
  expect(() => readStackHosts(dir, 'mx2')).toThrow(/terraform_data\.mx2_apply.*CDKTF_POSTFIX_HOST.*known only when Terraform applies/);
  expect(() => readStackHosts(dir)).toThrow(/mx2_apply.*known only when Terraform applies/);
  expect(() => readStackHosts(dir, 'mx9')).toThrow(/--target = "mx9".*use one of: mx1, mx2/);
  // ${var.NAME} takes TF_VAR_NAME, as Terraform would: how a sensitive key reaches the CLI.
  const withVar = resource('mx1');
  withVar.provisioner[0]['local-exec'].environment = {
    CDKTF_POSTFIX_HOST: '192.0.2.1',
    CDKTF_POSTFIX_TLS_X: '${var.tls_key}\nCERT',
  } as never;
  writeFileSync(join(dir, 'cdk.tf.json'), JSON.stringify({ resource: { terraform_data: { mx1_apply: withVar } } }));
  expect(() => readStackHosts(dir)).toThrow(/CDKTF_POSTFIX_TLS_X.*TF_VAR_<name>/);
  process.env.TF_VAR_tls_key = 'KEY';
  try {
    expect(readStackHosts(dir)[0].env.CDKTF_POSTFIX_TLS_X).toBe('KEY\nCERT');
  } finally {
    delete process.env.TF_VAR_tls_key;
  }
  mkdirSync(join(dir, 'empty'));
  expect(() => readStackHosts(join(dir, 'empty'))).toThrow(/no cdk.tf.json/);
});

test('the remote command runs the entry program only when it arrived to its last line', () => {
  const dir = mkdtempSync(join(tmpdir(), 'entry-'));
  const marker = join(dir, 'ran');
  const program = `touch ${marker}; exit 0\n${ENTRY_END}\n`;
  const run = (input: string) => spawnSync('sh', ['-c', TRANSACTION_COMMAND], { input, encoding: 'utf8' });
  for (const cut of [`${program.length}\n${program.slice(0, 20)}`, `x${program.length}\n${program}`, '']) {
    const r = run(cut);
    expect([r.status, r.stdout]).toEqual([71, 'error\ttransfer incomplete: the remote program did not arrive whole\n']);
    expect(existsSync(marker)).toBe(false);
  }
  expect(run(`${program.length}\n${program}`).status).toBe(0);
  expect(existsSync(marker)).toBe(true);
});
