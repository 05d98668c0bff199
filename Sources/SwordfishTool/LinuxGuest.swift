import Foundation
import HTTP

/// The Linux guest of `swordfish bench`: Debian's own kernel and busybox, and the
/// benchmark program from `Benchmarks/Linux/`, booted under the QEMU line Swordfish gets.
///
/// Nothing of it is committed. The packages come from Debian's archive with
/// `apt-get download` (no root needed, nothing installed) into a cache outside the
/// repository, `$XDG_CACHE_HOME/swordfish/linux` or `~/.cache/swordfish/linux`; only the
/// kernel image and the busybox binary are kept from them. The benchmark program is
/// compiled there with `clang -static`, and the initramfs written there, on every run.
public struct LinuxGuest: Sendable {
    /// The package that always depends on the current kernel package.
    public static let kernelMetaPackage = "linux-image-amd64"
    public static let busyboxPackage = "busybox-static"
    /// The benchmark program's source, relative to the repository root.
    public static let benchmarkSource = "Benchmarks/Linux/swordfish-bench.c"

    public var repository: Repository
    public var cache: String

    public init(repository: Repository, cache: String = LinuxGuest.defaultCache()) {
        self.repository = repository
        self.cache = cache
    }

    /// What QEMU boots: `-kernel`, `-initrd`, and which Debian kernel it is.
    public struct Image: Equatable, Sendable {
        public var kernel: String
        public var initrd: String
        /// The kernel release, such as `6.1.0-56-amd64`.
        public var release: String
    }

