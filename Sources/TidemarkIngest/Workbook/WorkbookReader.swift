import CZlibSystem
import Foundation
import TidemarkCore

/// Reads one sheet of an `.xlsx`/`.xlsm` workbook into a shape processor (SPEC §14). The zip container
/// is read by `ZipContainer`; the SpreadsheetML parts are scanned by `XMLScanner`. Other spreadsheet files are
/// recognised by their bytes and refused with one line saying what they are and how to save them.
struct WorkbookReader {
    let fileName: String
    let options: XLSXOptions
    /// The source's `max_bytes`: no part may decompress past it, nor the workbook past 20 times it.
    let maxBytes: Int
    let problems: ProblemLog

    struct Refusal: Error { let message: String }

    /// Where the workbook's bytes are: a file (a directory drop) or memory (a URL body).
    enum Bytes {
        case file(String)
        case memory([UInt8])
    }

    /// Reads the configured sheet; returns the number of data rows. Problems go to `problems`.
    func read<P: ShapeProcessor>(_ bytes: Bytes, into processor: inout P) -> Int {
        var descriptor: Int32 = -1
        defer { if descriptor >= 0 { close(descriptor) } }
        do {
            let zip: ZipBytes
            switch bytes {
            case .memory(let all):
                try Self.identify(Array(all.prefix(1 << 16)))
                zip = .memory(all)
            case .file(let path):
                descriptor = open(path, O_RDONLY | O_CLOEXEC)
                var info = stat()
                guard descriptor >= 0, fstat(descriptor, &info) == 0 else {
                    throw Refusal(message: "cannot read the workbook: \(String(cString: strerror(errno)))")
                }
                zip = .file(descriptor: descriptor, size: Int(info.st_size))
                try Self.identify(try zip.read(at: 0, count: 1 << 16))
            }
            return try read(try ZipContainer(zip), into: &processor)
        } catch let refusal as Refusal {
            problems.add(line: nil, refusal.message)
        } catch let damage as ZipContainer.Damage {
            problems.add(line: nil, damage.message)
        } catch {
            problems.add(line: nil, "the workbook is damaged: \(error)")
        }
        return 0
    }

    /// Refuses what is not a zip-based workbook, naming what it is.
    /// How to turn any other spreadsheet into one tidemark reads.
    static let save = "save it from Excel as .xlsx (Excel Workbook) or CSV UTF-8"

    static func identify(_ head: [UInt8]) throws {
        if head.starts(with: [0x50, 0x4B, 0x03, 0x04]) || head.starts(with: [0x50, 0x4B, 0x05, 0x06]) { return }
        if head.starts(with: [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
            // An OLE compound file: an Excel 97-2003 .xls, or an encrypted (password-protected) OOXML file.
            let encrypted = Array("EncryptedPackage".utf16.flatMap { [UInt8($0 & 0xFF), UInt8($0 >> 8)] })
            if contains(head, encrypted) {
                throw Refusal(message: "a password-protected workbook: tidemark cannot read encrypted files; remove the password (File → Info → Protect Workbook) and \(save)")
            }
            throw Refusal(message: "an Excel 97-2003 .xls workbook, which tidemark does not read; \(save)")
        }
        throw Refusal(message: "not an xlsx workbook (no zip signature; is it a CSV or another file renamed?); \(save)")
    }

    private static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard haystack.count >= needle.count else { return false }
        for i in 0...(haystack.count - needle.count) where haystack[i] == needle[0] {
            if Array(haystack[i..<(i + needle.count)]) == needle { return true }
        }
        return false
    }

    private func read<P: ShapeProcessor>(_ archive: ZipContainer, into processor: inout P) throws -> Int {
        let save = Self.save
        guard let workbookEntry = archive["xl/workbook.xml"] else {
            if archive["xl/workbook.bin"] != nil {
                throw Refusal(message: "an Excel binary .xlsb workbook, which tidemark does not read; \(save)")
            }
            if archive["content.xml"] != nil || archive["mimetype"] != nil {
                throw Refusal(message: "an OpenDocument .ods spreadsheet, which tidemark does not read; save it as .xlsx or CSV UTF-8")
            }
            throw Refusal(message: "a zip archive without xl/workbook.xml: not an xlsx workbook; \(save)")
        }
        try checkSizes(archive)
        let relationships = try archive["xl/_rels/workbook.xml.rels"].map { try part($0, archive) } ?? []
        let (sheets, date1904) = WorkbookParts.sheets(workbook: try part(workbookEntry, archive), relationships: relationships)
        guard !sheets.isEmpty else { throw Refusal(message: "the workbook lists no sheets") }
        let chosen: SheetEntry
        if let wanted = options.sheet {
            guard let s = sheets.first(where: { $0.name == wanted }) else {
                throw Refusal(message: "no sheet named \(quoted(wanted)); the workbook has \(sheets.map { quoted($0.name) }.joined(separator: ", "))")
            }
            chosen = s
        } else {
            chosen = sheets[0]
        }
        guard let sheetEntry = archive[chosen.part] else {
            throw Refusal(message: "sheet \(quoted(chosen.name)) is listed but its part \(chosen.part) is missing")
        }
        let styles = try archive["xl/styles.xml"].map { WorkbookParts.dateStyles(try part($0, archive)) } ?? []
        let strings = try sharedStringsEntry(archive).map { WorkbookParts.sharedStrings(try part($0, archive)).map { Array($0.utf8) } } ?? []
        var stream = SheetStream<P>(sheet: chosen.name, headerRow: options.headerRow, sharedStrings: strings,
                                    dateStyles: styles, date1904: date1904, problems: problems)
        let crc = try archive.extract(sheetEntry, limit: maxBytes) { chunk in stream.feed(chunk, into: &processor) }
        guard crc == sheetEntry.checksum else {
            throw Refusal(message: "sheet \(quoted(chosen.name)) is damaged: its checksum does not match (a truncated or altered file)")
        }
        stream.finish(into: &processor)
        return stream.dataRows
    }

    private func sharedStringsEntry(_ archive: ZipContainer) -> ZipContainer.Entry? {
        archive["xl/sharedStrings.xml"] ?? archive.entries.first { $0.path.lowercased() == "xl/sharedstrings.xml" }
    }

    /// A zip bomb is refused before anything is inflated: no part over `max_bytes`, the whole under 20×.
    private func checkSizes(_ archive: ZipContainer) throws {
        var total: UInt64 = 0
        let limit = UInt64(maxBytes).multipliedReportingOverflow(by: 20)
        for entry in archive.entries {
            if entry.uncompressedSize > maxBytes {
                throw Refusal(message: "part \(entry.path) decompresses to \(entry.uncompressedSize) bytes, over max_bytes (\(maxBytes)): refused as a possible zip bomb")
            }
            let sum = total.addingReportingOverflow(UInt64(entry.uncompressedSize))
            total = sum.overflow ? .max : sum.partialValue
        }
        if !limit.overflow, total > limit.partialValue {
            throw Refusal(message: "the workbook decompresses to \(total) bytes, over 20 × max_bytes: refused as a possible zip bomb")
        }
    }

    /// A small part read whole, counting what really inflates (a zip's declared sizes can lie).
    private func part(_ entry: ZipContainer.Entry, _ archive: ZipContainer) throws -> [UInt8] {
        var out: [UInt8] = []
        let crc = try archive.extract(entry, chunkSize: 1 << 16, limit: maxBytes) { out.append(contentsOf: $0) }
        guard crc == entry.checksum else {
            throw Refusal(message: "part \(entry.path) is damaged: its checksum does not match (a truncated or altered file)")
        }
        return out
    }
}
