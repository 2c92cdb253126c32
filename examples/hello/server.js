// The hello example app: what cutover deploys in the demo and the tests. A real HTTP server with
// a WebSocket echo, configured from the environment:
//   PORT (0 picks a free one), HOST (default 127.0.0.1), VERSION (release id shown in answers),
//   COLOR_NAME (the color it was started for, informational), INSTANCE (a name for this process),
//   HEALTHY (set to "false" to fail /healthz, for failed-deploy demos).
// Once listening it prints one JSON line `{"ready":true,"port":N,...}` on stdout, so a parent that
// passed PORT=0 learns the real port without racing for it.
// Routes: GET / -> JSON { version, color, instance, pid }; GET /healthz -> 200 "ok";
// GET /slow?ms=N -> answers after N ms (max 60 s); /ws -> WebSocket echo.
// SIGTERM / SIGINT: stop accepting, finish in-flight requests, close WebSockets with 1001, exit.
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';

const SHUTDOWN_DEADLINE_MS = 10_000;
const MAX_SLOW_MS = 60_000;

const version = process.env.VERSION ?? 'v0';
const color = process.env.COLOR_NAME ?? null;
const instance = process.env.INSTANCE ?? `pid-${process.pid}`;
const healthy = process.env.HEALTHY !== 'false';
const host = process.env.HOST ?? '127.0.0.1';
const port = Number(process.env.PORT ?? '3000');

if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  process.stderr.write(`hello: PORT must be a number from 0 to 65535, got "${process.env.PORT}"\n`);
  process.exit(2);
}

let stopping = false;

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  // While stopping, tell keep-alive clients to go elsewhere for their next request.
  if (stopping) res.setHeader('connection', 'close');
  if (url.pathname === '/healthz') {
    res.writeHead(healthy ? 200 : 503, { 'content-type': 'text/plain' });
    res.end(healthy ? 'ok\n' : 'unhealthy\n');
    return;
  }
  if (url.pathname === '/slow') {
    const ms = Math.min(
      Math.max(Number(url.searchParams.get('ms') ?? '1000') || 0, 0),
      MAX_SLOW_MS,
    );
    const timer = setTimeout(() => reply(res, { slowMs: ms }), ms);
    res.on('close', () => clearTimeout(timer));
    return;
  }
  if (url.pathname === '/') {
    // Drain the request body (POSTs in load tests) before answering.
    req.resume();
    req.on('end', () => reply(res, {}));
    return;
  }
  res.writeHead(404, { 'content-type': 'text/plain' });
  res.end('not found\n');
});

function reply(res, extra) {
  const body = JSON.stringify({ version, color, instance, pid: process.pid, ...extra });
  res.writeHead(200, { 'content-type': 'application/json', 'x-release': version });
  res.end(`${body}\n`);
}

// Longer than cutover's upstream idle timeout, so cutover closes idle connections first (DESIGN.md).
server.keepAliveTimeout = 65_000;

const sockets = new WebSocketServer({ server, path: '/ws' });
sockets.on('connection', (socket) => {
  socket.send(JSON.stringify({ version, color, instance }));
  socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
  socket.on('error', () => socket.terminate());
});

server.listen(port, host, () => {
  const address = server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : port;
  process.stdout.write(
    `${JSON.stringify({ ready: true, port: bound, host, version, color, instance })}\n`,
  );
});

function shutdown() {
  if (stopping) return;
  stopping = true;
  const deadline = setTimeout(() => process.exit(1), SHUTDOWN_DEADLINE_MS);
  deadline.unref();
  for (const socket of sockets.clients) socket.close(1001, 'server going away');
  server.close(() => process.exit(0));
  server.closeIdleConnections();
}

process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
