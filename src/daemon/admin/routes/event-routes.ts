// GET /v1/events?app=: the deployment timeline as server-sent events (one `HistoryEntry` per
// event, `id` = its history id, so `Last-Event-ID` resumes where a client left off).
import { CutoverError } from '../../../core/errors.ts';
import type { AdminRoute } from '../admin-route.ts';

function parseLastEventId(value: string | undefined): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  if (!/^\d{1,15}$/.test(value.trim())) {
    throw new CutoverError(
      'CUTOVER_ERR_USAGE',
      `Last-Event-ID must be the id of a received event, got "${value}".`,
    );
  }
  return Number(value.trim());
}

export const eventRoutes: readonly AdminRoute[] = [
  {
    method: 'GET',
    pattern: '/v1/events',
    handler: (req, ctx) => {
      const app = req.query.get('app');
      const afterId = parseLastEventId(req.lastEventId);
      return Promise.resolve({
        body: null,
        events: (sink) =>
          ctx.followHistory(
            {
              ...(app === null || app === '' ? {} : { app }),
              ...(afterId === undefined ? {} : { afterId }),
            },
            sink,
          ),
      });
    },
  },
];
