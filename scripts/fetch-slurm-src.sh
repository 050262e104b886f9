#!/usr/bin/env bash
# Fetches and configures the exact Debian source of the installed slurm-wlm (for plugins that need Slurm's internal headers).
# Usage: scripts/fetch-slurm-src.sh [DIR]     (default DIR: <repo>/slurm-src; needs dpkg-dev and network access)
# Result: DIR holds the unpacked, patched Slurm tree with config.h from its ./configure, plus
# DIR/.paracloud-slurm-version naming the package version; re-running for the same version does nothing.
# The system apt configuration is not modified: a private sources.list (deb-src lines derived from the
# system's deb lines), private list and cache directories are used.
set -euo pipefail

log() { echo "fetch-slurm-src: $*" >&2; }
die() { log "error: $*"; exit 1; }

case "${1:-}" in
  -h|--help) sed -n '2,6p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
esac

repo=$(cd "$(dirname "$0")/.." && pwd)
dest=${1:-$repo/slurm-src}
case "$dest" in /*) ;; *) dest=$PWD/$dest ;; esac

version=$(dpkg-query -W -f='${Version}' slurm-wlm 2>/dev/null || true)
[ -n "$version" ] || version=$(dpkg-query -W -f='${Version}' slurmctld 2>/dev/null || true)
[ -n "$version" ] || die "slurm-wlm is not installed (run scripts/install-deps.sh)"
stamp=$dest/.paracloud-slurm-version

if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$version" ] && [ -f "$dest/config.h" ] \
   && [ -f "$dest/src/slurmctld/slurmctld.h" ]; then
  log "already prepared: $dest (slurm-wlm $version)"
  exit 0
fi
command -v dpkg-source >/dev/null || die "dpkg-source not found (apt-get install dpkg-dev)"

parent=$(dirname "$dest")
mkdir -p "$parent"
work=$(mktemp -d "$parent/.slurm-src-fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT
priv=$work/apt
mkdir -p "$priv/lists/partial" "$priv/cache/archives/partial"

# deb-src lines for every deb entry of the system's sources (deb822 *.sources and one-line *.list).
emit_deb822() {
  awk '
    function flush() {
      if (types ~ /(^|[ \t])deb([ \t]|$)/ && uris != "" && suites != "" && enabled != "no") {
        n = split(uris, u, /[ \t]+/); m = split(suites, s, /[ \t]+/)
        opt = (signed != "" && signed !~ /^-----BEGIN/) ? "[signed-by=" signed "] " : ""
        for (i = 1; i <= n; i++) for (j = 1; j <= m; j++) if (u[i] != "" && s[j] != "")
          print "deb-src " opt u[i] " " s[j] " " comps
      }
      types = uris = suites = comps = signed = enabled = ""
    }
    /^[ \t]*#/ { next }
    /^[ \t]*$/ { flush(); next }
    { key = tolower($1); sub(/:$/, "", key); $1 = ""; sub(/^[ \t]+/, "")
      if (key == "types") types = $0; else if (key == "uris") uris = $0
      else if (key == "suites") suites = $0; else if (key == "components") comps = $0
      else if (key == "signed-by") signed = $0; else if (key == "enabled") enabled = tolower($0) }
    END { flush() }' "$1"
}
{
  for f in /etc/apt/sources.list.d/*.sources; do
    if [ -f "$f" ]; then emit_deb822 "$f"; fi
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    if [ -f "$f" ]; then sed -n 's/^[[:space:]]*deb[[:space:]]/deb-src /p' "$f"; fi
  done
} | awk '{ o = $0; sub(/^deb-src (\[[^]]*\] )?/, ""); split($0, f, " ")
         # one line per (URI, suite): apt refuses the same source with different Signed-By values
         if (!((f[1] " " f[2]) in seen)) { seen[f[1] " " f[2]] = 1; print o } }' >"$priv/sources.list"
[ -s "$priv/sources.list" ] || die "no deb entries found in /etc/apt/sources.list{,.d/*} to derive deb-src lines from"
log "private deb-src sources: $(wc -l <"$priv/sources.list") line(s)"

apt_opts=(-o "Dir::Etc::SourceList=$priv/sources.list" -o Dir::Etc::SourceParts=/dev/null
  -o "Dir::State::Lists=$priv/lists" -o "Dir::Cache=$priv/cache" -o APT::Sandbox::User=root -q)
log "apt-get update (private lists)"
apt-get "${apt_opts[@]}" update >"$work/apt-update.log" 2>&1 \
  || { tail -20 "$work/apt-update.log" >&2; die "apt-get update failed (see above)"; }
log "apt-get source slurm-wlm=$version"
(cd "$work" && apt-get "${apt_opts[@]}" source "slurm-wlm=$version") >"$work/apt-source.log" 2>&1 \
  || { tail -20 "$work/apt-source.log" >&2; die "apt-get source slurm-wlm=$version failed (is that version still on the mirror?)"; }

tree=$(find "$work" -mindepth 1 -maxdepth 1 -type d -name 'slurm-wlm-*' | head -1)
[ -n "$tree" ] && [ -f "$tree/src/slurmctld/slurmctld.h" ] || die "unpacked source tree not found in $work"

# Configure with the options of Debian's debian/rules (main flavour: no front end, multiple-slurmd)
# so config.h matches the installed daemons; PAM is left out (it only affects slurmd).
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || echo x86_64-linux-gnu)
cfg=(--quiet --prefix=/usr --sysconfdir=/etc/slurm --libdir="/usr/lib/$multiarch" --with-munge
  --without-rpath --disable-debug --enable-multiple-slurmd --disable-dependency-tracking)
[ -d "/usr/lib/$multiarch/pmix2" ] && cfg+=(--with-pmix="/usr/lib/$multiarch/pmix2")
log "configure in $(basename "$tree") (~25 s)"
(cd "$tree" && ./configure "${cfg[@]}" SUCMD=/bin/su SLEEP_CMD=/bin/sleep) \
   >"$work/configure.log" 2>&1 \
  || { tail -30 "$work/configure.log" >&2; die "Slurm configure failed"; }
[ -f "$tree/config.h" ] || die "configure produced no config.h"
echo "$version" >"$tree/.paracloud-slurm-version"

rm -rf "$dest"
mv "$tree" "$dest"
log "ready: $dest (slurm-wlm $version)"
