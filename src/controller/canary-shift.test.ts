// One canary step against stand-ins for the router's counters, the clock and the stored state:
// the share it sets, how it waits and judges, promote, and the failures it names.
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { describe, it } from 'node:test';
import type { DeploymentReport } from '../client/api-types.ts';
import { parseAppConfigText } from '../config/load-app-config.ts';
import { createDeployment } from '../core/deployment/deployment-state.ts';
import type { DeploymentEvent } from '../core/deployment/deployment-events.ts';
import type { TrafficSplit } from '../core/types.ts';
import type { ColorTraffic, TrafficSnapshot } from '../ports/traffic-switch.ts';
import { runCanaryShift } from './canary-shift.ts';
import type { EffectContext } from './effect-context.ts';

const CONFIG = `
app: shop
start: node server.js
strategy: canary
canary:
  steps:
    - { weight: 10%, pause: 2s }
    - { weight: 50%, pause: 2s }
  analysis: { minRequests: 50, maxWait: 10s }
`;

interface Fake {
  ctx: EffectContext;
  readonly splits: (TrafficSplit | null)[];
  readonly report: { current: DeploymentReport };
  readonly promote: AbortController;
  /** Requests and errors per color added on each snapshot. */
  perSnapshot: { canary: [number, number]; live: [number, number] };
  /** Called as each sleep begins (a promote arriving mid-pause). */
  onSleep?: () => void;
}

function counts(requests: number, serverErrors: number): ColorTraffic {
  return {
    inflight: 0,
    websockets: 0,
    requests,
    failed: 0,
    serverErrors,
  };
}

function fake(options: { shiftIndex?: number; config?: string } = {}): Fake {
  const config = parseAppConfigText(options.config ?? CONFIG, 'cutover.yaml');
  const state = {
    ...createDeployment({
      id: 'd1',
      app: 'shop',
      release: 'v2',
      requestedAt: '2026-11-26T10:00:00.000Z',
      strategy: 'canary',
    }),
    step: 'shifting' as const,
    from: 'blue' as const,
    to: 'green' as const,
    shiftIndex: options.shiftIndex ?? 0,
  };
  let nowMs = 0;
  const totals: Fake['perSnapshot'] = { canary: [0, 0], live: [0, 0] };
  const splits: (TrafficSplit | null)[] = [];
  const report = { current: {} as DeploymentReport };
  const promote = new AbortController();
  const self: Fake = {
    splits,
    report,
    promote,
    perSnapshot: { canary: [100, 0], live: [900, 0] },
    ctx: undefined as unknown as EffectContext,
  };
  const ctx = {
    state,
    config,
    request: { release: 'v2', dir: tmpdir() },
    signal: new AbortController().signal,
    promote: promote.signal,
    clock: {
      nowMs: () => nowMs,
      monotonicMs: () => nowMs,
      sleep: (ms: number, signal?: AbortSignal) => {
        self.onSleep?.();
        if (signal?.aborted === true) return Promise.reject(new Error('aborted'));
        nowMs += ms;
        return Promise.resolve();
      },
    },
    traffic: {
      describe: (): Promise<TrafficSnapshot> => {
        for (const key of ['canary', 'live'] as const) {
          totals[key][0] += self.perSnapshot[key][0];
          totals[key][1] += self.perSnapshot[key][1];
        }
        return Promise.resolve({
          apps: {
            shop: {
              green: counts(totals.canary[0], totals.canary[1]),
              blue: counts(totals.live[0], totals.live[1]),
            },
          },
        } as unknown as TrafficSnapshot);
      },
    },
    host: {
      setSplit: (_app: string, split: TrafficSplit | null) => {
        splits.push(split);
        return Promise.resolve();
      },
      record: () => Promise.resolve(),
    },
    store: {
      getDeployment: () => Promise.resolve({ report: report.current }),
    },
    report: (patch: Partial<DeploymentReport>) => {
      report.current = { ...report.current, ...patch };
      return Promise.resolve();
    },
    waiting: () => undefined,
    nowIso: () => new Date(Date.parse('2026-11-26T10:00:00.000Z') + nowMs).toISOString(),
    urls: () => ({ public: 'http://127.0.0.1:1', preview: 'http://127.0.0.1:1' }),
  };
  self.ctx = ctx as unknown as EffectContext;
  return self;
}

