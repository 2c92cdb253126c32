import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  ROUTER_HTTP_LIMITS,
  guardRequest,
  sanitizeResponseHeaders,
  type GuardOptions,
  type GuardResult,
} from './request-guard.ts';
import { HOP_BY_HOP_FIELDS } from './hop-by-hop.ts';

const PEER = { remoteAddress: '203.0.113.7', remotePort: 50_000, localPort: 8080 };
const OPTIONS: GuardOptions = { trustedProxies: [], listener: 'public' };

function guard(
  rawHeaders: string[],
  overrides: { method?: string; url?: string; httpVersion?: string } = {},
  peer = PEER,
  options = OPTIONS,
): GuardResult {
  return guardRequest(
    {
      method: overrides.method ?? 'GET',
      url: overrides.url ?? '/',
      httpVersion: overrides.httpVersion ?? '1.1',
      rawHeaders,
    },
    peer,
    options,
  );
}

function ok(result: GuardResult): Extract<GuardResult, { ok: true }> {
  if (!result.ok) assert.fail(`expected the request to pass, refused: ${result.reason}`);
  return result;
}

function refused(result: GuardResult, status = 400): string {
  assert.equal(result.ok, false, 'expected the request to be refused');
  if (result.ok) throw new Error('unreachable');
  assert.equal(result.status, status);
  assert.equal(
    result.code,
    status === 431 ? 'CUTOVER_ERR_HTTP_HEADERS_TOO_LARGE' : 'CUTOVER_ERR_HTTP_BAD_REQUEST',
  );
  return result.reason;
}

function values(headers: readonly string[], name: string): string[] {
  const found: string[] = [];
  for (let i = 0; i + 1 < headers.length; i += 2) {
    if (headers[i]?.toLowerCase() === name) found.push(headers[i + 1] ?? '');
  }
  return found;
}

function names(headers: readonly string[]): string[] {
  return headers.filter((_, i) => i % 2 === 0).map((name) => name.toLowerCase());
}

describe('Host', () => {
  it('returns the host lower-cased, without port and trailing dot, and keeps the Host header', () => {
    const result = ok(guard(['Host', 'Shop.Example.COM.:8080']));
    assert.equal(result.host, 'shop.example.com');
    assert.deepEqual(values(result.headers, 'host'), ['Shop.Example.COM.:8080']);
  });

  it('accepts IPv4, bracketed IPv6 and an empty port', () => {
    assert.equal(ok(guard(['Host', '10.0.0.1:80'])).host, '10.0.0.1');
    assert.equal(ok(guard(['Host', '[2001:DB8::1]:8443'])).host, '[2001:db8::1]');
    assert.equal(ok(guard(['Host', 'example.com:'])).host, 'example.com');
  });

  it('refuses a missing, duplicate or empty Host, on HTTP/1.0 too', () => {
    assert.match(refused(guard([])), /no Host/);
    assert.match(refused(guard([], { httpVersion: '1.0' })), /no Host/);
    assert.match(refused(guard(['Host', 'a.com', 'host', 'a.com'])), /more than one Host/);
    refused(guard(['Host', '']));
  });

  for (const bad of [
    'user@example.com',
    'user:pw@example.com',
    'exa mple.com',
    'example.com:99999',
    'example.com:80:80',
    'example.com:8o',
    '::1',
    '[::1',
    '[::1]x',
    '[fe80::1%25eth0]',
    '[v1.fe]',
    'exa%41mple.com',
    'a..b',
    '.example.com',
    'example.com/path',
    'example.com?x',
    '__proto__.com\\',
    'a'.repeat(64) + '.com',
    `${'a.'.repeat(127)}com`,
  ]) {
    it(`refuses Host ${JSON.stringify(bad.slice(0, 30))}`, () => {
      assert.match(refused(guard(['Host', bad])), /Host header is not a valid/);
    });
  }

  it('property: any valid name with any case, port and trailing dot routes as its lower-case name', () => {
    const label = fc.stringMatching(/^[a-zA-Z0-9_-]{1,20}$/);
    fc.assert(
      fc.property(
        fc.array(label, { minLength: 1, maxLength: 5 }),
        fc.option(fc.integer({ min: 0, max: 65535 })),
        fc.boolean(),
        (labels, port, trailingDot) => {
          const name = labels.join('.');
          const value = `${name}${trailingDot ? '.' : ''}${port === null ? '' : `:${port}`}`;
          assert.equal(ok(guard(['Host', value])).host, name.toLowerCase());
        },
      ),
    );
  });

  it('property: a bracketed IPv6 literal routes as its lower-case literal', () => {
    fc.assert(
      fc.property(fc.ipV6(), fc.option(fc.integer({ min: 1, max: 65535 })), (address, port) => {
        const value = `[${address.toUpperCase()}]${port === null ? '' : `:${port}`}`;
        assert.equal(ok(guard(['Host', value])).host, `[${address.toLowerCase()}]`);
      }),
    );
  });

  it('never crashes on any Host value and returns only a safe host', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (value) => {
        const result = guard(['Host', value]);
        if (result.ok) assert.match(result.host, /^([a-z0-9_.-]+|\[[0-9a-f:.]+\])$/);
      }),
    );
  });
});

