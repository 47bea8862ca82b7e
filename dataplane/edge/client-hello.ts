// The server name (SNI) of a TLS ClientHello, read from the first bytes of a connection before any
// TLS is spoken, for passthrough hosts. Strict and bounded: anything that is not a well-formed
// ClientHello in TLS handshake records is `bad` and the connection is closed.

/** Largest hello read (bytes on the wire): a ClientHello fits in one 16 KiB record. */
export const MAX_HELLO_BYTES = 16_384 + 5 * 4;

export type HelloResult =
  | { status: 'more' }
  | { status: 'bad'; reason: string }
  /** `serverName` is lower case without a trailing dot; absent when the hello sends none. */
  | { status: 'ok'; serverName?: string };

const bad = (reason: string): HelloResult => ({ status: 'bad', reason });

/** The hello's server name from the bytes received so far (`more`: wait for more bytes). */
export function readClientHello(data: Buffer): HelloResult {
  if (data.length > MAX_HELLO_BYTES) return bad('hello too large');
  // The handshake message may be split over several records: join their payloads.
  const parts: Buffer[] = [];
  let have = 0;
  let need = -1;
  let at = 0;
  while (need < 0 || have < need) {
    if (data.length - at < 5)
      return data.length >= MAX_HELLO_BYTES ? bad('hello too large') : { status: 'more' };
    if (data[at] !== 0x16) return bad('not a TLS handshake record');
    if (data[at + 1] !== 0x03) return bad('not a TLS record version');
    const len = data.readUInt16BE(at + 3);
    if (len === 0 || len > 16_384) return bad('bad record length');
    if (data.length - at - 5 < len) return { status: 'more' };
    parts.push(data.subarray(at + 5, at + 5 + len));
    have += len;
    at += 5 + len;
    if (need < 0 && have >= 4) {
      const head = parts.length === 1 ? parts[0] : Buffer.concat(parts);
      if (head[0] !== 0x01) return bad('not a ClientHello');
      need = 4 + head.readUIntBE(1, 3);
      if (need > MAX_HELLO_BYTES) return bad('hello too large');
    }
  }
  const msg = (parts.length === 1 ? parts[0] : Buffer.concat(parts)).subarray(4, need);
  return parseHello(msg);
}

function parseHello(body: Buffer): HelloResult {
  let p = 2 + 32; // client_version, random
  if (body.length < p + 1) return bad('truncated hello');
  p += 1 + body[p]; // session_id
  if (body.length < p + 2) return bad('truncated hello');
  const suites = body.readUInt16BE(p);
  if (suites === 0 || suites % 2 !== 0) return bad('bad cipher suites');
  p += 2 + suites;
  if (body.length < p + 1) return bad('truncated hello');
  p += 1 + body[p]; // compression methods
  if (p === body.length) return { status: 'ok' }; // no extensions
  if (body.length < p + 2) return bad('truncated hello');
  const end = p + 2 + body.readUInt16BE(p);
  if (end !== body.length) return bad('bad extensions length');
  p += 2;
  while (p < end) {
    if (end - p < 4) return bad('truncated extension');
    const type = body.readUInt16BE(p);
    const len = body.readUInt16BE(p + 2);
    p += 4;
    if (end - p < len) return bad('truncated extension');
    if (type === 0) return serverName(body.subarray(p, p + len));
    p += len;
  }
  return { status: 'ok' };
}

function serverName(ext: Buffer): HelloResult {
  if (ext.length < 2 || ext.readUInt16BE(0) !== ext.length - 2) return bad('bad server_name list');
  let p = 2;
  while (p < ext.length) {
    if (ext.length - p < 3) return bad('bad server_name entry');
    const type = ext[p];
    const len = ext.readUInt16BE(p + 1);
    p += 3;
    if (ext.length - p < len) return bad('bad server_name entry');
    if (type === 0) {
      // host_name: ASCII letters, digits, dashes and dots only (RFC 6066), at most 255 bytes.
      const name = ext.toString('latin1', p, p + len);
      if (len === 0 || len > 255 || !/^[A-Za-z0-9.-]+$/.test(name)) return bad('bad host_name');
      const lower = name.toLowerCase();
      return { status: 'ok', serverName: lower.endsWith('.') ? lower.slice(0, -1) : lower };
    }
    p += len;
  }
  return { status: 'ok' };
}
