import Foundation
import TidemarkCore

/// Streams one worksheet part into a shape processor, a row at a time: the XML arrives in chunks, every
/// complete row is turned into a `CSVRow` (cells as text, the way the CSV reader hands them over), and
/// only the unfinished tail of the last chunk is kept. Memory does not grow with rows.
struct SheetStream<P: ShapeProcessor> {
    let sheet: String
    let headerRow: Int
    let sharedStrings: [[UInt8]]
    let dateStyles: [Bool]
    let date1904: Bool
    let problems: ProblemLog
    static var maxColumns: Int { 10_000 }

    private var pending: [UInt8] = []
    private(set) var header: [String]? = nil
    private var readable = true
    private(set) var dataRows = 0
    private(set) var lastRow = 0

    // The row being built: each column's text lives in `rowBytes[starts[i]..<ends[i]]`.
    private var rowBytes: [UInt8] = []
    private var starts: [Int] = []
    private var ends: [Int] = []
    private var nonEmpty = 0
    private var lastSerial: [UInt8] = []
    private var lastISO: [UInt8] = []
    private let trueText = Array("true".utf8)
    private let falseText = Array("false".utf8)

    init(sheet: String, headerRow: Int, sharedStrings: [[UInt8]], dateStyles: [Bool], date1904: Bool, problems: ProblemLog) {
        self.sheet = sheet
        self.headerRow = headerRow
        self.sharedStrings = sharedStrings
        self.dateStyles = dateStyles
        self.date1904 = date1904
        self.problems = problems
        problems.sheet = SheetPlace(sheet: sheet)
    }

    /// Takes the next chunk of the part and reads every row it completes.
    mutating func feed(_ chunk: UnsafeRawBufferPointer, into processor: inout P) {
        let before = pending.count
        pending.append(contentsOf: chunk)
        // Only the new bytes (and the 3 before them) can end a row: what was pending held no `</row>`.
        guard let cut = Self.endOfLastRow(pending, after: before - 3) else { return }
        scan(upTo: cut, into: &processor)
        pending.removeSubrange(0..<cut)
    }

    /// The end of the part: whatever is left (rows written as `<row/>`, the sheet's closing tags).
    mutating func finish(into processor: inout P) {
        scan(upTo: pending.count, into: &processor)
        pending = []
        if header == nil {
            problems.add(line: nil, "header row \(headerRow) does not exist: the sheet \(lastRow == 0 ? "is empty" : "ends at row \(lastRow)")")
        }
    }

    /// The offset just past the last `</row>` (or `</x:row>`) in the buffer whose `row>` starts at or after
    /// `after`. Bounded both ways, so a sheet with no rows costs linear time however it arrives: only new
    /// bytes are searched, and a namespace prefix is looked for at most 64 bytes back.
    static func endOfLastRow(_ b: [UInt8], after: Int = 0) -> Int? {
        var i = b.count - 4
        while i >= max(2, after) {
            if b[i] == UInt8(ascii: "r"), b[i + 1] == UInt8(ascii: "o"), b[i + 2] == UInt8(ascii: "w"), b[i + 3] == UInt8(ascii: ">") {
                var k = i - 1
                if b[k] == UInt8(ascii: ":") {
                    k -= 1
                    let stop = max(0, k - 64)
                    while k > stop, b[k] != UInt8(ascii: "/"), b[k] != UInt8(ascii: "<") { k -= 1 }
                }
                if k >= 1, b[k] == UInt8(ascii: "/"), b[k - 1] == UInt8(ascii: "<") { return i + 4 }
            }
            i -= 1
        }
        return nil
    }

    private enum CellType { case number, shared, inline, formulaString, boolean, error, isoDate }

