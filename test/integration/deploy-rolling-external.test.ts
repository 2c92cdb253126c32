// The rolling strategy (issue 5) with `runtime: external`: cutover neither starts nor stops the
// instances, so a rolling deployment moves routing only. The new release's addresses join the
// idle color a batch at a time while the live color's leave it; on a failed batch the old
// addresses taken out are routed again, so the live color is whole with the same addresses.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import {
  startPipelineDaemon,
  type PipelineDaemon,
  type ShopRelease,
} from '../helpers/pipeline-fixture.ts';

const N = 3;

interface Served {
  readonly address: string;
  close(): Promise<void>;
}

/** An instance run by someone else: JSON `{ version }` on `/`, 500 after `failAfter` of them. */
async function serve(version: string, failAfter = Infinity): Promise<Served> {
  let answered = 0;
  const server: Server = createServer((req, res) => {
    if (req.url === '/healthz') {
      res.end('ok');
      return;
    }
    answered += 1;
    res.statusCode = answered > failAfter ? 500 : 200;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ version }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  return {
    address: `127.0.0.1:${address.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function fleet(t: TestContext, version: string, failAfter?: number): Promise<string[]> {
  const served = await Promise.all(Array.from({ length: N }, () => serve(version, failAfter)));
  t.after(() => Promise.all(served.map((each) => each.close())));
  return served.map((each) => each.address);
}

async function externalRelease(
  t: TestContext,
  version: string,
  rolling: boolean,
): Promise<ShopRelease> {
  const dir = await mkdtemp(join(tmpdir(), `cutover-external-${version}-`));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const config = [
    'app: shop',
    'runtime: external',
    'health: { path: /healthz, interval: 50ms, timeout: 1s, rise: 1, fall: 2, startTimeout: 10s }',
    'smoke: [{ path: /, status: 200 }]',
    'warmup: { requests: 2, paths: [/], concurrency: 1 }',
    'switch: { drainTimeout: 2s, websocketGrace: 0ms, probeWindow: 500ms, probeInterval: 50ms, probePaths: [/], failureThreshold: 0 }',
    ...(rolling ? ['strategy: rolling', 'rolling: { batch: 1, pause: 500ms }'] : []),
    '',
  ].join('\n');
  await writeFile(join(dir, 'cutover.yaml'), config);
  return { app: 'shop', release: version, dir, config };
}

async function pipeline(t: TestContext): Promise<PipelineDaemon> {
  const fx = await startPipelineDaemon();
  t.after(() => fx.close());
  return fx;
}

async function liveAddresses(fx: PipelineDaemon): Promise<string[]> {
  const app = await fx.app();
  assert.ok(app.live !== null);
  return app.colors[app.live].instances.map((each) => each.address).sort();
}

describe('rolling deployments on the external runtime', () => {
  it('moves routing from the old addresses to the new ones a batch at a time', async (t) => {
    const fx = await pipeline(t);
    const v1 = await fleet(t, 'v1');
    const v2 = await fleet(t, 'v2');
    const first = await fx.deployAndWait(await externalRelease(t, 'v1', false), v1);
    assert.equal(first.outcome, 'succeeded', first.reason ?? '');
    const view = await fx.deployAndWait(await externalRelease(t, 'v2', true), v2);
    assert.equal(view.outcome, 'succeeded', view.reason ?? '');
    assert.deepEqual(
      view.report.rolling?.batches.map((batch) => [batch.fresh, batch.old]),
      [
        [3, 2],
        [3, 1],
        [3, 0],
      ],
    );
    assert.deepEqual(await liveAddresses(fx), [...v2].sort());
    const app = await fx.app();
    assert.equal(app.colors[app.live === 'blue' ? 'green' : 'blue'].release, null);
    for (let i = 0; i < 10; i += 1) assert.equal(await fx.publicVersion(), 'v2');
  });

  it('routes the old addresses again when a batch fails', async (t) => {
    const fx = await pipeline(t);
    const v1 = await fleet(t, 'v1');
    // Smoke (1) and warm-up (2) pass; the share of the probes does not.
    const bad = await fleet(t, 'v3', 3);
    const first = await fx.deployAndWait(await externalRelease(t, 'v1', false), v1);
    assert.equal(first.outcome, 'succeeded', first.reason ?? '');
    const view = await fx.deployAndWait(await externalRelease(t, 'v3', true), bad);
    assert.equal(view.outcome, 'rolled-back', view.reason ?? '');
    assert.match(view.reason ?? '', /batch \d: /);
    assert.equal(view.report.rolling?.restored?.live, N);
    assert.ok(view.report.rolling.restored.started >= 1, 'no old address routed again');
    assert.deepEqual(await liveAddresses(fx), [...v1].sort());
    for (let i = 0; i < 10; i += 1) assert.equal(await fx.publicVersion(), 'v1');
  });
});
