import Foundation

/// lwIP for the user programs that link it (docs/network.md): Debian's `lwip` source
/// package (2.1.3), fetched once with `apt-get source --download-only` into a cache
/// outside the repository (`$XDG_CACHE_HOME/swordfish/lwip` or `~/.cache/swordfish/lwip`),
/// never committed, and compiled freestanding with the toolchain's clang, with the port
/// in `User/Sources/LwIP/port`, into `User/.build/lwip/liblwip.a`, which the `LwIP`
/// target of User/Package.swift links.
public struct LwIPBuild: Sendable {
    public static let package = "lwip"
    public static let tarball = "lwip_2.1.3+dfsg1.orig.tar.xz"
    public static let folder = "lwip-2.1.3"
    /// lwIP's core, IPv4 and Ethernet: what a NO_SYS stack of raw API, UDP and TCP needs.
    /// (DHCP, AutoIP, IGMP and DNS are off in lwipopts.h; their files are left out.)
    public static let sources = [
        "core/def.c", "core/inet_chksum.c", "core/init.c", "core/ip.c", "core/mem.c", "core/memp.c", "core/netif.c",
        "core/pbuf.c", "core/raw.c", "core/stats.c", "core/sys.c", "core/tcp.c", "core/tcp_in.c", "core/tcp_out.c",
        "core/timeouts.c", "core/udp.c", "core/ipv4/etharp.c", "core/ipv4/icmp.c", "core/ipv4/ip4.c",
        "core/ipv4/ip4_addr.c", "core/ipv4/ip4_frag.c", "netif/ethernet.c",
    ]

    public var repository: Repository
    public var cache: String

    public init(repository: Repository, cache: String = LwIPBuild.defaultCache()) {
        self.repository = repository
        self.cache = cache
    }

    public static func defaultCache(environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let xdg = environment["XDG_CACHE_HOME"], xdg.hasPrefix("/") { return "\(xdg)/swordfish/lwip" }
        return "\(environment["HOME"] ?? NSHomeDirectory())/.cache/swordfish/lwip"
    }

    /// Where the unpacked source, the objects and the archive go.
    public var output: String { "\(repository.root)/User/.build/lwip" }
    public var archive: String { "\(output)/liblwip.a" }
    var port: String { "\(repository.root)/User/Sources/LwIP/port" }

    /// The compiler line for one of lwIP's files: the user programs' C flags
    /// (Kernel/toolset.json), position-independent like the rest of a program linked at
    /// 512 GiB, and no system headers but clang's own and the port's.
    public static func compileCommand(clang: String, source: String, object: String, port: String, include: String) -> ShellCommand {
        ShellCommand(clang, [
            "--target=x86_64-unknown-none-elf", "-ffreestanding", "-nostdlibinc", "-fno-builtin", "-mno-red-zone",
            "-fno-stack-protector", "-fPIC", "-ffunction-sections", "-fdata-sections", "-O2",
            "-I", port, "-I", include, "-c", source, "-o", object,
        ])
    }

    /// The system's Debian sources with `deb-src` in place of `deb`: apt then lists the
    /// source packages too, in lists of the tool's own, leaving the system's alone.
    public static func sourceList(from system: String) -> String {
        system.lines.map { $0.trimmingLeadingSpaces() == "Types: deb" ? "Types: deb-src" : $0 }.joined(separator: "\n") + "\n"
    }

