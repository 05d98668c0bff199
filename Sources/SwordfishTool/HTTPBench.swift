import Foundation
import HTTP
import Synchronization

extension HTTPSite {
    /// The bytes the guest serves at `path` (one of `files`), as the host has them: the
    /// file under User/Files the boot image carries, or the pattern.
    static func contents(of path: String, in repository: Repository) -> [UInt8] {
        switch file(at: path).flatMap(source(of:)) {
        case .bootFile(let name)?: return FileManager.default.contents(atPath: "\(repository.root)/User/Files/\(name)").map { [UInt8]($0) } ?? []
        case .pattern(let bytes)?: return pattern(bytes: bytes)
        case nil: return []
        }
    }
}

/// The `http-requests` row of `swordfish bench`: requests per second for the 4 KiB file,
/// measured from the host by ApacheBench (`ab`, Debian's apache2-utils, installed like
/// QEMU) through QEMU's user-network forwarding of a free host port to the guest's port
/// 80, one connection per request (busybox's httpd on the Linux side has no keep-alive).
/// The guest is booted to its shell, with the network device, and starts its server.
enum HTTPBench {
    static let row = "http-requests"
    static let path = "/4k.bin"

    /// ab's options: `requests` requests, `concurrency` at a time.
    static func abArguments(port: Int, quick: Bool) -> [String] {
        ["-q", "-n", quick ? "500" : "5000", "-c", "4", "http://127.0.0.1:\(port)\(path)"]
    }

    /// The row's `BENCH` line for a guest booted by `configuration` with the network and
    /// the forwarding added, whose server `command` (typed at its console; Linux's init
    /// starts its own) starts, ready
    /// once a console line contains `ready`; `halt` ends it after the measurement.
    static func measure(_ base: QEMUConfiguration, command: String?, ready: String, log path: String, quick: Bool) -> String {
        do {
            try DebianPackages.ensure("ab", from: "apache2-utils",
                                      orThrow: .missingPackage(what: "ab", command: "sudo apt-get install -y apache2-utils"))
        } catch {
            return "BENCH name=\(row) unsupported reason=\(error)"
        }
        guard let port = HTTPTestConnection.freePort() else { return "BENCH name=\(row) unsupported reason=no free host port" }
        var configuration = base
        configuration.hasNetwork = true
        configuration.httpPort = port
        let result = Mutex<String?>(nil)
        RawOutput.note("\(row): \(configuration.command) > \(path), then ab \(abArguments(port: port, quick: quick).joined(separator: " "))")
        do {
            _ = try GuestBoot.run(configuration, log: path, timeout: .seconds(quick ? 200 : 600), input: command.map { Array("\($0)\n".utf8) },
                                  whenLine: (ready, { send in
                let line = run(port: port, quick: quick)
                result.withLock { $0 = line }
                _ = send(Array("halt\n".utf8))
            }))
        } catch {
            return "BENCH name=\(row) unsupported reason=\(error)"
        }
        return result.withLock { $0 } ?? "BENCH name=\(row) unsupported reason=the server never said it serves (\(path))"
    }

    /// Runs ab and turns its report into a `BENCH` line.
    static func run(port: Int, quick: Bool) -> String {
        let command = ShellCommand("ab", abArguments(port: port, quick: quick))
        guard let output = try? Subprocess.run(command, output: .capture, timeout: .seconds(300)), output.status == 0 else {
            return "BENCH name=\(row) unsupported reason=\(command) failed"
        }
        let text = String(decoding: output.captured, as: UTF8.self)
        func field(_ name: String) -> String? {
            text.lines.first { $0.hasPrefix(name) }.map { $0.dropFirst(name.count).trimmingCharacters(in: .whitespaces) }
        }
        guard let rate = field("Requests per second:")?.split(separator: " ").first.flatMap({ Double($0) }),
              let complete = field("Complete requests:").flatMap(Int.init) else {
            return "BENCH name=\(row) unsupported reason=ab printed no rate"
        }
        let failed = field("Failed requests:").flatMap(Int.init) ?? 0
        let non2xx = field("Non-2xx responses:").flatMap(Int.init) ?? 0
        guard failed == 0, non2xx == 0 else {
            return "BENCH name=\(row) unsupported reason=\(failed) failed and \(non2xx) non-2xx of \(complete) requests"
        }
        return "BENCH name=\(row) unit=requests/s median=\(String(format: "%.1f", rate)) samples=\(complete)"
    }
}
