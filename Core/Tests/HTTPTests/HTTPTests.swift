import XCTest
@testable import HTTP

final class HTTPRequestParserTests: XCTestCase {
    func parse(_ text: String) throws(HTTPError) -> HTTPRequestParser.Outcome {
        try HTTPRequestParser.parse(Array(text.utf8)[...])
    }

    func request(_ text: String) throws -> HTTPRequest {
        guard case .request(let request, let length) = try parse(text) else {
            XCTFail("no whole request in \(text.debugDescription)")
            throw HTTPError.badRequest
        }
        XCTAssertEqual(length, text.utf8.count)
        return request
    }

    func assertRefused(_ text: String, _ expected: HTTPError, file: StaticString = #filePath, line: UInt = #line) {
        assertRefused(Array(text.utf8), expected, file: file, line: line)
    }

    func assertRefused(_ bytes: [UInt8], _ expected: HTTPError, file: StaticString = #filePath, line: UInt = #line) {
        do {
            let outcome = try HTTPRequestParser.parse(bytes[...])
            XCTFail("accepted (\(outcome)), expected \(expected)", file: file, line: line)
        } catch {
            XCTAssertEqual(error, expected, file: file, line: line)
        }
    }

    func testAGetIsRead() throws {
        let got = try request("GET /index.html HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n")
        XCTAssertEqual(got, HTTPRequest(method: .get, path: "/index.html", minorVersion: 1, keepAlive: true, host: "localhost"))
    }

    func testAHeadIsRead() throws {
        XCTAssertEqual(try request("HEAD / HTTP/1.1\r\nhOsT:  x \r\n\r\n").method, .head)
        XCTAssertEqual(try request("HEAD / HTTP/1.1\r\nhOsT:  x \r\n\r\n").host, "x")
    }

    func testTheQueryIsNotPartOfThePath() throws {
        XCTAssertEqual(try request("GET /a.html?b=c HTTP/1.1\r\nHost: h\r\n\r\n").path, "/a.html")
    }

