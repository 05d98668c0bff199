// The shell on core 0's serial console. It reads bytes as they arrive (polled from the
// event loop), edits one line (LineEditor: history, cursor keys, completion), and runs
// the command. Commands that need another core's answer send it a request over the link
// and wait, polling, with a timeout, so a stopped core shows up as "no reply" instead of
// hanging the shell.
import Arch
import Basics
import BootInfo
import KernelMessages
import LineEditor
import ShellCommands
import Channel
import Capabilities
import ELF
import KnowledgeBase

final class Shell {
    static let prompt: StaticString = "swordfish> "
    /// The longest line the shell takes; a longer one is refused, not cut.
    static let lineLimit = 200
    /// How many entered lines Up can bring back.
    static let historyLimit = 50
    var editor = LineEditor(prompt: prompt.withUTF8Buffer { Array($0) }, lineLimit: lineLimit, historyLimit: historyLimit)
    /// True while a command runs: input is not read again from inside its waits.
    var running = false
    /// What the prompt waits for: the domain `run` started, or the answer of the core
    /// `oncore` asked; the prompt returns when it has finished (after `whenFinished`,
    /// if set).
    var waitingFor: Program? = nil
    enum Program {
        case domain(Domain)
        /// `stopAsked`: Ctrl-C was pressed once and the core was asked to stop it.
        case onCore(Int, request: UInt32, stopAsked: Bool)
    }
    var whenFinished: (() -> Void)? = nil
    /// The core's state (which holds this shell: both live as long as the core).
    let state: CoreState

    init(state: CoreState) { self.state = state }

    func start() {
        print("type 'help' for commands")
        showPrompt()
    }

    /// The prompt and the line being edited, on the console's current line.
    func showPrompt() {
        write(editor.redrawn)
    }

    func write(_ bytes: [UInt8]) {
        for byte in bytes { Console.writeSerial(byte) }
    }

    /// Another core's line was just written: show the prompt and the partial line again.
    func redrawAfterOutput() {
        if !running && waitingFor == nil { showPrompt() }
    }

    /// Input typed while a program runs, kept for after it (so piped commands run one
    /// after another), up to `typeAheadLimit` bytes.
    var typeAhead: [UInt8] = []
    static let typeAheadLimit = 4096
    static let interrupt: UInt8 = 0x03                   // Ctrl-C

    /// Reads whatever input is waiting; true if there was some.
    func poll() -> Bool {
        guard !running else { return false }
        var any = false
        if let program = waitingFor {
            // Ctrl-C stops the program; anything else waits its turn. The event loop
            // polls between a domain's time slices, so a program that never yields
            // is stopped too.
            while let byte = SerialPort.read() {
                any = true
                if byte == Self.interrupt {
                    interrupt(program)
                    return true
                }
                if typeAhead.count < Self.typeAheadLimit { typeAhead.append(byte) }
            }
            switch program {
            case .domain(let domain):
                guard !state.domains.contains(where: { $0 === domain }) else { return any }
            case .onCore(let core, let request, _):
                guard state.runAnswer(from: core, id: request) != nil else { return any }
            }
            whenFinished?()
            finishWaiting()
        }
        while waitingFor == nil, !typeAhead.isEmpty {
            any = true
            handle(typeAhead.removeFirst())
        }
        while waitingFor == nil, let byte = SerialPort.read() {
            any = true
            handle(byte)
        }
        return any
    }

    /// Ctrl-C while waiting: a program on this core is stopped (the kernel reports it
    /// like any other end); one on another core is stopped by its core when asked, and
    /// the prompt comes back with the answer. A second Ctrl-C gives up waiting for a core
    /// that does not answer. Input typed ahead is dropped, as a terminal's Ctrl-C drops it.
    func interrupt(_ program: Program) {
        typeAhead.removeAll()
        switch program {
        case .domain(let domain):
            print("^C")
            if state.domains.contains(where: { $0 === domain }) { state.stop(domain, because: "Ctrl-C in the shell") }
        case .onCore(let core, let request, false):
            print("^C")
            state.send(.stopRun(id: request), to: CoreID(core))
            waitingFor = .onCore(core, request: request, stopAsked: true)
            return
        case .onCore(let core, _, true):
            print("^C: not waiting for core \(core) any more")
        }
        finishWaiting()
    }

