import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseWrkOutput } from './wrk.ts';

const KEEP_ALIVE_RUN = `Running 5s test @ http://127.0.0.1:41000/
  2 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     1.02ms    1.50ms  52.10ms   95.00%
    Req/Sec    24.10k     2.00k   30.00k    70.00%
  Latency Distribution
     50%  812.00us
     75%    1.10ms
     90%    1.60ms
     99%    1.20s
  240000 requests in 5.00s, 30.00MB read
Requests/sec:  47990.12
Transfer/sec:      6.00MB
`;

const FAILING_RUN = `Running 11s test @ http://127.0.0.1:41001/
  2 threads and 50 connections
  Latency Distribution
     50%    2.00ms
     75%    3.00ms
     90%    4.00ms
     99%   10.50ms
  100000 requests in 11.00s, 10.00MB read
  Socket errors: connect 3, read 550, write 2, timeout 7
  Non-2xx or 3xx responses: 11
Requests/sec:   9090.91
Transfer/sec:      0.90MB
`;

test('parses requests/s and the latency distribution in us, ms and s', () => {
  const result = parseWrkOutput(KEEP_ALIVE_RUN);
  assert.equal(result.requests, 240000);
  assert.equal(result.rps, 47990.12);
  assert.equal(result.p50Ms, 0.812);
  assert.equal(result.p99Ms, 1200);
  assert.equal(result.failed, 0);
});

test('counts socket errors and non-2xx responses as failed', () => {
  const result = parseWrkOutput(FAILING_RUN);
  assert.deepEqual(result.errors, { connect: 3, read: 550, write: 2, timeout: 7, non2xx: 11 });
  assert.equal(result.failed, 573);
  assert.equal(result.p99Ms, 10.5);
});

test('refuses output that is not a wrk report', () => {
  assert.throws(() => parseWrkOutput('unable to connect to 127.0.0.1:1 Connection refused'), {
    message: /unexpected output/,
  });
});
