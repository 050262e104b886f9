#!/bin/bash
# CLI test of `paracloud sites collect`, `paracloud sites` and `paracloud route explain`, with fake
# sinfo/squeue/scontrol on PATH: site a answers, b fails, c hangs past SiteQueryTimeout.
set -u
. "$top_srcdir/tests/cli/lib.sh"
pc_setup

FAKE=$PC_DIR/bin
mkdir -p "$FAKE"
# Each fake prints what the real command prints with -M CLUSTER -h (a "CLUSTER:" header first).
cat > "$FAKE/sinfo" <<'EOF'
#!/bin/bash
cluster=; while [ $# -gt 0 ]; do [ "$1" = -M ] && cluster=$2; shift; done
case $cluster in
  a) printf 'CLUSTER: a\nbatch|32/32/0/64|2|32\ngpu|0/0/8/8|1|8\n' ;;
  b) echo "sinfo: error: Unable to contact slurm controller (connect failure)" >&2; exit 1 ;;
  c) sleep 10 ;;
esac
EOF
# The recorded decision of job 42 (as job_submit/paracloud tags AdminComment: an operator's text first).
route42='paracloud_route={"schema":1,"policy":"cheapest","now":1796638830,"currency":"CNY","top_k":1,"selected":["b"],"hold":"6.00","hold_minor":600,"candidates":[{"rank":1,"site":"b","cluster":"b","partition":"batch","cost":"6.00","cost_minor":600,"nodes":1,"wait_s":0,"expected_start":1796638830,"score":600,"state_age_s":3}],"excluded":[{"site":"a","partition":"","reason":"misses_deadline","detail":"expected end 2026-12-07T11:20:30Z after the deadline 2026-12-07T10:50:30Z","have":1796640630,"want":1796642430}],"deadline":1796640630,"budget_minor":800,"origin":"a","decided_on":"a","rederived":false,"policy_source":"--route","clusters":["b"]}'
route45b=${route42/\"rederived\":false/\"rederived\":true,\"agrees\":true}
route45b=${route45b/\"decided_on\":\"a\"/\"decided_on\":\"b\"}
cat > "$FAKE/squeue" <<EOF
#!/bin/bash
# squeue -h -j JOB -O admin_comment:0: 42 is routed, 44 was not (no tag), others unknown
case "\$*" in
  *"-O admin_comment:0"*)
    case "\$3" in
      42) echo 'checked by ops $route42' ;;
      44) echo '(null)' ;;
      *) echo "slurm_load_jobs error: Invalid job id specified" >&2; exit 1 ;;
    esac
    exit 0 ;;
esac
printf 'CLUSTER: a\nbatch|RUNNING|32|30:00|1:00:00\nbatch|PENDING|16|1:00:00|1:00:00\nbatch,gpu|PENDING|4|UNLIMITED|UNLIMITED\n'
EOF
# sacct -n -X -P -M all -j JOB -o cluster,admincomment: job 45 finished, routed by a, re-derived by b.
cat > "$FAKE/sacct" <<EOF
#!/bin/bash
case "\$*" in
  *"-j 45 "*) echo 'b|$route45b'; echo 'a|$route42' ;;
