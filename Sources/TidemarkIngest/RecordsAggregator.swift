import Foundation
import TidemarkCore

/// An open-addressing hash table from byte strings to dense group indices. Keys live in one arena, so a
/// lookup allocates nothing. A struct, like all per-row state here: class properties pay Swift's dynamic
/// exclusivity checks on every access, which cost 30% of the reader's time (BENCHMARKS.md).
struct GroupTable {
    private var arena: [UInt8] = []
    private var keyStart: [Int] = []
    private var keyLength: [Int] = []
    private var hashes: [UInt64] = []
    private var slots: [Int32]
    private var mask: Int

    init() {
        slots = [Int32](repeating: -1, count: 64)
        mask = 63
    }

    var count: Int { keyStart.count }

    func key(_ index: Int) -> ArraySlice<UInt8> { arena[keyStart[index]..<(keyStart[index] + keyLength[index])] }

    /// The group index for the key, inserting it when new.
    @inline(__always)
    mutating func index(of key: UnsafeRawBufferPointer) -> (index: Int, inserted: Bool) {
        let h = hashBytes(key)
        var slot = Int(truncatingIfNeeded: h) & mask
        while true {
            let g = Int(slots[slot])
            if g < 0 { break }
            if hashes[g] == h, keyLength[g] == key.count,
               arena.withUnsafeBytes({ memcmp($0.baseAddress! + keyStart[g], key.baseAddress!, key.count) == 0 }) {
                return (g, false)
            }
            slot = (slot + 1) & mask
        }
        let g = keyStart.count
        keyStart.append(arena.count)
        keyLength.append(key.count)
        hashes.append(h)
        arena.append(contentsOf: key)
        slots[slot] = Int32(g)
        if keyStart.count * 2 > slots.count { grow() }
        return (g, true)
    }

    private mutating func grow() {
        slots = [Int32](repeating: -1, count: slots.count * 2)
        mask = slots.count - 1
        for g in 0..<hashes.count {
            var slot = Int(truncatingIfNeeded: hashes[g]) & mask
            while slots[slot] >= 0 { slot = (slot + 1) & mask }
            slots[slot] = Int32(g)
        }
    }
}

/// FNV-1a over 8-byte words (then bytes), finished with a 64-bit mixer: fast for short label keys.
@inline(__always)
func hashBytes(_ b: UnsafeRawBufferPointer) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    var i = 0
    let n = b.count
    while i + 8 <= n {
        h = (h ^ b.loadUnaligned(fromByteOffset: i, as: UInt64.self)) &* 0x0000_0100_0000_01B3
        i += 8
    }
    while i < n {
        h = (h ^ UInt64(b[i])) &* 0x0000_0100_0000_01B3
        i += 1
    }
    h ^= h >> 33
    h = h &* 0xff51_afd7_ed55_8ccd
    h ^= h >> 33
    return h
}

/// `records`: aggregates each row into groups as it streams past; rows are never retained.
struct RecordsProcessor: ShapeProcessor {
    /// One `aggregate:` entry with its columns resolved and its running totals.
    struct Aggregate {
        let spec: Aggregation
        var byIndices: [Int] = []
        var valueIndex = -1
        /// Index into the processor's per-row parsed values, for numeric ops.
        var valueSlot = -1
        var filters = CompiledFilters()
        var table = GroupTable()
        var asOfOfGroup: [Int] = []
        var labelsOfGroup: [Labels] = []
        var count: [Double] = []
        var sum: [Double] = []
        var minimum: [Double] = []
        var maximum: [Double] = []
        var distinct: [Set<[UInt8]>] = []

        init(_ spec: Aggregation) { self.spec = spec }
    }

    var aggregates: [Aggregate]
    let markers: MarkerTable
    var asOf: AsOfResolver
    let problems: ProblemLog
    private var headerCount = 0
    /// Distinct columns the numeric ops read, parsed at most once per row however many aggregations share
    /// them (so a bad cell is one problem, and `sum`/`mean`/`min`/`max` of one column parse it once).
    private var valueColumns: [Int] = []
    private var parsed: [ParsedCell] = []

    enum ParsedCell {
        /// `blank` covers a marker too: `sum | mean | min | max` skip it (SPEC §14).
        case unread, blank, bad
        case number(Double)
    }

    /// Reused for every row's group key: [as-of index][length, bytes] per label column.
    private var key = [UInt8](repeating: 0, count: 256)

    init(aggregations: [Aggregation], markers: MarkerTable, asOf: AsOfResolver, problems: ProblemLog) {
        aggregates = aggregations.map(Aggregate.init)
        self.markers = markers
        self.asOf = asOf
        self.problems = problems
    }

    mutating func header(_ names: [String], line: Int) -> Bool {
        headerCount = names.count
        var ok = true
        // Report each missing column once, however many aggregations use it.
        var missing: Set<String> = []
        func find(_ name: String, role: String) -> Int? {
            if let i = headerIndex(name, in: names) { return i }
            if missing.insert(name).inserted {
                problems.add(line: line, column: name, "\(role) column is not in the header")
            }
            ok = false
            return nil
        }
        for i in aggregates.indices {
            let spec = aggregates[i].spec
            aggregates[i].byIndices = spec.by.compactMap { find($0.column, role: "label") }
            if let c = spec.column { aggregates[i].valueIndex = find(c, role: "\(spec.op.rawValue)") ?? -1 }
            let column = aggregates[i].valueIndex
            if column >= 0, spec.op != .distinct {
                if let slot = valueColumns.firstIndex(of: column) {
                    aggregates[i].valueSlot = slot
                } else {
                    aggregates[i].valueSlot = valueColumns.count
                    valueColumns.append(column)
                }
            }
            if let f = CompiledFilters(keep: spec.filter, drop: spec.exclude, header: names, line: line,
                                       problems: problems, reported: &missing) {
                aggregates[i].filters = f
            } else { ok = false }
        }
        parsed = Array(repeating: .unread, count: valueColumns.count)
        return asOf.resolve(header: names, problems: problems, line: line) && ok
    }

