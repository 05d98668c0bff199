// swift-tools-version: 6.0
// The portable core of Swordfish: everything that needs no hardware. The same sources
// build for the host (where `swift test` runs them) and, in Embedded Swift, for the
// guest kernel, which uses this package by path.
import PackageDescription

let package = Package(
    name: "Core",
    products: [
        .library(name: "Basics", targets: ["Basics"]),
        .library(name: "BootInfo", targets: ["BootInfo"]),
        .library(name: "ACPI", targets: ["ACPI"]),
        .library(name: "Memory", targets: ["Memory"]),
        .library(name: "PageTables", targets: ["PageTables"]),
        .library(name: "Channel", targets: ["Channel"]),
        .library(name: "ShellCommands", targets: ["ShellCommands"]),
        .library(name: "KnowledgeBase", targets: ["KnowledgeBase"]),
        .library(name: "Capabilities", targets: ["Capabilities"]),
        .library(name: "KernelMessages", targets: ["KernelMessages"]),
        .library(name: "ELF", targets: ["ELF"]),
    ],
    targets: [
        .target(name: "Basics"),
        .target(name: "BootInfo", dependencies: ["Basics"]),
        .target(name: "ACPI", dependencies: ["Basics"]),
        .target(name: "Memory", dependencies: ["Basics"]),
        .target(name: "PageTables", dependencies: ["Basics"]),
        .target(name: "Channel", dependencies: ["Basics"]),
        .target(name: "ShellCommands", dependencies: ["Basics"]),
        .target(name: "KnowledgeBase", dependencies: ["Basics"]),
        .target(name: "Capabilities", dependencies: ["Basics"]),
        .target(name: "KernelMessages", dependencies: ["Basics", "Channel", "KnowledgeBase"]),
        .target(name: "ELF", dependencies: ["Basics"]),
        .testTarget(name: "BasicsTests", dependencies: ["Basics"]),
        .testTarget(name: "BootInfoTests", dependencies: ["BootInfo"]),
        .testTarget(name: "ACPITests", dependencies: ["ACPI"]),
        .testTarget(name: "MemoryTests", dependencies: ["Memory"]),
        .testTarget(name: "PageTablesTests", dependencies: ["PageTables"]),
        .testTarget(name: "ChannelTests", dependencies: ["Channel"]),
        .testTarget(name: "ShellCommandsTests", dependencies: ["ShellCommands"]),
        .testTarget(name: "KnowledgeBaseTests", dependencies: ["KnowledgeBase"]),
        .testTarget(name: "CapabilitiesTests", dependencies: ["Capabilities"]),
        .testTarget(name: "KernelMessagesTests", dependencies: ["KernelMessages"]),
        .testTarget(name: "ELFTests", dependencies: ["ELF"]),
    ]
)
