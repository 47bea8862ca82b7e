#!/bin/sh
# Runs before the npm scripts: installs dependencies (and with them Node.js 24 from the `node`
# package) when node_modules is missing or older than the lock file, so a fresh clone needs no
# manual step even where the system Node.js is older.
set -e
cd "$(dirname "$0")/.."
if [ ! -x node_modules/.bin/node ] || [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "installing dependencies (npm ci)" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi
case "$(node_modules/.bin/node -v)" in
  v24.*) ;;
  *) echo "node_modules/.bin/node is not Node.js 24; run npm ci" >&2; exit 1 ;;
esac
