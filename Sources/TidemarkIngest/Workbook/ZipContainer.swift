import CZlibSystem
import Foundation

/// The zip container of an `.xlsx` workbook: its central directory, and each part inflated in bounded
/// chunks by zlib. Written here rather than taken from ZIPFoundation, which on damaged input either
/// trapped (its in-memory archive) or never returned (a deflate stream that ends before its end marker
/// kept it reading past the end of the file forever: Fuzz/Corpus/fuzz-xlsx/regression-endless-part).
/// Here every read is bounded by the entry's own compressed size, and anything that does not add up is a
/// `ZipContainer.Damage` with one line saying what.
struct ZipContainer {
    struct Damage: Error { let message: String }

    struct Entry {
        let path: String
        let method: UInt16
        let flags: UInt16
        let checksum: UInt32
        let compressedSize: Int
        let uncompressedSize: Int
        let localHeaderOffset: Int
    }

    private let bytes: ZipBytes
    /// In central-directory order.
    let entries: [Entry]
    private let byPath: [String: Int]

    init(_ bytes: ZipBytes) throws {
        self.bytes = bytes
        entries = try Self.centralDirectory(bytes)
        var byPath: [String: Int] = [:]
        for (i, e) in entries.enumerated() where byPath[e.path] == nil { byPath[e.path] = i }
        self.byPath = byPath
    }

    subscript(path: String) -> Entry? { byPath[path].map { entries[$0] } }

    /// Inflates the entry, handing each chunk to `consumer` as it comes; returns the CRC-32 of what came
    /// out (the caller compares it with `entry.checksum`). Stops with `Damage` once more than `limit`
    /// bytes come out, when the compressed data ends early, or when it is not a deflate stream.
    func extract(_ entry: Entry, chunkSize: Int = 1 << 18, limit: Int,
                 _ consumer: (UnsafeRawBufferPointer) throws -> Void) throws -> UInt32 {
        if entry.flags & 1 != 0 { throw Damage(message: "part \(entry.path) is encrypted") }
        let start = try dataOffset(entry)
        switch entry.method {
        case 0: return try copyStored(entry, from: start, chunkSize: chunkSize, limit: limit, consumer)
        case 8: return try inflate(entry, from: start, chunkSize: chunkSize, limit: limit, consumer)
        default: throw Damage(message: "part \(entry.path) uses zip compression method \(entry.method), which is not deflate")
        }
    }

    private func dataOffset(_ entry: Entry) throws -> Int {
        let header = try bytes.read(at: entry.localHeaderOffset, count: 30)
        guard header.count == 30, le32(header, 0) == 0x0403_4B50 else {
            throw Damage(message: "part \(entry.path) has no local header where the directory says")
        }
        let start = entry.localHeaderOffset + 30 + Int(le16(header, 26)) + Int(le16(header, 28))
        guard start <= bytes.count, entry.compressedSize <= bytes.count - start else {
            throw Damage(message: "part \(entry.path) runs past the end of the file")
        }
        return start
    }

    private func copyStored(_ entry: Entry, from start: Int, chunkSize: Int, limit: Int,
                            _ consumer: (UnsafeRawBufferPointer) throws -> Void) throws -> UInt32 {
        guard entry.compressedSize <= limit else { throw tooBig(entry, limit) }
        var crc: UInt = 0
        var offset = start
        let end = start + entry.compressedSize
        while offset < end {
            let chunk = try bytes.read(at: offset, count: min(chunkSize, end - offset))
            guard !chunk.isEmpty else { throw Damage(message: "part \(entry.path) ends early") }
            offset += chunk.count
            try chunk.withUnsafeBytes { raw in
                crc = crc32(crc, raw.bindMemory(to: Bytef.self).baseAddress, uInt(raw.count))
                try consumer(raw)
            }
        }
        return UInt32(truncatingIfNeeded: crc)
    }

    private func inflate(_ entry: Entry, from start: Int, chunkSize: Int, limit: Int,
                         _ consumer: (UnsafeRawBufferPointer) throws -> Void) throws -> UInt32 {
        var stream = z_stream()
        guard inflateInit2_(&stream, -MAX_WBITS, zlibVersion(), Int32(MemoryLayout<z_stream>.size)) == Z_OK else {
            throw Damage(message: "zlib could not start inflating part \(entry.path)")
        }
        defer { inflateEnd(&stream) }
        // Both buffers are allocated here, so the pointers zlib keeps between calls stay valid.
        let input = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        let output = UnsafeMutableRawBufferPointer.allocate(byteCount: chunkSize, alignment: 16)
        defer { input.deallocate(); output.deallocate() }
        var offset = start
        let end = start + entry.compressedSize
        var produced = 0
        var crc: UInt = 0
        while true {
            if stream.avail_in == 0, offset < end {
                let got = try bytes.read(at: offset, into: UnsafeMutableRawBufferPointer(rebasing: input[0..<min(chunkSize, end - offset)]))
                guard got > 0 else { throw Damage(message: "part \(entry.path) ends early") }
                offset += got
                stream.next_in = input.baseAddress!.assumingMemoryBound(to: Bytef.self)
                stream.avail_in = uInt(got)
            }
            stream.next_out = output.baseAddress!.assumingMemoryBound(to: Bytef.self)
            stream.avail_out = uInt(chunkSize)
            let result = CZlibSystem.inflate(&stream, Z_NO_FLUSH)
            let out = chunkSize - Int(stream.avail_out)
            if out > 0 {
                produced += out
                if produced > limit { throw tooBig(entry, limit) }
                let chunk = UnsafeRawBufferPointer(rebasing: output[0..<out])
                crc = crc32(crc, chunk.bindMemory(to: Bytef.self).baseAddress, uInt(out))
                try consumer(chunk)
            }
            switch result {
            case Z_STREAM_END: return UInt32(truncatingIfNeeded: crc)
            case Z_OK: continue
            case Z_BUF_ERROR where out > 0 || (stream.avail_in == 0 && offset < end): continue
            case Z_BUF_ERROR: // no progress, and no input left to give it
                throw Damage(message: "part \(entry.path) is damaged: its compressed data ends before the part does")
            default: throw Damage(message: "part \(entry.path) is damaged: not a valid deflate stream")
            }
        }
    }