    public static func defaultCache(
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> String {
        if let xdg = environment["XDG_CACHE_HOME"], xdg.hasPrefix("/") {
            return "\(xdg)/swordfish/linux"
        }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return "\(home)/.cache/swordfish/linux"
    }

    /// The kernel command line: the console on the first serial port as Swordfish's, no
    /// boot chatter, a panic ends QEMU (`-no-reboot`), and the words after `--` go to
    /// `/init`.
    ///
    /// With QEMU's `-icount` (QEMU 7.2 here) Linux never gets past bringing up its
    /// second CPU ("x86: Booting SMP configuration:"), with any `shift`, `sleep` or CPU
    /// model; so under `-icount` it runs on its first CPU alone (`nosmp`), which is
    /// enough for the path-length rows that instruction counting is for.
    public static func commandLine(quick: Bool, countsInstructions: Bool = false) -> String {
        "console=ttyS0 quiet panic=-1" + (countsInstructions ? " nosmp" : "") + (quick ? " -- quick" : "")
    }

    /// The command line of the http-requests boot: `/init` starts busybox's httpd.
    public static let httpCommandLine = "console=ttyS0 quiet panic=-1 -- httpd"

    /// Fetches what is missing, compiles the benchmark program and writes the initramfs.
    public func prepare() throws(ToolError) -> Image {
        do {
            try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
        } catch {
            throw .fileNotWritable(path: cache, reason: "\(error)")
        }
        let (kernel, release) = try kernelImage()
        let busybox = try busyboxBinary()
        let benchmark = try compileBenchmark()
        let initrd = "\(cache)/initramfs.cpio"
        // The network driver's modules when the kernel package had them, and the 4 KiB
        // file the http-requests row asks for.
        let modules = LinuxGuestInitramfs.networkModules.compactMap { name in
            FileManager.default.contents(atPath: "\(modulesFolder(release))/\(name).ko").map { (name, [UInt8]($0)) }
        }
        let archive = LinuxGuestInitramfs.archive(busybox: try contents(of: busybox), benchmark: try contents(of: benchmark),
                                                  modules: modules.count == LinuxGuestInitramfs.networkModules.count ? modules : [],
                                                  site: [(HTTPBench.path, HTTPSite.contents(of: HTTPBench.path, in: repository))])
        guard FileManager.default.createFile(atPath: initrd, contents: Data(archive)) else {
            throw .fileNotWritable(path: initrd, reason: "cannot create the file")
        }
        return Image(kernel: kernel, initrd: initrd, release: release)
    }

    // MARK: Packages

    /// The current Debian kernel's image in the cache, fetched if it is not there yet.
    func kernelImage() throws(ToolError) -> (path: String, release: String) {
        let cached = cachedKernels()
        guard let package = currentKernelPackage() else {
            // No apt here (or no answer from it): any kernel fetched before will do.
            if let newest = cached.last {
                return ("\(cache)/vmlinuz-\(newest)", newest)
            }
            throw .missingPackage(
                what: "a Debian kernel package (\(Self.kernelMetaPackage) names none)",
                command: "sudo apt-get update")
        }
        let release = Self.release(ofKernelPackage: package)
        let path = "\(cache)/vmlinuz-\(release)"
        let modules = modulesFolder(release)
        if FileManager.default.fileExists(atPath: path), FileManager.default.fileExists(atPath: modules) {
            return (path, release)
        }
        let extracted = try fetch(package)
        defer { try? FileManager.default.removeItem(atPath: extracted) }
        // The virtio network driver's modules (for the http-requests row), where the
        // package has them uncompressed; an empty folder says it has not.
        try? FileManager.default.createDirectory(atPath: modules, withIntermediateDirectories: true)
        let tree = "\(extracted)/lib/modules/\(release)/kernel"
        for module in ["drivers/virtio/virtio_ring.ko", "drivers/virtio/virtio.ko", "drivers/virtio/virtio_pci_modern_dev.ko",
                       "drivers/virtio/virtio_pci_legacy_dev.ko", "drivers/virtio/virtio_pci.ko",
                       "net/core/failover.ko", "drivers/net/net_failover.ko", "drivers/net/virtio_net.ko"] {
            let name = String(module.split(separator: "/").last!)
            if FileManager.default.fileExists(atPath: "\(tree)/\(module)") { try? move("\(tree)/\(module)", to: "\(modules)/\(name)") }
        }
        let boot = (try? FileManager.default.contentsOfDirectory(atPath: "\(extracted)/boot")) ?? []
        guard let image = boot.sorted().first(where: { $0.hasPrefix("vmlinuz-") }) else {
            throw .missingPackage(what: "boot/vmlinuz-* in \(package)", command: "apt-get download \(package)")
        }
        try move("\(extracted)/boot/\(image)", to: path)
        // Debian has moved on: the kernels fetched before are of no more use.
        for old in cached where old != release {
            try? FileManager.default.removeItem(atPath: "\(cache)/vmlinuz-\(old)")
            try? FileManager.default.removeItem(atPath: modulesFolder(old))
        }
        return (path, release)
    }

    /// Where the network driver's modules of kernel `release` are kept.
    func modulesFolder(_ release: String) -> String { "\(cache)/modules-\(release)" }

    /// busybox from `busybox-static`, fetched once.
    func busyboxBinary() throws(ToolError) -> String {
        let path = "\(cache)/busybox"
        if FileManager.default.fileExists(atPath: path) {
            return path
        }
        let extracted = try fetch(Self.busyboxPackage)
        defer { try? FileManager.default.removeItem(atPath: extracted) }
        try move("\(extracted)/bin/busybox", to: path)
        return path
    }

    /// Kernel releases already in the cache, oldest first.
    func cachedKernels() -> [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: cache)) ?? []
        return names.filter { $0.hasPrefix("vmlinuz-") }.map { String($0.dropFirst("vmlinuz-".count)) }
            .sorted { Self.versionOrder($0, $1) }
    }

    /// The kernel package `linux-image-amd64` depends on, or failing that the newest
    /// `linux-image-<version>-amd64[-unsigned]` apt knows; nil without apt.
    func currentKernelPackage() -> String? {
        if let result = try? Subprocess.run(ShellCommand("apt-cache", ["depends", Self.kernelMetaPackage]), output: .capture),
           result.status == 0,
           let package = Self.kernelPackage(inDepends: String(decoding: result.captured, as: UTF8.self)) {
            return package
        }
        let search = ShellCommand("apt-cache", ["search", "--names-only", "^linux-image-[0-9].*-amd64"])
        if let result = try? Subprocess.run(search, output: .capture), result.status == 0 {
            return Self.newestKernelPackage(inSearch: String(decoding: result.captured, as: UTF8.self))
        }
        return nil
    }

    /// `  Depends: linux-image-6.1.0-56-amd64` → `linux-image-6.1.0-56-amd64`.
    static func kernelPackage(inDepends text: String) -> String? {
        for line in text.lines {
            let words = line.split(separator: " ")
            if words.count == 2, words[0] == "Depends:", isKernelPackage(words[1]) {
                return String(words[1])
            }
        }
        return nil
    }

    /// The newest plain amd64 kernel (not cloud, rt or debug symbols) in `apt-cache
    /// search` output, preferring the signed package where both exist.
    static func newestKernelPackage(inSearch text: String) -> String? {
        let packages = text.lines.compactMap { $0.split(separator: " ").first }.filter(isKernelPackage).map(String.init)
        return packages.max { a, b in
            let (ra, rb) = (release(ofKernelPackage: a), release(ofKernelPackage: b))
            if ra != rb { return versionOrder(ra, rb) }
            return a.hasSuffix("-unsigned") && !b.hasSuffix("-unsigned")
        }
    }

    /// `linux-image-<digits, dots and dashes>-amd64`, optionally `-unsigned`.
    static func isKernelPackage<S: StringProtocol>(_ name: S) -> Bool {
        var rest = Substring(name)
        guard rest.hasPrefix("linux-image-") else { return false }
        rest = rest.dropFirst("linux-image-".count)
        if rest.hasSuffix("-unsigned") { rest = rest.dropLast("-unsigned".count) }
        guard rest.hasSuffix("-amd64") else { return false }
        rest = rest.dropLast("-amd64".count)
        return !rest.isEmpty && rest.first!.isNumber && rest.allSatisfy { $0.isNumber || $0 == "." || $0 == "-" }
    }

    /// `linux-image-6.1.0-56-amd64-unsigned` → `6.1.0-56-amd64`.
    static func release(ofKernelPackage package: String) -> String {
        var release = Substring(package)
        if release.hasPrefix("linux-image-") { release = release.dropFirst("linux-image-".count) }
        if release.hasSuffix("-unsigned") { release = release.dropLast("-unsigned".count) }
        return String(release)
    }

    /// Numeric order of dotted and dashed versions: `6.1.0-9` before `6.1.0-56`.
    static func versionOrder(_ a: String, _ b: String) -> Bool {
        func parts(_ text: String) -> [Int] {
            text.split(whereSeparator: { !$0.isNumber }).compactMap { Int($0) }
        }
        let (pa, pb) = (parts(a), parts(b))
        for (x, y) in zip(pa, pb) where x != y { return x < y }
        return pa.count != pb.count ? pa.count < pb.count : a < b
    }

    /// Downloads `package` and unpacks it into a fresh folder in the cache (the package
    /// file itself is deleted), which the caller removes. A failed download is retried once after `apt-get update` when the
    /// tool runs as root; otherwise the error names the command to run.
    private func fetch(_ package: String) throws(ToolError) -> String {
        let downloads = "\(cache)/download-\(getpid())"
        try? FileManager.default.removeItem(atPath: downloads)
        do {
            try FileManager.default.createDirectory(atPath: downloads, withIntermediateDirectories: true)
        } catch {
            throw .fileNotWritable(path: downloads, reason: "\(error)")
        }
        var download = ShellCommand("apt-get", ["download", package])
        if geteuid() == 0 {
            // apt's download sandbox user may not be able to write to root's home.
            download.arguments += ["-o", "APT::Sandbox::User=root"]
        }
        RawOutput.note("fetching \(package) into \(cache)")
        var status = try Subprocess.run(download, output: .standardError, workingDirectory: downloads).status
        if status != 0 {
            guard geteuid() == 0 else {
                try? FileManager.default.removeItem(atPath: downloads)
                throw .missingPackage(what: package, command: "sudo apt-get update")
            }
            _ = try Subprocess.run(ShellCommand("apt-get", ["update"]), output: .standardError)
            status = try Subprocess.run(download, output: .standardError, workingDirectory: downloads).status
        }
        let debs = ((try? FileManager.default.contentsOfDirectory(atPath: downloads)) ?? []).filter { $0.hasSuffix(".deb") }
        guard status == 0, let deb = debs.first else {
            try? FileManager.default.removeItem(atPath: downloads)
            throw .commandFailed(command: "\(download)", status: status)
        }
        let unpack = ShellCommand("dpkg-deb", ["-x", "\(downloads)/\(deb)", downloads])
        let unpacked = try Subprocess.run(unpack, output: .standardError).status
        try? FileManager.default.removeItem(atPath: "\(downloads)/\(deb)")
        guard unpacked == 0 else {
            try? FileManager.default.removeItem(atPath: downloads)
            throw .commandFailed(command: "\(unpack)", status: unpacked)
        }
        return downloads
    }

    private func move(_ source: String, to destination: String) throws(ToolError) {
        try? FileManager.default.removeItem(atPath: destination)
        do {
            try FileManager.default.moveItem(atPath: source, toPath: destination)
        } catch {
            throw .fileNotWritable(path: destination, reason: "\(error)")
        }
    }

    private func contents(of path: String) throws(ToolError) -> [UInt8] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .fileNotWritable(path: path, reason: "cannot read it back")
        }
        return Array(data)
    }

    // MARK: The benchmark program

    /// `clang -static -O2` of `Benchmarks/Linux/swordfish-bench.c` into the cache: the
    /// Swift toolchain's clang, the compiler of the guest's C (the parallel workload's
    /// matrix multiply is one source on both sides, so one compiler keeps the comparison
    /// about the systems: gcc's code of it ran about 1.3× faster than clang's under TCG).
    /// clang links with gcc's start files and the static C library, which are installed
    /// when missing and the tool runs as root.
    func compileBenchmark() throws(ToolError) -> String {
        let output = "\(cache)/swordfish-bench"
        guard let clang = Executables.findInToolchain("clang") ?? Executables.find("clang") else {
            throw .missingPackage(what: "clang (the Swift toolchain's)", command: "install the Swift toolchain")
        }
        let compile = ShellCommand(clang, [
            "-static", "-O2", "-Wall", "-Wextra", "-pthread",
            "-o", output, "\(repository.root)/\(Self.benchmarkSource)",
        ])
        let install = ShellCommand("apt-get", ["install", "-y", "gcc", "libc6-dev"])
        if Executables.find("gcc") == nil {
            guard geteuid() == 0 else {
                throw .missingPackage(what: "gcc", command: "sudo apt-get install -y gcc libc6-dev")
            }
            _ = try Subprocess.run(install, output: .standardError, environment: ["DEBIAN_FRONTEND": "noninteractive"])
        }
        var status = try Subprocess.run(compile, output: .standardError).status
        if status != 0, geteuid() == 0, !FileManager.default.fileExists(atPath: "/usr/lib/x86_64-linux-gnu/libc.a") {
            _ = try Subprocess.run(install, output: .standardError, environment: ["DEBIAN_FRONTEND": "noninteractive"])
            status = try Subprocess.run(compile, output: .standardError).status
        }
        guard status == 0 else {
            throw .commandFailed(command: "\(compile)", status: status)
        }
        return output
    }
}
