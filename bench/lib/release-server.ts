// One instance of a release of the benchmark app, run as a child process:
//   node bench/lib/release-server.ts <release>
// Prints `listening <port>` once bound to 127.0.0.1 on an ephemeral port. Every response has
// `x-release: <release>`. Routes: `/` ok, `/slow?ms=&id=` a slow byte-exact body (odd ids wait
// before the head, even ids send the head and half the body first), and a WebSocket that greets
// with `release:<release>` then echoes.
import { createServer, type ServerResponse } from 'node:http';
import { WebSocketServer } from 'ws';
import { slowBody } from './release-body.ts';

const release = process.argv[2];
if (release === undefined || release === '') {
  process.stderr.write('usage: node bench/lib/release-server.ts <release>\n');
  process.exit(2);
}

const OK_BODY = Buffer.from(`ok ${release}\n`);

function slow(res: ServerResponse, ms: number, id: number): void {
  const body = slowBody(release ?? '', id);
  const headers = { 'x-release': release, 'content-length': body.length };
  if (id % 2 === 1) {
    setTimeout(() => {
      res.writeHead(200, headers);
      res.end(body);
    }, ms);
    return;
  }
  res.writeHead(200, headers);
  const half = Math.floor(body.length / 2);
  res.write(body.subarray(0, half));
  setTimeout(() => res.end(body.subarray(half)), ms);
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://release');
  if (url.pathname === '/slow') {
    slow(
      res,
      Number(url.searchParams.get('ms') ?? '2000'),
      Number(url.searchParams.get('id') ?? 0),
    );
    return;
  }
  res.writeHead(200, { 'x-release': release, 'content-length': OK_BODY.length });
  res.end(OK_BODY);
});

const sockets = new WebSocketServer({ server });
sockets.on('connection', (socket) => {
  socket.send(`release:${release}`);
  socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
});

server.listen({ host: '127.0.0.1', port: 0, backlog: 4096 }, () => {
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  process.stdout.write(`listening ${port}\n`);
});

process.on('SIGTERM', () => {
  for (const client of sockets.clients) client.terminate();
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
