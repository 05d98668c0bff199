import ArgumentParser
import Foundation

/// The `swordfish` command line: build, run, test.
public struct SwordfishCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "swordfish",
        abstract: "Build, boot and test the Swordfish multikernel.",
        subcommands: [Build.self, Run.self, Test.self, Bench.self, New.self, Simulate.self, TraceCommand.self]
    )

    public init() {}
}

/// Where the checkout is, for every subcommand.
struct RepositoryOptions: ParsableArguments {
    @Option(help: ArgumentHelp("The repository root.", discussion: "Default: the nearest folder at or above the current one with Package.swift and Kernel/.", valueName: "path"))
    var repo: String?

    func locate() throws(ToolError) -> Repository {
        if let repo {
            return try Repository.locate(from: repo)
        }
        return try Repository.locate()
    }
}

/// The shape of one boot, shared by `build` (which prints the command) and `run`.
struct BootOptions: ParsableArguments {
    @Option(help: "Number of cores.")
    var cores = 2

    @Option(help: "Guest RAM: a whole number of MiB or GiB, such as 128M, 1G or 4096M. (default: 512M)", transform: { text in
        try MemorySize(parsing: text)
    })
    var memory = MemorySize(mebibytes: 512)!

    @Option(help: "Accelerator: auto picks kvm only where KVM is hardware (kvm_intel or kvm_amd loaded), else tcg.")
    var accel = AcceleratorRequest.auto

    @Flag(help: "Stop before the first instruction and wait for gdb on :1234.")
    var gdb = false

    @Option(help: "NUMA nodes (an SRAT): memory split equally, cores in consecutive blocks. (default: none)")
    var numa = 0

    @Option(name: .customLong("append"), help: ArgumentHelp("The kernel command line.", valueName: "kernel args"))
    var kernelArguments = ""

    @Option(help: ArgumentHelp("Forward host port 127.0.0.1:PORT to the guest's port 80 and start the web server (httpd).", valueName: "port"))
    var http: Int?

    func validate() throws {
        guard (1...255).contains(cores) else {
            throw ValidationError("--cores must be between 1 and 255")
        }
        if let http, !(1...65535).contains(http) {
            throw ValidationError("--http must be a port between 1 and 65535")
        }
        guard numa == 0 || ((1...cores).contains(numa) && memory.mebibytes % UInt64(numa) == 0) else {
            throw ValidationError("--numa must be between 1 and the core count, and divide the memory into whole MiB")
        }
    }

    /// The QEMU configuration for `kernel`, with the accelerator chosen for this host.
    func configuration(kernel: String, probe: HostProbe = .live) -> QEMUConfiguration {
        let choice = AcceleratorChoice(for: accel, on: probe)
        if let warning = choice.warning {
            RawOutput.note("warning: \(warning)")
        }
        return QEMUConfiguration(
            kernel: kernel, cores: cores, memory: memory, accelerator: choice.accelerator,
            kernelArguments: kernelArguments, waitsForDebugger: gdb, initrd: KernelBuild.existingBootImage(for: kernel),
            numaNodes: numa, hasNetwork: true, httpPort: http
        )
    }
}

