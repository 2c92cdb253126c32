// A stand-in admin API on a real Unix socket (`<dataDir>/admin.sock`) for in-process CLI tests:
// each request is answered by the first route whose `METHOD /path` matches; the rest get 404.
import { createServer } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface FakeReply {
  readonly status: number;
  readonly body: unknown;
}

export type FakeRoutes = Readonly<Record<string, (body: unknown) => FakeReply>>;

export interface FakeAdmin {
  readonly dataDir: string;
  /** `METHOD /path` of every request, in order. */
  readonly requests: string[];
  readonly bodies: unknown[];
}

export async function withFakeAdmin(
  routes: FakeRoutes,
  run: (admin: FakeAdmin) => Promise<void>,
): Promise<void> {
  const dataDir = await mkdtemp(join(tmpdir(), 'cutover-fake-admin-'));
  const admin: FakeAdmin = { dataDir, requests: [], bodies: [] };
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (chunk: Buffer) => (text += chunk.toString()));
    req.on('end', () => {
      const key = `${req.method} ${req.url}`;
      admin.requests.push(key);
      const body: unknown = text === '' ? undefined : JSON.parse(text);
      if (body !== undefined) admin.bodies.push(body);
      const route = routes[key];
      const reply: FakeReply = route?.(body) ?? {
        status: 404,
        body: { error: { code: 'CUTOVER_ERR_USAGE', message: `no route ${key}` } },
      };
      res
        .writeHead(reply.status, { 'content-type': 'application/json' })
        .end(JSON.stringify(reply.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(join(dataDir, 'admin.sock'), resolve));
  try {
    await run(admin);
  } finally {
    await new Promise((resolve) => server.close(resolve));
    await rm(dataDir, { recursive: true, force: true });
  }
}