describe('request-target', () => {
  it('passes an origin-form path through unchanged', () => {
    assert.equal(ok(guard(['Host', 'a.com'], { url: '//x/../y?q=1' })).path, '//x/../y?q=1');
  });

  it('rewrites an absolute-form target whose authority agrees with Host', () => {
    assert.equal(ok(guard(['Host', 'a.com'], { url: 'http://A.com:80/p?q' })).path, '/p?q');
    assert.equal(ok(guard(['Host', 'a.com:443'], { url: 'https://a.com?q' })).path, '/?q');
    assert.equal(ok(guard(['Host', 'a.com'], { url: 'http://a.com' })).path, '/');
  });

  it('refuses an absolute-form target that disagrees with Host', () => {
    assert.match(refused(guard(['Host', 'a.com'], { url: 'http://b.com/' })), /different host/);
    refused(guard(['Host', 'a.com'], { url: 'http://a.com:8080/' }));
    refused(guard(['Host', 'a.com'], { url: 'http://evil@a.com/' }));
    refused(guard(['Host', 'a.com'], { url: 'ftp://a.com/' }));
  });

  it('refuses "*" (OPTIONS * too), authority-form, spaces and fragments', () => {
    assert.match(refused(guard(['Host', 'a.com'], { method: 'OPTIONS', url: '*' })), /OPTIONS \*/);
    refused(guard(['Host', 'a.com'], { url: '*' }));
    refused(guard(['Host', 'a.com'], { url: 'a.com:443' }));
    refused(guard(['Host', 'a.com'], { url: '/a b' }));
    refused(guard(['Host', 'a.com'], { url: '/a#frag' }));
    refused(guard(['Host', 'a.com'], { url: '/a\r\nX: y' }));
    refused(guard(['Host', 'a.com'], { url: '' }));
  });
});

describe('methods and versions', () => {
  it('refuses CONNECT, a non-token method and an unknown version', () => {
    assert.match(
      refused(guard(['Host', 'a.com:443'], { method: 'CONNECT', url: 'a.com:443' })),
      /CONNECT/,
    );
    refused(guard(['Host', 'a.com'], { method: 'GE T' }));
    refused(guard(['Host', 'a.com'], { httpVersion: '2.0' }));
    refused(guard(['Host', 'a.com'], { httpVersion: '0.9' }));
  });

  it('forwards TRACE without content and refuses TRACE with content', () => {
    ok(guard(['Host', 'a.com'], { method: 'TRACE' }));
    ok(guard(['Host', 'a.com', 'Content-Length', '0'], { method: 'TRACE' }));
    refused(guard(['Host', 'a.com', 'Content-Length', '3'], { method: 'TRACE' }));
    refused(guard(['Host', 'a.com', 'Transfer-Encoding', 'chunked'], { method: 'TRACE' }));
  });

  it('accepts HTTP/1.0 with Host and Content-Length', () => {
    ok(guard(['Host', 'a.com', 'Content-Length', '5'], { method: 'POST', httpVersion: '1.0' }));
  });
});

