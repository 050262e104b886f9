#!/bin/sh
# CLI test (issue 11): paracloud bind show on the checked-in hwloc XML fixtures (golden maps of
# tests/unit/data/binding), this machine, --json, and the errors (bad policy, file, cpulist).
set -u
. "$top_srcdir/tests/cli/lib.sh"
pc_setup
TOPO=$top_srcdir/tests/unit/data/topologies
unset OMP_NUM_THREADS SLURM_CPUS_PER_TASK
"$PARACLOUD" bind --help > "$PC_OUT" 2>&1 || pc_fail "bind --help failed"
grep -q "show" "$PC_OUT" || pc_fail "bind --help does not list show"
pc_run 0 bind show --help
pc_out_has "--topology"
if ! "$PARACLOUD" bind show -n 1 --topology "$TOPO/pack1-core8.xml" >/dev/null 2>"$PC_ERR"; then
  grep -q "built without hwloc" "$PC_ERR" && pc_skip "paracloud was built without hwloc"
fi
# The golden map of the unit tests: 2 ranks on 2 packages of 8 SMT2 cores, one package each.
pc_run 0 bind show -n 2 --topology "$TOPO/pack2-core8-smt2.xml"
pc_out_has "policy spread threads 8 smt no ranks 2 cores 16 pus 32"
pc_out_has "rank 0: cpus 0,2,4,6,8,10,12,14 mem 0 gpus - units 8 places {0},{2},{4},{6},{8},{10},{12},{14} bind spread"
pc_out_has "rank 1: cpus 16,18,20,22,24,26,28,30 mem 1 gpus - units 8 places {16},{18},{20},{22},{24},{26},{28},{30} bind spread"
# Every "== ARGS" job of every golden file gives the golden lines (same core, same adapter, CLI path).
for golden in "$top_srcdir"/tests/unit/data/binding/*.golden; do
  name=$(basename "$golden" .golden)
  grep '^== ' "$golden" | sed 's/^== //' | while read -r args; do
    # shellcheck disable=SC2086
    "$PARACLOUD" bind show $args --topology "$TOPO/$name.xml" > "$PC_DIR/got" 2> "$PC_ERR" \
      || pc_fail "bind show $args --topology $name.xml failed: $(cat "$PC_ERR")"
    awk -v a="== $args" '$0 == a {on = 1; next} /^== / {on = 0} on' "$golden" > "$PC_DIR/want"
    grep -v '^topology: \|^allowed: ' "$PC_DIR/got" | diff "$PC_DIR/want" - > "$PC_DIR/diff" \
      || { cat "$PC_DIR/diff" >&2; pc_fail "bind show $args on $name.xml differs from $name.golden"; }
  done || exit 1
done
# -c, --policy and --allowed.
pc_run 0 bind show -n 2 -c 2 --policy compact --topology "$TOPO/pack2-core8-smt2.xml"
pc_out_has "policy compact threads 2"
pc_out_has "rank 1: cpus 4,6 "
pc_run 0 bind show -n 2 --allowed 0-7 --topology "$TOPO/pack2-core8-smt2.xml"
pc_out_has "allowed: 0-7"
pc_out_has "rank 1: cpus 4,6 "
# OMP_NUM_THREADS is read as the runtime reads it.
OMP_NUM_THREADS=2 "$PARACLOUD" bind show -n 1 --policy compact --topology "$TOPO/pack1-core8.xml" > "$PC_OUT" 2>&1
pc_out_has "threads 2"
pc_out_has "rank 0: cpus 0-1 "
# Oversubscribed: said in the note.
pc_run 0 bind show -n 3 --topology "$TOPO/one-core.xml"
pc_out_has "note: more ranks than cores: shared"
# JSON (the global --json after the subcommand as well as before it).
pc_run 0 bind show -n 2 --topology "$TOPO/pack2-core8-smt2.xml" --json
pc_json 'j["policy"] == "spread" and j["ranks"] == 2 and j["map"][1]["cpus"] == "16,18,20,22,24,26,28,30" and j["map"][1]["mem"] == "1" and j["map"][0]["omp_proc_bind"] == "spread"'
pc_run 0 --json bind show -n 4 --topology "$TOPO/gpu4-numa2.xml"
pc_json 'len(j["map"]) == 4 and all(len(r["gpus"]) == 1 for r in j["map"])'
# This machine: one rank gets the allowed set's cores.
pc_run 0 bind show -n 1
pc_out_has "topology: this machine"
pc_out_has "rank 0: cpus "
# Errors: the allowed values named, the file named, the cpulist named.
pc_run 5 bind show --policy fast --topology "$TOPO/pack1-core8.xml"
pc_err_has "--policy 'fast' is not one of auto, spread, compact, numa, none"
pc_run 3 bind show --topology "$PC_DIR/missing.xml"
pc_err_has "missing.xml"
echo "not xml" > "$PC_DIR/bad.xml"
pc_run 5 bind show --topology "$PC_DIR/bad.xml"
pc_err_has "bad.xml"
pc_run 5 bind show --allowed 0-x --topology "$TOPO/pack1-core8.xml"
pc_err_has "--allowed"
pc_run 5 bind show --allowed 64-65 --topology "$TOPO/pack1-core8.xml"
pc_run 2 bind show -n 0
echo "ok: paracloud bind"
