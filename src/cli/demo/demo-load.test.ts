import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { once } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { releaseOf, startLoad } from './demo-load.ts';

interface Upstream {
  readonly origin: string;
  /** What the next answers say: the release, and the status it answers with. */
  answer: { release: string | null; status: number };
  readonly paths: Set<string>;
  close(): Promise<void>;
}

async function startUpstream(): Promise<Upstream> {
  const upstream: { answer: Upstream['answer']; paths: Set<string> } = {
    answer: { release: 'v1', status: 200 },
    paths: new Set(),
  };
  const server: Server = createServer((req, res) => {
    upstream.paths.add(`${req.method} ${req.url}`);
    req.resume();
    req.on('end', () => {
      const { release, status } = upstream.answer;
      if (release === null) {
        res.writeHead(status, { 'content-type': 'text/plain' });
        res.end('bad gateway');
        return;
      }
      res.writeHead(status, { 'content-type': 'application/json', 'x-release': release });
      res.end(JSON.stringify({ version: release }));
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  assert.ok(typeof address === 'object' && address !== null);
  return {
    origin: `http://127.0.0.1:${address.port}`,
    get answer() {
      return upstream.answer;
    },
    set answer(value) {
      upstream.answer = value;
    },
    paths: upstream.paths,
    async close() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

void test('the release of an answer: the header first, else the JSON body', () => {
  assert.equal(releaseOf('v2', '{"version":"v1"}'), 'v2');
  assert.equal(releaseOf(undefined, '{"version":"v1"}'), 'v1');
  assert.equal(releaseOf(undefined, 'bad gateway'), null);
  assert.equal(releaseOf(undefined, '{"version":3}'), null);
});

void test('a steady rate, every kind of request, counted by release', async () => {
  const upstream = await startUpstream();
  try {
    const load = startLoad({
      origin: upstream.origin,
      concurrency: 4,
      ratePerSecond: 40,
      maxRequests: 1_000,
      maxDurationMs: 5_000,
    });
    await sleep(500);
    const switchedAt = Date.now();
    upstream.answer = { release: 'v2', status: 200 };
    await sleep(500);
    const result = await load.stop();
    // 40 requests/s for about 1 s: the rate bounds the count, far below maxRequests.
    assert.ok(result.total >= 30 && result.total <= 45, `${result.total} requests in 1 s`);
    assert.equal(result.failed, 0, result.errorSamples.join('\n'));
    assert.equal(result.ok, result.total);
    assert.ok((result.byRelease['v1'] ?? 0) > 0 && (result.byRelease['v2'] ?? 0) > 0);
    // Each good answer is kept with its times, for the routing check.
    assert.equal(load.answers.length, result.ok);
    for (const answer of load.answers) {
      assert.ok(answer.sentAt <= answer.doneAt);
      if (answer.doneAt < switchedAt) assert.equal(answer.release, 'v1');
      if (answer.sentAt > switchedAt) assert.equal(answer.release, 'v2');
    }
    assert.ok(result.posts > 0 && result.newConnections > 0);
    assert.deepEqual([...upstream.paths].sort(), [
      'GET /',
      'GET /api/products',
      'POST /api/orders',
    ]);
  } finally {
    await upstream.close();
  }
});

void test('errors from the tolerated release are counted apart, all others fail', async () => {
  const upstream = await startUpstream();
  try {
    const load = startLoad({
      origin: upstream.origin,
      concurrency: 3,
      ratePerSecond: 50,
      maxRequests: 1_000,
      maxDurationMs: 5_000,
    });
    load.tolerate('v4');
    upstream.answer = { release: 'v4', status: 500 };
    await sleep(300);
    load.tolerate(null);
    await sleep(100);
    const tolerated = (await load.stop()).tolerated['v4'] ?? 0;
    assert.ok(tolerated > 0);

    // Once the window is closed, the same error is a failure; so is one from the router.
    const after = startLoad({
      origin: upstream.origin,
      concurrency: 3,
      // Slow enough that the first errors kept (5) hold both kinds.
      ratePerSecond: 10,
      maxRequests: 1_000,
      maxDurationMs: 5_000,
    });
    await sleep(200);
    upstream.answer = { release: null, status: 502 };
    await sleep(350);
    const result = await after.stop();
    assert.deepEqual(result.tolerated, {});
    assert.equal(result.failed, result.total);
    assert.match(result.errorSamples[0] ?? '', /^HTTP 500 from v4: /);
    assert.match(result.errorSamples.at(-1) ?? '', /^HTTP 502 from the router: bad gateway/);
  } finally {
    await upstream.close();
  }
});
