import { Socket } from 'net';

/**
 * A TCP socket to host:port, already connecting, that hands the kernel everything written to it in
 * one turn of the event loop as one writev. ssh2 writes each SSH packet in three pieces (length,
 * payload, then MAC or AEAD tag); with Nagle's algorithm off, as ssh.ts sets it for the handshake's
 * round trips, each piece would leave as its own TCP segment, one system call on this side and one
 * wake-up on the server's: a no-op apply wrote 217 pieces to the socket, one after another.
 */
export function connectPacketSocket(host: string, port: number): Socket {
  // connect() resets write to Socket.prototype.write (net.js), so it is wrapped after.
  const sock = new Socket().connect({ host, port });
  const write = sock.write.bind(sock) as (...args: unknown[]) => boolean;
  let corked = false;
  sock.write = (...args: unknown[]): boolean => {
    if (!corked) {
      corked = true;
      sock.cork();
      // Writes made while handling one event (a packet in, a timer) go out together.
      process.nextTick(() => {
        corked = false;
        sock.uncork();
      });
    }
    return write(...args);
  };
  return sock;
}
