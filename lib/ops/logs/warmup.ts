/**
 * Type-feedback priming. V8 optimizes the hot parsing functions after a few thousand lines, from
 * what it has seen them do so far; a kind of line met only later (a journal marker, a foreign
 * program, a cleanup reject, a line split across two input chunks, ...) then throws the optimized
 * code away and it is compiled again, several times per function over a big log, in every thread.
 * Feeding every kind of line once through a throwaway aggregator first lets the first optimized
 * code cover them all. It changes no result: the aggregator used here is discarded.
 */
import { LogAggregator } from './aggregate';
import { LineSplitter } from './input';

const SAMPLE =
  [
    'Nov 28 09:00:01 mx1 postfix/postfix-script[900]: starting the Postfix mail system',
    'Nov 28 09:00:01 mx1 postfix/master[901]: daemon started -- version 3.7.11, configuration /etc/postfix',
    'Nov 28 09:15:00 mx1 postfix/smtpd[1001]: connect from mail.sender.example.com[198.51.100.10]',
    'Nov 28 09:15:01 mx1 postfix/smtpd[1001]: 4A1B2C3D4E: client=mail.sender.example.com[198.51.100.10]',
    'Nov 28 09:15:01 mx1 postfix/cleanup[1002]: 4A1B2C3D4E: message-id=<m1@sender.example.com>',
    'Nov 28 09:15:01 mx1 postfix/qmgr[1003]: 4A1B2C3D4E: from=<Alice@Sender.Example.com>, size=1000, nrcpt=2 (queue active)',
    'Nov 28 09:15:02 mx1 postfix/local[1004]: 4A1B2C3D4E: to=<hill@domain.tld>, relay=local, delay=0.5, delays=0.1/0.1/0/0.3, dsn=2.0.0, status=sent (delivered to mailbox)',
    'Nov 28 09:15:02 mx1 postfix/local[1004]: 4A1B2C3D4E: to=<bob@domain.tld>, orig_to=<postmaster@domain.tld>, relay=local, delay=0.5, delays=0.1/0.1/0/0.3, dsn=2.0.0, status=sent (delivered to mailbox)',
    'Nov 28 09:15:02 mx1 postfix/qmgr[1003]: 4A1B2C3D4E: removed',
    'Nov 28 09:15:03 mx1 postfix/smtpd[1001]: disconnect from mail.sender.example.com[198.51.100.10] ehlo=1 mail=1 rcpt=2 data=1 quit=1 commands=6',
    '2026-11-28T10:00:00.123456+00:00 mx1 postfix/submission/smtpd[1101]: connect from client.example.net[192.0.2.20]',
    '2026-11-28T10:00:01.000001+00:00 mx1 postfix/submission/smtpd[1101]: 5B2C3D4E5F: client=client.example.net[192.0.2.20], sasl_method=PLAIN, sasl_username=carol',
    '2026-11-28T10:00:01.200000+00:00 mx1 postfix/qmgr[1003]: 5B2C3D4E5F: from=<carol@example.net>, size=2000, nrcpt=3 (queue active)',
    '2026-11-28T10:00:02.000000+00:00 mx1 postfix/smtp[1103]: 5B2C3D4E5F: to=<Hill@DOMAIN.TLD>, relay=mx.domain.tld[203.0.113.6]:25, delay=30, delays=0.1/0/30/0, dsn=4.4.1, status=deferred (connect to mx.domain.tld[203.0.113.6]:25: Connection timed out)',
    '2026-11-28T10:00:02.500000+00:00 mx1 postfix/smtp[1103]: 5B2C3D4E5F: to=<nobody@far.example>, relay=mx.far.example[203.0.113.7]:25, delay=1, delays=0.1/0/0.4/0.5, dsn=5.1.1, status=bounced (host mx.far.example[203.0.113.7] said: 550 5.1.1 <nobody@far.example>: Recipient address rejected: User unknown (in reply to RCPT TO command))',
    '2026-11-28T10:00:02.600000+00:00 mx1 postfix/bounce[1104]: 5B2C3D4E5F: sender non-delivery notification: 6C3D4E5F60',
    '2026-11-28T11:00:00+0000 mx1 postfix/qmgr[1003]: 5B2C3D4E5F: from=<carol@example.net>, size=2000, nrcpt=3 (queue active)',
    '2026-11-28T11:00:30Z mx1 postfix/smtp[1103]: 5B2C3D4E5F: to=<Hill@DOMAIN.TLD>, relay=mx.domain.tld[203.0.113.6]:25, conn_use=2, delay=3630, delays=3600/0/30/0, dsn=2.0.0, status=sent (250 2.0.0 Ok: queued as 9ABC)',
    '2026-11-28T11:00:31Z mx1 postfix/qmgr[1003]: 5B2C3D4E5F: removed',
    'Nov 28 13:00:00 mx1 postfix/pickup[1201]: 7D4E5F6071: uid=1000 from=<dave>',
    'Nov 28 13:00:00 mx1 postfix/qmgr[1003]: 7D4E5F6071: from=<dave@domain.tld>, size=500, nrcpt=1 (queue active)',
    'Nov 28 13:00:01 mx1 postfix/local[1004]: 7D4E5F6071: to=<dave@domain.tld>, relay=local, delay=0.2, delays=0.1/0/0/0.1, dsn=2.0.0, status=sent (forwarded as 8E5F607182)',
    'Nov 28 13:00:02 mx1 postfix/qmgr[1003]: 7D4E5F6071: from=<dave@domain.tld>, status=expired, returned to sender',
    'Nov 28 14:00:00 mx1 postfix/smtpd[1001]: NOQUEUE: reject: RCPT from unknown[203.0.113.66]: 554 5.7.1 <x@victim.example>: Relay access denied; from=<spammer@bad.example> to=<x@victim.example> proto=ESMTP helo=<bad>',
    'Nov 28 14:00:01 mx1 postfix/postscreen[1301]: NOQUEUE: reject: RCPT from [203.0.113.67]:40000: 550 5.7.1 Service unavailable; client [203.0.113.67] blocked using zen.spamhaus.org; from=<a@b.example>, to=<hill@domain.tld>, proto=ESMTP, helo=<x>',
    'Nov 28 14:00:02 mx1 postfix/smtpd[1001]: NOQUEUE: reject_warning: RCPT from unknown[203.0.113.68]: 450 4.7.1 <hill@domain.tld>: Recipient address rejected: Greylisted; from=<c@d.example> to=<hill@domain.tld> proto=ESMTP helo=<y>',
    'Nov 28 14:00:03 mx1 postfix/smtpd[1001]: 9F60718294: hold: RCPT from unknown[203.0.113.69]: <h@domain.tld>: Recipient address triggers HOLD action; from=<c@d.example> to=<h@domain.tld> proto=ESMTP helo=<y>',
    'Nov 28 14:00:04 mx1 postfix/smtpd[1001]: NOQUEUE: discard: RCPT from unknown[203.0.113.69]: <h@domain.tld>: Recipient address triggers DISCARD action; from=<c@d.example> to=<h@domain.tld> proto=ESMTP helo=<y>',
    'Nov 28 14:10:00 mx1 postfix/cleanup[1102]: 9F60718293: hold: header Subject: invoice from relay.partner.example.org[198.51.100.30]; from=<> to=<hill@domain.tld> proto=ESMTP helo=<relay>: review',
    'Nov 28 14:10:01 mx1 postfix/cleanup[1102]: A0718293A4: discard: body casino from unknown[2001:db8::5]; from=<x@y.example> to=<hill@domain.tld> proto=ESMTP helo=<z>: dropped',
    'Nov 28 14:10:02 mx1 postfix/cleanup[1102]: B18293A4B5: reject: header X-Mailer: bad from unknown[203.0.113.70]; from=<x@y.example> to=<hill@domain.tld> proto=ESMTP helo=<z>: 5.7.1 no',
    'Nov 28 14:10:03 mx1 postfix/cleanup[1102]: B18293A4B6: warning: header X-Spam: yes from unknown[203.0.113.70]; from=<x@y.example> to=<hill@domain.tld> proto=ESMTP helo=<z>',
    'Nov 28 14:10:04 mx1 postfix/cleanup[1102]: B18293A4B7: milter-reject: END-OF-MESSAGE from unknown[203.0.113.70]: 5.7.1 spam; from=<x@y.example> to=<hill@domain.tld> proto=ESMTP helo=<z>',
    'Nov 28 14:20:00 mx1 postfix/postsuper[1401]: Deleted: 3 messages',
    'Nov 28 14:20:01 mx1 postfix/postsuper[1401]: Requeued: 2 messages',
    'Nov 28 14:20:02 mx1 postfix/smtpd[1001]: warning: hostname x.example does not resolve to address 203.0.113.9: Name or service not known',
    'Nov 28 14:20:03 mx1 postfix/qmgr[1003]: fatal: bad configuration',
    'Nov 28 14:20:04 mx1 postfix/qmgr[1003]: panic: something',
    'Nov 28 14:20:05 mx1 postfix/smtp[1103]: error: open database /etc/postfix/x.db: No such file or directory',
    'Nov 28 14:20:06 mx1 postfix-out/smtp[2103]: C28293A4B5: to=<z@far.example>, relay=none, delay=1, dsn=4.4.1, status=deferred (Host not found)',
    'Nov 28 14:20:07 mx1 postfix/smtpd[1001]: C28293A4B6: frobnicated the widget',
    'Nov 28 14:20:08 mx1 postfix/local[1004]: C28293A4B7: to=<jörg@domain.tld>, relay=local, delay=0.1, dsn=2.0.0, status=sent (delivered to mailbox)',
    'Nov 28 14:20:09 mx1 dovecot: imap-login: Login: user=<dave>',
    // a line from the minute before the last one (the parser's second cached stamp), another second of it
    'Nov 28 14:21:00 mx1 postfix/smtpd[1001]: connect from a[192.0.2.1]',
    'Nov 28 14:20:09 mx1 postfix/smtpd[1001]: lost connection after CONNECT from a[192.0.2.1]',
    'Nov 28 14:21:00 mx1 postfix/smtpd[1001]: disconnect from a[192.0.2.1] commands=0/0',
    'Nov 28 14:20:10 mx1 postfix/smtpd[1001]: lost connection after CONNECT from a[192.0.2.1]',
    'Nov 28 14:20:10 mx1 postfix/smtpd:',
    'this line is garbage',
    '-- Boot 0123456789abcdef --',
    '',
    'Nov 28 14:20:11 mx1 postfix/smtpd[1001]: ' + 'x'.repeat(300),
  ].join('\r\n') + '\n';

