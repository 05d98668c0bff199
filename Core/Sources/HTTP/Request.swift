// HTTP/1.1 requests as the guest's web server reads them (RFC 9112), and what it answers
// to a request it cannot serve. Only what a static server needs: GET and HEAD, the
// request line, header fields, persistent connections (`Connection`), and no bodies.
//
// A request is untrusted (anyone who reaches port 80 writes it): every byte is read
// through bounds checks, the head has a size limit and a field-count limit, and a
// request that breaks a rule gets the status that says which (`HTTPError.status`),
// never a read past the bytes received.

/// Why a request cannot be served; each is answered with its status and the connection closes.
public enum HTTPError: Error, Equatable, Sendable {
    /// 400: not HTTP (binary, a malformed line or field, a target not starting with `/`,
    /// a 1.1 request without exactly one `Host`, a bad `Content-Length`).
    case badRequest
    /// 413: a body (`Content-Length` above 0, or `Transfer-Encoding`): GET and HEAD have none.
    case contentTooLarge
    /// 431: the request line and header fields together pass `HTTPRequestParser.headLimit`
    /// bytes, or more than `fieldLimit` fields.
    case headTooLarge
    /// 501: a method other than GET and HEAD.
    case notImplemented
    /// 505: a version other than HTTP/1.0 and HTTP/1.1.
    case versionNotSupported

    public var status: HTTPStatus {
        switch self {
        case .badRequest: return .badRequest
        case .contentTooLarge: return .contentTooLarge
        case .headTooLarge: return .headTooLarge
        case .notImplemented: return .notImplemented
        case .versionNotSupported: return .versionNotSupported
        }
    }
}

public enum HTTPMethod: Equatable, Sendable {
    case get, head
}

/// One request, read whole (it has no body).
public struct HTTPRequest: Equatable, Sendable {
    public var method: HTTPMethod
    /// The target's path, without its query (`/index.html` of `/index.html?x=1`).
    public var path: String
    /// 0 for HTTP/1.0, 1 for HTTP/1.1.
    public var minorVersion: Int
    /// Whether the connection stays open after the answer: HTTP/1.1 unless `Connection:
    /// close`, HTTP/1.0 only with `Connection: keep-alive`.
    public var keepAlive: Bool
    /// The `Host` field's value, if any.
    public var host: String?

    public init(method: HTTPMethod, path: String, minorVersion: Int, keepAlive: Bool, host: String?) {
        self.method = method
        self.path = path
        self.minorVersion = minorVersion
        self.keepAlive = keepAlive
        self.host = host
    }
}

/// Reads requests from the bytes of one connection as they arrive.
public enum HTTPRequestParser {
    /// The most bytes a request's head (request line, fields, the empty line) may take.
    public static let headLimit = 8192
    /// The most header fields a request may have.
    public static let fieldLimit = 64

    /// What the start of `bytes` holds.
    public enum Outcome: Equatable, Sendable {
        /// Not a whole head yet, and nothing wrong so far: wait for more bytes.
        case incomplete
        /// One request, taking the first `length` bytes.
        case request(HTTPRequest, length: Int)
    }

    /// Reads the request at the start of `bytes` (a connection's bytes not yet consumed).
    public static func parse(_ bytes: ArraySlice<UInt8>) throws(HTTPError) -> Outcome {
        var start = bytes.startIndex
        // RFC 9112 §2.2: empty lines before a request line are ignored.
        while start < bytes.endIndex, bytes[start] == cr || bytes[start] == lf { start += 1 }
        guard let end = headEnd(bytes, from: start) else {
            if bytes.endIndex - start >= headLimit { throw .headTooLarge }
            // Binary from the first byte is refused at once, not after 8 KiB.
            try checkPrefix(bytes[start...])
            return .incomplete
        }
        guard end.body - start <= headLimit else { throw .headTooLarge }
        let request = try parseHead(bytes[start..<end.head])
        return .request(request, length: end.body - bytes.startIndex)
    }

