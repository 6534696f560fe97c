"""Independent figures for a DfE statistics CSV, computed with Python's csv module (not tidemark's code).

usage: dfe_expected.py FILE [--label COL] [--where COL=VALUE] COLUMN...      prints JSON:
  {"rows": N, "columns": {COL: {"values": n, "sum": s, "markers": {meaning: n}}},
   "series": {"geo|region|la|year|COL": value-or-"marker:meaning"}}
Label semantics match the test config: labels geographic_level, region_name, la_name; empty = absent.
"""
import csv, json, os, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dfe_cells import cell  # noqa: E402

def main():
    path, args = sys.argv[1], sys.argv[2:]
    extra, where, columns = [], [], []
    while args:
        a = args.pop(0)
        if a == "--label":
            extra.append(args.pop(0))
        elif a == "--where":
            where.append(args.pop(0).split("=", 1))
        else:
            columns.append(a)
    out = {"rows": 0, "columns": {c: {"values": 0, "sum": 0.0, "markers": {}} for c in columns}, "series": {}}
    with open(path, newline="", encoding="utf-8-sig") as f:
        for row in csv.DictReader(f):
            if any(row[c] != v for c, v in where):
                continue
            out["rows"] += 1
            key = "|".join([row["geographic_level"], row["region_name"], row["la_name"]] + [row[c] for c in extra]
                           + [row["time_period"]])
            for c in columns:
                v = cell(row[c])
                if v is None:
                    continue
                stats = out["columns"][c]
                if isinstance(v, str):
                    meaning = v.split(":", 1)[1]
                    stats["markers"][meaning] = stats["markers"].get(meaning, 0) + 1
                else:
                    stats["values"] += 1
                    stats["sum"] += v
                out["series"][key + "|" + c] = v
    json.dump(out, sys.stdout)

main()
