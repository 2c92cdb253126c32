// Maps stored app state, health verdicts and traffic counters to the admin API's AppStatus.
import type { AppStatus, ColorStatus } from '../client/api-types.ts';
import { roleOf } from '../core/app-state.ts';
import type { Address, AppState, Color } from '../core/types.ts';
import type { ColorTraffic, TrafficSnapshot } from '../ports/traffic-switch.ts';

const NO_TRAFFIC: ColorTraffic = {
  inflight: 0,
  websockets: 0,
  requests: 0,
  failed: 0,
  serverErrors: 0,
};

/** The mirror counters, shown while the app is mirrored or once a copy was sent or dropped. */
function mirrorCounts(
  app: AppState,
  counts: ColorTraffic,
): { mirrored?: number; mirrorDropped?: number } {
  const mirrored = counts.mirrored ?? 0;
  const mirrorDropped = counts.mirrorDropped ?? 0;
  if (app.mirror == null && mirrored === 0 && mirrorDropped === 0) return {};
  return { mirrored, mirrorDropped };
}

export function toAppStatus(
  app: AppState,
  traffic: TrafficSnapshot,
  isHealthy: (address: Address) => boolean,
): AppStatus {
  const colorStatus = (color: Color): ColorStatus => {
    const release = app.environments[color].release;
    const counts = traffic.apps[app.name]?.[color] ?? NO_TRAFFIC;
    return {
      color,
      role: roleOf(app, color),
      release: release?.id ?? null,
      instances: (release?.instances ?? []).map((instance) => ({
        id: instance.id,
        address: instance.address,
        healthy: isHealthy(instance.address),
      })),
      inflight: counts.inflight,
      websockets: counts.websockets,
      requests: counts.requests,
      failed: counts.failed,
      serverErrors: counts.serverErrors,
      ...mirrorCounts(app, counts),
      ...(counts.stragglers === undefined ? {} : { stragglers: counts.stragglers }),
    };
  };
  return {
    name: app.name,
    hosts: app.hosts,
    live: app.live,
    standby: app.standby,
    colors: { blue: colorStatus('blue'), green: colorStatus('green') },
    flips: app.flips,
    ...(app.split == null ? {} : { split: app.split }),
    ...(app.mirror == null ? {} : { mirror: app.mirror }),
  };
}
