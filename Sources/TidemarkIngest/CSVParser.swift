import Foundation

/// One parsed CSV row, valid only inside the row callback (its fields point into the parser's buffers).
public struct CSVRow {
    /// Physical line on which the row starts (1-based; quoted newlines are counted).
    public let line: Int
    public let count: Int
    fileprivate let base: UnsafeRawPointer
    fileprivate let scratch: UnsafeRawPointer?
    fileprivate let starts: UnsafePointer<Int>
    fileprivate let ends: UnsafePointer<Int>
    fileprivate let fromScratch: UnsafePointer<Bool>

    fileprivate init(parsedLine: Int, count: Int, base: UnsafeRawPointer, scratch: UnsafeRawPointer?,
                     starts: UnsafePointer<Int>, ends: UnsafePointer<Int>, fromScratch: UnsafePointer<Bool>) {
        self.line = parsedLine
        self.count = count
        self.base = base
        self.scratch = scratch
        self.starts = starts
        self.ends = ends
        self.fromScratch = fromScratch
    }

    /// The field's bytes, unquoted and unescaped.
    @inline(__always)
    public func field(_ i: Int) -> UnsafeRawBufferPointer {
        let from = fromScratch[i] ? scratch! : base
        return UnsafeRawBufferPointer(start: from + starts[i], count: ends[i] - starts[i])
    }

    public func string(_ i: Int) -> String { String(decoding: field(i), as: UTF8.self) }

    /// A row over caller-owned storage (JSON rows are laid out this way to share the CSV code path).
    init(line: Int, count: Int, base: UnsafeRawPointer, starts: UnsafePointer<Int>, ends: UnsafePointer<Int>,
         fromScratch: UnsafePointer<Bool>) {
        self.line = line
        self.count = count
        self.base = base
        self.scratch = nil
        self.starts = starts
        self.ends = ends
        self.fromScratch = fromScratch
    }
}

/// A structural CSV problem that stops reading (the rest of the file cannot be trusted).
public struct CSVSyntaxError: Error, Sendable {
    public let line: Int
    public let message: String
}

/// Streaming RFC 4180 parser over raw bytes: quoted fields with delimiters, doubled quotes and newlines,
/// CRLF or LF, an optional UTF-8 BOM. Reads in chunks and never holds more than the longest row, so memory
/// stays flat however large the file. Blank lines are skipped.
///
/// Hand-written rather than a library: see BENCHMARKS.md (the records reader is the hot path).
public final class CSVParser {
    public let delimiter: UInt8
    public let maxFieldBytes: Int
    public let maxColumns: Int
    /// A row longer than this is refused rather than buffered without bound.
    public let maxRowBytes: Int

    private var buffer: UnsafeMutableRawPointer
    private var capacity: Int
    private var count = 0
    private var eof = false
    private var starts: UnsafeMutablePointer<Int>
    private var ends: UnsafeMutablePointer<Int>
    private var fromScratch: UnsafeMutablePointer<Bool>
    private var scratch: UnsafeMutableRawPointer
    private var scratchCapacity: Int
    private var scratchCount = 0
    /// 1 for bytes that end an unquoted field: the delimiter, CR and LF.
    private let stops: UnsafeMutablePointer<UInt8>
    private var line = 1

    public init(delimiter: UInt8 = UInt8(ascii: ","), chunkSize: Int = 1 << 20, maxFieldBytes: Int = 1 << 20,
                maxColumns: Int = 10_000, maxRowBytes: Int = 64 << 20) {
        self.delimiter = delimiter
        self.maxFieldBytes = maxFieldBytes
        self.maxColumns = maxColumns
        self.maxRowBytes = maxRowBytes
        capacity = chunkSize
        buffer = .allocate(byteCount: capacity, alignment: 16)
        starts = .allocate(capacity: maxColumns + 1)
        ends = .allocate(capacity: maxColumns + 1)
        fromScratch = .allocate(capacity: maxColumns + 1)
        scratchCapacity = 4096
        scratch = .allocate(byteCount: scratchCapacity, alignment: 16)
        stops = .allocate(capacity: 256)
        stops.initialize(repeating: 0, count: 256)
        stops[Int(delimiter)] = 1
        stops[Int(UInt8(ascii: "\n"))] = 1
        stops[Int(UInt8(ascii: "\r"))] = 1
    }

