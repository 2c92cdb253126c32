// Keep-alive clients that poll `/` back to back and record, for every response, when it was
// sent, when its head arrived and which release answered (the `x-release` header). The
// rollback benchmark reads the timeline around the rollback command.
import { Agent, request } from 'node:http';

export interface Sample {
  readonly sentAt: number;
  readonly receivedAt: number;
  readonly release: string;
  readonly status: number;
}

export interface ReleasePoller {
  /** Samples received so far (all pollers, in arrival order). */
  readonly samples: Sample[];
  readonly errors: number;
  stop(): Promise<void>;
}

function pollOnce(agent: Agent, port: number): Promise<Sample> {
  return new Promise((resolve, reject) => {
    const sentAt = performance.now();
    const req = request({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
      const receivedAt = performance.now();
      const header = res.headers['x-release'];
      res.resume();
      res.on('end', () =>
        resolve({
          sentAt,
          receivedAt,
          release: typeof header === 'string' ? header : '',
          status: res.statusCode ?? 0,
        }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** Starts `connections` pollers, each on its own keep-alive connection. */
export function startReleasePoller(port: number, connections: number): ReleasePoller {
  const samples: Sample[] = [];
  let errors = 0;
  let running = true;
  const agents: Agent[] = [];
  const loops: Promise<void>[] = [];
  for (let i = 0; i < connections; i += 1) {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    agents.push(agent);
    loops.push(
      (async () => {
        while (running) {
          try {
            samples.push(await pollOnce(agent, port));
          } catch {
            errors += 1;
          }
        }
      })(),
    );
  }
  return {
    samples,
    get errors() {
      return errors;
    },
    stop: async () => {
      running = false;
      await Promise.all(loops);
      for (const agent of agents) agent.destroy();
    },
  };
}