describe('framing', () => {
  it('accepts one Content-Length or exactly chunked, and keeps Content-Length', () => {
    const withLength = ok(guard(['Host', 'a.com', 'Content-Length', '12'], { method: 'POST' }));
    assert.deepEqual(values(withLength.headers, 'content-length'), ['12']);
    const chunked = ok(
      guard(['Host', 'a.com', 'Transfer-Encoding', 'Chunked'], { method: 'POST' }),
    );
    assert.deepEqual(values(chunked.headers, 'transfer-encoding'), []);
  });

  const refusedHeads: [string, string[], string?][] = [
    ['duplicate equal Content-Length', ['Content-Length', '5', 'Content-Length', '5']],
    ['Content-Length list', ['Content-Length', '5, 5']],
    ['signed Content-Length', ['Content-Length', '+5']],
    ['negative Content-Length', ['Content-Length', '-1']],
    ['hex Content-Length', ['Content-Length', '0x5']],
    ['empty Content-Length', ['Content-Length', '']],
    ['huge Content-Length', ['Content-Length', '9'.repeat(16)]],
    ['CL + TE', ['Content-Length', '5', 'Transfer-Encoding', 'chunked']],
    ['TE xchunked', ['Transfer-Encoding', 'xchunked']],
    ['TE chunked, identity', ['Transfer-Encoding', 'chunked, identity']],
    ['TE identity', ['Transfer-Encoding', 'identity']],
    ['TE gzip, chunked', ['Transfer-Encoding', 'gzip, chunked']],
    ['TE chunked twice', ['Transfer-Encoding', 'chunked', 'Transfer-Encoding', 'chunked']],
    ['TE chunked, chunked', ['Transfer-Encoding', 'chunked, chunked']],
    ['TE chunked NBSP', ['Transfer-Encoding', 'chunked\u00a0']],
    ['TE with vertical tab', ['Transfer-Encoding', '\u000bchunked']],
    ['TE empty', ['Transfer-Encoding', '']],
    ['TE on HTTP/1.0', ['Transfer-Encoding', 'chunked'], '1.0'],
  ];
  for (const [label, head, version] of refusedHeads) {
    it(`refuses ${label}`, () => {
      refused(guard(['Host', 'a.com', ...head], { method: 'POST', httpVersion: version ?? '1.1' }));
    });
  }

  it('accepts TE with tab or space padding, as llhttp trims it', () => {
    ok(guard(['Host', 'a.com', 'Transfer-Encoding', ' \tchunked\t'], { method: 'POST' }));
  });
});

describe('header syntax', () => {
  for (const [label, name, value] of [
    ['NUL in a value', 'X-A', 'a\u0000b'],
    ['CR in a value', 'X-A', 'a\rb'],
    ['LF in a value', 'X-A', 'a\nX-Injected: 1'],
    ['DEL in a value', 'X-A', 'a\u007fb'],
    ['a space in a name', 'X A', 'b'],
    ['a colon in a name', 'X:A', 'b'],
    ['an empty name', '', 'b'],
    ['a NUL in a name', 'X\u0000', 'b'],
  ] as const) {
    it(`refuses ${label}`, () => {
      refused(guard(['Host', 'a.com', name, value]));
    });
  }

  it('forwards __proto__ and constructor as ordinary headers', () => {
    const result = ok(guard(['Host', 'a.com', '__proto__', 'x', 'constructor', 'y']));
    assert.deepEqual(values(result.headers, '__proto__'), ['x']);
    assert.deepEqual(values(result.headers, 'constructor'), ['y']);
  });

  it('keeps obs-text in values', () => {
    const result = ok(guard(['Host', 'a.com', 'X-Name', 'caf\u00e9']));
    assert.deepEqual(values(result.headers, 'x-name'), ['caf\u00e9']);
  });

  it('never echoes a header value in a reason', () => {
    const reason = refused(guard(['Host', 'a.com', 'X-A', '<script>\r\n']));
    assert.doesNotMatch(reason, /script/);
  });
});

