// The bytes a slow request must receive: derived from the release and the request id, so the
// drain benchmark can check every response byte-exact without keeping copies around.

export const SLOW_BODY_BYTES = 32 * 1024;

export function slowBody(release: string, id: number): Buffer {
  const line = `release=${release} id=${id} `;
  const body = Buffer.alloc(SLOW_BODY_BYTES);
  for (let offset = 0; offset < SLOW_BODY_BYTES; offset += line.length) {
    body.write(line, offset, 'latin1');
  }
  return body;
}
