// Responses the router writes itself: a status, `x-cutover-error: <CODE>` and a short text body.
import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { STATUS_CODES } from 'node:http';
import { ERROR_CODES } from '../core/errors.ts';
import type { ErrorCode } from '../core/errors.ts';

export const ERROR_HEADER = 'x-cutover-error';

export function errorBody(code: ErrorCode, message: string): string {
  return `${message} (${code})\n`;
}

/** Writes the router's own error response; `close` also ends the client connection after it. */
export function sendRouterError(
  res: ServerResponse,
  code: ErrorCode,
  message: string,
  options: { close?: boolean; status?: number } = {},
): void {
  if (res.headersSent || res.destroyed) return;
  const body = errorBody(code, message);
  if (options.close === true) res.shouldKeepAlive = false;
  res.writeHead(options.status ?? ERROR_CODES[code].status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
    [ERROR_HEADER]: code,
  });
  res.end(body);
}

/** The whole router error response as bytes to write on a raw connection (latin1-safe). */
export function rawRouterError(
  status: number,
  code: ErrorCode,
  message: string,
  close: boolean,
): string {
  // Written as latin1 by the raw path: keep it ASCII so Content-Length stays exact.
  const body = errorBody(code, message).replace(/[^\n\x20-\x7e]/g, '?');
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\n` +
    'content-type: text/plain; charset=utf-8\r\n' +
    `content-length: ${Buffer.byteLength(body)}\r\n` +
    'cache-control: no-store\r\n' +
    `${ERROR_HEADER}: ${code}\r\n` +
    (close ? 'connection: close\r\n' : '') +
    '\r\n' +
    body
  );
}

/** The same response written raw on a socket that left the HTTP server (an upgrade); then closes. */
export function writeRawRouterError(
  socket: Duplex,
  code: ErrorCode,
  message: string,
  status: number = ERROR_CODES[code].status,
): void {
  if (socket.destroyed) return;
  socket.end(rawRouterError(status, code, message, true));
}
