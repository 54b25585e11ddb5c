#!/usr/bin/env bash
# Runs every natter test: unit tests, the storage conformance suite, the
# end-to-end suites against real servers, and the browser suite (the web
# client in Debian's Chromium). Installs what the browser suite needs when
# it is missing; extra arguments go to `cargo test`.
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

cargo test --workspace "$@"