    /// The number in a value column for this row, parsed (and a bad cell reported) on first use.
    @inline(__always)
    private mutating func number(slot: Int, row: CSVRow) -> ParsedCell {
        if case .unread = parsed[slot] {
            let field = row.field(valueColumns[slot])
            switch classifyNumber(field, markers: markers) {
            case .blank, .marker: parsed[slot] = .blank
            case .number(let v): parsed[slot] = .number(v)
            case .bad:
                parsed[slot] = .bad
                problems.add(line: row.line, column: aggregates.first { $0.valueSlot == slot }?.spec.column,
                             "not a number: \(describeField(field))")
            }
        }
        return parsed[slot]
    }

    @inline(__always)
    mutating func row(_ row: CSVRow) {
        guard row.count == headerCount else {
            problems.add(line: row.line, "expected \(headerCount) fields, found \(row.count)")
            return
        }
        guard let asOfIndex = asOf.index(for: row, problems: problems) else { return }
        for slot in parsed.indices { parsed[slot] = .unread }
        for ai in aggregates.indices {
            if !aggregates[ai].filters.isEmpty, !aggregates[ai].filters.passes(row) { continue }
            let op = aggregates[ai].spec.op
            var value = 0.0
            var valueBytes: UnsafeRawBufferPointer? = nil
            if op == .distinct {
                let field = row.field(aggregates[ai].valueIndex)
                if isBlank(field) { continue }
                valueBytes = field
            } else if aggregates[ai].valueSlot >= 0 {
                guard case .number(let v) = number(slot: aggregates[ai].valueSlot, row: row) else { continue }
                value = v
            }
            // Grouped as people mean them: `Petra\u{a0}Wills` and `Petra Wills` are one group. A normalised
            // value can be longer than the field (an invalid byte becomes U+FFFD, three bytes), so the key's
            // size counts the normalised text.
            var needed = 4
            var normalised: [[UInt8]] = [] // the normalised fields, in order; empty (no allocation) for most rows
            for i in aggregates[ai].byIndices {
                let f = row.field(i)
                if needsNormalising(f) {
                    normalised.append(Array(normaliseLabelValue(String(decoding: f, as: UTF8.self)).utf8))
                    needed += 4 + normalised[normalised.count - 1].count
                } else {
                    needed += 4 + f.count
                }
            }
            if key.count < needed { key = [UInt8](repeating: 0, count: needed * 2) }
            let (g, inserted) = key.withUnsafeMutableBytes { raw -> (Int, Bool) in
                raw.storeBytes(of: UInt32(asOfIndex), toByteOffset: 0, as: UInt32.self)
                var at = 4
                var next = 0
                for i in aggregates[ai].byIndices {
                    let f = row.field(i)
                    if needsNormalising(f) {
                        let text = normalised[next]
                        next += 1
                        raw.storeBytes(of: UInt32(text.count), toByteOffset: at, as: UInt32.self)
                        for (k, b) in text.enumerated() { raw[at + 4 + k] = b }
                        at += 4 + text.count
                        continue
                    }
                    raw.storeBytes(of: UInt32(f.count), toByteOffset: at, as: UInt32.self)
                    if f.count > 0 { (raw.baseAddress! + at + 4).copyMemory(from: f.baseAddress!, byteCount: f.count) }
                    at += 4 + f.count
                }
                return aggregates[ai].table.index(of: UnsafeRawBufferPointer(rebasing: raw[0..<at]))
            }
            if inserted {
                let a = aggregates[ai]
                aggregates[ai].asOfOfGroup.append(asOfIndex)
                aggregates[ai].labelsOfGroup.append(labelValues(row, a.spec.by, at: a.byIndices, markers: markers, problems: problems))
                aggregates[ai].count.append(0)
                aggregates[ai].sum.append(0)
                aggregates[ai].minimum.append(.infinity)
                aggregates[ai].maximum.append(-.infinity)
                if op == .distinct { aggregates[ai].distinct.append([]) }
            }
            aggregates[ai].count[g] += 1
            switch op {
            case .count: break
            case .sum, .mean: aggregates[ai].sum[g] += value
            case .min: if value < aggregates[ai].minimum[g] { aggregates[ai].minimum[g] = value }
            case .max: if value > aggregates[ai].maximum[g] { aggregates[ai].maximum[g] = value }
            case .distinct: aggregates[ai].distinct[g].insert(Array(valueBytes!))
            }
        }
    }

    func observations() -> [Observation] {
        var out: [Observation] = []
        for a in aggregates {
            for g in 0..<a.table.count {
                let value: Double
                switch a.spec.op {
                case .count: value = a.count[g]
                case .sum: value = a.sum[g]
                case .mean: value = a.sum[g] / a.count[g]
                case .min: value = a.minimum[g]
                case .max: value = a.maximum[g]
                case .distinct: value = Double(a.distinct[g].count)
                }
                out.append(Observation(metric: a.spec.metric, labels: a.labelsOfGroup[g], value: value,
                                       asOf: asOf.asOf(a.asOfOfGroup[g]),
                                       isCount: a.spec.op == .count || a.spec.op == .distinct))
            }
        }
        return out
    }
}
