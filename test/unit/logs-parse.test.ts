import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { LINE_POSTFIX, LineParser, LineSplitter, PostfixLogLine, YearTracker, peekTimestamp } from '../../lib/ops/logs';
import { DECODE_WINDOW, forEachLine } from '../../lib/ops/logs/input';
import { gimmeDomain, rejectDetailAfterQid, smtpdRejectDetail } from '../../lib/ops/logs/pflogsumm-compat';

const NOW = new Date(2026, 10, 29, 19, 0, 0); // Nov 29 2026, local time

function pf(line: string, parser = new LineParser({ now: NOW })): PostfixLogLine {
  const p = parser.parse(line);
  if (p.kind !== 'postfix') throw new Error(`not a postfix line: ${p.kind}`);
  return p;
}

describe('timestamps', () => {
  it('reads traditional syslog stamps (space- and zero-padded day, fraction)', () => {
    const a = pf('Nov  9 18:24:39 mx1 postfix/smtpd[123]: connect from x[192.0.2.1]');
    expect(a.timestamp).toMatchObject({
      year: 2026,
      month: 11,
      day: 9,
      hour: 18,
      minute: 24,
      second: 39,
      offsetMinutes: null,
      yearInferred: true,
    });
    const b = pf('Nov 09 18:24:39 mx1 postfix/smtpd[123]: connect from x');
    expect(b.timestamp.day).toBe(9);
    const c = pf('Nov 29 18:24:39.123456 mx1 postfix/smtpd[123]: x');
    expect(c.timestamp.second).toBe(39);
    expect(c.host).toBe('mx1');
  });

  it('reads postlogd (maillog_file) lines as written by Postfix 3.7', () => {
    // written by `postlog -c DIR` with maillog_file set, Postfix 3.7.11
    const p = pf('Nov 29 19:03:48 vm postfix/smtpd[5664]: connect from probe[127.0.0.1]');
    expect(p).toMatchObject({ host: 'vm', program: 'smtpd', pid: 5664, message: 'connect from probe[127.0.0.1]' });
  });

  it('reads a year before or after the time', () => {
    expect(pf('Nov 29 2025 18:24:39 mx1 postfix/qmgr[1]: x').timestamp).toMatchObject({ year: 2025, yearInferred: false });
    expect(pf('Nov 29 18:24:39 2024 mx1 postfix/qmgr[1]: x').timestamp).toMatchObject({ year: 2024, yearInferred: false, hour: 18 });
  });

  it('reads RFC 3339 (rsyslog) and journalctl short-iso stamps', () => {
    const a = pf('2026-11-29T18:24:39.123456+00:00 mx1 postfix/submission/smtpd[123]: connect from x');
    expect(a.timestamp).toMatchObject({ year: 2026, month: 11, day: 29, hour: 18, offsetMinutes: 0, yearInferred: false });
    const b = pf('2026-11-29T18:24:39+0100 mx1 postfix/smtpd[1]: x');
    expect(b.timestamp.offsetMinutes).toBe(60);
    const c = pf('2026-11-29T18:24:39-05:30 mx1 postfix/smtpd[1]: x');
    expect(c.timestamp.offsetMinutes).toBe(-330);
    const d = pf('2026-11-29T18:24:39Z mx1 postfix/smtpd[1]: x');
    expect(d.timestamp.offsetMinutes).toBe(0);
  });

  it('mixes forms in one stream: a dated line re-synchronises the year', () => {
    const parser = new LineParser({ year: 2020, now: NOW });
    expect(pf('Dec 31 23:59:59 h postfix/qmgr[1]: x', parser).timestamp.year).toBe(2020);
    expect(pf('2025-06-01T00:00:00+00:00 h postfix/qmgr[1]: x', parser).timestamp.year).toBe(2025);
    expect(pf('Jun  1 00:00:01 h postfix/qmgr[1]: x', parser).timestamp.year).toBe(2025);
  });

  it('rolls Dec over to Jan within a file, and tolerates small disorder', () => {
    const parser = new LineParser({ year: 2025, now: NOW });
    const years = [
      'Dec 31 23:59:58 h postfix/qmgr[1]: a',
      'Jan  1 00:00:01 h postfix/qmgr[1]: b',
      'Dec 31 23:59:59 h postfix/qmgr[1]: late line',
      'Jan  1 00:00:02 h postfix/qmgr[1]: c',
      'Feb  1 00:00:00 h postfix/qmgr[1]: d',
      'Jan 31 23:59:59 h postfix/qmgr[1]: disorder',
    ].map((l) => pf(l, parser).timestamp.year);
    expect(years).toEqual([2025, 2026, 2025, 2026, 2026, 2026]);
  });

  it('defaults to the current year, or last year for a month after the current one', () => {
    expect(new YearTracker(undefined, new Date(2027, 0, 5)).resolve(12)).toBe(2026);
    expect(new YearTracker(undefined, new Date(2027, 0, 5)).resolve(1)).toBe(2027);
    expect(new YearTracker(2030, new Date(2027, 0, 5)).resolve(12)).toBe(2030);
  });

  it('reuses a parsed stamp only for the same second and zone', () => {
    const parser = new LineParser({ now: NOW });
    const a = pf('2026-11-29T18:24:39.000001+00:00 h postfix/qmgr[1]: a', parser).timestamp;
    const b = pf('2026-11-29T18:24:39.999999+00:00 h postfix/qmgr[1]: b', parser);
    const c = pf('2026-11-29T18:24:39.5+01:00 h postfix/qmgr[1]: c', parser).timestamp;
    const d = pf('2026-11-29T18:24:39 h postfix/qmgr[1]: d', parser).timestamp;
    expect(b.timestamp).toBe(a);
    expect(b.message).toBe('b');
    expect(c.offsetMinutes).toBe(60);
    expect(d.offsetMinutes).toBeNull();
    expect(pf('Nov 29 18:24:39 h1 postfix/qmgr[1]: e', parser).host).toBe('h1');
    expect(pf('Nov 29 18:24:39.25 h2 postfix/qmgr[1]: f', parser).host).toBe('h2');
  });

  it('peeks a timestamp without state', () => {
    expect(peekTimestamp('Jan  2 03:04:05 h x: y')).toEqual({ year: null, month: 1, day: 2, secs: 3 * 3600 + 4 * 60 + 5, offset: null });
    expect(peekTimestamp('garbage')).toBeNull();
  });
});

