// X-Request-Id values: unique, UUID-shaped, and cheap enough for every request. Each process
// draws a random 74-bit prefix once; a 48-bit counter makes the rest. Request ids identify, they
// are not secrets, so a counter is fine where randomUUID() would cost a measurable share.

import { randomBytes } from 'node:crypto';

const r = randomBytes(10).toString('hex');
const variant = '89ab'[Number.parseInt(r[16], 16) & 3];
const head = `${r.slice(0, 8)}-${r.slice(8, 12)}-4${r.slice(12, 15)}-${variant}${r.slice(17, 20)}-`;
let counter = Number.parseInt(r.slice(0, 6), 16);

export function nextRequestId(): string {
  counter = counter >= 0xffffffffffff ? 0 : counter + 1;
  return head + counter.toString(16).padStart(12, '0');
}
