// Open-loop load at a fixed rate, for p99 at a given request rate (wrk only does closed loops).
// Latency counts from when a request was due, not when it was sent, so a stalled proxy cannot
// hide its queueing (no coordinated omission).
// Usage: node fixed-rate.ts <url> <rate/s> <seconds> [connections] [host header]  -> one JSON line
import { Pool } from 'undici';

const [url, rateText, secondsText, connText, host] = process.argv.slice(2);
const rate = Number(rateText);
const seconds = Number(secondsText);
const u = new URL(url);
const pool = new Pool(u.origin, {
  connections: Number(connText ?? 64),
  connect: { rejectUnauthorized: false },
});
const latencies: number[] = [];
let errors = 0;
let sent = 0;
const total = Math.floor(rate * seconds);
const start = performance.now();
const headers = host ? { host } : {};

await new Promise<void>((resolve) => {
  let done = 0;
  const finish = () => {
    done++;
    if (done === total) resolve();
  };
  const tick = () => {
    const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * rate));
    while (sent < due) {
      const dueAt = start + (sent / rate) * 1000;
      sent++;
      pool.request({ path: u.pathname + u.search, method: 'GET', headers }).then(
        async (res) => {
          await res.body.dump();
          if (res.statusCode === 200) latencies.push(performance.now() - dueAt);
          else errors++;
          finish();
        },
        () => {
          errors++;
          finish();
        },
      );
    }
    if (sent < total) setTimeout(tick, 1);
  };
  tick();
});
await pool.close();
latencies.sort((a, b) => a - b);
const q = (p: number) =>
  latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? Number.NaN;
process.stdout.write(
  `${JSON.stringify({ rate, seconds, completed: latencies.length, errors, p50: q(0.5), p90: q(0.9), p99: q(0.99), max: latencies.at(-1) })}\n`,
);