    private mutating func scan(upTo end: Int, into processor: inout P) {
        pending.withUnsafeBytes { all in
            let raw = UnsafeRawBufferPointer(rebasing: all[0..<end])
            var x = XMLScanner(raw)
            var rowNumber = lastRow
            var column = -1
            var type = CellType.number
            var style = 0
            var inValue = false
            var inInlineText = false
            var cellText: [UInt8] = []
            var cellHasText = false
            while let e = x.next() {
                switch e {
                case .start(let name, let attrs, let selfClosing):
                    if x.isName(name, "c") {
                        // One pass over the cell's attributes: r (reference), t (type), s (style).
                        var reference: Range<Int>? = nil
                        type = .number
                        style = 0
                        x.forEachAttribute(in: attrs) { attrName, value in
                            guard attrName.count == 1 else { return }
                            switch x.bytes[attrName.lowerBound] {
                            case UInt8(ascii: "r"): reference = value
                            case UInt8(ascii: "t"): type = cellType(x, value)
                            case UInt8(ascii: "s"): style = x.integer(value) ?? 0
                            default: break
                            }
                        }
                        column = reference.map { columnIndex(x, $0) } ?? column + 1
                        cellText.removeAll(keepingCapacity: true)
                        cellHasText = false
                    } else if x.isName(name, "v") {
                        inValue = !selfClosing
                    } else if x.isName(name, "t") {
                        inInlineText = !selfClosing && type == .inline
                    } else if x.isName(name, "row") {
                        rowNumber = x.attribute("r", in: attrs).flatMap { x.integer($0) } ?? rowNumber + 1
                        lastRow = rowNumber
                        column = -1
                        beginRow()
                        if selfClosing { endRow(rowNumber, into: &processor) }
                    }
                case .text(let range):
                    if inValue || inInlineText {
                        let text = UnsafeRawBufferPointer(rebasing: raw[range])
                        if text.contains(where: { $0 == UInt8(ascii: "&") || $0 == UInt8(ascii: "_") }) {
                            cellText.append(contentsOf: decodeXMLText(text).utf8)
                        } else {
                            cellText.append(contentsOf: text)
                        }
                        cellHasText = true
                    }
                case .end(let name):
                    if x.isName(name, "v") {
                        inValue = false
                    } else if x.isName(name, "t") {
                        inInlineText = false
                    } else if x.isName(name, "c") {
                        if cellHasText {
                            cellText.withUnsafeBytes { setCell(column, row: rowNumber, type: type, style: style, text: $0) }
                        }
                    } else if x.isName(name, "row") {
                        endRow(rowNumber, into: &processor)
                    }
                }
            }
        }
    }

    private func columnIndex(_ x: XMLScanner, _ range: Range<Int>) -> Int {
        var v = 0
        for k in range {
            let b = x.bytes[k] | 0x20
            guard b >= UInt8(ascii: "a"), b <= UInt8(ascii: "z") else { break }
            v = v * 26 + Int(b - UInt8(ascii: "a") + 1)
            // Excel stops at XFD (16,384); anything longer is past every limit (a fuzz finding: AAAA…A overflowed).
            if v > Self.maxColumns { return Self.maxColumns }
        }
        return v - 1
    }

    private func cellType(_ x: XMLScanner, _ range: Range<Int>) -> CellType {
        if x.isName(range, "s") { return .shared }
        if x.isName(range, "inlineStr") { return .inline }
        if x.isName(range, "str") { return .formulaString }
        if x.isName(range, "b") { return .boolean }
        if x.isName(range, "e") { return .error }
        if x.isName(range, "d") { return .isoDate }
        return .number
    }

    private mutating func beginRow() {
        rowBytes.removeAll(keepingCapacity: true)
        for i in starts.indices { starts[i] = 0; ends[i] = 0 }
        nonEmpty = 0
    }

