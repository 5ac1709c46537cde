import * as net from 'net';

/** Read SMTP replies (multi-line aware) from a socket. */
export function replyReader(socket: net.Socket) {
  let buffer = '';
  const waiters: { resolve: (reply: string) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }[] = [];
  const replies: string[] = [];
  let closed = false;
  // A closed connection fails whoever still waits, and leaves no timer behind.
  socket.on('close', () => {
    closed = true;
    for (const w of waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(new Error('SMTP connection closed'));
    }
  });
  socket.on('error', () => undefined);
  socket.on('data', (d) => {
    buffer += d.toString('latin1');
    let m: RegExpExecArray | null;
    // A reply ends with a line "NNN text" (space after the code).
    while ((m = /^((?:\d{3}-[^\n]*\n)*\d{3}(?: [^\n]*)?\n)/.exec(buffer))) {
      buffer = buffer.slice(m[1].length);
      const reply = m[1].replace(/\r/g, '').trimEnd();
      const w = waiters.shift();
      if (w) {
        clearTimeout(w.timer);
        w.resolve(reply);
      } else replies.push(reply);
    }
  });
  return () =>
    new Promise<string>((resolve, reject) => {
      const queued = replies.shift();
      if (queued !== undefined) return resolve(queued);
      if (closed) return reject(new Error('SMTP connection closed'));
      const timer = setTimeout(() => {
        const i = waiters.findIndex((w) => w.timer === timer);
        if (i >= 0) waiters.splice(i, 1);
        reject(new Error('SMTP reply timeout'));
      }, 15000);
      waiters.push({ resolve, reject, timer });
    });
}

/** The 220 greeting of an SMTP server. */
export async function smtpGreeting(host: string, port = 25): Promise<string> {
  const socket = net.connect(port, host);
  const next = replyReader(socket);
  try {
    const greeting = await next();
    socket.write('QUIT\r\n');
    await next().catch(() => '');
    return greeting;
  } finally {
    socket.destroy();
  }
}

/** Send one message over plain SMTP; resolves with the final reply (e.g. "250 2.0.0 Ok: queued as ..."). */
export async function sendMail(host: string, from: string, to: string, body: string, port = 25): Promise<string> {
  const socket = net.connect(port, host);
  const next = replyReader(socket);
  const cmd = async (line: string) => {
    socket.write(line + '\r\n');
    return next();
  };
  try {
    const greeting = await next();
    if (!greeting.startsWith('220')) return greeting;
    for (const line of ['EHLO client.lab.test', `MAIL FROM:<${from}>`, `RCPT TO:<${to}>`, 'DATA']) {
      const r = await cmd(line);
      if (!/^[23]/.test(r)) return r;
    }
    const data = `From: <${from}>\r\nTo: <${to}>\r\nSubject: test\r\n\r\n${body.replace(/\n/g, '\r\n')}\r\n.`;
    const r = await cmd(data);
    await cmd('QUIT').catch(() => '');
    return r;
  } finally {
    socket.destroy();
  }
}
