// The shop's compat check (`migrations.compat.command` in each release's cutover.yaml): starts
// this release's code on the database at DATABASE_URL (cutover sets it to the migrated shadow's
// URL), reads the catalog, places an order and reads it back. Exit 0 when all three work, 1
// naming the check that failed, 2 when the app would not start. The release's code is chosen by
// the env the command sets (SHOP_VERSION, SHOP_ORDER_COLUMNS), exactly as its instances get it.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

const SERVER = new URL('./server.js', import.meta.url).pathname;
const READY_TIMEOUT_MS = 10_000;
const REQUEST_TIMEOUT_MS = 5_000;

if ((process.env.DATABASE_URL ?? '') === '') {
  process.stderr.write('compat-check: DATABASE_URL is not set; cutover sets it to the shadow\n');
  process.exit(2);
}

const child = spawn(process.execPath, [SERVER], {
  env: { ...process.env, PORT: '0', HOST: '127.0.0.1', SHOP_FAULT: 'none' },
  stdio: ['ignore', 'pipe', 'inherit'],
});
const version = process.env.SHOP_VERSION ?? 'v0';

try {
  const port = await readyPort();
  const failures = await runChecks(`http://127.0.0.1:${port}`);
  process.exitCode = failures === 0 ? 0 : 1;
} catch (error) {
  process.stderr.write(`compat-check ${version}: ${error.message}\n`);
  process.exitCode = 2;
} finally {
  child.kill('SIGTERM');
}

async function readyPort() {
  const lines = createInterface({ input: child.stdout });
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`the app printed no ready line within ${READY_TIMEOUT_MS} ms`)),
      READY_TIMEOUT_MS,
    );
    lines.once('line', (line) => {
      clearTimeout(timer);
      const parsed = JSON.parse(line);
      if (parsed.ready === true) resolve(parsed.port);
      else reject(new Error(`the app printed ${line}`));
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the app exited with code ${code} before it was ready`));
    });
  });
}

/** Runs each check, prints one line for it, and returns how many failed. */
async function runChecks(origin) {
  let failures = 0;
  let placed = null;
  const check = async (name, method, path, expected, body, verify) => {
    let line;
    try {
      const response = await fetch(`${origin}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      });
      const text = await response.text();
      if (response.status !== expected) {
        line = `status ${response.status}, expected ${expected}: ${text.trim()}`;
      } else {
        line = verify(JSON.parse(text));
      }
    } catch (error) {
      line = error.message;
    }
    if (line === null) {
      process.stdout.write(`ok ${version} ${name}\n`);
    } else {
      failures += 1;
      process.stderr.write(`FAILED ${version} ${name}: ${line}\n`);
    }
  };
  await check('GET /api/products', 'GET', '/api/products', 200, undefined, (reply) =>
    reply.count > 0 ? null : 'the catalog is empty',
  );
  await check(
    'POST /api/orders',
    'POST',
    '/api/orders',
    201,
    { customer: 'compat check', items: ['mug'] },
    (reply) => {
      placed = reply.order?.id ?? null;
      return placed === null ? 'the answer has no order id' : null;
    },
  );
  await check('GET /api/orders', 'GET', '/api/orders', 200, undefined, (reply) =>
    placed === null || reply.orders.some((order) => order.id === placed)
      ? null
      : `order ${placed} is not listed`,
  );
  return failures;
}
