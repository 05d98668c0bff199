// shell: the interactive shell, a user program on core 0 that the CPU driver starts after
// the monitor (outside the test and bench modes). It holds the serial port's I/O ports
// and its interrupt, which it asks the monitor for, and reads every key from them: an
// interrupt message on its endpoint says a key came. It edits the line with the same
// `LineEditor` the kernel's shell used (history, cursor keys, completion) and writes
// through the console (the kernel's output path, which every domain's `print` takes, so
// lines from all cores stay whole). Its echo goes with what the line shows (`echo`), which
// the CPU driver writes again whenever another core's line comes.
//
// Programs start through the monitors on any core (`run`, `oncore`, and `fuzz`, which
// runs `capfuzz`), and the prompt waits for their end; Ctrl-C kills the program, and a
// second one stops waiting. `ps`, `names`, `spawn` and `kill` run the `names` program.
// The commands that need the CPU driver (`cores`, `mem`, `uptime`, `domains`, `ipi`,
// `skb`, `multicast`, `bench channel`, `panic`, `halt`, and the invariant check after
// `fuzz`) go to it as the `command` service of the kernel capability, which the CPU
// driver gave this domain.
import SwordfishUser
import LineEditor
import ShellCommands
import UserRuntimeC

/// COM1: eight ports from 0x3F8; received data at +0, interrupt enable at +1, line
/// status at +5 (bit 0: a byte is there). IRQ 4.
let com1: UInt16 = 0x3F8
let ports = Capability(slot: 2), interrupt = Capability(slot: 3), keys = Capability(slot: 5)
let kernel = Capability(slot: InitialSlot.kernel)
let interruptKey: UInt8 = 0x03                            // Ctrl-C
/// Input typed while a program runs, kept for after it (so piped commands run one after
/// another), up to this many bytes.
let typeAheadLimit = 4096
var typeAhead: [UInt8] = []

/// The next key, if one came.
func readKey() -> UInt8? {
    guard let status = try? ports.read(port: com1 + 5), status & 1 != 0, let byte = try? ports.read(port: com1) else { return nil }
    return UInt8(truncatingIfNeeded: byte)
}

/// Sleeps until a key's interrupt comes (or `deadline`), taking the interrupt messages
/// that are there (each may stand for several interrupts).
func waitForKeys(until deadline: UInt64? = nil) {
    while (try? keys.receive()) != nil {}
    try? SystemCall.wait(until: deadline)
}

/// The boot image's program names, for completion and for naming them when one is missing.
func programNames() -> [[UInt8]] {
    var buffer = [UInt64](repeating: 0, count: 128)
    let (status, count) = buffer.withUnsafeMutableBufferPointer { words in
        Capability.invokeRaw(kernel.address.encoded, CapabilityOperation.programNames.rawValue,
                             UInt64(UInt(bitPattern: words.baseAddress)), UInt64(words.count * 8))
    }
    guard status == InvocationStatus.success.rawValue else { return [] }
    let bytes = buffer.withUnsafeBytes { Array($0.prefix(Int(count))) }
    return bytes.split(separator: 0).map { Array($0) }
}

/// Writes `bytes` and tells the CPU driver what to show again after another core's
/// line interrupts the console (the prompt and the line being edited; nothing while a
/// program runs), in one call, so no other core's line comes between the two.
func echo(_ bytes: [UInt8], showing line: [UInt8]) {
    _ = bytes.withUnsafeBufferPointer { bytes in
        line.withUnsafeBufferPointer { line in
            Capability.invokeRaw(kernel.address.encoded, CapabilityOperation.echo.rawValue,
                                 UInt64(UInt(bitPattern: bytes.baseAddress)), UInt64(bytes.count),
                                 UInt64(UInt(bitPattern: line.baseAddress)), UInt64(line.count))
        }
    }
}

/// Runs `line`'s kernel part in the CPU driver; false if the kernel has none.
@discardableResult
func kernelCommand(_ line: [UInt8]) -> Bool {
    let status = line.withUnsafeBufferPointer { bytes in
        Capability.invokeRaw(kernel.address.encoded, CapabilityOperation.command.rawValue,
                             UInt64(UInt(bitPattern: bytes.baseAddress)), UInt64(bytes.count)).status
    }
    return status == InvocationStatus.success.rawValue
}

