import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Readable } from 'stream';
import * as zlib from 'zlib';
import {
  LogReport,
  analyzeLogs,
  formatReport,
  orderLogFiles,
  parseLogFiles,
  parseLogStream,
  parseTimeOption,
  reportToJson,
  runLogsReport,
} from '../../lib/ops/logs';

const FIXTURE = path.join(__dirname, '..', 'fixtures', 'logs', 'mail.log');
const NOW = new Date(2026, 10, 29, 19, 0, 0);

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'logs-test-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function write(name: string, text: string, gzip = false): string {
  const p = path.join(tmp, name);
  fs.writeFileSync(p, gzip ? zlib.gzipSync(Buffer.from(text)) : text);
  return p;
}

describe('report on the hand-made fixture', () => {
  let r: LogReport;
  beforeAll(async () => {
    r = await analyzeLogs([FIXTURE], { toDomain: 'DOMAIN.TLD', now: NOW });
  });

  it('has pflogsumm-style grand totals', () => {
    expect(r.grandTotals).toEqual({
      received: 6,
      delivered: 6,
      forwarded: 1,
      deferred: 1,
      deferrals: 2,
      bounced: 1,
      rejected: 3,
      rejectedPercent: 30,
      rejectWarnings: 1,
      held: 1,
      discarded: 1,
      discardedPercent: 10,
      bytesReceived: 3800,
      bytesDelivered: 6700,
      senders: 4,
      sendingHostsDomains: 4,
      recipients: 5,
      recipientHostsDomains: 3,
    });
    expect(r.events).toMatchObject({ expired: 1, removed: 4, postsuperDeleted: 3, warnings: 1, fatals: 1 });
  });

  it('counts a message deferred twice once as deferred, twice as deferrals, and its size once', () => {
    expect(r.grandTotals.deferred).toBe(1);
    expect(r.grandTotals.deferrals).toBe(2);
    expect(r.senders.byCount.find((s) => s.key === 'carol@example.net')).toEqual({ key: 'carol@example.net', count: 1, bytes: 2000 });
  });

  it('answers "mails to addresses at a domain" with an exact, case-insensitive domain match', () => {
    expect(r.toDomain).not.toBeNull();
    const addrs = r.toDomain!.addresses.map((a) => a.address);
    expect(addrs).toEqual(['hill@domain.tld', 'bob@domain.tld', 'dave@domain.tld']);
    expect(addrs).not.toContain('hill@domain.tld.example');
    expect(r.toDomain!.addresses[0]).toEqual({ address: 'hill@domain.tld', mails: 3, sent: 3, forwarded: 0, bounced: 0, deferrals: 2 });
    expect(r.toDomain!.addresses[2]).toMatchObject({ forwarded: 1, sent: 0 });
  });

  it('answers "sent mails per recipient" from status=sent lines', () => {
    expect(r.sentPerRecipient.slice(0, 2)).toEqual([
      { key: 'hill@domain.tld', count: 2 },
      { key: 'Hill@domain.tld', count: 1 },
    ]);
    expect(r.sentPerRecipient.find((s) => s.key === 'hill@domain.tld.example')?.count).toBe(1);
  });

  it('groups bounce, deferral and reject detail by reason', () => {
    expect(r.deferralDetail).toEqual([
      { key: 'smtp', count: 2, items: [{ key: 'mx.domain.tld[203.0.113.6]:25: Connection timed out', count: 2 }] },
    ]);
    expect(r.bounceDetail[0]).toEqual({
      key: 'mx.far.example[203.0.113.7]:25',
      count: 1,
      items: [{ key: 'User unknown (in reply to RCPT TO command)', count: 1 }],
    });
    const rcpt = r.rejectDetail.find((t) => t.key === 'RCPT');
    expect(rcpt?.items?.map((i) => i.key)).toEqual(['Relay access denied', 'blocked using zen.spamhaus.org']);
    expect(r.holdDetail[0].items?.[0]).toEqual({ key: 'header', count: 1, items: [{ key: 'Subject: invoice', count: 1 }] });
  });

  it('counts unparsable lines with samples instead of failing', () => {
    expect(r.unparsed.garbage).toEqual({ count: 1, samples: ['this line is garbage and has no syslog header'] });
    expect(r.unparsed.nonPostfix.count).toBe(2);
    expect(r.unparsed.unrecognisedPostfix.count).toBe(1);
    expect(r.unparsed.unrecognisedPostfix.samples[0]).toContain('frobnicated');
    expect(r.instances).toEqual([
      { key: 'postfix', count: 46 },
      { key: 'postfix-out', count: 1 },
    ]);
  });

  it("knows smtp(8)'s line folding notice (smtp_line_length_limit) as a message event", async () => {
    const folded = await runLogsReport([
      Readable.from([
        'Dec 02 10:24:52 host1 postfix/smtp[4614]: DE86123E45F: breaking line > 998 bytes with <CR><LF>SPACE\n',
        'Dec 02 10:24:52 host1 postfix/smtp[4614]: DE86123E45F: frobnicated the queue\n',
      ]),
    ]);
    expect(folded.unparsed.unrecognisedPostfix.count).toBe(1);
    expect(folded.unparsed.unrecognisedPostfix.samples[0]).toContain('frobnicated');
  });

  it('has per-day and per-hour rows', () => {
    expect(r.perDay).toEqual([{ date: '2026-11-28', received: 6, delivered: 6, deferred: 2, bounced: 1, rejected: 6 }]);
    expect(r.perHour[14]).toEqual({ hour: 14, received: 3, delivered: 0, deferred: 0, bounced: 0, rejected: 6 });
  });

  it('renders text and stable JSON', () => {
    const text = formatReport(r);
    for (const s of [
      'Grand Totals',
      'Per-Day Traffic Summary',
      'Mails to addresses at domain.tld',
      'message bounce detail (by relay)',
      'Senders by message count',
    ]) {
      expect(text).toContain(s);
    }
    const json = reportToJson(r);
    expect(Object.keys(JSON.parse(json))).toEqual([
      'grandTotals',
      'events',
      'perDay',
      'perHour',
      'senders',
      'recipients',
      'senderDomains',
      'recipientDomains',
      'sentPerRecipient',
      'toDomain',
      'deferralDetail',
      'bounceDetail',
      'rejectDetail',
      'rejectWarningDetail',
      'holdDetail',
      'discardDetail',
      'warningDetail',
      'fatalDetail',
      'panicDetail',
      'instances',
      'input',
      'unparsed',
    ]);
    expect(json).toBe(reportToJson(JSON.parse(json)));
  });
});