    static let cr: UInt8 = 13, lf: UInt8 = 10, space: UInt8 = 32, tab: UInt8 = 9, colon: UInt8 = 58

    /// Where the head ends: the index after its last field's line feed (where the empty
    /// line starts), and after the empty line. Lines end in CRLF or a bare LF (RFC 9112 §2.2 lets a server take those).
    static func headEnd(_ bytes: ArraySlice<UInt8>, from start: Int) -> (head: Int, body: Int)? {
        var index = start
        while index < bytes.endIndex {
            if bytes[index] == lf {
                let next = index + 1
                if next < bytes.endIndex, bytes[next] == lf { return (next, next + 1) }
                if next + 1 < bytes.endIndex, bytes[next] == cr, bytes[next + 1] == lf { return (next, next + 2) }
            }
            index += 1
        }
        return nil
    }

    /// The first line so far must look like the start of a request line: a method of
    /// token characters, then (once the space came) visible characters.
    static func checkPrefix(_ bytes: ArraySlice<UInt8>) throws(HTTPError) {
        var inMethod = true
        for byte in bytes {
            if byte == cr || byte == lf { return }
            if inMethod {
                if byte == space { inMethod = false; continue }
                guard isToken(byte) else { throw .badRequest }
            } else {
                guard byte == space || isVisible(byte) else { throw .badRequest }
            }
        }
    }

    /// Splits the head (without its empty line) into lines, without their CR.
    static func lines(_ head: ArraySlice<UInt8>) -> [ArraySlice<UInt8>] {
        var lines: [ArraySlice<UInt8>] = []
        var lineStart = head.startIndex
        for index in head.indices where head[index] == lf {
            var end = index
            if end > lineStart, head[end - 1] == cr { end -= 1 }
            lines.append(head[lineStart..<end])
            lineStart = index + 1
        }
        if lineStart < head.endIndex { lines.append(head[lineStart...]) }
        return lines
    }

    static func parseHead(_ head: ArraySlice<UInt8>) throws(HTTPError) -> HTTPRequest {
        let lines = lines(head)
        guard let requestLine = lines.first else { throw .badRequest }
        guard lines.count - 1 <= fieldLimit else { throw .headTooLarge }
        // method SP target SP version, single spaces.
        let parts = requestLine.split(separator: space, omittingEmptySubsequences: false)
        guard parts.count == 3, !parts[0].isEmpty, !parts[1].isEmpty else { throw .badRequest }
        guard parts[0].allSatisfy(isToken), parts[1].allSatisfy(isVisible) else { throw .badRequest }
        let minor = try version(parts[2])
        let method: HTTPMethod
        if parts[0].elementsEqual("GET".utf8) {
            method = .get
        } else if parts[0].elementsEqual("HEAD".utf8) {
            method = .head
        } else {
            throw .notImplemented
        }
        let target = parts[1]
        guard target.first == UInt8(ascii: "/") else { throw .badRequest }
        let pathEnd = target.firstIndex(where: { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }) ?? target.endIndex
        let path = String(decoding: target[target.startIndex..<pathEnd], as: UTF8.self)

        var host: String? = nil, hosts = 0
        var close = false, keepAliveAsked = false
        for line in lines.dropFirst() {
            let (name, value) = try field(line)
            if equalsIgnoringCase(name, "host") {
                hosts += 1
                host = String(decoding: value, as: UTF8.self)
            } else if equalsIgnoringCase(name, "content-length") {
                guard !value.isEmpty, value.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { throw .badRequest }
                if value.contains(where: { $0 != 48 }) { throw .contentTooLarge }
            } else if equalsIgnoringCase(name, "transfer-encoding") {
                throw .contentTooLarge
            } else if equalsIgnoringCase(name, "connection") {
                for option in value.split(separator: UInt8(ascii: ",")) {
                    let token = trimmed(option)
                    if equalsIgnoringCase(token, "close") { close = true }
                    if equalsIgnoringCase(token, "keep-alive") { keepAliveAsked = true }
                }
            }
        }
        // RFC 9112 §3.2: a 1.1 request without exactly one Host gets 400.
        if minor == 1, hosts != 1 { throw .badRequest }
        if hosts > 1 { throw .badRequest }
        let keepAlive = !close && (minor == 1 || keepAliveAsked)
        return HTTPRequest(method: method, path: path, minorVersion: minor, keepAlive: keepAlive, host: host)
    }

