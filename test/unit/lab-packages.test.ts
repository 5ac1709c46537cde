/**
 * The lab's one package list (scripts/lab-packages.txt, read by .ci/run and `npm run demo`) and
 * what the demo decides from what it finds: go, install as root, or stop and say what to run.
 */
import { spawnSync } from 'child_process';
import { join } from 'path';

interface Plan {
  action: 'go' | 'install' | 'fail';
  message?: string;
  missing?: string[];
  commands?: string[][];
  env?: Record<string, string>;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports -- scripts/ is plain JavaScript that runs before any build (npm run demo builds after its checks)
const lab = require('../../scripts/lab-packages.js') as {
  parsePackageList(text: string): { name: string; demo: boolean }[];
  labPackages(opts?: { demoOnly?: boolean }, text?: string): string[];
  demoPlan(found: { missing: string[]; isRoot: boolean; haveDpkg?: boolean; haveTerraform?: boolean }): Plan;
};

describe('scripts/lab-packages.txt', () => {
  it('parses NAME [demo] # why, and refuses anything else', () => {
    expect(lab.parsePackageList('# header\n\npostfix demo  # MTA\njq # json\n')).toEqual([
      { name: 'postfix', demo: true },
      { name: 'jq', demo: false },
    ]);
    expect(() => lab.parsePackageList('postfix ci\n')).toThrow(/:1: "postfix ci" is not "NAME \[demo\]/);
    expect(() => lab.parsePackageList('Postfix;rm\n')).toThrow(/is not "NAME/);
  });

  it("the demo needs a subset of what CI installs, and the lab's essentials are in it", () => {
    const all = lab.labPackages();
    const demo = lab.labPackages({ demoOnly: true });
    expect(demo.every((p) => all.includes(p))).toBe(true);
    expect(demo).toEqual(expect.arrayContaining(['postfix', 'openssh-server', 'openssh-client', 'util-linux', 'iproute2']));
    expect(all.length).toBeGreaterThan(demo.length);
  });

  it('.ci/run reads the same list (node scripts/lab-packages.js)', () => {
    const root = join(__dirname, '..', '..');
    const r = spawnSync(process.execPath, [join(root, 'scripts', 'lab-packages.js')], { encoding: 'utf8' });
    expect(r.stdout.trim().split('\n')).toEqual(lab.labPackages());
    const demo = spawnSync(process.execPath, [join(root, 'scripts', 'lab-packages.js'), '--demo'], { encoding: 'utf8' });
    expect(demo.stdout.trim().split('\n')).toEqual(lab.labPackages({ demoOnly: true }));
  });
});

describe('what npm run demo does before anything else', () => {
  it('root with everything installed: go', () => {
    expect(lab.demoPlan({ missing: [], isRoot: true })).toEqual({ action: 'go' });
  });

  it('root with packages missing: apt-get update, then install exactly those, non-interactively', () => {
    expect(lab.demoPlan({ missing: ['postfix', 'ssl-cert'], isRoot: true })).toEqual({
      action: 'install',
      missing: ['postfix', 'ssl-cert'],
      env: { DEBIAN_FRONTEND: 'noninteractive' },
      commands: [
        ['apt-get', 'update', '-q'],
        ['apt-get', 'install', '-y', '-q', 'postfix', 'ssl-cert'],
      ],
    });
  });

  it('not root: stop, with the exact sudo apt-get line for what is missing and how to run the demo', () => {
    const plan = lab.demoPlan({ missing: ['postfix', 'iproute2'], isRoot: false });
    expect(plan.action).toBe('fail');
    expect(plan.message).toContain('\n  sudo apt-get install -y postfix iproute2\n');
    expect(plan.message).toMatch(/\n {2}sudo npm run demo$/);
    expect(plan.message).not.toMatch(/terraform/i);
    const nothingMissing = lab.demoPlan({ missing: [], isRoot: false });
    expect(nothingMissing.message).not.toContain('apt-get');
    expect(nothingMissing.message).toContain('sudo npm run demo');
  });

  it('Terraform missing: said once, with where to get it, for root and non-root alike', () => {
    expect(lab.demoPlan({ missing: [], isRoot: true, haveTerraform: false })).toMatchObject({
      action: 'fail',
      message: expect.stringMatching(/terraform \(>= 1.4\) is not on PATH: install it from https:\/\/developer.hashicorp.com/),
    });
    expect(lab.demoPlan({ missing: ['postfix'], isRoot: false, haveTerraform: false }).message).toMatch(
      /1\. install .*\n.*apt-get.*\n2\. terraform .*\n3\. run the demo as root/,
    );
  });

  it('no dpkg: not a Debian machine, so name the packages instead of guessing a command', () => {
    const plan = lab.demoPlan({ missing: [], isRoot: true, haveDpkg: false });
    expect(plan.action).toBe('fail');
    expect(plan.message).toMatch(/dpkg-query not found.*postfix openssh-server/);
  });
});
