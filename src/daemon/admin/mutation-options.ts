// The controller's MutationOptions from an admin request: the actor, and If-Match when sent.
import type { MutationOptions } from './admin-context.ts';
import type { AdminRequest } from './admin-route.ts';

export function mutationOptions(req: AdminRequest): MutationOptions {
  return req.ifMatch === undefined
    ? { actor: req.actor }
    : { actor: req.actor, ifMatch: req.ifMatch };
}