describe('limits', () => {
  it('answers 431 past maxHeaderCount headers, and accepts exactly the limit', () => {
    const filler = (count: number): string[] =>
      Array.from({ length: count }, (_, i) => [`X-H${i}`, 'v']).flat();
    ok(guard(['Host', 'a.com', ...filler(ROUTER_HTTP_LIMITS.maxHeaderCount - 1)]));
    refused(guard(['Host', 'a.com', ...filler(ROUTER_HTTP_LIMITS.maxHeaderCount)]), 431);
  });

  it('answers 431 past maxHeaderBytes', () => {
    refused(guard(['Host', 'a.com', 'X-Big', 'v'.repeat(ROUTER_HTTP_LIMITS.maxHeaderBytes)]), 431);
    ok(guard(['Host', 'a.com', 'X-Big', 'v'.repeat(ROUTER_HTTP_LIMITS.maxHeaderBytes - 100)]));
  });

  it('keeps the timeouts ordered: keep-alive < headers < request', () => {
    assert.ok(ROUTER_HTTP_LIMITS.keepAliveTimeoutMs < ROUTER_HTTP_LIMITS.headersTimeoutMs);
    assert.ok(ROUTER_HTTP_LIMITS.headersTimeoutMs < ROUTER_HTTP_LIMITS.requestTimeoutMs);
  });
});

