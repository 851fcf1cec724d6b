#!/usr/bin/env bash
# Installs what gtidflow's sandbox and tests need, only what is missing:
# Debian packages, the Temporal CLI dev server (built once into the cache),
# and node_modules. Fast when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

cache="${GTIDFLOW_CACHE:-$HOME/.cache/gtidflow}"
temporal_version=v1.5.1   # the last tag of the CLI with no replace directives
temporal_bin="$cache/temporal-cli/$temporal_version/temporal"
say() { echo "setup: $*" >&2; }

sudo_=""; [ "$(id -u)" -eq 0 ] || sudo_="sudo"
missing=()
for pkg in mariadb-server mariadb-client mariadb-backup haproxy; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing ${missing[*]}"
  $sudo_ apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Chromium is for the Web UI test alone, which skips without it: a failed
# install is not an error. apt-get update only when the lists are missing
# or stale (the install failed).
if [ ! -x /usr/bin/chromium ]; then
  say "installing chromium (for the Web UI test)"
  install_chromium() { DEBIAN_FRONTEND=noninteractive $sudo_ apt-get install -y -qq chromium >/dev/null 2>&1; }
  install_chromium || { $sudo_ apt-get update -qq && install_chromium; } ||
    say "chromium could not be installed: test/e2e/web-ui.test.ts will be skipped"
fi

if [ ! -x "$temporal_bin" ]; then
  say "building the Temporal CLI $temporal_version (a few minutes, once)"
  mkdir -p "$(dirname "$temporal_bin")"
  GOBIN="$(dirname "$temporal_bin")" GOFLAGS=-mod=mod go install "github.com/temporalio/cli/cmd/temporal@$temporal_version"
fi

# node_modules is fresh when it was installed from this very lock file.
stamp=node_modules/.gtidflow-lock
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  # npm install, not npm ci: the registry here lists only this platform's
  # optional @swc/core binaries, which npm ci reports as missing from the lock.
  say "npm install (from package-lock.json)"
  # playwright-core drives the system chromium; it must never fetch a browser of its own.
  export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
  npm install --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
fi
