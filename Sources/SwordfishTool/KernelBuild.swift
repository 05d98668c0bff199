import Foundation

/// Building the guest kernel: one SwiftPM build of the `kernel` product in `Kernel/` for
/// the bare-metal triple, with the toolset that turns on Embedded Swift.
public struct KernelBuild: Sendable {
    public static let product = "kernel"
    public var repository: Repository

    public init(repository: Repository) {
        self.repository = repository
    }

    public var command: ShellCommand {
        ShellCommand("swift", [
            "build",
            "--package-path", repository.kernelPackage,
            "--triple", "x86_64-unknown-none-elf",
            "--toolset", repository.kernelToolset,
            "-c", "release",
            "--product", Self.product,
        ])
    }

    /// A kernel built elsewhere, as an absolute path.
    public static func existing(_ path: String) throws(ToolError) -> String {
        let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
        guard FileManager.default.fileExists(atPath: absolute) else {
            throw .kernelMissing(path: absolute)
        }
        return absolute
    }

    /// Builds the kernel and the user programs' boot image beside it, with SwiftPM's
    /// output on standard error, and returns the path of the kernel ELF.
    public func run() throws(ToolError) -> String {
        let kernel = "\(try SwiftBuild.run(command, what: "the kernel"))/\(Self.product)"
        guard FileManager.default.fileExists(atPath: kernel) else {
            throw .kernelMissing(path: kernel)
        }
        try UserPrograms(repository: repository).buildImage(at: Self.bootImage(for: kernel))
        return kernel
    }

    /// The boot image (user programs) that goes with a kernel: beside it, with `.image`.
    public static func bootImage(for kernel: String) -> String { kernel + ".image" }

    /// The boot image for `kernel` if it exists (a prebuilt kernel may have none).
    public static func existingBootImage(for kernel: String) -> String? {
        FileManager.default.fileExists(atPath: bootImage(for: kernel)) ? bootImage(for: kernel) : nil
    }
}

/// Running one `swift build` and finding where it put its products.
enum SwiftBuild {
    /// Runs `command` (SwiftPM's output on standard error), then the same command with
    /// `--show-bin-path`; returns that folder.
    static func run(_ command: ShellCommand, what: String) throws(ToolError) -> String {
        RawOutput.note("building \(what): \(command)")
        let status = try Subprocess.run(command, output: .standardError).status
        guard status == 0 else { throw .commandFailed(command: what, status: status) }
        var binPathCommand = command
        binPathCommand.arguments.append("--show-bin-path")
        let result = try Subprocess.run(binPathCommand, output: .capture)
        let binPath = String(decoding: result.captured, as: UTF8.self).lines.last(where: { !$0.isEmpty }) ?? ""
        guard result.status == 0, !binPath.isEmpty else {
            throw .commandFailed(command: "\(binPathCommand)", status: result.status)
        }
        return binPath
    }
}

/// Making sure QEMU is there, installing it from Debian's packages when the tool may.
public enum QEMUInstaller {
    public static let package = "qemu-system-x86"

    public static var installCommand: String {
        "sudo apt-get update && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y \(package)"
    }

    public static func ensureInstalled() throws(ToolError) {
        try DebianPackages.ensure(QEMUConfiguration.executable, from: package,
                                  orThrow: .qemuMissing(installCommand: installCommand))
    }
}

/// Installing the Debian package of a program the tool needs, when it may.
public enum DebianPackages {
    /// Nothing if `executable` is on the PATH. Otherwise, as root, `apt-get update` and
    /// `apt-get install -y package` (a fresh machine may have no package lists yet);
    /// without root, `missing`, which says the command to run.
    public static func ensure(_ executable: String, from package: String, orThrow missing: ToolError) throws(ToolError) {
        guard Executables.find(executable) == nil else { return }
        guard geteuid() == 0, Executables.find("apt-get") != nil else { throw missing }
        RawOutput.note("\(executable) is missing; installing \(package)")
        let update = ShellCommand("apt-get", ["update"])
        let updateStatus = try Subprocess.run(update, output: .standardError).status
        guard updateStatus == 0 else {
            throw .commandFailed(command: "\(update)", status: updateStatus)
        }
        let install = ShellCommand("apt-get", ["install", "-y", package])
        let installStatus = try Subprocess.run(
            install, output: .standardError, environment: ["DEBIAN_FRONTEND": "noninteractive"]
        ).status
        guard installStatus == 0, Executables.find(executable) != nil else {
            throw .commandFailed(command: "DEBIAN_FRONTEND=noninteractive \(install)", status: installStatus)
        }
    }
}
