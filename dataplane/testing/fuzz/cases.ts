// fast-check generators of hostile client traffic, and their encoding to bytes. A case is a plain
// record (so a shrunk counterexample prints readably); `h1Bytes` and `h2Chunks` turn it into
// what goes on the wire. HTTP/1 requests come from a grammar whose every part has a mutation:
// method, request target form, version token, Host variants, smuggling-shaped headers, bodies,
// pipelining, bytes after an upgrade, and a cut (the client closes mid-request). HTTP/2 cases
// are frame sequences over TLS with ALPN h2.

import fc from 'fast-check';
import {
  Flag,
  FrameType,
  frame,
  goawayPayload,
  headerBlock,
  PREFACE,
  priorityPayload,
  settingsPayload,
  u32,
} from './h2.ts';

/** Hosts of the fuzz routing table (see harness.ts), plus ones it does not route. */
export const FUZZ_HOST = 'fuzz.example';
export const OTHER_HOST = 'other.example';
export const SECURE_HOST = 'secure.example';

// ---------------------------------------------------------------- HTTP/1

export interface H1Request {
  method: string;
  target: string;
  version: string;
  /** Host header values in order: none, one, or duplicates. */
  hosts: string[];
  headers: string[];
  /** Line ending of the head: CRLF, or bare LF (forbidden). */
  lf: boolean;
  body: string;
}

export interface H1Case {
  kind: 'h1';
  tls: boolean;
  requests: H1Request[];
  /** Raw bytes after the last request (after an upgrade they are tunnel payload). */
  after: string;
  /** Close after this share of the bytes (mid-request close); null sends everything. */
  cut: number | null;
}

const PATHS = [
  '/exact',
  '/pre',
  '/pre/a',
  '/pre/a/b?x=1',
  '/ws/chat',
  '/ws200',
  '/slow',
  '/upload',
  '/',
  '/nothing',
  '/exactly',
  '/prefix',
  '/secret',
];

/** Dot-segments, encoded slashes, backslashes and escapes of unreserved characters. */
const TRICKY_PATHS = [
  '/pre/../secret',
  '/pre/./a',
  '/./exact',
  '/exact/.',
  '/exact/',
  '//exact',
  '/pre//a',
  '/pre/%2e%2e/secret',
  '/pre/%2E%2E/%2E%2E/exact',
  '/pre%2Fa',
  '/pre%2fa',
  '/pre/%5C..%5Csecret',
  '/pre\\..\\secret',
  '/%65xact',
  '/%70re/a',
  '/pre/%zz',
  '/pre/%',
  '/pre/a%00b',
  '/pre/a#frag',
  '/pre/\u00e9',
  '/exact?/../secret',
  '/upload/..',
  '/ws/../ws200',
  '/slow/..;/secret',
];

const HOSTS = [
  FUZZ_HOST,
  FUZZ_HOST,
  OTHER_HOST,
  SECURE_HOST,
  'FUZZ.Example.',
  `${FUZZ_HOST}:8080`,
  `${FUZZ_HOST}:`,
  `${FUZZ_HOST}:99999999`,
  '[::1]',
  '[::1]:80',
  '127.0.0.1',
  'unknown.example',
  '',
  `${FUZZ_HOST} ${OTHER_HOST}`,
  `${FUZZ_HOST}/pre`,
  `${FUZZ_HOST}@${OTHER_HOST}`,
  'fuzz_example',
];

const pathArb = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...PATHS) },
  { weight: 3, arbitrary: fc.constantFrom(...TRICKY_PATHS) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.constantFrom('/pre/', '/exact', '/'), fc.integer({ min: 1, max: 20_000 }))
      .map(([p, n]) => p + 'a'.repeat(n)),
  },
);

const targetArb = fc.oneof(
  { weight: 6, arbitrary: pathArb },
  {
    weight: 2,
    arbitrary: fc
      .tuple(
        fc.constantFrom('http://', 'https://', 'HTTP://', 'ftp://', 'http:/'),
        fc.constantFrom(...HOSTS),
        pathArb,
      )
      .map(([s, h, p]) => s + h + p),
  },
  {
    weight: 1,
    arbitrary: fc.constantFrom(`${FUZZ_HOST}:80`, `${FUZZ_HOST}:443`, '127.0.0.1:22', '[::1]:80'),
  },
  { weight: 1, arbitrary: fc.constantFrom('*', '', ' /exact', 'exact', '/exact HTTP/1.1\r\nX: y') },
);

