"""Builds the xlsx fixtures the workbook tests read, in OUTDIR (run with Debian's python3 + openpyxl).

usage: make_xlsx.py OUTDIR    prints the names written, one per line.
Most are written by openpyxl, as a council export tool would write them; `raw.xlsx` is assembled by
hand (zipfile) for what openpyxl never writes: inline strings, cached formula results, rich-text shared
strings, booleans, error cells, `x:`-prefixed elements, and a 1904 date system.
"""
import datetime, io, os, sys, zipfile
import openpyxl

out = sys.argv[1]
def path(name): return os.path.join(out, name)
written = []

# A template with a front sheet, a hidden lookup sheet, and "List 7" with a merged title row above the
# header on row 2: dates, numbers, a blank row, label values typed with stray spaces.
wb = openpyxl.Workbook()
front = wb.active
front.title = "Front"
front["A1"] = "Annex A return — fake data"
lookup = wb.create_sheet("Lookup")
lookup.sheet_state = "hidden"
lookup.append(["code", "meaning"])
lookup.append(["N1", "Abuse or neglect"])
ws = wb.create_sheet("List 7")
ws["A1"] = "List 7: Children subject to a child protection plan"
ws.merge_cells("A1:E1")
ws.append(["Team", "Worker", "Plan start date", "Hours", "Category"])
rows = [
    ("North", "Petra Wills", datetime.date(2025, 3, 3), 7.5, "N1"),
    ("North", "Petra\u00a0Wills", datetime.date(2025, 3, 3), 2, "N2"),
    (" North ", "Sam  Okafor", datetime.date(2025, 3, 3), 1.25, "N1"),
    ("South", "Ade Bello", datetime.date(2025, 3, 3), 4, "c"),
]
for r in rows:
    ws.append(list(r))
ws.append([None, None, None, None, None])  # a formatted but empty row
for cell in ws["C"][2:]:
    cell.number_format = "dd/mm/yyyy"
wb.save(path("titled.xlsx")); written.append("titled.xlsx")

# An aggregate return (wide): a marker, a bracketed marker and an error cell in a value column.
def wide(name, rows):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Data"
    ws.append(["period", "team", "vacancies", "agency"])
    for r in rows:
        ws.append(list(r))
    wb.save(path(name)); written.append(name)

wide("markers.xlsx", [("2025", "North", 3, "c"), ("2025", "South", "[x]", 2), ("2025", "East", 4.5, 1)])
wide("errorcell.xlsx", [("2025", "North", 3, 1), ("2025", "South", "#N/A", 2)])
wide("markerlabel.xlsx", [("2025", "c", 3, 1)])

# A plain number where a date belongs (no date format): "not a date".
wb = openpyxl.Workbook()
ws = wb.active
ws.title = "Sheet1"
ws.append(["extract_date", "team"])
ws.append([45717, "North"])
wb.save(path("numberdate.xlsx")); written.append("numberdate.xlsx")

