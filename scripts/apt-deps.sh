#!/usr/bin/env bash
# Install the Debian packages Haven needs, only those that are missing.
#
#   scripts/apt-deps.sh [PYTHON]      PYTHON: the interpreter the venv is built from (default python3)
#
# Needed: libmagic1 (python-magic), libarchive13 (libarchive-c loads libarchive.so.13),
# postgresql (server for the PostgreSQL tests), chromium (browser tests of the web app), gcc, g++ and the Python headers (pdqhash is C++ and
# builds from source),
# python3-venv only when the interpreter has no ensurepip (Debian's own python3).
# `apt-get update` runs once, and only when something must be installed.
# HAVEN_SKIP_APT=1 skips all of this (machines managed by hand, non-Debian systems).
set -euo pipefail

PYTHON="${1:-python3}"
say() { printf 'apt-deps: %s\n' "$*" >&2; }

if [[ "${HAVEN_SKIP_APT:-0}" == 1 ]]; then
    exit 0
fi
if ! command -v dpkg >/dev/null 2>&1; then
    say "not a Debian system: install libmagic, libarchive, PostgreSQL and a C compiler yourself"
    exit 0
fi

have_pkg() {
    # Debian 13 renamed some libraries with a t64 suffix; either name will do.
    local p
    for p in "$1" "${1}t64"; do
        if [[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" == "install ok installed" ]]; then
            return 0
        fi
    done
    return 1
}

required=()   # Haven cannot run without these
optional=()   # only the PostgreSQL tests need these: they are skipped without them

have_pkg libmagic1 || required+=(libmagic1)
have_pkg libarchive13 || required+=(libarchive13)
# pdqhash is C++ (and some dev tools C): the compilers the interpreter was built with, by their names.
read -r cc cxx < <("$PYTHON" -c 'import sysconfig as s; print(*((s.get_config_var(v) or d).split()[0] for v, d in (("CC", "gcc"), ("CXX", "g++"))))' 2>/dev/null || echo gcc g++)
command -v "$cc" >/dev/null 2>&1 || required+=(gcc)
command -v "$cxx" >/dev/null 2>&1 || required+=(g++)
if ! "$PYTHON" - <<'EOF' 2>/dev/null
import os, sys, sysconfig
sys.exit(0 if os.path.exists(os.path.join(sysconfig.get_paths()["include"], "Python.h")) else 1)
EOF
then
    required+=(python3-dev)
fi
"$PYTHON" -c 'import ensurepip' 2>/dev/null || required+=(python3-venv)
if ! have_pkg postgresql && ! compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null; then
    optional+=(postgresql)
fi
# The browser tests drive Debian's Chromium through Playwright (executable_path=/usr/bin/chromium).
have_pkg chromium || optional+=(chromium)
# `haven analyze --ocr` runs Tesseract; without it that stage says so and its tests are skipped.
have_pkg tesseract-ocr || optional+=(tesseract-ocr)
have_pkg tesseract-ocr-eng || optional+=(tesseract-ocr-eng)

missing=("${required[@]}" "${optional[@]}")
if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
    if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        SUDO=(sudo -n)
    else
        if [[ ${#required[@]} -gt 0 ]]; then
            say "ERROR: missing Debian packages: ${required[*]} ${optional[*]}"
            say "install them as root:  apt-get install ${required[*]} ${optional[*]}"
            exit 1
        fi
        say "WARNING: ${optional[*]} not installed and not root: the PostgreSQL tests will be skipped"
        exit 0
    fi
fi

say "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# The Debian package would create and start a default cluster on port 5432: Haven's tests use their own.
# (createcluster.d is read by postgresql-common and is not a conffile: no dpkg prompt.)
if [[ " ${missing[*]} " == *" postgresql "* ]]; then
    "${SUDO[@]}" mkdir -p /etc/postgresql-common/createcluster.d
    echo 'create_main_cluster = false' | "${SUDO[@]}" tee /etc/postgresql-common/createcluster.d/haven.conf >/dev/null
fi
if ! "${SUDO[@]}" apt-get -o DPkg::Lock::Timeout=600 update -q >"$log" 2>&1; then
    cat "$log" >&2
    say "ERROR: apt-get update failed"
    exit 1
fi
if ! "${SUDO[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}" >"$log" 2>&1; then
    cat "$log" >&2
    say "ERROR: apt-get install ${missing[*]} failed"
    exit 1
fi
say "installed: ${missing[*]}"
