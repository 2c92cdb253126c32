// DNS switching end to end (issue 5): a real daemon with --dns-config and a real BIND 9 on
// loopback. Deploying v1 then v2 of the shop: dig shows the TTL lowered before the flip and the
// new color's address after it; requests to the old color's address after the flip are served
// by the old release and counted as stragglers; the old color is drained only once the TTL plus
// the margin has passed; a rollback flips the record back.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import type { AppStatus, DeploymentView, HistoryResponse } from '../../src/client/api-types.ts';
import { dig, portFreeOn, startBind } from '../helpers/bind.ts';
import type { DigAnswer, TestBind } from '../helpers/bind.ts';
import { CUTOVER_BIN, httpGet, startTestDaemon } from '../helpers/daemon.ts';
import type { TestDaemon } from '../helpers/daemon.ts';
import { writeShopRelease } from '../helpers/shop-release.ts';
import type { ShopRelease } from '../helpers/shop-release.ts';
import { killProcessesWithToken } from '../helpers/token-processes.ts';

const BLUE_HOST = '127.0.0.2';
const GREEN_HOST = '127.0.0.3';
const RECORD = 'shop.example.test.';
const TTL_S = 4;
const LOW_TTL_S = 1;
const MARGIN_MS = 1000;
const DIG_POLL_MS = 50;
const WAIT_MS = 60_000;

let bind: TestBind;
let daemon: TestDaemon;
let root: string;
let port: number;
let v1: ShopRelease;
let v2: ShopRelease;
let daemonArgs: string[];
const token = randomUUID();

async function appStatus(): Promise<AppStatus> {
  const reply = await daemon.admin('GET', '/v1/apps/shop');
  assert.equal(reply.status, 200, reply.body);
  return reply.json<AppStatus>();
}

async function deployment(id: string): Promise<DeploymentView> {
  const reply = await daemon.admin('GET', `/v1/deployments/${id}`);
  assert.equal(reply.status, 200, reply.body);
  return reply.json<DeploymentView>();
}

async function until<T>(
  what: string,
  read: () => Promise<T>,
  done: (value: T) => boolean,
): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`${what} not within ${WAIT_MS} ms: ${JSON.stringify(value)}`);
    await delay(25);
  }
}

async function deploy(release: ShopRelease): Promise<string> {
  const reply = await daemon.admin('POST', '/v1/apps/shop/deployments', { body: release.request });
  assert.equal(reply.status, 202, reply.body);
  return reply.json<DeploymentView>().id;
}

async function history(type: string): Promise<{ at: number; data: Record<string, unknown> }[]> {
  const reply = await daemon.admin('GET', '/v1/history?app=shop&limit=200');
  assert.equal(reply.status, 200, reply.body);
  return reply
    .json<HistoryResponse>()
    .events.filter((event) => event.type === type)
    .map((event) => ({ at: Date.parse(event.at), data: { ...event.data } }));
}

/** Runs the `cutover` CLI against the test daemon; resolves with its stdout (exit 0 only). */
function cutoverCli(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [CUTOVER_BIN, ...args],
      { timeout: 30_000 },
      (error, stdout, stderr) => {
        if (error !== null)
          reject(new Error(`cutover ${args.join(' ')}: ${error.message}\n${stderr}`));
        else resolve(stdout);
      },
    );
  });
}

/** What dig answered, polled until stopped, with the wall time of each answer. */
function pollDig(): { samples: (DigAnswer & { at: number })[]; stop: () => Promise<void> } {
  const samples: (DigAnswer & { at: number })[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const answer = await dig(bind, RECORD);
      samples.push({ ...answer, at: Date.now() });
      await delay(DIG_POLL_MS);
    }
  })();
  return {
    samples,
    stop: async () => {
      running = false;
      await loop;
    },
  };
}