# Hand-assembled SpreadsheetML.
content_types = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/></Types>"""
rels = """<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>
<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="/xl/worksheets/sheet2.xml"/>
</Relationships>"""
workbook = """<?xml version="1.0" encoding="UTF-8"?>
<x:workbook xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">
<x:workbookPr date1904="1"/><x:sheets><x:sheet name="Raw &amp; ready" sheetId="1" r:id="rId1"/><x:sheet name="Second" sheetId="2" r:id="rId2"/></x:sheets></x:workbook>"""
styles = """<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
<numFmts count="1"><numFmt numFmtId="164" formatCode="[$-809]d\\ mmmm\\ yyyy"/></numFmts>
<cellXfs count="3"><xf numFmtId="0"/><xf numFmtId="164"/><xf numFmtId="4"/></cellXfs></styleSheet>"""
shared = """<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="4" uniqueCount="4">
<si><t>team</t></si><si><r><t>Nor</t></r><r><rPr><b/></rPr><t>th</t></r><rPh><t>IGNORED</t></rPh></si><si><t xml:space="preserve">date</t></si><si><t>Tom &amp; Jerry</t></si></sst>"""
sheet1 = """<?xml version="1.0" encoding="UTF-8"?>
<x:worksheet xmlns:x="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><x:sheetData>
<x:row r="1"><x:c r="A1" t="s"><x:v>0</x:v></x:c><x:c r="B1" t="s"><x:v>2</x:v></x:c><x:c r="C1" t="inlineStr"><x:is><x:t>cases</x:t></x:is></x:c><x:c r="D1" t="str"><x:f>"fl"&amp;"ag"</x:f><x:v>flag</x:v></x:c><x:c r="E1" t="inlineStr"><x:is><x:t>note</x:t></x:is></x:c></x:row>
<x:row r="2"><x:c r="A2" t="s"><x:v>1</x:v></x:c><x:c r="B2" s="1"><x:v>44985</x:v></x:c><x:c r="C2"><x:f>SUM(1,2)</x:f><x:v>3</x:v></x:c><x:c r="D2" t="b"><x:v>1</x:v></x:c><x:c r="E2" t="e"><x:v>#DIV/0!</x:v></x:c></x:row>
<x:row r="3"><x:c r="A3" t="s"><x:v>3</x:v></x:c><x:c r="B3" s="1"><x:v>44985</x:v></x:c><x:c r="C3" s="2"><x:v>1234.5</x:v></x:c><x:c r="D3" t="b"><x:v>0</x:v></x:c></x:row>
<x:row r="5" spans="1:5"/>
</x:sheetData></x:worksheet>"""
sheet2 = """<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>
<row><c t="inlineStr"><is><t>team</t></is></c><c t="inlineStr"><is><t>date</t></is></c><c t="inlineStr"><is><t>cases</t></is></c></row>
<row><c t="inlineStr"><is><t>West</t></is></c><c t="d"><v>2025-03-31</v></c><c><v>5</v></c></row>
</sheetData></worksheet>"""

def raw(name, parts):
    with zipfile.ZipFile(path(name), "w", zipfile.ZIP_DEFLATED) as z:
        for part, text in parts.items():
            z.writestr(part, text)
    written.append(name)

base = {"[Content_Types].xml": content_types, "xl/_rels/workbook.xml.rels": rels, "xl/workbook.xml": workbook,
        "xl/styles.xml": styles, "xl/sharedStrings.xml": shared, "xl/worksheets/sheet1.xml": sheet1,
        "xl/worksheets/sheet2.xml": sheet2}
raw("raw.xlsx", base)

# A cell reference far past Excel's last column (a fuzz finding: the column number overflowed).
longref = dict(base)
longref["xl/worksheets/sheet2.xml"] = sheet2.replace("<c><v>5</v></c>", '<c r="' + "Z" * 40 + '2"><v>5</v></c>')
raw("longref.xlsx", longref)

# A label cell of 100 bytes that are not UTF-8 and a no-break space (a fuzz finding: normalised, each
# invalid byte became U+FFFD, three bytes, and the label outgrew the 256-byte group key buffer).
badlabel = dict(base)
badlabel["xl/worksheets/sheet1.xml"] = sheet1.encode().replace(
    b'<x:c r="A3" t="s"><x:v>3</x:v></x:c>',
    b'<x:c r="A3" t="inlineStr"><x:is><x:t>' + b"\xff" * 100 + b'\xc2\xa0West</x:t></x:is></x:c>')
raw("badlabel.xlsx", badlabel)

# A workbook whose sheet's deflate stream stops halfway while the directory is intact (a fuzz finding:
# ZIPFoundation kept reading past the end of the file for the rest, forever). Assembled by hand.
def truncated_zip(name, parts, cut):
    import struct, zlib
    out, directory = b"", b""
    for part, text in parts.items():
        data = text.encode() if isinstance(text, str) else text
        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        packed = c.compress(data) + c.flush()
        if part == cut:
            packed = packed[:len(packed) // 2]
        crc, n = zlib.crc32(data), part.encode()
        offset = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0, crc, len(packed), len(data), len(n), 0) + n + packed
        directory += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0, crc, len(packed), len(data),
                                 len(n), 0, 0, 0, 0, 0, offset) + n
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(parts), len(parts), len(directory), len(out), 0)
    with open(path(name), "wb") as f:
        f.write(out + directory + end)
    written.append(name)

truncated_zip("halfsheet.xlsx", base, "xl/worksheets/sheet1.xml")
truncated_zip("whole.xlsx", base, None)  # the same assembly, not cut: proves the cut is what is refused

# A zip bomb: one sheet part of 40 MB of spaces (it compresses to about 40 KB).
bomb = dict(base)
bomb["xl/worksheets/sheet1.xml"] = sheet1.replace("<x:sheetData>", "<x:sheetData>" + " " * 40_000_000)
raw("bomb.xlsx", bomb)

# Things that are not an xlsx workbook, named as if they were.
cfb = bytes([0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) + bytes(504)
with open(path("old.xlsx"), "wb") as f:
    f.write(cfb + "Workbook".encode("utf-16-le") + bytes(1000))
written.append("old.xlsx")
with open(path("locked.xlsx"), "wb") as f:
    f.write(cfb + "EncryptionInfo".encode("utf-16-le") + bytes(64) + "EncryptedPackage".encode("utf-16-le") + bytes(1000))
written.append("locked.xlsx")
with open(path("text.xlsx"), "w") as f:
    f.write("team,cases\nNorth,3\n")
written.append("text.xlsx")
data = open(path("titled.xlsx"), "rb").read()
with open(path("truncated.xlsx"), "wb") as f:
    f.write(data[: len(data) // 2])
written.append("truncated.xlsx")
buffer = io.BytesIO()
with zipfile.ZipFile(buffer, "w") as z:
    z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
    z.writestr("content.xml", "<office:document-content/>")
with open(path("calc.ods"), "wb") as f:
    f.write(buffer.getvalue())
written.append("calc.ods")
print("\n".join(written))
