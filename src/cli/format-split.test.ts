import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AppStatus, ColorStatus } from '../client/api-types.ts';
import type { Color } from '../core/types.ts';
import { formatSplitLines } from './format-split.ts';

function color(name: Color, extra: Partial<ColorStatus> = {}): ColorStatus {
  return {
    color: name,
    role: name === 'blue' ? 'live' : 'idle',
    release: `v-${name}`,
    instances: [],
    inflight: 0,
    websockets: 0,
    requests: 0,
    failed: 0,
    serverErrors: 0,
    ...extra,
  };
}

function app(extra: Partial<AppStatus> = {}, green: Partial<ColorStatus> = {}): AppStatus {
  return {
    name: 'shop',
    hosts: [],
    live: 'blue',
    standby: null,
    colors: { blue: color('blue'), green: color('green', green) },
    flips: [],
    ...extra,
  };
}

describe('formatSplitLines', () => {
  it('prints nothing for an app without a split or mirroring', () => {
    assert.deepEqual(formatSplitLines(app()), []);
  });

  it('names the split color, percent and assignment, and the allowlist without its values', () => {
    const lines = formatSplitLines(
      app({
        split: {
          color: 'green',
          percent: 12.5,
          sticky: true,
          allow: {
            header: { name: 'X-Canary', value: 'secret-token' },
            cookie: { name: 'tester', value: 'also-secret' },
          },
        },
      }),
    );
    assert.deepEqual(lines, [
      '  traffic split: 12.5 % to green, the rest to blue; sticky per client (cookie); allowlist header X-Canary, cookie tester',
    ]);
    assert.ok(!lines.join('\n').includes('secret'));
    const rolling = formatSplitLines(
      app({
        split: {
          color: 'green',
          percent: 50,
          sticky: false,
          allow: { header: null, cookie: null },
        },
      }),
    );
    assert.deepEqual(rolling, [
      '  traffic split: 50 % to green, the rest to blue; chosen per request',
    ]);
  });

  it('shows mirroring and the copies sent and dropped', () => {
    const lines = formatSplitLines(
      app(
        { mirror: { color: 'green', maxPerSecond: 50, maxBodyBytes: 65_536 } },
        { mirrored: 120, mirrorDropped: 3 },
      ),
    );
    assert.deepEqual(lines, [
      '  mirroring: copies of live requests to green, at most 50/s per router worker, bodies up to 64 KiB',
      '  mirrored copies: green 120 sent, 3 dropped',
    ]);
  });
});
