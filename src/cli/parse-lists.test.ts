import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAddressList, parseHostList, parsePositiveInteger } from './parse-lists.ts';

void test('parses instance addresses, IPv6 included', () => {
  assert.deepEqual(parseAddressList('127.0.0.1:3001, [::1]:3002,app.local:80', '--instances'), [
    '127.0.0.1:3001',
    '[::1]:3002',
    'app.local:80',
  ]);
});

void test('refuses addresses without a port, with a bad port, empty entries and duplicates', () => {
  assert.throws(
    () => parseAddressList('127.0.0.1', '--instances'),
    /--instances: "127.0.0.1" is not host:port/,
  );
  assert.throws(() => parseAddressList('127.0.0.1:0', '--instances'), /not host:port/);
  assert.throws(() => parseAddressList('127.0.0.1:70000', '--instances'), /not host:port/);
  assert.throws(() => parseAddressList('http://a:1', '--instances'), /not host:port/);
  assert.throws(() => parseAddressList('a:1,,b:2', '--instances'), /empty entry/);
  assert.throws(() => parseAddressList('a:1,a:1', '--instances'), /same address twice/);
});

void test('parses host names and lowercases them', () => {
  assert.deepEqual(parseHostList('Shop.Example.com,api', '--hosts'), ['shop.example.com', 'api']);
  assert.throws(() => parseHostList('shop.example.com:8080', '--hosts'), /not a host name/);
  assert.throws(() => parseHostList('https://x', '--hosts'), /not a host name/);
});

void test('positive integers within bounds', () => {
  assert.equal(parsePositiveInteger('20', '--limit', 1000), 20);
  assert.throws(
    () => parsePositiveInteger('0', '--limit', 1000),
    /--limit must be a whole number from 1 to 1000/,
  );
  assert.throws(() => parsePositiveInteger('2.5', '--limit', 1000), /whole number/);
  assert.throws(() => parsePositiveInteger('5000', '--limit', 1000), /whole number/);
});
