// The per-core trace (docs/tracing.md): each CPU driver records events with their TSC
// stamp into a buffer in its own core's memory, made at the first `trace on` and never
// written by another core. Recording costs a load and a branch while tracing is off;
// while on, a GS-relative load, the TSC read and four stores per event. Domains (the
// monitors) record their own events through the `trace` system call, which stamps
// them here. `trace on|off` from the shell switches every core by message and prints
// where each buffer lies, for the host tool to read after the guest stops.
import ABI
import Arch
import Basics
import KernelMessages
import Memory
import Trace

enum Tracing {
    /// Each core's buffer: 16,382 events.
    static let bufferBytes = 512 * 1024

    /// Whether this core records.
    static var isOn: Bool { CoreBlock.current?.pointee.tracing ?? false }

    /// Records an event now, if this core traces.
    @inline(__always)
    static func record(_ kind: TraceEventKind, channel: TraceChannel = .kernelLink, domain: UInt32 = TraceEvent.kernel,
                       a: UInt64 = 0, b: UInt64 = 0) {
        guard let block = CoreBlock.current, block.pointee.tracing, let buffer = block.pointee.trace else { return }
        buffer.record(TraceEvent(timestamp: CPU.timestamp(), kind: kind, channel: channel.rawValue, domain: domain, a: a, b: b))
    }

    /// A message event on the kernel's links.
    @inline(__always)
    static func message(_ kind: TraceEventKind, peer: CoreID, tag: UInt16, sequence: UInt64) {
        record(kind, a: TraceMessageWord.make(peer: peer.rawValue, tag: tag), b: sequence)
    }
}

extension CoreState {
    /// Turns this core's trace on (emptied; the buffer made on first use) or off, and
    /// tells its domains; where the buffer lies.
    func switchTrace(on: Bool) -> KernelMessage {
        guard let block = CoreBlock.current else { return .traceBuffer(address: 0, bytes: 0, on: false) }
        if on && block.pointee.trace == nil {
            let frames = Tracing.bufferBytes / 4096
            if let start = block.pointee.frames.allocate(count: frames) {
                block.pointee.trace = TraceBuffer(region: UnsafeMutableRawPointer(bitPattern: UInt(start.rawValue))!,
                                                  bytes: Tracing.bufferBytes, core: id.rawValue,
                                                  cyclesPerMicrosecond: tscHz / 1_000_000)
            }
        }
        guard let buffer = block.pointee.trace else { return .traceBuffer(address: 0, bytes: 0, on: false) }
        if on { buffer.clear() }
        block.pointee.tracing = on
        for domain in domains { domain.setFrameWord(DispatcherFrame.tracing, on ? 1 : 0) }
        return .traceBuffer(address: buffer.address, bytes: UInt64(buffer.bytes), on: on)
    }
}

extension KernelCommands {
    /// `trace on|off`: switches every core that runs and prints one line per core,
    /// `trace: core <n> buffer <address> bytes <count> on|off` (or why there is none).
    /// Core 0 turns on once it has asked the others (its requests are no sends the
    /// others could record receiving) and before they answer, and off only after they
    /// answered, so what the others send it while they trace is received while it traces.
    func traceEverywhere(on: Bool) {
        for core in 0..<state.coreCount { state.traceReplies[core] = nil }
        func switchHere() {
            if case .traceBuffer(let address, let bytes, let here) = state.switchTrace(on: on) { state.traceReplies[0] = (address, bytes, here) }
        }
        askOtherCores(.traceSwitch(on: on), meanwhile: { if on { switchHere() } }) { state.traceReplies[$0] != nil }
        if !on { switchHere() }
        for core in 0..<state.coreCount where !state.failedCores[core] {
            guard let reply = state.traceReplies[core] else {
                print("trace: core \(core) did not answer")
                continue
            }
            guard reply.bytes > 0 else {
                print("trace: core \(core) has no memory for a buffer")
                continue
            }
            print("trace: core \(core) buffer \(hexadecimal(reply.address)) bytes \(reply.bytes) \(reply.on ? "on" : "off")")
        }
    }
}
