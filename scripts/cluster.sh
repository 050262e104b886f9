#!/usr/bin/env bash
# Runs a throwaway Slurm cluster on this host (munged, slurmctld, N slurmd, optional MariaDB + slurmdbd), all state in one run dir.
set -euo pipefail
umask 022

usage() {
  cat <<'EOF'
Usage: scripts/cluster.sh COMMAND [OPTIONS]

A local Slurm cluster made of real daemons (no systemd): munged, slurmctld, N slurmd
("slurmd -N nodeK", one port each, NodeAddr=127.0.0.1) and, with --dbd, MariaDB + slurmdbd.
Everything (keys, sockets, configs, spool, state, logs, pid files) lives in one run directory.
Needs root and the packages of scripts/install-deps.sh.

Commands:
  up            write the configuration and start the daemons; wait until every node is idle
                (re-running on a run dir that is already up says so and succeeds)
  down          stop every daemon of the run dir (TERM, then KILL) and any job processes left
                behind by its slurmstepds; idempotent
  status        show daemons, ports and sinfo; exit 0 all up, 1 partly up, 3 down
  env           print `export SLURM_CONF=...` lines (eval "$(scripts/cluster.sh env)")
  pids          list the live processes of the run dir (daemons, slurmstepds, job tasks)
  restart-ctld  stop slurmctld (TERM, or SIGKILL with --kill) and start it again
  federation    several federated clusters: scripts/federation.sh (`cluster.sh federation --help`)
  help          this text

Options (all commands):
  --run-dir DIR        run directory (default: $PARACLOUD_CLUSTER_DIR, else $PWD/run/cluster-NAME)
  --name NAME          ClusterName, lowercase (default: paracloud)
Options of `up` (saved in RUN/cluster.env for the other commands; a later `up` of a stopped run
dir takes its own options, not the saved ones):
  --nodes N            number of slurmd nodes node1..nodeN (default 2, at most 50)
  --cpus-per-node C    CPUs per node as configured (default 4; need not match the host)
  --port-base P        first of the run dir's 64 TCP ports (default: a free block from 17817 on,
                       step 64, picked per run dir); ctld P, slurmdbd P+1, MariaDB P+2, nodes P+10..
  --dbd                also start MariaDB and slurmdbd and register the cluster (sacct works)
  --dbd-of RUN2        use the munged and slurmdbd of run dir RUN2 (started with --dbd) instead of
                       starting its own: several controllers, one accounting database (the
                       basis of a federation: sacctmgr add federation ... once all are up)
  --plugin-dir DIRS    colon list of extra plugin dirs, searched before the distro's PluginDir;
                       after start each daemon's loaded plugins are checked to come from them
  --paracloud-conf F   paracloud.conf for the plugins: linked as RUN/etc/paracloud.conf (beside
                       slurm.conf) and exported as PARACLOUD_CONF to daemons and by `env`
  --extra-conf F       append F's lines to slurm.conf (repeatable); a Key=Value line replaces the
                       generated line with the same key; NodeName/PartitionName lines are added
  --set LINE           like --extra-conf with one inline line, e.g. --set JobSubmitPlugins=paracloud
  --plugstack F        use F as plugstack.conf (default: an empty one in RUN/etc)
  --timeout S          readiness timeout in seconds (default 60)
  --keep-state         restart a stopped run dir with its saved jobs and node states (default:
                       RUN/state, spool and tmp are emptied, since `down` killed the jobs' processes,
                       and RUN/log moves to RUN/log.prev; munge key and accounting database are kept)
Options of `restart-ctld`:
  --kill               stop the controller with SIGKILL instead of SIGTERM

Layout: RUN/etc/{slurm.conf,slurmdbd.conf,plugstack.conf}, RUN/munge/, RUN/log/, RUN/pid/,
RUN/state/, RUN/spool/nodeK, RUN/tmp/nodeK, RUN/mysql/. `env` also exports the Open MPI settings
that several "nodes" on one host need (btl self,tcp over lo, run as root).
Ports: several clusters may run at once; each run dir claims its block in /tmp/paracloud-cluster-ports/.
EOF
}

log() { echo "cluster: $*" >&2; }
die() { echo "cluster: error: $*" >&2; exit 1; }

DISTRO_PLUGIN_DIR=/usr/lib/x86_64-linux-gnu/slurm-wlm
PORT_FIRST=17817
PORT_STEP=64
PORT_SLOTS=200
CLAIM_DIR=/tmp/paracloud-cluster-ports
MARKER=PARACLOUD_CLUSTER_DAEMON   # env var every daemon of a run dir carries (value: the run dir)

