// httpd: a static HTTP/1.1 server on lwIP's TCP (issue 13, point 5). It serves the files
// of `HTTPSite` (read from the boot image at start, or a pattern) on one port: GET and HEAD, persistent connections, requests read one by
// one as they arrive (pipelined ones too), each checked by Core's `HTTPRequestParser`.
// A request that breaks a rule gets its status (400, 413, 431, 501, 505) and its
// connection closes; a missing file gets 404 and the connection stays. A connection
// that sends half a request and stops, or idles, is closed after `idleCycles`, so it
// cannot hold one of the server's connections for ever. Every connection is its own
// state; one going wrong touches no other.
//
// The driver that carries the frames calls `start`, then, in its loop, lwIP (frames in,
// timers) and `sweep` (the timeouts). lwIP reports what happens on each connection
// through `event`, which runs inside those calls: no threads, no locks.
import SwordfishUser
import UserRuntimeC
import LwIP
import HTTP

public enum HTTPServer {
    /// How long a connection may go without a byte in or out: about 6 s at 2.7 GHz.
    public static var idleCycles: UInt64 = 1 << 34
    /// The most bytes of requests a connection may have waiting while its answers go out.
    static let inputLimit = 4 * HTTPRequestParser.headLimit

    /// One file: a small one in memory that never moves (lwIP sends straight from it);
    /// a large one (the 1 MiB file) made piece by piece as it is sent, since a program's
    /// heap holds 2 MiB.
    struct File {
        var path: String
        var size: Int
        var bytes: UnsafeRawBufferPointer?
        var contentType: String
    }

    /// Files up to this size are kept in memory.
    static let storedLimit = 64 * 1024

    /// Something still to send on a connection: a head (copied into lwIP) or part of a file.
    enum Piece {
        case head([UInt8])
        case body(file: Int, offset: Int)
    }

    struct Connection {
        var input: [UInt8] = []
        var output: [Piece] = []
        /// Close once `output` is sent (a request without keep-alive, an error, the peer's FIN).
        var closeAfterSending = false
        var peerClosed = false
        /// The answer is out and the FIN sent: what still comes is read and dropped until
        /// the peer closes too (or the timeout), so that its unread bytes do not make
        /// the close a reset that could destroy the answer before the client reads it.
        var draining = false
        var lastActivity: UInt64
    }

    static var files: [File] = []
    /// Where a large file's next piece is made, before lwIP copies it.
    static var chunk = [UInt8](repeating: 0, count: 8 * 1460)
    static var connections: [Connection?] = []

    // What `status` prints.
    public static var accepted = 0, requests = 0, notFound = 0, refused = 0, timedOut = 0, reset = 0

    /// Reads the boot image's files of the site (a large pattern is made as it is sent)
    /// and listens on `port`; false if a file is missing or too large, or lwIP refused
    /// the port.
    public static func start(port: UInt16) -> Bool {
        for file in HTTPSite.files {
            var contents: [UInt8]? = nil, size = 0
            switch file.source {
            case .bootFile(let name):
                do throws(MonitorStatus) { contents = try BootFiles.read(name) } catch {
                    print("httpd: the boot image's \(name): \(error)")
                    return false
                }
                size = contents!.count
                guard size <= storedLimit else {
                    print("httpd: the boot image's \(name) has \(size) bytes, more than the \(storedLimit) kept in memory")
                    return false
                }
            case .pattern(let bytes):
                size = bytes
                if size <= storedLimit { contents = HTTPSite.pattern(bytes: size) }
            }
            var stored: UnsafeRawBufferPointer? = nil
            if let contents {
                let memory = UnsafeMutableRawBufferPointer.allocate(byteCount: max(contents.count, 1), alignment: 64)
                contents.withUnsafeBytes { memory.copyMemory(from: $0) }
                stored = UnsafeRawBufferPointer(rebasing: memory[0..<contents.count])
            }
            files.append(File(path: file.path, size: size, bytes: stored, contentType: HTTPResponse.contentType(ofPath: file.path)))
        }
        connections = Array(repeating: nil, count: Int(SWORDFISH_TCP_CONNECTIONS))
        let handler: swordfish_tcp_handler = { connection, kind, data, length in
            HTTPServer.event(Int(connection), kind, data, length)
        }
        return swordfish_tcp_listen(port, handler) == 0
    }

    public static var openConnections: Int { Int(swordfish_tcp_open_count()) }

    /// One line of counts.
    public static var status: String {
        "\(accepted) connections, \(openConnections) open; \(requests) requests, \(notFound) not found, \(refused) refused; \(timedOut) timed out, \(reset) reset"
    }