const METHODS = [
  'GET',
  'GET',
  'GET',
  'POST',
  'PUT',
  'HEAD',
  'DELETE',
  'OPTIONS',
  'PATCH',
  'CONNECT',
  'TRACE',
  'get',
  'G\tET',
  'BREW',
  '',
];
const VERSIONS = [
  'HTTP/1.1',
  'HTTP/1.1',
  'HTTP/1.1',
  'HTTP/1.0',
  'HTTP/2.0',
  'HTTP/0.9',
  'HTTP/1.2',
  'HTTP/3.0',
  'http/1.1',
  'HTTP/1.10',
  'HTTP/1.1 ',
  'HTTP/11',
  'HTX/1.1',
  '',
];

/** Header lines (without line ending); some hold an inner line break on purpose. */
const HEADER_SHAPES = [
  'Content-Length: 5',
  'Content-Length: 0',
  'Content-Length: 5\r\nContent-Length: 6',
  'Content-Length: 5\r\nContent-Length: 5',
  'Content-Length: 5, 5',
  'Content-Length: +5',
  'Content-Length: -1',
  'Content-Length: 0x10',
  'Content-Length : 5',
  'Content-Length: 2000',
  'Content-Length: 99999999999999999999',
  'Transfer-Encoding: chunked',
  'Transfer-Encoding: chunked',
  'Transfer-Encoding: Chunked',
  'Transfer-Encoding: chunked, identity',
  'Transfer-Encoding: identity, chunked',
  'Transfer-Encoding: xchunked',
  'Transfer-Encoding : chunked',
  'Transfer-Encoding:\tchunked',
  'Transfer-Encoding: chunked\r\nTransfer-Encoding: identity',
  'Transfer-Encoding:\r\n chunked',
  'X-Fold: a\r\n b',
  'X-Nul: a\u0000b',
  'X-Bare: a\nX-Injected: 1',
  'X-Cr: a\rb',
  'X_User: admin',
  'X_Forwarded_For: 6.6.6.6',
  'Content_Length: 5',
  'Transfer_Encoding: chunked',
  'X-Forwarded-For: 6.6.6.6',
  'X-Real-IP: 6.6.6.6',
  'Forwarded: for=6.6.6.6',
  'X-Forwarded-Host: evil.example',
  'X-Forwarded-Proto: https',
  'X-Request-Id: evil',
  'Expect: 100-continue',
  'Expect: 100-continue',
  'Expect: something-else',
  'Connection: close',
  'Connection: keep-alive',
  'Connection: X-Forwarded-For',
  'Connection: host, content-length',
  'Connection: Upgrade',
  'Upgrade: websocket',
  'Upgrade: WebSocket',
  'Upgrade: h2c',
  'HTTP2-Settings: AAMAAABkAAQAAP__',
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
  'Sec-WebSocket-Version: 13',
  'TE: trailers',
  'Proxy-Connection: keep-alive',
  'X-Canary: on',
  'Cookie: a=b',
  `X-Long: ${'v'.repeat(9000)}`,
  ' X-Leading-Space: 1',
  'NoColon',
  ': empty-name',
];

const chunked = (parts: string[]) => parts.join('');
const BODIES = [
  '',
  '',
  'hello',
  'a'.repeat(2000),
  chunked(['5\r\nhello\r\n', '0\r\n\r\n']),
  chunked(['5;ext=1\r\nhello\r\n', '0\r\nX-Trailer: t\r\n\r\n']),
  chunked(['zz\r\nhello\r\n0\r\n\r\n']),
  chunked(['-1\r\nhello\r\n0\r\n\r\n']),
  chunked(['ffffffffffffffffff\r\nhello\r\n0\r\n\r\n']),
  chunked(['5\r\nhelloXX\r\n0\r\n\r\n']),
  chunked(['5\nhello\n0\n\n']),
  chunked(['400\r\n', 'b'.repeat(1024), '\r\n', '400\r\n', 'b'.repeat(1024), '\r\n0\r\n\r\n']),
  chunked(['0\r\n\r\n', `GET /smuggled HTTP/1.1\r\nHost: ${FUZZ_HOST}\r\n\r\n`]),
  `0\r\n\r\nGET /secret HTTP/1.1\r\nHost: ${OTHER_HOST}\r\n\r\n`,
  `GET /smuggled HTTP/1.1\r\nHost: ${FUZZ_HOST}\r\nX: `,
];

