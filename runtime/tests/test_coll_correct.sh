#!/bin/bash
# Every algorithm of runtime/coll gives the exact results (integers and exactly representable
# doubles, computed from every rank's inputs) at communicator sizes 1..8 (world, a split, a dup),
# counts 0, 1, 7 and 65537, several datatypes (int, double, double_int, char) and ops (sum, max,
# band, minloc, a commutative user op), in place and not. PARACLOUD_TUNE_FORCE picks the algorithms.
. "$PC_SRCDIR/tests/lib.sh"
. "$PC_SRCDIR/tests/coll_lib.sh"
need_coll
configs=(
  "allreduce:recursive_doubling,bcast:binomial,allgather:ring,alltoall:pairwise,reduce:binomial,barrier:dissemination"
  "allreduce:ring,bcast:scatter_allgather,allgather:recursive_doubling,alltoall:bruck,reduce:scatter_gather,barrier:native"
  "allreduce:rabenseifner,bcast:chain,allgather:bruck,alltoall:native,reduce:native"
  "allreduce:hierarchical,bcast:native,allgather:native"
)
for c in "${!configs[@]}"; do
  for np in 1 2 3 4 5 6 7 8; do
    name="c$c.np$np"
    # Fake nodes of 3 ranks: the hierarchical allreduce then has uneven nodes and several leaders.
    if ! PARACLOUD_TUNE_FORCE="${configs[$c]}" PARACLOUD_TUNE_TEST_NODE_SIZE=3 tuned "$np" "$name" correct; then
      fail "$name (${configs[$c]}): exit status $?"; head -12 "$work/$name" "$work/$name.err"; continue
    fi
    if grep -q "0 failures" "$work/$name" && ! grep -q FAIL "$work/$name"; then :; else
      fail "$name (${configs[$c]}): wrong results"; head -12 "$work/$name"; continue
    fi
    # The profile says the forced algorithms were in effect.
    forced=$("$PYTHON3" -c 'import json,sys; print(",".join(json.load(open(sys.argv[1]))["tuning"]["forced"]))' "$work/$name.json" 2>&1)
    [ "$forced" = "${configs[$c]}" ] || fail "$name: profile tuning.forced is '$forced'"
  done
  ok "config $c at np 1..8: ${configs[$c]}"
done
finish
