# shared helpers for CLI tests

# --- ledger/bank helpers (ledger engineer) ---
# Usage: . "$top_srcdir/tests/cli/lib.sh"; pc_setup; pc_run RC args...; pc_out_has TEXT; pc_err_has TEXT
# pc_setup: checks $PARACLOUD, makes a scratch dir $PC_DIR (removed on exit), writes $PC_CONF with
# LedgerPath=$PC_DIR/ledger.db and Currency=CNY (append more keys to $PC_CONF as needed).
pc_fail() { echo "FAIL: $*" >&2; [ -n "$PC_OUT" ] && { echo "--- stdout:" >&2; cat "$PC_OUT" >&2; echo "--- stderr:" >&2; cat "$PC_ERR" >&2; }; exit 1; }
pc_skip() { echo "SKIP: $*"; exit 77; }
pc_setup() {
  [ -n "$PARACLOUD" ] && [ -x "$PARACLOUD" ] || pc_fail "PARACLOUD (the built paracloud binary) is not set or not executable: '$PARACLOUD'"
  PC_DIR=$(mktemp -d "${TMPDIR:-/tmp}/paracloud-cli.XXXXXX") || pc_fail "mktemp -d failed"
  trap 'rm -rf "$PC_DIR"' EXIT
  PC_CONF=$PC_DIR/paracloud.conf
  printf 'LedgerPath=%s/ledger.db\nCurrency=CNY\n' "$PC_DIR" > "$PC_CONF"
  PC_OUT=$PC_DIR/stdout; PC_ERR=$PC_DIR/stderr
}
# pc_run EXPECTED_RC ARGS...: runs paracloud --conf $PC_CONF ARGS, output in $PC_OUT/$PC_ERR.
pc_run() {
  want=$1; shift
  rc=0; "$PARACLOUD" --conf "$PC_CONF" "$@" > "$PC_OUT" 2> "$PC_ERR" || rc=$?
  [ "$rc" = "$want" ] || pc_fail "paracloud $*: exit status $rc, expected $want"
}
pc_out_has() { grep -qF -- "$1" "$PC_OUT" || pc_fail "stdout lacks '$1'"; }
pc_err_has() { grep -qF -- "$1" "$PC_ERR" || pc_fail "stderr lacks '$1'"; }
# pc_json PY_EXPR: evaluates a Python expression over the JSON on stdout (bound to j); fails unless true.
pc_json() {
  command -v python3 >/dev/null || pc_skip "python3 is needed to check --json output"
  python3 -c "import json,sys; j=json.load(open(sys.argv[1])); sys.exit(0 if ($1) else 1)" "$PC_OUT" \
    || pc_fail "JSON check failed: $1"
}

# --- config/price helpers (config engineer) ---
# pc_run_conf EXPECTED_RC FILE ARGS...: like pc_run, with --conf FILE instead of $PC_CONF.
pc_run_conf() {
  want=$1; conf=$2; shift 2
  rc=0; "$PARACLOUD" --conf "$conf" "$@" > "$PC_OUT" 2> "$PC_ERR" || rc=$?
  [ "$rc" = "$want" ] || pc_fail "paracloud --conf $conf $*: exit status $rc, expected $want"
}
# pc_out_lacks TEXT / pc_err_empty: the opposite checks.
pc_out_lacks() { ! grep -qF -- "$1" "$PC_OUT" || pc_fail "stdout has '$1'"; }
pc_err_empty() { [ ! -s "$PC_ERR" ] || pc_fail "stderr is not empty"; }
