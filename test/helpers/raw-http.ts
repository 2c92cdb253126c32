// Raw HTTP/1.1 over a net.Socket for security tests: send exact bytes (smuggling vectors, bare
// LF, obs-fold), read every byte of the reply with a deadline, and parse the responses without
// any leniency of our own. Also a raw upstream that counts every byte it receives, so a test can
// prove that a refused request reached no app.
import { connect, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';

export interface RawResponse {
  readonly status: number;
  readonly reason: string;
  /** Flat [name, value, ...] as received. */
  readonly rawHeaders: string[];
  readonly body: Buffer;
}

export interface RawReply {
  /** Every byte received, in order. */
  readonly bytes: Buffer;
  /** The responses parsed from `bytes`, 1xx included, in order. */
  readonly responses: RawResponse[];
  /** True when the peer closed the connection (FIN or reset) before the deadline. */
  readonly closed: boolean;
  /** True when the deadline passed with the connection still open. */
  readonly timedOut: boolean;
  /** Milliseconds from the first byte sent until the connection closed or the read ended. */
  readonly elapsedMs: number;
  /** Set when the bytes after the last parsed response are not a valid response. */
  readonly parseError: string | null;
}

export interface RawSendOptions {
  /** Give up after this long; bounded by default so no test hangs. */
  readonly timeoutMs?: number;
  /** Keep reading until the peer closes (or the deadline), even after a complete final response. */
  readonly untilClose?: boolean;
  /** Stop as soon as this many final (non-1xx) responses are complete. Default 1. */
  readonly finalResponses?: number;
  /** Delay between the parts when `data` is an array (slow clients). */
  readonly partDelayMs?: number;
  /** Half-close (send FIN) after the last part. */
  readonly halfClose?: boolean;
  /** Stop once nothing has arrived for this long after the last part was written. */
  readonly quietMs?: number;
}

/** Values of a header (case-insensitive) in a flat list. */
export function headerValues(rawHeaders: readonly string[], name: string): string[] {
  const lower = name.toLowerCase();
  const found: string[] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    if (rawHeaders[i]?.toLowerCase() === lower) found.push(rawHeaders[i + 1] ?? '');
  }
  return found;
}

interface ParseState {
  readonly responses: RawResponse[];
  /** Bytes after the last complete response. */
  readonly rest: Buffer;
  readonly error: string | null;
}

function parseChunked(buffer: Buffer, start: number): { body: Buffer; end: number } | null {
  const parts: Buffer[] = [];
  let at = start;
  for (;;) {
    const lineEnd = buffer.indexOf('\r\n', at, 'latin1');
    if (lineEnd < 0) return null;
    const size = parseInt(buffer.toString('latin1', at, lineEnd).split(';')[0] ?? '', 16);
    if (!Number.isFinite(size)) throw new Error('bad chunk size');
    at = lineEnd + 2;
    if (size === 0) {
      // Trailer section: lines until an empty one.
      for (;;) {
        const trailerEnd = buffer.indexOf('\r\n', at, 'latin1');
        if (trailerEnd < 0) return null;
        const empty = trailerEnd === at;
        at = trailerEnd + 2;
        if (empty) return { body: Buffer.concat(parts), end: at };
      }
    }
    if (buffer.length < at + size + 2) return null;
    parts.push(buffer.subarray(at, at + size));
    at += size + 2;
  }
}

/**
 * Parses complete responses from `buffer`. A response framed by the close of the connection
 * (no Content-Length, not chunked) is complete only when `closed`. `headRequest` marks a
 * response to HEAD (no body whatever the framing says).
 */
export function parseResponses(buffer: Buffer, closed: boolean, headRequest = false): ParseState {
  const responses: RawResponse[] = [];
  const cursor = { at: 0 };
  try {
    parseInto(buffer, closed, headRequest, responses, cursor);
  } catch (error) {
    return { responses, rest: buffer.subarray(cursor.at), error: (error as Error).message };
  }
  return { responses, rest: buffer.subarray(cursor.at), error: null };
}

function parseInto(
  buffer: Buffer,
  closed: boolean,
  headRequest: boolean,
  responses: RawResponse[],
  cursor: { at: number },
): void {
  let at = 0;
  while (at < buffer.length) {
    const headEnd = buffer.indexOf('\r\n\r\n', at, 'latin1');
    if (headEnd < 0) break;
    const lines = buffer.toString('latin1', at, headEnd).split('\r\n');
    const match = /^HTTP\/1\.[01] (\d{3}) ?(.*)$/.exec(lines[0] ?? '');
    if (match === null) throw new Error(`bad status line ${JSON.stringify(lines[0])}`);
    const status = Number(match[1]);
    const rawHeaders: string[] = [];
    for (const line of lines.slice(1)) {
      const colon = line.indexOf(':');
      rawHeaders.push(line.slice(0, colon), line.slice(colon + 1).trim());
    }
    const bodyStart = headEnd + 4;
    const length = headerValues(rawHeaders, 'content-length')[0];
    const chunked = headerValues(rawHeaders, 'transfer-encoding').some((v) => /chunked/i.test(v));
    let body: Buffer;
    let end: number;
    if ((status >= 100 && status < 200) || status === 204 || status === 304 || headRequest) {
      body = Buffer.alloc(0);
      end = bodyStart;
    } else if (chunked) {
      const parsed = parseChunked(buffer, bodyStart);
      if (parsed === null) break;
      ({ body, end } = parsed);
    } else if (length !== undefined) {
      end = bodyStart + Number(length);
      if (buffer.length < end) break;
      body = buffer.subarray(bodyStart, end);
    } else {
      if (!closed) break;
      end = buffer.length;
      body = buffer.subarray(bodyStart);
    }
    responses.push({ status, reason: match[2] ?? '', rawHeaders, body });
    at = end;
    cursor.at = at;
  }
}

