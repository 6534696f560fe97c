import COpenSSL

/// SHA-256 and HMAC-SHA256 from the system OpenSSL (the same libcrypto libcurl loads).
public enum OpenSSLLibrary {
    /// The runtime OpenSSL version string, e.g. `OpenSSL 3.0.19 1 Jul 2025`.
    public static var version: String {
        guard let v = OpenSSL_version(Int32(OPENSSL_VERSION)) else { return "unknown" }
        return String(cString: v)
    }
}

/// Incremental SHA-256, for hashing a drop as it streams past the reader. A class (not a struct) because
/// it owns an OpenSSL context and is fed from inside the reader's callbacks.
public final class SHA256Hasher {
    private let context: OpaquePointer

    public init() {
        guard let ctx = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new failed: out of memory") }
        context = ctx
        EVP_DigestInit_ex(ctx, EVP_sha256(), nil)
    }

    deinit { EVP_MD_CTX_free(context) }

    public func update(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        EVP_DigestUpdate(context, bytes.baseAddress, bytes.count)
    }

    public func update(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// The digest as 64 lowercase hex digits.
    public func finalizeHex() -> String {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        EVP_DigestFinal_ex(context, &out, &length)
        return hexString(out[0..<Int(length)])
    }
}

/// One-shot SHA-256 as lowercase hex.
public func sha256Hex(_ bytes: [UInt8]) -> String {
    let hasher = SHA256Hasher()
    hasher.update(bytes)
    return hasher.finalizeHex()
}

/// One-shot SHA-256 of a string's UTF-8 bytes as lowercase hex.
public func sha256Hex(_ string: String) -> String { sha256Hex(Array(string.utf8)) }

/// HMAC-SHA256 as lowercase hex (webhook signatures).
public func hmacSHA256Hex(key: [UInt8], message: [UInt8]) -> String {
    var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
    var length: UInt32 = 0
    _ = key.withUnsafeBytes { k in
        message.withUnsafeBytes { m in
            HMAC(EVP_sha256(), k.baseAddress, Int32(k.count),
                 m.baseAddress?.assumingMemoryBound(to: UInt8.self), m.count, &out, &length)
        }
    }
    return hexString(out[0..<Int(length)])
}

private let hexDigits: [UInt8] = Array("0123456789abcdef".utf8)

func hexString<C: Collection>(_ bytes: C) -> String where C.Element == UInt8 {
    var chars: [UInt8] = []
    chars.reserveCapacity(bytes.count * 2)
    for b in bytes {
        chars.append(hexDigits[Int(b >> 4)])
        chars.append(hexDigits[Int(b & 0x0f)])
    }
    return String(decoding: chars, as: UTF8.self)
}