esac
exit 0
EOF
cat > "$FAKE/scontrol" <<'EOF'
#!/bin/bash
[ "$4" = 42 ] || { echo "slurm_load_jobs error: Invalid job id specified" >&2; exit 1; }
echo "JobId=42 JobName=x UserId=u(1) Partition=batch NumNodes=1 NumCPUs=8 TimeLimit=02:00:00 Features=avx2 Licenses=(null) MinMemoryNode=4G TresPerNode=(null)"
EOF
chmod +x "$FAKE"/*
export PATH="$FAKE:$PATH"

cat >> "$PC_CONF" <<EOF
SiteStateDir=$PC_DIR/sites
SiteQueryTimeout=1
DefaultTimeLimit=1:00:00
SiteName=a
SiteName=b
SiteName=c
PartitionName=a:batch CpusPerNode=32 Features=avx2
PartitionName=a:gpu CpusPerNode=8 Gpus=a100:2
PartitionName=b:batch CpusPerNode=64 Features=avx2,avx512
PriceName=a:* cpu=0.10
PriceName=b:* cpu=0.05
PriceName=c:* cpu=0.01
EOF

# --- collect: a is observed, b and c are recorded unreachable with the error; exit 4
start=$(date +%s)
pc_run 4 sites collect
[ $(( $(date +%s) - start )) -le 5 ] || pc_fail "collect did not time c out after SiteQueryTimeout=1"
pc_err_has "site a: ok, 2 partitions"
pc_err_has "site b: unreachable: sinfo -M b failed (exit 1): sinfo: error: Unable to contact slurm controller"
pc_err_has "site c: unreachable: sinfo -M c timed out after 1 s"
for s in a b c; do [ -f "$PC_DIR/sites/$s.json" ] || pc_fail "no state file for $s"; done
ls -A "$PC_DIR/sites" | grep -q '^\.' && pc_fail "temporary files left in SiteStateDir"

pc_run 0 --json sites
# a: batch 32 idle of 64; running 32 x 1800 s; pending 16 x 3600 + 4 x 3600 (UNLIMITED -> DefaultTimeLimit)
pc_json 'j[0]["site"]=="a" and j[0]["health"]=="fresh" and 0<=j[0]["age_s"]<=5'
pc_json '[p for p in j[0]["state"]["partitions"] if p["name"]=="batch"][0]=={"name":"batch","cpus_total":64,"cpus_idle":32,"cpus_alloc":32,"cpus_other":0,"nodes_total":2,"cpus_per_node":32,"running_jobs":1,"pending_jobs":2,"pending_cpus":20,"running_cpu_seconds":57600,"pending_cpu_seconds":72000}'
pc_json '[p for p in j[0]["state"]["partitions"] if p["name"]=="gpu"][0]["cpus_total"]==0'
pc_json 'j[1]["health"]=="unreachable" and "Unable to contact" in j[1]["state"]["error"]'
pc_json 'j[2]["health"]=="unreachable" and "timed out" in j[2]["state"]["error"]'
pc_run 0 sites
pc_out_has "HEALTH"
pc_out_has "unreachable"

# --- explain: only a can run it
pc_run 0 route explain -n 8
pc_out_has "policy cheapest (RoutePolicy)"
pc_out_has "selected"
pc_out_has "unreachable at the last query"
pc_out_has "route: a (hold 0.80 CNY)"
pc_run 0 --json route explain -n 8 -t 2:00:00
pc_json 'j["selected"]==["a"] and j["candidates"][0]["cost_minor"]==160 and j["candidates"][0]["wait_s"]==0'
pc_json '[e["reason"] for e in j["excluded"]]==["unreachable","unreachable"]'

# --- b becomes fresh (a hand-written state, as the collector would write it) and cheaper
now=$(date +%s)
cat > "$PC_DIR/sites/b.json" <<EOF
{"schema":1,"site":"b","cluster":"b","reachable":true,"error":"","observed_at":$now,"query_ms":3,
 "partitions":[{"name":"batch","cpus_total":128,"cpus_idle":0,"cpus_alloc":128,"pending_cpus":64,
   "running_cpu_seconds":460800,"pending_cpu_seconds":230400}]}
EOF
pc_run 0 --json route explain -n 8
pc_json 'j["selected"]==["b"] and [c["site"] for c in j["candidates"]]==["b","a"]'
pc_json 'j["candidates"][0]["wait_s"]==5400'  # (460800 + 230400) / 128
pc_run 0 --json route explain -n 8 --route fastest --top-k 1
pc_json 'j["policy"]=="fastest" and j["selected"]==["a"]'
pc_run 0 --json route explain -n 8 --deadline now+1:00:30
pc_json 'j["selected"]==["a"] and [e["reason"] for e in j["excluded"] if e["site"]=="b"]==["misses_deadline"]'
pc_run 0 --json route explain -n 8 --budget 0.50
pc_json 'j["selected"]==["b"] and [e["reason"] for e in j["excluded"] if e["site"]=="a"]==["over_budget","over_budget"]'

# --- a constraint nobody meets: every site is listed with its reason; exit 4
pc_run 4 route explain -n 8 -C avx512 -p gpu
pc_err_has "no site can run this job"
pc_out_has "constraint 'avx512' not met"
pc_out_has "no partition 'gpu'"
pc_run 4 --json route explain -G a100:4
pc_json '[(e["site"],e["partition"],e["reason"]) for e in j["excluded"]]==[("a","batch","gpu_type_missing"),("a","gpu","too_many_gpus"),("b","batch","gpu_type_missing"),("c","","unreachable")]'

# --- a stale state is excluded with its age
old=$(( now - 600 ))
sed -i "s/\"observed_at\":$now/\"observed_at\":$old/" "$PC_DIR/sites/b.json"
pc_run 0 --json route explain -n 8
pc_json '[e for e in j["excluded"] if e["site"]=="b"][0]["reason"]=="stale_state" and [e for e in j["excluded"] if e["site"]=="b"][0]["want"]==60'

# --- an existing job: the decision recorded at submission (AdminComment), not a new ranking
pc_run 0 route explain 42
pc_out_has "job 42: decided on a at 2026-12-07"
pc_out_has "offered to b"
pc_out_has "policy cheapest (--route), deadline 2026-12-07"
pc_out_has "budget 8.00 CNY"
pc_out_has "misses_deadline"
pc_out_has "route: b (hold 6.00 CNY)"
pc_run 0 --json route explain -j 42
pc_json 'j["selected"]==["b"] and j["source"].startswith("squeue") and j["job"]=="42" and j["deadline"]==1796640630'
pc_run 2 route explain 42 -j 43
pc_err_has "two jobs given"
pc_run 2 route explain 42 --deadline now+1hour
pc_err_has "add --rerank"
pc_run 2 route explain 42 -n 4
pc_err_has "--ntasks describes a job spec"
pc_run 2 route explain x42
pc_err_has "is not a job id"
pc_run 3 route explain 44
pc_err_has "job 44 carries no routing decision"
pc_run 3 route explain 43
pc_err_has "job 43: not known to squeue, sacct or the accounting log"
# a finished job: sacct's copies; the origin's own decision is shown, not a sibling's re-derivation
pc_run 0 --json route explain 45
pc_json 'j["decided_on"]=="a" and j["rederived"]==False and j["source"]=="sacct -M a (AdminComment)"'
# a finished job only the accounting log knows: its record's route slot
now_rec=$(date +%s)
echo '{"type":"paracloud.job","schema":1,"cluster":"b","job_id":46,"site":"b","route":{"policy":"fastest","selected":["b","c"],"candidates":[],"excluded":[],"decided_on":"b","rederived":true,"agrees":true,"origin":"a","clusters":["b","c"],"now":'"$now_rec"'}}' >"$PC_DIR/acct.jsonl"
pc_run 0 route explain 46 --log "$PC_DIR/acct.jsonl"
pc_out_has "re-derived on b from the same inputs: agrees with the origin's choice"
pc_out_has "offered to b,c"

# --- --rerank: an existing job ranked again now (scontrol show job)
pc_run 0 --json route explain -j 42 --rerank
pc_json 'j["job"]["cpus"]==8 and j["job"]["seconds"]==7200 and j["job"]["mem_mb"]==4096 and j["selected"]==["a"] and j["job"]["id"]=="42"'
pc_run 0 route explain 42 --rerank --route fastest
pc_out_has "ranked again now (not the recorded decision) - job 42"
pc_run 3 route explain 43 --rerank
pc_err_has "Invalid job id"
pc_run 2 route explain --rerank -n 2
pc_err_has "--rerank needs a JOBID"

# --- deadlines as sbatch takes them: a bare count is seconds
t0=$(date +%s)
pc_run 4 --json route explain -n 8 -t 10 --deadline now+15
pc_json "$t0 + 15 <= j['deadline'] <= $t0 + 17 and 'misses_deadline' in [e['reason'] for e in j['excluded'] if e['site']=='a']"
pc_run 0 --json route explain -n 8 -t 10 --deadline now+2hours
pc_json "$t0 + 7200 <= j['deadline'] <= $t0 + 7202 and j['selected']==['a']"
pc_run 0 --json route explain -n 8 -t 10 --deadline "tomorrow 23:00"  # at least 23 hours away, any time of day
pc_json "j['deadline'] > $t0 + 23 * 3600"
pc_run 5 route explain -n 8 --deadline now+15min
pc_err_has "invalid time 'now+15min'"
pc_err_has "now+15minutes (a bare count is seconds)"

# --- bad input names the flag
pc_run 5 route explain -C 'a b'
pc_err_has "invalid --constraint"
pc_run 5 route explain --route quickest
pc_err_has "unknown routing policy 'quickest'"
echo "PASS: test_cli_route"
