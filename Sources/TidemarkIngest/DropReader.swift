import Foundation
import TidemarkCore
import TidemarkCrypto

/// The outcome of reading one drop: its identity, its observations, and every problem found.
public struct ParsedDrop: Sendable {
    public var source: String
    /// The file name (no directory), as shown in errors and notifications.
    public var fileName: String
    public var sha256: String
    public var byteCount: Int
    public var rowCount: Int
    /// Values, sorted by metric, labels and as-of; empty when rejected.
    public var observations: [Observation]
    /// Statistical symbols in place of values (SPEC §14), sorted likewise; each has `marker` set.
    public var markers: [Observation] = []

    /// Set when a watched file failed the safety checks (SPEC §11): it was not read at all, and is not a
    /// drop (not recorded, no drop_rejected), only logged.
    public var notRead: String? = nil

    /// What the drop stores: its values and its markers (a marker is kept with the point).
    public var points: [Observation] { observations + markers }
    /// The first 20 problems; `problemCount` counts all of them.
    public var problems: [DropProblem]
    public var problemCount: Int
    /// Things worth knowing that do not reject the drop (a configured value column absent, no data rows).
    public var warnings: [String]

    public var accepted: Bool { problemCount == 0 }

    /// `FILE:LINE: column NAME: message`, at most 20, then a count of the rest.
    public var errorLines: [String] {
        var lines = problems.map { $0.formatted(file: fileName) }
        if problemCount > problems.count {
            let more = problemCount - problems.count
            lines.append("\(fileName): … and \(more) more error\(more == 1 ? "" : "s")")
        }
        return lines
    }

    /// The distinct as-of dates in the drop, oldest first.
    public var asOfDates: [AsOf] { Array(Set(observations.map(\.asOf))).sorted() }
}

/// Reads drops for one source: streams the bytes once, hashing (SHA-256) and parsing together.
public struct DropReader: Sendable {
    public let source: SourceConfig
    public let privacy: PrivacySettings

    public init(source: SourceConfig, privacy: PrivacySettings) {
        self.source = source
        self.privacy = privacy
    }

