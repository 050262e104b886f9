#!/usr/bin/env python3
"""Issue 12 test helper: prints one value of a profile. Usage: io_profile.py PROFILE WHAT
WHAT: preads (pread + pread64 calls), or ds.KEY (io.datasets[0][KEY], JSON-encoded)."""
import json
import sys

p = json.load(open(sys.argv[1]))
what = sys.argv[2]
if what == "preads":
    print(sum(c["count"]["sum"] for c in p["calls"] if c["name"] in ("pread", "pread64")))
elif what.startswith("ds."):
    ds = p.get("io", {}).get("datasets", [])
    print(json.dumps(ds[0].get(what[3:]) if ds else None))
elif what.startswith("io."):
    print(json.dumps(p.get("io", {}).get(what[3:])))
else:
    sys.exit("unknown " + what)
