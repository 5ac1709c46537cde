/**
 * The socket ssh2 writes through (lib/transport/packet-socket.ts), against a real TCP server on
 * loopback: what is written in one turn of the event loop reaches the kernel in one writev, in
 * order, and nothing waits past the turn. Every apply's SSH session runs through it (integration
 * tests); here the pieces are counted where the socket hands them to the kernel.
 */
import { AddressInfo, createServer, Server, Socket } from 'net';
import { connectPacketSocket } from '../../lib/transport/packet-socket';

let server: Server;
let received: Buffer[];
const open: Socket[] = [];
beforeEach(async () => {
  received = [];
  server = createServer((s) => (open.push(s), s.on('data', (d: Buffer) => received.push(d))));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
});
afterEach(async () => {
  for (const s of open.splice(0)) s.destroy();
  await new Promise<void>((r) => server.close(() => r()));
});

/** A connected packet socket whose hand-overs to the kernel are counted (one entry per system call). */
async function connected(): Promise<{ sock: Socket; handovers: number[] }> {
  const sock = connectPacketSocket('127.0.0.1', (server.address() as AddressInfo).port);
  open.push(sock);
  await new Promise((r) => sock.once('connect', r));
  sock.setNoDelay(true);
  const handovers: number[] = [];
  const s = sock as unknown as { _write: (...a: unknown[]) => void; _writev: (chunks: unknown[], cb: unknown) => void };
  const [write, writev] = [s._write.bind(sock), s._writev.bind(sock)];
  s._write = (...a) => (handovers.push(1), write(...a));
  s._writev = (chunks, cb) => (handovers.push(chunks.length), writev(chunks, cb));
  return { sock, handovers };
}

const bytesIn = async (n: number) => {
  for (let i = 0; i < 100 && Buffer.concat(received).length < n; i++) await new Promise((r) => setTimeout(r, 10));
  return Buffer.concat(received);
};

test('three pieces written in one turn (an SSH packet: length, payload, tag) go to the kernel as one writev, in order', async () => {
  const { sock, handovers } = await connected();
  const pieces = [Buffer.alloc(4, 1), Buffer.alloc(100, 2), Buffer.alloc(16, 3)];
  for (const p of pieces) sock.write(p);
  expect(handovers).toEqual([]); // held until the turn ends
  expect(await bytesIn(120)).toEqual(Buffer.concat(pieces));
  expect(handovers).toEqual([3]);
});

test('writes in different turns are not held for each other', async () => {
  const { sock, handovers } = await connected();
  sock.write(Buffer.from('a'));
  await new Promise((r) => setImmediate(r));
  expect(handovers).toEqual([1]);
  sock.write(Buffer.from('b'));
  expect((await bytesIn(2)).toString()).toBe('ab');
  expect(handovers).toEqual([1, 1]);
});
