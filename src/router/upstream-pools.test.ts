import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RouteTarget } from '../core/routing-table.ts';
import { DEFAULT_UPSTREAM_POOL_OPTIONS, UpstreamPools } from './upstream-pools.ts';

const target: RouteTarget = { color: 'blue', release: 'v1', upstreams: ['a:1', 'b:2', 'c:3'] };

function picks(pools: UpstreamPools, n: number, exclude?: ReadonlySet<string>): string[] {
  return Array.from({ length: n }, () => pools.pick(target, exclude) ?? 'none');
}

describe('UpstreamPools.pick', () => {
  it('goes round-robin over the instances of the color', () => {
    const pools = new UpstreamPools(DEFAULT_UPSTREAM_POOL_OPTIONS);
    assert.deepEqual(picks(pools, 6), ['a:1', 'b:2', 'c:3', 'a:1', 'b:2', 'c:3']);
  });

  it('skips an instance the health checks report down while others are up', () => {
    const pools = new UpstreamPools(DEFAULT_UPSTREAM_POOL_OPTIONS);
    pools.setHealth(new Map([['b:2', false]]));
    assert.ok(!picks(pools, 9).includes('b:2'));
    pools.setHealth(new Map([['b:2', true]]));
    assert.ok(picks(pools, 3).includes('b:2'));
  });

  it('still picks a down instance when every instance is down', () => {
    const pools = new UpstreamPools(DEFAULT_UPSTREAM_POOL_OPTIONS);
    pools.setHealth(
      new Map([
        ['a:1', false],
        ['b:2', false],
        ['c:3', false],
      ]),
    );
    assert.notEqual(pools.pick(target), undefined);
  });

  it('skips an instance that refused a connection for the passive window only', async () => {
    const pools = new UpstreamPools({ ...DEFAULT_UPSTREAM_POOL_OPTIONS, passiveDownMs: 30 });
    pools.markRefused('a:1');
    assert.ok(!picks(pools, 6).includes('a:1'));
    await new Promise((resolve) => setTimeout(resolve, 40));
    assert.ok(picks(pools, 3).includes('a:1'));
  });

  it('never returns an instance already tried for the request', () => {
    const pools = new UpstreamPools(DEFAULT_UPSTREAM_POOL_OPTIONS);
    assert.deepEqual(new Set(picks(pools, 6, new Set(['a:1', 'c:3']))), new Set(['b:2']));
    assert.equal(pools.pick(target, new Set(['a:1', 'b:2', 'c:3'])), undefined);
  });

  it('has nothing to pick for a color without instances', () => {
    const pools = new UpstreamPools(DEFAULT_UPSTREAM_POOL_OPTIONS);
    assert.equal(pools.pick({ ...target, upstreams: [] }), undefined);
  });
});