    private func tooBig(_ entry: Entry, _ limit: Int) -> Damage {
        Damage(message: "part \(entry.path) decompresses past max_bytes (\(limit) bytes): refused as a possible zip bomb")
    }

    // MARK: - The central directory (APPNOTE.TXT 4.3.12, 4.3.16)

    private static func centralDirectory(_ bytes: ZipBytes) throws -> [Entry] {
        let damaged = Damage(message: "not a readable xlsx workbook: the zip archive is truncated or damaged")
        // The end record is the last 22 bytes, or further back by a comment of at most 65,535 bytes.
        let tailLength = min(bytes.count, 22 + 0xFFFF)
        let tail = try bytes.read(at: bytes.count - tailLength, count: tailLength)
        guard tail.count >= 22 else { throw damaged }
        var end = -1
        var i = tail.count - 22
        while i >= 0 {
            if tail[i] == 0x50, le32(tail, i) == 0x0605_4B50 { end = i; break }
            i -= 1
        }
        guard end >= 0 else { throw damaged }
        let count = Int(le16(tail, end + 10))
        let size = Int(le32(tail, end + 12))
        let offset = Int(le32(tail, end + 16))
        if count == 0xFFFF || size == 0xFFFF_FFFF || offset == 0xFFFF_FFFF {
            throw Damage(message: "a ZIP64 archive (over 4 GB or 65,535 parts), which is far larger than any workbook tidemark reads")
        }
        guard offset <= bytes.count, size <= bytes.count - offset else { throw damaged }
        let directory = try bytes.read(at: offset, count: size)
        var entries: [Entry] = []
        entries.reserveCapacity(count)
        var p = 0
        for _ in 0..<count {
            guard p + 46 <= directory.count, le32(directory, p) == 0x0201_4B50 else { throw damaged }
            let nameLength = Int(le16(directory, p + 28))
            let recordLength = 46 + nameLength + Int(le16(directory, p + 30)) + Int(le16(directory, p + 32))
            guard p + recordLength <= directory.count else { throw damaged }
            entries.append(Entry(path: String(decoding: directory[(p + 46)..<(p + 46 + nameLength)], as: UTF8.self),
                                 method: le16(directory, p + 10), flags: le16(directory, p + 8),
                                 checksum: le32(directory, p + 16), compressedSize: Int(le32(directory, p + 20)),
                                 uncompressedSize: Int(le32(directory, p + 24)), localHeaderOffset: Int(le32(directory, p + 42))))
            p += recordLength
        }
        return entries
    }
}

private func le16(_ b: [UInt8], _ i: Int) -> UInt16 { UInt16(b[i]) | UInt16(b[i + 1]) << 8 }
private func le32(_ b: [UInt8], _ i: Int) -> UInt32 { UInt32(le16(b, i)) | UInt32(le16(b, i + 2)) << 16 }

/// Where a zip's bytes are: memory (a URL body) or an open file (a directory drop), read with `pread` so a
/// large workbook is never held whole.
enum ZipBytes {
    case memory([UInt8])
    case file(descriptor: Int32, size: Int)

    var count: Int {
        switch self {
        case .memory(let all): all.count
        case .file(_, let size): size
        }
    }

    /// Up to `count` bytes from `offset`; fewer only at the end of the bytes.
    func read(at offset: Int, count: Int) throws -> [UInt8] {
        guard offset >= 0, count > 0, offset < self.count else { return [] }
        var out = [UInt8](repeating: 0, count: min(count, self.count - offset))
        let got = try out.withUnsafeMutableBytes { try read(at: offset, into: $0) }
        return got == out.count ? out : Array(out[0..<got])
    }

    /// Fills `buffer` from `offset`; returns how many bytes it got (fewer only at the end of the bytes).
    func read(at offset: Int, into buffer: UnsafeMutableRawBufferPointer) throws -> Int {
        guard offset >= 0, offset < count, buffer.count > 0 else { return 0 }
        let n = min(buffer.count, count - offset)
        switch self {
        case .memory(let all):
            all.withUnsafeBytes { buffer.baseAddress!.copyMemory(from: $0.baseAddress! + offset, byteCount: n) }
            return n
        case .file(let fd, _):
            var done = 0
            while done < n {
                let got = pread(fd, buffer.baseAddress! + done, n - done, off_t(offset + done))
                if got < 0, errno == EINTR { continue }
                if got == 0 { break }
                guard got > 0 else {
                    throw ZipContainer.Damage(message: "cannot read the workbook: \(String(cString: strerror(errno)))")
                }
                done += got
            }
            return done
        }
    }
}
