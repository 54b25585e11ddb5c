#!/usr/bin/env bash
# Runs every natter test: unit tests, the storage conformance suite, the
# end-to-end suites against real servers, and the browser suite (the web
# client in Debian's Chromium). Installs and starts what the browser suite
# and the blob store's S3 tests need when it is missing; extra arguments go
# to `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/bin/chromium ]; then
  echo "installing Debian's chromium for the browser tests" >&2
  if [ "$(id -u)" -eq 0 ]; then
    apt-get update -qq && apt-get install -y -qq chromium >/dev/null
  else
    sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null
  fi
fi
if [ ! -d web/tests/node_modules/playwright-core ] || [ ! -d web/tests/node_modules/axe-core ]; then
  echo "installing the browser test driver (npm ci)" >&2
  npm ci --prefix web/tests --no-audit --no-fund
fi

# The blob store's S3 tests need an S3-compatible server: moto, from PyPI,
# on 127.0.0.1:9000 unless NATTER_TEST_S3_URL names another.
if [ -z "${NATTER_TEST_S3_URL:-}" ]; then
  if ! (exec 3<>/dev/tcp/127.0.0.1/9000) 2>/dev/null; then
    if ! python3 -c 'import moto.server' 2>/dev/null; then
      echo "installing moto[server] for the S3 tests" >&2
      python3 -m pip install --quiet 'moto[server]'
    fi
    nohup python3 -m moto.server -H 127.0.0.1 -p 9000 >/tmp/natter-moto.log 2>&1 &
    for _ in $(seq 1 60); do
      (exec 3<>/dev/tcp/127.0.0.1/9000) 2>/dev/null && break
      sleep 0.5
    done
  fi
  export NATTER_TEST_S3_URL=http://127.0.0.1:9000
fi

cargo test --workspace "$@"