before(async () => {
  bind = await startBind();
  port = await portFreeOn([BLUE_HOST, GREEN_HOST]);
  root = await mkdtemp(join(tmpdir(), 'cutover-dns-'));
  const configFile = join(root, 'dns.yaml');
  await writeFile(
    configFile,
    [
      `server: ${bind.server}`,
      'key:',
      `  name: ${bind.key.name}`,
      '  algorithm: hmac-sha256',
      `  secretFile: ${bind.secretFile}`,
      'apps:',
      '  shop:',
      `    zone: ${bind.zone}`,
      `    record: ${RECORD}`,
      `    ttl: ${TTL_S}`,
      `    lowTtl: ${LOW_TTL_S}`,
      `    margin: ${MARGIN_MS}ms`,
      '    colors:',
      `      blue: ${BLUE_HOST}:${port}`,
      `      green: ${GREEN_HOST}:${port}`,
      '',
    ].join('\n'),
  );
  v1 = await writeShopRelease(root, 'v1', { token });
  // v2 warms up for 1.5 s: the lowered TTL stays visible to dig for a while before the flip.
  const written = await writeShopRelease(root, 'v2', { token });
  const config = written.config.replace('  requests: 2\n', '  duration: 1500ms\n');
  assert.notEqual(config, written.config);
  await writeFile(join(written.dir, 'cutover.yaml'), config);
  v2 = { ...written, config, request: { ...written.request, config } };
  daemonArgs = ['--dns-config', configFile, '--workers', '1'];
  daemon = await startTestDaemon({ args: daemonArgs });
});

after(async () => {
  await daemon?.stop();
  await killProcessesWithToken(token);
  await bind?.stop();
  if (root !== undefined) await rm(root, { recursive: true, force: true });
});

