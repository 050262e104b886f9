# Helpers of the collective tuner tests (sourced after lib.sh): run the coll_check program with the
# preload in PARACLOUD_TUNE=auto, with extra PARACLOUD_* variables from the caller's environment.
coll_prog="$PC_TESTBIN/coll_check"
need_coll() {
  need_mpi
  [ -x "$coll_prog" ] || { echo "FAIL: $coll_prog not built"; exit 1; }
}
# tuned NP OUT ARGS...: coll_check under the preload in auto mode, profile in $work/OUT.json.
tuned() {
  local np=$1 out=$2; shift 2
  PARACLOUD_TUNE=auto PARACLOUD_PROFILE="$work/$out.json" PRELOAD="$PC_RT" \
    run_mpi "$np" "$work/$out" "$coll_prog" "$@"
}
plain() {
  local np=$1 out=$2; shift 2
  PRELOAD= run_mpi "$np" "$work/$out" "$coll_prog" "$@"
}