const requestArb: fc.Arbitrary<H1Request> = fc.record({
  method: fc.constantFrom(...METHODS),
  target: targetArb,
  version: fc.constantFrom(...VERSIONS),
  hosts: fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...HOSTS).map((h) => [h]) },
    { weight: 1, arbitrary: fc.constant([] as string[]) },
    { weight: 1, arbitrary: fc.array(fc.constantFrom(...HOSTS), { minLength: 2, maxLength: 2 }) },
  ),
  headers: fc.array(fc.constantFrom(...HEADER_SHAPES), { maxLength: 4 }),
  lf: fc.constantFrom(false, false, false, true),
  body: fc.constantFrom(...BODIES),
});

/**
 * A request the routing table serves, changed on few axes (version token, framing headers,
 * Expect), so backends see traffic and bugs behind a successful route lookup are reachable.
 */
const wellFormedArb: fc.Arbitrary<H1Request> = fc.record({
  method: fc.constantFrom('GET', 'POST', 'HEAD'),
  target: fc.constantFrom('/exact', '/pre/x', '/pre?q=1', '/slow', '/upload', '/upload', '/ws200'),
  version: fc.constantFrom(
    'HTTP/1.1',
    'HTTP/1.1',
    'HTTP/1.1',
    'HTTP/1.0',
    'HTTP/2.0',
    'HTTP/1.2',
    'HTTP/0.9',
  ),
  hosts: fc.constantFrom([FUZZ_HOST], [FUZZ_HOST], [OTHER_HOST], [SECURE_HOST]),
  headers: fc.oneof(
    fc.subarray(['Content-Length: 5', 'X-Forwarded-For: 6.6.6.6', 'X_User: admin', 'Expect: 100-continue']),
    fc.subarray(['Content-Length: 2000', 'Expect: 100-continue', 'Connection: X-Forwarded-For']),
    fc.subarray(['Transfer-Encoding: chunked', 'Expect: 100-continue', 'TE: trailers']),
    fc.constant<string[]>(['Content-Length: 2000', 'Expect: 100-continue']),
  ),
  lf: fc.constant(false),
  body: fc.constantFrom('', 'hello', BODIES[4], BODIES[11], 'a'.repeat(2000)),
});

const WEBSOCKET_HEADERS = [
  'Connection: Upgrade',
  'Upgrade: websocket',
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
  'Sec-WebSocket-Version: 13',
];

/** An upgrade request to one of the WebSocket routes, maybe with a hostile extra header. */
const upgradeArb: fc.Arbitrary<H1Request> = fc.record({
  method: fc.constantFrom('GET', 'GET', 'POST'),
  target: fc.constantFrom('/ws/chat', '/ws200', '/ws/../ws200', '/exact', '/nothing', '/pre/%2e%2e/ws200'),
  version: fc.constantFrom('HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0'),
  hosts: fc.constantFrom([FUZZ_HOST], [OTHER_HOST], ['unknown.example'], [FUZZ_HOST, OTHER_HOST]),
  headers: fc
    .tuple(
      fc.subarray(WEBSOCKET_HEADERS, { minLength: 2 }),
      fc.array(fc.constantFrom(...HEADER_SHAPES), { maxLength: 2 }),
    )
    .map(([a, b]) => [...a, ...b]),
  lf: fc.constant(false),
  body: fc.constantFrom('', 'hello'),
});

/** Bytes sent after the requests: WebSocket frames, a request to smuggle, or garbage. */
const AFTER = [
  '',
  '\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58', // masked text frame "Hello"
  `GET /smuggled HTTP/1.1\r\nHost: ${FUZZ_HOST}\r\n\r\n`,
  `GET /secret HTTP/1.1\r\nHost: ${OTHER_HOST}\r\nX_User: admin\r\n\r\n`,
  '\x00\xff\r\n\r\n',
];