    func finishWaiting() {
        waitingFor = nil
        whenFinished = nil
        showPrompt()
    }

    func handle(_ byte: UInt8) {
        let reaction = editor.consume(byte) { [state] words in
            ShellCommand.completions(after: words, programs: state.bootImage?.programs.map { $0.name } ?? [])
        }
        write(reaction.echo)
        switch reaction.submission {
        case nil:
            break
        case .cancelled?:
            showPrompt()
        case .tooLong?:
            // Running what fitted could run something else than was typed.
            print("line too long: the shell takes \(Self.lineLimit) characters; nothing was run")
            showPrompt()
        case .line(let line)?:
            running = true
            execute(ShellCommand(parsing: line))
            running = false
            if waitingFor == nil { showPrompt() }
        }
    }

    func execute(_ command: ShellCommand) {
        switch command {
        case .empty: break
        case .help: for text in ShellCommand.helpLines { print(text) }
        case .cores: listCores()
        case .memory: listMemory()
        case .uptime: showUptime()
        case .domains: listDomains()
        case .interprocessorInterrupt(let core): roundTrip(to: core)
        case .panic(let core): panic(on: core)
        case .halt:
            print("powering off")
            Machine.exit(success: true)
        case .unknown(let word):
            print("unknown command '\(String(decoding: word, as: UTF8.self))'; type 'help'")
        case .usage(let text): print(text)
        case .benchChannel(let from, let to): benchChannel(from: from, to: to)
        case .knowledge: showKnowledge()
        case .knowledgeTree: showTrees()
        case .multicast: runMulticast()
        case .run(let program, let arguments): run(program, arguments: arguments)
        case .runOnCore(let core, let line): run(line, onCore: core)
        case .fuzz(let seed, let count):
            run(Array("capfuzz".utf8), arguments: Array("\(seed) \(count)".utf8))
            if waitingFor != nil { whenFinished = { [state] in reportInvariants(state) } }
        }
    }

    /// Asks every other core for its status; nil entries did not answer in time.
    func collectStatus() -> [CoreStatus?] {
        for core in 0..<state.coreCount { state.statusReplies[core] = nil }
        for core in 1..<max(state.coreCount, 1) where !state.failedCores[core] {
            state.send(.statusRequest, to: CoreID(core))
        }
        _ = state.waitUntil(milliseconds: 500) {
            (1..<max(state.coreCount, 1)).allSatisfy { state.failedCores[$0] || state.statusReplies[$0] != nil }
        }
        var result = state.statusReplies
        result[0] = state.status
        return result
    }

    func listCores() {
        let status = collectStatus()
        print("core  apic  state         ticks  domains")
        for core in 0..<state.coreCount {
            let apic = state.apicIDs[core].rawValue
            if state.failedCores[core] {
                print("\(pad(core, 4))  \(pad(Int(apic), 4))  not started")
            } else if let s = status[core] {
                print("\(pad(core, 4))  \(pad(Int(apic), 4))  up       \(pad(Int(s.ticks), 10))  \(pad(Int(s.domains), 7))")
            } else {
                print("\(pad(core, 4))  \(pad(Int(apic), 4))  no reply (stopped?)")
            }
        }
    }

    func listMemory() {
        let status = collectStatus()
        print("core   frames     free     used   heap KiB")
        for core in 0..<state.coreCount {
            guard let s = status[core] else {
                print("\(pad(core, 4))   (no reply)")
                continue
            }
            let used = Int(s.totalFrames - s.freeFrames)
            print("\(pad(core, 4)) \(pad(Int(s.totalFrames), 8)) \(pad(Int(s.freeFrames), 8)) \(pad(used, 8)) \(pad(Int(s.heapBytes / 1024), 10))")
        }
        print("(frames are 4 KiB; each core allocates only from its own share)")
    }

    func showUptime() {
        let cycles = CPU.timestamp() - state.bootTimestamp
        let milliseconds = cycles / max(state.tscHz / 1000, 1)
        print("up \(milliseconds / 1000).\(pad3(Int(milliseconds % 1000))) s, \(state.ticks) ticks on core 0 (tsc \(state.tscHz / 1_000_000) MHz)")
    }