describe('grand totals against the real pflogsumm', () => {
  it('match /usr/sbin/pflogsumm on the fixture (multi-instance lines left out: pflogsumm skips them)', async () => {
    const text = fs
      .readFileSync(FIXTURE, 'utf8')
      .split('\n')
      .filter((l) => !l.includes(' postfix-out/'))
      .join('\n');
    const file = write('pflogsumm-input.log', text);
    const pf = spawnSync('pflogsumm', [file], { encoding: 'utf8' });
    expect(pf.error).toBeUndefined();
    expect(pf.status).toBe(0);
    const num = (label: string): number => {
      const m = new RegExp(`^\\s*(\\d+)\\s+${label}`, 'm').exec(pf.stdout);
      if (!m) throw new Error(`no "${label}" in pflogsumm output:\n${pf.stdout}`);
      return Number(m[1]);
    };
    const g = (await analyzeLogs([file], { now: NOW })).grandTotals;
    expect({
      received: g.received,
      delivered: g.delivered,
      forwarded: g.forwarded,
      deferred: g.deferred,
      bounced: g.bounced,
      rejected: g.rejected,
      rejectWarnings: g.rejectWarnings,
      held: g.held,
      discarded: g.discarded,
      bytesReceived: g.bytesReceived,
      bytesDelivered: g.bytesDelivered,
      senders: g.senders,
      sendingHostsDomains: g.sendingHostsDomains,
      recipients: g.recipients,
      recipientHostsDomains: g.recipientHostsDomains,
      rejectedPercent: g.rejectedPercent,
      deferrals: g.deferrals,
    }).toEqual({
      received: num('received'),
      delivered: num('delivered'),
      forwarded: num('forwarded'),
      deferred: num('deferred'),
      bounced: num('bounced'),
      rejected: num('rejected'),
      rejectWarnings: num('reject warnings'),
      held: num('held'),
      discarded: num('discarded'),
      bytesReceived: num('bytes received'),
      bytesDelivered: num('bytes delivered'),
      senders: num('senders'),
      sendingHostsDomains: num('sending hosts/domains'),
      recipients: num('recipients'),
      recipientHostsDomains: num('recipient hosts/domains'),
      rejectedPercent: Number(/rejected \((\d+)%\)/.exec(pf.stdout)?.[1]),
      deferrals: Number(/\((\d+)\s+deferrals\)/.exec(pf.stdout)?.[1]),
    });
  });
});

