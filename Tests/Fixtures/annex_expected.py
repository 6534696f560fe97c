"""Rows of one sheet of a workbook counted by one column, with openpyxl (not tidemark's reader).

usage: annex_expected.py FILE HEADER_ROW COLUMN   prints {SHEET: {"rows": n, "by": {value: n}}} for every
sheet whose name starts with "List" and has COLUMN in its header row
A row counts when any cell under a named header column holds a value; values are stripped text, with
runs of spaces collapsed, as tidemark normalises labels; an empty value is left out of "by".
"""
import json, re, sys
import openpyxl

path, header_row, column = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def text(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return re.sub(r"[ \t\u00a0\u2007\u202f]+", " ", str(v)).strip()
out = {}
for ws in openpyxl.load_workbook(path, read_only=True, data_only=True).worksheets:
    if not ws.title.startswith("List"):
        continue
    rows = list(ws.iter_rows(min_row=header_row, values_only=True))
    if not rows:
        continue
    header = [("" if v is None else str(v).strip()) for v in rows[0]]
    while header and header[-1] == "":
        header.pop()
    if column not in header:
        continue
    idx = header.index(column)
    count, by = 0, {}
    for r in rows[1:]:
        cells = list(r[: len(header)])
        if all(c is None or (isinstance(c, str) and c == "") for c in cells):
            continue
        count += 1
        v = text(cells[idx]) if idx < len(cells) else ""
        if v:
            by[v] = by.get(v, 0) + 1
    out[ws.title] = {"rows": count, "by": by}
json.dump(out, sys.stdout)
