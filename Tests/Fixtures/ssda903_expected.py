"""Open episodes by legal status in an SSDA903 episodes file, counted with Python's csv module.

usage: ssda903_expected.py FILE    prints {"open_by_ls": {LS: n}, "episodes": n, "children": n}
An episode is open when its end date (DEC) is empty.
"""
import csv, collections, json, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="", encoding="utf-8-sig")))
open_by_ls = collections.Counter(r["LS"].strip() for r in rows if r["DEC"].strip() == "")
json.dump({"open_by_ls": open_by_ls, "episodes": len(rows), "children": len({r["CHILD"] for r in rows})}, sys.stdout)
