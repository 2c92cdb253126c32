// Writing admin replies: one JSON (or text) body with its length, never cached, never sniffed.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AdminReply } from './admin-route.ts';

export function singleHeader(req: IncomingMessage, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** `closing` adds `Connection: close` (the daemon is stopping, or a body was left unread). */
export function sendReply(
  res: ServerResponse,
  status: number,
  reply: AdminReply,
  closing: boolean,
): void {
  const isText = reply.contentType !== undefined;
  const text = isText ? String(reply.body) : `${JSON.stringify(reply.body)}\n`;
  res.statusCode = status;
  res.setHeader('content-type', reply.contentType ?? 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(text));
  res.setHeader('cache-control', 'no-store');
  res.setHeader('x-content-type-options', 'nosniff');
  if (reply.etag !== undefined) res.setHeader('etag', `"${reply.etag}"`);
  if (closing) res.setHeader('connection', 'close');
  res.end(text);
}