let primed = false;

function feed(agg: LogAggregator): void {
  const split = new LineSplitter(256, (line, truncated) => agg.addLine(line, truncated));
  const bytes = Buffer.from(SAMPLE, 'utf8');
  // uneven chunks: lines across chunk edges, a multi-byte character split, text and byte chunks
  for (let i = 0; i < bytes.length; i += 61) split.write(bytes.subarray(i, i + 61));
  split.write('Nov 28 14:30:00 mx1 postfix/smtpd[1001]: disconnect from a[192.0.2.1]\n');
  split.end();
}

/** Primes the parser's and aggregator's type feedback once per thread (see above). */
export function primeFeedback(): void {
  if (primed) return;
  primed = true;
  const now = new Date(2026, 11, 1);
  for (let round = 0; round < 2; round++) {
    const whole = new LogAggregator({ now, toDomain: 'domain.tld', samples: 1, since: round ? new Date(2026, 10, 28, 12) : undefined });
    feed(whole);
    const piece = new LogAggregator({ now, toDomain: 'domain.tld', samples: 1 }, { yearState: { year: 2026, lastMonth: 11 } });
    feed(piece);
    // through structured clones, as the states and partial aggregates cross from a worker
    const carried = structuredClone(piece.settle(structuredClone(whole.carriedStates()), round === 1));
    whole.merge(structuredClone(piece.exportPartial()));
    whole.adoptStates(carried);
    feed(whole);
    whole.report();
  }
}