    deinit {
        buffer.deallocate()
        starts.deallocate()
        ends.deallocate()
        fromScratch.deallocate()
        scratch.deallocate()
        stops.deallocate()
    }

    /// Parses everything `read` supplies. `read` fills the buffer and returns the byte count (0 at end).
    /// `consumed` sees every byte exactly once, in order (for hashing). `onRow` returns false to stop early.
    public func parse(read: (UnsafeMutableRawBufferPointer) throws -> Int,
                      consumed: (UnsafeRawBufferPointer) -> Void,
                      onRow: (CSVRow) throws -> Bool) throws {
        count = 0
        eof = false
        line = 1
        var pos = 0
        var atStart = true
        while true {
            if pos >= count {
                if eof { return }
                pos = try refill(from: pos, read: read, consumed: consumed)
                if atStart {
                    // The BOM is only meaningful as the very first bytes of the file.
                    while count - pos < 3, !eof { pos = try refill(from: pos, read: read, consumed: consumed) }
                    if count - pos >= 3, buffer.load(fromByteOffset: pos, as: UInt8.self) == 0xEF,
                       buffer.load(fromByteOffset: pos + 1, as: UInt8.self) == 0xBB,
                       buffer.load(fromByteOffset: pos + 2, as: UInt8.self) == 0xBF {
                        pos += 3
                    }
                    atStart = false
                }
                continue
            }
            switch try parseRow(at: pos) {
            case .needMore:
                pos = try refill(from: pos, read: read, consumed: consumed)
            case .row(let next, let fields, let rowLine, let blank):
                pos = next
                if !blank {
                    let row = CSVRow(parsedLine: rowLine, count: fields, base: UnsafeRawPointer(buffer),
                                     scratch: UnsafeRawPointer(scratch), starts: starts, ends: ends,
                                     fromScratch: fromScratch)
                    if try !onRow(row) { return }
                }
            }
        }
    }

    /// Moves the unparsed tail to the front and reads more after it; returns the new parse position (0).
    private func refill(from pos: Int, read: (UnsafeMutableRawBufferPointer) throws -> Int,
                        consumed: (UnsafeRawBufferPointer) -> Void) throws -> Int {
        let tail = count - pos
        if pos > 0, tail > 0 { buffer.copyMemory(from: buffer + pos, byteCount: tail) }
        count = tail
        if count == capacity {
            guard capacity < maxRowBytes else {
                throw CSVSyntaxError(line: line, message: "a row is longer than \(maxRowBytes >> 20) MiB")
            }
            let bigger = UnsafeMutableRawPointer.allocate(byteCount: capacity * 2, alignment: 16)
            bigger.copyMemory(from: buffer, byteCount: count)
            buffer.deallocate()
            buffer = bigger
            capacity *= 2
        }
        let n = try read(UnsafeMutableRawBufferPointer(start: buffer + count, count: capacity - count))
        if n == 0 {
            eof = true
        } else {
            consumed(UnsafeRawBufferPointer(start: buffer + count, count: n))
            count += n
        }
        return 0
    }

    private enum RowResult {
        case needMore
        case row(next: Int, fields: Int, line: Int, blank: Bool)
    }

    private func appendScratch(_ from: UnsafeRawPointer, _ n: Int) {
        if scratchCount + n > scratchCapacity {
            var newCapacity = scratchCapacity * 2
            while newCapacity < scratchCount + n { newCapacity *= 2 }
            let bigger = UnsafeMutableRawPointer.allocate(byteCount: newCapacity, alignment: 16)
            bigger.copyMemory(from: scratch, byteCount: scratchCount)
            scratch.deallocate()
            scratch = bigger
            scratchCapacity = newCapacity
        }
        (scratch + scratchCount).copyMemory(from: from, byteCount: n)
        scratchCount += n
    }

