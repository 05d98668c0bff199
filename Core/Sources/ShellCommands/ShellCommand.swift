// The kernel shell's command language, parsed apart from the kernel so it is tested on
// the host. A line is words separated by spaces; the first word names the command.
// Anything the user types is untrusted: every line parses to a command or to a clear
// complaint, never a crash.

public enum ShellCommand: Equatable {
    /// The longest line the shell takes; a longer one is refused, not cut.
    public static let lineLimit = 200

    case help
    case cores
    case memory
    case interprocessorInterrupt(core: Int)
    case uptime
    /// Fault on purpose on a core (this one when nil) to show the panic output.
    case panic(core: Int?)
    case halt
    /// The knowledge base: facts and the latency matrix.
    case knowledge
    /// The multicast tree from core 0.
    case knowledgeTree
    /// In-guest channel round trip between two cores against the cache-line floor.
    case benchChannel(from: Int, to: Int)
    /// One multicast down the tree from core 0, acknowledged back up.
    case multicast
    /// Every core's trace buffer on or off (docs/tracing.md).
    case trace(on: Bool)
    /// This core's domains: id, name, what they are doing, preemptions and upcalls.
    case domains
    /// Run a user program from the boot image on this core, with an argument string.
    case run(program: [UInt8], arguments: [UInt8])
    /// The same on another core (`oncore <core> <program> [args]`, as in Barrelfish's
    /// shell): `line` is the program and its arguments.
    case runOnCore(core: Int, line: [UInt8])
    /// Random capability invocations from a seed, then the kernel's invariant check.
    case fuzz(seed: Int, count: Int)
    case empty
    case unknown([UInt8])
    case usage(StaticString)

    public static func == (a: Self, b: Self) -> Bool {
        switch (a, b) {
        case (.help, .help), (.cores, .cores), (.memory, .memory), (.uptime, .uptime),
             (.halt, .halt), (.empty, .empty), (.domains, .domains): return true
        case let (.interprocessorInterrupt(x), .interprocessorInterrupt(y)): return x == y
        case let (.panic(x), .panic(y)): return x == y
        case (.knowledge, .knowledge), (.knowledgeTree, .knowledgeTree), (.multicast, .multicast): return true
        case let (.trace(x), .trace(y)): return x == y
        case let (.benchChannel(a, b), .benchChannel(c, d)): return a == c && b == d
        case let (.run(a, b), .run(c, d)): return a == c && b == d
        case let (.runOnCore(a, b), .runOnCore(c, d)): return a == c && b == d
        case let (.fuzz(a, b), .fuzz(c, d)): return a == c && b == d
        case let (.unknown(x), .unknown(y)): return x == y
        case let (.usage(x), .usage(y)): return x.utf8Start == y.utf8Start
        default: return false
        }
    }

    /// One line of help per command, in the order `help` prints them.
    public static let helpLines: [StaticString] = [
        "help            this list",
        "cores           every core: id, APIC id, state, timer ticks, domains",
        "mem             every core's share of memory: frames total, free, used; heap bytes",
        "ipi <core>      round trip to that core's CPU driver and back, in cycles",
        "uptime          time since boot",
        "panic [core]    fault on purpose on a core (default: this one) to show a panic",
        "skb             the knowledge base: cores, topology, latency matrix",
        "skb tree        the multicast trees from core 0 and their modelled cost",
        "multicast       one multicast from core 0 down the tree, acks back up: cycles",
        "trace on|off    every core's trace buffer on (emptied) or off; where each lies",
        "bench channel [a b]  channel round trip a -> b against a cache-line ping-pong",
        "domains         core 0's domains: id, name, state, preemptions, upcalls",
        "run <program> [args]  run a user program from the boot image on core 0",
        "oncore <core> <program> [args]  run it on that core",
        "ps              every domain on every core, as the monitors' replicas know them",
        "names           every registered name and the domain that holds it",
        "lspci           every PCI function: address, vendor:device, kind, interrupt, BARs",
        "net             the network driver (netd): addresses, packets and drops per queue and client",
        "httpd [core]    start the web server on port 80 over netd (both in the background)",
        "spawn <core> <program> [args]  start a program on any core (through the monitors)",
        "kill <core>.<domain>  stop a domain on any core (through the monitors)",
        "fuzz <seed> <count>  random capability invocations, then the invariant check",
        "halt            power off",
    ]

