/**
 * `npm run demo` as a non-root user (the lab's sudo user, mailops): it stops before doing anything
 * (no build, no lab, no apt-get) and says exactly what to run. The decisions themselves, including
 * the apt-get line for missing packages, are covered in test/unit/lab-packages.test.ts.
 */
import { spawnSync } from 'child_process';
import { join } from 'path';
import { Lab, LAB_SUDO_USER, startLab } from '../lab';

let lab: Lab;
beforeAll(async () => {
  // Starting a lab with nonRootUser is what creates the user on a fresh machine.
  lab = await startLab({ count: 1, nonRootUser: true });
}, 120_000);
afterAll(async () => {
  await lab?.stop();
});

test('as a non-root user the demo stops at once and says what to run as root', () => {
  const root = join(__dirname, '..', '..');
  const r = spawnSync('runuser', ['-u', LAB_SUDO_USER, '--', process.execPath, join(root, 'scripts', 'demo.js')], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
  });
  expect(r.status).toBe(1);
  expect(r.stderr).toMatch(/^demo: the demo needs root/);
  expect(r.stderr).toMatch(/run the demo as root .*\n {2}sudo npm run demo\n$/);
  // Before doing anything: no build step, no lab, no package install.
  expect(r.stdout).toBe('');
  expect(r.stderr).not.toMatch(/\$ npm run build|Starting one lab host|apt-get update/);
});
