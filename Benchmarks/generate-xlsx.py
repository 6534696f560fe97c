#!/usr/bin/env python3
"""Writes a synthetic caseload extract as an .xlsx: ROWS rows x 8 columns, seeded, the same columns as
generate-records.py. Text cells are shared strings and the extract date a date-formatted serial, as
Excel writes them; the case reference is a number (a column of unique text would make every reader's
shared-string table grow with the rows). Written with zipfile directly: openpyxl takes minutes for 800k rows.
usage: generate-xlsx.py ROWS FILE"""
import random, sys, zipfile

rows = int(sys.argv[1])
out = sys.argv[2]
rng = random.Random(20251122)
teams = ["CIN/CP North", "CIN/CP Central", "CIN/CP South", "Assessment Team 1", "Assessment Team 2",
         "Children in Care 1", "Children in Care 2", "Leaving Care", "Disabled Children"]
workers = {t: [f"W{rng.randrange(1000, 9999)}" for _ in range(8)] for t in teams}
header = ["extract_date", "case_ref", "team", "locality", "case_type", "allocation_status", "worker_ref", "worker_fte"]
strings, index = [], {}
def s(text):
    if text not in index:
        index[text] = len(strings)
        strings.append(text)
    return index[text]
cols = "ABCDEFGH"
with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as z:
    with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as f:
        f.write(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
        f.write(('<row r="1">' + "".join(f'<c r="{cols[i]}1" t="s"><v>{s(h)}</v></c>' for i, h in enumerate(header)) + "</row>").encode())
        chunk = []
        for i in range(rows):
            r = i + 2
            t = rng.choice(teams)
            chunk.append(f'<row r="{r}"><c r="A{r}" s="1"><v>45719</v></c><c r="B{r}"><v>{100000 + i}</v></c>'
                         f'<c r="C{r}" t="s"><v>{s(t)}</v></c><c r="D{r}" t="s"><v>{s(rng.choice(["North", "Central", "South"]))}</v></c>'
                         f'<c r="E{r}" t="s"><v>{s(rng.choice(["CIN", "CPP", "CLA"]))}</v></c><c r="F{r}" t="s"><v>{s("ALLOCATED")}</v></c>'
                         f'<c r="G{r}" t="s"><v>{s(rng.choice(workers[t]))}</v></c><c r="H{r}"><v>{rng.choice(["1", "0.8", "0.6"])}</v></c></row>')
            if len(chunk) == 5000:
                f.write("".join(chunk).encode())
                chunk = []
        f.write("".join(chunk).encode())
        f.write(b"</sheetData></worksheet>")
    z.writestr("[Content_Types].xml", '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/><Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>')
    z.writestr("_rels/.rels", '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
    z.writestr("xl/workbook.xml", '<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Caseloads" sheetId="1" r:id="rId1"/></sheets></workbook>')
    z.writestr("xl/_rels/workbook.xml.rels", '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/><Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/></Relationships>')
    z.writestr("xl/styles.xml", '<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts><fills count="1"><fill><patternFill patternType="none"/></fill></fills><borders count="1"><border/></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs></styleSheet>')
    z.writestr("xl/sharedStrings.xml", '<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="%d" uniqueCount="%d">' % (len(strings), len(strings))
               + "".join(f"<si><t>{x}</t></si>" for x in strings) + "</sst>")
