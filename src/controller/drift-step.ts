// The drift-check step of a deployment (DESIGN.md step 3). Issue 5 builds the snapshot and the
// diff in src/drift/; until then the step passes, as it did before the step had a home.
import type { DeploymentEvent } from '../core/deployment/deployment-events.ts';
import type { EffectContext } from './effect-context.ts';

export function checkDrift(ctx: EffectContext): Promise<DeploymentEvent> {
  return Promise.resolve({ type: 'DriftChecked', at: ctx.nowIso() });
}
