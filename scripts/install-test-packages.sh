#!/usr/bin/env bash
# Debian packages the tests need, installed by the project's own files (run by .ci/run before npm test):
#   chromium        the browser tests (test/card-view.browser.test.ts) drive it through playwright-core;
#                   Playwright's own browser download cannot run on this project's machines.
#   docker-compose  `docker-compose config -q` validates docker-compose.yml offline (no Docker engine).
# Idempotent: installs only what is missing. Uses sudo only when not root.
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium fonts-dejavu-core)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ]; then SUDO=(); else SUDO=(sudo); fi
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "installed: ${missing[*]}"
