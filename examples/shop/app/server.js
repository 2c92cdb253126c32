// The shop example app, shared by every release in examples/shop/vN: a small catalog over HTTP
// with a WebSocket echo. Each release's cutover.yaml starts this one file with its own env:
//   PORT (0 picks a free one), HOST (default 127.0.0.1),
//   SHOP_VERSION (the release shown in answers; else CUTOVER_RELEASE, else RELEASE, else v0),
//   SHOP_MESSAGE (a line shown on /, so a new release is visibly different),
//   SHOP_FAULT: none (default) | broken-catalog | fails-under-traffic,
//   SHOP_FAIL_AFTER_REQUESTS (for fails-under-traffic: requests answered before the 500s; 15),
//   SHOP_ERROR_RATE (0..1, default 0: that share of the requests other than /healthz answer 500,
//     spread evenly: with 0.05 every 20th request of each instance; health checks stay 200),
//   DATABASE_URL (sqlite:<path>: the catalog and orders live in that SQLite file, whose tables
//     the release's migrations make; unset: in memory, as before),
//   SHOP_ORDER_COLUMNS (with a database: the orders columns this release's code knows; it
//     writes and reads only those; default customer,items,total_cents,created_at).
// Faults, so the demo can show cutover refusing bad releases:
//   broken-catalog: /healthz and / are fine but /api/products answers 500, so a smoke check on
//     the catalog fails before the flip.
//   fails-under-traffic: everything is fine for the first SHOP_FAIL_AFTER_REQUESTS requests
//     (health checks not counted), enough for smoke checks and warm-up; after that / and /api/*
//     answer 500, so the switch window's probes fail and cutover rolls back.
// Once listening it prints one JSON line `{"ready":true,"port":N,...}` on stdout.
// Routes: GET /healthz -> 200 "ok"; GET / -> { app, version, message, color, instance, pid };
// GET /api/products -> { version, count, products }; GET /api/products/:id -> one product;
// POST /api/orders (a JSON body up to 16 KiB; an empty body is {}: a guest order of nothing, so a
// bodiless smoke check can place one) -> 201 { version, order }; GET /api/orders -> { version,
// count, orders } (the latest 50); /ws -> WebSocket: a hello message, then echo. A database
// error answers 500 with its message (a migration the release does not expect shows up there).
// SIGTERM / SIGINT: stop accepting, finish in-flight requests, close WebSockets with 1001, exit.
import { createServer } from 'node:http';
import { WebSocketServer } from 'ws';
import {
  OrderError,
  createMemoryStore,
  createSqliteStore,
  parseOrderColumns,
} from './order-store.js';

const SHUTDOWN_DEADLINE_MS = 10_000;
const MAX_ORDER_BYTES = 16 * 1024;
const DEFAULT_FAIL_AFTER_REQUESTS = 15;
const FAULTS = new Set(['none', 'broken-catalog', 'fails-under-traffic']);

const env = process.env;
const version = env.SHOP_VERSION ?? env.CUTOVER_RELEASE ?? env.RELEASE ?? 'v0';
const message = env.SHOP_MESSAGE ?? `shop ${version}`;
const fault = env.SHOP_FAULT ?? 'none';
const failAfter = Number(env.SHOP_FAIL_AFTER_REQUESTS ?? DEFAULT_FAIL_AFTER_REQUESTS);
const errorRate = Number(env.SHOP_ERROR_RATE ?? '0');
const color = env.CUTOVER_COLOR ?? null;
const instance = env.CUTOVER_INSTANCE ?? `pid-${process.pid}`;
const host = env.HOST ?? '127.0.0.1';
const port = Number(env.PORT ?? '3000');

/** Whether the `count`th request answers 500: each time count x rate passes a whole number. */
function injectsError(count) {
  return errorRate > 0 && Math.floor(count * errorRate) > Math.floor((count - 1) * errorRate);
}

function refuse(text) {
  process.stderr.write(`shop: ${text}\n`);
  process.exit(2);
}
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  refuse(`PORT must be a number from 0 to 65535, got "${env.PORT}"`);
}
if (!FAULTS.has(fault)) {
  refuse(`SHOP_FAULT must be one of ${[...FAULTS].join(', ')}, got "${fault}"`);
}
if (!Number.isFinite(errorRate) || errorRate < 0 || errorRate > 1) {
  refuse(`SHOP_ERROR_RATE must be a share from 0 to 1 (0.05 is 5 %), got "${env.SHOP_ERROR_RATE}"`);
}
if (!Number.isInteger(failAfter) || failAfter < 0) {
  refuse(`SHOP_FAIL_AFTER_REQUESTS must be a whole number, got "${env.SHOP_FAIL_AFTER_REQUESTS}"`);
}

