# Shared helpers of the runtime tests (sourced). Environment from runtime/Makefile.am:
# PC_RT (the preload library), PC_TESTBIN (built MPI test programs), PC_SRCDIR, PC_HAVE_*, MPIRUN.
set -u
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# Keep Open MPI quiet and local on a shared 2-core machine.
export OMPI_MCA_btl=self,vader OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_hwloc_base_binding_policy=none
unset PARACLOUD_TUNE PARACLOUD_DISABLE PARACLOUD_APPS_INCLUDE PARACLOUD_APPS_EXCLUDE PARACLOUD_LOG \
  PARACLOUD_PROFILE PARACLOUD_PROFILE_DIR PARACLOUD_PROFILE_NONMPI PARACLOUD_DUMP_CONFIG \
  PARACLOUD_TUNE_FORCE PARACLOUD_TUNE_REPRODUCIBLE PARACLOUD_TUNE_BUDGET PARACLOUD_TUNE_ROUNDS PARACLOUD_TUNE_MARGIN \
  PARACLOUD_TUNE_TEST_NOISE PARACLOUD_TUNE_TEST_NODE_SIZE PARACLOUD_TUNE_TEST_TRACE \
  SLURM_JOB_ID SLURM_STEP_ID SLURM_STEPID
failures=0

skip() { echo "SKIP: $*"; exit 77; }
need_mpi() {
  [ "${PC_HAVE_MPI:-no}" = yes ] || skip "MPI not found by configure (apt-get install libopenmpi-dev openmpi-bin)"
  [ -f "$PC_RT" ] || { echo "FAIL: $PC_RT not built"; exit 1; }
}
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
ok() { echo "ok: $*"; }
finish() {
  [ "$failures" -eq 0 ] || { echo "$failures failure(s)"; exit 1; }
  exit 0
}

# A scratch directory per test, removed on exit.
work=$(mktemp -d "${TMPDIR:-/tmp}/pc-rt-test.XXXXXX")
trap 'rm -rf "$work"' EXIT
# PARACLOUD_TUNE=auto runs keep their tuning store in the scratch directory, never in ~/.cache.
export PARACLOUD_TUNE_DIR="$work/tune-store" PARACLOUD_TUNE_SITE_DIR="$work/tune-site"

# run_mpi NP OUTFILE PROG ARGS...: runs under mpirun in $work, stdout to OUTFILE, stderr to OUTFILE.err.
# Extra environment for the ranks comes from the caller's environment (mpirun forwards PARACLOUD_*
# via -x below) and LD_PRELOAD=$PRELOAD when PRELOAD is set.
run_mpi() {
  local np=$1 out=$2; shift 2
  local x=()
  for v in $(env | sed -n 's/^\(PARACLOUD_[A-Z_]*\)=.*/\1/p'); do x+=(-x "$v"); done
  if [ -n "${PRELOAD:-}" ]; then x+=(-x "LD_PRELOAD=$PRELOAD"); fi
  (cd "$work" && timeout 120 "$MPIRUN" --oversubscribe -np "$np" "${x[@]}" "$@" >"$out" 2>"$out.err")
}

# profiles_in DIR: the profile files in DIR, one per line.
profiles_in() { ls "$1"/*.json 2>/dev/null; }

# compare_runs NP NAME PROG ARGS...: runs without and with the preload; stdout must be identical and
# exactly one profile must appear in $work/prof.NAME; its path is left in $profile.
compare_runs() {
  local np=$1 name=$2; shift 2
  local dir="$work/prof.$name"
  mkdir -p "$dir"
  PRELOAD= run_mpi "$np" "$work/$name.plain" "$@" || { fail "$name: plain run exited $?"; cat "$work/$name.plain.err"; return 1; }
  PARACLOUD_PROFILE_DIR="$dir" PRELOAD="$PC_RT" run_mpi "$np" "$work/$name.rt" "$@" \
    || { fail "$name: run with the preload exited $?"; cat "$work/$name.rt.err"; return 1; }
  if cmp -s "$work/$name.plain" "$work/$name.rt"; then ok "$name: same output with and without the preload"
  else fail "$name: output differs with the preload"; diff "$work/$name.plain" "$work/$name.rt" | head -20; fi
  if [ -s "$work/$name.rt.err" ]; then fail "$name: stderr with the preload:"; head -5 "$work/$name.rt.err"; fi
  profile=$(profiles_in "$dir")
  if [ "$(echo "$profile" | grep -c .)" -ne 1 ]; then fail "$name: expected one profile in $dir, found: $profile"; return 1; fi
  return 0
}

check_profile() {
  if "$PYTHON3" "$PC_SRCDIR/tests/check_profile.py" "$@"; then ok "profile checks ($1)"; else fail "profile checks ($1)"; fi
}
