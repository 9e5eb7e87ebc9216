#!/bin/sh
# Installs what the two README commands need and the machine may lack:
# - npm packages, when missing or older than the lock file. The devDependency `node` brings Node 24
#   into node_modules/.bin, which npm scripts put first on PATH, so every script after this one runs
#   on Node 24 although the machine's own node may be 20 (docs/decisions/0001-node-24-from-npm.md).
# - with --test: Debian's Chromium (browser tests never download a browser) and Noto fonts (Hindi).
set -e
cd "$(dirname "$0")/.."
if [ ! -x node_modules/.bin/node ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  echo "==> installing npm packages (npm ci)"
  npm ci --no-audit --no-fund
fi
for tool in java mvn; do
  command -v "$tool" >/dev/null 2>&1 || { echo "✖ $tool is required (Keycloak runs on Java 17+, and comes from Maven Central through mvn)"; exit 1; }
done
if [ "$1" = "--test" ] && [ ! -x "${CHROMIUM_PATH:-/usr/bin/chromium}" ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "==> installing Debian's chromium and fonts-noto-core for the browser tests"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-core >/dev/null
  else
    echo "✖ the browser tests need Chromium: apt-get install chromium fonts-noto-core (or set CHROMIUM_PATH)"; exit 1
  fi
fi
