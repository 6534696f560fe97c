import Foundation
import TidemarkCore

/// Feeds an array of flat JSON objects to a shape processor as rows (SPEC §4). Errors name the item
/// (`item 3`) in place of a line: JSONDecoder reports no positions for values.
enum JSONRows {
    static func feed<P: ShapeProcessor>(_ bytes: [UInt8], rowsPath: [String], to processor: inout P, problems: ProblemLog) -> Int {
        // TidemarkCore.JSON decodes with JSONDecoder, so types are exact (no NSNumber guessing); object
        // keys come sorted, which gives a stable column order.
        let root: JSON
        do {
            root = try JSON.parse(bytes)
        } catch {
            problems.add(line: nil, "not valid JSON: \(describe(error))")
            return 0
        }
        var node = root
        for (depth, key) in rowsPath.enumerated() {
            guard case .object(let pairs) = node, let next = pairs.first(where: { $0.0 == key })?.1 else {
                problems.add(line: nil, "json.rows path \(rowsPath.prefix(depth + 1).joined(separator: ".")) not found")
                return 0
            }
            node = next
        }
        guard case .array(let items) = node else {
            problems.add(line: nil, "expected an array of row objects at \(rowsPath.isEmpty ? "the top level" : rowsPath.joined(separator: "."))")
            return 0
        }
        // Columns: every key of every row, in first-seen order.
        var columns: [String] = []
        var index: [String: Int] = [:]
        for item in items {
            guard case .object(let pairs) = item else { continue }
            for (k, _) in pairs where index[k] == nil {
                index[k] = columns.count
                columns.append(k)
            }
        }
        guard processor.header(columns, line: 1) else { return 0 }
        let starts = UnsafeMutablePointer<Int>.allocate(capacity: max(columns.count, 1))
        let ends = UnsafeMutablePointer<Int>.allocate(capacity: max(columns.count, 1))
        let flags = UnsafeMutablePointer<Bool>.allocate(capacity: max(columns.count, 1))
        flags.initialize(repeating: false, count: max(columns.count, 1))
        defer { starts.deallocate(); ends.deallocate(); flags.deallocate() }
        var rows = 0
        for (n, item) in items.enumerated() {
            let itemNumber = n + 1
            guard case .object(let pairs) = item else {
                problems.add(line: nil, "item \(itemNumber) is not an object")
                continue
            }
            var texts = [String](repeating: "", count: columns.count)
            var ok = true
            for (k, v) in pairs {
                switch v {
                case .null: texts[index[k]!] = ""
                case .bool(let b): texts[index[k]!] = b ? "true" : "false"
                case .number(let d): texts[index[k]!] = d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
                case .string(let s): texts[index[k]!] = s
                case .array, .object:
                    problems.add(line: nil, column: k, "item \(itemNumber) holds a nested value; rows must be flat objects")
                    ok = false
                }
            }
            guard ok else { continue }
            var buffer: [UInt8] = []
            for (i, t) in texts.enumerated() {
                starts[i] = buffer.count
                buffer.append(contentsOf: t.utf8)
                ends[i] = buffer.count
            }
            buffer.append(0) // never empty, so baseAddress is never nil
            rows += 1
            buffer.withUnsafeBytes { raw in
                // JSON has no useful line numbers; the item number stands in for the line.
                processor.row(CSVRow(line: itemNumber, count: columns.count, base: raw.baseAddress!, starts: starts,
                                     ends: ends, fromScratch: flags))
            }
        }
        return rows
    }

    static func describe(_ error: any Error) -> String {
        if case DecodingError.dataCorrupted(let context) = error {
            return context.underlyingError.map { "\($0.localizedDescription)" } ?? context.debugDescription
        }
        return "\(error)"
    }
}
