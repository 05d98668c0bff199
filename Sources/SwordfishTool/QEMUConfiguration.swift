/// Everything that shapes one QEMU boot of the kernel, and the command line it becomes.
public struct QEMUConfiguration: Equatable, Sendable {
    public static let executable = "qemu-system-x86_64"

    /// The I/O port of the `isa-debug-exit` device. A byte `v` written there ends QEMU
    /// with status `(v << 1) | 1`.
    public static let debugExitPort = 0xF4

    public var kernel: String
    public var cores: Int
    public var memory: MemorySize
    public var accelerator: Accelerator
    /// The kernel command line; passed with `-append` when not empty.
    public var kernelArguments: String
    /// Stop before the first instruction and serve gdb on TCP port 1234.
    public var waitsForDebugger: Bool
    /// An initial RAM disk, passed with `-initrd` (the Linux guest of `swordfish bench`).
    public var initrd: String?
    /// Under TCG, `-icount shift=0`: the guest's clock, and so its TSC, advances by one
    /// per instruction, which makes cycle counts deterministic path lengths. QEMU cannot
    /// count instructions with one thread per virtual CPU, so this also makes TCG run
    /// every CPU on one host thread. Ignored under KVM.
    public var countsInstructions: Bool
    /// NUMA nodes QEMU gives the machine (0: none, no SRAT): RAM split equally, cores in
    /// consecutive blocks (`-numa` with a memory backend each).
    public var numaNodes: Int
    /// A Unix socket where QEMU serves its human monitor (HMP), for `swordfish trace` to
    /// stop the guest and save its trace buffers from guest memory; nil: no monitor.
    public var monitorSocket: String?
    /// A virtio network device (transitional, so with the legacy I/O-port interface) on
    /// QEMU's user network, which the guest reaches as 10.0.2.15 behind the gateway
    /// 10.0.2.2 (`netd`, docs/network.md). It takes the place of the machine's default NIC.
    public var hasNetwork: Bool
    /// With the network: a host port QEMU forwards to the guest's port 80
    /// (`hostfwd=tcp:127.0.0.1:PORT-:80`), where `httpd` serves (`swordfish run --http`).
    public var httpPort: Int?

    public init(
        kernel: String,
        cores: Int = 2,
        memory: MemorySize = MemorySize(mebibytes: 512)!,
        accelerator: Accelerator = .tcg,
        kernelArguments: String = "",
        waitsForDebugger: Bool = false,
        initrd: String? = nil,
        countsInstructions: Bool = false,
        numaNodes: Int = 0,
        monitorSocket: String? = nil,
        hasNetwork: Bool = false,
        httpPort: Int? = nil
    ) {
        self.kernel = kernel
        self.cores = cores
        self.memory = memory
        self.accelerator = accelerator
        self.kernelArguments = kernelArguments
        self.waitsForDebugger = waitsForDebugger
        self.initrd = initrd
        self.countsInstructions = countsInstructions
        self.numaNodes = numaNodes
        self.monitorSocket = monitorSocket
        self.hasNetwork = hasNetwork
        self.httpPort = httpPort
    }

    /// The user network and the device on it. A TCP connection to 10.0.2.100 port 7
    /// reaches a `cat` QEMU starts on the host: an echo server for the guest's TCP tests,
    /// with no listener of the host's involved.
    public static let networkArguments = networkArguments(httpPort: nil)

    /// The same, with host port `httpPort` (on the loopback address only) forwarded to the guest's port 80.
    public static func networkArguments(httpPort: Int?) -> [String] {
        let forward = httpPort.map { ",hostfwd=tcp:127.0.0.1:\($0)-:\(httpGuestPort)" } ?? ""
        return ["-netdev", "user,id=n0,guestfwd=tcp:\(echoServer):\(echoPort)-cmd:cat\(forward)", "-device", "virtio-net-pci,netdev=n0"]
    }
    public static let httpGuestPort = 80
    public static let echoServer = "10.0.2.100"
    public static let echoPort = 7

    /// The `-object`/`-numa` arguments of `numaNodes` nodes.
    var numaArguments: [String] {
        guard numaNodes > 0 else { return [] }
        var arguments: [String] = []
        let bytes = memory.mebibytes / UInt64(numaNodes)
        for node in 0..<numaNodes {
            let first = node * cores / numaNodes, last = (node + 1) * cores / numaNodes - 1
            arguments += ["-object", "memory-backend-ram,id=ram\(node),size=\(bytes)M"]
            arguments += ["-numa", "node,nodeid=\(node),memdev=ram\(node)" + (last >= first ? ",cpus=\(first)-\(last)" : "")]
        }
        return arguments
    }

    public var command: ShellCommand {
        var arguments = ["-machine", "pc"]
        switch accelerator {
        case .tcg where countsInstructions:
            arguments += ["-cpu", "max", "-smp", "\(cores)", "-m", "\(memory)", "-accel", "tcg,thread=single", "-icount", "shift=0"]
        case .tcg:
            arguments += ["-cpu", "max", "-smp", "\(cores)", "-m", "\(memory)", "-accel", "tcg,thread=multi"]
        case .kvm:
            arguments += ["-cpu", "host", "-smp", "\(cores)", "-m", "\(memory)", "-accel", "kvm"]
        }
        arguments += numaArguments
        arguments += ["-kernel", kernel]
        if let initrd {
            arguments += ["-initrd", initrd]
        }
        if !kernelArguments.isEmpty {
            arguments += ["-append", kernelArguments]
        }
        arguments += [
            "-display", "none",
            "-serial", "stdio",
            "-monitor", monitorSocket.map { "unix:\($0),server=on,wait=off" } ?? "none",
            "-no-reboot",
            "-device", "isa-debug-exit,iobase=0x\(String(Self.debugExitPort, radix: 16)),iosize=0x04",
        ]
        if hasNetwork {
            arguments += Self.networkArguments(httpPort: httpPort)
        }
        if waitsForDebugger {
            arguments += ["-s", "-S"]
        }
        return ShellCommand(Self.executable, arguments)
    }

    /// How to attach gdb to a boot started with `waitsForDebugger`.
    public var debuggerInstructions: String {
        let gdb = ShellCommand("gdb", [kernel, "-ex", "target remote :1234", "-ex", "hbreak main", "-ex", "continue"])
        return """
            QEMU is stopped before the first instruction and serves gdb on :1234. In another terminal:
              \(gdb)
            The kernel enters in 32-bit mode; if gdb complains about registers after that, run
              set architecture i386:x86-64
            """
    }
}

/// What a QEMU exit status means for the tool's own exit status.
public enum QEMUExitStatus {
    /// `isa-debug-exit` turns a guest write of 0 (clean halt, all tests passed) into QEMU
    /// status 1 and a write of 1 (failure) into 3. Anything else is passed on, except that
    /// a plain 0 (QEMU stopped without the guest saying how it went, as after a triple
    /// fault under `-no-reboot`) is a failure too.
    public static func toolStatus(forQEMUStatus status: Int32) -> Int32 {
        switch status {
        case 1: return 0
        case 3: return 1
        case 0: return 1
        default: return status
        }
    }
}
