#!/usr/bin/env bash
# Runs N federated Slurm clusters on this host (scripts/cluster.sh per cluster, one shared MariaDB + slurmdbd), creates the federation and waits until it is synced.
set -euo pipefail
umask 022

usage() {
  cat <<'EOF'
Usage: scripts/federation.sh COMMAND [OPTIONS]

N local Slurm clusters in one Slurm federation, each made by scripts/cluster.sh in its own run
dir ROOT/NAME with its own ports, controller and nodes. The first cluster also runs MariaDB and
slurmdbd (cluster.sh up --dbd); the others use them (--dbd-of ROOT/FIRST). Order of `up`: start
every controller (cluster.sh registers each cluster with sacctmgr), THEN delete and re-create the
federation and wait until every controller shows all its siblings Synced:Yes (a federation that
exists before its controllers start can stay unsynced forever).

Commands:
  up          start the clusters, create the federation, wait until it is synced
  down        stop every cluster of ROOT (the first one last: it holds slurmdbd); idempotent
  status      `scontrol show federation` as each cluster sees it; exit 0 when all synced
  env NAME    print cluster NAME's `export SLURM_CONF=...` lines (eval "$(... env b)")
  stop-ctld NAME   stop cluster NAME's slurmctld only (its nodes and the others keep running):
                   a site that has gone down
  help        this text

Options:
  --run-root DIR      directory of the clusters' run dirs (default: $PWD/run/federation)
Options of `up` (saved in ROOT/federation.env for the other commands):
  --clusters A,B,C    cluster names (lowercase; default a,b)
  --federation NAME   federation name (default: paracloud)
  --for NAME "ARGS"   extra scripts/cluster.sh `up` options for cluster NAME only, split on blanks
                      (repeatable), e.g. --for c "--cpus-per-node 8 --set Licenses=matlab:2"
  --timeout S         seconds to wait for the federation to sync (default 90)
  --paracloud-conf F  paracloud.conf for every cluster's plugins: each cluster gets a copy,
                      ROOT/NAME.paracloud.conf, whose SpoolDir is SpoolDir/NAME (default
                      ROOT/NAME/paracloud-spool): jobcomp spools must not be shared between
                      controllers. Edit the copies to change a running cluster's configuration.
                      A --for NAME "--paracloud-conf G" uses G as is for that cluster.
  any other option    passed to every cluster's `scripts/cluster.sh up` (--nodes, --cpus-per-node,
                      --plugin-dir, --paracloud-conf, --set, --extra-conf, --plugstack, ...; see
                      scripts/cluster.sh --help). Options with a value take it as the next word.
Example:
  scripts/federation.sh up --clusters a,b,c --nodes 1 --set JobSubmitPlugins=paracloud
  eval "$(scripts/federation.sh env a)"; sbatch --wrap hostname; squeue -M a,b,c
  scripts/federation.sh down
EOF
}

log() { echo "federation: $*" >&2; }
die() { echo "federation: error: $*" >&2; exit 1; }

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CLUSTER_SH=$HERE/cluster.sh

cmd=${1:-help}
[ $# -gt 0 ] && shift
ROOT='' opt_clusters='' opt_fed='' opt_timeout=90 arg_name='' opt_pconf=''
common=() for_names=() for_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --run-root) [ $# -ge 2 ] || die "--run-root needs a value"; ROOT=$2; shift 2 ;;
    --clusters) [ $# -ge 2 ] || die "--clusters needs a value"; opt_clusters=$2; shift 2 ;;
    --federation) [ $# -ge 2 ] || die "--federation needs a value"; opt_fed=$2; shift 2 ;;
    --timeout) [ $# -ge 2 ] || die "--timeout needs a value"; opt_timeout=$2; shift 2 ;;
    --paracloud-conf) [ $# -ge 2 ] || die "--paracloud-conf needs a value"; opt_pconf=$2; shift 2 ;;
    --for) [ $# -ge 3 ] || die "--for needs a cluster name and its options"; for_names+=("$2"); for_args+=("$3"); shift 3 ;;
    --run-dir|--name|--dbd|--dbd-of|--port-base) die "$1 is chosen per cluster by federation.sh (use --run-root / --clusters)" ;;
    -h|--help) usage; exit 0 ;;
    --dbd-*|--keep-state|--kill) common+=("$1"); shift ;;
    --*) [ $# -ge 2 ] || die "option $1 needs a value"; common+=("$1" "$2"); shift 2 ;;
    *) [ -z "$arg_name" ] || die "unexpected argument '$1'"; arg_name=$1; shift ;;
  esac
