/**
 * The validation step on a real lab host when the plan changes no directory or owner: postfix(1)'s
 * own validation of every value (not the full `postfix check`, whose queue housekeeping only matters
 * when directories or owners change) and check-fatal's postlog rule. Each is fed the bad input; the
 * host keeps its files and keeps answering.
 */
import { Lab, LabHost, startLab } from '../lab';
import { PostfixHost } from '../../index';
import { applyStack, labConnection, synthStack } from '../helpers/deploy';
import { smtpGreeting } from '../helpers/smtp-client';

let lab: Lab;
beforeAll(async () => {
  lab = await startLab({ count: 1 });
}, 120000);
afterAll(async () => {
  await lab?.stop();
});

function stack(h: LabHost, settings: Record<string, string | number>, removeServices: string[] = []): string {
  return synthStack((s) => {
    const host = new PostfixHost(s, 'mx', { connection: labConnection(h), settings });
    for (const key of removeServices) host.state.removeService(key);
  });
}

const files = (h: LabHost) => [h.readFile('/etc/postfix/main.cf'), h.readFile('/etc/postfix/master.cf')];

test('a plain change is validated by postfix(1) without the full postfix check', async () => {
  const h = lab.hosts[0];
  const [r] = await applyStack(stack(h, { smtpd_banner: '$myhostname ESMTP checked' }));
  expect(r.error).toBeUndefined();
  expect(r.result).toBe('applied');
  expect(r.ran).toContain('postfix check (parameters)');
  expect(r.ran).not.toContain('postfix check');
  expect(await smtpGreeting(h.address)).toBe(`220 ${h.hostname} ESMTP checked`);
});

test('a value postfix(1) refuses fails validation with its words, nothing changed', async () => {
  const h = lab.hosts[0];
  const before = files(h);
  const [r] = await applyStack(stack(h, { smtpd_banner: '$myhostname ESMTP checked', default_process_limit: 0 }));
  expect(r.result).toBe('failed');
  expect(r.error).toMatch(/postfix check failed on the new configuration.*default_process_limit/);
  expect(files(h)).toEqual(before);
  expect(await smtpGreeting(h.address)).toBe(`220 ${h.hostname} ESMTP checked`);
});

test("maillog_file without the postlog service fails validation (check-fatal's rule), nothing changed", async () => {
  const h = lab.hosts[0];
  const before = files(h);
  const [r] = await applyStack(stack(h, { smtpd_banner: '$myhostname ESMTP checked' }, ['postlog/unix-dgram']));
  expect(r.result).toBe('failed');
  expect(r.error).toMatch(
    /postfix check failed on the new configuration.*maillog_file is set and master.cf has no postlog unix-dgram service/,
  );
  expect(files(h)).toEqual(before);
  expect(await smtpGreeting(h.address)).toBe(`220 ${h.hostname} ESMTP checked`);
});