function finalCount(responses: readonly RawResponse[]): number {
  return responses.filter((r) => r.status >= 200).length;
}

/**
 * Opens a connection to 127.0.0.1:port, writes `data` (parts spaced by `partDelayMs`), and
 * reads until the reply is complete, the peer closes, or the deadline passes.
 */
export function sendRaw(
  port: number,
  data: string | Buffer | readonly (string | Buffer)[],
  options: RawSendOptions = {},
): Promise<RawReply> {
  const timeoutMs = options.timeoutMs ?? 3000;
  const wanted = options.finalResponses ?? 1;
  const parts = typeof data === 'string' || Buffer.isBuffer(data) ? [data] : data;
  const head = parts.map((p) => (typeof p === 'string' ? p : p.toString('latin1'))).join('');
  const headRequest = head.startsWith('HEAD ');
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const started = Date.now();
    let closed = false;
    let done = false;
    const timers: NodeJS.Timeout[] = [];
    const socket: Socket = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    const finish = (timedOut: boolean): void => {
      if (done) return;
      done = true;
      for (const timer of timers) clearTimeout(timer);
      socket.destroy();
      const bytes = Buffer.concat(chunks);
      const parsed = parseResponses(bytes, closed, headRequest);
      resolve({
        bytes,
        responses: parsed.responses,
        closed,
        timedOut,
        elapsedMs: Date.now() - started,
        parseError: parsed.error,
      });
    };
    timers.push(setTimeout(() => finish(true), timeoutMs));
    let quiet: NodeJS.Timeout | undefined;
    const armQuiet = (): void => {
      if (options.quietMs === undefined || done) return;
      if (quiet !== undefined) clearTimeout(quiet);
      quiet = setTimeout(() => finish(false), options.quietMs);
      timers.push(quiet);
    };
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      armQuiet();
      if (options.untilClose === true) return;
      const parsed = parseResponses(Buffer.concat(chunks), false, headRequest);
      if (parsed.error !== null || finalCount(parsed.responses) >= wanted) finish(false);
    });
    socket.on('error', () => {
      closed = true;
      finish(false);
    });
    socket.on('end', () => {
      closed = true;
      finish(false);
    });
    socket.on('connect', () => {
      let delay = 0;
      for (const part of parts) {
        const write = (): void => {
          if (!done && !socket.destroyed) socket.write(part);
        };
        if (delay === 0) write();
        else timers.push(setTimeout(write, delay));
        delay += options.partDelayMs ?? 0;
      }
      timers.push(setTimeout(armQuiet, delay));
      if (options.halfClose === true) {
        const end = (): void => {
          if (!done && !socket.destroyed) socket.end();
        };
        if (delay === 0) end();
        else timers.push(setTimeout(end, delay));
      }
    });
  });
}

/** Splits a string into one-byte parts (for a slowloris client). */
export function bytewise(text: string): string[] {
  return [...Buffer.from(text, 'latin1')].map((byte) => String.fromCharCode(byte));
}

export interface RawUpstream {
  readonly address: string;
  readonly port: number;
  /** Bytes received on every connection, ever. */
  readonly bytesReceived: number;
  readonly connections: number;
  /** Everything received, as latin1 text, per connection. */
  readonly received: readonly string[];
  close(): Promise<void>;
}

export interface RawUpstreamOptions {
  /**
   * The bytes to answer each request head with (a request's end is its CRLF CRLF; bodies of
   * these tests are empty or Content-Length framed). Default: a 200 with body `ok`, and no
   * answer at all to a chunked request, whose body this upstream does not parse. An empty
   * answer writes nothing.
   */
  readonly reply?: (head: string) => string | Buffer;
  /** Close the connection after each answer (a close-delimited or truncated response ends). */
  readonly closeAfterReply?: boolean;
}

/** A TCP upstream on 127.0.0.1:0 that counts bytes and answers scripted raw responses. */
export async function startRawUpstream(options: RawUpstreamOptions = {}): Promise<RawUpstream> {
  const reply =
    options.reply ??
    ((head: string): string =>
      /\r\ntransfer-encoding:/i.test(head)
        ? ''
        : 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Upstream: raw\r\n\r\nok');
  const sockets = new Set<Socket>();
  const received: string[] = [];
  let bytesReceived = 0;
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    const index = received.push('') - 1;
    let pending = '';
    socket.on('data', (chunk: Buffer) => {
      bytesReceived += chunk.length;
      const text = chunk.toString('latin1');
      received[index] += text;
      pending += text;
      for (;;) {
        const end = pending.indexOf('\r\n\r\n');
        if (end < 0) break;
        const head = pending.slice(0, end + 4);
        pending = pending.slice(end + 4);
        const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
        if (length !== null) pending = pending.slice(Number(length[1]));
        const answer = reply(head);
        if (answer.length > 0) socket.write(answer);
        if (options.closeAfterReply === true) {
          socket.end();
          return;
        }
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, resolve);
  });
  const bound = server.address();
  if (bound === null || typeof bound === 'string') throw new Error('raw upstream did not bind');
  return {
    address: `127.0.0.1:${bound.port}`,
    port: bound.port,
    get bytesReceived() {
      return bytesReceived;
    },
    get connections() {
      return received.length;
    },
    received,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
