import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { emptyApp } from '../core/app-state.ts';
import type { TrafficSnapshot } from '../ports/traffic-switch.ts';
import { toAppStatus } from './app-status.ts';

describe('toAppStatus', () => {
  it("carries each color's router failures and the instances' 5xx", () => {
    const traffic: TrafficSnapshot = {
      generation: 1,
      workers: 1,
      apps: {
        shop: {
          blue: { inflight: 0, websockets: 0, requests: 10, failed: 1, serverErrors: 2 },
          green: { inflight: 2, websockets: 1, requests: 30, failed: 0, serverErrors: 5 },
        },
      },
    };
    const status = toAppStatus(emptyApp('shop', []), traffic, () => true);
    assert.equal(status.colors.blue.failed, 1);
    assert.equal(status.colors.blue.serverErrors, 2);
    assert.equal(status.colors.green.requests, 30);
    assert.equal(status.colors.green.failed, 0);
    assert.equal(status.colors.green.serverErrors, 5);
  });

  it('carries the stored split and mirror, and the mirror counters while mirroring', () => {
    const split = {
      color: 'green' as const,
      percent: 5,
      sticky: true,
      allow: { header: null, cookie: null },
    };
    const mirror = { color: 'green' as const, maxPerSecond: 50, maxBodyBytes: 1024 };
    const counts = { inflight: 0, websockets: 0, requests: 1, failed: 0, serverErrors: 0 };
    const traffic: TrafficSnapshot = {
      generation: 1,
      workers: 1,
      apps: { shop: { blue: counts, green: { ...counts, mirrored: 7, mirrorDropped: 2 } } },
    };
    const status = toAppStatus({ ...emptyApp('shop', []), split, mirror }, traffic, () => true);
    assert.deepEqual(status.split, split);
    assert.deepEqual(status.mirror, mirror);
    assert.equal(status.colors.green.mirrored, 7);
    assert.equal(status.colors.green.mirrorDropped, 2);
    assert.equal(status.colors.blue.mirrored, 0);
    const plain = toAppStatus(emptyApp('shop', []), traffic, () => true);
    assert.equal('split' in plain, false);
    assert.equal('mirror' in plain, false);
    assert.equal('mirrored' in plain.colors.blue, false, 'no mirror counters without mirroring');
    assert.equal(plain.colors.green.mirrored, 7, 'copies counted earlier still show');
  });

  it('shows zero counters for an app the router has not seen traffic for', () => {
    const traffic: TrafficSnapshot = { generation: 1, workers: 1, apps: {} };
    const status = toAppStatus(emptyApp('shop', []), traffic, () => true);
    assert.equal(status.colors.green.failed, 0);
    assert.equal(status.colors.green.serverErrors, 0);
  });
});
