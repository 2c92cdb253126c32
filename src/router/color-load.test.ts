import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LATENCY_BUCKETS_MS } from '../core/types.ts';
import { ColorLoad } from './color-load.ts';

describe('ColorLoad.observeLatency', () => {
  it('counts a response in the first bucket whose bound it does not exceed, or the last one', () => {
    const load = new ColorLoad('shop', 'blue');
    assert.equal(load.latency.length, LATENCY_BUCKETS_MS.length + 1);
    load.observeLatency(0.2);
    load.observeLatency(1);
    load.observeLatency(1.01);
    load.observeLatency(75);
    load.observeLatency(10_000);
    load.observeLatency(10_001);
    const at = (bound: number) => load.latency[LATENCY_BUCKETS_MS.indexOf(bound)];
    assert.equal(at(1), 2, '0.2 ms and exactly 1 ms');
    assert.equal(at(2), 1);
    assert.equal(at(75), 1);
    assert.equal(at(10_000), 1);
    assert.equal(load.latency[LATENCY_BUCKETS_MS.length], 1, 'above every bound');
    assert.equal(
      load.latency.reduce((a, b) => a + b, 0),
      6,
    );
  });
});
