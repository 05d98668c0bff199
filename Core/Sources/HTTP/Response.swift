// What the guest's web server answers: a status line and the fields a client needs to
// find the end of the body and whether the connection stays open.

public enum HTTPStatus: Int, Equatable, Sendable {
    case ok = 200
    case badRequest = 400
    case notFound = 404
    case requestTimeout = 408
    case contentTooLarge = 413
    case headTooLarge = 431
    case notImplemented = 501
    case versionNotSupported = 505

    public var reason: String {
        switch self {
        case .ok: return "OK"
        case .badRequest: return "Bad Request"
        case .notFound: return "Not Found"
        case .requestTimeout: return "Request Timeout"
        case .contentTooLarge: return "Content Too Large"
        case .headTooLarge: return "Request Header Fields Too Large"
        case .notImplemented: return "Not Implemented"
        case .versionNotSupported: return "HTTP Version Not Supported"
        }
    }
}

public enum HTTPResponse {
    /// The head of an answer whose body is `contentLength` bytes (sent or, for HEAD, not).
    public static func head(_ status: HTTPStatus, contentLength: Int, contentType: String, keepAlive: Bool) -> [UInt8] {
        var text = "HTTP/1.1 \(status.rawValue) \(status.reason)\r\n"
        text += "Server: swordfish\r\n"
        text += "Content-Type: \(contentType)\r\n"
        text += "Content-Length: \(contentLength)\r\n"
        text += keepAlive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n"
        return Array(text.utf8)
    }

    /// The whole answer to a request that failed: its status and a one-line body (none
    /// for HEAD). The connection closes after it unless `keepAlive` (a 404): what follows
    /// a broken request cannot be trusted.
    public static func error(_ status: HTTPStatus, head onlyHead: Bool = false, keepAlive: Bool = false) -> [UInt8] {
        let body = Array("\(status.rawValue) \(status.reason)\n".utf8)
        return head(status, contentLength: body.count, contentType: "text/plain", keepAlive: keepAlive) + (onlyHead ? [] : body)
    }

    /// The media type of a file, by its extension.
    public static func contentType(ofPath path: String) -> String {
        let bytes = Array(path.utf8)
        guard let dot = bytes.lastIndex(of: UInt8(ascii: ".")),
              !bytes[dot...].contains(UInt8(ascii: "/")) else { return "application/octet-stream" }
        switch String(decoding: bytes[(dot + 1)...], as: UTF8.self) {
        case "html", "htm": return "text/html; charset=utf-8"
        case "txt": return "text/plain; charset=utf-8"
        case "css": return "text/css"
        case "js": return "text/javascript"
        case "json": return "application/json"
        case "svg": return "image/svg+xml"
        case "png": return "image/png"
        case "jpg", "jpeg": return "image/jpeg"
        default: return "application/octet-stream"
        }
    }
}
