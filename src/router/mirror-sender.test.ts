import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { ColorLoad } from './color-load.ts';
import { MIRROR_MAX_INFLIGHT, MirrorBody, MirrorSender } from './mirror-sender.ts';

const MIRROR = { color: 'green' as const, maxPerSecond: 10, maxBodyBytes: 1024 };

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

/** A collector whose outcome is recorded: the body sent, or 'cancelled'. */
function collector(
  maxBytes: number,
  length: number | null,
): { body: MirrorBody; outcomes: (string | Buffer)[] } {
  const outcomes: (string | Buffer)[] = [];
  const body = new MirrorBody(
    maxBytes,
    length,
    (bytes) => outcomes.push(bytes),
    () => outcomes.push('cancelled'),
  );
  return { body, outcomes };
}

describe('MirrorBody', () => {
  it('sends a chunked body once it ends, as one buffer of the bytes added', () => {
    const { body, outcomes } = collector(10, null);
    body.add(Buffer.from('abc'));
    body.add(Buffer.alloc(0));
    body.add(Buffer.from('defg'));
    assert.deepEqual(outcomes, []);
    body.end();
    assert.deepEqual(outcomes, [Buffer.from('abcdefg')]);
    assert.equal(body.settled, true);
    body.cancel();
    body.end();
    assert.equal(outcomes.length, 1, 'it settles once');
  });

  it('owns its bytes: a buffer reused by the connection does not change the copy', () => {
    const { body, outcomes } = collector(10, 4);
    const reused = Buffer.from('abcd');
    body.add(reused.subarray(0, 2));
    reused.write('XY', 0);
    body.add(reused.subarray(2));
    body.end();
    assert.deepEqual(outcomes, [Buffer.from('abcd')]);
  });

  it('sends an empty chunked body as an empty buffer', () => {
    const { body, outcomes } = collector(10, null);
    body.end();
    assert.deepEqual(outcomes, [Buffer.alloc(0)]);
  });

  it('sends a body of exactly maxBytes, and cancels at the first byte past it', () => {
    const exact = collector(6, null);
    exact.body.add(Buffer.from('abc'));
    exact.body.add(Buffer.from('def'));
    exact.body.end();
    assert.deepEqual(exact.outcomes, [Buffer.from('abcdef')]);
    const over = collector(6, null);
    over.body.add(Buffer.from('abcd'));
    over.body.add(Buffer.from('efg'));
    assert.deepEqual(over.outcomes, ['cancelled'], 'cancelled before the body ends');
    over.body.add(Buffer.from('h'));
    over.body.end();
    assert.deepEqual(over.outcomes, ['cancelled']);
  });

  it('cancels a Content-Length body that ends short or runs long', () => {
    const short = collector(100, 5);
    short.body.add(Buffer.from('abcd'));
    short.body.end();
    assert.deepEqual(short.outcomes, ['cancelled']);
    const long = collector(100, 5);
    long.body.add(Buffer.from('abcdef'));
    assert.deepEqual(long.outcomes, ['cancelled']);
  });

  it('holds a chunked body in memory of about its size, however small its chunks', () => {
    // 1-byte chunks: what a client gets by sending `1\r\nX\r\n` 64 Ki times (64 copies wait
    // at once per worker).
    const maxBytes = 64 * 1024;
    const wire = Buffer.alloc(maxBytes, 0x61);
    const copies = 8;
    const held: MirrorBody[] = [];
    collectGarbage();
    const before = process.memoryUsage();
    for (let i = 0; i < copies; i++) {
      const { body } = collector(maxBytes, null);
      for (let at = 0; at < maxBytes; at++) body.add(wire.subarray(at, at + 1));
      held.push(body);
    }
    collectGarbage();
    const after = process.memoryUsage();
    const perCopy =
      (after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers) / copies;
    assert.ok(perCopy < 4 * maxBytes, `${Math.round(perCopy / 1024)} KiB held per 64 KiB body`);
    for (const body of held) body.end();
  });

  it('cancels when the live exchange ends before the body', () => {
    const { body, outcomes } = collector(100, null);
    body.add(Buffer.from('abc'));
    body.cancel();
    body.end();
    assert.deepEqual(outcomes, ['cancelled']);
  });
});