    static func event(_ id: Int, _ kind: Int32, _ data: UnsafeRawPointer?, _ length: Int) {
        guard id >= 0, id < connections.count else { return }
        switch kind {
        case Int32(SWORDFISH_TCP_ACCEPTED.rawValue):
            accepted += 1
            connections[id] = Connection(lastActivity: user_timestamp())
        case Int32(SWORDFISH_TCP_RECEIVED.rawValue):
            guard connections[id] != nil, let data else { return }
            connections[id]!.lastActivity = user_timestamp()
            // After an error, or once closing, what the client sends is not read.
            guard !connections[id]!.closeAfterSending else { return }
            connections[id]!.input.append(contentsOf: UnsafeRawBufferPointer(start: data, count: length))
            if connections[id]!.input.count > inputLimit {
                refuse(id, .headTooLarge)
            }
            pump(id)
        case Int32(SWORDFISH_TCP_PEER_CLOSED.rawValue):
            guard connections[id] != nil else { return }
            connections[id]!.peerClosed = true
            pump(id)
        case Int32(SWORDFISH_TCP_SENT.rawValue):
            guard connections[id] != nil else { return }
            connections[id]!.lastActivity = user_timestamp()
            pump(id)
        case Int32(SWORDFISH_TCP_GONE.rawValue):
            if connections[id] != nil { reset += 1 }
            connections[id] = nil
        default:
            break
        }
    }

    /// Answers `error` and closes after it; what is waiting to be read is dropped.
    static func refuse(_ id: Int, _ status: HTTPStatus) {
        refused += 1
        connections[id]!.input = []
        connections[id]!.output.append(.head(HTTPResponse.error(status)))
        connections[id]!.closeAfterSending = true
    }

    /// Sends what fits, reads the next request when the last answer is out, closes when done.
    static func pump(_ id: Int) {
        while connections[id] != nil {
            if let piece = connections[id]!.output.first {
                guard send(id, piece) else { break }
                continue
            }
            if connections[id]!.peerClosed {
                swordfish_tcp_close(UInt32(id))
                connections[id] = nil
                return
            }
            if connections[id]!.closeAfterSending {
                if !connections[id]!.draining {
                    connections[id]!.draining = true
                    swordfish_tcp_shutdown(UInt32(id))
                }
                return
            }
            guard readRequest(id) else { break }
        }
        swordfish_tcp_flush(UInt32(id))
    }

    /// Sends as much of `piece` (the first of the output) as lwIP takes; true if all of it went.
    static func send(_ id: Int, _ piece: Piece) -> Bool {
        let room = swordfish_tcp_room(UInt32(id))
        let more = connections[id]!.output.count > 1 ? Int32(1) : 0
        switch piece {
        case .head(let bytes):
            guard room >= bytes.count else { return false }
            let ok = bytes.withUnsafeBytes { swordfish_tcp_write(UInt32(id), $0.baseAddress, $0.count, 1, more) == 0 }
            guard ok else { return false }
            connections[id]!.output.removeFirst()
            return true
        case .body(let index, let offset):
            let file = files[index]
            let count = min(room, file.size - offset, file.bytes == nil ? chunk.count : 0xFFFF)
            if count > 0 {
                let flag = offset + count == file.size ? more : 1
                if let bytes = file.bytes {
                    guard swordfish_tcp_write(UInt32(id), bytes.baseAddress! + offset, count, 0, flag) == 0 else { return false }
                } else {
                    for index in 0..<count { chunk[index] = HTTPSite.patternByte(offset + index) }
                    let written = chunk.withUnsafeBytes { swordfish_tcp_write(UInt32(id), $0.baseAddress, count, 1, flag) }
                    guard written == 0 else { return false }
                }
            }
            if offset + count == file.size {
                connections[id]!.output.removeFirst()
                return true
            }
            connections[id]!.output[0] = .body(file: index, offset: offset + count)
            return false
        }
    }

    /// Reads one request from the input and queues its answer; false if no whole request is there yet.
    static func readRequest(_ id: Int) -> Bool {
        let outcome: HTTPRequestParser.Outcome
        do throws(HTTPError) {
            outcome = try HTTPRequestParser.parse(connections[id]!.input[...])
        } catch {
            refuse(id, error.status)
            return true
        }
        guard case .request(let request, let length) = outcome else { return false }
        connections[id]!.input.removeFirst(length)
        requests += 1
        let keepAlive = request.keepAlive
        connections[id]!.closeAfterSending = !keepAlive
        guard let path = HTTPSite.file(at: request.path), let index = files.firstIndex(where: { $0.path == path }) else {
            notFound += 1
            // A 404 keeps the connection as the request asked (the answer says so).
            connections[id]!.output.append(.head(HTTPResponse.error(.notFound, head: request.method == .head, keepAlive: keepAlive)))
            return true
        }
        let file = files[index]
        connections[id]!.output.append(.head(HTTPResponse.head(.ok, contentLength: file.size, contentType: file.contentType,
                                                               keepAlive: keepAlive)))
        if request.method == .get, file.size > 0 { connections[id]!.output.append(.body(file: index, offset: 0)) }
        return true
    }

    /// Closes every connection idle longer than `idleCycles`: one in the middle of a
    /// request gets 408 first; one whose peer stopped reading is reset.
    public static func sweep(now: UInt64) {
        for id in 0..<connections.count {
            guard let connection = connections[id], now &- connection.lastActivity > idleCycles else { continue }
            timedOut += 1
            if connection.draining {
                swordfish_tcp_close(UInt32(id))
                connections[id] = nil
            } else if !connection.output.isEmpty || connection.closeAfterSending {
                swordfish_tcp_abort(UInt32(id))
                connections[id] = nil
            } else if !connection.input.isEmpty {
                connections[id]!.lastActivity = now
                refuse(id, .requestTimeout)
                refused -= 1
                pump(id)
            } else {
                swordfish_tcp_close(UInt32(id))
                connections[id] = nil
            }
        }
    }
}
