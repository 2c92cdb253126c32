// A tiny real app server for tests: node:http on 127.0.0.1 port 0, plus a WebSocket echo.
//
// Routes (every answer carries `x-upstream: <name>`):
//   GET  /                    200, body `<name>`
//   GET  /slow?ms=N           waits N ms, then 200 `<name>`
//   GET  /status?code=N       answers status N with body `<name>`
//   GET  /bytes?n=N&ms=M      N bytes of a deterministic pattern (see `patternBytes`), chunked:
//                             the first half at once, the second half M ms later (default 0)
//   GET  /sse?intervalMs=N    text/event-stream, one `data: <name> <i>` event every N ms, forever
//   ANY  /echo                200, JSON { name, method, url, headers (raw, flat), body }
//   ANY  /hang                never answers (until the server closes)
//   WS   any path             echoes every message; sends `<name>` first
import { createServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';

export interface UpstreamOptions {
  readonly name: string;
  /** Node's default is 5000; tests of the keep-alive race set it low. */
  readonly keepAliveTimeoutMs?: number;
  /** Binds this port instead of an ephemeral one (to restart an upstream on the same address). */
  readonly port?: number;
}

export interface Upstream {
  readonly name: string;
  /** `127.0.0.1:PORT`. */
  readonly address: string;
  readonly port: number;
  /** HTTP requests received (WebSocket upgrades included). */
  readonly requests: number;
  /** TCP connections accepted. */
  readonly connections: number;
  /** WebSockets currently open. */
  readonly websockets: number;
  /** Close codes received from clients, in order. */
  readonly websocketCloseCodes: readonly number[];
  close(): Promise<void>;
}

/** The deterministic body of `/bytes?n=N`: byte i is `i % 251`. */
export function patternBytes(n: number): Buffer {
  const out = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) out[i] = i % 251;
  return out;
}

function queryNumber(url: URL, name: string, fallback: number): number {
  const raw = url.searchParams.get(name);
  const value = raw === null ? NaN : Number(raw);
  return Number.isFinite(value) ? value : fallback;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export async function startUpstream(options: UpstreamOptions): Promise<Upstream> {
  const { name } = options;
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const closeCodes: number[] = [];
  let requests = 0;
  let connections = 0;

  function later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    requests++;
    const url = new URL(req.url ?? '/', 'http://upstream');
    res.setHeader('x-upstream', name);
    switch (url.pathname) {
      case '/slow':
        later(queryNumber(url, 'ms', 100), () => res.end(name));
        return;
      case '/status':
        res.statusCode = queryNumber(url, 'code', 200);
        res.end(name);
        return;
      case '/bytes': {
        const body = patternBytes(queryNumber(url, 'n', 1024));
        const half = Math.floor(body.length / 2);
        res.write(body.subarray(0, half));
        const ms = queryNumber(url, 'ms', 0);
        if (ms <= 0) res.end(body.subarray(half));
        else later(ms, () => res.end(body.subarray(half)));
        return;
      }
      case '/sse': {
        const intervalMs = queryNumber(url, 'intervalMs', 100);
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        let i = 0;
        const tick = (): void => {
          if (res.destroyed || res.writableEnded) return;
          res.write(`data: ${name} ${i++}\n\n`);
          later(intervalMs, tick);
        };
        tick();
        return;
      }
      case '/echo': {
        const body = await readBody(req);
        const json = JSON.stringify({
          name,
          method: req.method,
          url: req.url,
          headers: req.rawHeaders,
          body: body.toString('utf8'),
        });
        res.setHeader('content-type', 'application/json');
        res.end(json);
        return;
      }
      case '/hang':
        return;
      default:
        res.end(name);
    }
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  if (options.keepAliveTimeoutMs !== undefined)
    server.keepAliveTimeout = options.keepAliveTimeoutMs;
  server.on('connection', (socket: Socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });
  const open = new Set<WebSocket>();
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    requests++;
    wss.handleUpgrade(req, socket, head, (ws) => {
      open.add(ws);
      ws.on('close', (code) => {
        closeCodes.push(code);
        open.delete(ws);
      });
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
      ws.send(name);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: options.port ?? 0 }, resolve);
  });
  const bound = server.address();
  if (bound === null || typeof bound === 'string') throw new Error('upstream did not bind');
  const port = bound.port;

  return {
    name,
    address: `127.0.0.1:${port}`,
    port,
    get requests() {
      return requests;
    },
    get connections() {
      return connections;
    },
    get websockets() {
      return open.size;
    },
    get websocketCloseCodes() {
      return closeCodes;
    },
    async close() {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const ws of open) ws.terminate();
      wss.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
