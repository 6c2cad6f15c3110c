#!/usr/bin/env bash
# The time-and-order sweep of issue #12: the whole suite at several machine clocks and time zones
# (Debian's faketime) and at several pinned service instants (NAVIYAM_TEST_NOW), each in another
# random order (pytest-randomly seeds).
#
#   scripts/test-sweep.sh            # everything below, one run after another (6 x the suite)
#   scripts/test-sweep.sh faketime   # only the machine-clock runs (or: pinned)
#
# redis-server cannot start under faketime, so the tests that start one (tests/faults) run at the real
# clock in the other runs. Each run's summary line is printed; the exit code is non-zero if any failed.
set -uo pipefail
cd "$(dirname "$0")/.."
PYTEST=(.venv/bin/pytest -q -p no:cacheprovider)
command -v faketime >/dev/null || { echo "faketime is missing: apt-get install faketime" >&2; exit 2; }
what="${1:-all}"
failed=0

run() {  # label, then the command
  local label="$1"; shift
  local log; log="$(mktemp)"
  "$@" >"$log" 2>&1; local rc=$?
  printf '%-58s rc=%s  %s\n' "$label" "$rc" "$(grep -E '^[0-9]+ (passed|failed)|^=+ .*(passed|failed)' "$log" | tail -1)"
  [ "$rc" -eq 0 ] || { failed=1; grep -E '^(FAILED|ERROR) ' "$log" | head -20; }
  rm -f "$log"
}

# Each run also takes another random order (pytest-randomly seed), so orders are swept for free.
if [ "$what" = all ] || [ "$what" = faketime ]; then
  for spec in "UTC|2026-12-06 23:50:00|7" "UTC|2026-11-29 15:10:00|99" "Asia/Seoul|2026-11-30 06:30:00|123" \
              "America/Los_Angeles|2026-12-02 12:00:00|2026"; do
    IFS='|' read -r tz when seed <<<"$spec"
    run "machine clock $when ($tz), order $seed" \
      env TZ="$tz" faketime "$when" "${PYTEST[@]}" --ignore=tests/faults --randomly-seed="$seed"
  done
fi
if [ "$what" = all ] || [ "$what" = pinned ]; then
  for spec in "2026-11-23T06:30:00+09:00|1" "2026-11-30T00:10:00+09:00|4242"; do
    IFS='|' read -r now seed <<<"$spec"
    run "service clock pinned at $now, order $seed" \
      env NAVIYAM_TEST_NOW="$now" "${PYTEST[@]}" --randomly-seed="$seed"
  done
fi
exit "$failed"
