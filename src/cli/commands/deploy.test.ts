// `cutover deploy --dir` in-process against a stand-in admin API on a real Unix socket: what it
// sends, the progress lines, the summary, exit codes, --json, --no-wait and Ctrl-C.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeploymentView } from '../../client/api-types.ts';
import { step, view } from '../../../test/helpers/deployment-views.ts';
import type { CliIo } from '../cli-context.ts';
import { runCli } from '../main.ts';

const CONFIG = 'app: shop\nstart: node server.js\ninstances: 2\n';

const STARTED = view({ id: 'd-1', step: 'locking', steps: [step('locking', 0, null)] });
const SMOKE = view({
  id: 'd-1',
  step: 'smoke',
  waitingFor: '2 smoke checks on the preview listener',
  steps: [step('starting', 0, 1210), step('smoke', 1210, null)],
});
const SUCCEEDED = view({
  id: 'd-1',
  step: 'succeeded',
  ended: true,
  outcome: 'succeeded',
  flipped: true,
  endedAt: new Date(Date.parse(STARTED.startedAt) + 6000).toISOString(),
  steps: [step('starting', 0, 1210), step('smoke', 1210, 1240), step('flipping', 1240, 1243)],
  report: { flip: { generation: 3, durationMs: 2.5 } },
});
const FAILED = view({
  id: 'd-1',
  step: 'failed',
  ended: true,
  outcome: 'failed',
  reason: 'step "smoke" failed: GET /api: status 500, expected 200',
  steps: [step('starting', 0, 1210), step('smoke', 1210, 1510), step('cleaning-up', 1510, 1600)],
});

interface Seen {
  readonly requests: string[];
  readonly bodies: unknown[];
}

interface Run {
  code: number;
  out: string;
  err: string;
}

/** Serves the start and then `views` in turn to the polls (the last one again if polled more). */
async function withDaemon(
  views: readonly DeploymentView[],
  run: (args: { dataDir: string; releaseDir: string; seen: Seen }) => Promise<void>,
): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'cutover-cli-deploy-'));
  const releaseDir = join(dir, 'release');
  await mkdir(releaseDir);
  await writeFile(join(releaseDir, 'cutover.yaml'), CONFIG);
  const seen: Seen = { requests: [], bodies: [] };
  let polls = 0;
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      seen.requests.push(`${req.method} ${req.url}`);
      if (body !== '') seen.bodies.push(JSON.parse(body));
      const send = (status: number, value: unknown): void => {
        res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
      };
      if (req.method === 'POST' && req.url === '/v1/apps/shop/deployments') send(202, STARTED);
      else if (req.method === 'GET' && req.url === '/v1/deployments/d-1') {
        send(200, views[Math.min(polls, views.length - 1)]);
        polls += 1;
      } else send(404, { error: { code: 'CUTOVER_ERR_USAGE', message: `no route ${req.url}` } });
    });
  });
  const dataDir = join(dir, 'data');
  await mkdir(dataDir);
  await new Promise<void>((resolve) => server.listen(join(dataDir, 'admin.sock'), resolve));
  try {
    await run({ dataDir, releaseDir, seen });
  } finally {
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  }
}

async function cli(argv: string[], io: Partial<CliIo> = {}): Promise<Run> {
  const result: Run = { code: -1, out: '', err: '' };
  result.code = await runCli(argv, {
    out: (text) => (result.out += text),
    err: (text) => (result.err += text),
    ...io,
  });
  return result;
}

void test('deploy --dir sends the release, its folder and its cutover.yaml, then prints each step once', async () => {
  await withDaemon([SMOKE, SMOKE, SUCCEEDED], async ({ dataDir, releaseDir, seen }) => {
    const run = await cli(['deploy', 'v2', '--dir', releaseDir, '--data-dir', dataDir]);
    assert.equal(run.code, 0, run.err);
    assert.deepEqual(seen.bodies, [
      {
        release: 'v2',
        dir: releaseDir,
        config: CONFIG,
        configPath: join(releaseDir, 'cutover.yaml'),
      },
    ]);
    assert.equal(seen.requests[0], 'POST /v1/apps/shop/deployments');
    assert.ok(seen.requests.slice(1).every((line) => line === 'GET /v1/deployments/d-1'));
    const lines = run.out.split('\n');
    assert.deepEqual(lines.slice(0, 5), [
      'shop v2: deployment d-1',
      '✓ starting 1.21s',
      '✓ smoke 30ms',
      '✓ flipping 3ms',
      'shop v2: succeeded in 6.00s (d-1)',
    ]);
    assert.match(run.out, /flip: 2\.5 ms, generation 3\n$/);
    assert.ok(!run.out.includes('\x1b'), 'no escape codes when not a TTY');
    assert.equal(run.err, '');
  });
});

