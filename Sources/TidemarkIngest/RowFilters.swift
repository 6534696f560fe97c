import Foundation
import TidemarkCore

/// `where` / `where_not` with their columns resolved: a row passes when every `keep` filter matches one
/// of its values and no `drop` filter does. Cells are compared without surrounding spaces.
struct CompiledFilters {
    private var keep: [(index: Int, values: [[UInt8]])] = []
    private var drop: [(index: Int, values: [[UInt8]])] = []

    var isEmpty: Bool { keep.isEmpty && drop.isEmpty }

    /// Resolves the filters' columns in the header; a missing column is a problem (reported once).
    init?(keep: [ColumnFilter], drop: [ColumnFilter], header: [String], line: Int, problems: ProblemLog,
          reported: inout Set<String>) {
        var ok = true
        func resolve(_ filters: [ColumnFilter], role: String) -> [(Int, [[UInt8]])] {
            filters.compactMap { f in
                guard let i = headerIndex(f.column, in: header) else {
                    if reported.insert(f.column).inserted {
                        problems.add(line: line, column: f.column, "\(role) column is not in the header")
                    }
                    ok = false
                    return nil
                }
                return (i, f.values.map { Array($0.trimmingCharacters(in: .whitespaces).utf8) })
            }
        }
        self.keep = resolve(keep, role: "where")
        self.drop = resolve(drop, role: "where_not")
        if !ok { return nil }
    }

    init() {}

    @inline(__always)
    func passes(_ row: CSVRow) -> Bool {
        for f in keep where !Self.matches(row.field(f.index), f.values) { return false }
        for f in drop where Self.matches(row.field(f.index), f.values) { return false }
        return true
    }

    @inline(__always)
    private static func matches(_ raw: UnsafeRawBufferPointer, _ values: [[UInt8]]) -> Bool {
        var lo = 0, hi = raw.count
        while lo < hi, raw[lo] == 0x20 || raw[lo] == 0x09 { lo += 1 }
        while hi > lo, raw[hi - 1] == 0x20 || raw[hi - 1] == 0x09 { hi -= 1 }
        let field = UnsafeRawBufferPointer(rebasing: raw[lo..<hi])
        for v in values where v.count == field.count {
            if field.count == 0 || v.withUnsafeBytes({ memcmp($0.baseAddress!, field.baseAddress!, field.count) == 0 }) {
                return true
            }
        }
        return false
    }
}
