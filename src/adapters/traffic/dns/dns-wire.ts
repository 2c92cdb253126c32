// The DNS wire format, as far as an RFC 2136 UPDATE needs it: names, the header, resource
// records, and reading a response back (its header, and where its last additional record, the
// TSIG, starts). A protocol engine: every field cites its RFC section.
//
// Written here rather than with dns-packet 5.6.1: that library encodes every A/AAAA record with
// its 4/16 bytes of RDATA, so it cannot write the RDLENGTH-0 deletes of RFC 2136 §2.5.2, and it
// has no TSIG record, whose MAC must be computed over the exact bytes sent.
import { isIP } from 'node:net';

/** RFC 1035 §3.2.2 / §3.2.4 / RFC 2136 §1.3 / RFC 8945 §4.2. */
export const RR_TYPE = { A: 1, SOA: 6, AAAA: 28, TSIG: 250, ANY: 255 } as const;
/** RFC 1035 §3.2.4, RFC 2136 §1.3 (NONE = 254, ANY = 255). */
export const RR_CLASS = { IN: 1, NONE: 254, ANY: 255 } as const;
/** RFC 2136 §1.3: the UPDATE opcode. */
export const OPCODE_UPDATE = 5;
/** RFC 1035 §4.2.1: a UDP message above this size goes over TCP. */
export const UDP_MAX_BYTES = 512;

/** RFC 1035 §4.1.1 and RFC 2136 §1.3 response codes, by value. */
export const RCODE_NAMES: Readonly<Record<number, string>> = {
  0: 'NOERROR',
  1: 'FORMERR',
  2: 'SERVFAIL',
  3: 'NXDOMAIN',
  4: 'NOTIMP',
  5: 'REFUSED',
  6: 'YXDOMAIN',
  7: 'YXRRSET',
  8: 'NXRRSET',
  9: 'NOTAUTH',
  10: 'NOTZONE',
};

export function rcodeName(rcode: number): string {
  return RCODE_NAMES[rcode] ?? `RCODE${rcode}`;
}

/** One resource record as written on the wire (RFC 1035 §4.1.3). */
export interface WireRecord {
  readonly name: string;
  readonly type: number;
  readonly class: number;
  readonly ttl: number;
  readonly rdata: Buffer;
}

/** A fully qualified name, lower-case, with its trailing dot: `Shop.Example.Test` -> `shop.example.test.`. */
export function canonicalName(name: string): string {
  const trimmed = name.trim().toLowerCase();
  return trimmed.endsWith('.') ? trimmed : `${trimmed}.`;
}

/**
 * RFC 1035 §3.1: a name as length-prefixed labels ending in the root's zero byte, never
 * compressed (RFC 8945 §4.3.3 wants the canonical form for the MAC anyway).
 */
export function encodeName(name: string): Buffer {
  const fqdn = canonicalName(name);
  if (fqdn === '.') return Buffer.from([0]);
  const labels = fqdn.slice(0, -1).split('.');
  const parts: Buffer[] = [];
  for (const label of labels) {
    const bytes = Buffer.from(label, 'ascii');
    if (bytes.length === 0 || bytes.length > 63) {
      throw new Error(`"${name}" is not a valid DNS name: labels are 1 to 63 characters`);
    }
    parts.push(Buffer.from([bytes.length]), bytes);
  }
  parts.push(Buffer.from([0]));
  const encoded = Buffer.concat(parts);
  if (encoded.length > 255) throw new Error(`"${name}" is longer than 255 bytes on the wire`);
  return encoded;
}

/** RFC 1035 §4.1.1: ID, flags (QR, opcode, rcode), and the four section counts. */
export function encodeHeader(id: number, opcode: number, counts: readonly number[]): Buffer {
  const header = Buffer.alloc(12);
  header.writeUInt16BE(id, 0);
  header.writeUInt16BE((opcode & 0xf) << 11, 2);
  for (const [index, count] of counts.entries()) header.writeUInt16BE(count, 4 + index * 2);
  return header;
}

/** RFC 1035 §4.1.3: NAME, TYPE, CLASS, TTL, RDLENGTH, RDATA. */
export function encodeRecord(record: WireRecord): Buffer {
  const fixed = Buffer.alloc(10);
  fixed.writeUInt16BE(record.type, 0);
  fixed.writeUInt16BE(record.class, 2);
  fixed.writeUInt32BE(record.ttl >>> 0, 4);
  fixed.writeUInt16BE(record.rdata.length, 8);
  return Buffer.concat([encodeName(record.name), fixed, record.rdata]);
}

/** RFC 2136 §2.3: the zone section's one entry, ZNAME with ZTYPE SOA and the zone's class. */
export function encodeZone(zone: string): Buffer {
  const fixed = Buffer.alloc(4);
  fixed.writeUInt16BE(RR_TYPE.SOA, 0);
  fixed.writeUInt16BE(RR_CLASS.IN, 2);
  return Buffer.concat([encodeName(zone), fixed]);
}

