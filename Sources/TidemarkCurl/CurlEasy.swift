import CCurl
import CCurlShim

/// A libcurl failure: the transfer did not complete (HTTP statuses are not errors; see `HTTPResponse.status`).
public struct CurlError: Error, Sendable, CustomStringConvertible {
    public let code: Int
    public let message: String

    /// Timeouts, refused or reset connections, DNS failures: worth retrying.
    public var isTransient: Bool {
        [Int(CURLE_COULDNT_RESOLVE_HOST.rawValue), Int(CURLE_COULDNT_CONNECT.rawValue),
         Int(CURLE_OPERATION_TIMEDOUT.rawValue), Int(CURLE_SEND_ERROR.rawValue), Int(CURLE_RECV_ERROR.rawValue),
         Int(CURLE_GOT_NOTHING.rawValue), Int(CURLE_PARTIAL_FILE.rawValue)].contains(code)
    }

    /// The body grew past the caller's limit and the transfer was stopped.
    public var isBodyTooLarge: Bool { code == Int(CURLE_WRITE_ERROR.rawValue) }

    public var description: String { "curl error \(code): \(message)" }
}

/// An HTTP request for `CurlEasy.perform`.
public struct HTTPRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(String, String)]
    public var body: [UInt8]
    public var timeoutMilliseconds: Int
    public var connectTimeoutMilliseconds: Int
    public var caFile: String?
    /// 0 disables redirects.
    public var maxRedirects: Int
    /// The transfer stops with an error once the body exceeds this.
    public var maxBodyBytes: Int

    public init(method: String = "GET", url: String, headers: [(String, String)] = [], body: [UInt8] = [],
                timeoutMilliseconds: Int = 30_000, connectTimeoutMilliseconds: Int = 10_000, caFile: String? = nil,
                maxRedirects: Int = 0, maxBodyBytes: Int = 1 << 20) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeoutMilliseconds = timeoutMilliseconds
        self.connectTimeoutMilliseconds = connectTimeoutMilliseconds
        self.caFile = caFile
        self.maxRedirects = maxRedirects
        self.maxBodyBytes = maxBodyBytes
    }
}

public struct HTTPResponse: Sendable {
    public var status: Int
    /// Response headers of the final response, names lowercased.
    public var headers: [String: String]
    public var body: [UInt8]

    public func header(_ name: String) -> String? { headers[name.lowercased()] }
}

/// Context handed to libcurl's C callbacks through `userdata`.
private final class TransferContext {
    var body: [UInt8] = []
    var headers: [String: String] = [:]
    var limit: Int
    var upload: [UInt8]
    var uploadOffset = 0

    init(limit: Int, upload: [UInt8]) {
        self.limit = limit
        self.upload = upload
    }
}

private let writeCallback: tm_curl_io_cb = { buffer, size, count, userdata in
    guard let userdata, let buffer else { return 0 }
    let context = Unmanaged<TransferContext>.fromOpaque(userdata).takeUnretainedValue()
    let n = size * count
    guard context.body.count + n <= context.limit else { return 0 } // CURLE_WRITE_ERROR
    context.body.append(contentsOf: UnsafeRawBufferPointer(start: buffer, count: n))
    return n
}

private let headerCallback: tm_curl_io_cb = { buffer, size, count, userdata in
    guard let userdata, let buffer else { return 0 }
    let context = Unmanaged<TransferContext>.fromOpaque(userdata).takeUnretainedValue()
    let n = size * count
    let line = UnsafeRawBufferPointer(start: buffer, count: n)
    if line.starts(with: "HTTP/".utf8) {
        context.headers = [:] // a new response (after a redirect or 100-continue) replaces the last one
    } else if let (name, value) = HTTPHeaderLine.parse(line) {
        context.headers[name] = value
    }
    return n
}

