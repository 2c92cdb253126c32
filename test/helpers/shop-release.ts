// Test releases of the shop example (examples/shop/app/server.js) written into a temp dir, with
// a fast cutover.yaml: quick health checks, a small warm-up and a 1 s probe window. Every
// instance carries CUTOVER_TEST_TOKEN in its env, so a test finds (and ends) exactly the
// processes its own daemon started, even those no record points to.
//
//   const v2 = await writeShopRelease(root, 'v2', { token });
//   await daemon.admin('POST', '/v1/apps/shop/deployments', { body: v2.request });
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const SHOP_SERVER = fileURLToPath(
  new URL('../../examples/shop/app/server.js', import.meta.url),
);
export const SHOP_INSTANCES = 2;

export interface ShopReleaseOptions {
  /** Marks every instance's env, for finding them by process. */
  readonly token: string;
  /**
   * `broken-catalog` fails the catalog's smoke check (the v3 of the example);
   * `fails-under-traffic` makes the switch window's probes fail (the v4).
   */
  readonly fault?: 'none' | 'broken-catalog' | 'fails-under-traffic';
  /** `standby.after: stop` with this rollback window (`3s`); default: the standby is kept. */
  readonly retireStandbyAfter?: string;
}

export interface ShopRelease {
  readonly release: string;
  readonly dir: string;
  readonly config: string;
  /** The body of `POST /v1/apps/shop/deployments`. */
  readonly request: { readonly release: string; readonly dir: string; readonly config: string };
}

// Smoke (1 request) and warm-up (2) stay within the fault's limit even on one instance; the
// probes of the switch window every 50 ms go past it on both, even on a slow machine.
const FAIL_AFTER_REQUESTS = 3;

export function shopConfig(release: string, options: ShopReleaseOptions): string {
  const fault = options.fault ?? 'none';
  return [
    'app: shop',
    `start: node ${JSON.stringify(SHOP_SERVER)}`,
    `instances: ${SHOP_INSTANCES}`,
    'env:',
    `  SHOP_VERSION: ${release}`,
    `  SHOP_FAULT: ${fault}`,
    `  SHOP_FAIL_AFTER_REQUESTS: '${FAIL_AFTER_REQUESTS}'`,
    `  CUTOVER_TEST_TOKEN: '${options.token}'`,
    'stop:',
    '  signal: SIGTERM',
    '  timeout: 2s',
    'health:',
    '  path: /healthz',
    '  interval: 100ms',
    '  timeout: 2s',
    '  rise: 2',
    '  fall: 3',
    '  startTimeout: 20s',
    'smoke:',
    '  - path: /',
    '    status: 200',
    '    json:',
    `      version: ${release}`,
    // Only for the broken catalog: every counted request brings a fault nearer its limit.
    ...(fault === 'broken-catalog' ? ['  - path: /api/products', '    status: 200'] : []),
    'warmup:',
    '  requests: 2',
    '  paths: [/]',
    '  concurrency: 2',
    'switch:',
    '  drainTimeout: 1s',
    '  websocketGrace: 200ms',
    `  probeWindow: ${fault === 'fails-under-traffic' ? '2s' : '500ms'}`,
    '  probeInterval: 50ms',
    '  probePaths: [/]',
    '  failureThreshold: 0',
    '  autoRollback: true',
    'standby:',
    `  rollbackWindow: ${options.retireStandbyAfter ?? '10m'}`,
    `  after: ${options.retireStandbyAfter === undefined ? 'keep' : 'stop'}`,
    // The SHOP_ vars set one test release apart from another; anything else is drift.
    'drift:',
    '  expect: [env.SHOP_*]',
    '',
  ].join('\n');
}

/** Writes `<root>/<release>/cutover.yaml`; the instances run in that directory. */
export async function writeShopRelease(
  root: string,
  release: string,
  options: ShopReleaseOptions,
): Promise<ShopRelease> {
  const dir = join(root, release);
  await mkdir(dir, { recursive: true });
  const config = shopConfig(release, options);
  await writeFile(join(dir, 'cutover.yaml'), config);
  return { release, dir, config, request: { release, dir, config } };
}
