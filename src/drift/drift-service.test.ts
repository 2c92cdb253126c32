// The drift service on real release dirs and snapshot files: the drift-check step's verdicts,
// enforcement, accepting, and the `cutover drift` report with in-place changes of the live color.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { AppState, Color } from '../core/types.ts';
import type { DeploymentRecord, StateStore } from '../ports/state-store.ts';
import { createDriftService } from './drift-service.ts';
import type { DriftService } from './drift-service.ts';

const SECRET_V1 = 'pay-secret-one-771';
const SECRET_V7 = 'pay-secret-seven-772';
let root: string;
const records: DeploymentRecord[] = [];

/** The part of the state store the service reads: the stored deployment requests. */
const store = {
  listDeployments: ({ app }: { app?: string }) =>
    Promise.resolve(records.filter((each) => app === undefined || each.app === app)),
} as unknown as StateStore;

function configText(release: string, lines: readonly string[] = []): string {
  return [
    'app: shop',
    'start: node server.js',
    'env:',
    `  SHOP_VERSION: ${release}`,
    '  PAYMENTS_URL: https://payments.example.com',
    ...lines,
  ].join('\n');
}

async function release(id: string, text: string): Promise<{ dir: string; text: string }> {
  const dir = join(root, id);
  await mkdir(join(dir, 'config'), { recursive: true });
  await writeFile(join(dir, 'config', 'app.json'), '{"pool":10}\n');
  await writeFile(join(dir, 'cutover.yaml'), text);
  return { dir, text };
}

function deployed(id: string, rel: { dir: string; text: string }): void {
  records.unshift({
    id: `d-${id}`,
    app: 'shop',
    active: false,
    state: { step: 'succeeded', release: id } as DeploymentRecord['state'],
    request: { release: id, dir: rel.dir, config: rel.text, configPath: 'cutover.yaml' },
    report: {},
    requestedBy: 'test',
  });
}

function appState(live: Color | null, held: Partial<Record<Color, string>>): AppState {
  const env = (color: Color) => ({
    color,
    release:
      held[color] === undefined
        ? null
        : {
            id: held[color],
            instances: [],
            health: {} as never,
            // Releases are placed in name order: v1 before v2, w1 before w2.
            placedAt: held[color],
          },
  });
  return {
    name: 'shop',
    hosts: [],
    live,
    standby: null,
    environments: { blue: env('blue'), green: env('green') },
    flips: [],
  };
}

let clockMs = Date.parse('2026-11-26T12:00:00.000Z');
let service: DriftService;

before(async () => {
  root = await mkdtemp(join(tmpdir(), 'cutover-drift-service-'));
  service = createDriftService({
    dataDir: join(root, 'data'),
    store,
    salt: Buffer.alloc(32, 1),
    environment: { PATH: process.env.PATH, PAY_V1: SECRET_V1, PAY_V7: SECRET_V7 },
    nowIso: () => new Date((clockMs += 1000)).toISOString(),
  });
  await mkdir(join(root, 'data'));
});

after(async () => {
  await rm(root, { recursive: true, force: true });
});

const DRIFT_V1 = [
  '  PAYMENTS_KEY: { fromEnv: PAY_V1 }',
  'drift:',
  '  expect: [env.SHOP_VERSION]',
  '  files: [config/app.json]',
];

void test('first deployment passes and is recorded; drift against the live release is refused', async () => {
  const v1 = await release('v1', configText('v1', DRIFT_V1));
  const first = await service.check({
    app: 'shop',
    release: 'v1',
    dir: v1.dir,
    configText: v1.text,
    configPath: 'cutover.yaml',
    acceptDrift: [],
    color: 'blue',
    appState: undefined,
  });
  assert.equal(first.refusal, null);
  assert.equal(first.report.passed, true);
  assert.equal(first.report.comparison, null);
  assert.match(first.report.note ?? '', /first deployment/);
  deployed('v1', v1);

  // v2 changes what it expects to change: it passes.
  const v2 = await release('v2', configText('v2', DRIFT_V1));
  const live = appState('blue', { blue: 'v1' });
  const input = {
    app: 'shop',
    configPath: 'cutover.yaml',
    acceptDrift: [],
    color: 'green' as const,
    appState: live,
  };
  const ok = await service.check({ ...input, release: 'v2', dir: v2.dir, configText: v2.text });
  assert.equal(ok.refusal, null);
  assert.equal(ok.report.enforced, true);
  assert.deepEqual(
    ok.report.comparison?.differences.map((each) => [each.key, each.expected?.by]),
    [
      ['env.SHOP_VERSION', 'drift.expect'],
      ['release', 'release'],
    ],
  );

  // v7 points PAYMENTS_URL at staging and reads another secret: refused, both named.
  const v7 = await release(
    'v7',
    configText('v7', DRIFT_V1)
      .replace('https://payments.example.com', 'https://payments.staging.example.com')
      .replace('PAY_V1', 'PAY_V7'),
  );
  const refused = await service.check({
    ...input,
    release: 'v7',
    dir: v7.dir,
    configText: v7.text,
  });
  assert.equal(refused.report.passed, false);
  assert.equal(
    refused.refusal,
    'drift from the live release v1: 2 unexpected differences: env.PAYMENTS_KEY: secret changed; ' +
      'env.PAYMENTS_URL: "https://payments.example.com" on v1 (live), "https://payments.staging.example.com" on v7 (new). ' +
      'If intended, accept it with `cutover deploy v7 --accept-drift env.PAYMENTS_KEY --accept-drift env.PAYMENTS_URL`, ' +
      'or add them to drift.expect in cutover.yaml',
  );
  const stored = JSON.stringify(await readFile(join(root, 'data', 'drift', 'shop.json'), 'utf8'));
  for (const text of [refused.refusal, JSON.stringify(refused.report), stored]) {
    assert.equal(text.includes(SECRET_V1), false);
    assert.equal(text.includes(SECRET_V7), false);
  }
  // The refused release's snapshot is not kept as green's.
  const report = await service.report('shop', appState('blue', { blue: 'v1' }));
  assert.equal(report.colors, null);

  // Accepted this once (globs too): it passes and green holds v7's snapshot.
  const accepted = await service.check({
    ...input,
    acceptDrift: ['env.PAYMENTS_*'],
    release: 'v7',
    dir: v7.dir,
    configText: v7.text,
  });
  assert.equal(accepted.refusal, null);
  assert.equal(accepted.report.comparison?.drift, 0);
  const after = await service.report('shop', appState('blue', { blue: 'v1', green: 'v7' }));
  assert.equal(after.colors?.from.release, 'v1');
  assert.equal(after.colors?.to.release, 'v7');
  assert.equal(after.colors?.drift, 0);
  assert.equal(after.drift, false);
});