    /// Reads a file from disk. Its modification time is the as-of date when the source names no other.
    /// With `expecting` (a file a directory watcher saw settle) the file is read only if it is still that
    /// regular file, reached without a symlink (unless `follow_symlinks`) and, unless `follow_symlinks`,
    /// with one link: otherwise `notRead` says why and nothing of the file is read or quoted.
    public func read(path: String, expecting identity: DropFileIdentity? = nil) -> ParsedDrop {
        let fileName = (path as NSString).lastPathComponent
        let follow = source.location.followsSymlinks
        if identity != nil, !follow {
            // The directory itself swapped for a link (to somewhere else) since the file settled.
            var st = stat()
            let directory = (path as NSString).deletingLastPathComponent
            guard lstat(directory, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else {
                return refusal(fileName, "the source directory \(escapedPath(directory)) is no longer a real directory (a link?)")
            }
        }
        // O_NONBLOCK: a FIFO planted under a drop's name must not hang the daemon in open().
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | (identity != nil && !follow ? O_NOFOLLOW : 0))
        guard fd >= 0 else {
            if identity != nil, errno == ELOOP { return refusal(fileName, "it is now a symbolic link") }
            if identity != nil, errno == ENOENT { return refusal(fileName, "it was removed before it could be read") }
            return failure(fileName, "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else {
            if identity != nil { return refusal(fileName, "it is not a regular file") }
            return failure(fileName, "not a regular file")
        }
        if let identity {
            if UInt64(st.st_dev) != identity.device || UInt64(st.st_ino) != identity.inode {
                return refusal(fileName, "it was replaced by another file after it settled")
            }
            if !follow, st.st_nlink > 1 {
                return refusal(fileName, "it has \(st.st_nlink) hard links (a link to a file elsewhere is not a drop; set follow_symlinks: true to allow it)")
            }
        }
        let modified = Date(timeIntervalSince1970: TimeInterval(st.st_mtim.tv_sec))
        return read(fileName: fileName, modified: modified, declaredSize: Int(st.st_size), whole: .file(path)) { buffer in
            while true {
                let n = Glibc.read(fd, buffer.baseAddress, buffer.count)
                if n >= 0 { return n }
                if errno != EINTR { throw ReadFailure(message: String(cString: strerror(errno))) }
            }
        }
    }

    /// Reads bytes already in memory (a URL body, a test).
    public func read(bytes: [UInt8], fileName: String, modified: Date) -> ParsedDrop {
        var offset = 0
        return read(fileName: fileName, modified: modified, declaredSize: bytes.count, whole: .memory(bytes)) { buffer in
            let n = min(buffer.count, bytes.count - offset)
            if n > 0 {
                bytes.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + offset, byteCount: n) }
            }
            offset += n
            return n
        }
    }

    struct ReadFailure: Error { let message: String }

    /// A file that failed the safety checks: not read, not recorded, only logged (by name, escaped).
    private func refusal(_ fileName: String, _ reason: String) -> ParsedDrop {
        var drop = failure(fileName, "not read: \(reason)")
        drop.notRead = "not read: \(reason)"
        return drop
    }

    private func failure(_ fileName: String, _ message: String) -> ParsedDrop {
        ParsedDrop(source: source.name, fileName: fileName, sha256: "", byteCount: 0, rowCount: 0, observations: [],
                   problems: [DropProblem(line: nil, column: nil, message: message)], problemCount: 1, warnings: [])
    }

    private func read(fileName: String, modified: Date, declaredSize: Int, whole: WorkbookReader.Bytes,
                      readInto: (UnsafeMutableRawBufferPointer) throws -> Int) -> ParsedDrop {
        let problems = ProblemLog()
        let hasher = SHA256Hasher()
        var byteCount = 0
        var rowCount = 0
        var tooLarge = declaredSize > source.maxBytes

        /// Reads to the end, hashing and counting every byte; `keep` sees each chunk (JSON keeps them).
        func drain(keep: (UnsafeRawBufferPointer) -> Void = { _ in }) throws {
            let chunk = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
            defer { chunk.deallocate() }
            while true {
                let n = try readInto(chunk)
                if n == 0 { break }
                let bytes = UnsafeRawBufferPointer(rebasing: chunk[0..<n])
                hasher.update(bytes)
                byteCount += n
                keep(bytes)
            }
        }

        let asOf = AsOfResolver(rule: source.asOf, fileName: fileName, modified: modified, problems: problems)
        var observations: [Observation] = []
        var markers: [Observation] = []
        // Each shape's processor is a concrete struct, so the row loop is specialised for it.
        func run<P: ShapeProcessor>(_ processor: inout P) {
            do {
                if tooLarge {
                    try drain()
                } else {
                    switch source.format(forFileName: fileName) {
                    case .csv:
                        rowCount = try readCSV(processor: &processor, problems: problems, readInto: readInto,
                                               hasher: hasher, byteCount: &byteCount, tooLarge: &tooLarge)
                        if tooLarge || problems.total > 0 { try drain() }
                    case .json:
                        var all: [UInt8] = []
                        try drain { bytes in
                            if byteCount > source.maxBytes { tooLarge = true } else { all.append(contentsOf: bytes) }
                        }
                        if !tooLarge {
                            rowCount = JSONRows.feed(all, rowsPath: source.json.rowsPath, to: &processor, problems: problems)
                        }
                    case .xlsx:
                        // The identity is the hash of the file's bytes; the zip is then read by its directory.
                        try drain()
                        if !tooLarge {
                            rowCount = WorkbookReader(fileName: fileName, options: source.xlsx, maxBytes: source.maxBytes,
                                                      problems: problems).read(whole, into: &processor)
                            problems.sheet = nil
                        }
                    }
                }
            } catch let e as ReadFailure {
                problems.add(line: nil, "read failed: \(e.message)")
            } catch let e as CSVSyntaxError {
                problems.add(line: e.line, e.message)
                // The drop's identity is the hash of all its bytes, so read the rest.
                do { try drain() } catch { problems.add(line: nil, "read failed: \(error)") }
            } catch {
                problems.add(line: nil, "read failed: \(error)")
            }
            if tooLarge {
                problems.add(line: nil, "the file is \(byteCount) bytes, over this source's max_bytes (\(source.maxBytes))")
            }
            if problems.total == 0 {
                let all = processor.observations().sorted {
                    ($0.metric, $0.labels, $0.asOf) < ($1.metric, $1.labels, $1.asOf)
                }
                observations = all.filter { $0.marker == nil }
                markers = all.filter { $0.marker != nil }
                if rowCount == 0 { problems.warn("the file has a header but no data rows") }
            }
        }
        switch source.shape {
        case .wide(let labels, let values):
            var p = WideProcessor(values: values, columns: AggregateReturnColumns(
                labels: labels, privacy: privacy, markers: source.markers, rowFilter: source.rowFilter, asOf: asOf,
                problems: problems))
            run(&p)
        case .long(let labels, let metricColumn, let valueColumn):
            var p = LongProcessor(metricColumn: metricColumn, valueColumn: valueColumn, columns: AggregateReturnColumns(
                labels: labels, privacy: privacy, markers: source.markers, rowFilter: source.rowFilter, asOf: asOf,
                problems: problems))
            run(&p)
        case .records(let aggs):
            var p = RecordsProcessor(aggregations: aggs, markers: source.markers, asOf: asOf, problems: problems)
            run(&p)
        }
        let sha = hasher.finalizeHex()
        var parsed = ParsedDrop(source: source.name, fileName: fileName, sha256: sha, byteCount: byteCount, rowCount: rowCount,
                                observations: observations, problems: problems.kept, problemCount: problems.total,
                                warnings: problems.warnings)
        parsed.markers = markers
        return parsed
    }

    /// Why a header row shows the file is not UTF-8 CSV text, if it does.
    static func unreadableHeader(_ row: CSVRow) -> String? {
        if row.count > 0 {
            let first = row.field(0)
            if first.count >= 2, (first[0] == 0xFF && first[1] == 0xFE) || (first[0] == 0xFE && first[1] == 0xFF) {
                return "the file is UTF-16 text; tidemark reads UTF-8 (in Excel: Save As → CSV UTF-8)"
            }
        }
        for i in 0..<row.count {
            let field = row.field(i)
            if field.contains(0) { return "the header holds binary data (NUL bytes): this is not a CSV text file" }
            if String(validating: field, as: UTF8.self) == nil {
                return "the header is not UTF-8 text: \(describeField(field)) (save the file as UTF-8)"
            }
        }
        return nil
    }

    private func readCSV<P: ShapeProcessor>(processor: inout P, problems: ProblemLog,
                         readInto: (UnsafeMutableRawBufferPointer) throws -> Int,
                         hasher: SHA256Hasher, byteCount: inout Int, tooLarge: inout Bool) throws -> Int {
        let parser = CSVParser(delimiter: source.csv.delimiter)
        var header: [String]? = nil
        var rows = 0
        var readable = true
        let maxBytes = source.maxBytes
        var total = 0
        // Also when the parser throws: what it read so far is hashed and counted; the caller drains the rest.
        defer { byteCount = total }
        try parser.parse(read: readInto, consumed: { bytes in
            hasher.update(bytes)
            total += bytes.count
        }, onRow: { row in
            if total > maxBytes {
                tooLarge = true
                return false
            }
            guard header != nil else {
                if let problem = DropReader.unreadableHeader(row) {
                    // A UTF-16 or binary file: one clear reason beats a list of "column not in the header".
                    problems.add(line: row.line, problem)
                    header = []
                    readable = false
                    return false
                }
                let names = (0..<row.count).map { row.string($0).trimmingCharacters(in: .whitespaces) }
                header = names
                var seen: Set<String> = []
                for name in names where !name.isEmpty && !seen.insert(name).inserted {
                    problems.add(line: row.line, column: name, "the header names this column twice")
                    readable = false
                }
                readable = processor.header(names, line: row.line) && readable
                return true
            }
            rows += 1
            if readable {
                processor.row(row)
            } else if row.count != header!.count {
                // The header already rejects the drop; still report rows that are structurally broken.
                problems.add(line: row.line, "expected \(header!.count) fields, found \(row.count)")
            }
            return true
        })
        if header == nil {
            problems.add(line: 1, "the file is empty: no header row")
        }
        return rows
    }
}

private func < (a: (String, Labels, AsOf), b: (String, Labels, AsOf)) -> Bool {
    if a.0 != b.0 { return a.0 < b.0 }
    if a.1 != b.1 { return a.1 < b.1 }
    return a.2 < b.2
}