export const h1CaseArb = (opts: { tls?: boolean; upgrade?: boolean } = {}): fc.Arbitrary<H1Case> =>
  fc.record({
    kind: fc.constant('h1' as const),
    tls: opts.tls === undefined ? fc.boolean() : fc.constant(opts.tls),
    requests: opts.upgrade
      ? fc.tuple(fc.array(wellFormedArb, { maxLength: 1 }), upgradeArb).map(([a, b]) => [...a, b])
      : fc.array(fc.oneof({ weight: 3, arbitrary: requestArb }, { weight: 2, arbitrary: wellFormedArb }), {
          minLength: 1,
          maxLength: 3,
        }),
    after: fc.constantFrom(...AFTER),
    cut: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: null, freq: 6 }),
  });

export function h1Bytes(c: H1Case): Buffer {
  let text = '';
  for (const r of c.requests) {
    const eol = r.lf ? '\n' : '\r\n';
    text +=
      r.method === '' && r.version === ''
        ? `${r.target}${eol}`
        : `${r.method} ${r.target} ${r.version}`.trimEnd() + eol;
    for (const h of r.hosts) text += `Host: ${h}${eol}`;
    for (const h of r.headers) text += h + eol;
    text += eol + r.body;
  }
  text += c.after;
  const bytes = Buffer.from(text, 'latin1');
  return c.cut === null ? bytes : bytes.subarray(0, Math.floor(bytes.length * c.cut));
}

// ---------------------------------------------------------------- HTTP/2

export type H2Frame =
  | { t: 'settings'; ack: boolean; entries: Array<[number, number]> }
  | {
      t: 'headers';
      stream: number;
      fields: Array<[string, string]>;
      endStream: boolean;
      continuation: boolean;
    }
  | { t: 'data'; stream: number; size: number; endStream: boolean }
  | { t: 'rst'; stream: number; code: number }
  | { t: 'window'; stream: number; increment: number }
  | { t: 'ping'; ack: boolean }
  | { t: 'goaway'; last: number; code: number }
  | { t: 'priority'; stream: number; dependsOn: number }
  | { t: 'raw'; type: number; flags: number; stream: number; payload: string }
  | { t: 'pause'; ms: number }
  /** `count` streams: HEADERS to `path`, then (after `pauseMs`) RST_STREAM on each. */
  | { t: 'flood'; count: number; path: string; pauseMs: number; firstStream: number };

export interface H2Case {
  kind: 'h2';
  preface: 'ok' | 'missing' | 'garbled';
  /** TLS server name; the routing host of the requests is in `:authority`. */
  sni: string;
  frames: H2Frame[];
}

const streamArb = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(1, 3, 5, 7) },
  { weight: 1, arbitrary: fc.constantFrom(0, 2, 4, 0x7fffffff, 1) },
);

const settingArb: fc.Arbitrary<[number, number]> = fc.oneof(
  fc.constantFrom<[number, number]>(
    [0x2, 2], // ENABLE_PUSH must be 0 or 1
    [0x4, 0x80000000], // INITIAL_WINDOW_SIZE above 2^31-1
    [0x5, 100], // MAX_FRAME_SIZE below 16384
    [0x5, 0x1000000], // above 2^24-1
    [0x3, 0], // MAX_CONCURRENT_STREAMS 0
    [0x4, 0],
    [0x8, 1], // ENABLE_CONNECT_PROTOCOL from a client
    [0x8, 7],
    [0x6, 1],
    [0x1, 0],
  ),
  fc.tuple(fc.integer({ min: 0, max: 0xffff }), fc.integer({ min: 0, max: 0xffffffff })),
);

const H2_PATHS = [
  '/exact',
  '/pre/a',
  '/slow',
  '/upload',
  '/ws/chat',
  '/nothing',
  '/pre/../secret',
  '/pre%2Fa',
  '',
  '*',
  'exact',
];
const AUTHORITIES = [FUZZ_HOST, SECURE_HOST, OTHER_HOST, 'unknown.example', `${FUZZ_HOST}:443`, ''];

