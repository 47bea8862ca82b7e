// The "stock @fastify/http-proxy server" of the proxy benchmark: the plugin's defaults, one
// upstream, logs off. Usage: node fastify-http-proxy.ts <port> <upstream> [certFile keyFile]
import { readFileSync } from 'node:fs';
import proxy from '@fastify/http-proxy';
import Fastify from 'fastify';

const [port, upstream, certFile, keyFile] = process.argv.slice(2);
const https = certFile && keyFile ? { cert: readFileSync(certFile), key: readFileSync(keyFile) } : null;
const app = https ? Fastify({ logger: false, https }) : Fastify({ logger: false });
await app.register(proxy, { upstream });
await app.listen({ port: Number(port), host: '127.0.0.1' });
process.on('SIGTERM', () => void app.close().then(() => process.exit(0)));
