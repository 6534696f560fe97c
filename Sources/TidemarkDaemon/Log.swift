@preconcurrency import Glibc
import Foundation
import TidemarkCore

/// Log levels, in syslog order of importance.
public enum LogLevel: String, Sendable, CaseIterable, Comparable {
    case debug, info, warning, error

    var syslogPriority: Int { [7, 6, 4, 3][rank] }
    private var rank: Int { LogLevel.allCases.firstIndex(of: self)! }
    public static func < (a: LogLevel, b: LogLevel) -> Bool { a.rank < b.rank }
}

/// One event per line on stderr (SPEC §9). Under journald (`$JOURNAL_STREAM`) text lines carry `<N>`
/// priority prefixes so the journal keeps levels; `json` is for log shippers. Never given row data.
public struct Log: Sendable {
    public enum Format: String, Sendable { case text, json }
    public let level: LogLevel
    public let format: Format
    let journal: Bool

    public init(level: LogLevel = .info, format: Format = .text,
                journal: Bool = ProcessInfo.processInfo.environment["JOURNAL_STREAM"] != nil) {
        self.level = level
        self.format = format
        self.journal = journal
    }

    /// A burst (more than this many transitions, notifications or deliveries in one step) is logged as a
    /// summary line, with each item at debug level: a release that puts every worker over a line should
    /// not bury the journal, and the store keeps every item anyway.
    public static let itemsLoggedOneByOne = 20

    /// The level to log each of `count` items at, or nil when those lines would not be written.
    public func levelForEach(of count: Int) -> LogLevel? {
        let each: LogLevel = count <= Log.itemsLoggedOneByOne ? .info : .debug
        return each >= level ? each : nil
    }

    public func debug(_ message: String, _ fields: [(String, String)] = []) { log(.debug, message, fields) }
    public func info(_ message: String, _ fields: [(String, String)] = []) { log(.info, message, fields) }
    public func warning(_ message: String, _ fields: [(String, String)] = []) { log(.warning, message, fields) }
    public func error(_ message: String, _ fields: [(String, String)] = []) { log(.error, message, fields) }

    public func log(_ l: LogLevel, _ message: String, _ fields: [(String, String)]) {
        guard l >= level else { return }
        // One event per line, whatever a file name or a cell held: control characters are escaped.
        let flat = escapedText(message, limit: 4096)
        var line: String
        switch format {
        case .json:
            line = JSON.object([("time", .string(AsOf(date: Date()).description)), ("level", .string(l.rawValue)),
                                ("msg", .string(flat))] + fields.map { ($0.0, .string($0.1)) }).serialized()
        case .text:
            line = journal ? "<\(l.syslogPriority)>" : "\(AsOf(date: Date()).description) \(l.rawValue.uppercased()) "
            line += flat
            for (k, v) in fields {
                let safe = escapedText(v, limit: 1024)
                let value = safe.isEmpty || safe.utf8.contains(UInt8(ascii: " "))
                    ? "\"" + String(safe.map { $0 == "\"" ? "'" : $0 }) + "\"" : safe
                line += " \(k)=\(value)"
            }
        }
        line += "\n"
        _ = line.withCString { fputs($0, stderr) }
    }
}
