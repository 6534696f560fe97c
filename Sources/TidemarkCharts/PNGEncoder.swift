import CZlibSystem
import Foundation

/// A truecolour PNG from a cairo RGB24 surface, with one fixed row filter and zlib. Hand-written
/// because a measurement justifies it (BENCHMARKS.md, "Charts"): cairo's own writer goes through
/// libpng's adaptive filtering, which was 85% of a chart's time (libpng 46%, zlib 39%); a chart is
/// mostly white space and straight lines, for which the "Up" filter alone compresses as well.
enum PNGEncoder {
    /// `pixels`: `height` rows of `stride` bytes, each pixel B, G, R, X in memory (cairo's RGB24 on a
    /// little-endian machine).
    static func encode(pixels: UnsafePointer<UInt8>, width: Int, height: Int, stride: Int, level: Int32 = 5,
                       strategy: Int32 = Z_DEFAULT_STRATEGY) -> [UInt8]? {
        let rowBytes = 1 + width * 3
        var raw = [UInt8](repeating: 0, count: height * rowBytes)
        raw.withUnsafeMutableBufferPointer { out in
            var previous = [UInt8](repeating: 0, count: width * 3)
            var current = [UInt8](repeating: 0, count: width * 3)
            for y in 0..<height {
                let row = pixels + y * stride
                for x in 0..<width {
                    current[x * 3] = row[x * 4 + 2]
                    current[x * 3 + 1] = row[x * 4 + 1]
                    current[x * 3 + 2] = row[x * 4]
                }
                let base = y * rowBytes
                out[base] = 2    // filter type Up: each byte minus the byte above it
                for i in 0..<(width * 3) { out[base + 1 + i] = current[i] &- previous[i] }
                swap(&previous, &current)
            }
        }
        guard let compressed = deflate(raw, level: level, strategy: strategy) else { return nil }

        var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
        var header: [UInt8] = []
        header += bigEndian(UInt32(width)) + bigEndian(UInt32(height))
        header += [8, 2, 0, 0, 0]    // 8 bits per sample, truecolour, deflate, adaptive filtering, no interlace
        chunk("IHDR", header, into: &png)
        chunk("IDAT", compressed, into: &png)
        chunk("IEND", [], into: &png)
        return png
    }

    /// A zlib stream (what IDAT holds). Z_RLE suits filtered image rows: runs of zero bytes, found fast.
    static func deflate(_ input: [UInt8], level: Int32, strategy: Int32) -> [UInt8]? {
        var stream = z_stream()
        guard deflateInit2_(&stream, level, Z_DEFLATED, 15, 8, strategy, ZLIB_VERSION, Int32(MemoryLayout<z_stream>.size)) == Z_OK
        else { return nil }
        defer { deflateEnd(&stream) }
        var output = [UInt8](repeating: 0, count: Int(deflateBound(&stream, uLong(input.count))))
        var input = input
        let status = input.withUnsafeMutableBufferPointer { i in
            output.withUnsafeMutableBufferPointer { o in
                stream.next_in = i.baseAddress
                stream.avail_in = uInt(i.count)
                stream.next_out = o.baseAddress
                stream.avail_out = uInt(o.count)
                return CZlibSystem.deflate(&stream, Z_FINISH)
            }
        }
        guard status == Z_STREAM_END else { return nil }
        output.removeSubrange(Int(stream.total_out)...)
        return output
    }

    static func chunk(_ type: String, _ data: [UInt8], into png: inout [UInt8]) {
        let typeBytes = Array(type.utf8)
        png += bigEndian(UInt32(data.count))
        png += typeBytes
        png += data
        var crc = crc32(0, nil, 0)
        crc = typeBytes.withUnsafeBufferPointer { crc32(crc, $0.baseAddress, uInt($0.count)) }
        crc = data.withUnsafeBufferPointer { crc32(crc, $0.baseAddress, uInt($0.count)) }
        png += bigEndian(UInt32(crc))
    }

    static func bigEndian(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
}
