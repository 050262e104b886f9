#!/bin/bash
# Which algorithm ran, proven without timing: a commutative counting user op records its calls and
# elements per rank, a deterministic fingerprint per algorithm (coll_fp.py computes the expected
# one). Also: forced native and PARACLOUD_TUNE=profile give exactly the library's fingerprint, and
# the generated Open MPI rules file changes the library's own algorithm (unless the user set
# OMPI_MCA_coll_tuned_use_dynamic_rules: forced > rules file > defaults). The tuner creates no
# communicator while only the library's algorithms run: the Fortran handle of the program's next
# MPI_Comm_dup is then the same as without the preload.
. "$PC_SRCDIR/tests/lib.sh"
. "$PC_SRCDIR/tests/coll_lib.sh"
need_coll
check_fp() {  # ALGO NP COUNT FILE [NATIVE] [NODE_SIZE]
  if "$PYTHON3" "$PC_SRCDIR/tests/coll_fp.py" "$@"; then ok "fingerprint $1 np=$2 count=$3"; else fail "fingerprint $1 np=$2 count=$3"; fi
}
for np in 2 3 5 8; do
  for n in 1000 7; do
    [ "$n" = 7 ] && [ "$np" != 5 ] && [ "$np" != 8 ] && continue
    plain "$np" "native.$np.$n" fp "$n" || { fail "plain np=$np exited $?"; continue; }
    for a in native recursive_doubling ring rabenseifner hierarchical; do
      r=binomial; [ "$a" = ring ] && r=scatter_gather; [ "$a" = native ] && r=native
      out="fp.$a.$np.$n"
      if ! PARACLOUD_TUNE_FORCE="allreduce:$a,reduce:$r" PARACLOUD_TUNE_TEST_NODE_SIZE=2 tuned "$np" "$out" fp "$n"; then
        fail "$out exited $?"; cat "$work/$out.err"; continue
      fi
      check_fp "allreduce:$a" "$np" "$n" "$work/$out" "$work/native.$np.$n" 2
      [ "$a" = hierarchical ] || check_fp "reduce:$r" "$np" "$n" "$work/$out" "$work/native.$np.$n"
    done
  done
done

# PARACLOUD_TUNE=profile never changes what runs.
PARACLOUD_TUNE=profile PARACLOUD_TUNE_FORCE=allreduce:ring,reduce:binomial PRELOAD="$PC_RT" \
  PARACLOUD_PROFILE="$work/profile.json" run_mpi 5 "$work/profile.5" "$coll_prog" fp 1000 \
  || fail "profile mode run exited $?"
check_fp allreduce:native 5 1000 "$work/profile.5" "$work/native.5.1000"
check_fp reduce:native 5 1000 "$work/profile.5" "$work/native.5.1000"
grep -q '"tuning"' "$work/profile.json" && fail "profile mode wrote a tuning object"

# The rules file: a stored decision "allreduce ring" for 4 ranks and 2-4 KiB (1000 ints) becomes an
# Open MPI rule; the tuner itself is forced to native, so Open MPI's own ring must run.
store="$work/store"
mkdir -p "$store"
cat >"$store/any.n4.r4.json" <<JSON
{"schema": "paracloud-tune", "version": 1, "updated": "",
 "app": {"name": "", "build_id": "", "hash": "", "ranks": 4, "ranks_per_node": 4},
 "decisions": [{"collective": "allreduce", "comm_size": 4, "ranks_per_node": 4, "bucket": 11,
                "dtype": "int", "algorithm": "ring", "source": "bench"}]}
JSON
plain 4 native.4.1000 fp 1000
PARACLOUD_TUNE_SITE_DIR="$store" PARACLOUD_TUNE_DIR="$work/user" PARACLOUD_TUNE_FORCE=allreduce:native,reduce:native \
  tuned 4 rules.4 fp 1000 || fail "rules run exited $?"
check_fp allreduce:ring 4 1000 "$work/rules.4"
ls "$work/user/rules/"rules-*.conf >/dev/null 2>&1 && ok "rules file written" || fail "no rules file in $work/user/rules"
# 100 ints (400 B) are outside the rule: Open MPI's default.
plain 4 native.4.100 fp 100
PARACLOUD_TUNE_SITE_DIR="$store" PARACLOUD_TUNE_DIR="$work/user" PARACLOUD_TUNE_FORCE=allreduce:native,reduce:native \
  tuned 4 rules.4.100 fp 100 || fail "rules run exited $?"
check_fp allreduce:native 4 100 "$work/rules.4.100" "$work/native.4.100"
# The user's own coll/tuned setting wins: no rules file is applied.
OMPI_MCA_coll_tuned_use_dynamic_rules=1 PARACLOUD_TUNE_SITE_DIR="$store" PARACLOUD_TUNE_DIR="$work/user" \
  PARACLOUD_TUNE_FORCE=allreduce:native,reduce:native tuned 4 rules.user fp 1000 || fail "user rules run exited $?"
check_fp allreduce:native 4 1000 "$work/rules.user" "$work/native.4.1000"
# Private communicators only when a paracloud algorithm runs (counted by the handle index of a new
# communicator: one more per communicator created before it).
handle() { sed -n 's/^new_comm_handle //p' "$work/$1"; }
plain 2 handles.plain handles || fail "plain handles run exited $?"
all_native=allreduce:native,bcast:native,reduce:native,allgather:native,barrier:native
PARACLOUD_TUNE_FORCE=$all_native tuned 2 handles.native handles || fail "handles run exited $?"
PARACLOUD_TUNE_FORCE=${all_native/bcast:native/bcast:binomial} tuned 2 handles.binomial handles || fail "handles run exited $?"
PARACLOUD_TUNE_FORCE=${all_native/allreduce:native/allreduce:hierarchical} tuned 2 handles.hier handles || fail "handles run exited $?"
h0=$(handle handles.plain) h1=$(handle handles.native) h2=$(handle handles.binomial) h3=$(handle handles.hier)
if [ -n "$h0" ] && [ "$h1" = "$h0" ] && [ "$h2" = $((h0 + 1)) ] && [ "$h3" = $((h0 + 3)) ]; then
  ok "private communicators: none while native, 1 for binomial, 3 for hierarchical"
else fail "private communicators: new handle $h0 plain, $h1 native, $h2 binomial (want +1), $h3 hierarchical (want +3)"; fi
finish