/// One response header line as libcurl hands it over (`Name: value\r\n`).
public enum HTTPHeaderLine {
    /// The name lowercased and the value without surrounding blanks or the line end; nil for a line
    /// without a colon (the blank line that ends the headers). Works on the bytes: this runs for every
    /// header of every delivery, and doing it with `String` methods cost more than the rest of the
    /// response handling (issue #18). Names are ASCII tokens (RFC 9110 §5.1), so ASCII lowercasing is
    /// the whole of case folding; a value's bytes are kept as they came.
    public static func parse(_ line: UnsafeRawBufferPointer) -> (name: String, value: String)? {
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return nil }
        let name = String(unsafeUninitializedCapacity: colon) { out in
            for i in 0..<colon {
                let b = line[i]
                out[i] = b >= UInt8(ascii: "A") && b <= UInt8(ascii: "Z") ? b | 0x20 : b
            }
            return colon
        }
        func blank(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0A }
        var start = colon + 1, end = line.count
        while start < end, blank(line[start]) { start += 1 }
        while end > start, blank(line[end - 1]) { end -= 1 }
        return (name, String(decoding: UnsafeRawBufferPointer(rebasing: line[start..<end]), as: UTF8.self))
    }
}

private let readCallback: tm_curl_io_cb = { buffer, size, count, userdata in
    guard let userdata, let buffer else { return Int(CURL_READFUNC_ABORT) }
    let context = Unmanaged<TransferContext>.fromOpaque(userdata).takeUnretainedValue()
    let n = min(size * count, context.upload.count - context.uploadOffset)
    if n > 0 {
        context.upload.withUnsafeBytes {
            UnsafeMutableRawPointer(buffer).copyMemory(from: $0.baseAddress! + context.uploadOffset, byteCount: n)
        }
        context.uploadOffset += n
    }
    return n
}

/// One libcurl easy handle. Not thread-safe: use it from one serial queue. Reusing it keeps connections
/// (and TLS sessions) alive between requests, which is 12× cheaper for HTTPS (STACK-NOTES §1).
public final class CurlEasy {
    private let handle: UnsafeMutableRawPointer
    private var errorBuffer = [CChar](repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)

    /// Loads libcurl on first use (CCurlShim); throws when it cannot be loaded, so a delivery records
    /// why and is retried, as for any other transfer error.
    public init() throws(CurlError) {
        guard CurlLibrary.initialise() else { throw CurlError(code: -1, message: CurlLibrary.loadError) }
        guard let h = tm_curl_easy_init() else { throw CurlError(code: Int(CURLE_OUT_OF_MEMORY.rawValue), message: "curl_easy_init failed") }
        handle = h
    }

    deinit { tm_curl_easy_cleanup(handle) }

    private func set(_ option: CURLoption, _ value: Int) { _ = tm_easy_setopt_long(handle, option, value) }
    private func set(_ option: CURLoption, _ value: String) { _ = value.withCString { tm_easy_setopt_ptr(handle, option, $0) } }

