import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DeploymentReport } from '../client/api-types.ts';
import { canaryLines } from './format-canary.ts';

const LIVE = { requests: 900, errors: 0, errorRate: 0, p99Ms: 12 };

void describe('canaryLines', () => {
  void it('prints one line per step with both colors, and why a step failed', () => {
    const report: DeploymentReport = {
      canary: {
        steps: [
          {
            index: 0,
            percent: 10,
            verdict: 'passed',
            reason: null,
            durationMs: 2000,
            canary: { requests: 100, errors: 0, errorRate: 0, p99Ms: 15 },
            live: LIVE,
            checks: [],
          },
          {
            index: 1,
            percent: 50,
            verdict: 'failed',
            reason: 'step 2 (50%): canary error rate 5.1% (51/1000) over the limit 1% (live 0.0%)',
            durationMs: 2000,
            canary: { requests: 1000, errors: 51, errorRate: 0.051, p99Ms: null },
            live: LIVE,
            checks: [],
          },
        ],
      },
    };
    assert.deepEqual(canaryLines(report), [
      '  canary: 2 steps judged',
      '    step 1 (10%): passed; canary 0.0% errors (0/100), p99 15 ms; live 0.0% errors (0/900), p99 12 ms',
      '    step 2 (50%): failed; canary 5.1% errors (51/1000); live 0.0% errors (0/900), p99 12 ms',
      '      step 2 (50%): canary error rate 5.1% (51/1000) over the limit 1% (live 0.0%)',
    ]);
  });

  void it('says who promoted, and prints nothing for a deployment without canary steps', () => {
    assert.deepEqual(canaryLines({}), []);
    assert.deepEqual(
      canaryLines(
        { promoted: { by: 'unix:ada', at: '2026-11-26T10:00:00.000Z', shiftIndex: 1 } },
        4,
      ),
      ['    promoted by unix:ada at 2026-11-26T10:00:00.000Z (after 1 step)'],
    );
  });
});