function typeOf(event: DeploymentEvent): string {
  return event.type;
}

void describe('runCanaryShift', () => {
  void it('sets the step share, waits its pause and passes a healthy step', async () => {
    const f = fake();
    const event = await runCanaryShift(f.ctx);
    assert.deepEqual(event, {
      type: 'ShiftStepPassed',
      index: 0,
      percent: 10,
      at: '2026-11-26T10:00:02.000Z',
    });
    assert.deepEqual(f.splits, [
      { color: 'green', percent: 10, sticky: true, allow: { header: null, cookie: null } },
    ]);
    const steps = f.report.current.canary?.steps ?? [];
    assert.equal(steps.length, 1);
    assert.equal(steps[0]?.verdict, 'passed');
    assert.deepEqual(steps[0]?.canary, { requests: 100, errors: 0, errorRate: 0, p99Ms: null });
  });

  void it('goes on from the stored step index, and completes past the last step', async () => {
    const second = fake({ shiftIndex: 1 });
    const event = await runCanaryShift(second.ctx);
    assert.equal(event.type === 'ShiftStepPassed' ? event.percent : null, 50);
    const done = fake({ shiftIndex: 2 });
    assert.equal(typeOf(await runCanaryShift(done.ctx)), 'ShiftCompleted');
    assert.deepEqual(done.splits, []);
  });

  void it('fails a step with the numbers when the canary errs', async () => {
    const f = fake({ shiftIndex: 1 });
    f.perSnapshot = { canary: [1000, 51], live: [1000, 0] };
    const event = await runCanaryShift(f.ctx);
    assert.deepEqual(event, {
      type: 'ShiftFailed',
      reason: 'step 2 (50%): canary error rate 5.1% (51/1000) over the limit 1% (live 0.0%)',
      at: '2026-11-26T10:00:02.000Z',
    });
    assert.equal(f.report.current.canary?.steps[0]?.verdict, 'failed');
  });

  void it('waits beyond the pause for enough canary requests, then fails: not enough traffic', async () => {
    const f = fake();
    f.perSnapshot = { canary: [1, 0], live: [100, 0] };
    const event = await runCanaryShift(f.ctx);
    assert.equal(event.type, 'ShiftFailed');
    assert.match(
      event.type === 'ShiftFailed' ? event.reason : '',
      /^step 1 \(10%\): not enough traffic to judge: \d+ of the 50 canary requests needed in 12\.\d s$/,
    );
  });

  void it('a promote ends the step at once and completes the shift', async () => {
    const f = fake();
    f.promote.abort();
    assert.equal(typeOf(await runCanaryShift(f.ctx)), 'ShiftCompleted');
    // Promoted before the step began: nothing was shared.
    assert.deepEqual(f.splits, []);
  });

  void it('a promote mid-pause ends the step, recorded as promoted, and completes the shift', async () => {
    const f = fake();
    f.onSleep = () => {
      f.promote.abort();
    };
    assert.equal(typeOf(await runCanaryShift(f.ctx)), 'ShiftCompleted');
    assert.equal(f.splits.length, 1);
    assert.equal(f.report.current.canary?.steps[0]?.verdict, 'promoted');
  });

  void it('fails a step whose canary checks fail, naming the check', async () => {
    const f = fake({
      config: `${CONFIG}  checks:\n    - command: "echo nope >&2; exit 3"\n`,
    });
    const event = await runCanaryShift(f.ctx);
    assert.equal(event.type, 'ShiftFailed');
    assert.match(
      event.type === 'ShiftFailed' ? event.reason : '',
      /^step 1 \(10%\): canary checks failed: .*exit 3/,
    );
    assert.equal(f.report.current.canary?.steps[0]?.checks.length, 1);
  });
});