describe('syslog names', () => {
  it('splits multi-part names and multi-instance names', () => {
    expect(pf('Nov 29 18:24:39 mx1 postfix/submission/smtpd[123]: x')).toMatchObject({
      syslogName: 'postfix/submission/smtpd',
      instance: 'postfix',
      program: 'smtpd',
      pid: 123,
    });
    expect(pf('Nov 29 18:24:39 mx1 postfix-out/smtp[9]: x')).toMatchObject({ instance: 'postfix-out', program: 'smtp' });
    expect(pf('Nov 29 18:24:39 mx1 postfix/amavis/smtpd[9]: x')).toMatchObject({ program: 'smtpd' });
    expect(pf('Nov 29 18:24:39 mx1 postfix/postfix-script[9]: starting the Postfix mail system')).toMatchObject({
      program: 'postfix-script',
    });
    expect(pf('Nov 29 18:24:39 mx1 postfix/smtpd: no pid')).toMatchObject({ program: 'smtpd', pid: null, message: 'no pid' });
  });

  it('tells foreign programs, garbage and journal markers apart', () => {
    const p = new LineParser({ now: NOW });
    expect(p.parse('Nov 29 18:24:39 mx1 dovecot: imap-login: Login').kind).toBe('nonPostfix');
    expect(p.parse('Nov 29 18:24:39 mx1 postfixadmin[3]: x').kind).toBe('nonPostfix');
    expect(p.parse('hello world').kind).toBe('garbage');
    expect(p.parse('Nov 29 18:24:39').kind).toBe('garbage');
    expect(p.parse('Foo 29 18:24:39 mx1 postfix/smtpd[1]: x').kind).toBe('garbage');
    expect(p.parse('-- Boot 0123456789abcdef --').kind).toBe('skipped');
    expect(p.parse('-- No entries --').kind).toBe('skipped');
    expect(p.parse('').kind).toBe('skipped');
    expect(p.parseFields('Nov 29 18:24:39 mx1 postfix/qmgr[1]: x')).toBe(LINE_POSTFIX);
  });
});

