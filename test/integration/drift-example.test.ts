// The shop example's v7-drift (examples/shop/v7-drift) deployed after v2 with the CLI, as the
// demo does: refused at the drift check naming env.PAYMENTS_URL and nothing else, before
// anything starts; v2 keeps serving. Guards the example against the other releases moving on.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import type { DeploymentListResponse } from '../../src/client/api-types.ts';
import { CUTOVER_BIN } from '../helpers/daemon.ts';
import { startPipelineDaemon, type PipelineDaemon } from '../helpers/pipeline-fixture.ts';

const SHOP = fileURLToPath(new URL('../../examples/shop/', import.meta.url));

function cutover(
  args: readonly string[],
  dataDir: string,
): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [CUTOVER_BIN, ...args, '--data-dir', dataDir],
      { timeout: 120_000 },
      (error, out, err) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : -1;
        resolve({ code, out, err });
      },
    );
  });
}

describe('examples/shop/v7-drift after v2', () => {
  let fx: PipelineDaemon;
  let databaseDir: string;

  before(async () => {
    // The shop's database: a SQLite file of this test's own.
    databaseDir = await mkdtemp(join(tmpdir(), 'cutover-drift-example-'));
    fx = await startPipelineDaemon({
      env: { SHOP_DATABASE_URL: `sqlite:${join(databaseDir, 'shop.db')}` },
    });
  });

  after(async () => {
    await fx.close();
    await rm(databaseDir, { recursive: true, force: true });
  });

  it('refuses v7-drift naming env.PAYMENTS_URL only, with both values and how to accept it', async () => {
    const v2 = await cutover(['deploy', 'v2', '--dir', join(SHOP, 'v2')], fx.dataDir);
    assert.equal(v2.code, 0, `${v2.out}${v2.err}`);

    const refused = await cutover(
      ['deploy', 'v7-drift', '--dir', join(SHOP, 'v7-drift')],
      fx.dataDir,
    );
    assert.equal(refused.code, 1, `${refused.out}${refused.err}`);
    const text = `${refused.out}${refused.err}`;
    assert.match(
      text,
      /drift from the live release v2: 1 unexpected difference: env\.PAYMENTS_URL: not set on v2 \(live\), "https:\/\/payments\.staging\.example\.com" on v7-drift \(new\)\. If intended, accept it with `cutover deploy v7-drift --accept-drift env\.PAYMENTS_URL`, or add it to drift\.expect in cutover\.yaml/,
    );
    const list = (
      await fx.daemon.admin('GET', '/v1/deployments?app=shop&limit=1')
    ).json<DeploymentListResponse>();
    const last = list.deployments[0];
    assert.equal(last?.release, 'v7-drift');
    assert.equal(last?.report.start, undefined, 'nothing started');
    assert.equal(await fx.publicVersion(), 'v2');
  });

  it('goes live with --accept-drift env.PAYMENTS_URL, and cutover drift then shows it accepted', async () => {
    const accepted = await cutover(
      ['deploy', 'v7-drift', '--dir', join(SHOP, 'v7-drift'), '--accept-drift', 'env.PAYMENTS_URL'],
      fx.dataDir,
    );
    assert.equal(accepted.code, 0, `${accepted.out}${accepted.err}`);
    assert.equal(await fx.publicVersion(), 'v7-drift');
    const drift = await cutover(['drift', 'shop'], fx.dataDir);
    assert.equal(drift.code, 0, `${drift.out}${drift.err}`);
    assert.match(
      drift.out,
      /expected env\.PAYMENTS_URL: not set on v2 \(\w+\), "https:\/\/payments\.staging\.example\.com" on v7-drift \(\w+, live\) \(accept-drift env\.PAYMENTS_URL\)/,
    );
  });
});
