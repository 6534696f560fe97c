import Foundation

/// A sheet as `xl/workbook.xml` lists it, with the part that holds it.
struct SheetEntry {
    let name: String
    let part: String
    let hidden: Bool
}

/// The small parts read whole before a sheet is streamed: the sheet list, date cell styles and the
/// shared strings.
enum WorkbookParts {
    /// Sheets in workbook order, their parts resolved through `xl/_rels/workbook.xml.rels`; and whether
    /// the workbook counts dates from 1904.
    static func sheets(workbook: [UInt8], relationships: [UInt8]) -> (sheets: [SheetEntry], date1904: Bool) {
        var targets: [String: String] = [:]
        relationships.withUnsafeBytes { raw in
            var x = XMLScanner(raw)
            while let e = x.next() {
                guard case .start(let name, let attrs, _) = e, x.isName(name, "Relationship"),
                      let id = x.attribute("Id", in: attrs), let target = x.attribute("Target", in: attrs) else { continue }
                targets[x.string(id)] = x.string(target)
            }
        }
        var sheets: [SheetEntry] = []
        var date1904 = false
        workbook.withUnsafeBytes { raw in
            var x = XMLScanner(raw)
            while let e = x.next() {
                guard case .start(let name, let attrs, _) = e else { continue }
                if x.isName(name, "workbookPr"), let d = x.attribute("date1904", in: attrs) {
                    let v = x.string(d)
                    date1904 = v == "1" || v == "true"
                }
                guard x.isName(name, "sheet"), let sheetName = x.attribute("name", in: attrs),
                      let rid = x.attribute("id", in: attrs), let target = targets[x.string(rid)] else { continue }
                let state = x.attribute("state", in: attrs).map { x.string($0) } ?? "visible"
                sheets.append(SheetEntry(name: x.string(sheetName), part: resolve(target), hidden: state != "visible"))
            }
        }
        return (sheets, date1904)
    }

    /// A relationship target as a path inside the zip: `worksheets/sheet1.xml` → `xl/worksheets/sheet1.xml`.
    static func resolve(_ target: String) -> String {
        if target.hasPrefix("/") { return String(target.dropFirst()) }
        var parts = ["xl"]
        for piece in target.split(separator: "/") {
            if piece == ".." { if !parts.isEmpty { parts.removeLast() } } else if piece != "." { parts.append(String(piece)) }
        }
        return parts.joined(separator: "/")
    }

    /// For each cell style index (`s` on a cell), whether its number format is a date or time.
    static func dateStyles(_ styles: [UInt8]) -> [Bool] {
        var customDate: [Int: Bool] = [:]
        var result: [Bool] = []
        styles.withUnsafeBytes { raw in
            var x = XMLScanner(raw)
            var inCellXfs = false
            while let e = x.next() {
                switch e {
                case .start(let name, let attrs, let selfClosing):
                    if x.isName(name, "numFmt"), let id = x.attribute("numFmtId", in: attrs).flatMap({ x.integer($0) }),
                       let code = x.attribute("formatCode", in: attrs) {
                        customDate[id] = ExcelDates.isDateFormat(x.string(code))
                    } else if x.isName(name, "cellXfs") {
                        inCellXfs = !selfClosing
                    } else if inCellXfs, x.isName(name, "xf") {
                        let id = x.attribute("numFmtId", in: attrs).flatMap { x.integer($0) } ?? 0
                        result.append(customDate[id] ?? ExcelDates.builtInDateFormats.contains(id))
                    }
                case .end(let name):
                    if x.isName(name, "cellXfs") { inCellXfs = false }
                case .text: break
                }
            }
        }
        return result
    }

    /// The shared strings, in order; rich text runs are joined and phonetic runs left out.
    static func sharedStrings(_ part: [UInt8]) -> [String] {
        var strings: [String] = []
        part.withUnsafeBytes { raw in
            var x = XMLScanner(raw)
            var current = ""
            var inString = false
            var inText = false
            var inPhonetic = false
            while let e = x.next() {
                switch e {
                case .start(let name, _, let selfClosing):
                    if x.isName(name, "si") {
                        current = ""
                        inString = !selfClosing
                        if selfClosing { strings.append("") }
                    } else if x.isName(name, "rPh") {
                        inPhonetic = !selfClosing
                    } else if x.isName(name, "t") {
                        inText = !selfClosing
                    }
                case .end(let name):
                    if x.isName(name, "si") {
                        if inString { strings.append(current) }
                        inString = false
                    } else if x.isName(name, "t") {
                        inText = false
                    } else if x.isName(name, "rPh") {
                        inPhonetic = false
                    }
                case .text(let range):
                    if inString, inText, !inPhonetic { current += x.string(range) }
                }
            }
        }
        return strings
    }
}
