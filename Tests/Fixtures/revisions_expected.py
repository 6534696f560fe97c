"""Revisions between two releases of a DfE table, computed independently with Python's csv module.

usage: revisions_expected.py OLD NEW COLUMN...   prints {"revised": n, "withdrawn": n}
A point is revised when the new release holds something else for the same series and year; withdrawn
when a number became a symbol. Label semantics as in dfe_expected.py.
"""
import csv, json, os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dfe_cells import cell  # noqa: E402

def load(path, columns):
    points = {}
    with open(path, newline="", encoding="utf-8-sig") as f:
        for row in csv.DictReader(f):
            key = (row["geographic_level"], row["region_name"], row["la_name"], row["time_period"])
            for c in columns:
                v = cell(row[c])
                if v is not None:
                    points[key + (c,)] = v
    return points

old, new, columns = sys.argv[1], sys.argv[2], sys.argv[3:]
a, b = load(old, columns), load(new, columns)
revised = withdrawn = 0
example = None
for k, v in sorted(b.items()):
    if k in a and a[k] != v:
        if isinstance(v, str) and not isinstance(a[k], str):
            withdrawn += 1
        else:
            revised += 1
            if example is None and not isinstance(v, str) and not isinstance(a[k], str):
                example = {"geographic_level": k[0], "region_name": k[1], "la_name": k[2], "year": k[3], "column": k[4], "old": a[k], "new": v}
json.dump({"revised": revised, "withdrawn": withdrawn, "example": example}, sys.stdout)
