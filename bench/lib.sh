# shellcheck shell=bash
# Sourced by the bench scripts (bash, from the repository root) for what they all do before measuring.

# build_release TARGET...: configure the release preset and build the named targets, quietly. The output goes
# to a log, not /dev/null: Ninja prints the compiler's errors on stdout, so a failed build would otherwise say
# nothing. On failure the log's end (without Ninja's progress lines) is printed and the log kept; no trap
# removes it, as the scripts' own EXIT trap (make_scratch) would replace that one.
build_release() {
  local log status=0
  log=$(mktemp "${TMPDIR:-/tmp}/seek-bench-build.XXXXXX")
  { cmake --preset release && cmake --build --preset release -j 2 --target "$@"; } >"$log" 2>&1 || status=$?
  if ((status != 0)); then
    echo "build_release: building $* failed (exit $status); the end of its output:" >&2
    grep -v '^\[[0-9]*/[0-9]*\] ' "$log" | tail -n 100 >&2 || true
    echo "build_release: the whole output is in $log" >&2
    return "$status"
  fi
  rm -f "$log"
}

# make_scratch: set $work to a new temporary folder that is removed when the script exits, however it exits.
make_scratch() {
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
}

# use_seek SCRIPT: set $SEEK to the binary the script measures: $SEEK when given (e.g. one built at an older
# commit, for before/after runs), else this checkout's release build, built now.
use_seek() {
  if [ -z "${SEEK:-}" ]; then
    build_release seek
    SEEK=./build/release/seek
  fi
  [ -x "$SEEK" ] || { echo "$1: '$SEEK' is not an executable file" >&2; exit 2; }
}

# write_word_corpus FILE SEED DOCS WORDS: DOCS documents of 200 words drawn (Python's random, SEED) from the
# space-separated WORDS, each ended by <|endoftext|>: training text whose content does not matter.
write_word_corpus() {
  python3 - "$@" <<'PY'
import random, sys
path, seed, docs, words = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4].split()
random.seed(seed)
with open(path, "w") as f:
    for d in range(docs):
        f.write(" ".join(random.choice(words) for _ in range(200)) + "\n<|endoftext|>\n")
PY
}
