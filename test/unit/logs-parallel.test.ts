import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as zlib from 'zlib';
import { LogReport, LogReportOptions, analyzeLogs, planSegments } from '../../lib/ops/logs';

const NOW = new Date(2027, 0, 20, 12, 0, 0);
let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'logs-par-'));
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const MON = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const p2 = (n: number) => (n < 10 ? '0' : '') + n;

/**
 * A log whose messages straddle any cut: deferred messages retried much later, a queue ID reused
 * (once after its removal, once while an earlier message with it is still queued), senders logged
 * again on every retry, deliveries without a sender line, NOQUEUE rejects, foreign and garbage
 * lines. `form`: 'iso' (RFC 3339), 'syslog' (year-less, crossing New Year), or 'mixed'.
 */
function makeLog(seed: number, messages: number, form: 'iso' | 'syslog' | 'mixed', start: number): string {
  const r = rng(seed);
  let t = start;
  const stamp = (): string => {
    t += 1000 + Math.floor(r() * 20000);
    const d = new Date(t);
    const iso = form === 'iso' || (form === 'mixed' && r() < 0.5);
    if (iso) {
      return `${d.getFullYear()}-${p2(d.getMonth() + 1)}-${p2(d.getDate())}T${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}.${String(Math.floor(r() * 1e6)).padStart(6, '0')}+00:00`;
    }
    return `${MON[d.getMonth()]} ${d.getDate() < 10 ? ' ' : ''}${d.getDate()} ${p2(d.getHours())}:${p2(d.getMinutes())}:${p2(d.getSeconds())}`;
  };
  const out: string[] = [];
  const emit = (prog: string, msg: string) => out.push(`${stamp()} mx postfix/${prog}[${100 + (out.length % 50)}]: ${msg}`);
  const pending: Array<{ q: string; rcpt: string; from: string; size: number; due: number; tries: number }> = [];
  let qn = 0xa0000;
  for (let i = 0; i < messages; i++) {
    while (pending.length > 0 && pending[0].due <= i) {
      const m = pending.shift()!;
      emit('qmgr', `${m.q}: from=<${m.from}>, size=${m.size}, nrcpt=1 (queue active)`);
      if (m.tries < 3 && r() < 0.5) {
        m.tries++;
        emit(
          'smtp',
          `${m.q}: to=<${m.rcpt}>, relay=none, delay=${m.tries * 60}, dsn=4.4.1, status=deferred (connect to mx.far.example[192.0.2.7]:25: Connection timed out)`,
        );
        m.due = i + 5 + Math.floor(r() * 40);
        pending.push(m);
        pending.sort((a, b) => a.due - b.due);
      } else {
        emit(
          'smtp',
          `${m.q}: to=<${m.rcpt}>, relay=mx.far.example[192.0.2.7]:25, delay=${m.tries * 60 + 0.25}, dsn=2.0.0, status=sent (250 ok)`,
        );
        emit('qmgr', `${m.q}: removed`);
      }
    }
    const k = r();
    if (k < 0.05) {
      emit(
        'smtpd',
        `NOQUEUE: reject: RCPT from c${i % 7}.client.example[198.51.100.${i % 200}]: 554 5.7.1 <x@far${i % 5}.example>: Relay access denied; from=<s@spam.example> to=<x@far${i % 5}.example> proto=ESMTP helo=<h>`,
      );
      continue;
    }
    if (k < 0.06) {
      out.push(`${stamp()} mx dovecot: imap-login: Login: user=<u${i % 9}>`);
      continue;
    }
    if (k < 0.065) {
      out.push(`garbage ${i}`);
      continue;
    }
    // every 97th message reuses the previous queue ID (after its removal or while it is queued)
    const q = i % 97 === 0 && i > 0 ? qn.toString(16).toUpperCase() : (qn += 3).toString(16).toUpperCase();
    const from = r() < 0.1 ? '' : `s${Math.floor(r() * 30)}@Dom${Math.floor(r() * 6)}.Example`;
    const size = 100 + Math.floor(r() * 5000);
    if (r() < 0.15) emit('pickup', `${q}: uid=1000 from=<${from || 'root'}>`);
    else emit('smtpd', `${q}: client=c${i % 7}.client${i % 3}.example[198.51.100.${i % 200}]`);
    emit('cleanup', `${q}: message-id=<${i}@x>`);
    emit('qmgr', `${q}: from=<${from}>, size=${size}, nrcpt=1 (queue active)`);
    const o = r();
    const rcpt = `u${Math.floor(r() * 40)}@d${Math.floor(r() * 5)}.example`;
    if (o < 0.15) {
      emit(
        'smtp',
        `${q}: to=<${rcpt}>, relay=none, delay=1, dsn=4.4.1, status=deferred (connect to mx.far.example[192.0.2.7]:25: Connection refused)`,
      );
      pending.push({ q, rcpt, from, size, due: i + 10 + Math.floor(r() * 60), tries: 1 });
      pending.sort((a, b) => a.due - b.due);
      continue;
    }
    if (o < 0.25) emit('local', `${q}: to=<${rcpt}>, relay=local, delay=0.1, dsn=5.1.1, status=bounced (unknown user: "u")`);
    else emit('local', `${q}: to=<${rcpt}>, relay=local, delay=0.${Math.floor(r() * 9)}, dsn=2.0.0, status=sent (delivered to mailbox)`);
    if (r() < 0.97) emit('qmgr', `${q}: removed`);
  }
  return out.join('\n') + '\n';
}

