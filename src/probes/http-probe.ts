// One active health check: GET the path on one instance, with a deadline, on a fresh
// connection (`Connection: close`, no agent) so a check never reuses a half-dead socket.
import { request } from 'node:http';
import { parseAddress } from '../core/app-state.ts';
import type { Address } from '../core/types.ts';
import type { Clock } from '../ports/clock.ts';

export interface ProbeResult {
  readonly ok: boolean;
  /** `status 200`, `status 503`, `refused`, `reset`, `timeout after 2000 ms`, ... */
  readonly detail: string;
}

function describeError(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ECONNREFUSED':
      return 'refused';
    case 'ECONNRESET':
      return 'reset';
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return 'unreachable';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return 'host not found';
    default:
      return error.code ?? error.message;
  }
}

/** A 2xx or 3xx answer within `timeoutMs` is a pass; anything else names why it failed. */
export function probeHttp(
  clock: Clock,
  address: Address,
  path: string,
  timeoutMs: number,
): Promise<ProbeResult> {
  const { host, port } = parseAddress(address);
  return new Promise<ProbeResult>((resolve) => {
    const deadline = new AbortController();
    let settled = false;
    const finish = (result: ProbeResult): void => {
      if (settled) return;
      settled = true;
      deadline.abort();
      req.destroy();
      resolve(result);
    };
    const req = request({
      host,
      port,
      path,
      method: 'GET',
      agent: false,
      headers: { connection: 'close', 'user-agent': 'cutover-health-check' },
    });
    req.on('response', (res) => {
      const status = res.statusCode ?? 0;
      res.destroy();
      finish({ ok: status >= 200 && status < 400, detail: `status ${status}` });
    });
    req.on('error', (error: NodeJS.ErrnoException) => {
      finish({ ok: false, detail: describeError(error) });
    });
    req.end();
    clock.sleep(timeoutMs, deadline.signal).then(
      () => finish({ ok: false, detail: `timeout after ${timeoutMs} ms` }),
      () => undefined,
    );
  });
}