# ---------------------------------------------------------------- options
cmd=${1:-help}
[ $# -gt 0 ] && shift
[ "$cmd" != federation ] || exec "$(dirname "${BASH_SOURCE[0]}")/federation.sh" "$@"  # federation up|down|...
RUN=${PARACLOUD_CLUSTER_DIR:-}
opt_name='' opt_nodes='' opt_cpus='' opt_port='' opt_dbd='' opt_plugin_dir='' opt_pconf='' opt_plugstack=''
opt_timeout=60 opt_kill=0 opt_keep_state=0 opt_dbd_of=
extra_confs=() set_lines=()
need_arg() { [ $# -ge 2 ] && [ -n "$2" ] || die "option $1 needs a value (see --help)"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --run-dir) need_arg "$@"; RUN=$2; shift 2 ;;
    --name) need_arg "$@"; opt_name=$2; shift 2 ;;
    --nodes) need_arg "$@"; opt_nodes=$2; shift 2 ;;
    --cpus-per-node) need_arg "$@"; opt_cpus=$2; shift 2 ;;
    --port-base) need_arg "$@"; opt_port=$2; shift 2 ;;
    --dbd) opt_dbd=1; shift ;;
    --dbd-of) need_arg "$@"; opt_dbd_of=$2; shift 2 ;;
    --plugin-dir) need_arg "$@"; opt_plugin_dir=$2; shift 2 ;;
    --paracloud-conf) need_arg "$@"; opt_pconf=$2; shift 2 ;;
    --extra-conf) need_arg "$@"; extra_confs+=("$2"); shift 2 ;;
    --set) need_arg "$@"; set_lines+=("$2"); shift 2 ;;
    --plugstack) need_arg "$@"; opt_plugstack=$2; shift 2 ;;
    --timeout) need_arg "$@"; opt_timeout=$2; shift 2 ;;
    --kill) opt_kill=1; shift ;;
    --keep-state) opt_keep_state=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) die "unknown option '$1' (see scripts/cluster.sh --help)" ;;
  esac
done

abspath() { case "$1" in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
is_uint() { case "$1" in ''|*[!0-9]*) return 1 ;; *) return 0 ;; esac; }

