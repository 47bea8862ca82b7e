// Request bodies of unknown length (chunked, or HTTP/2 without content-length) are streamed to
// the upstream while counted; crossing the route's limit aborts the upstream request with a
// BodyTooLargeError, which the edge answers with 413.

import { type Readable, Transform } from 'node:stream';
import { BodyTooLargeError } from './upstream-errors.ts';

export function limitBody(source: Readable, limit: number): Readable {
  let seen = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.length;
      if (seen > limit) callback(new BodyTooLargeError(limit));
      else callback(null, chunk);
    },
  });
  // Not `pipeline`: that would destroy the client request (and its socket) when the limit trips,
  // and the client must still get its 413. A client that goes away errors the counter instead.
  source.pipe(counter);
  source.once('error', (err) => counter.destroy(err));
  counter.once('error', () => source.unpipe(counter));
  return counter;
}
