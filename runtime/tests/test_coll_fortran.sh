#!/bin/bash
# Fortran callers of the tuned collectives (mpif.h, `use mpi`, `use mpi_f08`: coll_f77/f90/f08, built
# from coll_fortran.F90) go through the tuner in PARACLOUD_TUNE=auto, at -np 2..4:
#  - forced algorithms (PARACLOUD_TUNE_FORCE) give correct results, MPI_IN_PLACE included, and the
#    counting op's fingerprints are the forced algorithm's (coll_fp.py), not the library's;
#  - unforced, every rank's tuner trace (PARACLOUD_TUNE_TEST_TRACE) counts exactly the Fortran calls
#    the program made of each tuned collective;
#  - the profile counts them as Fortran calls, as many as without the tuner;
#  - PARACLOUD_TUNE=profile runs the library's algorithms (its fingerprints) and traces nothing.
. "$PC_SRCDIR/tests/lib.sh"
need_mpi
[ "${PC_HAVE_MPIFORT:-no}" = yes ] || skip "no Fortran MPI compiler (mpifort) found by configure"
configs=(
  "allreduce:ring,bcast:binomial,reduce:scatter_gather,allgather:ring,alltoall:pairwise,barrier:dissemination"
  "allreduce:recursive_doubling,bcast:scatter_allgather,reduce:binomial,allgather:bruck,alltoall:bruck,barrier:dissemination"
  "allreduce:rabenseifner,bcast:chain,reduce:native,allgather:recursive_doubling,alltoall:native,barrier:native"
  "allreduce:hierarchical"
)
export PARACLOUD_TUNE_TEST_NODE_SIZE=2  # fake nodes of 2 ranks (the hierarchical allreduce)
fp_count=1000                            # elements of the fingerprinted calls (coll_fortran.F90)

# check_fp ALGO NP FILE NATIVE [WHAT]: the fingerprint of WHAT (default: the collective of ALGO)
# in FILE is ALGO's (coll_fp.py; native: the one in NATIVE).
check_fp() {
  local algo=$1 np=$2 file=$3 native=$4 what=${5:-${1%%:*}} coll=${1%%:*}
  sed -n "s/^fp $what /fp $coll /p" "$file" >"$file.$what"
  sed -n "s/^fp $what /fp $coll /p" "$native" >"$native.$what"
  if "$PYTHON3" "$PC_SRCDIR/tests/coll_fp.py" "$algo" "$np" "$fp_count" "$file.$what" "$native.$what" 2; then
    ok "$name: $what fingerprint is $algo"
  else
    fail "$name: $what fingerprint is not $algo"
  fi
}
# results_ok OUT: no wrong result on any rank, the summary line of NP ranks with 0 failures.
results_ok() {
  if grep -q "^coll_fortran: $np ranks, [0-9]* checks, 0 failures\$" "$work/$1" && ! grep -q WRONG "$work/$1"; then
    return 0
  fi
  fail "$1: wrong results"; grep -m5 -e WRONG -e coll_fortran "$work/$1"; return 1
}
# counts_ok OUT: the profile counts every Fortran call the program made (its "made" line).
counts_ok() {
  local args=() kv
  for kv in $made; do
    case $kv in
      barrier=*) args+=(--expect "MPI_Barrier=${kv#*=}*n") ;;
      bcast=*) args+=(--expect "MPI_Bcast=${kv#*=}*n") ;;
      reduce=*) args+=(--expect "MPI_Reduce=${kv#*=}*n") ;;
      allreduce=*) args+=(--expect "MPI_Allreduce=${kv#*=}*n") ;;
      allgather=*) args+=(--expect "MPI_Allgather=${kv#*=}*n") ;;
      alltoall=*) args+=(--expect "MPI_Alltoall=${kv#*=}*n") ;;
    esac
  done
  if "$PYTHON3" "$PC_SRCDIR/tests/check_profile.py" "$work/$1.json" --np "$np" --fortran "${args[@]}"; then
    ok "$1: the profile counts every Fortran call ($made)"
  else
    fail "$1: profile counts differ from the calls made ($made)"
  fi
}
run() {  # OUT PRELOAD-OR-EMPTY: runs $prog at $np, profile in $work/OUT.json
  PRELOAD=$2 PARACLOUD_PROFILE="$work/$1.json" run_mpi "$np" "$work/$1" "$prog" \
    || { fail "$1: exit status $?"; head -5 "$work/$1" "$work/$1.err"; return 1; }
}

