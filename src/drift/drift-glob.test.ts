import assert from 'node:assert/strict';
import { test } from 'node:test';
import { globToRegExp, matchingGlob } from './drift-glob.ts';

void test('a glob without wildcards matches only the key itself, dots literal', () => {
  assert.equal(globToRegExp('env.APP_VERSION').test('env.APP_VERSION'), true);
  assert.equal(globToRegExp('env.APP_VERSION').test('envXAPP_VERSION'), false);
  assert.equal(globToRegExp('env.APP_VERSION').test('env.APP_VERSION_2'), false);
});

void test('* spans any run of characters, dots and slashes too; ? one character', () => {
  assert.equal(globToRegExp('files.*').test('files.config/app.json'), true);
  assert.equal(globToRegExp('env.SHOP_*').test('env.SHOP_VERSION'), true);
  assert.equal(globToRegExp('env.SHOP_*').test('env.PAYMENTS_URL'), false);
  assert.equal(globToRegExp('config.limits.?ofile').test('config.limits.nofile'), true);
  assert.equal(globToRegExp('config.limits.?ofile').test('config.limits.ofile'), false);
});

void test('regular-expression characters in a glob are literal', () => {
  assert.equal(globToRegExp('files.a+b(1).txt').test('files.a+b(1).txt'), true);
  assert.equal(globToRegExp('files.a+b(1).txt').test('files.aab1.txt'), false);
  assert.equal(globToRegExp('[x]').test('x'), false);
});

void test('matchingGlob names the first glob that matches, or null', () => {
  assert.equal(matchingGlob('env.X', ['files.*', 'env.*', 'env.X']), 'env.*');
  assert.equal(matchingGlob('env.X', ['files.*']), null);
  assert.equal(matchingGlob('env.X', []), null);
});