/** Request header fields: mostly valid, with pseudo-header abuse mixed in. */
const fieldsArb: fc.Arbitrary<Array<[string, string]>> = fc
  .record({
    method: fc.constantFrom('GET', 'GET', 'POST', 'CONNECT', 'TRACE', 'HEAD', 'get'),
    path: fc.option(fc.constantFrom(...H2_PATHS), { nil: undefined, freq: 8 }),
    authority: fc.constantFrom(...AUTHORITIES),
    secondAuthority: fc.option(fc.constantFrom(...AUTHORITIES), { nil: undefined, freq: 6 }),
    scheme: fc.constantFrom('https', 'https', 'http', ''),
    protocol: fc.option(fc.constant('websocket'), { nil: undefined, freq: 5 }),
    extra: fc.array(
      fc.constantFrom<[string, string]>(
        ['host', OTHER_HOST],
        ['X-Upper', '1'],
        ['connection', 'keep-alive'],
        ['transfer-encoding', 'chunked'],
        ['te', 'trailers'],
        ['te', 'gzip'],
        ['upgrade', 'websocket'],
        ['keep-alive', 'timeout=5'],
        ['content-length', '5'],
        ['content-length', '2000'],
        ['x_user', 'admin'],
        ['x-forwarded-for', '6.6.6.6'],
        [':foo', 'bar'],
        ['expect', '100-continue'],
        ['x-nul', 'a\u0000b'],
        ['x-crlf', 'a\r\nx-injected: 1'],
        ['sec-websocket-version', '13'],
      ),
      { maxLength: 3 },
    ),
    pseudoLast: fc.boolean(),
  })
  .map((f) => {
    const pseudo: Array<[string, string]> = [
      [':method', f.method],
      [':scheme', f.scheme],
      [':authority', f.authority],
    ];
    if (f.path !== undefined) pseudo.push([':path', f.path]);
    if (f.secondAuthority !== undefined) pseudo.push([':authority', f.secondAuthority]);
    if (f.protocol !== undefined) pseudo.push([':protocol', f.protocol]);
    return f.pseudoLast ? [...f.extra, ...pseudo] : [...pseudo, ...f.extra];
  });

const h2FrameArb: fc.Arbitrary<H2Frame> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant('headers' as const),
      stream: streamArb,
      fields: fieldsArb,
      endStream: fc.boolean(),
      continuation: fc.boolean(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('data' as const),
      stream: streamArb,
      size: fc.constantFrom(0, 5, 2000, 20_000),
      endStream: fc.boolean(),
    }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('rst' as const),
      stream: streamArb,
      code: fc.constantFrom(0, 2, 8, 0xffffffff),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('settings' as const),
      ack: fc.boolean(),
      entries: fc.array(settingArb, { maxLength: 3 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      t: fc.constant('window' as const),
      stream: fc.constantFrom(0, 1, 3),
      increment: fc.constantFrom(0, 1, 65_535, 0x7fffffff),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('ping' as const), ack: fc.boolean() }) },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('goaway' as const),
      last: fc.constantFrom(0, 1, 0x7fffffff),
      code: fc.constantFrom(0, 1, 0xffffffff),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('priority' as const),
      stream: streamArb,
      dependsOn: fc.constantFrom(0, 1, 3),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('raw' as const),
      type: fc.integer({ min: 0, max: 0xff }),
      flags: fc.integer({ min: 0, max: 0xff }),
      stream: streamArb,
      payload: fc.constantFrom(
        '',
        '\x00',
        '\x00\x00\x00\x00',
        '\xff'.repeat(9),
        '\x00\x00\x00\x01\x00\x00\x00\x00',
      ),
    }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('pause' as const), ms: fc.constantFrom(5, 30) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      t: fc.constant('flood' as const),
      count: fc.integer({ min: 1, max: 40 }),
      path: fc.constantFrom('/slow', '/exact', '/upload'),
      pauseMs: fc.constantFrom(0, 20, 200),
      firstStream: fc.constantFrom(1, 9, 101),
    }),
  },
);