extension SwordfishCommand {
    struct Build: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Build the kernel and print the QEMU command line that boots it.",
            discussion: "SwiftPM's output goes to standard error; the command line, shell-quoted, to standard output."
        )

        @OptionGroup var repository: RepositoryOptions
        @OptionGroup var boot: BootOptions

        func run() throws {
            ChildProcesses.shared.stopChildrenOnSignals()
            let kernel = try KernelBuild(repository: repository.locate()).run()
            let qemu = boot.configuration(kernel: kernel)
            RawOutput.write("\(qemu.command)\n", to: STDOUT_FILENO)
            if qemu.waitsForDebugger {
                RawOutput.note(qemu.debuggerInstructions)
            }
        }
    }

    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Build the kernel and boot it in QEMU on this terminal.",
            discussion: """
                From a terminal, keys go to the guest in raw mode; Ctrl-A x quits. Piped input is \
                sent a line per shell prompt, except that a Ctrl-C (byte 3) at the start of a line \
                goes at once (a program that runs prints no prompt); at its end QEMU's input is \
                closed and the tool waits for the guest to power off (the shell's `halt`). The boot \
                time to the first prompt goes to standard error. Exit status: 0 when the guest reports \
                success through isa-debug-exit, 1 when it reports failure or panics on core 0, \
                \(ConsoleSession.timeoutStatus) when --timeout stopped it.
                """
        )

        @OptionGroup var repository: RepositoryOptions
        @OptionGroup var boot: BootOptions

        @Option(help: ArgumentHelp("Boot this ELF instead of building Kernel/.", valueName: "elf"))
        var kernel: String?

        @Option(help: ArgumentHelp("Stop QEMU this many seconds after it starts (the build not counted).", valueName: "seconds"))
        var timeout: Int?

        func validate() throws {
            if let timeout, timeout <= 0 {
                throw ValidationError("--timeout must be positive")
            }
        }

        func run() throws {
            ChildProcesses.shared.stopChildrenOnSignals()
            let repository = try repository.locate()
            try QEMUInstaller.ensureInstalled()
            let kernel = try kernel.map(KernelBuild.existing) ?? KernelBuild(repository: repository).run()
            let session = ConsoleSession(
                configuration: boot.configuration(kernel: kernel),
                symbolizer: Symbolizer(kernel: kernel, sourceRoot: repository.root),
                timeout: timeout.map { .seconds($0) },
                // The web server starts in the background, so the prompt comes back.
                startupLine: boot.http == nil ? nil : "httpd"
            )
            if let port = boot.http {
                RawOutput.note("httpd: http://127.0.0.1:\(port)/ once the guest says it serves")
            }
            let status = try session.run()
            if status != 0 {
                throw ExitCode(status)
            }
        }
    }

    struct Test: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run every test: host unit tests, the guest suites under QEMU, the bench smoke test.",
            discussion: """
                Host suites: `swift test` in Core/ and in this package. Guest suites: one boot with \
                `-append test` per configuration, console saved to results/logs/guest-<config>.log, \
                and the piped-console check. Bench smoke test: `swordfish bench --quick` (Swordfish \
                and Linux) completes with a well-formed report; only the full run has it, neither \
                --host-only nor --guest-only. Ends with one line `N passed, M failed`; exits 1 if \
                anything failed.
                """
        )

        @OptionGroup var repository: RepositoryOptions

        @Flag(help: "Run only the host unit tests.")
        var hostOnly = false

        @Flag(help: "Run only the guest suites (no bench smoke test).")
        var guestOnly = false

        @Flag(help: "Run only the web server's guest suite (http): curl and raw requests from the host.")
        var httpOnly = false

        @Option(help: "Seconds each guest boot may take.")
        var timeout = 180

        @Option(
            name: .customLong("config"),
            help: ArgumentHelp("A guest configuration CORES:SIZE such as 4:1G; repeat for several. Default: 1:128M 2:1G 3:512M 8:1G 8:128M 4:4G:2, and 4 cores of 256M with core 2 left unstarted.", valueName: "cores:size"),
            transform: { text in try GuestConfiguration(parsing: text) }
        )
        var configurations: [GuestConfiguration] = []

        @Option(help: "Accelerator for the guest suites.")
        var accel = AcceleratorRequest.auto

        @Option(help: ArgumentHelp("Boot this ELF instead of building Kernel/.", valueName: "elf"))
        var kernel: String?

        func validate() throws {
            guard [hostOnly, guestOnly, httpOnly].filter({ $0 }).count <= 1 else {
                throw ValidationError("--host-only, --guest-only and --http-only exclude each other")
            }
            guard timeout > 0 else {
                throw ValidationError("--timeout must be positive")
            }
        }

        func run() throws {
            ChildProcesses.shared.stopChildrenOnSignals()
            if try runner(for: repository.locate()).run().failed > 0 {
                throw ExitCode.failure
            }
        }

        /// The suites these options select, for `repository`.
        func runner(for repository: Repository) throws(ToolError) -> TestRunner {
            var runner = TestRunner(repository: repository)
            runner.runsHostSuites = !guestOnly && !httpOnly
            runner.runsGuestSuites = !hostOnly
            runner.runsOnlyHTTPSuite = httpOnly
            runner.runsBenchSmokeTest = !hostOnly && !guestOnly && !httpOnly
            runner.timeout = .seconds(timeout)
            runner.accelerator = accel
            runner.prebuiltKernel = try kernel.map(KernelBuild.existing)
            if !configurations.isEmpty {
                runner.configurations = configurations
            }
            return runner
        }
    }
}

extension AcceleratorRequest: ExpressibleByArgument {}
