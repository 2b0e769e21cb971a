#!/usr/bin/env bash
# Builds the tokenizer benchmark's mixed text (default 64 MB) from files on this machine, in a fixed order:
# C/C++ headers (/usr/include), Python sources (/usr/lib/python3*), English prose (man pages and docs
# under /usr/share), and generated multilingual text (Chinese, Japanese, Korean, Cyrillic, emoji, digits) from
# multilingual.cjs. Usage: make_corpus.sh OUT [MEGABYTES]
set -euo pipefail
out=${1:?usage: make_corpus.sh OUT [MEGABYTES]}
mb=${2:-64}
here=$(cd "$(dirname "$0")" && pwd)
budget() { echo $(( mb * 1024 * 1024 * $1 / 100 )); }
mkdir -p "$(dirname "$out")"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Each source is cut to its share: code 35%, Python 25%, prose 25%, multilingual 15%.
find /usr/include -type f \( -name '*.h' -o -name '*.hpp' \) -size -512k 2>/dev/null | LC_ALL=C sort |
  xargs cat 2>/dev/null | head -c "$(budget 35)" > "$tmp/code" || true
find /usr/lib/python3* -type f -name '*.py' -size -512k 2>/dev/null | LC_ALL=C sort |
  xargs cat 2>/dev/null | head -c "$(budget 25)" > "$tmp/python" || true
{ find /usr/share/man/man1 /usr/share/man/man3 /usr/share/man/man8 -type f -name '*.gz' 2>/dev/null | LC_ALL=C sort |
    xargs zcat 2>/dev/null | sed -e 's/^\.[A-Za-z]*//' -e 's/\\f[BIRP]//g'
  find /usr/share/doc -type f -name 'copyright' 2>/dev/null | LC_ALL=C sort | xargs cat 2>/dev/null
} | head -c "$(budget 25)" > "$tmp/prose" || true
node "$here/multilingual.cjs" "$(budget 15)" > "$tmp/multi"
cat "$tmp/code" "$tmp/prose" "$tmp/python" "$tmp/multi" > "$out"
ls -l "$out" "$tmp"/* | awk '{print $5, $9}'