    func listDomains() {
        print("id    name        state                     preemptions  upcalls")
        for domain in state.domains {
            let doing: String
            switch (domain.state, domain.waiting) {
            case (.runnable, nil): doing = "runnable"
            case (.runnable, .endpoint?): doing = "waiting on an endpoint"
            case (.runnable, .notification?): doing = "waiting for a notification"
            case (.runnable, .anyEndpoint?): doing = "waiting on its waitset"
            case (.exited, _), (.stopped, _): doing = "ending"
            }
            let alive = state.capabilities.isAlive(domain.dispatcherFrameObject)
            let preemptions = alive ? domain.frameWord(DispatcherFrame.preemptions) : 0
            let upcalls = alive ? domain.frameWord(DispatcherFrame.upcalls) : 0
            print("\(padRight("\(domain.id)", 6))\(padRight(domain.name, 12))\(padRight(doing, 26))\(padRight("\(preemptions)", 13))\(upcalls)")
        }
    }

    func roundTrip(to core: Int) {
        guard core < state.coreCount else { print("no core \(core); there are \(state.coreCount)"); return }
        guard core != state.id.rawValue else { print("core \(core) is this core; pick another"); return }
        guard !state.failedCores[core] else { print("core \(core) did not start"); return }
        let rounds = 100
        var samples: [UInt64] = []
        for round in 0..<rounds {
            guard let cycles = state.pingRoundTrip(to: CoreID(core), token: UInt64(round + 1)) else {
                print("core \(core): no reply within 1 s (stopped?)")
                return
            }
            samples.append(cycles)
        }
        samples.sort()
        print("ipi round trip core \(state.id.rawValue) -> \(core) -> \(state.id.rawValue): median \(samples[rounds / 2]) cycles, min \(samples[0]), p99 \(samples[rounds * 99 / 100]) (\(rounds) rounds)")
    }

    /// `bench channel a b`: core a measures its channel round trip to b against the
    /// cache-line ping-pong between the same two cores.
    func benchChannel(from a: Int, to b: Int) {
        guard a < state.coreCount, b < state.coreCount, a != b else { print("need two different cores below \(state.coreCount)"); return }
        guard !state.failedCores[a], !state.failedCores[b] else { print("both cores must be up"); return }
        let rounds = 1000
        let result: BenchResult
        if a == state.id.rawValue {
            result = state.benchChannel(to: CoreID(b), rounds: rounds)
        } else {
            state.benchReplies[a] = nil
            state.send(.benchChannel(peer: CoreID(b), rounds: rounds), to: CoreID(a))
            guard state.waitUntil(milliseconds: 30_000, { state.benchReplies[a] != nil }), let reply = state.benchReplies[a] else {
                print("core \(a) did not report"); return
            }
            result = reply
        }
        guard result.ok else { print("measurement incomplete: a core stopped answering"); return }
        let ratio = result.channel.median * 100 / max(result.floor.median, 1)
        print("channel round trip \(a) -> \(b): median \(result.channel.median) cycles, p99 \(result.channel.p99)")
        print("cache-line floor   \(a) -> \(b): median \(result.floor.median) cycles, p99 \(result.floor.p99)")
        print("channel / floor: \(ratio / 100).\(pad2(Int(ratio % 100)))x (\(rounds) rounds each; under emulation both are slow)")
    }

    func run(_ name: [UInt8], arguments: [UInt8]) {
        guard let image = state.bootImage else { print("no boot image: boot with the one swordfish build makes"); return }
        guard let program = image.program(named: name) else {
            var names = ""
            for (i, p) in image.programs.enumerated() { names += (i == 0 ? "" : ", ") + String(decoding: p.name, as: UTF8.self) }
            print("no program '\(String(decoding: name, as: UTF8.self))'; the boot image has: \(names)")
            return
        }
        do {
            waitingFor = .domain(try state.spawn(program, arguments: arguments))
        } catch {
            print("run: could not start it: \(describe(error))")
        }
    }

    /// `oncore`: asks `core` to run `line` (RemoteRun.swift); the prompt returns with its
    /// answer. The program's output and end arrive as that core's console lines.
    func run(_ line: [UInt8], onCore core: Int) {
        guard core < state.coreCount else { print("no core \(core); there are \(state.coreCount)"); return }
        guard !state.failedCores[core] else { print("core \(core) did not start"); return }
        guard core != state.id.rawValue else {
            if case .run(let name, let arguments) = ShellCommand(parsing: Array("run ".utf8) + line) { run(name, arguments: arguments) }
            return
        }
        waitingFor = .onCore(core, request: state.requestRun(line, on: CoreID(core)), stopAsked: false)
    }

