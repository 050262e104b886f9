#!/bin/sh
# CLI test: `paracloud tune bench` runs every rank on this host, and no rank writes through a scratch
# path it cannot prove is the bench's own (issue 16 item 6). Fake launchers play "a rank on another
# node, where a local user planted the scratch name (it is in the launcher's arguments, visible to
# everyone) as a symlink": the bench refuses clearly and nothing is written through the link.
# srun is asked for one node; a default hostfile naming other hosts does not send mpirun's ranks there.
set -u
. "$top_srcdir/tests/cli/lib.sh"
pc_setup
build=${PC_BUILDDIR:-${PARACLOUD%/cli/paracloud}}
export PARACLOUD_TUNE_SWEEP="$build/runtime/bench/coll_sweep" PARACLOUD_RT="$build/runtime/.libs/libparacloud_rt.so"
[ -x "$PARACLOUD_TUNE_SWEEP" ] || pc_skip "$PARACLOUD_TUNE_SWEEP not built (configure found no MPI)"
[ -f "$PARACLOUD_RT" ] || pc_skip "$PARACLOUD_RT not built"
real_mpirun=$(command -v mpirun) || pc_skip "mpirun not found (apt-get install openmpi-bin)"
export PARACLOUD_TUNE_DIR="$PC_DIR/user" PARACLOUD_TUNE_SITE_DIR="$PC_DIR/site"
export OMPI_MCA_btl=self,vader OMPI_MCA_rmaps_base_oversubscribe=1 OMPI_MCA_hwloc_base_binding_policy=none
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1  # the fake srun's mpirun, as root
unset PARACLOUD_TUNE PARACLOUD_TUNE_FORCE PARACLOUD_TUNE_REPRODUCIBLE PARACLOUD_PROFILE PARACLOUD_PROFILE_DIR LD_PRELOAD
unset OMPI_MCA_orte_default_hostfile
bench() {
  want=$1; shift
  rc=0; timeout 60 "$PARACLOUD" --conf "$PC_CONF" tune bench "$@" >"$PC_OUT" 2>"$PC_ERR" || rc=$?
  [ "$rc" = "$want" ] || pc_fail "paracloud tune bench $*: exit status $rc, expected $want"
}
victim=$PC_DIR/victim
mkdir "$PC_DIR/bin" "$victim"
# plant ARGS...: what a user of another node can do: the scratch name is in the launcher's arguments,
# and there it does not exist, so it is replaced here by a symlink to $victim before the ranks start.
cat >"$PC_DIR/bin/plant" <<EOF
scratch=\$(printf '%s\n' "\$@" | grep -o '/tmp/paracloud-tune-bench\.[A-Za-z0-9]*' | head -n 1)
[ -n "\$scratch" ] || { echo "plant: no scratch path in the arguments" >&2; exit 99; }
rm -rf "\$scratch" && ln -s "$victim" "\$scratch"
printf '%s\n' "\$@" >"$PC_DIR/launcher.args"
EOF
# mpirun: plant, then the real mpirun (its ranks see the symlink, as ranks of another node would).
cat >"$PC_DIR/bin/mpirun" <<EOF
#!/bin/sh
. "$PC_DIR/bin/plant"
exec "$real_mpirun" "\$@"
EOF
# srun: plant, then its tasks with the real mpirun on this host (-n, --export=ALL,K=V,...; the
# node options are recorded, not obeyed).
cat >"$PC_DIR/bin/srun" <<EOF
#!/bin/sh
. "$PC_DIR/bin/plant"
n=1 exports=ALL
while [ \$# -gt 0 ]; do
  case \$1 in
    -n|--ntasks) n=\$2; shift 2 ;;
    -N|--nodes|-w|--nodelist) shift 2 ;;
    --export=*) exports=\${1#--export=}; shift ;;
    -*) shift ;;
    *) break ;;
  esac
done
IFS=,
for kv in \$exports; do [ "\$kv" = ALL ] || export "\$kv"; done
unset IFS
exec "$real_mpirun" -np "\$n" "\$@"
EOF
chmod +x "$PC_DIR/bin/mpirun" "$PC_DIR/bin/srun"

# nothing_written LAUNCHER: the planted symlink was not followed, nothing was seeded.
nothing_written() {
  left=$(ls -A "$victim")
  [ -z "$left" ] || pc_fail "$1: a rank wrote through the planted symlink into $victim: $left"
  [ ! -e "$PARACLOUD_TUNE_SITE_DIR" ] || pc_fail "$1: the site store was seeded from a foreign scratch dir"
}
for launcher in mpirun srun; do
  rc=0; PATH="$PC_DIR/bin:$PATH" timeout 60 "$PARACLOUD" --conf "$PC_CONF" tune bench -n 2 --max-bytes 64 \
    --launcher "$launcher" >"$PC_OUT" 2>"$PC_ERR" || rc=$?
  nothing_written "$launcher"
  [ "$rc" = 4 ] || pc_fail "tune bench --launcher $launcher on a foreign scratch path: exit status $rc, expected 4"
  pc_err_has "every rank must run on this host"
  pc_err_has "hint: "
  rm -f "$victim"/* 2>/dev/null || :
done
grep -qx -- '--nodes=1' "$PC_DIR/launcher.args" || pc_fail "srun was not asked for one node: $(cat "$PC_DIR/launcher.args")"

# A default hostfile naming two other hosts: the ranks still start on this host, the store is seeded.
printf 'nodeA slots=1\nnodeB slots=1\n' >"$PC_DIR/hosts"
OMPI_MCA_orte_default_hostfile=$PC_DIR/hosts bench 0 -n 2 --max-bytes 64
pc_out_has "seeded $PARACLOUD_TUNE_SITE_DIR/any.n2.r2.json with "
echo "ok: paracloud tune bench keeps its ranks on this host"
