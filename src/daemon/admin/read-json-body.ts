// Reads a request body up to a limit and parses it as JSON. An oversize body is refused with
// 413 without buffering it (QUALITY.md D5).
import type { IncomingMessage } from 'node:http';
import { CutoverError } from '../../core/errors.ts';

/** Room for a 64 KiB cutover.yaml in a JSON string (escapes can double it) and the rest. */
export const ADMIN_BODY_LIMIT_BYTES = 256 * 1024;

function tooLarge(limit: number): CutoverError {
  return new CutoverError(
    'CUTOVER_ERR_ADMIN_BODY_TOO_LARGE',
    `The request body is larger than ${limit} bytes.`,
  );
}

function readLimited(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        // Not `for await`: leaving it early would destroy the socket before the 413 is sent.
        req.off('data', onData);
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => resolve(Buffer.concat(chunks)));
    req.once('error', reject);
  });
}

export async function readJsonBody(req: IncomingMessage, limit: number): Promise<unknown> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) throw tooLarge(limit);
  const text = (await readLimited(req, limit)).toString('utf8').trim();
  if (text === '') return {};
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new CutoverError(
      'CUTOVER_ERR_USAGE',
      `The request body is not valid JSON: ${(error as Error).message}.`,
    );
  }
}
