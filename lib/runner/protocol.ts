/**
 * The warm runner's wire format, on a unix stream socket: frames of a 4-byte big-endian length (of
 * the type byte and the payload), a type byte and the payload. Node core only: the client that
 * Terraform starts for every host loads this and nothing else of the library.
 *
 *   client → runner   R  request: JSON {build, argv, cwd, env} (env: the client's whole environment)
 *                     C  cancel: the signal name the client received (SIGINT, SIGTERM)
 *   runner → client   H  hello: JSON {build, pid}, first frame on every connection
 *                     A  accepted: the apply has started (from here the client never re-runs it itself)
 *                     N  refused: JSON {reason, retry} (build mismatch, bad request; retry: the runner's
 *                        working directory was replaced, it stops listening and a new one may start)
 *                     O  stdout bytes      E  stderr bytes
 *                     X  exit: JSON {code}, last frame
 */

export const FRAME_TYPES = ['R', 'C', 'H', 'A', 'N', 'O', 'E', 'X'] as const;
export type FrameType = (typeof FRAME_TYPES)[number];

export interface Frame {
  readonly type: FrameType;
  readonly payload: Buffer;
}

/** Larger than any environment (the kernel's ARG_MAX is 2 MiB) or bundle-sized output line. */
export const MAX_FRAME_BYTES = 16 * 1024 * 1024;

export class ProtocolError extends Error {}

export function encodeFrame(type: FrameType, payload: Buffer | string = ''): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  if (body.length + 1 > MAX_FRAME_BYTES) throw new ProtocolError(`frame ${type} of ${body.length} bytes is over ${MAX_FRAME_BYTES}`);
  const head = Buffer.alloc(5);
  head.writeUInt32BE(body.length + 1, 0);
  head.write(type, 4, 'latin1');
  return Buffer.concat([head, body]);
}

export const jsonFrame = (type: FrameType, value: unknown): Buffer => encodeFrame(type, JSON.stringify(value));

/**
 * Reassembles frames from a byte stream cut anywhere. push() returns the complete frames so far and
 * throws ProtocolError on a length out of range or an unknown type (the connection is then useless).
 */
export class FrameDecoder {
  private buffer: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
    const frames: Frame[] = [];
    while (this.buffer.length >= 4) {
      const length = this.buffer.readUInt32BE(0);
      if (length < 1 || length > MAX_FRAME_BYTES) throw new ProtocolError(`frame length ${length} out of range 1..${MAX_FRAME_BYTES}`);
      if (this.buffer.length < 4 + length) break;
      const type = String.fromCharCode(this.buffer[4]) as FrameType;
      if (!FRAME_TYPES.includes(type)) throw new ProtocolError(`unknown frame type 0x${this.buffer[4].toString(16)}`);
      frames.push({ type, payload: this.buffer.subarray(5, 4 + length) });
      this.buffer = this.buffer.subarray(4 + length);
    }
    return frames;
  }

  /** Bytes of an incomplete frame still waiting (a stream that ends with some is cut short). */
  get pending(): number {
    return this.buffer.length;
  }
}

/** A JSON payload that must be an object; ProtocolError otherwise. */
export function parseJsonFrame<T extends object>(frame: Frame): T {
  let value: unknown;
  try {
    value = JSON.parse(frame.payload.toString('utf8'));
  } catch (e) {
    throw new ProtocolError(`frame ${frame.type}: not JSON (${(e as Error).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new ProtocolError(`frame ${frame.type}: not a JSON object`);
  return value as T;
}

export interface RunRequest {
  readonly build: string;
  readonly argv: string[];
  readonly cwd: string;
  readonly env: Record<string, string>;
}

export interface Hello {
  readonly build: string;
  readonly pid: number;
}

/** A request frame's payload, checked field by field. */
export function parseRequest(frame: Frame): RunRequest {
  const r = parseJsonFrame<Partial<RunRequest>>(frame);
  if (typeof r.build !== 'string') throw new ProtocolError('request: build is not a string');
  if (!Array.isArray(r.argv) || r.argv.some((a) => typeof a !== 'string'))
    throw new ProtocolError('request: argv is not a list of strings');
  if (typeof r.cwd !== 'string' || !r.cwd.startsWith('/')) throw new ProtocolError('request: cwd is not an absolute path');
  if (typeof r.env !== 'object' || r.env === null || Object.values(r.env).some((v) => typeof v !== 'string'))
    throw new ProtocolError('request: env is not an object of strings');
  return { build: r.build, argv: r.argv, cwd: r.cwd, env: r.env };
}
