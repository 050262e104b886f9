#!/bin/bash
# Issue 12: HDF5 chunk-cache thrash. An unchanged HDF5 program reads a deflated chunked dataset row
# by row; its 2 MiB chunks exceed HDF5's default 1 MiB chunk cache, so every row inflates its chunks
# again (it writes the dataset row by row too, which thrashes the same way). Run 1 under
# PARACLOUD_TUNE=auto records the evidence and the rule's decision; run 2 creates and opens the
# dataset with the decided cache: same stdout as without the runtime, the effective cache is the
# decided one, >= 10x fewer preads (517 -> 13 here; with the cache at H5Dopen2 only, the untuned
# write phase alone made 252 of them), the file identical (h5diff). The application's own dapl
# is never modified; PARACLOUD_IO=off and profile mode leave the cache alone; a corrupt store or
# rules file gives one warning and a correct untuned run. No timing is asserted.
. "$PC_SRCDIR/tests/lib.sh"
need_mpi
[ "${PC_HAVE_HDF5:-no}" = yes ] || skip "HDF5 (pkg-config hdf5-openmpi) not found by configure (apt-get install libhdf5-openmpi-dev)"
prog="$PC_TESTBIN/hdf5_rows_c"
[ -x "$prog" ] || { echo "FAIL: $prog not built"; exit 1; }
export PARACLOUD_IO_RULES="$PC_SRCDIR/../lib/io/io-rules.json"
geom=(128 8192 64 4096)  # rows, cols, chunk rows, chunk cols: 2 MiB chunks, a row spans 2
py() { "$PYTHON3" "$PC_SRCDIR/tests/io_profile.py" "$@"; }
cache_of() { sed -n 's/^effective chunk cache: //p' "$1"; }
# run NAME FILE [ARGS] with the preload and PARACLOUD_TUNE=${MODE:-auto}; profile in $work/NAME.json
run() {
  local name=$1 file=$2; shift 2
  PARACLOUD_TUNE=${MODE:-auto} PARACLOUD_PROFILE="$work/$name.json" PRELOAD="$PC_RT" \
    run_mpi 1 "$work/$name" "$prog" "$work/$file" "${geom[@]}" "$@" || { fail "$name exited $?"; cat "$work/$name.err"; }
  cmp -s "$work/plain" "$work/$name" || fail "$name: stdout differs from the run without the runtime"
}
PRELOAD= run_mpi 1 "$work/plain" "$prog" "$work/plain.h5" "${geom[@]}" || { fail "plain run"; finish; }
default_cache=$(cache_of "$work/plain.err")
echo "without the runtime: $(cat "$work/plain") ($default_cache)"

run run1 rows1.h5
run run2 rows2.h5
c1=$(cache_of "$work/run1.err") c2=$(cache_of "$work/run2.err")
[ "$c1" = "$default_cache" ] && ok "run 1: default cache ($c1)" || fail "run 1 cache '$c1', expected '$default_cache'"
[ "$c2" = "nslots=521 nbytes=8388608 w0=0.75" ] && ok "run 2: decided cache ($c2)" || fail "run 2 cache '$c2', expected nslots=521 nbytes=8388608 w0=0.75"
for r in run1 run2; do
  grep -v '^effective chunk cache' "$work/$r.err" | grep . && fail "$r: unexpected stderr"
done
[ "$(py "$work/run1.json" ds.chunk_bytes)" = 2097152 ] || fail "run 1 evidence chunk_bytes $(py "$work/run1.json" ds.chunk_bytes)"
[ "$(py "$work/run1.json" ds.compressed)" = true ] || fail "run 1 evidence: not compressed"
[ "$(py "$work/run1.json" ds.cache_bytes)" = 1048576 ] || fail "run 1 evidence cache_bytes"
[ "$(py "$work/run1.json" ds.reads)" = 128 ] || fail "run 1 evidence reads $(py "$work/run1.json" ds.reads)"
[ "$(py "$work/run1.json" ds.chunk_touches)" = 256 ] || fail "run 1 chunk_touches $(py "$work/run1.json" ds.chunk_touches)"
[ "$(py "$work/run1.json" ds.chunks_per_read_max)" = 2 ] || fail "run 1 chunks_per_read_max"
[ "$(py "$work/run1.json" ds.tuned)" = null ] || fail "run 1 was tuned"
[ "$(py "$work/run2.json" ds.tuned)" = '{"call": "H5Pset_chunk_cache", "nslots": 521, "nbytes": 8388608, "w0": 0.75}' ] \
  || fail "run 2 profile 'tuned': $(py "$work/run2.json" ds.tuned)"