# Loads RUN/cluster.env (written by `up`) into NAME, NODES, CPUS, PORT_BASE, DBD, ...
load_env() {
  NAME=paracloud NODES=2 CPUS=4 PORT_BASE='' DBD=0 PLUGIN_DIRS='' PCONF='' PLUGSTACK='' SHARED_FROM=''
  if [ -f "$RUN/cluster.env" ]; then
    # shellcheck disable=SC1091
    . "$RUN/cluster.env"
  fi
}
resolve_run_dir() {
  local name=${opt_name:-paracloud}
  RUN=$(abspath "${RUN:-$PWD/run/cluster-$name}")
}
set_paths() {
  CONF=$RUN/etc/slurm.conf
  DBD_CONF=$RUN/etc/slurmdbd.conf
  MUNGE_SOCK=$RUN/munge/sock/munge.socket.2
  MYSQL_SOCK=$RUN/mysql/mysqld.sock
  CTLD_PORT=$PORT_BASE
  DBD_PORT=$((PORT_BASE + 1))
  MYSQL_PORT=$((PORT_BASE + 2))
  HOST=$(hostname -s)
  if [ -n "${SHARED_FROM:-}" ]; then  # munged and slurmdbd belong to another run dir
    local other_base
    other_base=$(sed -n 's/^PORT_BASE=//p' "$SHARED_FROM/cluster.env" 2>/dev/null)
    MUNGE_SOCK=$SHARED_FROM/munge/sock/munge.socket.2
    DBD_PORT=$((other_base + 1))
  fi
}
# own_services: true when this run dir runs its own munged (and slurmdbd/MariaDB with --dbd).
own_services() { [ -z "${SHARED_FROM:-}" ]; }
node_names() { local k; for ((k = 1; k <= NODES; k++)); do echo "node$k"; done; }
node_port() { echo $((PORT_BASE + 9 + ${1#node})); }

# ---------------------------------------------------------------- processes
# pid_alive PID [COMM]: true when PID runs (not a zombie) and, if given, its comm is COMM.
pid_alive() {
  local pid=$1 comm=${2:-} stat st
  is_uint "$pid" || return 1
  stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
  st=${stat##*) }; st=${st%% *}
  case "$st" in Z|X|x) return 1 ;; esac
  if [ -n "$comm" ]; then
    [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$comm" ] || return 1
  fi
  return 0
}
pidfile_pid() { [ -f "$1" ] && tr -dc 0-9 <"$1" 2>/dev/null || true; }
# stop_pids SIGNAL_FIRST TIMEOUT PID...: signal, wait up to TIMEOUT s, then SIGKILL and wait.
stop_pids() {
  local sig=$1 t=$2 pid left i
  shift 2
  [ $# -gt 0 ] || return 0
  kill "-$sig" "$@" 2>/dev/null || true
  for ((i = 0; i < t * 10; i++)); do
    left=0
    for pid in "$@"; do pid_alive "$pid" && left=1; done
    [ $left = 0 ] && return 0
    sleep 0.1
  done
  for pid in "$@"; do pid_alive "$pid" && { log "pid $pid ignored SIG$sig, sending KILL"; kill -KILL "$pid" 2>/dev/null || true; }; done
  for ((i = 0; i < 50; i++)); do
    left=0
    for pid in "$@"; do pid_alive "$pid" && left=1; done
    [ $left = 0 ] && return 0
    sleep 0.1
  done
  log "warning: still running after SIGKILL: $*"
}
# Pids of every live process of this run dir and their descendants (job tasks). A process belongs
# to it when its environment carries the marker (the daemons), or when it is a Slurm/munge/MariaDB
# process whose cwd or an open file lies under the run dir (slurmstepd overwrites its environment).
run_pids() {
  local f p comm marked=() l
  while read -r f; do
    p=${f#/proc/}; p=${p%/environ}
    [ "$p" = $$ ] || marked+=("$p")
  done < <(grep -lzxF "$MARKER=$RUN" /proc/[0-9]*/environ 2>/dev/null || true)
  for f in /proc/[0-9]*; do
    read -r comm 2>/dev/null <"$f/comm" || continue
    case "$comm" in slurmstepd|slurmd|slurmctld|slurmscriptd|slurmdbd|munged|mariadbd) ;; *) continue ;; esac
    for l in "$f/cwd" "$f"/fd/*; do
      case "$(readlink "$l" 2>/dev/null)" in "$RUN"/*|"$RUN") marked+=("${f#/proc/}"); break ;; esac
    done
  done
  [ ${#marked[@]} -gt 0 ] || return 0
  cat /proc/[0-9]*/stat 2>/dev/null | awk -v seeds="${marked[*]}" '
    { pid = $1; sub(/^.*\) /, ""); st[pid] = $1; ppid[pid] = $2 }
    END { n = split(seeds, s, " "); for (i = 1; i <= n; i++) keep[s[i]] = 1
          do { changed = 0
               for (p in ppid) if (!(p in keep) && (ppid[p] in keep)) { keep[p] = 1; changed = 1 } } while (changed)
          for (p in keep) if ((p in st) && st[p] != "Z" && st[p] != "X") print p }' | sort -nu
}

# Starts a command detached with the run dir marker in its environment, stdio to LOG.
launch() {
  local logf=$1
  shift
  env "$MARKER=$RUN" SLURM_CONF="$CONF" ${PCONF:+PARACLOUD_CONF=$RUN/etc/paracloud.conf} \
    setsid "$@" </dev/null >>"$logf" 2>&1 &
}
fail_log() {  # fail_log MESSAGE LOGFILE...
  local msg=$1 f
  shift
  for f in "$@"; do
    [ -f "$f" ] && { echo "cluster: ---- last lines of $f" >&2; tail -n 25 "$f" >&2; }
  done
  die "$msg"
}

# ---------------------------------------------------------------- ports
port_listening() {  # true if TCP port $1 is in LISTEN state on any address
  local hex
  hex=$(printf '%04X' "$1")
  awk -v h=":$hex" '$4 == "0A" && substr($2, length($2) - 4) == h { f = 1 } END { exit !f }' /proc/net/tcp /proc/net/tcp6 2>/dev/null
}
block_free() {  # block_free BASE: no port of the block listens and no other live run dir claims it
  local base=$1 p claim owner
  claim=$CLAIM_DIR/$base
  if owner=$(readlink "$claim" 2>/dev/null) && [ "$owner" != "$RUN" ]; then
    # A claim is live while its owner has daemons running or was made in the last 5 minutes.
    if [ -n "$(find "$claim" -maxdepth 0 -mmin -5 2>/dev/null)" ] || [ -n "$(RUN=$owner run_pids | head -1)" ]; then
      return 1
    fi
  fi
  for ((p = base; p < base + 10 + NODES; p++)); do port_listening "$p" && return 1; done
  return 0
}
choose_ports() {
  mkdir -p "$CLAIM_DIR"
  exec 9>"$CLAIM_DIR/.lock"
  flock -w 30 9 || die "could not lock $CLAIM_DIR/.lock"
  if [ -n "$opt_port" ]; then
    is_uint "$opt_port" && [ "$opt_port" -ge 1024 ] && [ "$opt_port" -le 65000 ] || die "--port-base '$opt_port' must be a number in 1024..65000"
    PORT_BASE=$opt_port
    block_free "$PORT_BASE" || die "ports $PORT_BASE..$((PORT_BASE + 9 + NODES)) are in use or claimed by another run dir (pick another --port-base)"
  elif [ -n "$PORT_BASE" ] && block_free "$PORT_BASE"; then
    :  # keep the block this run dir used before
  else
    local start i slot
    start=$(( $(printf '%s' "$RUN" | cksum | cut -d' ' -f1) % PORT_SLOTS ))
    PORT_BASE=
    for ((i = 0; i < PORT_SLOTS; i++)); do
      slot=$(( (start + i) % PORT_SLOTS ))
      if block_free $((PORT_FIRST + slot * PORT_STEP)); then PORT_BASE=$((PORT_FIRST + slot * PORT_STEP)); break; fi
    done
    [ -n "$PORT_BASE" ] || die "no free block of $PORT_STEP ports from $PORT_FIRST on (use --port-base)"
  fi
  ln -sfn "$RUN" "$CLAIM_DIR/$PORT_BASE"
  exec 9>&-
}
release_ports() {
  [ -n "${PORT_BASE:-}" ] || return 0
  [ "$(readlink "$CLAIM_DIR/$PORT_BASE" 2>/dev/null)" = "$RUN" ] && rm -f "$CLAIM_DIR/$PORT_BASE"
  return 0
}

# ---------------------------------------------------------------- configuration
write_env() {
  cat >"$RUN/cluster.env" <<EOF
# written by scripts/cluster.sh up; read by its other commands
NAME=$NAME
NODES=$NODES
CPUS=$CPUS
PORT_BASE=$PORT_BASE
DBD=$DBD
SHARED_FROM='$SHARED_FROM'
PLUGIN_DIRS='$PLUGIN_DIRS'
PCONF='$PCONF'
PLUGSTACK='$PLUGSTACK'
EOF
}

write_slurm_conf() {
  local gen=$RUN/etc/slurm.conf.generated extra=$RUN/etc/slurm.conf.extra n f l
  : >"$extra"
  for f in "${extra_confs[@]}"; do
    [ -r "$f" ] || die "--extra-conf $f: cannot read it"
    cat "$f" >>"$extra"; echo >>"$extra"
  done
  for l in "${set_lines[@]}"; do echo "$l" >>"$extra"; done
  {
    echo "# slurm.conf of the local paracloud cluster $NAME (scripts/cluster.sh); run dir $RUN"
    echo "ClusterName=$NAME"
    echo "SlurmctldHost=$HOST(127.0.0.1)"
    echo "SlurmctldPort=$CTLD_PORT"
    echo "SlurmdPort=$(node_port node1)"
    echo "AuthType=auth/munge"
    echo "AuthInfo=socket=$MUNGE_SOCK"
    echo "CredType=cred/munge"
    echo "SlurmUser=root"
    echo "SlurmdUser=root"
    # --plugin-dir first: Slurm loads a plugin from the first PluginDir entry that has its file, so
    # an installed copy in the distro directory must not shadow the one under test.
    echo "PluginDir=${PLUGIN_DIRS:+$PLUGIN_DIRS:}$DISTRO_PLUGIN_DIR"
    echo "PlugStackConfig=${PLUGSTACK:-$RUN/etc/plugstack.conf}"
    echo "StateSaveLocation=$RUN/state"
    echo "SlurmdSpoolDir=$RUN/spool/%n"
    echo "TmpFS=$RUN/tmp/%n"
    echo "SlurmctldPidFile=$RUN/pid/slurmctld.pid"
    echo "SlurmdPidFile=$RUN/pid/slurmd.%n.pid"
    echo "SlurmctldLogFile=$RUN/log/slurmctld.log"
    echo "SlurmdLogFile=$RUN/log/slurmd.%n.log"
    echo "SlurmctldDebug=info"
    echo "SlurmdDebug=info"
    echo "ProctrackType=proctrack/linuxproc"
    echo "TaskPlugin=task/none"
    echo "JobAcctGatherType=jobacct_gather/none"
    echo "SelectType=select/cons_tres"
    echo "SelectTypeParameters=CR_Core"
    echo "SchedulerParameters=batch_sched_delay=0,bf_interval=1"
    echo "SlurmdParameters=config_overrides"
    echo "MpiDefault=pmix"
    echo "MailProg=/bin/true"
    echo "ReturnToService=2"
    echo "SlurmctldTimeout=30"
    echo "SlurmdTimeout=60"
    echo "InactiveLimit=0"
    echo "KillWait=5"
    echo "MinJobAge=300"
    if [ "$DBD" = 1 ]; then
      echo "AccountingStorageType=accounting_storage/slurmdbd"
      echo "AccountingStorageHost=127.0.0.1"
      echo "AccountingStoragePort=$DBD_PORT"
      echo "AccountingStoragePass=socket=$MUNGE_SOCK"
    else
      echo "AccountingStorageType=accounting_storage/none"
    fi
    for n in $(node_names); do
      echo "NodeName=$n NodeHostname=$HOST NodeAddr=127.0.0.1 Port=$(node_port "$n") CPUs=$CPUS Boards=1 SocketsPerBoard=1 CoresPerSocket=$CPUS ThreadsPerCore=1 State=UNKNOWN"
    done
    echo "PartitionName=batch Nodes=ALL Default=YES MaxTime=INFINITE State=UP"
    echo "PartitionName=debug Nodes=ALL MaxTime=00:30:00 State=UP"
  } >"$gen"
  # Key=Value lines of the extra configuration replace generated lines with the same key.
  awk -F= -v extra="$extra" '
    FILENAME == extra { if ($0 !~ /^[ \t]*#/ && NF > 1) { k = tolower($1); gsub(/[ \t]/, "", k)
                if (k != "nodename" && k != "partitionname") over[k] = 1 }; next }
    { k = tolower($1); gsub(/[ \t]/, "", k); if (!(k in over)) print }' "$extra" "$gen" >"$CONF"
  if [ -s "$extra" ]; then
    { echo "# ---- from --extra-conf / --set"; cat "$extra"; } >>"$CONF"
  fi
  [ -n "$PLUGSTACK" ] || [ -f "$RUN/etc/plugstack.conf" ] || echo "# no SPANK plugins" >"$RUN/etc/plugstack.conf"
}

write_dbd_conf() {
  local pass
  mkdir -p "$RUN/mysql"
  if [ -f "$RUN/mysql/slurm.pass" ]; then pass=$(cat "$RUN/mysql/slurm.pass")
  else pass=$(head -c 18 /dev/urandom | base64 | tr -dc A-Za-z0-9); echo "$pass" >"$RUN/mysql/slurm.pass"; chmod 600 "$RUN/mysql/slurm.pass"; fi
  (umask 077; cat >"$DBD_CONF" <<EOF
# slurmdbd.conf of the local paracloud cluster $NAME (scripts/cluster.sh)
AuthType=auth/munge
AuthInfo=socket=$MUNGE_SOCK
DbdHost=$HOST
DbdAddr=127.0.0.1
DbdPort=$DBD_PORT
SlurmUser=root
PidFile=$RUN/pid/slurmdbd.pid
LogFile=$RUN/log/slurmdbd.log
DebugLevel=info
PluginDir=$DISTRO_PLUGIN_DIR
StorageType=accounting_storage/mysql
StorageHost=127.0.0.1
StoragePort=$MYSQL_PORT
StorageUser=slurm
StoragePass=$pass
StorageLoc=slurm_acct_db
EOF
  )
  chmod 600 "$DBD_CONF"
}

# ---------------------------------------------------------------- daemons
start_munge() {
  local pid
  pid=$(pidfile_pid "$RUN/pid/munged.pid")
  if pid_alive "$pid" munged; then return 0; fi
  mkdir -p "$RUN/munge/sock"
  chmod 711 "$RUN/munge"  # clients must reach the socket; the key stays private (mode 400)
  chmod 755 "$RUN/munge/sock"
  if [ ! -s "$RUN/munge/munge.key" ]; then
    mungekey -c -k "$RUN/munge/munge.key" -b 1024 2>>"$RUN/log/munged.log" || fail_log "mungekey failed" "$RUN/log/munged.log"
    chmod 400 "$RUN/munge/munge.key"
  fi
  rm -f "$MUNGE_SOCK" "$MUNGE_SOCK.lock"
  launch "$RUN/log/munged.out" munged --socket="$MUNGE_SOCK" --key-file="$RUN/munge/munge.key" \
    --log-file="$RUN/log/munged.log" --pid-file="$RUN/pid/munged.pid" --seed-file="$RUN/munge/munged.seed"
  local i
  for ((i = 0; i < 100; i++)); do
    [ -S "$MUNGE_SOCK" ] && pid_alive "$(pidfile_pid "$RUN/pid/munged.pid")" munged && return 0
    sleep 0.1
  done
  fail_log "munged did not start" "$RUN/log/munged.log" "$RUN/log/munged.out"
}

mysql_cmd() { mariadb --no-defaults -S "$MYSQL_SOCK" -u root "$@"; }
start_mariadb() {
  local pid i
  pid=$(pidfile_pid "$RUN/pid/mariadb.pid")
  if pid_alive "$pid" mariadbd; then return 0; fi
  mkdir -p "$RUN/mysql"
  if [ ! -d "$RUN/mysql/data/mysql" ]; then  # --force: no DNS check (fresh roots cannot resolve the hostname)
    log "initialising MariaDB in $RUN/mysql/data"
    mariadb-install-db --no-defaults --datadir="$RUN/mysql/data" --user=root \
      --auth-root-authentication-method=socket --skip-test-db --skip-name-resolve --force >>"$RUN/log/mariadb-install.log" 2>&1 \
      || fail_log "mariadb-install-db failed" "$RUN/log/mariadb-install.log"
  fi
  rm -f "$MYSQL_SOCK"
  launch "$RUN/log/mariadb.out" mariadbd --no-defaults --datadir="$RUN/mysql/data" --socket="$MYSQL_SOCK" \
    --pid-file="$RUN/pid/mariadb.pid" --port="$MYSQL_PORT" --bind-address=127.0.0.1 --user=root \
    --skip-name-resolve --log-error="$RUN/log/mariadb.log" --innodb-buffer-pool-size=64M \
    --innodb-flush-log-at-trx-commit=2
  local launcher=$!
  for ((i = 0; i < 300; i++)); do
    mysql_cmd -e 'SELECT 1' >/dev/null 2>&1 && break
    pid_alive "$launcher" || fail_log "mariadbd exited" "$RUN/log/mariadb.log" "$RUN/log/mariadb.out"
    sleep 0.1
  done
  mysql_cmd -e 'SELECT 1' >/dev/null 2>&1 || fail_log "MariaDB did not accept connections within 30 s" "$RUN/log/mariadb.log"
  mysql_cmd -e "CREATE USER IF NOT EXISTS 'slurm'@'127.0.0.1' IDENTIFIED BY '$(cat "$RUN/mysql/slurm.pass")';
    GRANT ALL ON slurm_acct_db.* TO 'slurm'@'127.0.0.1';" || die "could not create the MariaDB user for slurmdbd"
}

# client CMD...: a Slurm client against this cluster, bounded in time.
client() { SLURM_CONF=$CONF timeout 10 "$@"; }

start_slurmdbd() {
  local pid i launcher=
  pid=$(pidfile_pid "$RUN/pid/slurmdbd.pid")
  if ! pid_alive "$pid" slurmdbd; then
    launch "$RUN/log/slurmdbd.out" slurmdbd
    launcher=$!
  fi
  for ((i = 0; i < 60; i++)); do
    SLURM_CONF=$CONF timeout 5 sacctmgr -n -P show cluster format=cluster >"$RUN/log/sacctmgr.out" 2>&1 && return 0
    if [ $i -gt 3 ] && ! pid_alive "$(pidfile_pid "$RUN/pid/slurmdbd.pid")" slurmdbd && ! pid_alive "$launcher"; then
      fail_log "slurmdbd exited while starting" "$RUN/log/slurmdbd.log" "$RUN/log/slurmdbd.out"
    fi
    sleep 0.5
  done
  fail_log "slurmdbd did not answer within 30 s" "$RUN/log/slurmdbd.log" "$RUN/log/slurmdbd.out" "$RUN/log/sacctmgr.out"
}
# register_cluster NAME: add the cluster to slurmdbd unless it is there already.
register_cluster() {
  if ! SLURM_CONF=$CONF timeout 10 sacctmgr -n -P show cluster format=cluster | grep -qxF "$1"; then
    SLURM_CONF=$CONF timeout 10 sacctmgr -i add cluster "$1" >>"$RUN/log/sacctmgr.out" 2>&1 \
      || fail_log "sacctmgr add cluster $1 failed" "$RUN/log/sacctmgr.out"
    log "registered cluster $1 in slurmdbd"
  fi
}

start_ctld() {
  local pid
  pid=$(pidfile_pid "$RUN/pid/slurmctld.pid")
  if pid_alive "$pid" slurmctld; then return 0; fi
  launch "$RUN/log/slurmctld.out" slurmctld -f "$CONF"
  CTLD_LAUNCH_PID=$!
}
start_nodes() {
  local n pid
  for n in $(node_names); do
    mkdir -p "$RUN/spool/$n" "$RUN/tmp/$n"
    pid=$(pidfile_pid "$RUN/pid/slurmd.$n.pid")
    pid_alive "$pid" slurmd && continue
    launch "$RUN/log/slurmd.$n.out" slurmd -f "$CONF" -N "$n"
  done
}

# wait_ready: until slurmctld answers and all NODES nodes have registered and are usable
# (idle, or mix/alloc/completing when recovered jobs still run); a fresh run dir means all idle.
wait_ready() {
  local deadline out n total dead=0
  deadline=$((SECONDS + opt_timeout))
  while :; do
    # Fail fast when the controller is gone: its launcher has returned and no daemon runs
    # (a client would otherwise block ~10 s per try). Allow ~1 s for the daemon's pid file.
    if ctld_running || pid_alive "${CTLD_LAUNCH_PID:-}"; then dead=0
    else
      dead=$((dead + 1))
      [ $dead -lt 4 ] || fail_log "slurmctld exited while starting" "$RUN/log/slurmctld.log" "$RUN/log/slurmctld.out"
      sleep 0.3; continue
    fi
    out=$(SLURM_CONF=$CONF timeout 5 sinfo -h -N -o '%N %t' 2>/dev/null | sort -u || true)
    if [ -n "$out" ]; then
      total=$(echo "$out" | awk '{print $1}' | sort -u | wc -l)
      n=$(echo "$out" | awk '$2 == "idle" || $2 == "mix" || $2 == "alloc" || $2 == "comp"' | wc -l)
      [ "$n" -eq "$NODES" ] && [ "$total" -eq "$NODES" ] && return 0
    fi
    if [ $SECONDS -ge $deadline ]; then
      echo "cluster: sinfo says:" >&2; echo "${out:-  (no answer from slurmctld)}" >&2
      local logs=("$RUN/log/slurmctld.log")
      for n in $(node_names); do
        echo "$out" | grep -Eq "^$n (idle|mix|alloc|comp)\$" || logs+=("$RUN/log/slurmd.$n.log")
      done
      fail_log "cluster not ready within $opt_timeout s (not every node registered; see the logs above)" "${logs[@]}"
    fi
    sleep 0.3
  done
}

# check_loaded: each plugin of a --plugin-dir directory that a daemon has mapped came from that
# directory (not from a same-named file elsewhere, e.g. an installed paracloud in the distro
# PluginDir); says which file each daemon loaded. Dies naming both files otherwise.
check_loaded() {
  [ -n "$PLUGIN_DIRS" ] || return 0
  local who pf pid path base pd want dirs=()
  IFS=: read -ra dirs <<<"$PLUGIN_DIRS"
  while read -r who pf; do
    pid=$(pidfile_pid "$pf")
    [ -n "$pid" ] && [ -r "/proc/$pid/maps" ] || continue
    while read -r path; do
      base=${path##*/}
      for pd in "${dirs[@]}"; do
        [ -f "$pd/$base" ] || continue
        want=$(realpath "$pd/$base")
        if [ "$path" != "$want" ]; then
          die "$who loaded $path, not $want given by --plugin-dir: remove or rename the other copy (an installed paracloud?)"
        fi
        log "$who loaded $path"
      done
    done < <(awk '$6 ~ /\.so$/ {print $6}' "/proc/$pid/maps" | sort -u)
  done < <(echo "slurmctld $RUN/pid/slurmctld.pid"; for n in $(node_names); do echo "slurmd:$n $RUN/pid/slurmd.$n.pid"; done)
}

# ---------------------------------------------------------------- commands
daemon_list() {  # lines "stop-group name pidfile comm" of this run dir's daemons
  local n
  for n in $(node_names); do echo "1 slurmd:$n $RUN/pid/slurmd.$n.pid slurmd"; done
  echo "1 slurmctld $RUN/pid/slurmctld.pid slurmctld"
  echo "2 slurmdbd $RUN/pid/slurmdbd.pid slurmdbd"
  echo "3 mariadbd $RUN/pid/mariadb.pid mariadbd"
  echo "4 munged $RUN/pid/munged.pid munged"
}
ctld_running() { pid_alive "$(pidfile_pid "$RUN/pid/slurmctld.pid")" slurmctld; }

cmd_up() {
  [ "$(id -u)" -eq 0 ] || die "must run as root (the daemons run with SlurmUser=root)"
  local t0=$SECONDS b
  for b in munged mungekey slurmctld slurmd sinfo; do
    command -v "$b" >/dev/null || die "$b not found (run scripts/install-deps.sh)"
  done
  load_env
  if ctld_running; then
    set_paths
    log "$RUN is already up (cluster $NAME, slurmctld port $CTLD_PORT); use 'down' first to change its configuration"
    if own_services; then start_munge; [ "$DBD" = 1 ] && { start_mariadb; start_slurmdbd; }; fi
    start_nodes
    wait_ready
    return 0
  fi
  # A stopped run dir starts with this command's options; only its port block is reused.
  NAME=${opt_name:-paracloud} NODES=${opt_nodes:-2} CPUS=${opt_cpus:-4} DBD=${opt_dbd:-0}
  PLUGIN_DIRS='' PCONF='' PLUGSTACK='' SHARED_FROM=''
  if [ -n "$opt_dbd_of" ]; then
    SHARED_FROM=$(cd "$opt_dbd_of" 2>/dev/null && pwd) || die "--dbd-of $opt_dbd_of: no such run dir"
    grep -qx 'DBD=1' "$SHARED_FROM/cluster.env" 2>/dev/null && [ -z "$(sed -n "s/^SHARED_FROM='\(..*\)'/\1/p" "$SHARED_FROM/cluster.env")" ] \
      || die "--dbd-of $SHARED_FROM: not a run dir started with --dbd (start it first: scripts/cluster.sh up --dbd --run-dir $SHARED_FROM)"
    pid_alive "$(pidfile_pid "$SHARED_FROM/pid/slurmdbd.pid")" slurmdbd || die "--dbd-of $SHARED_FROM: its slurmdbd is not running"
    DBD=1
  fi
  case "$NAME" in *[!a-z0-9_-]*|'') die "--name '$NAME': use lowercase letters, digits, - and _" ;; esac
  is_uint "$NODES" && [ "$NODES" -ge 1 ] && [ "$NODES" -le 50 ] || die "--nodes '$NODES' must be 1..50"
  is_uint "$CPUS" && [ "$CPUS" -ge 1 ] || die "--cpus-per-node '$CPUS' must be a positive number"
  if [ "$DBD" = 1 ]; then
    for b in slurmdbd sacctmgr mariadbd mariadb-install-db mariadb; do
      command -v "$b" >/dev/null || die "$b not found (--dbd needs slurmdbd and mariadb-server; run scripts/install-deps.sh)"
    done
  fi
  if [ -n "$opt_plugin_dir" ]; then
    local pd dirs=()
    IFS=: read -ra dirs <<<"$opt_plugin_dir"
    for pd in "${dirs[@]}"; do
      [ -n "$pd" ] || continue
      [ -d "$pd" ] || die "--plugin-dir: $pd is not a directory (slurmctld refuses a PluginDir entry that does not exist)"
      PLUGIN_DIRS=${PLUGIN_DIRS:+$PLUGIN_DIRS:}$(cd "$pd" && pwd)
    done
  fi
  if [ -n "$opt_pconf" ]; then [ -r "$opt_pconf" ] || die "--paracloud-conf $opt_pconf: cannot read it"; PCONF=$(abspath "$opt_pconf"); fi
  if [ -n "$opt_plugstack" ]; then [ -r "$opt_plugstack" ] || die "--plugstack $opt_plugstack: cannot read it"; PLUGSTACK=$(abspath "$opt_plugstack"); fi
  for b in "${extra_confs[@]}"; do [ -r "$b" ] || die "--extra-conf $b: cannot read it"; done

  local d=$RUN
  while [ "$d" != / ]; do  # munged refuses a socket below a directory others cannot search
    d=$(dirname "$d")
    [ -d "$d" ] || continue
    [ "$(( $(stat -c '0%a' "$d") & 1 ))" = 1 ] || die "munged needs every directory above its socket searchable by all: chmod o+x $d (or use another --run-dir)"
  done
  UP_STARTED=1  # from here on, a failure stops what was started (see the EXIT trap)
  if [ "$opt_keep_state" = 0 ] && [ -d "$RUN" ]; then
    rm -rf "${RUN:?}"/{state,spool,tmp,log.prev}
    [ ! -d "$RUN/log" ] || mv "$RUN/log" "$RUN/log.prev"
  fi
  mkdir -p "$RUN"/{etc,log,pid,state,spool,tmp}
  choose_ports
  set_paths
  [ ${#MUNGE_SOCK} -lt 100 ] || die "run dir path too long for a unix socket ($MUNGE_SOCK): use a shorter --run-dir"
  write_env
  write_slurm_conf
  if [ -n "$PCONF" ]; then ln -sfn "$PCONF" "$RUN/etc/paracloud.conf"; fi
  log "starting $NAME in $RUN: $NODES node(s) x $CPUS CPUs, ports $PORT_BASE..$(node_port "node$NODES")$( [ "$DBD" = 1 ] && echo ", with slurmdbd${SHARED_FROM:+ of $SHARED_FROM}")"
  if own_services; then
    start_munge
    if [ "$DBD" = 1 ]; then
      write_dbd_conf
      start_mariadb
      start_slurmdbd
    fi
  fi
  [ "$DBD" = 1 ] && register_cluster "$NAME"
  start_ctld
  start_nodes
  wait_ready
  check_loaded
  UP_STARTED=0
  log "up in $((SECONDS - t0)) s: eval \"\$($0 env --run-dir $RUN)\""
}

cmd_down() {
  load_env
  [ -d "$RUN" ] || { log "$RUN does not exist: nothing to stop"; return 0; }
  local group g name pf comm pid pids
  # Stop order: nodes and controller, then slurmdbd, MariaDB, munged; each group TERM then KILL.
  for group in 1 2 3 4; do
    pids=()
    while read -r g name pf comm; do
      [ "$g" = "$group" ] || continue
      pid=$(pidfile_pid "$pf")
      pid_alive "$pid" "$comm" && pids+=("$pid")
    done < <(daemon_list)
    if [ "$group" = 1 ]; then  # also nodes beyond the configured count (config changed between runs)
      for pf in "$RUN"/pid/slurmd.*.pid; do
        [ -f "$pf" ] || continue
        pid=$(pidfile_pid "$pf"); pid_alive "$pid" slurmd && pids+=("$pid")
      done
    fi
    if [ ${#pids[@]} -gt 0 ]; then
      mapfile -t pids < <(printf '%s\n' "${pids[@]}" | sort -u)
      stop_pids TERM 15 "${pids[@]}"
    fi
  done
  # Whatever is left: slurmstepds, job tasks, daemons whose pid files were lost.
  mapfile -t pids < <(run_pids)
  if [ ${#pids[@]} -gt 0 ]; then
    log "killing ${#pids[@]} leftover process(es) of $RUN: ${pids[*]}"
    stop_pids KILL 5 "${pids[@]}"
  fi
  rm -f "$RUN"/pid/*.pid
  release_ports
  log "down: $RUN"
}

cmd_status() {
  load_env
  [ -f "$RUN/cluster.env" ] || { echo "no cluster in $RUN"; return 3; }
  set_paths
  local name pf comm pid up=0 total=0
  echo "run dir: $RUN"
  echo "cluster: $NAME, $NODES node(s) x $CPUS CPUs, slurmctld port $CTLD_PORT$( [ "$DBD" = 1 ] && { if own_services; then echo ", slurmdbd port $DBD_PORT, MariaDB port $MYSQL_PORT"; else echo ", slurmdbd of $SHARED_FROM (port $DBD_PORT)"; fi; })"
  while read -r _ name pf comm; do
    case "$comm" in slurmdbd|mariadbd) [ "$DBD" = 1 ] && own_services || continue ;; munged) own_services || continue ;; esac
    total=$((total + 1))
    pid=$(pidfile_pid "$pf")
    if pid_alive "$pid" "$comm"; then up=$((up + 1)); printf '  %-14s running (pid %s)\n' "$name" "$pid"
    else printf '  %-14s stopped\n' "$name"; fi
  done < <(daemon_list)
  if ctld_running; then SLURM_CONF=$CONF timeout 5 sinfo || echo "  (sinfo did not answer)"; fi
  [ $up -eq $total ] && return 0
  [ $up -eq 0 ] && return 3
  return 1
}

cmd_env() {
  load_env
  [ -f "$RUN/cluster.env" ] || die "no cluster in $RUN (run: scripts/cluster.sh up --run-dir $RUN)"
  echo "export SLURM_CONF=$RUN/etc/slurm.conf"
  echo "export PARACLOUD_CLUSTER_DIR=$RUN"
  [ -z "$PCONF" ] || echo "export PARACLOUD_CONF=$RUN/etc/paracloud.conf"
  echo "export OMPI_MCA_btl=self,tcp OMPI_MCA_btl_tcp_if_include=lo OMPI_MCA_oob_tcp_if_include=lo"
  echo "export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1"
}

cmd_restart_ctld() {
  load_env
  [ -f "$RUN/cluster.env" ] || die "no cluster in $RUN"
  set_paths
  local pid
  pid=$(pidfile_pid "$RUN/pid/slurmctld.pid")
  if pid_alive "$pid" slurmctld; then
    if [ "$opt_kill" = 1 ]; then log "SIGKILL slurmctld (pid $pid)"; stop_pids KILL 5 "$pid"
    else log "stopping slurmctld (pid $pid)"; stop_pids TERM 15 "$pid"; fi
  fi
  rm -f "$RUN/pid/slurmctld.pid"
  start_ctld
  wait_ready
  log "slurmctld restarted (pid $(pidfile_pid "$RUN/pid/slurmctld.pid"))"
}

case "$cmd" in
  -h|--help|help) usage; exit 0 ;;
esac
UP_STARTED=0
on_exit() {
  local rc=$?
  if [ "$UP_STARTED" = 1 ] && [ $rc -ne 0 ]; then
    UP_STARTED=0
    log "up failed: stopping what was started (logs stay in $RUN/log)"
    cmd_down || true
  fi
  exit $rc
}
trap on_exit EXIT
resolve_run_dir
case "$cmd" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  env) cmd_env ;;
  restart-ctld) cmd_restart_ctld ;;
  pids) run_pids ;;
  *) die "unknown command '$cmd' (see scripts/cluster.sh --help)" ;;
esac