describe('LineSplitter', () => {
  it('splits LF and CRLF across chunk boundaries, including multi-byte characters', () => {
    const lines: string[] = [];
    const s = new LineSplitter(1000, (l) => lines.push(l));
    const text = Buffer.from('a\r\nbé\nc€', 'utf8');
    for (let i = 0; i < text.length; i++) s.write(text.subarray(i, i + 1));
    s.end();
    expect(lines).toEqual(['a', 'bé', 'c€']);
  });

  it('decodes a chunk larger than its decode window the same, a character split on the window edge included', () => {
    // lines of ASCII, then one whose `é` straddles the 64 KiB window edge, then more ASCII
    const head = 'a'.repeat(DECODE_WINDOW - 2) + '\n';
    const text = head + 'é' + '\n' + 'b'.repeat(DECODE_WINDOW) + '\nc€\n';
    const bytes = Buffer.from(text, 'utf8');
    expect(bytes.subarray(DECODE_WINDOW - 2, DECODE_WINDOW + 1).toString('utf8')).toBe('\né');
    const lines: string[] = [];
    const s = new LineSplitter(1 << 20, (l) => lines.push(l));
    s.write(bytes);
    s.end();
    expect(lines).toEqual(text.split('\n').slice(0, -1));
  });

  it('reads a plain file in place and a gzip file as a stream, with the same lines', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'logs-read-'));
    try {
      const text = Array.from({ length: 30000 }, (_, i) => `line ${i} ${'ü'.repeat(i % 7)}`).join('\n') + '\n';
      fs.writeFileSync(path.join(dir, 'plain.log'), text);
      fs.writeFileSync(path.join(dir, 'zipped.log'), zlib.gzipSync(text));
      for (const name of ['plain.log', 'zipped.log']) {
        const lines: string[] = [];
        await forEachLine(path.join(dir, name), 1000, (l) => lines.push(l));
        expect(lines).toEqual(text.split('\n').slice(0, -1));
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('cuts over-long lines and keeps memory bounded', () => {
    const got: Array<[number, boolean]> = [];
    const s = new LineSplitter(100, (l, t) => got.push([l.length, t]));
    s.write('x'.repeat(60));
    s.write('y'.repeat(1 << 20)); // 1 MiB without a newline
    s.write('z\nshort\n' + 'w'.repeat(250) + '\n');
    s.end();
    expect(got).toEqual([
      [100, true],
      [5, false],
      [100, true],
    ]);
  });
});

describe('timestamp reuse across lines', () => {
  it('gives each line its own second within a cached minute, in both forms interleaved', () => {
    const parser = new LineParser({ year: 2026, now: NOW });
    const lines = [
      'Nov 29 18:24:39 mx postfix/smtpd[1]: a',
      '2026-11-29T18:24:39.1+00:00 mx postfix/smtpd[1]: b',
      'Nov 29 18:24:41 mx postfix/smtpd[1]: c',
      '2026-11-29T18:24:45.2+00:00 mx postfix/smtpd[1]: d',
      'Nov 29 18:24:41 mx postfix/smtpd[1]: e',
      'Nov 29 18:24:59 mx postfix/smtpd[1]: f',
      'Nov 29 18:25:00 mx postfix/smtpd[1]: g',
      '2026-11-29T18:24:45.3+01:00 mx postfix/smtpd[1]: h',
      'Nov 29 18:24:6x mx postfix/smtpd[1]: i',
    ];
    const got = lines
      .map((l) => parser.parse(l))
      .map((p) => (p.kind === 'postfix' ? [p.timestamp.minute, p.timestamp.second, p.timestamp.offsetMinutes] : p.kind));
    expect(got).toEqual([
      [24, 39, null],
      [24, 39, 0],
      [24, 41, null],
      [24, 45, 0],
      [24, 41, null],
      [24, 59, null],
      [25, 0, null],
      [24, 45, 60],
      'garbage',
    ]);
  });
});

describe("gimmeDomain's bracketed-address fast path", () => {
  it('agrees with the pattern path', () => {
    const ref = (client: string): string => {
      let m = /^([^[]*)\[((?:\d{1,3}\.){3}\d{1,3})\]/.exec(client);
      if (!m) m = /^([^/]*)\/([0-9a-f.:]+)/i.exec(client);
      if (!m) m = /^([^[(/]*)[[(/]([^\])]+)[\])]:?\d*$/.exec(client);
      const domain = m ? m[1] : undefined;
      const ip = m ? m[2] : undefined;
      if (domain === undefined || domain === '' || domain === 'unknown') return ip ?? '';
      const r = /^(.*)\.([^.]+)\.([^.]{3}|[^.]{2,3}\.[^.]{2})$/.exec(domain);
      return r ? `${r[2]}.${r[3]}`.toLowerCase() : domain;
    };
    for (const c of [
      '[203.0.113.67]:40000',
      '[1.2.3.4]',
      'unknown[10.0.0.1]',
      'unknown[10.0.0.1]:25',
      '[1.2.3.4567]',
      '[1.2.3]',
      '[1.2.3.4',
      'unknownx[1.2.3.4]',
      '[2001:db8::1]:25',
      'unknown[2001:db8::5]',
      'mail.x.example.com[1.2.3.4]',
      '[1.2.3.4]junk',
      '[01.002.3.4]',
      '[]',
      '[',
      'unknown[',
      'unknown[1.2.3.4]x',
      '[1.2.3.4.5]',
    ]) {
      expect(gimmeDomain(c)).toBe(ref(c));
    }
  });
});

describe('reject details remembered by the text after the queue ID', () => {
  it('equal the details computed from the whole message, whatever the queue ID', () => {
    const tails = [
      ': reject: RCPT from unknown[127.0.0.20]: 550 5.1.1 <nouser@x.test>: Recipient address rejected: User unknown in local recipient table; from=<a@b.test> to=<nouser@x.test> proto=ESMTP helo=<h>',
      ': reject_warning: RCPT from mail.c.example.com[192.0.2.9]: 554 5.7.1 <r@x.test>: Relay access denied; from=<s@c.example.com> to=<r@x.test> proto=ESMTP helo=<c>',
      ': reject: DATA from a.example[192.0.2.1]: 503 5.5.0 <DATA>: Data command rejected: Improper use of SMTP command pipelining; from=<s@a.example> to=<r@x.test> proto=ESMTP helo=<a>',
      ': hold: RCPT from unknown[203.0.113.69]: <h@domain.tld>: Recipient address triggers HOLD action; from=<c@d.example> to=<h@domain.tld> proto=ESMTP helo=<y>',
      ': reject: MAIL from unknown[192.0.2.3]: 552 5.3.4 Message size exceeds fixed limit; proto=ESMTP helo=<z>',
      ': discard: RCPT from x[192.0.2.4]: <h@domain.tld>: Sender address rejected: no; from=<q@w.example> to=<h@domain.tld> proto=ESMTP helo=<y>',
    ];
    for (const tail of tails) {
      for (const qid of ['NOQUEUE', '4A1B2C3D4E', '3XyZbcdfgh4Kz', 'NOQUEUE']) {
        const msg = qid + tail;
        expect(rejectDetailAfterQid(msg, qid.length)).toEqual(smtpdRejectDetail(msg));
      }
    }
  });
});

describe('a parser with history', () => {
  it('give every line the fields a fresh parser gives it', () => {
    const fixture = fs.readFileSync(path.join(__dirname, '../../bench/fixtures/mail-lab.log'), 'latin1').split('\n').slice(0, 1500);
    const odd = [
      'Nov 29 18:24:39 mx1 postfix/smtpd[1001]: connect from a[192.0.2.1]',
      'Nov 29 18:24:39 mx1 postfix/smtpd[1001]:: doubled colon',
      'Nov 29 18:24:39 mx1 postfix/smtpd[1001]:',
      'Nov 29 18:24:39 mx1 postfix/smtpd[1001]: ',
      'Nov 29 18:24:39 mx2 postfix/smtpd[1001]: other host',
      'Nov 29 18:24:39 mx1 postfix-out/smtp[7]: x: y',
      'Nov 29 18:24:39 mx1 postfix-out/smtp[7]: again',
      'Nov 29 18:24:39 mx1 dovecot[7]: imap: not ours',
      'Nov 29 18:24:39 mx1 dovecot[7]: imap: not ours again',
      'Nov 29 18:24:39 mx1 postfix/smtpd[x]: pid not a number',
      'Nov 29 18:24:39 mx1 postfix/smtpd[x]: pid not a number again',
    ];
    const shared = new LineParser({ now: NOW });
    for (const line of [...fixture, ...odd, ...odd]) {
      const fresh = new LineParser({ now: NOW });
      // (the year of a year-less stamp depends on the lines before it: compared without the stamp)
      const { timestamp: _a, ...got } = shared.parse(line) as PostfixLogLine;
      const { timestamp: _b, ...want } = fresh.parse(line) as PostfixLogLine;
      expect(got).toEqual(want);
    }
  });
});
