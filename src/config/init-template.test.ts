import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { renderInitTemplate } from './init-template.ts';
import { parseAppConfigText } from './load-app-config.ts';

const MINIMAL =
  'app: shop\nstart: node server.js\ninstances: 2\nhealth:\n  path: /\nsmoke:\n  - path: /\n    status: 200\n';

void test('the template loads as written, to the defaults plus its app, start and instances', () => {
  const config = parseAppConfigText(renderInitTemplate({ app: 'shop', start: 'node server.js' }));
  assert.deepEqual(config, parseAppConfigText(MINIMAL));
});

void test('the template loads for any app name and start command', () => {
  const appName = fc.stringMatching(/^[a-z0-9](?:[a-z0-9-]{0,20}[a-z0-9])?$/);
  const start = fc.oneof(
    fc.constantFrom('npm start', './bin/serve --port "$PORT" # x', '- [a]: b', 'true'),
    fc.string({ minLength: 1 }).filter((s) => s.trim() !== '' && !s.includes('\n')),
  );
  fc.assert(
    fc.property(appName, start, (app, command) => {
      const config = parseAppConfigText(renderInitTemplate({ app, start: command }));
      assert.equal(config.app, app);
      // The loader trims the command, as it trims every text value.
      assert.equal(config.start, command.trim());
    }),
  );
});
