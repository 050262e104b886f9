#!/bin/bash
# Steady-state accounting of the tuned collectives: under PARACLOUD_TUNE=auto, cached native calls
# are recorded through the tuner's decided-call cache (coll/tuner.hpp) instead of the probes; a long
# loop of them (a communicator freed mid-run, failing calls among them) must give exactly the
# counts, bytes, histograms, communicator classes and errors that PARACLOUD_TUNE=profile gives, and
# an MPI time estimate within 2x of profile mode's.
. "$PC_SRCDIR/tests/lib.sh"
. "$PC_SRCDIR/tests/coll_lib.sh"
need_coll
iters=100000
np=2
plain $np plain record $iters || { fail "plain run exited $?"; cat "$work/plain.err"; }
# Explored decisions (empty store), and native forced from the start (no exploration: its time
# does not blur the comparison of time estimates below).
tuned $np auto record $iters || { fail "auto run exited $?"; cat "$work/auto.err"; }
PARACLOUD_TUNE_FORCE=allreduce:native,bcast:native tuned $np forced record $iters \
  || { fail "forced run exited $?"; cat "$work/forced.err"; }
PARACLOUD_TUNE=profile PARACLOUD_PROFILE="$work/profile.json" PRELOAD="$PC_RT" \
  run_mpi $np "$work/profile" "$coll_prog" record $iters || { fail "profile run exited $?"; cat "$work/profile.err"; }
for m in auto forced profile; do
  if cmp -s "$work/plain" "$work/$m"; then ok "$m: same output as without the preload"
  else fail "$m: output differs"; diff "$work/plain" "$work/$m" | head -5; fi
done
"$PYTHON3" - "$work/auto.json" "$work/forced.json" <<'PY' && ok "auto: the tuner was on" || fail "auto: the tuner was off"
import json, sys
for f in sys.argv[1:]:
    t = json.load(open(f))["tuning"]
    assert t["enabled"], t
PY
# Per rank: allreduce 8 B x iters (world) + 8 B x iters/2 (dup) + 4 B x iters/2 (second dup)
# + 4 B x iters (MPI_COMM_SELF); bcast 8 B x iters (world) plus 3 failing.
for m in auto forced profile; do
  check_profile "$work/$m.json" --np $np \
    --expect MPI_Allreduce="3*$iters*n" --bytes MPI_Allreduce="18*$iters*n" \
    --hist MPI_Allreduce=8:"3*$iters//2*n" --hist MPI_Allreduce=4:"3*$iters//2*n" \
    --comm MPI_Allreduce=$np:"2*$iters*n" --comm MPI_Allreduce=1:"$iters*n" \
    --errors MPI_Allreduce=0 \
    --expect MPI_Bcast="$iters*n" --bytes MPI_Bcast="8*$iters*n" --hist MPI_Bcast=8:"$iters*n" \
    --comm MPI_Bcast=$np:"$iters*n" --errors MPI_Bcast="3*n" \
    --expect MPI_Comm_dup="2*n" --expect MPI_Comm_free="2*n" --expect MPI_Finalize=n
done
# Estimated MPI time: the same loops, so within 2x (generous: the machine is shared).
"$PYTHON3" - "$work/forced.json" "$work/profile.json" <<'PY' && ok "auto: time estimates within 2x of profile mode" || fail "time estimates"
import json, sys
a, p = (json.load(open(f)) for f in sys.argv[1:3])
def t(prof, name):
    return next(c for c in prof["calls"] if c["name"] == name)["time_s"]["sum"]
for name in ("MPI_Allreduce", "MPI_Bcast"):
    ta, tp = t(a, name), t(p, name)
    print(f"{name}: auto (forced native) {ta:.6f} s, profile {tp:.6f} s")
    assert tp / 2 <= ta <= 2 * tp, (name, ta, tp)
ma, mp = a["mpi_time_s"]["sum"], p["mpi_time_s"]["sum"]
print(f"mpi_time_s: auto (forced native) {ma:.6f} s, profile {mp:.6f} s")
assert mp / 2 <= ma <= 2 * mp, (ma, mp)
PY
finish
