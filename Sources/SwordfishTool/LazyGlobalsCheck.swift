import Foundation

/// The kernel may have no lazily initialised global. Swift initialises a stored global
/// or static whose value is not a compile-time constant on first use, through
/// `swift_once`: a token (`…Wz`) and an initialiser (`…WZ`). In a multikernel that
/// token is a global that whichever core touches it first writes, with a cross-core
/// atomic and an unbounded spin for the others: exactly the shared kernel state the
/// design forbids. Constants (computed properties, literals) have no token; so a kernel
/// ELF with any such symbol fails the test run, and the fault cannot come back unseen.
public enum LazyGlobalsCheck {
    /// The name the check reports under.
    public static let name = "kernel image: no lazily initialised globals (swift_once tokens)"

    /// The one-time-initialisation symbols in `symbolTable`, the output of `llvm-nm`
    /// (`address type name` per line).
    public static func lazyGlobals(inSymbolTable symbolTable: String) -> [String] {
        symbolTable.split(separator: "\n").compactMap { line in
            guard let name = line.split(separator: " ").last, name.hasSuffix("WZ") || name.hasSuffix("Wz") else { return nil }
            return String(name)
        }
    }

    /// nil if `kernel` has none, else what is wrong (the symbols, or that nm failed).
    public static func problem(kernel: String) -> String? {
        guard let nm = Executables.findInToolchain("llvm-nm") ?? Executables.find("llvm-nm") else {
            return "llvm-nm not found (it comes with the Swift toolchain)"
        }
        let result: Subprocess.Result
        do {
            result = try Subprocess.run(ShellCommand(nm, [kernel]), output: .capture, timeout: .seconds(60))
        } catch {
            return "llvm-nm did not run: \(error)"
        }
        guard result.status == 0 else { return "llvm-nm \(kernel) exited with status \(result.status)" }
        let found = lazyGlobals(inSymbolTable: String(decoding: result.captured, as: UTF8.self))
        guard !found.isEmpty else { return nil }
        return "\(found.count) one-time-initialisation symbols (make these globals constants or computed): "
            + found.joined(separator: " ")
    }
}
