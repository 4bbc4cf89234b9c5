#!/usr/bin/env bash
# Mutation testing (cargo-mutants) of the code whose mistakes lose data silently: the sync engine
# (src/sync/), the compare-and-swap writer (src/fsutil.rs), the frontmatter editor
# (src/vault/editor.rs) and the per-field merge (src/sync/merge.rs). Each mutant (a function body
# replaced, an operator swapped, ...) is built and tested; a mutant the tests do not catch is a
# claim no test checks. Survivors are listed in mutants.out/missed.txt: kill each with a test, or
# name it in README (Tests → Mutation testing) as equivalent, with the reason.
#
# Usage: scripts/mutants.sh [--lib] [FILE...]
#   FILE   the files to mutate (default: the four above)
#   --lib  run only the library's unit and property tests for each mutant (minutes, not hours;
#          enough for src/sync/merge.rs and src/sync/plan.rs, whose properties drive them)
# Environment: JOBS (parallel builds, default 1 on 2 cores), OUT (default target/mutants),
# ITERATE=1 (go on from an earlier run in OUT).
# Needs cargo-mutants: `cargo install --locked cargo-mutants`.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo-mutants >/dev/null 2>&1; then
    echo "error: cargo-mutants is not installed" >&2
    echo "hint: cargo install --locked cargo-mutants" >&2
    exit 2
fi

tests=()
if [[ "${1:-}" == "--lib" ]]; then
    tests=(--lib)
    shift
fi
files=("$@")
if [[ ${#files[@]} -eq 0 ]]; then
    files=(src/sync/*.rs src/fsutil.rs src/vault/editor.rs)
fi
args=()
for f in "${files[@]}"; do
    args+=(--file "$f")
done

# A property test that fails on a mutant must not save its failing case into
# proptest-regressions/: replayed against every later mutant (and the next baseline), a case only
# a mutant fails would count them all as caught. Persistence is off for the run.
export PROPTEST_DISABLE_FAILURE_PERSISTENCE=1

# One build at a time fits 2 cores; a mutant whose tests run three times as long as the
# unmutated tree's is counted as timed out (an infinite loop, most often). `ITERATE=1` skips the
# mutants an earlier run in the same OUT caught or found unviable (a run cut short goes on).
extra=()
if [[ "${ITERATE:-0}" == 1 ]]; then
    extra+=(--iterate)
fi
# The crash test (`process_crash`: kill -9 at points a seeded RNG picks, 36 s) is left out: where
# its kills land varies with the machine's speed, so what it catches of a mutant is not
# repeatable; the stop-point tests (`SSOT_TEST_STOP_AT`) reach the same code deterministically.
exec cargo mutants "${args[@]}" "${extra[@]}" \
    --jobs "${JOBS:-1}" \
    --timeout-multiplier 3 \
    --output "${OUT:-target/mutants}" \
    -- "${tests[@]}" -- --skip process_crash
