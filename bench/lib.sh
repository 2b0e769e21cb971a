# Sourced by the bench scripts (from the repository root) for what they all do before measuring.

# build_release TARGET...: configure the release preset and build the named targets, quietly.
build_release() {
  cmake --preset release >/dev/null
  cmake --build --preset release -j 2 --target "$@" >/dev/null
}

# make_scratch: set $work to a new temporary folder that is removed when the script exits, however it exits.
make_scratch() {
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
}