void test('v1 then v2 over DNS: TTL lowered, record flipped, stragglers served and counted, drain after TTL + margin, rollback', async () => {
  // v1: the first flip publishes blue's address with the normal TTL.
  const v1Id = await deploy(v1);
  const v1End = await until(
    'v1 ended',
    () => deployment(v1Id),
    (view) => view.ended,
  );
  assert.equal(v1End.outcome, 'succeeded', v1End.reason ?? '');
  assert.deepEqual(await dig(bind, RECORD), { addresses: [BLUE_HOST], ttl: TTL_S });
  const onBlue = await httpGet({ host: BLUE_HOST, port }, '/');
  assert.equal(onBlue.status, 200, onBlue.body);
  assert.equal(onBlue.json<{ version: string }>().version, 'v1');
  const idleGreen = await httpGet({ host: GREEN_HOST, port }, '/');
  assert.equal(idleGreen.status, 503, 'the idle color has no live release on its own address yet');

  // v2: watch the record through the whole deployment.
  const watch = pollDig();
  const id = await deploy(v2);
  await until(
    'v2 flipped',
    () => deployment(id),
    (view) => view.flipped || view.ended,
  );
  // Stragglers: clients still holding blue's address reach blue's listener, served by v1.
  const stragglerCount = 5;
  for (let i = 0; i < stragglerCount; i++) {
    const reply = await httpGet({ host: BLUE_HOST, port }, '/');
    assert.equal(reply.status, 200, reply.body);
    assert.equal(reply.json<{ version: string }>().version, 'v1');
  }
  const onGreen = await httpGet({ host: GREEN_HOST, port }, '/');
  assert.equal(onGreen.json<{ version: string }>().version, 'v2');
  const status = await appStatus();
  assert.equal(status.live, 'green');
  assert.equal(status.colors.blue.stragglers, stragglerCount);
  assert.equal(status.colors.green.stragglers, 0);
  const human = await cutoverCli(['status', 'shop', '--data-dir', daemon.dataDir]);
  assert.match(
    human,
    /DNS stragglers \(requests to a color's own address while not live\): blue 5, green 0/,
  );

  const ended = await until(
    'v2 ended',
    () => deployment(id),
    (view) => view.ended,
  );
  assert.equal(ended.outcome, 'succeeded', ended.reason ?? '');
  await delay(300);
  await watch.stop();

  // The record: blue with the normal TTL, then blue with the low TTL, then green.
  const firstLow = watch.samples.findIndex(
    (s) => s.addresses[0] === BLUE_HOST && s.ttl === LOW_TTL_S,
  );
  const firstGreen = watch.samples.findIndex((s) => s.addresses[0] === GREEN_HOST);
  assert.ok(firstLow >= 0, `the TTL was never seen lowered: ${JSON.stringify(watch.samples)}`);
  assert.ok(firstGreen > firstLow, 'the TTL is lowered before the record moves to green');
  for (const sample of watch.samples.slice(firstGreen)) {
    assert.deepEqual(sample.addresses, [GREEN_HOST], 'never back to blue, never two addresses');
  }
  const last = watch.samples[watch.samples.length - 1];
  assert.equal(last?.ttl, TTL_S, 'the normal TTL is back once blue is drained');

  // The drain of blue waited for clients that saw the normal TTL before the lowering and the
  // low TTL before the flip: lowered + ttl + margin, and flip + lowTtl + margin.
  const loweredAt = (watch.samples[firstLow]?.at ?? 0) - DIG_POLL_MS - 100;
  const flipped = (await history('flipped')).filter((event) => event.data.to === 'green');
  const drained = (await history('drained')).filter((event) => event.data.color === 'blue');
  assert.equal(flipped.length, 1);
  assert.equal(drained.length, 1);
  const drainedAt = drained[0]?.at ?? 0;
  assert.ok(
    drainedAt - loweredAt >= TTL_S * 1000 + MARGIN_MS - 50,
    `drained ${drainedAt - loweredAt} ms after the TTL was lowered`,
  );
  assert.ok(drainedAt - (flipped[0]?.at ?? 0) >= LOW_TTL_S * 1000 + MARGIN_MS - 50);
  // After the drain, blue's own address no longer serves.
  assert.equal((await httpGet({ host: BLUE_HOST, port }, '/')).status, 503);

  // A rollback is the same flip the other way, at the low TTL.
  const rollback = await daemon.admin('POST', '/v1/apps/shop/rollback', {
    body: { waitDrain: false },
  });
  assert.equal(rollback.status, 200, rollback.body);
  assert.deepEqual(await dig(bind, RECORD), { addresses: [BLUE_HOST], ttl: LOW_TTL_S });
  const back = await httpGet({ host: BLUE_HOST, port }, '/');
  assert.equal(back.json<{ version: string }>().version, 'v1');
  // Green now serves its own stragglers until its drain.
  assert.equal(
    (await httpGet({ host: GREEN_HOST, port }, '/')).json<{ version: string }>().version,
    'v2',
  );
  assert.equal((await appStatus()).colors.green.stragglers, 1);

  // kill -9 and a restart: blue's address serves v1 from the first connection, and the record
  // is published again with the normal TTL (nothing is known of the lowering any more).
  await daemon.kill9();
  daemon = await daemon.restart({ args: daemonArgs });
  const afterRestart = await httpGet({ host: BLUE_HOST, port }, '/');
  assert.equal(afterRestart.status, 200, afterRestart.body);
  assert.equal(afterRestart.json<{ version: string }>().version, 'v1');
  await until(
    'the record republished',
    () => dig(bind, RECORD),
    (answer) => answer.ttl === TTL_S,
  );
  assert.deepEqual(await dig(bind, RECORD), { addresses: [BLUE_HOST], ttl: TTL_S });
});

void test('a DNS config with a bad field stops the daemon at start, naming the field', async () => {
  const file = join(root, 'bad-dns.yaml');
  await writeFile(
    file,
    [
      `server: ${bind.server}`,
      `key: { name: ${bind.key.name}, algorithm: hmac-sha256, secretFile: ${bind.secretFile} }`,
      'apps:',
      '  shop:',
      `    zone: ${bind.zone}`,
      '    record: shop.elsewhere.test.',
      `    colors: { blue: "${BLUE_HOST}:${port}", green: "${GREEN_HOST}:${port}" }`,
      '',
    ].join('\n'),
  );
  await assert.rejects(
    startTestDaemon({ args: ['--dns-config', file, '--workers', '1'], readyTimeoutMs: 10_000 }),
    /apps\.shop\.record: "shop\.elsewhere\.test\." is not inside zone "example\.test\."/,
  );
});
