// The "stock @fastify/http-proxy server" of the proxy benchmark: the plugin's defaults, one
// upstream, logs off. Usage: node fastify-http-proxy.ts <port> <upstream> [certFile keyFile]
import { readFileSync } from 'node:fs';
import proxy from '@fastify/http-proxy';
import Fastify, { type FastifyInstance } from 'fastify';

const [port, upstream, certFile, keyFile] = process.argv.slice(2);
const app = (
  certFile && keyFile
    ? Fastify({ logger: false, https: { cert: readFileSync(certFile), key: readFileSync(keyFile) } })
    : Fastify({ logger: false })
) as FastifyInstance;
await app.register(proxy, { upstream });
await app.listen({ port: Number(port), host: '127.0.0.1' });
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
