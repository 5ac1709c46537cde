/**
 * The packed package in a new user's app, once per CDK flavour (cdktf 0.21 and cdktn 0.24 as in
 * devDependencies, and cdktf 0.20 from the npm registry, the oldest the peer range allows): `npm pack` the built package, make an
 * app the way `cdktf init --template typescript` does (package.json, cdktf.json, tsconfig.json,
 * main.ts: here examples/mail-host with its imports pointed at the package), install the tarball and
 * the flavour from npm's cache (the registry only for what the cache lacks), compile, synthesize, and `terraform apply` to a lab host.
 * Needs `npm run build` and the lab's packages (root).
 */
import { execFileSync } from 'child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { Lab, LabHost, startLab } from '../lab';
import { expectOk, REPO_ROOT, runCommand, terraform, terraformEnv } from '../helpers/terraform';

jest.setTimeout(600_000);

const devVersion = (name: string): string =>
  (JSON.parse(readFileSync(join(REPO_ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;

/** cdk: the module the app imports; entry: the package entry point for it; version: what the app installs. */
const FLAVOURS = {
  'cdktf-0.21': { cdk: 'cdktf', entry: 'cdktf-postfix', version: devVersion('cdktf') },
  'cdktf-0.20': { cdk: 'cdktf', entry: 'cdktf-postfix', version: '~0.20.0' },
  'cdktn-0.24': { cdk: 'cdktn', entry: 'cdktf-postfix/cdktn', version: devVersion('cdktn') },
} as const;
type Flavour = keyof typeof FLAVOURS;

/** examples/mail-host's sources with their repository-relative imports pointed at the package. */
function exampleSources(flavour: Flavour): Record<string, string> {
  const { entry, cdk } = FLAVOURS[flavour];
  const point = (text: string) =>
    text
      .replace(/from '(\.\.\/)+(index|constructs\/[\w-]+|lib\/[\w/-]+)'/g, `from '${entry}'`)
      .replace(/from '\.\.\/connection-from-env'/g, "from './connection-from-env'")
      .replace(/from 'cdktf'/g, `from '${cdk}'`);
  return {
    'main.ts': point(readFileSync(join(REPO_ROOT, 'examples/mail-host/main.ts'), 'utf8')),
    'policy.ts': point(readFileSync(join(REPO_ROOT, 'examples/mail-host/policy.ts'), 'utf8')),
    'connection-from-env.ts': point(readFileSync(join(REPO_ROOT, 'examples/connection-from-env.ts'), 'utf8')),
  };
}

/** The files `cdktf init --template typescript` writes (trimmed to what synth needs), installing the tarball. */
function writeApp(dir: string, flavour: Flavour, tarball: string): void {
  writeFileSync(
    join(dir, 'package.json'),
    JSON.stringify(
      {
        name: `mail-${flavour}`,
        version: '1.0.0',
        main: 'main.js',
        types: 'main.ts',
        license: 'MPL-2.0',
        private: true,
        scripts: { build: 'tsc', synth: `${FLAVOURS[flavour].cdk} synth` },
        engines: { node: '>=20.9' },
        dependencies: {
          'cdktf-postfix': `file:${tarball}`,
          constructs: devVersion('constructs'),
          [FLAVOURS[flavour].cdk]: FLAVOURS[flavour].version,
        },
        devDependencies: { '@types/node': devVersion('@types/node'), typescript: devVersion('typescript') },
      },
      null,
      2,
    ),
  );
  writeFileSync(
    join(dir, 'cdktf.json'),
    JSON.stringify(
      {
        language: 'typescript',
        app: 'node main.js',
        projectId: `mail-${flavour}`,
        sendCrashReports: 'false',
        terraformProviders: [],
        terraformModules: [],
        context: {},
      },
      null,
      2,
    ),
  );
  writeFileSync(
    join(dir, 'tsconfig.json'),
    JSON.stringify(
      {
        compilerOptions: {
          alwaysStrict: true,
          declaration: true,
          experimentalDecorators: true,
          inlineSourceMap: true,
          inlineSources: true,
          lib: ['es2018'],
          module: 'CommonJS',
          noEmitOnError: true,
          noFallthroughCasesInSwitch: true,
          noImplicitAny: true,
          noImplicitReturns: true,
          noImplicitThis: true,
          noUnusedLocals: true,
          noUnusedParameters: true,
          resolveJsonModule: true,
          strict: true,
          strictNullChecks: true,
          strictPropertyInitialization: true,
          stripInternal: true,
          target: 'ES2018',
          incremental: true,
          skipLibCheck: true,
          types: ['node'],
        },
        include: ['**/*.ts'],
        exclude: ['node_modules', 'cdktf.out'],
      },
      null,
      2,
    ),
  );
  for (const [name, text] of Object.entries(exampleSources(flavour))) writeFileSync(join(dir, name), text);
}

/** How many copies of `name` the app's dependency tree holds (npm ls, deduplicated paths). */
function copiesOf(dir: string, name: string): number {
  const out = execFileSync('npm', ['ls', name, '--all', '--parseable'], { cwd: dir, encoding: 'utf8' });
  return new Set(out.split('\n').filter((l) => l.endsWith(`/node_modules/${name}`))).size;
}

describe('the packed package deploys from a new app', () => {
  let lab: Lab;
  let tarball: string;
  const npmEnv = {
    ...process.env,
    npm_config_prefer_offline: 'true',
    npm_config_audit: 'false',
    npm_config_fund: 'false',
    npm_config_update_notifier: 'false',
  };

  beforeAll(async () => {
    const packDir = mkdtempSync(join(tmpdir(), 'cdktf-postfix-pack-'));
    execFileSync('npm', ['pack', '--pack-destination', packDir], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      env: { ...npmEnv, npm_config_ignore_scripts: 'true' },
    });
    tarball = join(
      packDir,
      readdirSync(packDir).find((f) => f.endsWith('.tgz'))!,
    );
    lab = await startLab({ count: 3, name: `jest-package-${process.pid}` });
  });

  afterAll(async () => {
    await lab?.stop();
  });

  test.each([
    ['cdktf-0.21', 0],
    ['cdktf-0.20', 1],
    ['cdktn-0.24', 2],
  ] as const)('%s: install, one copy of the CDK, compile, synth, terraform apply', async (flavour, index) => {
    const h: LabHost = lab.hosts[index];
    const { cdk } = FLAVOURS[flavour];
    const dir = mkdtempSync(join(tmpdir(), `cdktf-postfix-app-${flavour}-`));
    writeApp(dir, flavour, tarball);
    expectOk(await runCommand('npm', ['install', '--no-audit', '--no-fund'], { cwd: dir, env: npmEnv, timeoutMs: 300_000 }));
    expect(copiesOf(dir, cdk)).toBe(1);
    expect(copiesOf(dir, 'constructs')).toBe(1);
    const installed = (JSON.parse(readFileSync(join(dir, 'node_modules', cdk, 'package.json'), 'utf8')) as { version: string }).version;
    expect(installed.split('.').slice(0, 2).join('.')).toBe(flavour.split('-')[1]);
    // The other flavour and the optional provider-null stay out of a user's app.
    expect(readdirSync(join(dir, 'node_modules'))).not.toContain(cdk === 'cdktf' ? 'cdktn' : 'cdktf');
    expectOk(await runCommand(join(dir, 'node_modules', '.bin', 'tsc'), [], { cwd: dir, env: npmEnv }));
    const env = terraformEnv({
      MAIL_HOST: h.address,
      MAIL_SSH_USER: 'root',
      MAIL_SSH_KEY: h.privateKeyPath,
      MAIL_KNOWN_HOSTS: h.knownHostsPath,
      MAIL_HOSTNAME: h.hostname,
    });
    expectOk(await runCommand('node', ['main.js'], { cwd: dir, env }));
    const stackDir = join(dir, 'cdktf.out', 'stacks', 'mail');
    expectOk(await terraform(stackDir, ['init', '-input=false'], env));
    expectOk(await terraform(stackDir, ['apply', '-auto-approve', '-input=false'], env));
    const limit = await h.exec(['postconf', '-h', 'message_size_limit']);
    expect(limit.stdout.trim()).toBe('25000000');
    const submission = await h.exec(['postconf', '-M', 'submission/inet']);
    expect(submission.stdout).toMatch(/smtpd_tls_security_level=encrypt/);
  });
});