    /// Fetches, unpacks and builds what is missing or older than the port; returns the archive.
    @discardableResult
    public func run() throws(ToolError) -> String {
        let tarballPath = "\(cache)/\(Self.tarball)"
        if !FileManager.default.fileExists(atPath: tarballPath) { try fetch() }
        let sourceRoot = "\(output)/\(Self.folder)"
        if !FileManager.default.fileExists(atPath: "\(sourceRoot)/src/core/init.c") {
            make(output)
            // Debian's tarball is xz-compressed, and xz-utils is not on every minimal system.
            try DebianPackages.ensure("xz", from: "xz-utils",
                                      orThrow: .missingPackage(what: "xz", command: "sudo apt-get install -y xz-utils"))
            let unpack = ShellCommand("tar", ["-xf", tarballPath, "-C", output])
            let status = try Subprocess.run(unpack, output: .standardError).status
            guard status == 0 else { throw .commandFailed(command: "\(unpack)", status: status) }
        }
        let portFiles = ((try? FileManager.default.subpathsOfDirectory(atPath: port)) ?? []).map { "\(port)/\($0)" }
        if let built = modified(archive), portFiles.allSatisfy({ (modified($0) ?? .distantFuture) < built }) { return archive }
        guard let clang = Executables.findInToolchain("clang") ?? Executables.find("clang"),
              let ar = Executables.findInToolchain("llvm-ar") ?? Executables.find("llvm-ar") else {
            throw .missingPackage(what: "clang and llvm-ar (the Swift toolchain's)", command: "install the Swift toolchain")
        }
        RawOutput.note("building lwIP \(Self.folder) freestanding into \(archive)")
        let objects = "\(output)/objects"
        try? FileManager.default.removeItem(atPath: objects)
        make(objects)
        var objectPaths: [String] = []
        for source in Self.sources {
            let object = "\(objects)/\(source.replacingOccurrences(of: "/", with: "_")).o"
            let command = Self.compileCommand(clang: clang, source: "\(sourceRoot)/src/\(source)", object: object, port: port,
                                              include: "\(sourceRoot)/src/include")
            let status = try Subprocess.run(command, output: .standardError).status
            guard status == 0 else { throw .commandFailed(command: "\(command)", status: status) }
            objectPaths.append(object)
        }
        try? FileManager.default.removeItem(atPath: archive)
        let archiveCommand = ShellCommand(ar, ["rcs", archive] + objectPaths)
        let status = try Subprocess.run(archiveCommand, output: .standardError).status
        guard status == 0 else { throw .commandFailed(command: "\(archiveCommand)", status: status) }
        return archive
    }

    /// `apt-get source --download-only lwip` into the cache, with a source list and
    /// package lists of the tool's own (the system's may name no `deb-src`).
    func fetch() throws(ToolError) {
        let apt = "\(cache)/apt"
        make("\(apt)/lists/partial")
        make("\(apt)/sources")
        let system = (try? String(contentsOfFile: "/etc/apt/sources.list.d/debian.sources", encoding: .utf8))
            ?? "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm\nComponents: main\n"
        do {
            try Self.sourceList(from: system).write(toFile: "\(apt)/sources/debian-sources.sources", atomically: true, encoding: .utf8)
        } catch {
            throw .fileNotWritable(path: "\(apt)/sources", reason: "\(error)")
        }
        var options = ["-o", "Dir::Etc::SourceList=/dev/null", "-o", "Dir::Etc::SourceParts=\(apt)/sources",
                       "-o", "Dir::State::Lists=\(apt)/lists"]
        if geteuid() == 0 { options += ["-o", "APT::Sandbox::User=root"] }
        RawOutput.note("fetching Debian's \(Self.package) source into \(cache)")
        for arguments in [options + ["update"], options + ["source", "--download-only", Self.package]] {
            let command = ShellCommand("apt-get", arguments)
            let status = try Subprocess.run(command, output: .standardError, workingDirectory: cache).status
            guard status == 0 else { throw .commandFailed(command: "\(command)", status: status) }
        }
        guard FileManager.default.fileExists(atPath: "\(cache)/\(Self.tarball)") else {
            throw .missingPackage(what: Self.tarball, command: "apt-get source --download-only \(Self.package)")
        }
    }

    private func make(_ folder: String) {
        try? FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    }

    private func modified(_ path: String) -> Date? {
        (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
    }
}