p1=$(py "$work/run1.json" preads) p2=$(py "$work/run2.json" preads)
echo "preads: run 1 $p1, run 2 $p2"
[ "$p2" -gt 0 ] && [ "$p1" -ge $((10 * p2)) ] && ok "preads $p1 -> $p2 (>= 10x fewer)" || fail "preads $p1 -> $p2: not >= 10x fewer"
store=$(ls "$PARACLOUD_TUNE_DIR"/hdf5_rows_c-*.io.json 2>/dev/null)
[ -f "$store" ] || fail "no IO decisions file in $PARACLOUD_TUNE_DIR"
"$PYTHON3" - "$store" "$p1" "$p2" <<'PY' && ok "store: decision, evidence and measured effect" || fail "store contents"
import json, sys
d = json.load(open(sys.argv[1]))["decisions"]
assert len(d) == 1, d
d = d[0]
assert d["dataset"] == "/data" and d["status"] == "active", d
assert d["setting"] == {"call": "H5Pset_chunk_cache", "nslots": 521, "nbytes": 8388608, "w0": 0.75}, d
assert "chunk_cache_thrash" in d["reason"], d["reason"]
assert d["evidence"]["before"]["preads"] == int(sys.argv[2]), d
assert d["effect"]["runs_applied"] == 1 and d["effect"]["after"]["preads"] == int(sys.argv[3]), d
assert d["effect"]["after"]["cache_bytes"] == 8388608, d
PY
if command -v h5diff >/dev/null; then
  h5diff "$work/plain.h5" "$work/rows2.h5" >/dev/null && ok "h5diff: the tuned run's file equals the plain run's" || fail "h5diff: files differ"
else
  echo "note: h5diff not installed (apt-get install hdf5-tools): file comparison skipped"
fi

# The application's own dataset access plist: copied, never modified.
PRELOAD= run_mpi 1 "$work/own.plain" "$prog" "$work/own.h5" "${geom[@]}" both own-dapl
cp "$work/own.plain" "$work/plain.own"
own_line() { sed -n 's/^application dapl chunk cache: //p' "$1"; }
PARACLOUD_TUNE=auto PARACLOUD_PROFILE="$work/own.json" PRELOAD="$PC_RT" \
  run_mpi 1 "$work/own" "$prog" "$work/own2.h5" "${geom[@]}" both own-dapl
cmp -s "$work/plain" "$work/own" || fail "own dapl: stdout differs"
[ "$(cache_of "$work/own.err")" = "nslots=521 nbytes=8388608 w0=0.75" ] && ok "own dapl: decided cache on the copy" || fail "own dapl: cache $(cache_of "$work/own.err")"
[ -n "$(own_line "$work/own.plain.err")" ] && [ "$(own_line "$work/own.err")" = "$(own_line "$work/own.plain.err")" ] \
  && ok "own dapl: the application's plist untouched ($(own_line "$work/own.err"))" || fail "own dapl: '$(own_line "$work/own.err")' vs '$(own_line "$work/own.plain.err")'"

# PARACLOUD_IO=off and profile mode: the call untouched, the store not written.
cp "$store" "$work/store.before"
PARACLOUD_IO=off run off rows3.h5
[ "$(cache_of "$work/off.err")" = "$default_cache" ] && ok "PARACLOUD_IO=off: default cache" || fail "PARACLOUD_IO=off: cache $(cache_of "$work/off.err")"
MODE=profile run profile rows4.h5
[ "$(cache_of "$work/profile.err")" = "$default_cache" ] && ok "profile mode: default cache" || fail "profile mode: cache $(cache_of "$work/profile.err")"
[ "$(py "$work/profile.json" ds.chunk_touches)" = 256 ] && ok "profile mode: evidence recorded" || fail "profile mode: no evidence"
"$PYTHON3" -c 'import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); sys.exit(a["decisions"]!=b["decisions"])' \
  "$work/store.before" "$store" && ok "off/profile: store unchanged" || fail "off/profile changed the store"

# A corrupt store file: one warning, a correct untuned run.
echo '{"schema": "paracloud-io-tune", "version": 1, "decisions": [' >"$store"
run corrupt rows5.h5
[ "$(cache_of "$work/corrupt.err")" = "$default_cache" ] && ok "corrupt store: untuned" || fail "corrupt store: cache $(cache_of "$work/corrupt.err")"
n=$(grep -c '^paracloud: ' "$work/corrupt.err")
[ "$n" = 1 ] && grep -q 'io.json' "$work/corrupt.err" && ok "corrupt store: one warning ($(grep '^paracloud: ' "$work/corrupt.err" | cut -c1-100))" \
  || { fail "corrupt store: $n warnings"; cat "$work/corrupt.err"; }

# A corrupt rules file: one warning, no decision, a correct run.
echo '{"schema": "paracloud-io-rules", "version": 1, "rules": [{' >"$work/bad-rules.json"
PARACLOUD_TUNE_DIR="$work/store2" PARACLOUD_IO_RULES="$work/bad-rules.json" run badrules rows6.h5
n=$(grep -c '^paracloud: ' "$work/badrules.err")
[ "$n" = 1 ] && grep -q 'bad-rules.json' "$work/badrules.err" && ok "corrupt rules: one warning" || { fail "corrupt rules: $n warnings"; cat "$work/badrules.err"; }
ls "$work/store2"/*.io.json >/dev/null 2>&1 && fail "corrupt rules: a decisions file was written"
PARACLOUD_TUNE_DIR="$work/store2" PARACLOUD_IO_RULES="$work/bad-rules.json" run badrules2 rows7.h5
[ "$(cache_of "$work/badrules2.err")" = "$default_cache" ] && ok "corrupt rules: next run untuned" || fail "corrupt rules: next run cache $(cache_of "$work/badrules2.err")"
finish