done
case "$cmd" in -h|--help|help) usage; exit 0 ;; esac
ROOT=${ROOT:-$PWD/run/federation}
case "$ROOT" in /*) ;; *) ROOT=$PWD/$ROOT ;; esac

load_env() {
  CLUSTERS=a,b FED=paracloud
  # shellcheck disable=SC1091
  [ -f "$ROOT/federation.env" ] && . "$ROOT/federation.env"
  IFS=, read -ra NAMES <<<"$CLUSTERS"
}
run_dir() { echo "$ROOT/$1"; }
conf_of() { echo "$ROOT/$1/etc/slurm.conf"; }
# fed_view NAME: `scontrol show federation` as cluster NAME sees it.
fed_view() { SLURM_CONF=$(conf_of "$1") timeout 5 scontrol show federation 2>&1 || true; }
# synced NAME: NAME's controller lists every other cluster as Synced:Yes.
synced() {
  local view n c
  view=$(fed_view "$1")
  n=0
  for c in "${NAMES[@]}"; do
    [ "$c" = "$1" ] && continue
    echo "$view" | grep -E "^ *Sibling: *$c:" | grep -q 'Synced:Yes' && n=$((n + 1))
  done
  [ "$n" -eq $((${#NAMES[@]} - 1)) ]
}

cmd_up() {
  [ "$(id -u)" -eq 0 ] || die "must run as root (scripts/cluster.sh runs the daemons as root)"
  command -v sacctmgr >/dev/null || die "sacctmgr not found (needs slurmdbd: scripts/install-deps.sh)"
  CLUSTERS=${opt_clusters:-a,b} FED=${opt_fed:-paracloud}
  IFS=, read -ra NAMES <<<"$CLUSTERS"
  [ ${#NAMES[@]} -ge 2 ] || die "--clusters '$CLUSTERS': a federation needs two clusters or more"
  local c k i extra first t0=$SECONDS
  for c in "${NAMES[@]}"; do
    case "$c" in *[!a-z0-9_-]*|'') die "--clusters: '$c' is not a cluster name (lowercase letters, digits, - and _)" ;; esac
  done
  for k in "${!for_names[@]}"; do
    [[ ",$CLUSTERS," == *",${for_names[$k]},"* ]] || die "--for ${for_names[$k]}: not one of --clusters $CLUSTERS"
  done
  [ -z "$opt_pconf" ] || [ -r "$opt_pconf" ] || die "--paracloud-conf $opt_pconf: cannot read it"
  mkdir -p "$ROOT"
  chmod 755 "$ROOT"
  printf '# written by scripts/federation.sh up\nCLUSTERS=%s\nFED=%s\n' "$CLUSTERS" "$FED" >"$ROOT/federation.env"
  first=${NAMES[0]}
  for c in "${NAMES[@]}"; do
    extra=()
    if [ -n "$opt_pconf" ]; then  # a copy with this cluster's own SpoolDir
      awk -v name="$c" -v dflt="$(run_dir "$c")/paracloud-spool" '
        /^[ \t]*SpoolDir[ \t]*=/ { sub(/[ \t]*$/, ""); print $0 "/" name; seen = 1; next } { print }
        END { if (!seen) print "SpoolDir=" dflt }' "$opt_pconf" >"$ROOT/$c.paracloud.conf"
      extra+=(--paracloud-conf "$ROOT/$c.paracloud.conf")
    fi
    for k in "${!for_names[@]}"; do
      # shellcheck disable=SC2206  # documented: split on blanks
      [ "${for_names[$k]}" = "$c" ] && extra+=(${for_args[$k]})
    done
    if [ "$c" = "$first" ]; then
      "$CLUSTER_SH" up --run-dir "$(run_dir "$c")" --name "$c" --dbd "${common[@]}" "${extra[@]}" \
        || { cmd_down; die "cluster $c did not start"; }
    else
      "$CLUSTER_SH" up --run-dir "$(run_dir "$c")" --name "$c" --dbd-of "$(run_dir "$first")" "${common[@]}" "${extra[@]}" \
        || { cmd_down; die "cluster $c did not start"; }
    fi
  done
  # Every controller is up: now (re-)create the federation.
  local sacct=(env SLURM_CONF="$(conf_of "$first")" timeout 20 sacctmgr -i)
  if "${sacct[@]}" -n -P show federation format=federation 2>/dev/null | grep -qxF "$FED"; then
    "${sacct[@]}" delete federation "$FED" >"$ROOT/sacctmgr.log" 2>&1 || { cat "$ROOT/sacctmgr.log" >&2; die "sacctmgr delete federation $FED failed"; }
  fi
  "${sacct[@]}" add federation "$FED" clusters="$CLUSTERS" >>"$ROOT/sacctmgr.log" 2>&1 \
    || { cat "$ROOT/sacctmgr.log" >&2; cmd_down; die "sacctmgr add federation $FED clusters=$CLUSTERS failed"; }
  local deadline=$((SECONDS + opt_timeout)) all recreate_at=$((SECONDS + opt_timeout / 3)) recreated=0
  while :; do
    all=1
    for c in "${NAMES[@]}"; do synced "$c" || { all=0; break; }; done
    [ $all = 1 ] && break
    # Two siblings sometimes never open their link (PersistConnSend/Recv:No/No); deleting and
    # re-creating the federation once makes every controller connect again.
    if [ $recreated = 0 ] && [ $SECONDS -ge $recreate_at ]; then
      log "not synced after $((opt_timeout / 3)) s: deleting and re-creating federation $FED"
      "${sacct[@]}" delete federation "$FED" >>"$ROOT/sacctmgr.log" 2>&1 || true
      sleep 2
      "${sacct[@]}" add federation "$FED" clusters="$CLUSTERS" >>"$ROOT/sacctmgr.log" 2>&1 \
        || { cat "$ROOT/sacctmgr.log" >&2; cmd_down; die "sacctmgr add federation $FED clusters=$CLUSTERS failed"; }
      recreated=1
    fi
    if [ $SECONDS -ge $deadline ]; then
      for c in "${NAMES[@]}"; do echo "federation: ---- $c sees:" >&2; fed_view "$c" >&2; done
      cmd_down
      die "federation $FED not synced within $opt_timeout s (see the views above and ROOT/*/log/slurmctld.log)"
    fi
    sleep 0.5
  done
  log "federation $FED of $CLUSTERS synced in $((SECONDS - t0)) s (run dirs in $ROOT): eval \"\$($0 env $first --run-root $ROOT)\""
}

