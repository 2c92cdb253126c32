import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import {
  RR_CLASS,
  RR_TYPE,
  addressRdata,
  decodeName,
  decodeRecords,
  encodeHeader,
  encodeName,
  encodeRecord,
} from './dns-wire.ts';
import { signMessage, verifyResponse } from './tsig.ts';

void test('names are lower-case labels ending in the root, never compressed', () => {
  assert.deepEqual(
    encodeName('Shop.Example.Test'),
    Buffer.from([
      4, 115, 104, 111, 112, 7, 101, 120, 97, 109, 112, 108, 101, 4, 116, 101, 115, 116, 0,
    ]),
  );
  assert.deepEqual(encodeName('.'), Buffer.from([0]));
  assert.throws(() => encodeName(`${'a'.repeat(64)}.test.`), /1 to 63 characters/);
});

void test('a compressed name is read through its pointer', () => {
  // "test." at 12, then "shop" + pointer to 12.
  const message = Buffer.concat([
    Buffer.alloc(12),
    Buffer.from([4, 116, 101, 115, 116, 0]),
    Buffer.from([4, 115, 104, 111, 112, 0xc0, 12]),
  ]);
  assert.deepEqual(decodeName(message, 18), { name: 'shop.test.', next: 25 });
});

void test('A and AAAA RDATA', () => {
  assert.deepEqual(addressRdata('127.0.0.2'), {
    type: RR_TYPE.A,
    rdata: Buffer.from([127, 0, 0, 2]),
  });
  assert.deepEqual(addressRdata('::1').rdata, Buffer.from([...Array<number>(15).fill(0), 1]));
  assert.deepEqual(
    addressRdata('2001:db8::ffff:1.2.3.4').rdata.toString('hex'),
    '20010db8000000000000ffff01020304',
  );
  assert.throws(() => addressRdata('example.test'), /not an IPv4 or IPv6 address/);
});

void test('a delete record has class ANY, TTL 0 and no RDATA (RFC 2136 §2.5.2)', () => {
  const record = encodeRecord({
    name: 'a.test.',
    type: RR_TYPE.A,
    class: RR_CLASS.ANY,
    ttl: 0,
    rdata: Buffer.alloc(0),
  });
  assert.equal(record.toString('hex'), '0161047465737400' + '0001' + '00ff' + '00000000' + '0000');
});

void test('signing appends the TSIG record last, counts it, and MACs the message and the variables', () => {
  const key = {
    name: 'k.',
    algorithm: 'hmac-sha256' as const,
    secret: Buffer.from('secret-bytes-of-the-test'),
  };
  const message = encodeHeader(0x1234, 5, [0, 0, 0, 0]);
  const { signed, mac } = signMessage(message, key, 1_700_000_000);
  const { header, records } = decodeRecords(signed);
  assert.deepEqual(header.counts, [0, 0, 0, 1]);
  const tsig = records[2]?.[0];
  assert.equal(tsig?.type, RR_TYPE.TSIG);
  assert.equal(tsig?.name, 'k.');
  const variables = Buffer.concat([
    encodeName('k.'),
    Buffer.from('00ff00000000', 'hex'),
    encodeName('hmac-sha256.'),
    Buffer.from('00006553f100012c00000000', 'hex'),
  ]);
  const expected = createHmac('sha256', key.secret).update(message).update(variables).digest();
  assert.deepEqual(mac, expected);
  // A response without a TSIG is unsigned, whatever its code.
  assert.deepEqual(verifyResponse(message, key, mac, 1_700_000_000), { kind: 'unsigned' });
});
