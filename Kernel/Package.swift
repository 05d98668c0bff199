// swift-tools-version: 6.0
// The guest: Swordfish's CPU driver, built in Embedded Swift for x86_64-unknown-none-elf.
// Build it with `swift run swordfish build` from the repository root (which passes the
// triple and Kernel/toolset.json); it does not build for the host.
import PackageDescription
import Foundation

/// Absolute paths: SwiftPM may run the linker from any directory.
let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent().path

let package = Package(
    name: "Kernel",
    products: [
        .executable(name: "kernel", targets: ["CPUDriver"]),
    ],
    dependencies: [
        .package(path: "../Core"),
    ],
    targets: [
        // x86-64 instructions, entry, AP trampoline and trap stubs: C and assembly.
        .target(name: "X86", dependencies: [.product(name: "FreestandingC", package: "Core"), .product(name: "ABILayout", package: "Core")]),
        // The architecture facade: everything x86-64-specific, in Swift.
        .target(
            name: "Arch",
            dependencies: ["X86", .product(name: "ABI", package: "Core"), .product(name: "Basics", package: "Core"),
                           .product(name: "PageTables", package: "Core")],
            swiftSettings: [.swiftLanguageMode(.v5)]
        ),
        // The per-core kernel: hardware-neutral Swift over Arch and the Core modules.
        .executableTarget(
            name: "CPUDriver",
            dependencies: [
                "Arch",
                .product(name: "ABI", package: "Core"),
                .product(name: "ABILayout", package: "Core"),
                .product(name: "Basics", package: "Core"),
                .product(name: "BootInfo", package: "Core"),
                .product(name: "ACPI", package: "Core"),
                .product(name: "Memory", package: "Core"),
                .product(name: "PageTables", package: "Core"),
                .product(name: "Channel", package: "Core"),
                .product(name: "ShellCommands", package: "Core"),
                .product(name: "KnowledgeBase", package: "Core"),
                .product(name: "KernelMessages", package: "Core"),
                .product(name: "ShootdownProtocol", package: "Core"),
                .product(name: "CapabilityProtocols", package: "Core"),
                .product(name: "ELF", package: "Core"),
                .product(name: "Capabilities", package: "Core"),
                .product(name: "GuestChecks", package: "Core"),
                .product(name: "Trace", package: "Core"),
            ],
            swiftSettings: [.swiftLanguageMode(.v5)],
            linkerSettings: [.unsafeFlags([
                "-Xclang-linker", "-nostdlib", "-Xclang-linker", "-static", "-Xclang-linker", "-fuse-ld=lld",
                "-Xlinker", "-T", "-Xlinker", "\(here)/linker.ld",
                "-Xlinker", "--orphan-handling=error",
                "-Xlinker", "--no-pie",
                "-Xlinker", "-Map=\(here)/.build/kernel.map",
            ])]
        ),
    ]
)
