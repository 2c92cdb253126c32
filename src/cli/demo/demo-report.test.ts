import { test } from 'node:test';
import assert from 'node:assert/strict';
import { demoPassed, durationStats, formatDemoReport } from './demo-report.ts';
import type { LoadResult } from './demo-load.ts';

const LOAD: LoadResult = {
  total: 3000,
  ok: 3000,
  failed: 0,
  newConnections: 300,
  posts: 250,
  byRelease: { v2: 1400, v1: 1600 },
  checkedAfterFlip: 2900,
  misrouted: 0,
  errorSamples: [],
  durationMs: 2100,
};

void test('duration stats: min, median (odd and even counts), max', () => {
  assert.deepEqual(durationStats([5, 1, 3]), { count: 3, minMs: 1, medianMs: 3, maxMs: 5 });
  assert.deepEqual(durationStats([4, 1, 2, 3]), { count: 4, minMs: 1, medianMs: 2.5, maxMs: 4 });
  assert.deepEqual(durationStats([]), { count: 0, minMs: 0, medianMs: 0, maxMs: 0 });
});

void test('the demo passes only with zero failed, zero misrouted and some served', () => {
  assert.ok(demoPassed(LOAD));
  assert.ok(!demoPassed({ ...LOAD, failed: 1 }));
  assert.ok(!demoPassed({ ...LOAD, misrouted: 1 }));
  assert.ok(!demoPassed({ ...LOAD, ok: 0, total: 0 }));
});

void test('the text report names the counts and the verdict', () => {
  const text = formatDemoReport({
    ok: true,
    daemon: { public: 'http://127.0.0.1:1', preview: 'http://127.0.0.1:2' },
    deploys: [
      { release: 'v1', color: 'blue', healthMs: 210, liveMs: 1.2, underLoad: false },
      { release: 'v2', color: 'green', healthMs: 220, liveMs: 0.9, underLoad: true },
    ],
    flips: durationStats([0.5, 0.7, 0.6]),
    flipCommands: durationStats([2, 3, 4]),
    requests: LOAD,
    durationMs: 5000,
  });
  assert.match(
    text,
    /deploy v2 +green: healthy in 220 ms, live 900 µs after the command \(under load\)/,
  );
  assert.match(text, /requests {4}3,000 in 2\.10 s \(v1 1,600, v2 1,400\)/);
  assert.match(text, /failed {6}0\n/);
  assert.match(text, /OK: 3,000 requests, 0 failed, across 4 flips under load/);
  const failed = formatDemoReport({
    ok: false,
    daemon: { public: 'a', preview: 'b' },
    deploys: [],
    flips: durationStats([]),
    flipCommands: durationStats([]),
    requests: { ...LOAD, failed: 2, errorSamples: ['HTTP 502: upstream'] },
    durationMs: 1,
  });
  assert.match(failed, /first errors:\n {4}HTTP 502: upstream/);
  assert.match(failed, /FAILED: 2 failed and 0 misrouted requests/);
});
