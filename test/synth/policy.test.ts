import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Testing, TerraformStack } from 'cdktf';
import { AccessTableType, DeliverySource, Placement, PostfixHost, ServiceType, Submission, Submissions } from '../../index';
import { AccessTable, Access } from '../../constructs/access-table';
import { HeaderChecks } from '../../constructs/header-checks';
import { Forwarding } from '../../constructs/forwarding';
import { addSeedPolicy } from '../../examples/mail-host/policy';
import { validateHostState } from '../../lib/model/validate-host';

function newHost(settings: Record<string, string | number> = {}) {
  const app = Testing.app();
  const stack = new TerraformStack(app, 'test');
  const host = new PostfixHost(stack, 'mx', { connection: { host: '192.0.2.10', privateKeyPath: '/k', knownHostsPath: '/kh' }, settings });
  return { stack, host };
}

describe('AccessTable', () => {
  it('writes the table, requires its type and places a sender check', () => {
    const { host } = newHost();
    const blocked = new AccessTable(host, 'blacklist', {
      entries: { 'spam@bad.example': 'REJECT spam not welcome', 'evil.example': Access.reject() },
    });
    blocked.restrictSenders();
    const b = host.bundle.bundle;
    expect(b.files['/etc/postfix/blacklist']).toMatchObject({
      content: 'spam@bad.example\tREJECT spam not welcome\nevil.example\tREJECT\n',
      postmap: 'hash',
      mode: '0644',
    });
    expect(b.mainCf.set.smtpd_sender_restrictions).toBe('check_sender_access hash:/etc/postfix/blacklist');
    expect(b.mainCf.set.smtpd_relay_restrictions).toBeUndefined();
    expect(b.tableTypes).toEqual(['hash']);
    validateHostState(host.state.snapshot());
  });

  it('lmdb/cdb/pcre tables need their package; installPackage opts in', () => {
    const { host } = newHost();
    new AccessTable(host, 'l', { type: AccessTableType.LMDB, entries: { 'a@b.example': 'REJECT' } });
    new AccessTable(host, 'c', { type: AccessTableType.CDB, entries: { 'a@b.example': 'REJECT' }, installPackage: true });
    new AccessTable(host, 'p', { type: AccessTableType.PCRE, entries: { '/^spam/': 'REJECT' } });
    const b = host.bundle.bundle;
    expect(b.tableTypes).toEqual(['cdb', 'lmdb', 'pcre']);
    expect(b.installPackages).toEqual(['postfix-cdb']);
    expect(b.files['/etc/postfix/p'].postmap).toBeUndefined();
    expect(b.files['/etc/postfix/l'].postmap).toBe('lmdb');
  });

  it('recipient checks: after reject_unauth_destination; an OK table ahead of it with empty relay restrictions is refused', () => {
    const { host } = newHost({
      smtpd_relay_restrictions: '',
      smtpd_recipient_restrictions: 'permit_mynetworks, reject_unauth_destination',
    });
    new AccessTable(host, 'rcpt', { entries: { 'vip@example.org': 'OK' } }).restrictRecipients();
    expect(host.state.getParameter('smtpd_recipient_restrictions')).toBe(
      'permit_mynetworks, reject_unauth_destination, check_recipient_access hash:/etc/postfix/rcpt',
    );
    const t2 = new AccessTable(host, 'rcpt2', { entries: { 'vip@example.org': 'OK' } });
    expect(() => t2.restrictRecipients({ placement: Placement.FIRST })).toThrow(
      /mx\/rcpt2: smtpd_recipient_restrictions = "check_recipient_access hash:\/etc\/postfix\/rcpt2": .*open relay/,
    );
  });

  it('client tables refuse address keys; sender tables refuse cidr', () => {
    const { host } = newHost();
    expect(() => new AccessTable(host, 'cl', { entries: { 'a@b.example': 'REJECT' } }).restrictClients()).toThrow(
      /address keys would never match/,
    );
    expect(() =>
      new AccessTable(host, 'cidr', { type: AccessTableType.CIDR, entries: { '192.0.2.0/24': 'REJECT' } }).restrictSenders(),
    ).toThrow(/cidr table matches IP addresses/);
    new AccessTable(host, 'net', { type: AccessTableType.CIDR, entries: { '192.0.2.0/24': 'REJECT' } }).restrictClients();
    expect(host.state.getParameter('smtpd_client_restrictions')).toBe('check_client_access cidr:/etc/postfix/net');
  });

  it('bad input names the field and value', () => {
    const { host } = newHost();
    expect(() => new AccessTable(host, '../etc/passwd', { entries: { a: 'OK' } })).toThrow(/table name = "\.\.\/etc\/passwd"/);
    expect(() => new AccessTable(host, 't1', { entries: { 'spam @bad.example': 'REJECT' } })).toThrow(
      /entries\["spam @bad.example"\] = "spam @bad.example": the key contains whitespace/,
    );
    expect(() => new AccessTable(host, 't2', { entries: { 'a@b.example': 'BLOCK' } })).toThrow(/action = "BLOCK": unknown access action/);
    expect(() => new AccessTable(host, 't3', { type: AccessTableType.REGEXP, entries: { '^spam': 'REJECT' } })).toThrow(/delimiter/);
    expect(() => new AccessTable(host, 't4', { type: AccessTableType.PCRE, entries: { '/(spam/': 'REJECT' } })).toThrow(
      /missing closing parenthesis/,
    );
    expect(() => new AccessTable(host, 't5', { type: 'sqlite' as never, entries: { a: 'OK' } })).toThrow(/type = "sqlite"/);
    new AccessTable(host, 'same', { entries: { 'a@b.example': 'OK' } });
    expect(() => new AccessTable(host, 'same', { entries: { 'a@b.example': 'OK' } })).toThrow(/same/);
  });

  it('a 1,000,000-entry file: bounded memory, only its hash in triggers, shipped beside the bundle', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'big-'));
    const file = path.join(dir, 'blacklist');
    const fd = fs.openSync(file, 'w');
    for (let i = 0; i < 1_000_000; i += 10000) {
      let chunk = '';
      for (let j = i; j < i + 10000; j++) chunk += `user${j}@spam${j % 997}.example REJECT\n`;
      fs.writeSync(fd, chunk);
    }
    fs.closeSync(fd);
    const before = process.memoryUsage().heapUsed;
    const { stack, host } = newHost();
    const t = new AccessTable(host, 'blacklist', { fromFile: file });
    t.restrictSenders();
    expect(t.size).toBe(1_000_000);
    const out = JSON.parse(Testing.synth(stack));
    const heapGrowth = process.memoryUsage().heapUsed - before;
    const res = Object.values(out.resource.terraform_data)[0] as { triggers_replace: Record<string, string> };
    expect(res.triggers_replace['file:/etc/postfix/blacklist']).toMatch(/^sha256:[0-9a-f]{64} \(\d+ bytes\)$/);
    expect(JSON.stringify(out).length).toBeLessThan(100_000);
    expect(host.bundle.bundle.files['/etc/postfix/blacklist'].asset).toMatch(/^file-/);
    expect(host.bundle.assets[0].sourcePath).toBe(file);
    expect(heapGrowth).toBeLessThan(60 * 1024 * 1024); // the file is ~37 MB; keys are never all held
    fs.rmSync(dir, { recursive: true, force: true });
  });
});

