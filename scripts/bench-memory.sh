#!/usr/bin/env bash
# Wall time and peak memory (maximum resident set size) of `ssot-vault check`, `ssot-vault status`
# and `git status` on a generated 10,000-note vault with git history, for the README.
#
# Usage: scripts/bench-memory.sh [NOTES]     (default 10000)
# Needs GNU time at /usr/bin/time (Debian/Ubuntu: apt-get install time).
set -euo pipefail

notes="${1:-10000}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

if [[ ! -x /usr/bin/time ]]; then
    echo "error: /usr/bin/time (GNU time) is missing: install it with \`apt-get install time\`" >&2
    exit 2
fi

echo "building the release binary..." >&2
(cd "$here" && cargo build --release --quiet --features gen --bin ssot-vault)
target="${CARGO_TARGET_DIR:-$here/target}"
bin="$target/release/ssot-vault"

work="$(mktemp -d "${TMPDIR:-/tmp}/ssot-bench-XXXXXX")"
trap 'rm -rf "$work"' EXIT
vault="$work/vault"

"$bin" generate "$vault" --notes "$notes" --git >&2
# Files written in the same second as git's index are re-hashed by every status until git
# refreshes its index: wait, and let git do that once, as after any first `git status`.
sleep 1
git -C "$vault" status --porcelain >/dev/null

# Runs a command under GNU time; prints "label  wall  peak RSS" (output of the command discarded).
measure() {
    local label="$1"
    shift
    local log="$work/time.log" rc=0 start end
    start="$EPOCHREALTIME"
    /usr/bin/time -v -o "$log" "$@" >/dev/null 2>"$work/stderr.log" || rc=$?
    end="$EPOCHREALTIME"
    local wall rss ms
    # GNU time's "Elapsed (wall clock)" has 10 ms steps; bash's clock gives milliseconds.
    wall="$(sed -n 's/^.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$log")"
    ms="$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.0f", (b - a) * 1000 }')"
    rss="$(sed -n 's/^.*Maximum resident set size (kbytes): //p' "$log")"
    printf '%-24s wall %6s ms (%s)  peak RSS %6.1f MB  (exit %s)\n' "$label" "$ms" "$wall" \
        "$(awk -v k="$rss" 'BEGIN { print k / 1024 }')" "$rc"
    if [[ $rc -ge 2 ]]; then
        sed 's/^/    /' "$work/stderr.log" | head -n 3
    fi
}

echo "vault: $notes generated notes ($(find "$vault" -name '*.md' -not -path '*/.git/*' | wc -l) .md files), $(nproc) cores"
measure "ssot-vault check" "$bin" --vault "$vault" check
measure "ssot-vault status" "$bin" --vault "$vault" status
measure "git status --porcelain" git -C "$vault" status --porcelain