describe('inputs', () => {
  // one log rotated into three files; a message spans the .1 / current boundary
  const part2 =
    [
      'Dec 30 10:00:00 mx postfix/smtpd[1]: AAAAA00001: client=a.example.com[192.0.2.1]',
      'Dec 30 10:00:01 mx postfix/qmgr[2]: AAAAA00001: from=<a@example.com>, size=100, nrcpt=1 (queue active)',
      'Dec 30 10:00:02 mx postfix/local[3]: AAAAA00001: to=<u@domain.tld>, relay=local, delay=1, delays=0/0/0/1, dsn=2.0.0, status=sent (delivered to mailbox)',
      'Dec 30 10:00:02 mx postfix/qmgr[2]: AAAAA00001: removed',
    ].join('\n') + '\n';
  const part1 =
    [
      'Dec 31 23:59:00 mx postfix/smtpd[1]: BBBBB00002: client=b.example.org[192.0.2.2]',
      'Dec 31 23:59:01 mx postfix/qmgr[2]: BBBBB00002: from=<b@example.org>, size=200, nrcpt=1 (queue active)',
    ].join('\n') + '\n';
  const part0 =
    [
      'Jan  1 00:00:05 mx postfix/smtp[4]: BBBBB00002: to=<v@far.example>, relay=mx.far.example[192.0.2.9]:25, delay=64, delays=0/0/1/63, dsn=2.0.0, status=sent (250 ok)',
      'Jan  1 00:00:05 mx postfix/qmgr[2]: BBBBB00002: removed',
    ].join('\n') + '\n';

  it('orders rotated files (plain and gzip, any names and order) chronologically across Dec -> Jan', async () => {
    const cur = write('mail.log', part0);
    const one = write('mail.log.1', part1);
    const two = write('mail.log.2.gz', part2, true);
    const gzNoExt = write('rotated-without-extension', part2, true);
    expect(await orderLogFiles([cur, two, one])).toEqual([two, one, cur]);
    const a = await analyzeLogs([cur, two, one], { year: 2025, now: NOW });
    const b = await analyzeLogs([one, cur, two], { year: 2025, now: NOW });
    const c = await analyzeLogs([gzNoExt, one, cur], { year: 2025, now: NOW });
    expect(a.grandTotals).toEqual(b.grandTotals);
    expect(a.grandTotals).toEqual(c.grandTotals);
    expect(a.grandTotals).toMatchObject({ received: 2, delivered: 2, bytesReceived: 300, bytesDelivered: 300, senders: 2 });
    expect(a.perDay.map((d) => d.date)).toEqual(['2025-12-30', '2025-12-31', '2026-01-01']);
    expect(a.input.sources).toEqual([two, one, cur]);
    expect({ ...a, input: null }).toEqual({ ...b, input: null });
  });

  it('parses a file set as one log with parseLogFiles', async () => {
    const cur = write('p.log', part0);
    const one = write('p.log.1.gz', part1, true);
    const kinds: string[] = [];
    for await (const l of parseLogFiles([cur, one], { year: 2025, now: NOW })) {
      if (l.kind === 'postfix') kinds.push(`${l.timestamp.year}-${l.timestamp.month} ${l.program}`);
    }
    expect(kinds).toEqual(['2025-12 smtpd', '2025-12 qmgr', '2026-1 smtp', '2026-1 qmgr']);
  });

  it('reads streams (gzip detected by magic bytes) and line iterables', async () => {
    const gz = Readable.from([zlib.gzipSync(Buffer.from(part2 + part1 + part0))]);
    const r1 = await runLogsReport([gz], { year: 2025, now: NOW });
    async function* lines() {
      for (const l of (part2 + part1 + part0).split('\n')) yield l;
    }
    const r2 = await runLogsReport(lines(), { year: 2025, now: NOW });
    expect(r1.grandTotals).toEqual(r2.grandTotals);
    expect(r1.grandTotals.delivered).toBe(2);
    const parsed = [];
    for await (const l of parseLogStream(Readable.from([Buffer.from(part1)]), { year: 2025, now: NOW })) parsed.push(l.kind);
    expect(parsed).toEqual(['postfix', 'postfix']);
  });

  it('survives a 1 MB line and counts it', async () => {
    const long = `Nov 28 10:00:00 mx postfix/smtpd[1]: warning: ${'x'.repeat(1 << 20)}`;
    const file = write('long.log', `${long}\n${part1}`);
    const r = await analyzeLogs([file], { now: NOW });
    expect(r.input.longLines).toBe(1);
    expect(r.events.warnings).toBe(1);
    expect(r.grandTotals.received).toBe(1);
  });

  it('filters by --since/--until', async () => {
    const file = write('window.log', part2 + part1 + part0);
    const r = await analyzeLogs([file], {
      year: 2025,
      now: NOW,
      since: parseTimeOption('2025-12-31'),
      until: parseTimeOption('2026-01-01T00:00:00'),
    });
    expect(r.grandTotals).toMatchObject({ received: 1, delivered: 0 });
    expect(r.input.outsideWindow).toBe(6);
  });
});

describe('parseTimeOption', () => {
  const now = new Date(Date.UTC(2026, 10, 29, 12, 0, 0));
  it('accepts relative, date, date-time and offsets', () => {
    expect(parseTimeOption('24h', '--since', now).toISOString()).toBe('2026-11-28T12:00:00.000Z');
    expect(parseTimeOption('7d', '--since', now).toISOString()).toBe('2026-11-22T12:00:00.000Z');
    expect(parseTimeOption('2026-11-29T10:00:00Z').toISOString()).toBe('2026-11-29T10:00:00.000Z');
    expect(parseTimeOption('2026-11-29 10:00+01:00').toISOString()).toBe('2026-11-29T09:00:00.000Z');
    expect(parseTimeOption('2026-11-29').getTime()).toBe(new Date(2026, 10, 29).getTime());
  });
  it('rejects anything else with a fix', () => {
    expect(() => parseTimeOption('last tuesday', '--until')).toThrow(/--until = "last tuesday".*Fix:/);
  });
});