/// Starts `name` on `core` through the monitors and waits for its end (which the CPU
/// driver reports on the console); Ctrl-C kills it, a second Ctrl-C stops waiting. True
/// if it ran to its end.
@discardableResult
func run(_ name: [UInt8], _ arguments: [UInt8], on core: Int, programs: [[UInt8]]) -> Bool {
    let program = String(decoding: name, as: UTF8.self)
    let domain: SystemDomainID
    do throws(MonitorStatus) {
        domain = try Monitor.spawn(program, arguments: String(decoding: arguments, as: UTF8.self), on: core)
    } catch .noSuchProgram, .noSuchName {
        var list = ""
        for (index, name) in programs.enumerated() { list += (index == 0 ? "" : ", ") + String(decoding: name, as: UTF8.self) }
        print("no program '\(program)'; the boot image has: \(list)")
        return false
    } catch .noSuchCore {
        print("no core \(core) with a monitor")
        return false
    } catch {
        print("could not start \(program) on core \(core): \(error)")
        return false
    }
    var killed = false
    while true {
        while let key = readKey() {
            guard key == interruptKey else {
                if typeAhead.count < typeAheadLimit { typeAhead.append(key) }
                continue
            }
            typeAhead.removeAll()                        // as a terminal's Ctrl-C drops it
            if killed {
                print("^C: not waiting for \(program) (\(domain)) any more")
                return false
            }
            print("^C")
            try? Monitor.kill(domain)
            killed = true
        }
        if (try? Monitor.isAlive(domain)) == false { return true }
        // A key wakes this at once; otherwise look again after about a tick.
        waitForKeys(until: user_timestamp() &+ 20_000_000)
    }
}

func execute(_ line: [UInt8], programs: [[UInt8]]) {
    switch ShellCommand(parsing: line) {
    case .empty:
        break
    case .help:
        for text in ShellCommand.helpLines { print(text) }
    case .unknown(let word):
        print("unknown command '\(String(decoding: word, as: UTF8.self))'; type 'help'")
    case .usage(let text):
        print(text)
    case .run(let name, let arguments):
        run(name, arguments, on: Program.identity.core, programs: programs)
    case .runOnCore(let core, let rest):
        guard case .run(let name, let arguments) = ShellCommand(parsing: Array("run ".utf8) + rest) else {
            return print("usage: oncore <core> <program> [args]")
        }
        run(name, arguments, on: core, programs: programs)
    case .fuzz(let seed, let count):
        // The fuzzer runs as a program; the invariant check after it is the kernel's.
        if run(Array("capfuzz".utf8), Array("\(seed) \(count)".utf8), on: Program.identity.core, programs: programs) {
            kernelCommand(line)
        }
    default:
        if !kernelCommand(line) { print("the kernel did not run '\(String(decoding: line, as: UTF8.self))'") }
    }
}

// The serial port and its interrupt, from the monitor.
do throws(MonitorStatus) {
    try Monitor.ioPorts(com1, count: 8, into: ports)
    try Monitor.interrupt(4, into: interrupt)
} catch {
    print("shell: no serial port from the monitor: \(error)")
    exit(1)
}
do throws(InvocationStatus) {
    try Capability.ram.retype(to: .endpoint, into: keys)
    _ = try? keys.receive()                              // becomes its receiver
    try interrupt.connect(irq: 4, to: keys)
    try ports.write(port: com1 + 1, value: 1)            // interrupt when a byte is received
} catch {
    print("shell: the serial port's interrupt: \(error)")
    exit(1)
}

// The device manager (User/Sources/devmgr), on this core, before the first prompt: it
// holds configuration space and the PCI devices, and drivers claim theirs from it.
func startDeviceManager() {
    do throws(MonitorStatus) { _ = try Monitor.spawn("devmgr", on: Program.identity.core) } catch {
        return print("shell: devmgr did not start (\(error)); no PCI devices")
    }
    let start = user_timestamp()
    while (try? Monitor.lookup(DeviceManager.name)) == nil {
        guard user_timestamp() &- start < 1 << 34 else { return print("shell: devmgr did not register its name") }
        yield()
    }
}
startDeviceManager()

let programs = programNames()
var editor = LineEditor(prompt: Array("swordfish> ".utf8), lineLimit: ShellCommand.lineLimit, historyLimit: 50)
print("type 'help' for commands")
echo(editor.redrawn, showing: editor.redrawn)
while true {
    var any = false
    while true {
        let key: UInt8
        if !typeAhead.isEmpty { key = typeAhead.removeFirst() } else if let next = readKey() { key = next } else { break }
        any = true
        let reaction = editor.consume(key) { words in ShellCommand.completions(after: words, programs: programs) }
        guard let submission = reaction.submission else {
            echo(reaction.echo, showing: editor.redrawn)
            continue
        }
        echo(reaction.echo, showing: [])
        switch submission {
        case .cancelled:
            break
        case .tooLong:
            // Running what fitted could run something else than was typed.
            print("line too long: the shell takes \(ShellCommand.lineLimit) characters; nothing was run")
        case .line(let line):
            execute(line, programs: programs)
        }
        echo(editor.redrawn, showing: editor.redrawn)
    }
    if !any { waitForKeys() }
}
