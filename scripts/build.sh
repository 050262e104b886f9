#!/usr/bin/env bash
# Builds paracloud out of tree (default ./build) from a fresh clone: autoreconf when needed, configure, make -j2.
# Usage: scripts/build.sh [BUILD_DIR] [-- extra configure arguments]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${1:-${PARACLOUD_BUILD_DIR:-$root/build}}
shift || true
[ "${1:-}" = "--" ] && shift
cd "$root"
if [ ! -x configure ] || [ configure.ac -nt configure ] || [ m4/paracloud.m4 -nt configure ]; then
  echo "build: autoreconf -i"
  autoreconf -i >/dev/null
fi
mkdir -p "$build"
cd "$build"
# Configure again when the tree was configured before scripts/fetch-slurm-src.sh put ./slurm-src in
# place (e.g. `quickstart.sh --no-install` first): the jobcomp and prep plugins need it.
stale_src=no
if [ -f Makefile ] && [ -f "$root/slurm-src/config.h" ] && grep -q '^SLURM_SRC_DIR = no$' Makefile; then
  stale_src=yes
fi
if [ ! -f Makefile ] || [ "$root/configure" -nt config.status ] || [ $stale_src = yes ]; then
  echo "build: configure in $build"
  "$root/configure" -q "$@"
  sed -n '/configuration summary/,/warnings as errors/p' config.log | sed 's/^configure:[0-9]*: //'
fi
echo "build: make -j2"
make -j2 >make.log 2>&1 || { tail -40 make.log; echo "build: FAILED (full log: $build/make.log)" >&2; exit 1; }
echo "build: ok ($build)"
