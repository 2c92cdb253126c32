// The rollback drill (DESIGN.md): flip to the standby, verify it with probes through the public
// listener, flip forward, verify again. The recovery time is measured from the start of the
// rollback to the first good answer of the standby; the failed requests are the router's own
// failures for the app (5xx it produced) plus failed probes, over the whole drill.
import type { DrillPhase, DrillReport, FlipResponse } from '../client/api-types.ts';
import type { AppConfig } from '../core/app-config.ts';
import type { Color } from '../core/types.ts';
import type { Clock } from '../ports/clock.ts';
import type { TrafficSwitch } from '../ports/traffic-switch.ts';
import { verifySwitchWindow } from '../probes/verify-window.ts';
import type { PipelineHost } from './pipeline-host.ts';

/** A drill's verify window: the configured one, capped so a drill stays a short rehearsal. */
export const DRILL_MAX_WINDOW_MS = 10_000;

export interface DrillInput {
  readonly app: string;
  readonly live: Color;
  readonly standby: Color;
  readonly config: AppConfig;
  readonly objectiveMs: number;
  readonly actor: string;
  readonly publicUrl: string;
}

export interface DrillDeps {
  readonly host: PipelineHost;
  readonly clock: Clock;
  readonly traffic: TrafficSwitch;
}

interface Counts {
  requests: number;
  failed: number;
}

async function appCounts(traffic: TrafficSwitch, app: string): Promise<Counts> {
  const snapshot = await traffic.describe();
  const colors = snapshot.apps[app];
  if (colors === undefined) return { requests: 0, failed: 0 };
  return {
    requests: colors.blue.requests + colors.green.requests,
    // The instances' own 5xx count as failures too, not only the router's.
    failed:
      colors.blue.failed +
      colors.blue.serverErrors +
      colors.green.failed +
      colors.green.serverErrors,
  };
}

export async function runDrill(deps: DrillDeps, input: DrillInput): Promise<DrillReport> {
  const { clock, host } = deps;
  const startedAt = new Date(clock.nowMs()).toISOString();
  const startedMs = clock.monotonicMs();
  const before = await appCounts(deps.traffic, input.app);
  let failedProbes = 0;
  const settings = {
    ...input.config.switch,
    probeWindowMs: Math.min(input.config.switch.probeWindowMs, DRILL_MAX_WINDOW_MS),
  };

  const phase = async (to: Color, kind: 'rollback' | 'flip'): Promise<DrillPhase> => {
    const phaseStarted = clock.monotonicMs();
    const flip: FlipResponse = await host.flip(input.app, to, kind, input.actor, phaseStarted);
    let recoveryMs: number | null = null;
    let probes = 0;
    const result = await verifySwitchWindow(
      // Even a zero window gets one round of probes: the recovery time needs an answer.
      { ...settings, probeWindowMs: Math.max(settings.probeWindowMs, 1) },
      {
        publicUrl: input.publicUrl,
        host: input.config.hosts[0] ?? 'localhost',
        clock,
        onProbe: (probe) => {
          probes += 1;
          if (!probe.ok) failedProbes += 1;
          if (probe.ok && recoveryMs === null) {
            recoveryMs = clock.monotonicMs() - phaseStarted;
          }
        },
      },
    );
    const old = to === input.standby ? input.live : input.standby;
    // The drained color stays warm: the drill only moves traffic.
    void host.drain(input.app, old, input.actor).catch(() => undefined);
    return {
      flip,
      verify: {
        ok: result.ok,
        reason: result.ok ? null : result.reason,
        probes,
        durationMs: result.durationMs,
      },
      recoveryMs: Math.round(recoveryMs ?? clock.monotonicMs() - phaseStarted),
    };
  };

  await host.record(input.app, 'drill-started', {
    actor: input.actor,
    live: input.live,
    standby: input.standby,
    objectiveMs: input.objectiveMs,
  });
  const back = await phase(input.standby, 'rollback');
  // Whatever the standby did, the drill ends with traffic where it began.
  const forward = await phase(input.live, 'flip');
  const after = await appCounts(deps.traffic, input.app);
  const failedRequests = after.failed - before.failed + failedProbes;
  const rtoMs = back.recoveryMs;
  const reasons: string[] = [];
  if (!back.verify.ok)
    reasons.push(`the standby ${input.standby} failed: ${back.verify.reason ?? ''}`);
  if (!forward.verify.ok)
    reasons.push(`flipping forward to ${input.live} failed: ${forward.verify.reason ?? ''}`);
  if (failedRequests > 0) reasons.push(`${failedRequests} requests failed during the drill`);
  if (rtoMs > input.objectiveMs) {
    reasons.push(`recovery took ${rtoMs} ms, above the objective of ${input.objectiveMs} ms`);
  }
  const report: DrillReport = {
    app: input.app,
    live: input.live,
    standby: input.standby,
    passed: reasons.length === 0,
    reason: reasons.length === 0 ? null : reasons.join('; '),
    rtoMs,
    objectiveMs: input.objectiveMs,
    failedRequests,
    requests: after.requests - before.requests,
    back,
    forward,
    startedAt,
    durationMs: Math.round(clock.monotonicMs() - startedMs),
  };
  await host.record(input.app, 'drill', {
    actor: input.actor,
    passed: report.passed,
    reason: report.reason,
    rtoMs,
    objectiveMs: input.objectiveMs,
    failedRequests,
    requests: report.requests,
    backFlipMs: back.flip.durationMs,
    forwardFlipMs: forward.flip.durationMs,
    durationMs: report.durationMs,
  });
  return report;
}
