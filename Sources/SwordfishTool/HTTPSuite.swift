import Foundation
import HTTP
import Synchronization

/// The web server from outside (issue 13, point 5): a boot with a free host port
/// forwarded to the guest's port 80 (as `swordfish run --http` does), the shell's
/// `httpd`, then curl and raw connections from the host. Each named check counts as one
/// test. Bad input comes first among the later checks so that the last ones show the
/// server still serves everyone after it.
public enum HTTPSuite {
    static let suite = "http"

    public static func run(repository: Repository, kernel: String, accelerator: Accelerator, timeout: Duration = .seconds(300)) -> TestCounts {
        let logPath = "\(repository.logs)/http.log"
        let log = repository.relative(logPath)
        do {
            try DebianPackages.ensure("curl", from: "curl", orThrow: .missingPackage(what: "curl", command: "sudo apt-get install -y curl"))
        } catch {
            TestRunner.report("FAIL \(suite): \(error)")
            return TestCounts(failed: 1)
        }
        guard let port = HTTPTestConnection.freePort() else {
            TestRunner.report("FAIL \(suite): no free port on 127.0.0.1")
            return TestCounts(failed: 1)
        }
        let configuration = QEMUConfiguration(kernel: kernel, cores: 2, memory: MemorySize(mebibytes: 512)!, accelerator: accelerator,
                                              initrd: KernelBuild.existingBootImage(for: kernel), hasNetwork: true, httpPort: port)
        RawOutput.note("\(suite): printf 'httpd\\n' | \(configuration.command) > \(log), then requests to 127.0.0.1:\(port)")
        let results = Mutex<[(String, [String])]>([])
        let ending: GuestEnding
        do {
            ending = try GuestBoot.run(configuration, log: logPath, timeout: timeout, input: Array("httpd\n".utf8),
                                       whenLine: ("httpd: serving", { send in
                let checks = HTTPSuite.checks(port: port, logPath: logPath, repository: repository)
                results.withLock { $0 = checks }
                _ = send(Array("halt\n".utf8))
            }))
        } catch {
            TestRunner.report("FAIL \(suite): \(error)")
            return TestCounts(failed: 1)
        }
        let console = FileManager.default.contents(atPath: logPath).map { String(decoding: $0, as: UTF8.self) } ?? ""
        let checks = results.withLock { $0 }
        var server: [String] = []
        if !console.contains("httpd: serving") { server.append("the guest never said 'httpd: serving'") }
        if checks.isEmpty { server.append("no request was made") }
        if ending != .exited(status: 1) { server.append("the guest did not halt cleanly after the requests: \(ending)") }
        if console.contains("PANIC") || console.contains("FAULT") || console.contains("stopped:") {
            server.append("a panic or fault on the console")
        }
        return TestCounts.judging([("the server starts and the guest halts after the requests", server)] + checks, suite: suite, log: log)
    }