cmd_down() {
  load_env
  local i c
  for ((i = ${#NAMES[@]} - 1; i >= 0; i--)); do  # the first cluster (slurmdbd, MariaDB) last
    c=${NAMES[$i]}
    if [ -d "$(run_dir "$c")" ]; then "$CLUSTER_SH" down --run-dir "$(run_dir "$c")" || true; fi
  done
  log "down: $ROOT"
}

cmd_status() {
  load_env
  local c bad=0
  for c in "${NAMES[@]}"; do
    echo "---- $c ($(conf_of "$c"))"
    fed_view "$c"
    synced "$c" || bad=1
  done
  return $bad
}

need_member() {
  [ -n "$arg_name" ] || die "$cmd needs a cluster name (one of $CLUSTERS)"
  [[ ",$CLUSTERS," == *",$arg_name,"* ]] || die "'$arg_name' is not a cluster of $ROOT (clusters: $CLUSTERS)"
}

cmd_stop_ctld() {
  load_env
  need_member
  local pf pid i st=''
  pf=$(run_dir "$arg_name")/pid/slurmctld.pid
  pid=$(tr -dc 0-9 <"$pf" 2>/dev/null || true)
  [ -n "$pid" ] || { log "slurmctld of $arg_name is not running"; return 0; }
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 150; i++)); do
    st=$(cat "/proc/$pid/stat" 2>/dev/null) || break
    st=${st##*) }; st=${st%% *}
    case "$st" in Z|X) break ;; esac
    sleep 0.1
  done
  if [ -e "/proc/$pid" ] && [ "$st" != Z ]; then kill -KILL "$pid" 2>/dev/null || true; fi
  rm -f "$pf"
  log "stopped slurmctld of $arg_name (pid $pid)"
}

case "$cmd" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  env) load_env; need_member; "$CLUSTER_SH" env --run-dir "$(run_dir "$arg_name")" ;;
  stop-ctld) cmd_stop_ctld ;;
  *) die "unknown command '$cmd' (see scripts/federation.sh --help)" ;;
esac
