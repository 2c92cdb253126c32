// A built-in router in front of a blue and a green upstream, for the router's integration tests.
import { request } from 'node:http';
import type { Agent, IncomingHttpHeaders } from 'node:http';
import type { AppRoute, RoutingTable } from '../../src/core/routing-table.ts';
import type { Color, TrafficMirror, TrafficSplit } from '../../src/core/types.ts';
import { createBuiltinTrafficSwitch } from '../../src/adapters/traffic/builtin/builtin-traffic-switch.ts';
import type {
  BuiltinTrafficSwitch,
  BuiltinTrafficSwitchOptions,
} from '../../src/adapters/traffic/builtin/builtin-traffic-switch.ts';
import { startUpstream } from './upstream.ts';
import type { Upstream } from './upstream.ts';

export interface AppColors {
  readonly app: string;
  readonly hosts?: readonly string[];
  readonly live: Color | null;
  readonly blue: readonly string[];
  readonly green: readonly string[];
}

/** One app's route with `live` serving the public listener and the other color the preview. */
export function appRoute(spec: AppColors): AppRoute {
  const target = (color: Color) => {
    const upstreams = color === 'blue' ? spec.blue : spec.green;
    return upstreams.length === 0 ? null : { color, release: `${spec.app}-${color}`, upstreams };
  };
  const idle: Color = spec.live === 'blue' ? 'green' : 'blue';
  return {
    app: spec.app,
    hosts: spec.hosts ?? [],
    live: spec.live === null ? null : target(spec.live),
    idle: target(idle),
  };
}

export function routingTable(generation: number, apps: readonly AppColors[]): RoutingTable {
  return { generation, apps: apps.map(appRoute) };
}

export interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly reusedSocket: boolean;
}

export interface SendOptions {
  readonly method?: string;
  readonly path?: string;
  readonly headers?: Record<string, string>;
  readonly body?: string | Buffer;
  /** A keep-alive agent to reuse connections; omitted means a new connection, closed after. */
  readonly agent?: Agent;
  readonly timeoutMs?: number;
}

/** One HTTP/1.1 request to 127.0.0.1:port; rejects on a socket error or the timeout. */
export function send(port: number, options: SendOptions = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: options.method ?? 'GET',
        path: options.path ?? '/',
        headers: {
          ...(options.agent === undefined ? { connection: 'close' } : {}),
          ...options.headers,
        },
        agent: options.agent ?? false,
        timeout: options.timeoutMs ?? 10_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('aborted', () => reject(new Error('response aborted')));
        res.on('end', () => {
          if (!res.complete) {
            reject(new Error('response incomplete'));
            return;
          }
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks),
            reusedSocket: req.reusedSocket,
          });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    req.end(options.body);
  });
}

export interface RouterFixture {
  readonly router: BuiltinTrafficSwitch;
  readonly blue: Upstream;
  readonly green: Upstream;
  readonly publicPort: number;
  readonly previewPort: number;
  /** The generation of the last table applied. */
  generation: number;
  /** Applies a table with `live` as the live color of app `shop` (catch-all). */
  flipTo(live: Color): Promise<void>;
  close(): Promise<void>;
}

export async function startRouterFixture(
  options: Partial<BuiltinTrafficSwitchOptions> = {},
): Promise<RouterFixture> {
  const blue = await startUpstream({ name: 'blue' });
  const green = await startUpstream({ name: 'green' });
  const router = await createBuiltinTrafficSwitch({
    public: { host: '127.0.0.1', port: 0 },
    preview: { host: '127.0.0.1', port: 0 },
    workers: 1,
    ...options,
  });
  const fixture: RouterFixture = {
    router,
    blue,
    green,
    publicPort: router.publicAddress.port,
    previewPort: router.previewAddress.port,
    generation: 0,
    async flipTo(live: Color) {
      fixture.generation++;
      await router.apply(
        routingTable(fixture.generation, [
          { app: 'shop', live, blue: [blue.address], green: [green.address] },
        ]),
      );
    },
    async close() {
      await router.close(2000);
      await Promise.all([blue.close(), green.close()]);
    },
  };
  await fixture.flipTo('blue');
  return fixture;
}

/** What a split or mirror route adds on top of `shop` with blue live and green idle. */
export interface ShopExtras {
  readonly split?: Omit<TrafficSplit, 'color'> | null;
  readonly mirror?: Omit<TrafficMirror, 'color'> | null;
  /** The green (idle) upstreams; default the fixture's green upstream. */
  readonly green?: readonly string[];
}

/**
 * Applies a table with `shop` (catch-all) live on blue and idle on green, and a split and/or a
 * mirror on green; returns the generation applied.
 */
export async function applyShop(fx: RouterFixture, extras: ShopExtras = {}): Promise<number> {
  const route = appRoute({
    app: 'shop',
    live: 'blue',
    blue: [fx.blue.address],
    green: extras.green ?? [fx.green.address],
  });
  const idle = route.idle;
  if (idle === null) throw new Error('applyShop needs a green upstream');
  const split = extras.split == null ? null : { ...extras.split, color: idle.color, target: idle };
  const mirror =
    extras.mirror == null ? null : { ...extras.mirror, color: idle.color, target: idle };
  fx.generation++;
  await fx.router.apply({ generation: fx.generation, apps: [{ ...route, split, mirror }] });
  return fx.generation;
}