void test('a failed deployment exits 1 with CUTOVER_ERR_DEPLOY_FAILED and the reason', async () => {
  await withDaemon([SMOKE, FAILED], async ({ dataDir, releaseDir }) => {
    const run = await cli(['deploy', 'v3', '--dir', releaseDir, '--data-dir', dataDir]);
    assert.equal(run.code, 1);
    assert.match(run.out, /✗ smoke 0\.30s: GET \/api: status 500, expected 200\n/);
    assert.match(run.out, /shop v2: failed in/);
    assert.equal(
      run.err,
      'cutover: shop v2 failed: step "smoke" failed: GET /api: status 500, expected 200 (CUTOVER_ERR_DEPLOY_FAILED)\n',
    );
  });
});

void test('--json prints only the final view; a failure still exits 1', async () => {
  await withDaemon([SMOKE, FAILED], async ({ dataDir, releaseDir }) => {
    const run = await cli(['deploy', 'v3', '--dir', releaseDir, '--data-dir', dataDir, '--json']);
    assert.equal(run.code, 1);
    assert.deepEqual(JSON.parse(run.out), FAILED);
    assert.equal(run.err, '');
  });
});

void test('--no-wait prints the id once started and does not follow', async () => {
  await withDaemon([SMOKE], async ({ dataDir, releaseDir, seen }) => {
    const run = await cli([
      'deploy',
      'v2',
      '--dir',
      releaseDir,
      '--no-wait',
      '--data-dir',
      dataDir,
    ]);
    assert.equal(run.code, 0, run.err);
    assert.equal(run.out, 'd-1\n');
    assert.match(run.err, /cutover abort shop/);
    assert.deepEqual(seen.requests, ['POST /v1/apps/shop/deployments']);
    const json = await cli([
      'deploy',
      'v2',
      '--dir',
      releaseDir,
      '--no-wait',
      '--json',
      '--data-dir',
      dataDir,
    ]);
    assert.deepEqual(JSON.parse(json.out), STARTED);
  });
});

void test('Ctrl-C stops following with exit 130 and never aborts the deployment', async () => {
  await withDaemon([SMOKE], async ({ dataDir, releaseDir, seen }) => {
    let interrupt: (() => void) | undefined;
    let unsubscribed = false;
    const outChunks: string[] = [];
    const run = await cli(['deploy', 'v2', '--dir', releaseDir, '--data-dir', dataDir], {
      out: (text) => {
        outChunks.push(text);
        // Ctrl-C once the first step line is on the screen.
        if (text.startsWith('✓ starting')) setImmediate(() => interrupt?.());
      },
      onInterrupt: (handler) => {
        interrupt = handler;
        return () => (unsubscribed = true);
      },
    });
    assert.equal(run.code, 130);
    assert.match(run.err, /the deployment goes on in the daemon; `cutover abort shop` stops it/);
    assert.ok(unsubscribed, 'the SIGINT handler is removed');
    assert.ok(
      seen.requests.every((line) => !line.includes('abort')),
      seen.requests.join(', '),
    );
    assert.ok(outChunks.includes('✓ starting 1.21s\n'));
  });
});

void test('on a TTY the status line is drawn and cleared before the summary', async () => {
  await withDaemon([SMOKE, SUCCEEDED], async ({ dataDir, releaseDir }) => {
    const run = await cli(['deploy', 'v2', '--dir', releaseDir, '--data-dir', dataDir], {
      isTTY: true,
      columns: 120,
    });
    assert.equal(run.code, 0, run.err);
    // Drawn in place, then erased (never followed by a newline) before the next permanent line.
    const shown = run.out.replaceAll('\r\x1b[2K', '<clear>');
    assert.match(
      shown,
      /<clear>\[smoke \d+\.\ds\] waiting for 2 smoke checks[^\n]*<clear>✓ smoke 30ms\n/,
    );
    assert.doesNotMatch(shown, /\[smoke [^<]*\n/);
    assert.match(run.out, /\n✓ flipping 3ms\nshop v2: succeeded in/);
  });
});

void test('flags that contradict cutover.yaml are usage errors, before anything is sent', async () => {
  await withDaemon([SMOKE], async ({ dataDir, releaseDir, seen }) => {
    const cases: [string[], RegExp][] = [
      [['--app', 'cart'], /--app "cart" does not match app: shop in .*cutover\.yaml/],
      [
        ['--health-path', '/up'],
        /--health-path applies to a deploy of --instances without --dir; set health\.path/,
      ],
      [
        ['--instances', '127.0.0.1:3001'],
        /--instances is for runtime: external, but .* says runtime: process/,
      ],
      [['--if-match', '3'], /--if-match applies to a deploy of --instances without --dir/],
    ];
    for (const [flags, message] of cases) {
      const run = await cli(['deploy', 'v2', '--dir', releaseDir, ...flags, '--data-dir', dataDir]);
      assert.equal(run.code, 2, flags.join(' '));
      assert.match(run.err, message);
      assert.match(run.err, /\(CUTOVER_ERR_USAGE\)\n$/);
    }
    assert.deepEqual(seen.requests, []);
  });
});
