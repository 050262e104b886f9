#!/bin/sh
# CLI test: paracloud tune list/show/export/clear against a scratch tuning store (bench needs MPI:
# test_cli_tune_bench.sh runs it end to end).
set -u
. "$top_srcdir/tests/cli/lib.sh"
pc_setup
export PARACLOUD_TUNE_DIR="$PC_DIR/store" PARACLOUD_TUNE_SITE_DIR="$PC_DIR/site"
mkdir -p "$PARACLOUD_TUNE_DIR"
cat > "$PARACLOUD_TUNE_DIR/solver-0123.n4.r4.json" <<JSON
{"schema": "paracloud-tune", "version": 1, "updated": "2026-01-01T00:00:00Z",
 "app": {"name": "solver", "build_id": "0123", "hash": "", "ranks": 4, "ranks_per_node": 4},
 "decisions": [{"collective": "allreduce", "comm_size": 4, "ranks_per_node": 4, "bucket": 11,
                "dtype": "int", "algorithm": "ring", "source": "explore", "time_us": 3.5, "calls": 9},
               {"collective": "allreduce", "comm_size": 4, "ranks_per_node": 4, "bucket": 3,
                "dtype": "float", "algorithm": "hierarchical", "source": "explore"}]}
JSON
pc_run 0 tune list
pc_out_has "solver-0123.n4.r4.json"
pc_out_has "solver-0123"
pc_run 0 --json tune list
pc_json 'j["files"][0]["decisions"] == 2 and j["files"][0]["ranks"] == 4'
pc_run 0 tune show solver-0123.n4.r4
pc_out_has "2048-4095"
pc_out_has "hierarchical"
pc_run 0 tune export solver-0123.n4.r4.json
pc_json 'j["schema"] == "paracloud-tune" and len(j["decisions"]) == 2'
pc_run 0 tune export --format ompi-rules solver-0123.n4.r4.json
pc_out_has "2048 4 0 0"
pc_out_has "4096 0 0 0"
grep -q "hierarchical" "$PC_OUT" && pc_fail "hierarchical has no Open MPI algorithm but was exported"
pc_run 2 tune export --format xml solver-0123.n4.r4.json
pc_err_has "--format 'xml' is not json or ompi-rules"
# A corrupt file: named, with a hint.
echo '{"schema":' > "$PARACLOUD_TUNE_DIR/bad.n2.r2.json"
pc_run 5 tune show bad.n2.r2.json
pc_err_has "bad.n2.r2.json: not JSON"
pc_run 3 tune show missing.json
pc_run 0 tune clear bad.n2.r2.json
pc_out_has "removed 1 file(s)"
pc_run 0 tune clear --all
[ -z "$(ls "$PARACLOUD_TUNE_DIR"/*.json 2>/dev/null)" ] || pc_fail "clear --all left files"
pc_run 2 tune clear
pc_run 0 tune list
pc_out_has "no tuning decisions in $PARACLOUD_TUNE_DIR"
echo "ok: paracloud tune"