    /// A 32-bit FNV-1a checksum, printed in failures to tell a file from another.
    static func checksum(_ bytes: [UInt8]) -> String {
        var hash: UInt32 = 2_166_136_261
        for byte in bytes { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        return String(hash, radix: 16)
    }

    /// curl's body and status for `path`.
    static func curl(port: Int, _ path: String, logPath: String) -> (status: Int, body: [UInt8])? {
        let bodyPath = logPath + ".body"
        let command = ShellCommand("curl", ["-s", "--max-time", "120", "-o", bodyPath, "-w", "%{http_code}", "http://127.0.0.1:\(port)\(path)"])
        guard let result = try? Subprocess.run(command, output: .capture, timeout: .seconds(150)), result.status == 0,
              let status = Int(String(decoding: result.captured, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)),
              let body = FileManager.default.contents(atPath: bodyPath) else { return nil }
        try? FileManager.default.removeItem(atPath: bodyPath)
        return (status, Array(body))
    }

    static func checks(port: Int, logPath: String, repository: Repository) -> [(String, [String])] {
        var checks: [(String, [String])] = []
        func check(_ name: String, _ body: () -> [String]) { checks.append((name, body())) }
        func request(_ path: String, method: String = "GET", fields: String = "Host: swordfish\r\n") -> String {
            "\(method) \(path) HTTP/1.1\r\n\(fields)\r\n"
        }
        /// The status a lone bad request on a fresh connection gets, and whether the server then closes.
        func badInput(_ bytes: [UInt8], expect status: Int) -> [String] {
            guard let connection = HTTPTestConnection(port: port) else { return ["could not connect"] }
            connection.send(bytes)
            guard let response = connection.readResponse() else { return ["no response (expected \(status))"] }
            var problems: [String] = []
            if response.status != status { problems.append("status \(response.status), expected \(status)") }
            if !connection.closesAfterResponse() { problems.append("the connection stayed open after \(response.status)") }
            return problems
        }

        for (path, name, expected) in [("/", "the index page", HTTPSite.contents(of: "/", in: repository)),
                                       ("/4k.bin", "a small file (4 KiB)", HTTPSite.contents(of: "/4k.bin", in: repository)),
                                       ("/1m.bin", "a 1 MiB file", HTTPSite.contents(of: "/1m.bin", in: repository))] {
            check("curl gets \(name), checksum compared") {
                guard let (status, body) = curl(port: port, path, logPath: logPath) else { return ["curl failed for \(path)"] }
                var problems: [String] = []
                if status != 200 { problems.append("status \(status) for \(path)") }
                if body != expected {
                    problems.append("\(body.count) bytes with checksum \(checksum(body)), expected \(expected.count) with \(checksum(expected))")
                }
                return problems
            }
        }
        check("curl gets 404 for a missing file") {
            guard let (status, _) = curl(port: port, "/missing.html", logPath: logPath) else { return ["curl failed"] }
            return status == 404 ? [] : ["status \(status), expected 404"]
        }
        check("HEAD answers the length without a body") {
            guard let connection = HTTPTestConnection(port: port) else { return ["could not connect"] }
            connection.send(request("/4k.bin", method: "HEAD", fields: "Host: swordfish\r\nConnection: close\r\n"))
            guard let response = connection.readResponse(head: true) else { return ["no response"] }
            var problems: [String] = []
            if response.status != 200 { problems.append("status \(response.status)") }
            if response.fields["content-length"] != "4096" { problems.append("Content-Length \(response.fields["content-length"] ?? "none")") }
            if !connection.closesAfterResponse() { problems.append("a body followed, or Connection: close was not honoured") }
            return problems
        }
        check("1,000 keep-alive requests on one connection") {
            guard let connection = HTTPTestConnection(port: port) else { return ["could not connect"] }
            let expected = HTTPSite.contents(of: "/4k.bin", in: repository)
            for number in 1...1000 {
                guard connection.send(request("/4k.bin")), let response = connection.readResponse() else {
                    return ["the connection ended at request \(number)"]
                }
                guard response.status == 200, response.body == expected, response.fields["connection"] == "keep-alive" else {
                    return ["request \(number): status \(response.status), \(response.body.count) bytes, Connection \(response.fields["connection"] ?? "none")"]
                }
            }
            return []
        }
        check("binary garbage gets 400") {
            var generator = SystemRandomNumberGenerator()
            return badInput([0x16, 0x03, 0x01] + (0..<512).map { _ in UInt8.random(in: 0...255, using: &generator) }, expect: 400)
        }
        check("an overlong request line gets 431") {
            badInput(Array(request("/" + String(repeating: "a", count: 3 * HTTPRequestParser.headLimit)).utf8), expect: 431)
        }
        check("overlong header fields get 431") {
            badInput(Array(request("/", fields: "Host: swordfish\r\n" + (0..<400).map { "X-Field-\($0): \(String(repeating: "v", count: 40))\r\n" }.joined()).utf8),
                     expect: 431)
        }
        check("a missing Host gets 400") { badInput(Array("GET / HTTP/1.1\r\nAccept: */*\r\n\r\n".utf8), expect: 400) }
        check("a body on GET gets 413") {
            badInput(Array(request("/", fields: "Host: swordfish\r\nContent-Length: 100000\r\n").utf8), expect: 413)
        }
        check("a request that stops half-way times out; others are served meanwhile") {
            guard let stalled = HTTPTestConnection(port: port, readTimeout: 120) else { return ["could not connect"] }
            stalled.send("GET /index.html HTTP/1.1\r\nHost: swor")
            var problems: [String] = []
            if let (status, _) = curl(port: port, "/", logPath: logPath), status == 200 {} else {
                problems.append("the index page was not served while a request was half-way")
            }
            // The server answers 408 and closes, on its own timeout (seconds).
            if let response = stalled.readResponse(), response.status != 408 { problems.append("status \(response.status), expected 408") }
            if !stalled.closesAfterResponse() { problems.append("the half request's connection was never closed") }
            return problems
        }
        check("200 connections at once are all served") {
            // Each asks at once (QEMU's forwarding takes connections one at a time, so the
            // first would idle past the server's timeout waiting for the last), and all
            // stay open: the answers are read only once all 200 are connected.
            var connections: [HTTPTestConnection] = []
            for _ in 0..<200 {
                guard let connection = HTTPTestConnection(port: port, readTimeout: 120) else { break }
                connection.send(request("/index.html"))
                connections.append(connection)
            }
            guard connections.count == 200 else { return ["only \(connections.count) of 200 connected"] }
            var served = 0
            for connection in connections where connection.readResponse()?.status == 200 { served += 1 }
            return served == 200 ? [] : ["\(served) of 200 connections got their page"]
        }
        check("after all that, the server still serves") {
            guard let (status, body) = curl(port: port, "/4k.bin", logPath: logPath) else { return ["curl failed"] }
            return status == 200 && body == HTTPSite.contents(of: "/4k.bin", in: repository) ? [] : ["status \(status), \(body.count) bytes"]
        }
        return checks
    }
}