    func testKeepAliveFollowsTheVersionAndConnection() throws {
        XCTAssertTrue(try request("GET / HTTP/1.1\r\nHost: h\r\n\r\n").keepAlive)
        XCTAssertFalse(try request("GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n").keepAlive)
        XCTAssertFalse(try request("GET / HTTP/1.1\r\nHost: h\r\nConnection: TE, Close\r\n\r\n").keepAlive)
        XCTAssertFalse(try request("GET / HTTP/1.0\r\n\r\n").keepAlive)
        XCTAssertTrue(try request("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keepAlive)
    }

    func testBareLineFeedsAndLeadingEmptyLinesAreTaken() throws {
        XCTAssertEqual(try request("\r\n\nGET / HTTP/1.1\nHost: h\n\n").path, "/")
    }

    func testAPartialHeadWaitsForMore() throws {
        let whole = "GET /4k.bin HTTP/1.1\r\nHost: h\r\n\r\n"
        let bytes = Array(whole.utf8)
        for cut in 0..<bytes.count {
            XCTAssertEqual(try HTTPRequestParser.parse(bytes[..<cut]), .incomplete, "cut at \(cut)")
        }
    }

    func testPipelinedRequestsAreReadOneByOne() throws {
        let one = "GET /a HTTP/1.1\r\nHost: h\r\n\r\n", two = "HEAD /b HTTP/1.1\r\nHost: h\r\n\r\n"
        let bytes = Array((one + two).utf8)
        guard case .request(let first, let length) = try HTTPRequestParser.parse(bytes[...]) else { return XCTFail() }
        XCTAssertEqual(first.path, "/a")
        XCTAssertEqual(length, one.utf8.count)
        guard case .request(let second, let rest) = try HTTPRequestParser.parse(bytes[length...]) else { return XCTFail() }
        XCTAssertEqual(second.path, "/b")
        XCTAssertEqual(second.method, .head)
        XCTAssertEqual(rest, two.utf8.count)
    }

    // 400

    func testBinaryIsABadRequestAtOnce() {
        assertRefused([0x16, 0x03, 0x01, 0x00, 0xA5], .badRequest)            // a TLS hello
        assertRefused([0x00], .badRequest)
        assertRefused("GET /\u{1}x", .badRequest)
    }

    func testAMissingHostIsABadRequest() {
        assertRefused("GET / HTTP/1.1\r\n\r\n", .badRequest)
        assertRefused("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", .badRequest)
        assertRefused("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", .badRequest)
    }

    func testMalformedRequestLinesAreBadRequests() {
        for line in ["GET  / HTTP/1.1", "GET / HTTP/1.1 x", "GET /", "GET index.html HTTP/1.1", "GET / http/1.1",
                     "GET / HTTP/1.x", "GET / HTTP/11", " GET / HTTP/1.1", "G(T / HTTP/1.1"] {
            assertRefused(line + "\r\nHost: h\r\n\r\n", .badRequest)
        }
    }

    func testMalformedFieldsAreBadRequests() {
        for field in ["Host : h", "NoColon", ": value", "Bad\u{7F}Name: v", "X: a\u{1}b", " folded: value", "Content-Length: -1",
                      "Content-Length: 1x", "Content-Length:"] {
            assertRefused("GET / HTTP/1.1\r\nHost: h\r\n\(field)\r\n\r\n", .badRequest)
        }
    }

    // 413

    func testABodyIsTooLarge() throws {
        assertRefused("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello", .contentTooLarge)
        assertRefused("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n", .contentTooLarge)
        assertRefused("HEAD / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", .contentTooLarge)
        XCTAssertEqual(try request("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 00\r\n\r\n").path, "/")
    }

    // 431

    func testAnOverlongRequestLineIsTooLarge() {
        let line = "GET /" + String(repeating: "a", count: HTTPRequestParser.headLimit) + " HTTP/1.1"
        assertRefused(line, .headTooLarge)
        assertRefused(line + "\r\nHost: h\r\n\r\n", .headTooLarge)
    }

    func testOverlongFieldsAreTooLarge() {
        let field = "X-Long: " + String(repeating: "v", count: HTTPRequestParser.headLimit)
        assertRefused("GET / HTTP/1.1\r\nHost: h\r\n\(field)", .headTooLarge)
        assertRefused("GET / HTTP/1.1\r\nHost: h\r\n\(field)\r\n\r\n", .headTooLarge)
        let many = (0...HTTPRequestParser.fieldLimit).map { "X-\($0): v\r\n" }.joined()
        assertRefused("GET / HTTP/1.1\r\nHost: h\r\n\(many)\r\n", .headTooLarge)
    }

    func testAHeadJustInsideTheLimitIsTaken() throws {
        let prefix = "GET / HTTP/1.1\r\nHost: h\r\nX: ", suffix = "\r\n\r\n"
        let fill = HTTPRequestParser.headLimit - prefix.utf8.count - suffix.utf8.count
        XCTAssertEqual(try request(prefix + String(repeating: "v", count: fill) + suffix).path, "/")
        assertRefused(prefix + String(repeating: "v", count: fill + 1) + suffix, .headTooLarge)
    }

    // 501, 505

    func testOtherMethodsAndVersions() {
        assertRefused("POST / HTTP/1.1\r\nHost: h\r\n\r\n", .notImplemented)
        assertRefused("get / HTTP/1.1\r\nHost: h\r\n\r\n", .notImplemented)
        assertRefused("GET / HTTP/2.0\r\nHost: h\r\n\r\n", .versionNotSupported)
        assertRefused("GET / HTTP/1.2\r\nHost: h\r\n\r\n", .versionNotSupported)
    }

    func testErrorsMapToTheirStatuses() {
        XCTAssertEqual(HTTPError.badRequest.status.rawValue, 400)
        XCTAssertEqual(HTTPError.contentTooLarge.status.rawValue, 413)
        XCTAssertEqual(HTTPError.headTooLarge.status.rawValue, 431)
        XCTAssertEqual(HTTPError.notImplemented.status.rawValue, 501)
        XCTAssertEqual(HTTPError.versionNotSupported.status.rawValue, 505)
    }

    /// Random and mutated requests: the parser answers, never traps, and what it accepts
    /// lies inside the bytes.
    func testRandomInputIsAnsweredSafely() {
        var state: UInt64 = 0x5EED
        func next() -> UInt64 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return state >> 33
        }
        let valid = Array("GET /4k.bin HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n".utf8)
        for _ in 0..<20_000 {
            var bytes = valid
            for _ in 0..<(next() % 4) {
                let index = Int(next() % UInt64(bytes.count))
                switch next() % 3 {
                case 0: bytes[index] = UInt8(truncatingIfNeeded: next())
                case 1: bytes.remove(at: index)
                default: bytes.insert(UInt8(truncatingIfNeeded: next()), at: index)
                }
            }
            if case .request(_, let length)? = try? HTTPRequestParser.parse(bytes[...]) {
                XCTAssertLessThanOrEqual(length, bytes.count)
            }
        }
    }
}

final class HTTPResponseTests: XCTestCase {
    func testAHeadSaysLengthTypeAndConnection() {
        let head = String(decoding: HTTPResponse.head(.ok, contentLength: 4096, contentType: "application/octet-stream", keepAlive: true),
                          as: UTF8.self)
        XCTAssertTrue(head.hasPrefix("HTTP/1.1 200 OK\r\n"))
        XCTAssertTrue(head.contains("\r\nContent-Length: 4096\r\n"))
        XCTAssertTrue(head.contains("\r\nContent-Type: application/octet-stream\r\n"))
        XCTAssertTrue(head.hasSuffix("\r\nConnection: keep-alive\r\n\r\n"))
    }

