#!/bin/bash
# CLI test of `paracloud reconcile` with a fake sacct on PATH and a scratch ledger: a clean ledger
# exits 0; an uncharged run, an open hold of a finished job and a charge for a job Slurm never ran
# are each found and named (exit 4); sacct failing or printing junk is a clear error.
set -u
. "$top_srcdir/tests/cli/lib.sh"
pc_setup
FAKE=$PC_DIR/bin
mkdir -p "$FAKE"
now=$(date +%s)
s1=$((now - 5000)) s2=$((now - 4000))
# sacct prints what $PC_DIR/sacct.txt holds (SLURM_TIME_FORMAT=%s, -o cluster,jobid,state,start,end,alloccpus)
cat > "$FAKE/sacct" <<FAKE_SACCT
#!/bin/bash
echo "\$SLURM_TIME_FORMAT \$*" >> "$PC_DIR/sacct.args"
[ -f "$PC_DIR/sacct.fail" ] && { echo "sacct: error: Problem talking to the database: Connection refused" >&2; exit 1; }
cat "$PC_DIR/sacct.txt"
FAKE_SACCT
chmod +x "$FAKE/sacct"
export PATH="$FAKE:$PATH"
echo "AccountingLog=$PC_DIR/acct.jsonl" >> "$PC_CONF"
: > "$PC_DIR/acct.jsonl"
printf 'b|5|COMPLETED|%s|%s|2\nb|6|COMPLETED|%s|%s|1\na|7|CANCELLED by 0|Unknown|%s|0\n' \
  "$s1" "$((s1 + 100))" "$s2" "$((s2 + 50))" "$s1" > "$PC_DIR/sacct.txt"

pc_run 0 bank account add proj
pc_run 0 bank deposit proj 100
# record CLUSTER JOB START END CPUS COST_MINOR: an accounting record line
record() {
  printf '{"type":"paracloud.job","schema":1,"cluster":"%s","job_id":%s,"site":"%s","start":%s,"end":%s,"tres":{"cpu":%s},"cost":%s,"keys":{"charge":"charge:%s:%s:%s"}}\n' \
    "$1" "$2" "$1" "$3" "$4" "$5" "$6" "$1" "$2" "$3" >> "$PC_DIR/acct.jsonl"
}
pc_run 0 bank hold proj 6.00 --key "lien:b:5:$s1" --job b:5
pc_run 0 bank charge proj 2.00 --key "charge:b:5:$s1" --hold "lien:b:5:$s1" --job b:5
record b 5 "$s1" "$((s1 + 100))" 2 200
pc_run 0 bank hold proj 6.00 --key "lien:b:6:$s2" --job b:6
pc_run 0 bank charge proj 0.50 --key "charge:b:6:$s2" --hold "lien:b:6:$s2" --job b:6
record b 6 "$s2" "$((s2 + 50))" 1 50

# --- clean: exit 0, the counts, sacct asked for every run of every user of every cluster
pc_run 0 reconcile
pc_out_has "reconcile: 2 runs ended, 2 run charges, 0 open holds, 2 records checked against 3 sacct lines"
pc_out_has ": 0 findings"
grep -q -- "^%s -n -P -X --duplicates -a -M all -S uts1000000 -E now -o cluster,jobid,state,start,end,alloccpus" "$PC_DIR/sacct.args" \
  || pc_fail "sacct arguments: $(cat "$PC_DIR/sacct.args")"
pc_run 0 --json reconcile -S now-2hours -M b
pc_json 'j["findings"]==[] and j["runs_checked"]==2 and j["slurm_runs"]==3 and j["since"] > 0'
tail -1 "$PC_DIR/sacct.args" | grep -q -- "-M b -S uts" || pc_fail "-M/-S not passed to sacct: $(tail -1 "$PC_DIR/sacct.args")"

# --- a run Slurm knows but nobody charged, an open hold for it, a charge for a job Slurm never ran
printf 'c|8|TIMEOUT|%s|%s|4\n' "$s2" "$((s2 + 600))" >> "$PC_DIR/sacct.txt"
pc_run 0 bank hold proj 3.00 --key "lien:c:8:$s2" --job c:8
pc_run 0 bank charge proj 1.00 --key "charge:b:99:$s1" --job b:99
sleep 1
pc_run 4 -p reconcile --grace 0
pc_out_has "charge_without_run|b:99:$s1|proj|1.00|charge:b:99:$s1|Slurm has no job 99"
pc_out_has "hold_open|c:8:$s2|proj|3.00|lien:c:8:$s2|open hold of 3.00 CNY for job 8"
pc_out_has "not_charged|c:8:$s2|"
pc_out_has "TIMEOUT run of 600 s on 4 CPUs: no charge and no accounting record"
pc_err_has "3 discrepancies between the ledger and Slurm"
pc_run 4 --json reconcile --grace 0
pc_json 'sorted(f["kind"] for f in j["findings"])==["charge_without_run","hold_open","not_charged"]'
# the window: only what ended or was written inside it is judged
pc_run 0 reconcile -S now+1hour -E now+2hours
pc_out_has "0 runs ended in the window"

# --- bad input and a failing sacct
pc_run 2 reconcile -S now -E now-1days
pc_err_has "is not before --until"
pc_run 5 reconcile -S yesterday
pc_err_has "invalid time 'yesterday'"
echo 'b|5|COMPLETED' > "$PC_DIR/sacct.txt"
pc_run 5 reconcile
pc_err_has "sacct line 1 has 3 fields, expected 6"
touch "$PC_DIR/sacct.fail"
pc_run 3 reconcile
pc_err_has "sacct failed (exit 1): sacct: error: Problem talking to the database"
echo "PASS: test_cli_reconcile"
