#!/bin/sh
# Installs the npm packages when they are missing or older than the lock file. The devDependency
# `node` brings Node 24 into node_modules/.bin, which npm scripts put first on PATH, so every
# script after this one runs on Node 24 although the machine's own node is 20 (docs/decisions/0001).
set -e
cd "$(dirname "$0")/.."
if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "==> installing npm packages (npm ci)"
  npm ci --no-audit --no-fund
fi
