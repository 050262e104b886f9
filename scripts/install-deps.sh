#!/usr/bin/env bash
# Installs the Debian 12 packages paracloud builds, tests and runs with (idempotent; needs root).
# Usage: scripts/install-deps.sh [--minimal]   (--minimal: build + unit tests only, no Slurm/MPI)
set -euo pipefail

build_pkgs=(build-essential autoconf automake libtool pkg-config ca-certificates git
  libsqlite3-dev sqlite3 libmariadb-dev nlohmann-json3-dev libcli11-dev libcriterion-dev
  clang libclang-rt-14-dev python3 procps)
cluster_pkgs=(slurm-wlm slurmdbd libslurm-dev munge libmunge-dev mariadb-server
  dpkg-dev openmpi-bin libopenmpi-dev libpmix-dev libhdf5-openmpi-dev hdf5-tools
  libhwloc-dev hwloc gfortran lammps hpcc netpipe-openmpi
  python3-numpy python3-mpi4py python3-h5py python3-h5py-mpi python3-netcdf4 r-cran-rmpi
  mpich libmpich-dev)
# (python3-*, r-cran-rmpi, mpich: the runtime's compatibility suite, tests/integration/test_compat.sh.
# Open MPI stays the default MPI: Debian ranks its mpicc/mpirun alternatives above MPICH's.)

pkgs=("${build_pkgs[@]}")
[ "${1:-}" = "--minimal" ] || pkgs+=("${cluster_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#pkgs[@]} packages already installed"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps: missing packages: ${missing[*]}" >&2
  echo "install-deps: run as root (or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "install-deps: installing ${#missing[@]} packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# Package scripts must not start the distro's services (we run our own munge/slurm/mariadb).
policy=/usr/sbin/policy-rc.d
made_policy=0
if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod 755 "$policy"; made_policy=1; fi
trap '[ $made_policy = 1 ] && rm -f "$policy"' EXIT
apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "install-deps: done"