describe('MirrorSender bounds', () => {
  it('admits maxPerSecond copies at once, then refills at that rate', () => {
    let now = 0;
    const sender = new MirrorSender({
      connectTimeoutMs: 1000,
      idleTimeoutMs: 1000,
      now: () => now,
    });
    const load = new ColorLoad('shop', 'green');
    let admitted = 0;
    for (let i = 0; i < 25; i++) if (sender.admit('shop', MIRROR, load)) admitted++;
    assert.equal(admitted, 10, 'a full bucket: one second of copies');
    assert.equal(load.mirrorDropped, 15);
    for (let i = 0; i < 10; i++) sender.cancel(load);
    now += 250;
    admitted = 0;
    for (let i = 0; i < 10; i++) if (sender.admit('shop', MIRROR, load)) admitted++;
    assert.equal(admitted, 2, 'a quarter second refills 2.5 tokens');
    // Another app has its own bucket.
    assert.equal(sender.admit('cart', MIRROR, load), true);
    void sender.close();
  });

  it('drops copies beyond the in-flight bound, and a cancelled copy frees its place', () => {
    const sender = new MirrorSender({ connectTimeoutMs: 1000, idleTimeoutMs: 1000, now: () => 0 });
    const load = new ColorLoad('shop', 'green');
    const generous = { ...MIRROR, maxPerSecond: 100_000 };
    for (let i = 0; i < MIRROR_MAX_INFLIGHT; i++) assert.ok(sender.admit('shop', generous, load));
    assert.equal(sender.admit('shop', generous, load), false);
    assert.equal(sender.inflight, MIRROR_MAX_INFLIGHT);
    sender.cancel(load);
    assert.equal(sender.inflight, MIRROR_MAX_INFLIGHT - 1);
    assert.ok(sender.admit('shop', generous, load));
    assert.equal(load.mirrorDropped, 2, 'the refused copy and the cancelled one');
    void sender.close();
  });
});

describe('MirrorSender.send', () => {
  const seen: { method: string; url: string; headers: IncomingHttpHeaders; body: string }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      res.end('discarded');
    });
  });
  let address = '';
  before(async () => {
    await new Promise<void>((resolve) => server.listen({ host: '127.0.0.1', port: 0 }, resolve));
    const bound = server.address();
    if (bound === null || typeof bound === 'string') throw new Error('did not bind');
    address = `127.0.0.1:${bound.port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('sends the copy with its body and X-Cutover-Mirror: 1, and frees its place on the answer', async () => {
    const sender = new MirrorSender({ connectTimeoutMs: 1000, idleTimeoutMs: 1000 });
    const load = new ColorLoad('shop', 'green');
    assert.ok(sender.admit('shop', MIRROR, load));
    sender.send(
      address,
      {
        method: 'POST',
        path: '/orders?x=1',
        headers: [
          'Host',
          'shop.test',
          'Content-Length',
          '5',
          'X-Cutover-Mirror',
          '0',
          'Expect',
          '100-continue',
        ],
        body: Buffer.from('hello'),
      },
      load,
    );
    assert.equal(load.mirrored, 1);
    const started = performance.now();
    while (sender.inflight > 0 && performance.now() - started < 5000) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.equal(sender.inflight, 0);
    const copy = seen[0];
    assert.ok(copy !== undefined);
    assert.equal(copy.method, 'POST');
    assert.equal(copy.url, '/orders?x=1');
    assert.equal(copy.body, 'hello');
    assert.equal(copy.headers.host, 'shop.test');
    assert.equal(copy.headers['x-cutover-mirror'], '1');
    assert.equal(copy.headers.expect, undefined);
    await sender.close();
  });

  it('counts a copy to an address that refuses as sent, and frees its place', async () => {
    const sender = new MirrorSender({ connectTimeoutMs: 1000, idleTimeoutMs: 1000 });
    const load = new ColorLoad('shop', 'green');
    assert.ok(sender.admit('shop', MIRROR, load));
    sender.send('127.0.0.1:1', { method: 'GET', path: '/', headers: [], body: null }, load);
    const started = performance.now();
    while (sender.inflight > 0 && performance.now() - started < 5000) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    assert.equal(sender.inflight, 0);
    assert.equal(load.mirrored, 1);
    await sender.close();
  });
});