    /// Performs one HTTP(S) request. TLS peers and host names are always verified; `caFile` adds trust.
    public func perform(_ request: HTTPRequest) throws(CurlError) -> HTTPResponse {
        tm_curl_easy_reset(handle) // options do not leak between requests; connections stay cached
        set(CURLOPT_URL, request.url)
        set(CURLOPT_NOSIGNAL, 1)
        set(CURLOPT_TIMEOUT_MS, request.timeoutMilliseconds)
        set(CURLOPT_CONNECTTIMEOUT_MS, request.connectTimeoutMilliseconds)
        set(CURLOPT_SSL_VERIFYPEER, 1)
        set(CURLOPT_SSL_VERIFYHOST, 2)
        set(CURLOPT_PROTOCOLS_STR, "http,https")
        if let caFile = request.caFile { set(CURLOPT_CAINFO, caFile) }
        if request.maxRedirects > 0 {
            set(CURLOPT_FOLLOWLOCATION, 1)
            set(CURLOPT_MAXREDIRS, request.maxRedirects)
            set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https")
        }
        var headerList: UnsafeMutablePointer<curl_slist>? = nil
        for (name, value) in request.headers { headerList = tm_curl_slist_append(headerList, "\(name): \(value)") }
        headerList = tm_curl_slist_append(headerList, "Expect:") // no 100-continue round trip
        defer { tm_curl_slist_free_all(headerList) }
        _ = tm_easy_setopt_ptr(handle, CURLOPT_HTTPHEADER, headerList)

        // The body goes as POSTFIELDS below; the context's `upload` feeds SMTP's read callback only.
        let context = TransferContext(limit: request.maxBodyBytes, upload: [])
        // A POST body is handed over whole, not through the read callback: libcurl then sends a small
        // request (every alert webhook) in one write with its headers, one TCP segment instead of two,
        // which halves the loopback and receiver work per delivery (measured with `perf` in a 1,000-alert
        // burst, where sending was a fifth of the delivery threads' time). The copy lives until the
        // transfer ends.
        var postBody: UnsafeMutableRawBufferPointer?
        defer { postBody?.deallocate() }
        switch request.method {
        case "GET": set(CURLOPT_HTTPGET, 1)
        case "POST":
            set(CURLOPT_POST, 1)
            let copy = UnsafeMutableRawBufferPointer.allocate(byteCount: max(1, request.body.count), alignment: 1)
            request.body.withUnsafeBytes { copy.copyMemory(from: $0) }
            postBody = copy
            _ = tm_easy_setopt_off_t(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.count))
            _ = tm_easy_setopt_ptr(handle, CURLOPT_POSTFIELDS, copy.baseAddress)
        default:
            set(CURLOPT_CUSTOMREQUEST, request.method)
        }
        _ = tm_easy_setopt_io_cb(handle, CURLOPT_WRITEFUNCTION, writeCallback)
        _ = tm_easy_setopt_io_cb(handle, CURLOPT_HEADERFUNCTION, headerCallback)
        try transfer(context)
        var status = 0
        _ = tm_easy_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return HTTPResponse(status: status, headers: context.headers, body: context.body)
    }

    /// Runs the configured transfer with `context` behind every callback, turning a libcurl failure into
    /// `CurlError` with the error buffer's detail.
    private func transfer(_ context: TransferContext) throws(CurlError) {
        let code: CURLcode = errorBuffer.withUnsafeMutableBufferPointer { eb in
            eb[0] = 0
            _ = tm_easy_setopt_ptr(handle, CURLOPT_ERRORBUFFER, eb.baseAddress)
            let raw = Unmanaged.passUnretained(context).toOpaque()
            _ = tm_easy_setopt_ptr(handle, CURLOPT_WRITEDATA, raw)
            _ = tm_easy_setopt_ptr(handle, CURLOPT_HEADERDATA, raw)
            _ = tm_easy_setopt_ptr(handle, CURLOPT_READDATA, raw)
            let rc = withExtendedLifetime(context) { tm_curl_easy_perform(handle) }
            _ = tm_easy_setopt_ptr(handle, CURLOPT_ERRORBUFFER, nil)
            return rc
        }
        guard code == CURLE_OK else {
            let detail = String(decoding: errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw CurlError(code: Int(code.rawValue),
                            message: detail.isEmpty ? String(cString: tm_curl_easy_strerror(code)) : detail)
        }
    }

    /// A non-HTTP transfer: `configure` sets the options, the recipients list and upload body are kept
    /// alive for the duration of `curl_easy_perform`.
    func performRaw(recipients: [String], upload: [UInt8],
                    _ configure: (UnsafeMutableRawPointer, (CURLoption, Int) -> Void, (CURLoption, String) -> Void) -> Void) throws(CurlError) {
        tm_curl_easy_reset(handle)
        // Option strings are copied by libcurl (since 7.17), so temporary C strings are fine.
        configure(handle, { self.set($0, $1) }, { self.set($0, $1) })
        var list: UnsafeMutablePointer<curl_slist>? = nil
        for r in recipients { list = tm_curl_slist_append(list, r) }
        defer { tm_curl_slist_free_all(list) }
        if list != nil { _ = tm_easy_setopt_ptr(handle, CURLOPT_MAIL_RCPT, list) }
        let context = TransferContext(limit: 1 << 20, upload: upload)
        _ = tm_easy_setopt_io_cb(handle, CURLOPT_READFUNCTION, readCallback)
        _ = tm_easy_setopt_io_cb(handle, CURLOPT_WRITEFUNCTION, writeCallback)
        try transfer(context)
    }
}