for binding in f77 f90 f08; do
  prog="$PC_TESTBIN/coll_$binding"
  [ -x "$prog" ] || { fail "$prog not built"; continue; }
  for np in 2 3 4; do
    name="$binding.np$np"
    native="$name.native"
    run "$native" "" && results_ok "$native" || continue
    made=$(sed -n 's/^made //p' "$work/$native")
    [ -n "$made" ] || { fail "$native: no 'made' line"; continue; }
    # The library's allreduce is not a ring here: the fingerprint checks can tell them apart.
    grep '^fp allreduce ' "$work/$native" >"$work/$native.lib"
    if "$PYTHON3" "$PC_SRCDIR/tests/coll_fp.py" allreduce:ring "$np" "$fp_count" "$work/$native.lib" >/dev/null; then
      fail "$native: the library's allreduce fingerprint is the ring's: this test cannot tell them apart"
    fi

    # Forced algorithms: correct, and the fingerprints prove the tuner's algorithm ran.
    for c in "${!configs[@]}"; do
      name="$binding.np$np.c$c"
      PARACLOUD_TUNE=auto PARACLOUD_TUNE_FORCE="${configs[$c]}" run "$name" "$PC_RT" || continue
      results_ok "$name" || continue
      [ "$(sed -n 's/^made //p' "$work/$name")" = "$made" ] || fail "$name: made other calls than without the preload"
      forced=$("$PYTHON3" -c 'import json,sys; print(",".join(sorted(json.load(open(sys.argv[1]))["tuning"]["forced"])))' "$work/$name.json" 2>&1)
      [ "$forced" = "$(echo "${configs[$c]}" | tr , '\n' | sort | paste -sd,)" ] || fail "$name: profile tuning.forced is '$forced'"
      counts_ok "$name"
      for item in $(echo "${configs[$c]}" | tr , ' '); do
        case $item in
          allreduce:*) check_fp "$item" "$np" "$work/$name" "$work/$native"
                       check_fp "$item" "$np" "$work/$name" "$work/$native" allreduce_in_place ;;
          reduce:*) check_fp "$item" "$np" "$work/$name" "$work/$native" ;;
        esac
      done
    done

    # Unforced: the tuner saw every call of each tuned collective (keys of both communicators).
    name="$binding.np$np.auto"
    if PARACLOUD_TUNE=auto PARACLOUD_TUNE_TEST_TRACE="$work/$name.trace" run "$name" "$PC_RT" && results_ok "$name"; then
      counts_ok "$name"
      for ((r = 0; r < np; r++)); do
        seen=$(awk '{ for (i = 2; i <= NF; i++) if ($i ~ /^calls=/) s[$1] += substr($i, 7) }
          END { printf "barrier=%d bcast=%d reduce=%d allreduce=%d allgather=%d alltoall=%d",
                s["barrier"], s["bcast"], s["reduce"], s["allreduce"], s["allgather"], s["alltoall"] }' \
          "$work/$name.trace.$r" 2>/dev/null)
        if [ "$seen" = "$made" ]; then ok "$name: rank $r's tuner handled every Fortran call ($seen)"
        else fail "$name: rank $r's tuner saw '$seen', the program made '$made'"; fi
      done
    fi

    # PARACLOUD_TUNE=profile: the same forcing changes nothing.
    name="$binding.np$np.profile"
    if PARACLOUD_TUNE=profile PARACLOUD_TUNE_FORCE="${configs[0]}" PARACLOUD_TUNE_TEST_TRACE="$work/$name.trace" \
      run "$name" "$PC_RT" && results_ok "$name"; then
      counts_ok "$name"
      for what in allreduce allreduce_in_place reduce; do
        check_fp "${what%_in_place}:native" "$np" "$work/$name" "$work/$native" "$what"
      done
      ls "$work/$name.trace".* >/dev/null 2>&1 && fail "$name: the tuner wrote a trace"
      grep -q '"tuning"' "$work/$name.json" && fail "$name: profile mode wrote a tuning object"
    fi
  done
done
finish