    func panic(on core: Int?) {
        let target = core ?? state.id.rawValue
        guard target < state.coreCount else { print("no core \(target)"); return }
        if target == state.id.rawValue { Panic.deliberateFault() }
        state.send(.panicRequest, to: CoreID(target))
        print("asked core \(target) to fault; it prints its panic and stops, the others go on")
        _ = state.waitUntil(milliseconds: 200) { false }
    }
}

extension CoreState {
    /// One message to `core` and its answer, in cycles; nil on timeout.
    func pingRoundTrip(to core: CoreID, token: UInt64, notify: Bool = true, timeout: UInt64 = 1000) -> UInt64? {
        let start = CPU.timestamp()
        send(.ping(token: token, wake: false), to: core, notify: notify)
        guard waitUntil(milliseconds: timeout, { pongs[core.rawValue] == token }) else { return nil }
        return CPU.timestamp() - start
    }
}

func pad(_ value: Int, _ width: Int) -> String {
    var text = "\(value)"
    while text.utf8.count < width { text = " " + text }
    return text
}

/// `text` and spaces after it, to `width` (a column that is not the last).
func padRight(_ text: String, _ width: Int) -> String {
    var result = text
    repeat { result += " " } while result.utf8.count < width
    return result
}

func pad2(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }

func pad3(_ value: Int) -> String {
    var text = "\(value)"
    while text.utf8.count < 3 { text = "0" + text }
    return text
}

extension Shell {
    func showKnowledge() {
        guard let kb = state.knowledge else { print("no knowledge base yet"); return }
        for line in kb.reportLines { print(line) }
    }

    func showTrees() {
        guard let kb = state.knowledge else { print("no knowledge base yet"); return }
        let model = MulticastCostModel.typical(for: kb)
        for kind in MulticastKind.allCases {
            let tree = kb.multicastTree(from: .bootstrap, kind: kind)
            print("\(name(of: kind)): \(tree.messageCount) messages, depth \(tree.depth), modelled \(model.completionCycles(of: tree, in: kb)) cycles")
            for core in tree.coresReached where !tree.children(of: core).isEmpty {
                let children = tree.children(of: core).map { "\($0.rawValue)" }
                var list = ""
                for (i, child) in children.enumerated() { list += (i == 0 ? "" : " ") + child }
                print("  \(core.rawValue) -> \(list)")
            }
        }
        print("(the NUMA-aware tree is the one in use; model: MulticastCostModel.typical)")
    }

    func name(of kind: MulticastKind) -> String {
        switch kind {
        case .unicast: return "unicast"
        case .broadcast: return "broadcast"
        case .perPackage: return "per-package multicast"
        case .numaAware: return "NUMA-aware multicast"
        }
    }

    func runMulticast() {
        var samples: [UInt64] = []
        for round in 0..<20 {
            guard let result = state.multicastOnce(id: 0x5000 + UInt64(round) + state.ticks << 16) else {
                print("multicast did not complete within 5 s (a core stopped?)"); return
            }
            samples.append(result.cycles)
            if round == 0 { print("multicast reached \(result.reached) other core(s), \(result.duplicates) duplicate deliveries") }
        }
        samples.sort()
        print("multicast round trip (send down the NUMA-aware tree, acks back up): median \(samples[10]) cycles, min \(samples[0]) (20 rounds)")
    }
}

func describe(_ error: SpawnError) -> String {
    switch error {
    case .noSuchProgram: return "no such program"
    case .badImage(let reason): return "bad ELF image: \(reason.message)"
    case .outOfMemory: return "out of memory"
    case .argumentsTooLong: return "arguments longer than 1024 bytes"
    case .capabilities: return "could not create its capabilities"
    }
}

/// The kernel's self-check of its capability state, printed.
func reportInvariants(_ state: CoreState) {
    let violations = state.capabilities.checkInvariants()
    if violations.isEmpty {
        print("capability invariants hold (\(state.capabilities.liveObjectCount) objects, \(state.capabilities.liveCapabilityCount) capabilities on this core)")
    } else {
        print("capability invariants VIOLATED: \(violations.count) problems, first: \(violations[0].kind.name)")
    }
}