let orderColumns = [];
try {
  orderColumns = parseOrderColumns(env.SHOP_ORDER_COLUMNS);
} catch (error) {
  refuse(error.message);
}
let store;
try {
  store =
    env.DATABASE_URL === undefined || env.DATABASE_URL === ''
      ? createMemoryStore(instance)
      : await createSqliteStore(env.DATABASE_URL, orderColumns);
} catch (error) {
  refuse(`cannot open DATABASE_URL: ${error.message}`);
}

let stopping = false;
let served = 0;

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  // While stopping, tell keep-alive clients to go elsewhere for their next request.
  if (stopping) res.setHeader('connection', 'close');
  if (url.pathname === '/api/orders' && req.method === 'POST') {
    takeOrder(req, res);
    return;
  }
  // Drain any request body before answering.
  req.resume();
  if (url.pathname === '/healthz') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok\n');
    return;
  }
  served += 1;
  if (fault === 'fails-under-traffic' && served > failAfter) {
    json(res, 500, { error: 'out of database connections', version });
    return;
  }
  if (injectsError(served)) {
    json(res, 500, { error: 'injected error (SHOP_ERROR_RATE)', version });
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    json(res, 405, { error: 'only GET is supported', version });
    return;
  }
  if (url.pathname === '/') {
    json(res, 200, { app: 'shop', version, message, color, instance, pid: process.pid });
    return;
  }
  if (url.pathname === '/api/orders') {
    answerFromStore(res, () => {
      const orders = store.listOrders();
      return { version, count: orders.length, orders };
    });
    return;
  }
  const match = /^\/api\/products(?:\/([a-z0-9-]+))?$/.exec(url.pathname);
  if (match !== null && fault === 'broken-catalog') {
    json(res, 500, { error: 'catalog unavailable', version });
    return;
  }
  if (match !== null && match[1] === undefined) {
    answerFromStore(res, () => {
      const products = store.listProducts();
      return { version, count: products.length, products };
    });
    return;
  }
  if (match !== null) {
    answerFromStore(res, () => {
      const product = store.listProducts().find((item) => item.id === match[1]);
      return product === undefined ? null : { version, product };
    });
    return;
  }
  json(res, 404, { error: `no such page: ${url.pathname}`, version });
});

// Answers 200 with what `read` returns (404 for null); a database error is a 500 naming it.
function answerFromStore(res, read) {
  let body;
  try {
    body = read();
  } catch (error) {
    json(res, 500, { error: `database error: ${error.message}`, version });
    return;
  }
  if (body === null) json(res, 404, { error: 'no such product', version });
  else json(res, 200, body);
}

// An order: the body must be JSON; the answer echoes it with an id. Counted like any request,
// so a release that fails under traffic fails its orders too.
function takeOrder(req, res) {
  const chunks = [];
  let size = 0;
  req.on('data', (chunk) => {
    size += chunk.length;
    if (size <= MAX_ORDER_BYTES) chunks.push(chunk);
  });
  req.on('end', () => {
    served += 1;
    if (fault === 'fails-under-traffic' && served > failAfter) {
      json(res, 500, { error: 'out of database connections', version });
      return;
    }
    if (injectsError(served)) {
      json(res, 500, { error: 'injected error (SHOP_ERROR_RATE)', version });
      return;
    }
    if (size > MAX_ORDER_BYTES) {
      json(res, 413, { error: `an order is at most ${MAX_ORDER_BYTES} bytes`, version });
      return;
    }
    let body;
    try {
      const text = Buffer.concat(chunks).toString('utf8');
      body = text.trim() === '' ? {} : JSON.parse(text);
    } catch {
      json(res, 400, { error: 'an order must be a JSON body', version });
      return;
    }
    let order;
    try {
      order = store.placeOrder(body);
    } catch (error) {
      const status = error instanceof OrderError ? 400 : 500;
      const prefix = status === 400 ? '' : 'could not save the order: ';
      json(res, status, { error: `${prefix}${error.message}`, version });
      return;
    }
    json(res, 201, { version, order });
  });
}

function json(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json', 'x-release': version });
  res.end(`${JSON.stringify(body)}\n`);
}

// Longer than cutover's upstream idle timeout, so cutover closes idle connections first (DESIGN.md).
server.keepAliveTimeout = 65_000;

const sockets = new WebSocketServer({ server, path: '/ws' });
sockets.on('connection', (socket) => {
  socket.send(JSON.stringify({ app: 'shop', version, color, instance }));
  socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
  socket.on('error', () => socket.terminate());
});

server.listen(port, host, () => {
  const address = server.address();
  const bound = typeof address === 'object' && address !== null ? address.port : port;
  process.stdout.write(
    `${JSON.stringify({ ready: true, port: bound, host, app: 'shop', version, fault, instance })}\n`,
  );
});

function shutdown() {
  if (stopping) return;
  stopping = true;
  const deadline = setTimeout(() => process.exit(1), SHUTDOWN_DEADLINE_MS);
  deadline.unref();
  for (const socket of sockets.clients) socket.close(1001, 'server going away');
  server.close(() => {
    store.close();
    process.exit(0);
  });
  server.closeIdleConnections();
}

process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
