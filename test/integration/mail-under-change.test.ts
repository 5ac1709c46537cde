/**
 * Issue 12 item 8, mail under change: while a client sends 2,000 messages to a lab host, ten applies
 * run against it, one of which fails validation (postfix check) and is rolled back. Every message the
 * host accepted with 250 must end up in the mailbox or still be in the queue: none lost.
 *
 * Each message carries a sequence number (X-Under-Change header and Message-ID), so the counts are
 * exact: accepted (250 after DATA), delivered (found in /var/mail/root), queued (postcat of what
 * postqueue -j still lists), lost = accepted - delivered - queued. A message whose connection broke
 * after the final dot is "unconfirmed": not counted as accepted, allowed either way.
 *
 * The sender is paced by the applies' progress (about 200 messages per apply, a quarter of an
 * apply's share free as soon as it starts, the rest as it runs), so mail is in flight during every
 * apply rather than all before the first (a message counts for an apply when it was taken before
 * the apply ended and accepted after it began); four SMTP sessions, 100 messages each, then
 * a new connection (new connections meet the reloaded master). Wall time is about ten applies: 270 s
 * with the 2 cores at load 15 (applies took 17-32 s each), well under that on a quiet machine.
 */
import { readFileSync } from 'fs';
import * as net from 'net';
import { Lab, LabHost, startLab } from '../lab';
import { PostfixHost, Submission } from '../../index';
import { applyStack, labConnection, synthStack } from '../helpers/deploy';
import { replyReader } from '../helpers/smtp-client';

jest.setTimeout(600_000);

const TOTAL = Number(process.env.MAIL_UNDER_CHANGE_TOTAL ?? 2000);
const APPLIES = 10;
/** Which apply (0-based) carries the change that fails `postfix check`. */
const FAILING = 5;
const SESSIONS = 4;
const PER_SESSION = 100;
const RUN = `r${process.pid}`;

let lab: Lab;
beforeAll(async () => {
  lab = await startLab({ count: 1 });
}, 120_000);
afterAll(async () => {
  await lab?.stop();
});

interface SendTally {
  claimed: Map<number, number>; // seq -> time the sender took it (MAIL FROM follows)
  accepted: Map<number, number>; // seq -> time of the 250
  refused: string[];
  unconfirmed: number[];
}

/** How many messages the sender may have accepted or in flight now: TOTAL spread over the applies. */
type Allowance = () => number;

/** One SMTP session: up to PER_SESSION messages, each MAIL/RCPT/DATA, counting the 250 after the dot. */
async function session(h: LabHost, claim: () => number | undefined, tally: SendTally, inFlight: Set<number>): Promise<boolean> {
  const socket = net.connect(25, h.address);
  const next = replyReader(socket);
  const cmd = (line: string) => {
    socket.write(`${line}\r\n`);
    return next();
  };
  let seq: number | undefined;
  let dotSent = false;
  try {
    if (!(await next()).startsWith('220') || !(await cmd('EHLO client.lab.test')).startsWith('250')) return false;
    for (let n = 0; n < PER_SESSION && (seq = claim()) !== undefined; n++) {
      inFlight.add(seq);
      dotSent = false;
      const steps = [`MAIL FROM:<flow@lab.test>`, `RCPT TO:<root@${h.hostname}>`, 'DATA'];
      let reply = '';
      for (const step of steps) {
        reply = await cmd(step);
        if (!/^[23]/.test(reply)) break;
      }
      if (reply.startsWith('354')) {
        dotSent = true;
        reply = await cmd(message(seq));
      }
      const ok = dotSent && reply.startsWith('250');
      if (ok) tally.accepted.set(seq, Date.now());
      else tally.refused.push(`${seq}: ${reply}`);
      inFlight.delete(seq);
      seq = undefined;
      if (!ok) await cmd('RSET');
    }
    await cmd('QUIT').catch(() => '');
    return true;
  } catch {
    if (seq !== undefined) {
      if (dotSent) tally.unconfirmed.push(seq);
      inFlight.delete(seq);
    }
    return false;
  } finally {
    socket.destroy();
  }
}

function message(seq: number): string {
  return [
    `From: <flow@lab.test>`,
    `Message-ID: <${RUN}.${seq}@client.lab.test>`,
    `Subject: under change ${seq}`,
    `X-Under-Change: ${RUN} ${seq}`,
    '',
    `message ${seq}`,
    '.',
  ].join('\r\n');
}

/** Sends until TOTAL messages are accepted (or giveUpAt), never more accepted or in flight than `allowance`. */
async function sendAll(h: LabHost, allowance: Allowance, giveUpAt: () => number, tally: SendTally): Promise<void> {
  const inFlight = new Set<number>();
  let nextSeq = 0;
  const mayClaim = () => tally.accepted.size + inFlight.size < Math.min(TOTAL, allowance());
  const claim = () => {
    if (!mayClaim()) return undefined;
    tally.claimed.set(nextSeq, Date.now());
    return nextSeq++;
  };
  const worker = async () => {
    while (tally.accepted.size < TOTAL && Date.now() < giveUpAt()) {
      if (!mayClaim()) await sleep(20);
      else if (!(await session(h, claim, tally, inFlight))) await sleep(200); // refused or cut: back off a little
    }
  };
  await Promise.all(Array.from({ length: SESSIONS }, worker));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function sequenceNumbers(text: string): number[] {
  const re = new RegExp(`^X-Under-Change: ${RUN} (\\d+)$`, 'gm');
  return [...text.matchAll(re)].map((m) => Number(m[1]));
}

function delivered(h: LabHost): number[] {
  try {
    return sequenceNumbers(readFileSync(h.mailboxPath('root'), 'utf8'));
  } catch {
    return [];
  }
}

/** Sequence numbers of the messages still in the host's queue (postqueue -j, then postcat -h). */
async function queued(h: LabHost): Promise<number[]> {
  const ids = (await h.exec(['postqueue', '-j'])).stdout
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l).queue_id as string);
  const out: number[] = [];
  for (const id of ids) out.push(...sequenceNumbers((await h.exec(['postcat', '-h', '-q', id])).stdout));
  return out;
}