function write(name: string, text: string): string {
  const p = path.join(tmp, name);
  fs.writeFileSync(p, text);
  return p;
}

async function both(files: string[], options: LogReportOptions, workers: number, segmentBytes?: number): Promise<[LogReport, LogReport]> {
  const seq = await analyzeLogs(files, { ...options, parallel: { workers: 1 } });
  const par = await analyzeLogs(files, { ...options, parallel: { workers, inline: true, minBytes: 0, segmentBytes } });
  return [seq, par];
}

describe('parallel reading (split, settle, merge) equals sequential reading', () => {
  const forms: Array<['iso' | 'syslog' | 'mixed', number]> = [
    ['iso', 1],
    ['syslog', 2],
    ['mixed', 3],
  ];
  for (const [form, seed] of forms) {
    it(`on a ${form} log cut into 2..7 pieces`, async () => {
      // starts in late December: year-less stamps cross New Year
      const file = write(`${form}.log`, makeLog(seed, 3000, form, new Date(2026, 11, 28).getTime()));
      for (const workers of [2, 3, 5, 7]) {
        const [seq, par] = await both([file], { now: NOW, top: 0, toDomain: 'd1.example' }, workers);
        expect(par).toEqual(seq);
      }
      const [seq] = await both([file], { now: NOW }, 2);
      expect(seq.grandTotals.received).toBeGreaterThan(2000);
      expect(seq.grandTotals.deferred).toBeGreaterThan(100);
      expect(seq.unparsed.unrecognisedPostfix.count).toBe(0);
    });
  }

  it('when the pieces are read in rounds (segments capped in size: the calling thread continues the merged log)', async () => {
    const file = write('rounds.log', makeLog(5, 3000, 'mixed', new Date(2026, 11, 28).getTime()));
    const size = fs.statSync(file).size;
    for (const workers of [2, 3]) {
      const segs = planSegments([file], workers, 0, { now: NOW }, Math.ceil(size / (4 * workers)))!;
      expect(segs.length).toBe(4 * workers);
      const [seq, par] = await both([file], { now: NOW, toDomain: 'd1.example' }, workers, Math.ceil(size / (4 * workers)));
      expect(par).toEqual(seq);
    }
  });

  it('with since/until, several files, a last line without a newline and CRLF line ends', async () => {
    const a = write('m.log.1', makeLog(7, 800, 'syslog', new Date(2026, 11, 20).getTime()));
    const text = makeLog(8, 800, 'syslog', new Date(2026, 11, 31).getTime()).replace(/\n/g, '\r\n');
    const b = write('m.log', text.slice(0, -2));
    const empty = write('m.log.0', '');
    const options: LogReportOptions = { now: NOW, since: new Date(2026, 11, 22), until: new Date(2027, 0, 2), samples: 3 };
    for (const workers of [2, 4, 6]) {
      const [seq, par] = await both([b, empty, a], options, workers);
      expect(par).toEqual(seq);
      expect(seq.input.outsideWindow).toBeGreaterThan(0);
    }
  });

  it('when the year guessed for a piece is wrong (it is read again from the right state)', async () => {
    // January lines, then a year-less December line near the cut: the guess from the stamp
    // before the cut says "December of the first year", the log really is in the next one
    const lines: string[] = [];
    for (let i = 0; i < 400; i++) lines.push(`Jan  5 10:00:${p2(i % 60)} mx postfix/smtpd[1]: connect from a[192.0.2.1]`);
    for (let i = 0; i < 400; i++) lines.push(`Dec 31 10:00:${p2(i % 60)} mx postfix/smtpd[1]: connect from a[192.0.2.1]`);
    for (let i = 0; i < 400; i++) lines.push(`Jan  1 10:00:${p2(i % 60)} mx postfix/smtpd[1]: connect from a[192.0.2.1]`);
    const file = write('wrap.log', lines.join('\n') + '\n');
    for (const workers of [2, 3, 4]) {
      const [seq, par] = await both([file], { now: NOW }, workers);
      expect(par).toEqual(seq);
    }
  });
});

describe('planSegments', () => {
  it('cuts at line starts, covers every byte once, and declines what it cannot split', () => {
    const text = makeLog(11, 500, 'iso', Date.UTC(2026, 10, 1));
    const file = write('plan.log', text);
    const segs = planSegments([file], 4, 0, { now: NOW })!;
    expect(segs.length).toBe(4);
    let at = 0;
    for (const s of segs) {
      for (const piece of s.pieces) {
        expect(piece.start).toBe(at);
        expect(piece.start === 0 || text[piece.start - 1] === '\n').toBe(true);
        at = piece.end;
      }
    }
    expect(at).toBe(Buffer.byteLength(text));
    expect(segs[0].entry).toBeNull();
    expect(segs[1].entry).toEqual({ year: 2026, lastMonth: 11 });
    expect(planSegments([file], 1, 0)).toBeNull();
    expect(planSegments([file], 4, 1 << 30)).toBeNull();
    expect(planSegments(['-'], 4, 0)).toBeNull();
    const gz = path.join(tmp, 'plan.log.gz');
    fs.writeFileSync(gz, zlib.gzipSync(Buffer.from(text)));
    expect(planSegments([gz], 4, 0)).toBeNull();
  });
});
