import Crypto

/// Incremental SHA-256, for hashing a drop as it streams past the reader. A class (not a struct) because
/// it is fed from inside the reader's callbacks. swift-crypto's BoringSSL uses the CPU's SHA extensions,
/// so hashing keeps up with the readers (BENCHMARKS.md, "Records reader").
public final class SHA256Hasher {
    private var hash = SHA256()

    public init() {}

    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        hash.update(bufferPointer: bytes)
    }

    public func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// The digest as 64 lowercase hex digits.
    public func finalizeHex() -> String {
        hexString(hash.finalize())
    }
}

/// One-shot SHA-256 as lowercase hex.
public func sha256Hex(_ bytes: [UInt8]) -> String {
    hexString(SHA256.hash(data: bytes))
}

/// One-shot SHA-256 of a string's UTF-8 bytes as lowercase hex.
public func sha256Hex(_ string: String) -> String { sha256Hex(Array(string.utf8)) }

/// HMAC-SHA256 as lowercase hex (webhook signatures).
public func hmacSHA256Hex(key: [UInt8], message: [UInt8]) -> String {
    hexString(HMAC<SHA256>.authenticationCode(for: message, using: SymmetricKey(data: key)))
}

private let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

func hexString<S: Sequence>(_ bytes: S) -> String where S.Element == UInt8 {
    var chars: [UInt8] = []
    chars.reserveCapacity(64)
    for b in bytes {
        chars.append(hexDigits[Int(b >> 4)])
        chars.append(hexDigits[Int(b & 0x0f)])
    }
    return String(decoding: chars, as: UTF8.self)
}
