#!/usr/bin/env bash
# The test command (npm test runs setup first): typecheck, then every test
# file in its own process, several at once. Each file starts and stops its
# own real servers on free loopback ports.
set -euo pipefail
cd "$(dirname "$0")/.."
shopt -s nullglob
npx tsc --noEmit -p .
# The longest files first (the sandboxes, then the crash tests): the short ones fill in behind them.
files=(test/e2e/*.test.ts test/workflows/*.test.ts test/activities/*.test.ts test/unit/*.test.ts)
exec node --import tsx --test --test-concurrency="${GTIDFLOW_TEST_CONCURRENCY:-3}" "${files[@]}"
