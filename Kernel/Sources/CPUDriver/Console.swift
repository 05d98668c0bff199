// The console. Core 0 owns the serial port; every other core buffers its output a line
// at a time and sends each finished line to core 0 over its link, where it is written
// whole. So lines from different cores never mix, and no core takes a lock: the only
// cross-core traffic is ordinary link messages. Before a core has its state (early
// boot) and in a panic, it writes the serial port directly.
import Arch
import Basics
import KernelMessages

enum Console {
    /// Longest line a core buffers before sending it as is.
    static let maxLine = 240
    /// Outbox depth beyond which console output to core 0 is dropped (and counted)
    /// instead of queued: a stopped core 0 must not make other cores run out of memory.
    static let maxQueuedMessages = 2048

    static func put(_ byte: UInt8) {
        guard let state = CoreState.current else { return writeSerial(byte) }
        guard state.id != .bootstrap else { return putBesideShell(byte, state: state) }
        state.consoleLine.append(byte)
        if byte == UInt8(ascii: "\n") || state.consoleLine.count >= maxLine {
            sendLine(state)
        }
    }

    /// Core 0's own output (the kernel's lines, its domains' prints). While the shell
    /// shows its prompt and line, a line starts on a fresh line and the shell's line is
    /// drawn again after it, as after another core's line: a domain in the background
    /// (devmgr saying a driver ended, a spawned server) or a domain's end does not break
    /// into the line being typed.
    static func putBesideShell(_ byte: UInt8, state: CoreState) {
        if !state.consoleLineInterrupted, !state.consoleAtLineStart, !state.consoleLineShown.isEmpty {
            writeSerial(UInt8(ascii: "\n"))
            state.consoleLineInterrupted = true
        }
        writeSerial(byte)
        guard byte == UInt8(ascii: "\n"), state.consoleLineInterrupted else { return }
        state.consoleLineInterrupted = false
        for byte in state.consoleLineShown { writeSerial(byte) }
    }

    /// The shell's echo (core 0): written as it is.
    static func echo(_ bytes: [UInt8], state: CoreState) {
        for byte in bytes {
            if state.id == .bootstrap { writeSerial(byte) } else { put(byte) }
        }
    }

    /// Only core 0 (or a core before it has state) writes the port. Core 0 remembers
    /// whether its own output ended mid-line (a prompt), in its own state.
    static func writeSerial(_ byte: UInt8) {
        SerialPort.write(byte)
        CoreState.current?.consoleAtLineStart = byte == UInt8(ascii: "\n")
    }

    static func sendLine(_ state: CoreState) {
        let line = state.consoleLine
        state.consoleLine.removeAll(keepingCapacity: true)
        guard let queued = state.links[0]?.outbox.count, queued < maxQueuedMessages else {
            state.droppedConsoleBytes += line.count
            return
        }
        for message in KernelMessage.pieces(of: line, { .console(bytes: $0, isEnd: $1) }) {
            state.send(message, to: .bootstrap)
        }
    }

    /// On core 0: a piece of a line from another core. Whole lines are written at once,
    /// starting on a fresh line if core 0 left its own output mid-line (the prompt).
    static func receive(_ bytes: [UInt8], isEnd: Bool, from source: CoreID, state: CoreState) {
        state.remoteLines[source.rawValue].append(contentsOf: bytes)
        guard isEnd || state.remoteLines[source.rawValue].count > 4 * maxLine else { return }
        if !state.consoleAtLineStart { writeSerial(UInt8(ascii: "\n")) }
        for byte in state.remoteLines[source.rawValue] { writeSerial(byte) }
        if !state.consoleAtLineStart { writeSerial(UInt8(ascii: "\n")) }
        state.remoteLines[source.rawValue].removeAll(keepingCapacity: true)
        // The shell's prompt and line again, where its user expects them.
        for byte in state.consoleLineShown { writeSerial(byte) }
    }
}
