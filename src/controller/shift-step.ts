// The `shift` effect of the deployment pipeline (issue 5): the steps between warm-up and the flip
// in which a share of public traffic goes to the new color, by the deployment's strategy. Each
// run does one step and ends with ShiftStepPassed (the state machine runs it again for the next,
// from `state.shiftIndex`), ShiftCompleted (on to the flip) or ShiftFailed.
import type { DeploymentEvent } from '../core/deployment/deployment-events.ts';
import { strategyOf } from '../core/deployment/deployment-state.ts';
import { CutoverError } from '../core/errors.ts';
import { runCanaryShift } from './canary-shift.ts';
import type { EffectContext } from './effect-context.ts';
import { runRollingShift } from './rolling-shift.ts';

export async function runShiftStep(ctx: EffectContext): Promise<DeploymentEvent> {
  // Mirrored copies would count as the new color's traffic: real shares replace them here.
  if (ctx.host.appState(ctx.state.app)?.mirror != null)
    await ctx.host.setMirror(ctx.state.app, null);
  const strategy = strategyOf(ctx.state);
  switch (strategy) {
    case 'canary':
      return runCanaryShift(ctx);
    case 'rolling':
      return runRollingShift(ctx);
    case 'bluegreen':
      throw new CutoverError(
        'CUTOVER_ERR_INTERNAL',
        `deployment ${ctx.state.id} is blue-green: it has no shift step`,
      );
  }
}
