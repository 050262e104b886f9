#!/bin/sh
# CLI test: `paracloud tune bench` end to end at np 2 against the build tree (the sweep program and
# the runtime via PARACLOUD_TUNE_SWEEP / PARACLOUD_RT), seeding a scratch site store; its errors.
set -u
. "$top_srcdir/tests/cli/lib.sh"
pc_setup
build=${PC_BUILDDIR:-${PARACLOUD%/cli/paracloud}}
export PARACLOUD_TUNE_SWEEP="$build/runtime/bench/coll_sweep" PARACLOUD_RT="$build/runtime/.libs/libparacloud_rt.so"
[ -x "$PARACLOUD_TUNE_SWEEP" ] || pc_skip "$PARACLOUD_TUNE_SWEEP not built (configure found no MPI)"
[ -f "$PARACLOUD_RT" ] || pc_skip "$PARACLOUD_RT not built"
command -v mpirun >/dev/null || pc_skip "mpirun not found (apt-get install openmpi-bin)"
export PARACLOUD_TUNE_DIR="$PC_DIR/user" PARACLOUD_TUNE_SITE_DIR="$PC_DIR/site"
export OMPI_MCA_btl=self,vader OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_hwloc_base_binding_policy=none
unset PARACLOUD_TUNE PARACLOUD_TUNE_FORCE PARACLOUD_TUNE_REPRODUCIBLE PARACLOUD_PROFILE PARACLOUD_PROFILE_DIR LD_PRELOAD
# bench RC ARGS...: like pc_run, bounded to 60 s.
bench() {
  want=$1; shift
  rc=0; timeout 60 "$PARACLOUD" --conf "$PC_CONF" tune bench "$@" >"$PC_OUT" 2>"$PC_ERR" || rc=$?
  [ "$rc" = "$want" ] || pc_fail "paracloud tune bench $*: exit status $rc, expected $want"
}

# The default store is the site's: seeded from a real sweep (8 B .. 4 KiB, powers of 2).
bench 0 -n 2 --max-bytes 4096
seeded="$PARACLOUD_TUNE_SITE_DIR/any.n2.r2.json"
pc_out_has "seeded $seeded with "
pc_err_has "paracloud tune bench: 2 ranks, 8 B .. 4096 B"
pc_err_has "allreduce 4096 "
pc_err_has " still exploring"
n=$(sed -n 's/^seeded .* with \([0-9]*\) decisions$/\1/p' "$PC_OUT")
python3 - "$seeded" "$n" <<'PY' || pc_fail "seeded store $seeded"
import json, sys
f = json.load(open(sys.argv[1]))
d = f["decisions"]
assert f["schema"] == "paracloud-tune" and f["app"]["ranks"] == 2 and f["app"]["ranks_per_node"] == 2, f["app"]
assert len(d) == int(sys.argv[2]), (len(d), sys.argv[2])
assert all(x["source"] == "bench" and x["algorithm"] and x["comm_size"] == 2 for x in d), d
assert {x["collective"] for x in d} == {"allreduce", "bcast", "allgather", "alltoall", "reduce", "barrier"}, d
# allreduce of 8 .. 4096 bytes: one decision per power-of-two bucket 3 .. 12
assert sorted(x["bucket"] for x in d if x["collective"] == "allreduce") == list(range(3, 13)), d
PY
pc_run 0 tune show --site any.n2.r2.json
pc_out_has "bench"

# Errors name the missing piece and the fix.
bench 3 --sweep "$PC_DIR/no-sweep"
pc_err_has "the sweep program $PC_DIR/no-sweep is missing"
pc_err_has "hint: install paracloud built with MPI"
bench 3 --runtime "$PC_DIR/no-rt.so"
pc_err_has "the runtime $PC_DIR/no-rt.so is missing"
bench 2 --launcher qsub
pc_err_has "--launcher 'qsub' is not mpirun or srun"
bench 2 --iters 0
bench 4 -n 2 --sweep /bin/false
pc_err_has "the sweep failed"
# One call per size: every key is still exploring when the sweep ends, nothing can be seeded.
bench 7 -n 2 --iters 1 --max-bytes 64 --dir "$PC_DIR/one"
pc_err_has "raise --iters"
[ ! -e "$PC_DIR/one" ] || pc_fail "--iters 1 created a store"
bench 7 -n 2 --max-bytes 8 --dir /proc/no-such-store
pc_err_has "cannot seed the store in /proc/no-such-store"
echo "ok: paracloud tune bench"
