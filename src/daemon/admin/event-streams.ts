// Server-sent event streams of the admin API (WHATWG HTML §9.2 "Server-sent events": `id`,
// `event` and one `data` line per event, comment lines as heartbeats). Every open stream ends
// when the daemon stops, so none holds the shutdown until its hard deadline.
import type { ServerResponse } from 'node:http';
import type { EventSink } from './admin-context.ts';

/** A comment line this often keeps idle streams open through proxies and idle timeouts. */
export const EVENT_HEARTBEAT_MS = 15_000;

export interface EventStreams {
  /** Streams until the client leaves or `endAll` is called. */
  serve(res: ServerResponse, follow: (sink: EventSink) => Promise<void>): Promise<void>;
  endAll(): void;
}

export function createEventStreams(): EventStreams {
  const open = new Set<AbortController>();
  let ended = false;
  return {
    async serve(res, follow) {
      const stop = new AbortController();
      if (ended) stop.abort();
      open.add(stop);
      res.on('close', () => stop.abort());
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        // A stream ends only when its connection should: never reuse it for another request.
        connection: 'close',
        'x-content-type-options': 'nosniff',
      });
      res.write(': cutover history events\n\n');
      const heartbeat = setInterval(() => res.write(':\n\n'), EVENT_HEARTBEAT_MS);
      try {
        await follow({
          signal: stop.signal,
          send(event) {
            res.write(`id: ${event.id}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`);
          },
        });
      } finally {
        clearInterval(heartbeat);
        open.delete(stop);
        res.end();
      }
    },
    endAll() {
      ended = true;
      for (const stop of open) stop.abort();
    },
  };
}
