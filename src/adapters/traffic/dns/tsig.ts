// TSIG, RFC 8945: signing a request and checking the signature of its response with a shared
// secret (HMAC-SHA256 only). The MAC covers the exact message bytes, so it is computed here over
// the encoded message rather than by a DNS library.
import { createHmac, timingSafeEqual } from 'node:crypto';
import {
  RR_CLASS,
  RR_TYPE,
  canonicalName,
  decodeName,
  decodeRecords,
  encodeName,
  encodeRecord,
} from './dns-wire.ts';

/** RFC 8945 §6: the algorithm name of HMAC-SHA256 (the only one cutover signs with). */
export const HMAC_SHA256 = 'hmac-sha256.';
/** RFC 8945 §5.2.3: the allowed clock difference, in seconds; 300 is the recommended value. */
export const TSIG_FUDGE_S = 300;

/** RFC 8945 §5.2: TSIG error codes carried in the record's Error field. */
export const TSIG_ERRORS: Readonly<Record<number, string>> = {
  16: 'BADSIG',
  17: 'BADKEY',
  18: 'BADTIME',
  22: 'BADTRUNC',
};

export interface TsigKey {
  /** The key's name, as the server's `key "NAME"` statement spells it. */
  readonly name: string;
  readonly algorithm: 'hmac-sha256';
  /** The decoded secret; never logged. */
  readonly secret: Buffer;
}

/** The TSIG variables of RFC 8945 §4.3.3, appended to the message for the digest. */
function tsigVariables(key: TsigKey, timeSigned: number, fudge: number, error: number): Buffer {
  const tail = Buffer.alloc(6 + 2 + 2 + 2);
  writeUInt48(tail, timeSigned, 0);
  tail.writeUInt16BE(fudge, 6);
  tail.writeUInt16BE(error, 8);
  tail.writeUInt16BE(0, 10); // Other Len: no Other Data.
  const classTtl = Buffer.alloc(6);
  classTtl.writeUInt16BE(RR_CLASS.ANY, 0);
  classTtl.writeUInt32BE(0, 2);
  return Buffer.concat([encodeName(key.name), classTtl, encodeName(HMAC_SHA256), tail]);
}

function writeUInt48(buffer: Buffer, value: number, offset: number): void {
  buffer.writeUInt16BE(Math.floor(value / 2 ** 32) & 0xffff, offset);
  buffer.writeUInt32BE((value % 2 ** 32) >>> 0, offset + 2);
}

function readUInt48(buffer: Buffer, offset: number): number {
  return buffer.readUInt16BE(offset) * 2 ** 32 + buffer.readUInt32BE(offset + 2);
}

function hmac(key: TsigKey, parts: readonly Buffer[]): Buffer {
  const mac = createHmac('sha256', key.secret);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

/** RFC 8945 §4.2: the TSIG record's RDATA. */
function tsigRdata(mac: Buffer, originalId: number, timeSigned: number, fudge: number): Buffer {
  const fields = Buffer.alloc(6 + 2 + 2);
  writeUInt48(fields, timeSigned, 0);
  fields.writeUInt16BE(fudge, 6);
  fields.writeUInt16BE(mac.length, 8);
  const tail = Buffer.alloc(6);
  tail.writeUInt16BE(originalId, 0);
  tail.writeUInt16BE(0, 2); // Error.
  tail.writeUInt16BE(0, 4); // Other Len.
  return Buffer.concat([encodeName(HMAC_SHA256), fields, mac, tail]);
}

/**
 * Signs `message` (RFC 8945 §5.1): computes the MAC over it and the TSIG variables, then
 * appends the TSIG record as the last additional record and counts it in ARCOUNT.
 */
export function signMessage(
  message: Buffer,
  key: TsigKey,
  timeSigned: number,
): { signed: Buffer; mac: Buffer } {
  const mac = hmac(key, [message, tsigVariables(key, timeSigned, TSIG_FUDGE_S, 0)]);
  const record = encodeRecord({
    name: key.name,
    type: RR_TYPE.TSIG,
    class: RR_CLASS.ANY,
    ttl: 0,
    rdata: tsigRdata(mac, message.readUInt16BE(0), timeSigned, TSIG_FUDGE_S),
  });
  const signed = Buffer.concat([message, record]);
  signed.writeUInt16BE(signed.readUInt16BE(10) + 1, 10);
  return { signed, mac };
}

/** What the response's TSIG says: nothing, an error the server reports, or a checked MAC. */
export type TsigVerdict =
  | { readonly kind: 'unsigned' }
  | { readonly kind: 'server-error'; readonly error: string }
  | { readonly kind: 'bad'; readonly reason: string }
  | { readonly kind: 'valid' };

/**
 * Checks a response's TSIG (RFC 8945 §5.3.2 / §4.3.1): the MAC covers the request's MAC (with
 * its length), the response without its TSIG record (ARCOUNT one less, the original ID), and the
 * TSIG variables. A server that rejected the key answers with an unsigned TSIG naming the error.
 */
export function verifyResponse(
  response: Buffer,
  key: TsigKey,
  requestMac: Buffer,
  nowSeconds: number,
): TsigVerdict {
  const { records } = decodeRecords(response);
  const additional = records[2] ?? [];
  const last = additional[additional.length - 1];
  if (last === undefined || last.type !== RR_TYPE.TSIG) return { kind: 'unsigned' };
  if (last.name !== canonicalName(key.name)) {
    return { kind: 'bad', reason: `the response is signed with key "${last.name}"` };
  }
  const algorithm = decodeName(response, last.rdataStart);
  let at = algorithm.next;
  const timeSigned = readUInt48(response, at);
  const fudge = response.readUInt16BE(at + 6);
  const macSize = response.readUInt16BE(at + 8);
  at += 10;
  const mac = response.subarray(at, at + macSize);
  at += macSize;
  const originalId = response.readUInt16BE(at);
  const error = response.readUInt16BE(at + 2);
  if (error !== 0)
    return { kind: 'server-error', error: TSIG_ERRORS[error] ?? `TSIG error ${error}` };
  if (algorithm.name !== HMAC_SHA256) {
    return { kind: 'bad', reason: `the response is signed with ${algorithm.name}` };
  }
  const unsigned = Buffer.from(response.subarray(0, last.start));
  unsigned.writeUInt16BE(originalId, 0);
  unsigned.writeUInt16BE(unsigned.readUInt16BE(10) - 1, 10);
  const requestMacSize = Buffer.alloc(2);
  requestMacSize.writeUInt16BE(requestMac.length, 0);
  const expected = hmac(key, [
    requestMacSize,
    requestMac,
    unsigned,
    tsigVariables(key, timeSigned, fudge, error),
  ]);
  if (mac.length !== expected.length || !timingSafeEqual(mac, expected)) {
    return { kind: 'bad', reason: 'the response MAC does not match the key' };
  }
  if (Math.abs(nowSeconds - timeSigned) > fudge) {
    return { kind: 'bad', reason: `the response was signed ${nowSeconds - timeSigned} s off` };
  }
  return { kind: 'valid' };
}
