import Foundation

/// Turns kernel and user program addresses into function names and source lines, using
/// the debug information in the kernel ELF and in the programs' ELFs in its boot image.
///
/// The preferred tool is the toolchain's own `llvm-symbolizer` (it reads the DWARF that
/// the Swift compiler writes and reports inlined frames); `addr2line` from binutils is the
/// fallback. Neither demangles Swift names, so those go through `swift-demangle`.
public struct Symbolizer: Sendable {
    enum Backend: Equatable, Sendable {
        case llvmSymbolizer(String)
        case addr2line(String)
    }

    var backend: Backend?
    var demangler: ShellCommand?
    public var kernel: String
    /// The boot image that holds the user programs QEMU boots with `kernel`.
    public var bootImage: String
    /// Source paths under this folder are printed relative to it.
    public var sourceRoot: String?

    /// Finds the tools on this host.
    public init(kernel: String, sourceRoot: String? = nil) {
        self.kernel = kernel
        self.bootImage = KernelBuild.bootImage(for: kernel)
        self.sourceRoot = sourceRoot
        if let llvm = Executables.findInToolchain("llvm-symbolizer") ?? Executables.find("llvm-symbolizer") {
            backend = .llvmSymbolizer(llvm)
        } else if let addr2line = Executables.find("addr2line") {
            backend = .addr2line(addr2line)
        }
        if let demangle = Executables.findInToolchain("swift-demangle") {
            demangler = ShellCommand(demangle, ["--simplified", "--compact"])
        } else if Executables.find("swift") != nil {
            demangler = ShellCommand("swift", ["demangle", "--simplified", "--compact"])
        }
    }

    /// The report's frames, one or more lines each, ready to print under the panic.
    public func describe(_ report: PanicReport) -> [String] {
        let frames = report.frames
        guard !frames.isEmpty else { return [] }
        let locations = symbolize(frames.map(\.lookupAddress), in: kernel)
        return zip(frames, locations).flatMap { frame, inlineChain in
            Self.format(frame, inlineChain, relativeTo: sourceRoot)
        }
    }

    /// The fault's `rip` in its program, ready to print under the `FAULT` line. The
    /// program's ELF comes from the boot image, so that it is the one QEMU booted even
    /// when the kernel was built elsewhere (`--kernel`).
    public func describe(_ fault: UserFaultReport) -> [String] {
        guard let executable = UserPrograms.executable(named: fault.program, inBootImage: bootImage) else {
            return Self.format(fault.frame, [], relativeTo: nil).map { "\($0) (no program '\(fault.program)' in \(bootImage))" }
        }
        // The symbolizers read only files.
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("swordfish-\(fault.program)-\(UUID().uuidString)").path
        var chain: [SourceLocation] = []
        if FileManager.default.createFile(atPath: file, contents: executable) {
            chain = symbolize([fault.frame.lookupAddress], in: file)[0]
            try? FileManager.default.removeItem(atPath: file)
        }
        return Self.format(fault.frame, chain, relativeTo: sourceRoot)
    }

    /// For each address, its chain of source locations in the ELF at `object`, innermost
    /// (inlined) first; an empty chain when nothing is known.
    func symbolize(_ addresses: [UInt64], in object: String) -> [[SourceLocation]] {
        let hex = addresses.map { "0x" + String($0, radix: 16) }
        var chains: [[SourceLocation]]
        switch backend {
        case .llvmSymbolizer(let path):
            let command = ShellCommand(path, ["--obj=\(object)", "--output-style=JSON", "--inlines"] + hex)
            let output = (try? Subprocess.run(command, output: .capture))?.captured ?? Data()
            chains = SymbolizerOutput.parseLLVMJSON(output)
        case .addr2line(let path):
            let command = ShellCommand(path, ["-f", "-C", "-e", object] + hex)
            let output = (try? Subprocess.run(command, output: .capture))?.captured ?? Data()
            chains = SymbolizerOutput.parseAddr2line(String(decoding: output, as: UTF8.self))
        case nil:
            chains = []
        }
        if chains.count != addresses.count {
            chains = Array(repeating: [], count: addresses.count)
        }
        return demangle(chains)
    }

