// A client of QEMU's human monitor (HMP) on a Unix socket: what `swordfish trace` uses to
// stop the guest and copy its trace buffers out of guest memory (`pmemsave`), so that no
// byte of a trace has to cross the guest's serial console.
import Foundation

struct QEMUMonitor {
    private let socket: Int32

    /// Connects to the monitor at `path`, retrying while QEMU starts, and reads its banner.
    init(path: String, patience: Duration = .seconds(10)) throws(ToolError) {
        let deadline = ContinuousClock.now + patience
        while true {
            let fd = Foundation.socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
            guard fd >= 0 else { throw .traceFailed("no socket for QEMU's monitor") }
            var address = sockaddr_un()
            address.sun_family = sa_family_t(AF_UNIX)
            let bytes = Array(path.utf8)
            guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { throw .traceFailed("monitor path too long: \(path)") }
            withUnsafeMutableBytes(of: &address.sun_path) { raw in
                for (index, byte) in bytes.enumerated() { raw[index] = byte }
            }
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
            }
            if connected == 0 {
                socket = fd
                break
            }
            close(fd)
            guard ContinuousClock.now < deadline else { throw .traceFailed("QEMU's monitor at \(path) did not answer") }
            Thread.sleep(forTimeInterval: 0.1)
        }
        _ = try readUntilPrompt()
    }

    /// Runs one monitor command and returns what it printed before the next prompt.
    @discardableResult
    func run(_ command: String) throws(ToolError) -> String {
        let line = Array((command + "\n").utf8)
        guard line.withUnsafeBytes({ write(socket, $0.baseAddress, $0.count) }) == line.count else {
            throw .traceFailed("could not write to QEMU's monitor")
        }
        return try readUntilPrompt()
    }

    /// Ends QEMU (the monitor closes without a prompt).
    func quit() {
        let line = Array("quit\n".utf8)
        _ = line.withUnsafeBytes { write(socket, $0.baseAddress, $0.count) }
        close(socket)
    }

    private func readUntilPrompt() throws(ToolError) -> String {
        var text: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while !text.ends(with: Array("(qemu) ".utf8)) {
            let count = chunk.withUnsafeMutableBytes { read(socket, $0.baseAddress, $0.count) }
            guard count > 0 else { throw .traceFailed("QEMU's monitor closed") }
            text += chunk[..<count]
        }
        return String(decoding: text, as: UTF8.self)
    }
}

private extension Array where Element == UInt8 {
    func ends(with suffix: [UInt8]) -> Bool { count >= suffix.count && Array(self[(count - suffix.count)...]) == suffix }
}