    /// `HTTP/1.0` → 0, `HTTP/1.1` → 1; another `HTTP/d.d` is not supported, anything else is not HTTP.
    static func version(_ text: ArraySlice<UInt8>) throws(HTTPError) -> Int {
        let bytes = Array(text)
        guard bytes.count == 8, bytes[0..<5].elementsEqual("HTTP/".utf8), bytes[6] == UInt8(ascii: "."),
              isDigit(bytes[5]), isDigit(bytes[7]) else { throw .badRequest }
        guard bytes[5] == UInt8(ascii: "1"), bytes[7] == UInt8(ascii: "0") || bytes[7] == UInt8(ascii: "1") else {
            throw .versionNotSupported
        }
        return Int(bytes[7] - UInt8(ascii: "0"))
    }

    /// `name: value` with optional white space around the value; no space before the colon
    /// (RFC 9112 §5.1), no folded lines, no control characters in the value.
    static func field(_ line: ArraySlice<UInt8>) throws(HTTPError) -> (name: ArraySlice<UInt8>, value: ArraySlice<UInt8>) {
        guard let colonIndex = line.firstIndex(of: colon) else { throw .badRequest }
        let name = line[line.startIndex..<colonIndex]
        guard !name.isEmpty, name.allSatisfy(isToken) else { throw .badRequest }
        let value = trimmed(line[(colonIndex + 1)...])
        guard value.allSatisfy({ $0 == tab || $0 == space || isVisible($0) || $0 >= 0x80 }) else { throw .badRequest }
        return (name, value)
    }

    static func trimmed(_ bytes: ArraySlice<UInt8>) -> ArraySlice<UInt8> {
        var start = bytes.startIndex, end = bytes.endIndex
        while start < end, bytes[start] == space || bytes[start] == tab { start += 1 }
        while end > start, bytes[end - 1] == space || bytes[end - 1] == tab { end -= 1 }
        return bytes[start..<end]
    }

    static func equalsIgnoringCase(_ bytes: ArraySlice<UInt8>, _ lowercase: StaticString) -> Bool {
        guard bytes.count == lowercase.utf8CodeUnitCount else { return false }
        var index = 0
        for byte in bytes {
            let lower = byte >= 65 && byte <= 90 ? byte + 32 : byte
            guard lower == lowercase.utf8Start[index] else { return false }
            index += 1
        }
        return true
    }

    static func isDigit(_ byte: UInt8) -> Bool { byte >= 48 && byte <= 57 }
    static func isVisible(_ byte: UInt8) -> Bool { byte > 32 && byte < 127 }

    /// RFC 9110 §5.6.2's tchar.
    static func isToken(_ byte: UInt8) -> Bool {
        if byte >= 48 && byte <= 57 || byte >= 65 && byte <= 90 || byte >= 97 && byte <= 122 { return true }
        switch byte {
        case UInt8(ascii: "!"), UInt8(ascii: "#"), UInt8(ascii: "$"), UInt8(ascii: "%"), UInt8(ascii: "&"), UInt8(ascii: "'"),
             UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "^"), UInt8(ascii: "_"),
             UInt8(ascii: "`"), UInt8(ascii: "|"), UInt8(ascii: "~"):
            return true
        default:
            return false
        }
    }
}