    /// A cell's value as the text a CSV would hold: shared strings looked up, booleans as true/false,
    /// date-formatted numbers as ISO dates, error cells as their code (`#N/A`, "not a number").
    private mutating func setCell(_ column: Int, row: Int, type: CellType, style: Int, text: UnsafeRawBufferPointer) {
        guard column >= 0, column < Self.maxColumns else { return }
        if header != nil, column >= starts.count { return } // right of the header: notes beside the table
        while starts.count <= column { starts.append(0); ends.append(0) } // the header row may be the widest
        let start = rowBytes.count
        switch type {
        case .shared:
            var i = 0
            for d in text {
                guard d >= 48, d <= 57, i < Int.max / 10 else { i = -1; break }
                i = i * 10 + Int(d - 48)
            }
            guard !text.isEmpty, i >= 0, i < sharedStrings.count else {
                problems.add(line: row, "cell refers to shared string \(String(decoding: text, as: UTF8.self)), which the workbook does not have")
                return
            }
            rowBytes.append(contentsOf: sharedStrings[i])
        case .boolean:
            rowBytes.append(contentsOf: text.count == 1 && text[0] == UInt8(ascii: "1") ? trueText : falseText)
        case .number where style < dateStyles.count && dateStyles[style]:
            // Dates repeat down a column (one extract date, one period): convert each serial once.
            if !text.elementsEqual(lastSerial) {
                lastSerial = Array(text)
                let serial = Double(String(decoding: text, as: UTF8.self))
                lastISO = serial.flatMap { ExcelDates.isoText(serial: $0, date1904: date1904) }.map { Array($0.utf8) } ?? lastSerial
            }
            rowBytes.append(contentsOf: lastISO)
        case .number, .inline, .formulaString, .error, .isoDate:
            rowBytes.append(contentsOf: text)
        }
        starts[column] = start
        ends[column] = rowBytes.count
        if ends[column] > start { nonEmpty += 1 }
    }

    private mutating func endRow(_ row: Int, into processor: inout P) {
        guard row >= headerRow else { return }
        guard let header else {
            guard row == headerRow else { return }
            readHeader(row, into: &processor)
            return
        }
        // Formatted but empty rows below a table are common; they are not data.
        guard nonEmpty > 0 else { return }
        dataRows += 1
        guard readable else { return }
        rowBytes.append(0) // never empty, so baseAddress is never nil
        let count = header.count
        let flags = [Bool](repeating: false, count: count)
        rowBytes.withUnsafeBytes { base in
            starts.withUnsafeBufferPointer { s in
                ends.withUnsafeBufferPointer { e in
                    flags.withUnsafeBufferPointer { f in
                        processor.row(CSVRow(line: row, count: count, base: base.baseAddress!, starts: s.baseAddress!,
                                             ends: e.baseAddress!, fromScratch: f.baseAddress!))
                    }
                }
            }
        }
    }

    private mutating func readHeader(_ row: Int, into processor: inout P) {
        var names = starts.indices.map {
            String(decoding: rowBytes[starts[$0]..<ends[$0]], as: UTF8.self).trimmingCharacters(in: .whitespaces)
        }
        while let last = names.last, last.isEmpty { names.removeLast() }
        header = names
        starts = Array(starts.prefix(names.count))
        ends = Array(ends.prefix(names.count))
        var place = SheetPlace(sheet: sheet)
        for (i, name) in names.enumerated() where place.letters[name] == nil { place.letters[name] = columnLetters(i) }
        problems.sheet = place
        if names.isEmpty {
            problems.add(line: row, "header row \(row) is empty")
            readable = false
            return
        }
        var seen: Set<String> = []
        for name in names where !name.isEmpty && !seen.insert(name).inserted {
            problems.add(line: row, column: name, "the header names this column twice")
            readable = false
        }
        readable = processor.header(names, line: row) && readable
    }
}

/// `A`, `B`, …, `Z`, `AA` for a 0-based column index.
func columnLetters(_ index: Int) -> String {
    var n = index + 1
    var out = ""
    while n > 0 {
        let r = (n - 1) % 26
        out = String(UnicodeScalar(UInt8(65 + r))) + out
        n = (n - 1) / 26
    }
    return out
}