void test('without a drift: section, drift is refused: strict by default', async () => {
  records.length = 0;
  const u1 = await release('u1', configText('u1'));
  deployed('u1', u1);
  const u2 = await release('u2', configText('u2'));
  const result = await service.check({
    app: 'shop',
    release: 'u2',
    dir: u2.dir,
    configText: u2.text,
    configPath: 'cutover.yaml',
    acceptDrift: [],
    color: 'green',
    appState: appState('blue', { blue: 'u1' }),
  });
  assert.equal(result.report.enforced, true);
  assert.equal(result.report.passed, false);
  assert.match(result.refusal ?? '', /env\.SHOP_VERSION: "u1" on u1 \(live\), "u2" on u2 \(new\)/);
});

void test('with drift.enforce: false, differences are reported, not refused', async () => {
  records.length = 0;
  const w1 = await release('w1', configText('w1'));
  deployed('w1', w1);
  const w2 = await release('w2', configText('w2', ['drift:', '  enforce: false']));
  const result = await service.check({
    app: 'shop',
    release: 'w2',
    dir: w2.dir,
    configText: w2.text,
    configPath: 'cutover.yaml',
    acceptDrift: [],
    color: 'green',
    appState: appState('blue', { blue: 'w1' }),
  });
  assert.equal(result.refusal, null);
  assert.equal(result.report.enforced, false);
  assert.equal(result.report.comparison?.drift, 1);
  assert.match(
    result.report.note ?? '',
    /drift\.enforce is false in w2's cutover\.yaml: .*reported, not refused/,
  );
  // Once w2 is live and w1 the standby, cutover drift says the same.
  const report = await service.report('shop', appState('green', { blue: 'w1', green: 'w2' }));
  assert.equal(report.colors?.from.release, 'w1');
  assert.equal(report.colors?.to.release, 'w2');
  assert.equal(report.drift, true);
  assert.match(
    report.notes.join('\n'),
    /drift\.enforce is false in w2's cutover\.yaml: .*reported, not refused/,
  );
});

void test('the live color re-snapshotted after an in-place edit shows it in the report', async () => {
  records.length = 0;
  const v1 = await release('x1', configText('x1', DRIFT_V1));
  deployed('x1', v1);
  const state = appState('blue', { blue: 'x1' });
  await service.check({
    app: 'shop',
    release: 'x1',
    dir: v1.dir,
    configText: v1.text,
    configPath: 'cutover.yaml',
    acceptDrift: [],
    color: 'blue',
    appState: undefined,
  });
  const clean = await service.report('shop', state);
  assert.equal(clean.drift, false);
  assert.equal(clean.inPlace?.differences.length, 0);
  assert.equal(await service.intervalOf('shop', state), 60_000);

  await writeFile(join(v1.dir, 'config', 'app.json'), '{"pool":99}\n');
  await service.resnapshotLive('shop', state);
  const report = await service.report('shop', state);
  assert.equal(report.drift, true);
  assert.deepEqual(
    report.inPlace?.differences.map((each) => [each.key, each.change, each.expected]),
    [['files.config/app.json', 'changed', null]],
  );
  assert.equal(report.live?.release, 'x1');
  assert.deepEqual(await readdir(join(root, 'data', 'drift')), ['shop.json']);

  // The live release's folder removed: its last snapshot stands, nothing reads as "missing".
  await rename(v1.dir, `${v1.dir}-gone`);
  assert.equal(await service.resnapshotLive('shop', state), null);
  const gone = await service.report('shop', state);
  assert.deepEqual(
    gone.inPlace?.differences.map((each) => each.key),
    ['files.config/app.json'],
  );
  assert.match(gone.notes.join('\n'), /x1 could not be snapshotted now .*last snapshot is shown/);
  const x2 = await release('x2', configText('x2', DRIFT_V1));
  await writeFile(join(x2.dir, 'config', 'app.json'), '{"pool":99}\n');
  const next = await service.check({
    app: 'shop',
    release: 'x2',
    dir: x2.dir,
    configText: x2.text,
    configPath: 'cutover.yaml',
    acceptDrift: [],
    color: 'green',
    appState: state,
  });
  assert.equal(next.refusal, null, next.refusal ?? '');
  assert.equal(next.report.comparison?.from.release, 'x1');
});