    func testAnErrorClosesAndHasItsLength() {
        let text = String(decoding: HTTPResponse.error(.notFound), as: UTF8.self)
        XCTAssertTrue(text.hasPrefix("HTTP/1.1 404 Not Found\r\n"))
        XCTAssertTrue(text.contains("Connection: close\r\n\r\n404 Not Found\n"))
        XCTAssertTrue(text.contains("Content-Length: 14\r\n"))
        let head = String(decoding: HTTPResponse.error(.headTooLarge, head: true), as: UTF8.self)
        XCTAssertTrue(head.hasSuffix("\r\n\r\n"))
        XCTAssertTrue(head.hasPrefix("HTTP/1.1 431 Request Header Fields Too Large\r\n"))
        XCTAssertTrue(String(decoding: HTTPResponse.error(.notFound, keepAlive: true), as: UTF8.self).contains("Connection: keep-alive\r\n"))
    }

    func testContentTypes() {
        XCTAssertEqual(HTTPResponse.contentType(ofPath: "/index.html"), "text/html; charset=utf-8")
        XCTAssertEqual(HTTPResponse.contentType(ofPath: "/a.txt"), "text/plain; charset=utf-8")
        XCTAssertEqual(HTTPResponse.contentType(ofPath: "/4k.bin"), "application/octet-stream")
        XCTAssertEqual(HTTPResponse.contentType(ofPath: "/dir.html/file"), "application/octet-stream")
        XCTAssertEqual(HTTPResponse.contentType(ofPath: "/noextension"), "application/octet-stream")
    }

    func testTheSite() {
        XCTAssertEqual(HTTPSite.file(at: "/"), "/index.html")
        XCTAssertEqual(HTTPSite.file(at: "/1m.bin"), "/1m.bin")
        XCTAssertNil(HTTPSite.file(at: "/missing"))
        XCTAssertEqual(HTTPSite.source(of: "/index.html"), .bootFile("www/index.html"))
        XCTAssertEqual(HTTPSite.source(of: "/1m.bin"), .pattern(bytes: 1 << 20))
        let large = HTTPSite.pattern(bytes: 1 << 20)
        XCTAssertTrue(large.allSatisfy { $0 >= 33 && $0 < 127 })
        XCTAssertGreaterThan(Set(large.prefix(4096)).count, 80)
    }
}