describe('HeaderChecks', () => {
  it('privacy preset on submission: a dedicated cleanup service and cleanup_service_name on both ports', () => {
    const { host } = newHost();
    host.addService(Submission.starttls());
    host.addService(Submissions.implicitTls());
    new HeaderChecks(host, 'clean', HeaderChecks.privacy()).onSubmission();
    const b = host.bundle.bundle;
    expect(b.files['/etc/postfix/clean'].content).toBe(
      '/^Received:.*with ESMTPSA/\tIGNORE\n/^X-Originating-IP:/\tIGNORE\n/^X-Mailer:/\tIGNORE\n/^User-Agent:/\tIGNORE\n',
    );
    expect(b.masterCf.set['msa_cleanup/unix']).toBe(
      'msa_cleanup unix n - n - 0 cleanup -o header_checks=regexp:/etc/postfix/clean -o mime_header_checks=regexp:/etc/postfix/clean -o nested_header_checks=',
    );
    expect(b.masterCf.set['submission/inet']).toContain('-o cleanup_service_name=msa_cleanup');
    expect(b.masterCf.set['submissions/inet']).toContain('-o cleanup_service_name=msa_cleanup');
    expect(b.mainCf.set.header_checks).toBeUndefined();
    expect(b.mainCf.set.smtp_header_checks).toBeUndefined();
    validateHostState(host.state.snapshot());
  });

  it('onSubmission covers submission services added before and after it; none at all is an error at synth', () => {
    const { host } = newHost();
    new HeaderChecks(host, 'clean', HeaderChecks.privacy()).onSubmission();
    expect(() => host.bundle).toThrow(/mx\/clean: onSubmission services: the host defines no submission service/);
    host.addService(Submission.starttls());
    host.addService(Submissions.implicitTls());
    const b = host.bundle.bundle;
    expect(b.masterCf.set['submission/inet']).toContain('-o cleanup_service_name=msa_cleanup');
    expect(b.masterCf.set['submissions/inet']).toContain('-o cleanup_service_name=msa_cleanup');
    expect(host.node.validate()).toEqual([]);
  });

  it('named services are checked when the host is composed', () => {
    const { host } = newHost();
    new HeaderChecks(host, 'clean', HeaderChecks.privacy()).onSubmission({ services: ['587/inet'] });
    expect(host.node.validate().join('\n')).toMatch(/onSubmission services = "587\/inet": no such master.cf service/);
    host.addService({ name: '587', type: ServiceType.INET, command: 'pipe' });
    expect(host.node.validate().join('\n')).toMatch(/587\/inet.*runs pipe, not smtpd/);
  });

  it('a second cleanup service of the same name is refused', () => {
    const { host } = newHost();
    host.addService(Submission.starttls());
    new HeaderChecks(host, 'a', HeaderChecks.privacy()).onSubmission();
    expect(() =>
      new HeaderChecks(host, 'b', { rules: [{ pattern: '/^X-Foo:/', action: 'IGNORE' }] }).onSubmission({ services: [] as never }),
    ).toThrow(/no submission service|already defined/);
    expect(() =>
      new HeaderChecks(host, 'c', { rules: [{ pattern: '/^X-Foo:/', action: 'IGNORE' }] }).onSubmission({ services: ['submission/inet'] }),
    ).toThrow(/service msa_cleanup\/unix.*already defined/);
  });

  it('bad rules name the field and value', () => {
    const { host } = newHost();
    expect(() => new HeaderChecks(host, 'x', { rules: [{ pattern: 'X-Mailer:', action: 'IGNORE' }] })).toThrow(
      /rules\[0\]\.pattern = "X-Mailer:"/,
    );
    expect(() => new HeaderChecks(host, 'y', { rules: [{ pattern: '/^X-Mailer:/', action: 'REMOVE' }] })).toThrow(
      /rules\[0\]\.action = "REMOVE": unknown header_checks action/,
    );
    expect(() => new HeaderChecks(host, 'z', { rules: [{ pattern: '/^X-(Mailer:/', action: 'IGNORE' }] })).toThrow(/unmatched \(/);
  });
});

describe('Forwarding and sizes', () => {
  it('sets allow_mail_to_commands/files', () => {
    const { host } = newHost();
    new Forwarding(host, 'fwd', {
      commands: [DeliverySource.ALIAS, DeliverySource.FORWARD, DeliverySource.INCLUDE],
      files: [DeliverySource.ALIAS],
    });
    expect(host.bundle.bundle.mainCf.set.allow_mail_to_commands).toBe('alias, forward, include');
    expect(host.bundle.bundle.mainCf.set.allow_mail_to_files).toBe('alias');
    expect(() => new Forwarding(host, 'f2', { commands: ['pipe' as never] })).toThrow(/commands = "pipe"/);
  });
  it('ports outside 1-65535 and services in use are refused at synth', () => {
    const { host } = newHost();
    host.addService(Submission.starttls({ name: '70000' }));
    expect(() => validateHostState(host.state.snapshot())).toThrow(/port 70000 is outside 1-65535/);
    const h2 = newHost().host;
    h2.addService(Submission.starttls());
    expect(() => h2.addService(Submission.starttls())).toThrow(/service submission\/inet.*already defined/);
  });
});

describe('addSeedPolicy (examples/mail-host)', () => {
  it('configures the whole seed policy', () => {
    const { host } = newHost();
    host.addService(Submission.starttls());
    host.addService(Submissions.implicitTls());
    addSeedPolicy(host, { messageSize: '25MB', blacklist: { entries: { 'spam@bad.example': 'REJECT' } } });
    const b = host.bundle.bundle;
    expect(b.mainCf.set.message_size_limit).toBe('25000000');
    expect(b.mainCf.set.allow_mail_to_commands).toBe('alias, forward, include');
    expect(b.mainCf.set.smtpd_sender_restrictions).toBe('check_sender_access hash:/etc/postfix/blacklist');
    expect(b.masterCf.set['msa_cleanup/unix']).toContain('header_checks=regexp:/etc/postfix/clean_headers');
    validateHostState(host.state.snapshot());
  });
});
