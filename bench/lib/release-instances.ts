// Starts instances of the benchmark app's releases as child processes (see release-server.ts).
import { fileURLToPath } from 'node:url';
import { startChild, type ChildHandle } from './child.ts';

const SERVER_PATH = fileURLToPath(new URL('./release-server.ts', import.meta.url));
const START_TIMEOUT_MS = 10_000;

export interface ReleaseInstance {
  readonly release: string;
  readonly address: string;
  readonly port: number;
  readonly child: ChildHandle;
}

export async function startReleaseInstance(release: string): Promise<ReleaseInstance> {
  const child = startChild(`release ${release}`, process.execPath, [SERVER_PATH, release]);
  const match = await child.waitForLine(/^listening (\d+)$/, START_TIMEOUT_MS);
  const port = Number(match[1]);
  return { release, address: `127.0.0.1:${port}`, port, child };
}
