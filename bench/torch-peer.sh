# shellcheck shell=sh
# Sourced by the scripts that measure PyTorch as the peer (step-vs-torch.sh, infer/vs-torch.sh): PyTorch at its
# best on this CPU runs on Debian's OpenBLAS (libopenblas0-pthread) behind libblas.so.3. Without it the
# reference BLAS answers there, PyTorch runs ~35× slower (87 against 3,083 tok/s on a training step), and every
# ratio against it would be that much inflated.

# torch_peer_ready SCRIPT [MACHINE_FILE]: installs what is missing (python3-torch, OpenBLAS: install-deps does
# nothing when all is there, and runs apt-get, through sudo when not root, otherwise), checks that
# /usr/bin/python3 imports torch and that libblas.so.3 is OpenBLAS, and appends the BLAS library to
# MACHINE_FILE when given. Exits the script with a message naming SCRIPT when any of it fails.
torch_peer_ready() {
  if ! SEEK_WITH_TORCH=1 bash scripts/install-deps.sh; then
    echo "$1: scripts/install-deps.sh could not install the missing packages named above (it runs apt-get," \
      "through sudo when not root): run 'SEEK_WITH_TORCH=1 bash scripts/install-deps.sh' as root" >&2
    exit 1
  fi
  if ! torch_err=$(/usr/bin/python3 -c 'import torch' 2>&1); then
    echo "$1: /usr/bin/python3 cannot import torch ($(printf '%s\n' "$torch_err" | tail -n 1))" >&2
    echo "$1: needs python3-torch: SEEK_WITH_TORCH=1 bash scripts/install-deps.sh" >&2
    exit 1
  fi
  blas_lib=$(/sbin/ldconfig -p | awk '/libblas\.so\.3 .*x86-64|libblas\.so\.3 .*AArch64/ {print $NF; exit}')
  blas_lib=$(readlink -f "${blas_lib:-/usr/lib/x86_64-linux-gnu/libblas.so.3}" 2>/dev/null || echo unknown)
  case $blas_lib in
    *openblas*) ;;
    *)
      echo "$1: libblas.so.3 is $blas_lib, not OpenBLAS: PyTorch would run far below its best and every ratio" \
        "against it would be inflated; choose OpenBLAS with 'update-alternatives --config" \
        "libblas.so.3-x86_64-linux-gnu'" >&2
      exit 1
      ;;
  esac
  if [ -n "${2:-}" ]; then echo "libblas.so.3: $blas_lib" >>"$2"; fi
}