    public init(parsing line: [UInt8]) {
        let words = Self.split(line)
        guard let first = words.first else { self = .empty; return }
        func argument(_ index: Int) -> Int? { index < words.count ? Self.decimal(words[index]) : nil }
        switch first {
        case Array("help".utf8), Array("?".utf8): self = words.count == 1 ? .help : .usage("usage: help")
        case Array("cores".utf8): self = words.count == 1 ? .cores : .usage("usage: cores")
        case Array("mem".utf8): self = words.count == 1 ? .memory : .usage("usage: mem")
        case Array("uptime".utf8): self = words.count == 1 ? .uptime : .usage("usage: uptime")
        case Array("halt".utf8): self = words.count == 1 ? .halt : .usage("usage: halt")
        case Array("domains".utf8): self = words.count == 1 ? .domains : .usage("usage: domains")
        case Array("ipi".utf8):
            if words.count == 2, let core = argument(1) { self = .interprocessorInterrupt(core: core) }
            else { self = .usage("usage: ipi <core>") }
        case Array("skb".utf8):
            if words.count == 1 { self = .knowledge }
            else if words.count == 2, words[1] == Array("tree".utf8) { self = .knowledgeTree }
            else { self = .usage("usage: skb [tree]") }
        case Array("run".utf8):
            guard words.count >= 2 else { self = .usage("usage: run <program> [args]"); return }
            self = .run(program: words[1], arguments: Self.join(words.dropFirst(2)))
        case Array("oncore".utf8):
            guard words.count >= 3, let core = argument(1) else { self = .usage("usage: oncore <core> <program> [args]"); return }
            self = .runOnCore(core: core, line: Self.join(words.dropFirst(2)))
        // The monitors' services: the `names` program asks this core's monitor.
        case Array("ps".utf8): self = words.count == 1 ? .run(program: Array("names".utf8), arguments: Array("ps".utf8)) : .usage("usage: ps")
        case Array("lspci".utf8): self = words.count == 1 ? .run(program: Array("pci".utf8), arguments: Array("list".utf8)) : .usage("usage: lspci")
        case Array("net".utf8): self = words.count == 1 ? .run(program: Array("netd".utf8), arguments: Array("status".utf8)) : .usage("usage: net")
        // The web server runs until killed: `httpd start` makes sure netd runs, starts the
        // server through the monitors (on `core`, or where the placement says) and ends,
        // so the prompt comes back.
        case Array("httpd".utf8):
            if words.count <= 2, words.count == 1 || argument(1) != nil {
                self = .run(program: Array("httpd".utf8), arguments: Array("start".utf8) + (words.count == 2 ? Array(" ".utf8) + words[1] : []))
            } else { self = .usage("usage: httpd [core]") }
        case Array("names".utf8):
            self = words.count == 1 ? .run(program: Array("names".utf8), arguments: Array("list".utf8)) : .usage("usage: names")
        case Array("spawn".utf8):
            guard words.count >= 3, argument(1) != nil else { self = .usage("usage: spawn <core> <program> [args]"); return }
            self = .run(program: Array("names".utf8), arguments: Self.join(words[...]))
        case Array("kill".utf8):
            guard words.count == 2 else { self = .usage("usage: kill <core>.<domain>"); return }
            self = .run(program: Array("names".utf8), arguments: Self.join(words[...]))
        case Array("fuzz".utf8):
            if words.count == 3, let seed = argument(1), let count = argument(2) { self = .fuzz(seed: seed, count: count) }
            else { self = .usage("usage: fuzz <seed> <count>") }
        case Array("multicast".utf8): self = words.count == 1 ? .multicast : .usage("usage: multicast")
        case Array("trace".utf8):
            switch words.count == 2 ? words[1] : [] {
            case Array("on".utf8): self = .trace(on: true)
            case Array("off".utf8): self = .trace(on: false)
            default: self = .usage("usage: trace on|off")
            }
        case Array("bench".utf8):
            if words.count == 2, words[1] == Array("channel".utf8) { self = .benchChannel(from: 0, to: 1) }
            else if words.count == 4, words[1] == Array("channel".utf8), let a = argument(2), let b = argument(3) {
                self = .benchChannel(from: a, to: b)
            } else { self = .usage("usage: bench channel [from to]") }
        case Array("panic".utf8):
            if words.count == 1 { self = .panic(core: nil) }
            else if words.count == 2, let core = argument(1) { self = .panic(core: core) }
            else { self = .usage("usage: panic [core]") }
        default: self = .unknown(first)
        }
    }

    static func split(_ line: [UInt8]) -> [[UInt8]] {
        var words: [[UInt8]] = []
        var current: [UInt8] = []
        for byte in line {
            if byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") {
                if !current.isEmpty { words.append(current); current = [] }
            } else {
                current.append(byte)
            }
        }
        if !current.isEmpty { words.append(current) }
        return words
    }

    /// Words joined again by single spaces.
    static func join(_ words: ArraySlice<[UInt8]>) -> [UInt8] {
        var line: [UInt8] = []
        for (i, word) in words.enumerated() { line += (i == 0 ? [] : [UInt8(ascii: " ")]) + word }
        return line
    }

    /// A non-negative decimal number of at most 9 digits, or nil.
    static func decimal(_ word: [UInt8]) -> Int? {
        guard !word.isEmpty, word.count <= 9 else { return nil }
        var value = 0
        for byte in word {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        return value
    }
}