/// How an SMTP connection must be secured (`starttls:` in the config).
public enum MailSecurity: Sendable {
    /// STARTTLS is required (or implicit TLS with `smtps://`); fail if the server does not offer it.
    case required
    /// STARTTLS when offered, else plaintext.
    case opportunistic
    /// No TLS (loopback, or `allow_plaintext`).
    case off
}

/// One message to send by SMTP through libcurl.
public struct MailRequest: Sendable {
    public var url: String
    public var security: MailSecurity
    public var from: String
    public var recipients: [String]
    /// The complete RFC 5322 message, CRLF line endings.
    public var message: [UInt8]
    public var username: String?
    public var password: String?
    public var caFile: String?
    public var timeoutMilliseconds: Int

    public init(url: String, security: MailSecurity, from: String, recipients: [String], message: [UInt8],
                username: String? = nil, password: String? = nil, caFile: String? = nil, timeoutMilliseconds: Int = 30_000) {
        self.url = url
        self.security = security
        self.from = from
        self.recipients = recipients
        self.message = message
        self.username = username
        self.password = password
        self.caFile = caFile
        self.timeoutMilliseconds = timeoutMilliseconds
    }
}

extension CurlEasy {
    /// Sends one message. Certificates and host names are verified; SMTP replies that refuse the
    /// message surface as `CurlError` (libcurl maps them to CURLE_SEND_ERROR, CURLE_LOGIN_DENIED, …).
    public func send(_ mail: MailRequest) throws(CurlError) {
        try performRaw(recipients: mail.recipients.map { "<\($0)>" }, upload: mail.message) { handle, setLong, setString in
            setString(CURLOPT_URL, mail.url)
            setLong(CURLOPT_NOSIGNAL, 1)
            setLong(CURLOPT_TIMEOUT_MS, mail.timeoutMilliseconds)
            setLong(CURLOPT_CONNECTTIMEOUT_MS, min(mail.timeoutMilliseconds, 10_000))
            setLong(CURLOPT_SSL_VERIFYPEER, 1)
            setLong(CURLOPT_SSL_VERIFYHOST, 2)
            setString(CURLOPT_PROTOCOLS_STR, "smtp,smtps")
            switch mail.security {
            case .required: setLong(CURLOPT_USE_SSL, Int(CURLUSESSL_ALL.rawValue))
            case .opportunistic: setLong(CURLOPT_USE_SSL, Int(CURLUSESSL_TRY.rawValue))
            case .off: setLong(CURLOPT_USE_SSL, Int(CURLUSESSL_NONE.rawValue))
            }
            if let caFile = mail.caFile { setString(CURLOPT_CAINFO, caFile) }
            if let u = mail.username { setString(CURLOPT_USERNAME, u) }
            if let p = mail.password { setString(CURLOPT_PASSWORD, p) }
            setString(CURLOPT_MAIL_FROM, "<\(mail.from)>")
            setLong(CURLOPT_UPLOAD, 1)
            _ = tm_easy_setopt_off_t(handle, CURLOPT_INFILESIZE_LARGE, curl_off_t(mail.message.count))
        }
    }
}
