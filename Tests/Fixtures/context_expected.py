"""Context figures for one council from a DfE table, computed independently with Python's csv and
statistics modules: its value, England's, its region's, its neighbours' median, last year's, its
percentile rank among councils (share at or below it, 0-100), and the SPC signals of its yearly series.

usage: context_expected.py FILE COLUMN COUNCIL NEIGHBOUR,NEIGHBOUR,...   prints JSON
       context_expected.py FILE COLUMN '*'                              prints {council: SPC signals or null}
Councils count when their latest year's cell is a number (SPEC §15: out-of-date and marked series are
left out).
"""
import csv, json, os, statistics, sys
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dfe_cells import cell  # noqa: E402

path, column, council = sys.argv[1], sys.argv[2], sys.argv[3]
neighbours = sys.argv[4].split(",") if len(sys.argv) > 4 else []
rows = list(csv.DictReader(open(path, newline="", encoding="utf-8-sig")))
latest = max(int(r["time_period"]) for r in rows)

def value(level, name_key, name, year):
    for r in rows:
        if r["geographic_level"] == level and (name_key is None or r[name_key] == name) and int(r["time_period"]) == year:
            v = cell(r[column])
            return v if isinstance(v, float) else None
    return None

mine = value("Local authority", "la_name", council, latest)
region = next((r["region_name"] for r in rows if r["la_name"] == council), "")
las = {}
for r in rows:
    if r["geographic_level"] == "Local authority":
        las.setdefault(r["la_name"], {})[int(r["time_period"])] = cell(r[column])
current = [v[latest] for v in las.values() if isinstance(v.get(latest), float) and max(v) == latest]
nbr = [las[n][latest] for n in neighbours if n in las and isinstance(las[n].get(latest), float)]
series = [las[council][y] for y in sorted(las[council]) if isinstance(las[council][y], float)] if council in las else []

def spc(points, run=7, trend=6):
    if len(points) < 12:
        return None
    mean = sum(points) / len(points)
    mr = sum(abs(b - a) for a, b in zip(points, points[1:])) / (len(points) - 1)
    sigma = mr / 1.128
    out, last = [], points[-1]
    if last > mean + 3 * sigma: out.append("above_upper_limit")
    if last < mean - 3 * sigma: out.append("below_lower_limit")
    if all(p > mean for p in points[-run:]): out.append("run_above_mean")
    if all(p < mean for p in points[-run:]): out.append("run_below_mean")
    tail = points[-(trend + 1):]
    if len(tail) == trend + 1 and all(b > a for a, b in zip(tail, tail[1:])): out.append("trend_up")
    if len(tail) == trend + 1 and all(b < a for a, b in zip(tail, tail[1:])): out.append("trend_down")
    return out

if council == "*":
    every = {}
    for name, years in las.items():
        if not (isinstance(years.get(latest), float) and max(years) == latest):
            continue  # out of date or marked now: no current value, no verdict
        every[name] = spc([years[y] for y in sorted(years) if isinstance(years[y], float) and y > latest - 13 - 1 + 1])
    json.dump(every, sys.stdout)
    sys.exit(0)

json.dump({
    "year": latest, "value": mine, "england": value("National", None, None, latest),
    "region": region, "region_value": value("Regional", "region_name", region, latest),
    "neighbours_median": statistics.median(nbr) if nbr else None,
    "last_year": value("Local authority", "la_name", council, latest - 1),
    "rank": 100 * sum(1 for v in current if v <= mine) / len(current) if mine is not None else None,
    "councils": len(current), "spc": spc(series), "points": len(series),
}, sys.stdout)
