// The shell's commands that need the kernel: the `command` service of the kernel
// capability, which the shell (a user program on core 0, `User/Sources/shell`) invokes
// with a line it read. Each runs here, in the CPU driver, and prints to the console:
// `cores`, `mem`, `uptime`, `domains`, `ipi`, `skb`, `skb tree`, `multicast`, `trace`,
// `bench channel`, `panic`, `halt`, and the capability invariant check that follows `fuzz`.
// Commands that wait for another core's answer poll with a timeout, so a stopped core
// shows up as "no reply" instead of hanging the caller.
import Arch
import Basics
import BootInfo
import KernelMessages
import ShellCommands
import Channel
import Capabilities
import ELF
import KnowledgeBase

extension CoreState {
    /// Starts the shell on this core (core 0, after its monitor) with a copy of the
    /// monitor's kernel capability, for the `command` and `programNames` services; it
    /// asks the monitor for the serial port and its interrupt itself.
    func startShell() {
        guard let program = bootImage?.program(named: Array("shell".utf8)) else {
            return print("core \(id.rawValue): no shell program in the boot image; no shell")
        }
        guard let monitor = domains.first(where: { $0.id == monitorDomain }) else {
            return print("core \(id.rawValue): no monitor; no shell")
        }
        let shell: Domain
        do throws(SpawnError) { shell = try spawn(program, arguments: []) } catch {
            return print("core \(id.rawValue): the shell did not start (\(describe(error)))")
        }
        do throws(CapabilityError) {
            try capabilities.copy(.root(InitialSlot.kernel), in: monitor.cspace, to: .root(InitialSlot.kernel), in: shell.cspace)
        } catch {
            print("core \(id.rawValue): the shell has no kernel capability (\(error)); its kernel commands will fail")
        }
    }
}

struct KernelCommands {
    let state: CoreState

    /// Runs `command` if it is one of the kernel's; false if it is not (the shell runs
    /// programs, prints help and usage, and parses lines itself).
    func execute(_ command: ShellCommand) -> Bool {
        switch command {
        case .cores: listCores()
        case .memory: listMemory()
        case .uptime: showUptime()
        case .domains: listDomains()
        case .interprocessorInterrupt(let core): roundTrip(to: core)
        case .panic(let core): panic(on: core)
        case .halt:
            print("powering off")
            Machine.exit(success: true)
        case .benchChannel(let from, let to): benchChannel(from: from, to: to)
        case .knowledge: showKnowledge()
        case .knowledgeTree: showTrees()
        case .multicast: runMulticast()
        case .trace(let on): traceEverywhere(on: on)
        case .fuzz: reportInvariants(state)
        case .help, .run, .runOnCore, .empty, .unknown, .usage: return false
        }
        return true
    }

    /// Sends `message` to every other core that started, does `meanwhile`, and waits up to
    /// half a second until each has answered (`answered(core)`); a stopped core leaves it
    /// unanswered.
    func askOtherCores(_ message: KernelMessage, meanwhile: () -> Void = {}, answered: (Int) -> Bool) {
        for core in 1..<max(state.coreCount, 1) where !state.failedCores[core] && !state.stoppedCores[core] {
            state.send(message, to: CoreID(core))
        }
        meanwhile()
        _ = state.waitUntil(milliseconds: 500) {
            (1..<max(state.coreCount, 1)).allSatisfy { state.failedCores[$0] || state.stoppedCores[$0] || answered($0) }
        }
    }

    /// Asks every other core for its status; nil entries did not answer in time.
    func collectStatus() -> [CoreStatus?] {
        for core in 0..<state.coreCount { state.statusReplies[core] = nil }
        askOtherCores(.statusRequest) { state.statusReplies[$0] != nil }
        var result = state.statusReplies
        result[0] = state.status
        return result
    }

    func listCores() {
        let status = collectStatus()
        print("core  apic  state         ticks  domains  dropped")
        for core in 0..<state.coreCount {
            let apic = state.apicIDs[core].rawValue
            if state.failedCores[core] {
                print("\(pad(core, 4))  \(pad(Int(apic), 4))  not started")
            } else if state.stoppedCores[core] {
                print("\(pad(core, 4))  \(pad(Int(apic), 4))  stopped (it panicked)")
            } else if let s = status[core] {
                print("\(pad(core, 4))  \(pad(Int(apic), 4))  up       \(pad(Int(s.ticks), 10))  \(pad(Int(s.domains), 7))  \(pad(Int(s.dropped), 7))")
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
            case (.runnable, .call?): doing = "waiting for a call's answer"
            case (.runnable, .notification?): doing = "waiting for a notification"
            case (.runnable, .anyEndpoint?): doing = "waiting on its waitset"
            case (.exited, _), (.stopped, _): doing = "ending"
            }
            let alive = domain.dispatcherFrameObject.map { state.capabilities.isAlive($0) } ?? true
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

    /// `panic [core]`: this runs only inside the kernel capability's `command` service,
    /// so the grant recorded here is the proof another core asks for before it stops
    /// (PanicAuthority.swift).
    func panic(on core: Int?) {
        let target = core ?? state.id.rawValue
        guard target < state.coreCount else { print("no core \(target)"); return }
        if target == state.id.rawValue { Panic.deliberateFault() }
        let ticket = state.panicGrants.grant(target: target, now: CPU.timestamp(), lifetime: state.cycles(milliseconds: 1000))
        state.send(.panicRequest(ticket: ticket), to: CoreID(target))
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

extension KernelCommands {
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
