// swift-tools-version: 6.0
// The portable core of Swordfish: everything that needs no hardware. The same sources
// build for the host (where `swift test` runs them) and, in Embedded Swift, for the
// guest kernel, which uses this package by path.
import PackageDescription

let package = Package(
    name: "Core",
    products: [
        .library(name: "ABI", targets: ["ABI"]),
        .library(name: "ABILayout", targets: ["ABILayout"]),
        .library(name: "Basics", targets: ["Basics"]),
        .library(name: "FreestandingC", targets: ["FreestandingC"]),
        .library(name: "BootInfo", targets: ["BootInfo"]),
        .library(name: "ACPI", targets: ["ACPI"]),
        .library(name: "Memory", targets: ["Memory"]),
        .library(name: "PageTables", targets: ["PageTables"]),
        .library(name: "Channel", targets: ["Channel"]),
        .library(name: "ShellCommands", targets: ["ShellCommands"]),
        .library(name: "LineEditor", targets: ["LineEditor"]),
        .library(name: "KnowledgeBase", targets: ["KnowledgeBase"]),
        .library(name: "Capabilities", targets: ["Capabilities"]),
        .library(name: "KernelMessages", targets: ["KernelMessages"]),
        .library(name: "ELF", targets: ["ELF"]),
        .library(name: "GuestChecks", targets: ["GuestChecks"]),
        .library(name: "ProgramArguments", targets: ["ProgramArguments"]),
        .library(name: "MonitorProtocols", targets: ["MonitorProtocols"]),
        .library(name: "CapabilityProtocols", targets: ["CapabilityProtocols"]),
        .library(name: "CapabilitySimulation", targets: ["CapabilitySimulation"]),
        .library(name: "Trace", targets: ["Trace"]),
        .library(name: "PCI", targets: ["PCI"]),
        .library(name: "DeviceManagement", targets: ["DeviceManagement"]),
        .library(name: "Virtio", targets: ["Virtio"]),
        .library(name: "Network", targets: ["Network"]),
        .library(name: "FrameLink", targets: ["FrameLink"]),
        .library(name: "HTTP", targets: ["HTTP"]),
        .library(name: "ShootdownProtocol", targets: ["ShootdownProtocol"]),
        .library(name: "ShootdownSimulation", targets: ["ShootdownSimulation"]),
    ],
    targets: [
        // What the kernel and user programs agree on: status codes, numbers, layouts.
        .target(name: "ABI"),
        // The save area and dispatcher frame, in C for the kernel's and the user runtime's C.
        .target(name: "ABILayout"),
        .target(name: "Basics"),
        // memset, memcpy and friends for the kernel and user programs (no C library there).
        .target(name: "FreestandingC"),
        .target(name: "BootInfo", dependencies: ["Basics"]),
        .target(name: "ACPI", dependencies: ["Basics"]),
        .target(name: "Memory", dependencies: ["Basics"]),
        .target(name: "PageTables", dependencies: ["Basics"]),
        .target(name: "Channel", dependencies: ["Basics"]),
        .target(name: "ShellCommands", dependencies: ["Basics"]),
        // Editing the shell's line as a terminal sends it: keys, history, completion.
        .target(name: "LineEditor"),
        .target(name: "KnowledgeBase", dependencies: ["Basics"]),
        .target(name: "Capabilities", dependencies: ["ABI", "Basics"]),
        .target(name: "KernelMessages", dependencies: ["Basics", "Channel", "KnowledgeBase"]),
        .target(name: "ELF", dependencies: ["Basics"]),
        // The guest self-tests' checks, declared once for the kernel and the host tool.
        .target(name: "GuestChecks"),
        // A user program's argument words and numbers (user programs link it).
        .target(name: "ProgramArguments", dependencies: ["ABI"]),
        // The monitors' protocols (names, domain table, spawn, kill, the knowledge base's
        // replicas) as pure state machines: the guest's monitor program and the host
        // simulator drive the same code.
        .target(name: "MonitorProtocols", dependencies: ["ABI", "Basics", "Channel", "KnowledgeBase"]),
        // Copy, delete, move, retype and revoke of capabilities across cores, as pure state
        // machines the monitors drive (and the simulator below).
        .target(name: "CapabilityProtocols", dependencies: ["Basics", "Channel"]),
        // Host only: the deterministic simulator of those protocols on 1–64 cores, and
        // the revoke cost figures; `swordfish simulate` and the tests run it.
        .target(name: "CapabilitySimulation", dependencies: ["CapabilityProtocols", "Basics", "Channel", "KnowledgeBase", "CoreTestSupport"]),
        // PCI configuration space as the user-level device manager reads it: functions,
        // bridges, BARs, each checked.
        .target(name: "PCI"),
        // The device manager's interface (requests and answers, each checked), its claim
        // table, and the order of stopping a dead driver's device before its memory is freed.
        .target(name: "DeviceManagement", dependencies: ["PCI"]),
        // A virtio device's queues as its driver keeps them, checking every used entry the
        // device writes, and the legacy interface's registers.
        .target(name: "Virtio"),
        // The frames the network driver builds and reads by itself (ARP, ICMP echo), each
        // read checked.
        .target(name: "Network"),
        // A network link over a channel: where frames go in a sender's shared ring, and
        // the descriptor and release messages, each checked (IP loopback across cores).
        .target(name: "FrameLink"),
        // HTTP/1.1 requests as the guest's web server reads them (each checked, with limits),
        // its answers, and the files it serves.
        .target(name: "HTTP"),
        // Each core's trace buffer, written in the guest and read back on the host.
        .target(name: "Trace", dependencies: ["ABI", "Basics"]),
        // TLB shootdown (unmap and protect) across the cores using an address space: one
        // phase down a knowledge-base multicast tree, as a pure state machine the monitors drive.
        .target(name: "ShootdownProtocol", dependencies: ["Basics", "CapabilityProtocols", "Channel", "KnowledgeBase", "PageTables"]),
        // Host only: the deterministic simulator of that protocol with per-core TLBs, and
        // the unmap cost figures (Fig. 6); `swordfish simulate --protocol unmap` runs it.
        .target(name: "ShootdownSimulation", dependencies: ["ShootdownProtocol", "CapabilitySimulation", "Basics", "CapabilityProtocols", "Channel", "KnowledgeBase", "PageTables", "CoreTestSupport"]),
        // Shared by the test suites: a seeded generator and fixture memory.
        .target(name: "CoreTestSupport", dependencies: ["Basics"], path: "Tests/TestSupport"),
        .testTarget(name: "BasicsTests", dependencies: ["Basics"]),
        .testTarget(name: "BootInfoTests", dependencies: ["BootInfo", "CoreTestSupport"]),
        .testTarget(name: "ACPITests", dependencies: ["ACPI", "CoreTestSupport"]),
        .testTarget(name: "MemoryTests", dependencies: ["Memory", "CoreTestSupport"]),
        .testTarget(name: "PageTablesTests", dependencies: ["PageTables", "CoreTestSupport"]),
        .testTarget(name: "ChannelTests", dependencies: ["Channel", "CoreTestSupport"]),
        .testTarget(name: "ShellCommandsTests", dependencies: ["ShellCommands"]),
        .testTarget(name: "LineEditorTests", dependencies: ["LineEditor"]),
        .testTarget(name: "KnowledgeBaseTests", dependencies: ["KnowledgeBase", "CoreTestSupport"]),
        .testTarget(name: "CapabilitiesTests", dependencies: ["Capabilities", "CoreTestSupport"]),
        .testTarget(name: "KernelMessagesTests", dependencies: ["KernelMessages"]),
        .testTarget(name: "ELFTests", dependencies: ["ELF", "CoreTestSupport"]),
        .testTarget(name: "GuestChecksTests", dependencies: ["GuestChecks"]),
        .testTarget(name: "ProgramArgumentsTests", dependencies: ["ABI", "ProgramArguments"]),
        // Message round trips, protocol steps, and the deterministic simulator of N monitors.
        // Message round trips, protocol steps, seeds and every schedule of small cases.
        .testTarget(name: "CapabilityProtocolsTests", dependencies: ["CapabilityProtocols", "CapabilitySimulation", "Basics", "Channel", "KnowledgeBase", "CoreTestSupport"]),
        .testTarget(name: "TraceTests", dependencies: ["ABI", "Trace"]),
        .testTarget(name: "PCITests", dependencies: ["PCI"]),
        .testTarget(name: "DeviceManagementTests", dependencies: ["DeviceManagement", "PCI", "CoreTestSupport"]),
        .testTarget(name: "VirtioTests", dependencies: ["Virtio"]),
        .testTarget(name: "NetworkTests", dependencies: ["Network"]),
        .testTarget(name: "FrameLinkTests", dependencies: ["FrameLink", "CoreTestSupport"]),
        .testTarget(name: "HTTPTests", dependencies: ["HTTP"]),
        // The unmap protocol's messages and steps, seeds, every schedule of small cases, its cost.
        .testTarget(name: "ShootdownProtocolTests", dependencies: ["ShootdownProtocol", "ShootdownSimulation", "Basics", "CapabilityProtocols", "Channel", "KnowledgeBase", "PageTables", "CoreTestSupport"]),
        .testTarget(name: "MonitorProtocolsTests", dependencies: ["ABI", "MonitorProtocols", "Basics", "Channel", "KnowledgeBase", "CoreTestSupport"]),
    ]
)