describe('hop-by-hop and upgrades', () => {
  it('strips every hop-by-hop field and every field named in Connection', () => {
    const result = ok(
      guard([
        'Host',
        'a.com',
        'Connection',
        'keep-alive, X-Secret, close',
        'Keep-Alive',
        'timeout=5',
        'Proxy-Connection',
        'keep-alive',
        'TE',
        'trailers',
        'Trailer',
        'X-T',
        'Proxy-Authorization',
        'Basic Zm9vOmJhcg==',
        'X-Secret',
        'hop',
        'x-secret',
        'hop2',
        'Authorization',
        'Bearer app-token',
        'X-Kept',
        'yes',
      ]),
    );
    assert.deepEqual(
      names(result.headers).filter(
        (name) => !name.startsWith('x-forwarded') && name !== 'forwarded' && name !== 'x-real-ip',
      ),
      ['host', 'authorization', 'x-kept'],
    );
  });

  it('refuses a Connection option naming Host or Content-Length', () => {
    refused(guard(['Host', 'a.com', 'Connection', 'Host']));
    refused(
      guard(['Host', 'a.com', 'Content-Length', '3', 'Connection', 'content-length'], {
        method: 'POST',
      }),
    );
  });

  it('keeps a WebSocket upgrade as exactly Connection: Upgrade and Upgrade: websocket', () => {
    const result = ok(
      guard([
        'Host',
        'a.com',
        'Connection',
        'keep-alive, Upgrade',
        'Upgrade',
        'websocket',
        'Sec-WebSocket-Key',
        'k',
      ]),
    );
    assert.equal(result.upgrade, 'websocket');
    assert.deepEqual(values(result.headers, 'connection'), ['Upgrade']);
    assert.deepEqual(values(result.headers, 'upgrade'), ['websocket']);
    assert.deepEqual(values(result.headers, 'sec-websocket-key'), ['k']);
  });

  it('strips h2c, HTTP2-Settings and every non-WebSocket upgrade', () => {
    for (const upgrade of ['h2c', 'foo/1', 'h2c, foo']) {
      const result = ok(
        guard([
          'Host',
          'a.com',
          'Connection',
          'Upgrade, HTTP2-Settings',
          'Upgrade',
          upgrade,
          'HTTP2-Settings',
          'AAMAAABkAAQAAP__',
        ]),
      );
      assert.equal(result.upgrade, null);
      assert.deepEqual(values(result.headers, 'upgrade'), []);
      assert.deepEqual(values(result.headers, 'connection'), []);
      assert.deepEqual(values(result.headers, 'http2-settings'), []);
    }
  });

  it('does not treat websocket without Connection: upgrade, on POST or on HTTP/1.0 as an upgrade', () => {
    assert.equal(ok(guard(['Host', 'a.com', 'Upgrade', 'websocket'])).upgrade, null);
    assert.equal(
      ok(
        guard(['Host', 'a.com', 'Connection', 'upgrade', 'Upgrade', 'websocket'], {
          method: 'POST',
        }),
      ).upgrade,
      null,
    );
    assert.equal(
      ok(
        guard(['Host', 'a.com', 'Connection', 'upgrade', 'Upgrade', 'websocket'], {
          httpVersion: '1.0',
        }),
      ).upgrade,
      null,
    );
  });

  const headerName = fc.oneof(
    fc.constantFrom(
      ...HOP_BY_HOP_FIELDS,
      'Connection',
      'X-A',
      'x-b',
      'Cookie',
      'Content-Type',
      'Upgrade',
      'keep-ALIVE',
    ),
    fc.stringMatching(/^[A-Za-z][A-Za-z0-9-]{0,12}$/),
  );
  const headerValue = fc.oneof(
    fc.string({ maxLength: 20 }),
    fc.constantFrom('x-a', 'X-B, cookie', 'upgrade', 'websocket', 'keep-alive, x-a', 'a\r\nb'),
  );
  const head = fc.array(fc.tuple(headerName, headerValue), { maxLength: 20 });

  it('property: the output never holds a hop-by-hop or Connection-named field, nor CR/LF/NUL', () => {
    fc.assert(
      fc.property(head, (pairs) => {
        const raw = ['Host', 'a.com', ...pairs.flat()];
        const result = guard(raw);
        if (!result.ok) return;
        const connectionNamed = new Set(
          pairs
            .filter(([name]) => name.toLowerCase() === 'connection')
            .flatMap(([, value]) => value.split(',').map((member) => member.trim().toLowerCase())),
        );
        for (let i = 0; i + 1 < result.headers.length; i += 2) {
          const name = (result.headers[i] ?? '').toLowerCase();
          const value = result.headers[i + 1] ?? '';
          assert.doesNotMatch(value, /[\r\n\0]/);
          assert.doesNotMatch(name, /[\r\n\0 :]/);
          if (result.upgrade === 'websocket' && (name === 'connection' || name === 'upgrade'))
            continue;
          assert.ok(!HOP_BY_HOP_FIELDS.has(name), `hop-by-hop ${name} crossed`);
          if (
            name !== 'host' &&
            name !== 'x-forwarded-for' &&
            name !== 'x-forwarded-proto' &&
            name !== 'x-forwarded-host' &&
            name !== 'x-real-ip' &&
            name !== 'forwarded'
          ) {
            assert.ok(!connectionNamed.has(name), `Connection-named ${name} crossed`);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('property: any raw head is answered without throwing', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ maxLength: 30 }), { maxLength: 30 }),
        fc.string({ maxLength: 30 }),
        fc.string({ maxLength: 10 }),
        (rawHeaders, url, method) => {
          const result = guard(rawHeaders, { url, method });
          assert.equal(typeof result.ok, 'boolean');
        },
      ),
      { numRuns: 500 },
    );
  });
});

describe('forwarding headers', () => {
  const spoofed = [
    'Host',
    'shop.example.com:8080',
    'X-Forwarded-For',
    '1.1.1.1',
    'X-Forwarded-Proto',
    'https',
    'X-Forwarded-Host',
    'evil.com',
    'X-Forwarded-Port',
    '443',
    'x-forwarded-prefix',
    '/admin',
    'X-Real-IP',
    '1.1.1.1',
    'Forwarded',
    'for=1.1.1.1;proto=https',
  ];

  it('replaces every client-sent forwarding field from an untrusted peer', () => {
    const result = ok(guard(spoofed));
    assert.deepEqual(values(result.headers, 'x-forwarded-for'), ['203.0.113.7']);
    assert.deepEqual(values(result.headers, 'x-forwarded-proto'), ['http']);
    assert.deepEqual(values(result.headers, 'x-forwarded-host'), ['shop.example.com:8080']);
    assert.deepEqual(values(result.headers, 'x-forwarded-port'), []);
    assert.deepEqual(values(result.headers, 'x-forwarded-prefix'), []);
    assert.deepEqual(values(result.headers, 'x-real-ip'), ['203.0.113.7']);
    assert.deepEqual(values(result.headers, 'forwarded'), [
      'for=203.0.113.7;proto=http;host="shop.example.com:8080"',
    ]);
  });

  it('appends to the fields of a trusted proxy, by address or CIDR', () => {
    for (const trustedProxies of [
      ['203.0.113.7'],
      ['203.0.113.0/24'],
      ['10.0.0.1', '203.0.0.0/8'],
    ]) {
      const result = ok(guard(spoofed, {}, PEER, { trustedProxies, listener: 'public' }));
      assert.deepEqual(values(result.headers, 'x-forwarded-for'), ['1.1.1.1, 203.0.113.7']);
      assert.deepEqual(values(result.headers, 'x-forwarded-proto'), ['https']);
      assert.deepEqual(values(result.headers, 'x-forwarded-host'), ['evil.com']);
      assert.deepEqual(values(result.headers, 'x-forwarded-port'), ['443']);
      assert.deepEqual(values(result.headers, 'x-real-ip'), ['1.1.1.1']);
      assert.deepEqual(values(result.headers, 'forwarded'), [
        'for=1.1.1.1;proto=https, for=203.0.113.7;proto=http;host="shop.example.com:8080"',
      ]);
    }
  });

  it('property: exactly one of each forwarding field reaches the app, whatever the client sent', () => {
    const forwardingName = fc.constantFrom(
      'X-Forwarded-For',
      'x-forwarded-proto',
      'X-FORWARDED-HOST',
      'X-Real-IP',
      'Forwarded',
      'X-Forwarded-Port',
    );
    fc.assert(
      fc.property(
        fc.array(fc.tuple(forwardingName, fc.stringMatching(/^[ -~]{0,20}$/)), { maxLength: 8 }),
        fc.boolean(),
        (pairs, trusted) => {
          const result = guard(['Host', 'a.com', ...pairs.flat()], {}, PEER, {
            trustedProxies: trusted ? ['203.0.113.7'] : [],
            listener: 'public',
          });
          if (!result.ok) return;
          for (const name of [
            'x-forwarded-for',
            'x-forwarded-proto',
            'x-forwarded-host',
            'x-real-ip',
            'forwarded',
          ]) {
            assert.equal(values(result.headers, name).length, 1, name);
          }
          const forwardedFor = values(result.headers, 'x-forwarded-for')[0] ?? '';
          assert.ok(forwardedFor === '203.0.113.7' || forwardedFor.endsWith(', 203.0.113.7'));
          if (!trusted) {
            assert.equal(forwardedFor, '203.0.113.7');
            assert.deepEqual(values(result.headers, 'x-forwarded-port'), []);
          }
        },
      ),
    );
  });

  it('drops underscore look-alikes of forwarding, framing and hop-by-hop fields from every peer', () => {
    const lookalikes = [
      'X_Forwarded_For',
      '1.1.1.1',
      'x-forwarded_host',
      'evil.com',
      'X_Real_IP',
      '1.1.1.1',
      'Content_Length',
      '5',
      'Transfer_Encoding',
      'chunked',
      'X_Custom_Thing',
      'kept',
    ];
    for (const trustedProxies of [[], ['203.0.113.7']]) {
      const result = ok(
        guard(['Host', 'a.com', ...lookalikes], {}, PEER, { trustedProxies, listener: 'public' }),
      );
      assert.deepEqual(
        names(result.headers).filter((name) => name.includes('_')),
        ['x_custom_thing'],
      );
    }
  });

  it('does not trust a peer outside the list', () => {
    const result = ok(
      guard(spoofed, {}, PEER, { trustedProxies: ['203.0.114.0/24'], listener: 'public' }),
    );
    assert.deepEqual(values(result.headers, 'x-forwarded-for'), ['203.0.113.7']);
  });

  it('brackets and quotes an IPv6 peer in Forwarded, and unmaps IPv4-mapped peers', () => {
    const v6 = ok(guard(['Host', 'a.com'], {}, { ...PEER, remoteAddress: '2001:DB8::7' }));
    assert.deepEqual(values(v6.headers, 'forwarded'), [
      'for="[2001:db8::7]";proto=http;host=a.com',
    ]);
    assert.deepEqual(values(v6.headers, 'x-forwarded-for'), ['2001:db8::7']);
    const mapped = ok(guard(['Host', 'a.com'], {}, { ...PEER, remoteAddress: '::ffff:127.0.0.1' }));
    assert.deepEqual(values(mapped.headers, 'x-forwarded-for'), ['127.0.0.1']);
    const trusted = ok(
      guard(
        ['Host', 'a.com', 'X-Forwarded-For', '9.9.9.9'],
        {},
        { ...PEER, remoteAddress: '::ffff:127.0.0.1' },
        { trustedProxies: ['127.0.0.1'], listener: 'public' },
      ),
    );
    assert.deepEqual(values(trusted.headers, 'x-forwarded-for'), ['9.9.9.9, 127.0.0.1']);
  });

  it('throws a config error naming a bad trustedProxies entry', () => {
    assert.throws(
      () =>
        guard(['Host', 'a.com'], {}, PEER, { trustedProxies: ['10.0.0.0/99'], listener: 'public' }),
      (error: Error & { code?: string }) =>
        error.code === 'CUTOVER_ERR_CONFIG_INVALID' && /10\.0\.0\.0\/99/.test(error.message),
    );
  });
});

describe('sanitizeResponseHeaders', () => {
  it('strips hop-by-hop and Connection-named fields from a response, keeping Content-Length', () => {
    const out = sanitizeResponseHeaders([
      'Content-Type',
      'text/plain',
      'Content-Length',
      '5',
      'Connection',
      'keep-alive, X-Internal, Content-Length',
      'Keep-Alive',
      'timeout=5',
      'Transfer-Encoding',
      'chunked',
      'X-Internal',
      'secret',
      'Proxy-Authenticate',
      'Basic',
      'Upgrade',
      'h2c',
      'Trailer',
      'X-Checksum',
      'Set-Cookie',
      'a=1',
      'Set-Cookie',
      'b=2',
    ]);
    assert.deepEqual(out, [
      'Content-Type',
      'text/plain',
      'Content-Length',
      '5',
      'Set-Cookie',
      'a=1',
      'Set-Cookie',
      'b=2',
    ]);
  });

  it('keeps the upgrade fields only for a forwarded 101', () => {
    const raw = ['Upgrade', 'websocket', 'Connection', 'Upgrade', 'Sec-WebSocket-Accept', 'abc'];
    assert.deepEqual(sanitizeResponseHeaders(raw), ['Sec-WebSocket-Accept', 'abc']);
    assert.deepEqual(sanitizeResponseHeaders(raw, { upgrade: true }), [
      'Sec-WebSocket-Accept',
      'abc',
      'Upgrade',
      'websocket',
      'Connection',
      'Upgrade',
    ]);
  });

  it('drops response fields with unsafe names or values instead of throwing', () => {
    assert.deepEqual(sanitizeResponseHeaders(['X-A', 'a\r\nb', 'X B', 'c', 'X-C', 'ok', 'odd']), [
      'X-C',
      'ok',
    ]);
  });
});