/** The record type and RDATA of an IP address: A (RFC 1035 §3.4.1) or AAAA (RFC 3596 §2.2). */
export function addressRdata(address: string): { type: number; rdata: Buffer } {
  const family = isIP(address);
  if (family === 4) {
    return { type: RR_TYPE.A, rdata: Buffer.from(address.split('.').map(Number)) };
  }
  if (family === 6) return { type: RR_TYPE.AAAA, rdata: ipv6Bytes(address) };
  throw new Error(`"${address}" is not an IPv4 or IPv6 address`);
}

function ipv6Bytes(address: string): Buffer {
  let text = address;
  // An embedded IPv4 tail (::ffff:1.2.3.4) becomes two hextets.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4?.[1] !== undefined) {
    const [a, b, c, d] = v4[1].split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, -v4[1].length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = tail === undefined ? 0 : 8 - left.length - right.length;
  const hextets = [...left, ...Array<string>(zeros).fill('0'), ...right];
  const bytes = Buffer.alloc(16);
  for (const [index, hextet] of hextets.entries())
    bytes.writeUInt16BE(parseInt(hextet, 16), index * 2);
  return bytes;
}

/** What a response says, read from its header (RFC 1035 §4.1.1). */
export interface ResponseHeader {
  readonly id: number;
  readonly isResponse: boolean;
  readonly opcode: number;
  readonly truncated: boolean;
  readonly rcode: number;
  readonly counts: readonly [number, number, number, number];
}

export function decodeHeader(message: Buffer): ResponseHeader {
  if (message.length < 12)
    throw new Error(`a DNS message of ${message.length} bytes has no header`);
  const flags = message.readUInt16BE(2);
  return {
    id: message.readUInt16BE(0),
    isResponse: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    truncated: (flags & 0x0200) !== 0,
    rcode: flags & 0xf,
    counts: [
      message.readUInt16BE(4),
      message.readUInt16BE(6),
      message.readUInt16BE(8),
      message.readUInt16BE(10),
    ],
  };
}

/**
 * Reads a possibly compressed name (RFC 1035 §4.1.4) at `offset`; returns it (lower-case, with
 * the trailing dot) and the offset just past it in the message.
 */
export function decodeName(message: Buffer, offset: number): { name: string; next: number } {
  const labels: string[] = [];
  let at = offset;
  let next = -1;
  for (let jumps = 0; jumps < 128; jumps++) {
    const length = message[at];
    if (length === undefined) throw new Error('a name runs past the end of the message');
    if (length === 0) {
      if (next < 0) next = at + 1;
      return { name: labels.length === 0 ? '.' : `${labels.join('.')}.`.toLowerCase(), next };
    }
    if ((length & 0xc0) === 0xc0) {
      if (at + 1 >= message.length) throw new Error('a compression pointer is cut off');
      if (next < 0) next = at + 2;
      at = message.readUInt16BE(at) & 0x3fff;
      continue;
    }
    if (at + 1 + length > message.length)
      throw new Error('a label runs past the end of the message');
    labels.push(message.toString('ascii', at + 1, at + 1 + length));
    at += 1 + length;
  }
  throw new Error('a name has too many compression pointers');
}

/** One record read back: where it starts and its decoded fields. */
export interface DecodedRecord {
  readonly start: number;
  readonly name: string;
  readonly type: number;
  readonly class: number;
  readonly ttl: number;
  readonly rdataStart: number;
  readonly rdata: Buffer;
}

/** Walks every section of a message (RFC 2136 §2: zone, prerequisite, update, additional). */
export function decodeRecords(message: Buffer): {
  header: ResponseHeader;
  records: DecodedRecord[][];
} {
  const header = decodeHeader(message);
  let at = 12;
  // The question (zone) entries have no TTL or RDATA.
  for (let i = 0; i < header.counts[0]; i++) at = decodeName(message, at).next + 4;
  const records: DecodedRecord[][] = [[], [], []];
  for (let section = 1; section < 4; section++) {
    for (let i = 0; i < (header.counts[section] ?? 0); i++) {
      const start = at;
      const { name, next } = decodeName(message, at);
      if (next + 10 > message.length) throw new Error('a record is cut off');
      const rdlength = message.readUInt16BE(next + 8);
      const rdataStart = next + 10;
      if (rdataStart + rdlength > message.length) throw new Error('a record is cut off');
      records[section - 1]?.push({
        start,
        name,
        type: message.readUInt16BE(next),
        class: message.readUInt16BE(next + 2),
        ttl: message.readUInt32BE(next + 4),
        rdataStart,
        rdata: message.subarray(rdataStart, rdataStart + rdlength),
      });
      at = rdataStart + rdlength;
    }
  }
  return { header, records };
}
