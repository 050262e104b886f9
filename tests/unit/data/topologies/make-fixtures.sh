#!/bin/bash
# Regenerates the hwloc XML topology fixtures of the binding tests (issue 11) from hwloc synthetic
# descriptions (lstopo 2.9 -i "<synthetic>" --of xml). Two fixtures are edited after lstopo:
# gpu4-numa2.xml gets 4 GPUs (PCI devices with CUDA and NVML OS devices, two per package) and
# holes-numa2.xml gets an allowed cpuset with holes, as a cgroup would leave.
# Usage: tests/unit/data/topologies/make-fixtures.sh   (writes beside itself; the XML is checked in)
set -euo pipefail
cd "$(dirname "$0")"
command -v lstopo >/dev/null || { echo "make-fixtures: lstopo (package hwloc) is needed" >&2; exit 1; }
gen() {  # NAME SYNTHETIC
  lstopo -i "$2" --of xml --force "$1.xml" 2>/dev/null || lstopo -i "$2" --of xml "$1.xml"
  # lstopo records its own process name; drop it so that the files do not depend on who made them
  sed -i '/name="ProcessName"/d' "$1.xml"
}
gen pack1-core8        "pack:1 core:8 pu:1"
gen pack2-core8-smt2   "pack:2 numa:1 core:8 pu:2"
gen nps4-smt2          "pack:2 numa:4 core:4 pu:2"
gen smt4-core4         "pack:1 core:4 pu:4"
gen one-core           "pack:1 core:1 pu:1"
gen cpuless-numa       "pack:2 [numa(memory=68719476736)] [numa(memory=17179869184)] core:4 pu:2"
gen knl-flat-smt4      "pack:1 [numa(memory=103079215104)] [numa(memory=17179869184)] core:8 pu:4"
gen numa3-core5-smt2   "pack:1 numa:3 core:5 pu:2"
gen l3x4-core4-smt2    "pack:1 l3:4 core:4 pu:2"
gen sibling-numbering  "pack:2 numa:1 core:4 pu:2(indexes=0,8,1,9,2,10,3,11,4,12,5,13,6,14,7,15)"
gen pack2-numa2-core12 "pack:2 numa:2 core:6 pu:2"
gen holes-numa2        "pack:2 numa:1 core:4 pu:2"
gen gpu4-numa2         "pack:2 numa:1 core:4 pu:2"
# holes: PUs 0-3, 6, 9-11, 14 of 0-15 allowed (cores 0, 1, 3 and 4, 5, 7 partly; core 2 and 6 not)
sed -i 's|\(<object type="Machine"[^>]*\) allowed_cpuset="0x0000ffff"|\1 allowed_cpuset="0x00004e4f"|' holes-numa2.xml
grep -q 'allowed_cpuset="0x00004e4f"' holes-numa2.xml || { echo "make-fixtures: holes edit failed" >&2; exit 1; }
python3 - gpu4-numa2.xml <<'PY'
import sys
path = sys.argv[1]
s = open(path).read()
parts = s.split('<object type="Package"')
out, gpu, bus = parts[0], 0, 1
for p in parts[1:]:
    i = p.index('</object>', p.index('<object type="NUMANode"')) + len('</object>')
    inj = ''
    for _ in range(2):
        inj += f'''
      <object type="Bridge" gp_index="{100+gpu}" bridge_type="0-1" depth="0" bridge_pci="0000:[{bus:02x}-{bus:02x}]">
        <object type="PCIDev" gp_index="{200+gpu}" pci_busid="0000:{bus:02x}:00.0" pci_type="0302 [10de:20b0] [10de:134f] a1" pci_link_speed="0.000000">
          <object type="OSDev" gp_index="{300+gpu}" name="cuda{gpu}" subtype="CUDA" osdev_type="5"/>
          <object type="OSDev" gp_index="{400+gpu}" name="nvml{gpu}" subtype="NVML" osdev_type="1"/>
        </object>
      </object>'''
        gpu += 1
        bus += 1
    out += '<object type="Package"' + p[:i] + inj + p[i:]
open(path, 'w').write(out)
PY
echo "make-fixtures: $(ls *.xml | wc -l) topologies"
