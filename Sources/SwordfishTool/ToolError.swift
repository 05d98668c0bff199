/// Everything that can stop the tool, each with the sentence a user needs to act on it.
public enum ToolError: Error, Equatable, Sendable, CustomStringConvertible {
    /// A `--memory` or `--config` value that is not a whole number of MiB or GiB.
    case invalidMemorySize(String)
    /// A `--config` value that is not `CORES:SIZE`.
    case invalidConfiguration(String)
    /// A program's `guest-tests` file (ProgramTests.swift) says something it cannot mean.
    case invalidGuestTests(String)
    case invalidProgramName(String)
    case programExists(String)
    case programNotBuilt(name: String, path: String)
    /// No folder at or above the search start holds `Kernel/` beside `Package.swift`.
    case repositoryNotFound(searchedFrom: String)
    /// A program the tool needs is not on `PATH`.
    case executableNotFound(String)
    /// A program could not be started at all.
    case launchFailed(command: String, reason: String)
    /// A program ran and failed.
    case commandFailed(command: String, status: Int32)
    /// QEMU is missing and the tool may not install it itself.
    case qemuMissing(installCommand: String)
    /// No kernel ELF where the build (or `--kernel`) said it would be.
    case kernelMissing(path: String)
    /// A file the tool writes (a log, a report) could not be written.
    case fileNotWritable(path: String, reason: String)
    /// Something the tool fetches or installs is missing and the tool may not get it
    /// itself (the Linux guest's packages, gcc); `command` gets it.
    case missingPackage(what: String, command: String)
    /// `swordfish trace` could not collect the trace, for this reason.
    case traceFailed(String)

    public var description: String {
        switch self {
        case .invalidMemorySize(let text):
            return "invalid memory size '\(text)': use a whole number of MiB or GiB such as 128M, 1G or 4096M"
        case .invalidConfiguration(let text):
            return "invalid configuration '\(text)': use CORES:SIZE such as 4:1G"
        case .invalidGuestTests(let text):
            return text
        case .invalidProgramName(let name):
            return "'\(name)' cannot be a program name: use lowercase letters, digits and dashes, starting with a letter, at most 31 characters"
        case .programExists(let folder):
            return "\(folder) exists already"
        case .programNotBuilt(let name, let path):
            return "User/Sources/\(name) was not built (no \(path)): is \"\(name)\" in the programs list of User/Package.swift?"
        case .repositoryNotFound(let start):
            return "no Swordfish repository (a folder with Package.swift and Kernel/) at or above \(start); pass --repo"
        case .executableNotFound(let name):
            return "'\(name)' is not on PATH"
        case .launchFailed(let command, let reason):
            return "could not start \(command): \(reason)"
        case .commandFailed(let command, let status):
            return "\(command) failed with status \(status)"
        case .qemuMissing(let installCommand):
            return "qemu-system-x86_64 is missing; install it with: \(installCommand)"
        case .kernelMissing(let path):
            return "no kernel ELF at \(path)"
        case .fileNotWritable(let path, let reason):
            return "cannot write \(path): \(reason)"
        case .missingPackage(let what, let command):
            return "\(what) is missing; get it with: \(command)"
        case .traceFailed(let reason):
            return "no trace: \(reason)"
        }
    }
}