export const h2CaseArb: fc.Arbitrary<H2Case> = fc.record({
  kind: fc.constant('h2' as const),
  preface: fc.constantFrom('ok', 'ok', 'ok', 'ok', 'ok', 'missing', 'garbled'),
  sni: fc.constantFrom(SECURE_HOST, SECURE_HOST, FUZZ_HOST, ''),
  frames: fc.array(h2FrameArb, { minLength: 1, maxLength: 8 }),
});

/** The bytes of a case, in writes separated by pauses (`number` items are milliseconds). */
export function h2Chunks(c: H2Case): Array<Buffer | number> {
  const out: Array<Buffer | number> = [];
  if (c.preface === 'ok') out.push(PREFACE);
  else if (c.preface === 'garbled') out.push(Buffer.from('PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n', 'latin1'));
  if (c.preface !== 'missing')
    out.push(frame(FrameType.SETTINGS, 0, 0), frame(FrameType.SETTINGS, Flag.ACK, 0));
  for (const f of c.frames) {
    switch (f.t) {
      case 'settings':
        out.push(frame(FrameType.SETTINGS, f.ack ? Flag.ACK : 0, 0, settingsPayload(f.entries)));
        break;
      case 'headers': {
        const block = headerBlock(f.fields);
        const end = f.endStream ? Flag.END_STREAM : 0;
        if (!f.continuation) out.push(frame(FrameType.HEADERS, end | Flag.END_HEADERS, f.stream, block));
        else {
          const half = Math.floor(block.length / 2);
          out.push(
            frame(FrameType.HEADERS, end, f.stream, block.subarray(0, half)),
            frame(FrameType.CONTINUATION, Flag.END_HEADERS, f.stream, block.subarray(half)),
          );
        }
        break;
      }
      case 'data':
        out.push(
          frame(FrameType.DATA, f.endStream ? Flag.END_STREAM : 0, f.stream, Buffer.alloc(f.size, 0x61)),
        );
        break;
      case 'rst':
        out.push(frame(FrameType.RST_STREAM, 0, f.stream, u32(f.code)));
        break;
      case 'window':
        out.push(frame(FrameType.WINDOW_UPDATE, 0, f.stream, u32(f.increment)));
        break;
      case 'ping':
        out.push(frame(FrameType.PING, f.ack ? Flag.ACK : 0, 0, Buffer.alloc(8, 7)));
        break;
      case 'goaway':
        out.push(frame(FrameType.GOAWAY, 0, 0, goawayPayload(f.last, f.code)));
        break;
      case 'priority':
        out.push(frame(FrameType.PRIORITY, 0, f.stream, priorityPayload(f.dependsOn, 16)));
        break;
      case 'raw':
        out.push(frame(f.type, f.flags, f.stream, Buffer.from(f.payload, 'latin1')));
        break;
      case 'pause':
        out.push(f.ms);
        break;
      case 'flood': {
        const ids = Array.from({ length: f.count }, (_, i) => f.firstStream + 2 * i);
        const fields: Array<[string, string]> = [
          [':method', 'GET'],
          [':scheme', 'https'],
          [':authority', FUZZ_HOST],
          [':path', f.path],
        ];
        const block = headerBlock(fields);
        out.push(
          Buffer.concat(
            ids.map((id) => frame(FrameType.HEADERS, Flag.END_STREAM | Flag.END_HEADERS, id, block)),
          ),
        );
        if (f.pauseMs > 0) out.push(f.pauseMs);
        out.push(Buffer.concat(ids.map((id) => frame(FrameType.RST_STREAM, 0, id, u32(8)))));
        break;
      }
    }
  }
  return out;
}

export type FuzzCase = H1Case | H2Case;

/** The case as it goes on the wire, escaped, for reports. */
export function describeCase(c: FuzzCase): string {
  if (c.kind === 'h1')
    return `${c.tls ? 'TLS' : 'plain'} HTTP/1 bytes: ${JSON.stringify(h1Bytes(c).toString('latin1'))}`;
  const parts = h2Chunks(c).map((p) => (typeof p === 'number' ? `<pause ${p} ms>` : p.toString('hex')));
  return `HTTP/2 over TLS (SNI ${JSON.stringify(c.sni)}), frames ${JSON.stringify(c.frames)}\n  wire (hex, per write): ${parts.join(' ')}`;
}