function stack(h: LabHost, settings: Record<string, string | number>, withSubmission: boolean): string {
  return synthStack((s) => {
    const host = new PostfixHost(s, 'mx', { connection: labConnection(h), settings });
    if (withSubmission) host.addService(Submission.starttls());
  });
}

test(`${TOTAL} messages while ${APPLIES} applies run (one rolled back): every accepted message is delivered or queued`, async () => {
  const h = lab.hosts[0];
  const t0 = Date.now();
  const good = [
    stack(h, { smtpd_banner: '$myhostname ESMTP change A', message_size_limit: 20_000_000, delay_warning_time: '1h' }, true),
    stack(h, { smtpd_banner: '$myhostname ESMTP change B', message_size_limit: 21_000_000 }, false),
  ];
  // Postfix refuses a queue_directory that does not exist: postfix check fails, nothing goes live.
  const bad = stack(h, { smtpd_banner: '$myhostname ESMTP never', queue_directory: '/nonexistent/queue' }, true);

  let done = 0;
  let current = Date.now();
  let finished = false;
  let finishedAt = 0;
  const allowance = () => {
    if (finished) return TOTAL;
    const average = done > 0 ? (current - t0) / done : 4000;
    return Math.floor((TOTAL * (done + Math.min(0.95, 0.25 + (Date.now() - current) / average))) / APPLIES);
  };
  const tally: SendTally = { claimed: new Map(), accepted: new Map(), refused: [], unconfirmed: [] };
  const sending = sendAll(h, allowance, () => (finished ? finishedAt + 120_000 : Infinity), tally);

  const windows: { start: number; end: number; result: string }[] = [];
  let goodApplies = 0;
  try {
    for (let i = 0; i < APPLIES; i++) {
      current = Date.now();
      const mainCfBefore = h.readFile('/etc/postfix/main.cf');
      const [r] = await applyStack(i === FAILING ? bad : good[goodApplies++ % 2]);
      windows.push({ start: current, end: Date.now(), result: r.result });
      if (i === FAILING) {
        expect(r.result).toBe('failed');
        expect(r.error).toMatch(/postfix check failed/);
        expect(h.readFile('/etc/postfix/main.cf')).toBe(mainCfBefore); // rolled back: nothing went live
      } else {
        expect([r.result, r.error]).toEqual(['applied', undefined]);
      }
      done++;
      process.stderr.write(
        `[${Date.now() - t0} ms] apply ${i}: ${r.result} in ${Date.now() - current} ms, ${tally.accepted.size} accepted so far\n`,
      );
    }
  } finally {
    finished = true; // the sender drains (within 2 minutes) even when an apply assertion fails
    finishedAt = Date.now();
  }
  const appliesMs = Date.now() - t0;
  await sending;
  const sendMs = Date.now() - t0;

  // Wait for local delivery to drain the queue (or stop changing), then count.
  const accepted = [...tally.accepted.keys()];
  let inMailbox = new Set<number>();
  for (const end = Date.now() + 90_000; Date.now() < end; await sleep(500)) {
    inMailbox = new Set(delivered(h));
    if (accepted.every((s) => inMailbox.has(s))) break;
  }
  const inQueue = new Set(await queued(h));
  const lost = accepted.filter((s) => !inMailbox.has(s) && !inQueue.has(s));
  const deliveredAccepted = accepted.filter((s) => inMailbox.has(s)).length;
  const queuedAccepted = accepted.filter((s) => !inMailbox.has(s) && inQueue.has(s)).length;
  const duplicates = delivered(h).length - inMailbox.size;
  // In flight during an apply: taken before it ended and accepted after it began. (With the
  // two-SIGHUP reload barrier, acceptance paused for 1-2 s during a reload, as long as a whole apply
  // takes: counting only the 250s inside each window made a short apply look idle.)
  const perApply = windows.map((w) => accepted.filter((s) => tally.claimed.get(s)! <= w.end && tally.accepted.get(s)! >= w.start).length);

  console.log(
    [
      `mail under change: accepted=${accepted.length} delivered=${deliveredAccepted} queued=${queuedAccepted} lost=${lost.length}`,
      `  refused=${tally.refused.length} unconfirmed=${tally.unconfirmed.length} duplicates=${duplicates}`,
      `  applies: ${windows.map((w) => w.result).join(',')} in ${appliesMs} ms; sending done at ${sendMs} ms; counted at ${Date.now() - t0} ms`,
      `  in flight during each apply (accepted): ${perApply.join(',')}`,
      ...tally.refused.slice(0, 5).map((r) => `  refused ${r}`),
    ].join('\n'),
  );

  expect(accepted.length).toBe(TOTAL);
  expect(lost).toEqual([]);
  expect(deliveredAccepted + queuedAccepted).toBe(TOTAL);
  expect(duplicates).toBe(0);
  expect(tally.refused).toEqual([]);
  // Mail really was in flight during every apply, the rolled-back one included.
  for (const n of perApply) expect(n).toBeGreaterThan(0);
});