    @inline(__always)
    private func parseRow(at start: Int) throws -> RowResult {
        let base = buffer.assumingMemoryBound(to: UInt8.self)
        let end = count
        let quote = UInt8(ascii: "\"")
        let lf = UInt8(ascii: "\n")
        let cr = UInt8(ascii: "\r")
        let delimiter = self.delimiter
        var p = start
        var fields = 0
        var newlines = 0
        scratchCount = 0
        var sawQuote = false
        while true {
            guard fields < maxColumns else {
                throw CSVSyntaxError(line: line, message: "more than \(maxColumns) columns")
            }
            if p < end, base[p] == quote {
                sawQuote = true
                p += 1
                let fieldStart = p
                var fieldEnd = p
                var escaped = false
                while true {
                    guard let q = memchr(base + p, Int32(quote), end - p) else {
                        if eof { throw CSVSyntaxError(line: line, message: "a quoted field is never closed") }
                        return .needMore
                    }
                    let qi = base.distance(to: q.assumingMemoryBound(to: UInt8.self))
                    var s = p
                    while s < qi {
                        if base[s] == lf { newlines += 1 }
                        s += 1
                    }
                    if qi + 1 < end {
                        if base[qi + 1] == quote {
                            escaped = true
                            p = qi + 2
                            continue
                        }
                    } else if !eof {
                        return .needMore
                    }
                    fieldEnd = qi
                    p = qi + 1
                    break
                }
                guard fieldEnd - fieldStart <= maxFieldBytes else {
                    throw CSVSyntaxError(line: line, message: "a field is larger than \(maxFieldBytes >> 20) MiB")
                }
                if escaped {
                    let scratchStart = scratchCount
                    var s = fieldStart
                    while s < fieldEnd {
                        var runEnd = s
                        while runEnd < fieldEnd, base[runEnd] != quote { runEnd += 1 }
                        appendScratch(base + s, runEnd - s)
                        if runEnd < fieldEnd { appendScratch(base + runEnd, 1) } // keep one of the two quotes
                        s = runEnd + 2
                    }
                    starts[fields] = scratchStart
                    ends[fields] = scratchCount
                    fromScratch[fields] = true
                } else {
                    starts[fields] = fieldStart
                    ends[fields] = fieldEnd
                    fromScratch[fields] = false
                }
                fields += 1
                if p == end {
                    if !eof { return .needMore }
                    return finishRow(next: p, fields: fields, newlines: newlines, blank: false)
                }
                let c = base[p]
                if c == delimiter {
                    p += 1
                    continue
                }
                if c == lf { return finishRow(next: p + 1, fields: fields, newlines: newlines, blank: false) }
                if c == cr {
                    if p + 1 == end, !eof { return .needMore }
                    let next = p + 1 < end && base[p + 1] == lf ? p + 2 : p + 1
                    return finishRow(next: next, fields: fields, newlines: newlines, blank: false)
                }
                throw CSVSyntaxError(line: line + newlines,
                                     message: "unexpected text after a closing quote (a quote inside a quoted field must be doubled)")
            }
            // Unquoted field: the hot loop.
            let fieldStart = p
            let stops = self.stops
            while p < end, stops[Int(base[p])] == 0 { p += 1 }
            if p == end, !eof { return .needMore }
            guard p - fieldStart <= maxFieldBytes else {
                throw CSVSyntaxError(line: line, message: "a field is larger than \(maxFieldBytes >> 20) MiB")
            }
            starts[fields] = fieldStart
            ends[fields] = p
            fromScratch[fields] = false
            fields += 1
            if p == end {
                return finishRow(next: p, fields: fields, newlines: newlines,
                                 blank: fields == 1 && p == fieldStart && !sawQuote)
            }
            let c = base[p]
            if c == delimiter {
                p += 1
                continue
            }
            let blank = fields == 1 && p == fieldStart && !sawQuote
            if c == lf { return finishRow(next: p + 1, fields: fields, newlines: newlines, blank: blank) }
            // CR: CRLF or a lone CR both end the row.
            if p + 1 == end, !eof { return .needMore }
            let next = p + 1 < end && base[p + 1] == lf ? p + 2 : p + 1
            return finishRow(next: next, fields: fields, newlines: newlines, blank: blank)
        }
    }

    @inline(__always)
    private func finishRow(next: Int, fields: Int, newlines: Int, blank: Bool) -> RowResult {
        let rowLine = line
        line += 1 + newlines
        return .row(next: next, fields: fields, line: rowLine, blank: blank)
    }
}
