# One image, three entry points: the chart picks one with `args` (operator/main.ts,
# webhooks/main.ts or dataplane/main.ts). Node.js 24 runs the TypeScript directly (type
# stripping), so there is no build step. hack/image-tree.ts assembles the same file tree without
# a container engine; keep the COPY lines of the last stage in its simple form (sources, then one
# destination directory) so that script can read them.

FROM node:24-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only; no install scripts run.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force

FROM node:24-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY contract ./contract
COPY runtime ./runtime
COPY dataplane ./dataplane
COPY operator ./operator
COPY webhooks ./webhooks
# The node image's unprivileged user (uid/gid 1000); the files stay root-owned and read-only to it.
USER 1000:1000
EXPOSE 8080 8443 9000 9100 9101 9102
ENTRYPOINT ["node"]
CMD ["dataplane/main.ts"]
