// An RFC 2136 dynamic-update client signed with TSIG (RFC 8945): one UPDATE message per call,
// over UDP (RFC 1035 §4.2.1) with TCP (§4.2.2) when the message is too large, when the answer
// is truncated, or when UDP gets no answer at all. The response code and signature decide the
// outcome; each failure is a CutoverError that says what to fix.
import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { connect, isIP } from 'node:net';
import { CutoverError } from '../../../core/errors.ts';
import {
  OPCODE_UPDATE,
  RR_CLASS,
  RR_TYPE,
  UDP_MAX_BYTES,
  addressRdata,
  decodeHeader,
  encodeHeader,
  encodeRecord,
  encodeZone,
  rcodeName,
} from './dns-wire.ts';
import type { WireRecord } from './dns-wire.ts';
import { signMessage, verifyResponse } from './tsig.ts';
import type { TsigKey } from './tsig.ts';

/** How long one attempt waits for an answer. */
export const DNS_UPDATE_TIMEOUT_MS = 2000;
/** UDP sends before the TCP attempt (a lost datagram is resent once). */
export const DNS_UDP_TRIES = 2;

export interface DnsServerAddress {
  readonly host: string;
  readonly port: number;
}

/** One change of the update section (RFC 2136 §2.5). */
export type DnsUpdateOperation =
  /** §2.5.2: delete the RRset of this type at the name (no error if there is none). */
  | { readonly kind: 'delete-rrset'; readonly name: string; readonly type: 'A' | 'AAAA' }
  /** §2.5.1: add an A (IPv4) or AAAA (IPv6) record. */
  | { readonly kind: 'add'; readonly name: string; readonly address: string; readonly ttl: number }
  /** §2.5.4: delete one A/AAAA record from its RRset. */
  | { readonly kind: 'delete-address'; readonly name: string; readonly address: string };

export interface DnsUpdateResult {
  readonly transport: 'udp' | 'tcp';
  readonly durationMs: number;
}

export interface DnsUpdateClient {
  readonly server: DnsServerAddress;
  /** Sends one UPDATE for `zone` with these changes, applied by the server all or nothing. */
  update(zone: string, operations: readonly DnsUpdateOperation[]): Promise<DnsUpdateResult>;
  /**
   * Points `name` at `address` alone, in one UPDATE: delete its A and AAAA RRsets, add the
   * address with `ttl`. Used for a flip and for a TTL change alike.
   */
  replaceAddress(
    zone: string,
    name: string,
    address: string,
    ttl: number,
  ): Promise<DnsUpdateResult>;
}

export interface DnsUpdateClientOptions {
  readonly server: DnsServerAddress;
  readonly key: TsigKey;
  readonly timeoutMs?: number;
  readonly udpTries?: number;
  /** Seconds since the epoch for TSIG's Time Signed (tests move it). */
  readonly nowSeconds?: () => number;
}

function toRecord(operation: DnsUpdateOperation): WireRecord {
  switch (operation.kind) {
    case 'delete-rrset':
      return {
        name: operation.name,
        type: RR_TYPE[operation.type],
        class: RR_CLASS.ANY,
        ttl: 0,
        rdata: Buffer.alloc(0),
      };
    case 'add': {
      const { type, rdata } = addressRdata(operation.address);
      return { name: operation.name, type, class: RR_CLASS.IN, ttl: operation.ttl, rdata };
    }
    case 'delete-address': {
      const { type, rdata } = addressRdata(operation.address);
      return { name: operation.name, type, class: RR_CLASS.NONE, ttl: 0, rdata };
    }
  }
}

/** RFC 2136 §2: header, one zone entry, no prerequisites, the update section, no additional. */
function encodeUpdate(id: number, zone: string, operations: readonly DnsUpdateOperation[]): Buffer {
  const records = operations.map((operation) => encodeRecord(toRecord(operation)));
  return Buffer.concat([
    encodeHeader(id, OPCODE_UPDATE, [1, 0, records.length, 0]),
    encodeZone(zone),
    ...records,
  ]);
}

class NoAnswer extends Error {}

function sendUdp(
  server: DnsServerAddress,
  message: Buffer,
  id: number,
  timeoutMs: number,
): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = createSocket(isIP(server.host) === 6 ? 'udp6' : 'udp4');
    const timer = setTimeout(
      () => finish(new NoAnswer(`no answer over UDP in ${timeoutMs} ms`)),
      timeoutMs,
    );
    const finish = (outcome: Buffer | Error): void => {
      clearTimeout(timer);
      socket.close();
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    socket.on('error', (error) => finish(new NoAnswer(error.message)));
    // A datagram from elsewhere, or with another ID, is not the answer (RFC 5452 §9.1).
    socket.on('message', (reply, from) => {
      if (from.port !== server.port || reply.length < 12 || reply.readUInt16BE(0) !== id) return;
      finish(reply);
    });
    socket.connect(server.port, server.host, () => socket.send(message));
  });
}

function sendTcp(server: DnsServerAddress, message: Buffer, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: server.host, port: server.port });
    let received = Buffer.alloc(0);
    const timer = setTimeout(
      () => finish(new NoAnswer(`no answer over TCP in ${timeoutMs} ms`)),
      timeoutMs,
    );
    const finish = (outcome: Buffer | Error): void => {
      clearTimeout(timer);
      socket.destroy();
      if (outcome instanceof Error) reject(outcome);
      else resolve(outcome);
    };
    socket.on('error', (error) => finish(new NoAnswer(error.message)));
    socket.on('connect', () => {
      // RFC 1035 §4.2.2: a two-byte length before the message, both ways.
      const length = Buffer.alloc(2);
      length.writeUInt16BE(message.length, 0);
      socket.write(Buffer.concat([length, message]));
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 2) return;
      const size = received.readUInt16BE(0);
      if (received.length >= 2 + size) finish(received.subarray(2, 2 + size));
    });
    socket.on('end', () =>
      finish(new NoAnswer('the server closed the TCP connection without an answer')),
    );
  });
}

