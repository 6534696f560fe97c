import Foundation
import TidemarkCore

/// A problem with a drop, reported as `FILE:LINE: column NAME: message`, or in a workbook as
/// `FILE:SHEET!CELL: column "NAME": message` (SPEC §14).
public struct DropProblem: Sendable, Hashable {
    public let line: Int?
    public let column: String?
    public let message: String
    /// Where in a workbook: `List 7!D14`, `List 7 row 14`, or the sheet alone.
    public let place: String?

    public init(line: Int?, column: String?, message: String, place: String? = nil) {
        self.line = line
        self.column = column
        self.message = message
        self.place = place
    }

    public func formatted(file: String) -> String {
        // Column names come from the file: escaped like any other text from it.
        let column = self.column.map { escapedText($0) }
        let file = escapedPath(file)
        if let place {
            return file + ":" + escapedText(place, limit: 256) + ": " + (column.map { "column \"\($0)\": " } ?? "") + message
        }
        var s = file
        if let line { s += ":\(line)" }
        s += ": "
        if let column { s += "column \(column): " }
        return s + message
    }
}

/// The sheet being read, so problems name their cell.
struct SheetPlace {
    let sheet: String
    /// Column name → column letters, from the header row.
    var letters: [String: String] = [:]

    func place(line: Int?, column: String?) -> String {
        guard let line else { return sheet }
        if let column, let letter = letters[column] { return "\(sheet)!\(letter)\(line)" }
        return "\(sheet) row \(line)"
    }
}

/// Collects problems; keeps the first `limit` and counts the rest.
final class ProblemLog {
    static let limit = 20
    private(set) var kept: [DropProblem] = []
    private(set) var total = 0
    private(set) var warnings: [String] = []

    private var last: DropProblem?

    /// Adds a problem; the same problem twice (one column read by two aggregations) counts once.
    func add(_ p: DropProblem) {
        if p == last || (kept.count < Self.limit && kept.contains(p)) { return }
        last = p
        total += 1
        if kept.count < Self.limit { kept.append(p) }
    }

    /// Set while a workbook sheet is read.
    var sheet: SheetPlace?

    func add(line: Int?, column: String? = nil, _ message: String) {
        add(DropProblem(line: line, column: column, message: message, place: sheet?.place(line: line, column: column)))
    }

    func warn(_ message: String) { warnings.append(message) }

    private var warned: Set<String> = []

    /// A warning given once per key (a column), however many rows would repeat it.
    func warnOnce(_ key: String, _ message: String) {
        if warned.insert(key).inserted { warnings.append(message) }
    }
}

