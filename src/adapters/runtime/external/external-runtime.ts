// The external runtime (issue 2): the release already runs somewhere; cutover only adopts the
// addresses it is given, validates them and routes to them.
import { validateAddresses } from '../../../core/app-state.ts';
import { CutoverError } from '../../../core/errors.ts';
import type { InstanceSpec } from '../../../core/types.ts';
import type { Runtime, StartRequest } from '../../../ports/runtime.ts';

export interface ExternalRuntime extends Runtime {
  readonly kind: 'external';
}

export function createExternalRuntime(): ExternalRuntime {
  return {
    kind: 'external',

    start(request: StartRequest): Promise<readonly InstanceSpec[]> {
      try {
        if (request.addresses === undefined) {
          throw new CutoverError(
            'CUTOVER_ERR_USAGE',
            `The external runtime needs the instance addresses of release ${request.release} (--instances host:port,...).`,
            { field: 'instances' },
          );
        }
        const addresses = validateAddresses(request.addresses);
        const first = request.firstIndex ?? 1;
        if (!Number.isInteger(first) || first < 1) {
          throw new CutoverError(
            'CUTOVER_ERR_USAGE',
            `firstIndex must be a whole number from 1, got ${first}.`,
            { field: 'firstIndex' },
          );
        }
        const prefix =
          request.color === undefined ? request.app : `${request.app}-${request.color}`;
        const instances = addresses.map((address, index) => ({
          id: `${prefix}-${first + index}`,
          address,
        }));
        return Promise.resolve(instances);
      } catch (error) {
        return Promise.reject(error instanceof Error ? error : new Error(String(error)));
      }
    },

    // Stopping is a no-op: cutover did not start these processes and does not own them; the
    // drained color simply stops receiving traffic and its owner retires it.
    stop: () => Promise.resolve(),
  };
}