    private func demangle(_ chains: [[SourceLocation]]) -> [[SourceLocation]] {
        let mangled = Set(chains.joined().map(\.function).filter(SymbolizerOutput.isSwiftMangled))
        guard let demangler, !mangled.isEmpty else { return chains }
        let names = Array(mangled)
        var command = demangler
        command.arguments += names
        guard let result = try? Subprocess.run(command, output: .capture), result.status == 0 else {
            return chains
        }
        let demangled = String(decoding: result.captured, as: UTF8.self).lines
        guard demangled.count >= names.count else { return chains }
        let table = Dictionary(uniqueKeysWithValues: zip(names, demangled.prefix(names.count)))
        return chains.map { chain in
            chain.map { location in
                var location = location
                location.function = table[location.function] ?? location.function
                return location
            }
        }
    }

    static func format(_ frame: BacktraceFrame, _ chain: [SourceLocation], relativeTo root: String?) -> [String] {
        let address = "0x" + String(frame.address, radix: 16)
        guard let first = chain.first else {
            return ["    \(frame.label) \(address) in ??"]
        }
        var lines = ["    \(frame.label) \(address) in \(first.function)\(first.suffix(relativeTo: root))"]
        for caller in chain.dropFirst() {
            lines.append("        inlined into \(caller.function)\(caller.suffix(relativeTo: root))")
        }
        return lines
    }
}

/// A function and where in the source, as a symbolizer reports it.
struct SourceLocation: Equatable, Sendable {
    var function: String
    var file: String?
    var line: Int?

    func suffix(relativeTo root: String?) -> String {
        guard var file else { return "" }
        if let root, file.hasPrefix(root + "/") {
            file = String(file.dropFirst(root.count + 1))
        }
        if let line, line > 0 {
            return " at \(file):\(line)"
        }
        return " at \(file)"
    }
}

/// Parsers for what the symbolizers print.
enum SymbolizerOutput {
    private struct LLVMAddress: Decodable {
        var Symbol: [LLVMSymbol]?
    }

    private struct LLVMSymbol: Decodable {
        var FunctionName: String?
        var FileName: String?
        var Line: Int?
    }

    /// `llvm-symbolizer --output-style=JSON`: one object per address, each with its
    /// inline chain under `Symbol`.
    static func parseLLVMJSON(_ data: Data) -> [[SourceLocation]] {
        guard let addresses = try? JSONDecoder().decode([LLVMAddress].self, from: data) else { return [] }
        return addresses.map { address in
            (address.Symbol ?? []).compactMap { symbol in
                guard let name = symbol.FunctionName, !name.isEmpty else { return nil }
                let file = symbol.FileName.flatMap { $0.isEmpty ? nil : $0 }
                return SourceLocation(function: name, file: file, line: symbol.Line)
            }
        }
    }

    /// `addr2line -f`: two lines per address, the function then `file:line`, with `??`
    /// for what is unknown.
    static func parseAddr2line(_ text: String) -> [[SourceLocation]] {
        let lines = text.lines
        var chains: [[SourceLocation]] = []
        var index = 0
        while index + 1 < lines.count {
            let function = lines[index]
            let place = lines[index + 1]
            index += 2
            guard function != "??" else { chains.append([]); continue }
            var location = SourceLocation(function: function)
            if let colon = place.lastIndex(of: ":"), !place.hasPrefix("??") {
                location.file = String(place[..<colon])
                location.line = Int(place[place.index(after: colon)...].prefix(while: \.isNumber))
            }
            chains.append([location])
        }
        return chains
    }

    /// Whether a symbol is a Swift mangled name (`$s…`, or `$e…` in Embedded Swift).
    /// Other names must not reach `swift-demangle`, which would mangle them further.
    static func isSwiftMangled(_ name: String) -> Bool {
        ["$s", "$e", "_$s", "_$e", "$S", "_$S", "_T0"].contains { name.hasPrefix($0) }
    }
}