export function createDnsUpdateClient(options: DnsUpdateClientOptions): DnsUpdateClient {
  const { server, key } = options;
  const timeoutMs = options.timeoutMs ?? DNS_UPDATE_TIMEOUT_MS;
  const udpTries = options.udpTries ?? DNS_UDP_TRIES;
  const nowSeconds = options.nowSeconds ?? (() => Math.floor(Date.now() / 1000));
  const where = `${server.host.includes(':') ? `[${server.host}]` : server.host}:${server.port}`;

  /** One signed exchange; a retry is a new message (new ID, new time, new MAC). */
  async function exchange(
    zone: string,
    operations: readonly DnsUpdateOperation[],
    transport: 'udp' | 'tcp',
  ): Promise<{ reply: Buffer; mac: Buffer; transport: 'udp' | 'tcp' }> {
    const id = randomInt(0, 0x10000);
    const { signed, mac } = signMessage(encodeUpdate(id, zone, operations), key, nowSeconds());
    if (transport === 'tcp' || signed.length > UDP_MAX_BYTES) {
      return { reply: await sendTcp(server, signed, timeoutMs), mac, transport: 'tcp' };
    }
    const reply = await sendUdp(server, signed, id, timeoutMs);
    // RFC 2136 §3.8 / RFC 1035 §4.2.1: a truncated answer is asked again over TCP.
    if (decodeHeader(reply).truncated) return exchange(zone, operations, 'tcp');
    return { reply, mac, transport: 'udp' };
  }

  async function send(
    zone: string,
    operations: readonly DnsUpdateOperation[],
  ): Promise<{ reply: Buffer; mac: Buffer; transport: 'udp' | 'tcp' }> {
    let lastFailure = '';
    for (let attempt = 0; attempt <= udpTries; attempt++) {
      // The last attempt goes over TCP: the path may drop UDP, or the answer may be lost.
      const transport = attempt === udpTries ? 'tcp' : 'udp';
      try {
        return await exchange(zone, operations, transport);
      } catch (error) {
        if (!(error instanceof NoAnswer)) throw error;
        lastFailure = error.message;
      }
    }
    throw new CutoverError(
      'CUTOVER_ERR_DNS_UNREACHABLE',
      `The DNS server ${where} did not answer the update of zone ${zone} (${lastFailure}): check the "server" of the DNS config and that the server is running.`,
      { server: where, zone },
    );
  }

  function judge(zone: string, reply: Buffer, mac: Buffer): void {
    const header = decodeHeader(reply);
    const rcode = rcodeName(header.rcode);
    const details = { server: where, zone, rcode, key: key.name };
    if (!header.isResponse || header.opcode !== OPCODE_UPDATE) {
      throw new CutoverError(
        'CUTOVER_ERR_DNS_UPDATE_FAILED',
        `The DNS server ${where} answered the update of zone ${zone} with something that is not an UPDATE response.`,
        details,
      );
    }
    let verdict: ReturnType<typeof verifyResponse>;
    try {
      verdict = verifyResponse(reply, key, mac, nowSeconds());
    } catch (error) {
      verdict = { kind: 'bad', reason: (error as Error).message };
    }
    if (verdict.kind === 'server-error') {
      throw new CutoverError(
        'CUTOVER_ERR_DNS_NOT_AUTHORIZED',
        `The DNS server ${where} rejected the TSIG key "${key.name}" (${rcode}, ${verdict.error}): the key's name, algorithm and secret must match the server's key statement${verdict.error === 'BADTIME' ? ', and the clocks must agree within 300 s' : ''}.`,
        { ...details, tsigError: verdict.error },
      );
    }
    if (header.rcode === 5 && verdict.kind === 'valid') {
      throw new CutoverError(
        'CUTOVER_ERR_DNS_REFUSED',
        `The DNS server ${where} refused the update of zone ${zone} (REFUSED): the zone does not allow updates from key "${key.name}"; allow it with allow-update or update-policy on the server.`,
        details,
      );
    }
    if (verdict.kind !== 'valid') {
      const why = verdict.kind === 'bad' ? verdict.reason : 'the response is not signed';
      throw new CutoverError(
        'CUTOVER_ERR_DNS_UPDATE_FAILED',
        `The DNS server ${where} answered the update of zone ${zone} with ${rcode}, and ${why}${header.rcode === 9 ? `: is the server primary for zone ${zone}?` : '.'}`,
        details,
      );
    }
    if (header.rcode !== 0) {
      throw new CutoverError(
        'CUTOVER_ERR_DNS_UPDATE_FAILED',
        `The DNS server ${where} answered the update of zone ${zone} with ${rcode}: ${header.rcode === 10 ? 'the record is outside the zone' : 'see the server log'}.`,
        details,
      );
    }
  }

  async function update(
    zone: string,
    operations: readonly DnsUpdateOperation[],
  ): Promise<DnsUpdateResult> {
    const started = performance.now();
    const { reply, mac, transport } = await send(zone, operations);
    judge(zone, reply, mac);
    return { transport, durationMs: performance.now() - started };
  }

  return {
    server,
    update,
    replaceAddress: (zone, name, address, ttl) =>
      update(zone, [
        { kind: 'delete-rrset', name, type: 'A' },
        { kind: 'delete-rrset', name, type: 'AAAA' },
        { kind: 'add', name, address, ttl },
      ]),
  };
}
