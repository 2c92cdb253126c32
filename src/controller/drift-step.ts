// The drift-check step of a deployment (DESIGN.md step 3): snapshot the new release's effective
// config before anything starts and diff it against the live release's (src/drift/). Unexpected
// drift refuses the deployment with every key named, both values (or "secret changed") and how
// to accept it; nothing is touched, so the standby stays as it was.
import type { DeploymentEvent } from '../core/deployment/deployment-events.ts';
import type { EffectContext } from './effect-context.ts';

export async function checkDrift(ctx: EffectContext): Promise<DeploymentEvent> {
  const { drift, request, state } = ctx;
  // A controller built without a drift service (unit tests) checks nothing, as before issue 5.
  if (drift === undefined || state.to === null || request.config === undefined) {
    return { type: 'DriftChecked', at: ctx.nowIso() };
  }
  ctx.waiting(`snapshotting ${state.release}'s config and diffing it against the live release`);
  const outcome = await drift.check({
    app: state.app,
    release: state.release,
    dir: request.dir,
    configText: request.config,
    configPath: request.configPath ?? 'cutover.yaml',
    acceptDrift: request.acceptDrift ?? [],
    color: state.to,
    appState: ctx.host.appState(state.app),
  });
  await ctx.report({ drift: outcome.report });
  return outcome.refusal === null
    ? { type: 'DriftChecked', at: ctx.nowIso() }
    : { type: 'DriftRejected', reason: outcome.refusal, at: ctx.nowIso() };
}
