// swift-tools-version: 6.0
// The host side of Swordfish: the `swordfish` tool that builds the guest kernel, boots it
// under QEMU and runs every test suite. The kernel itself (Kernel/) and the portable core
// (Core/) are separate packages: they build for the guest in Embedded Swift, which this
// package cannot host.
import PackageDescription

let package = Package(
    name: "Swordfish",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "swordfish", targets: ["swordfish"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(path: "Core"),
    ],
    targets: [
        .target(
            name: "SwordfishTool",
            dependencies: [
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "GuestChecks", package: "Core"),
                // The boot image's parser, to find a user program's ELF for symbolising.
                .product(name: "BootInfo", package: "Core"),
                .product(name: "Basics", package: "Core"),
                // `swordfish simulate`: the capability and unmap protocols' simulators.
                .product(name: "CapabilityProtocols", package: "Core"),
                .product(name: "CapabilitySimulation", package: "Core"),
                .product(name: "KnowledgeBase", package: "Core"),
                .product(name: "ShootdownProtocol", package: "Core"),
                .product(name: "ShootdownSimulation", package: "Core"),
                // `swordfish trace`: the guest's trace buffers, read back.
                .product(name: "Trace", package: "Core"),
                .product(name: "ABI", package: "Core"),
                .product(name: "KernelMessages", package: "Core"),
                .product(name: "MonitorProtocols", package: "Core"),
                // The web server's test: the files it serves and the parser's limits.
                .product(name: "HTTP", package: "Core"),
            ]
        ),
        .executableTarget(name: "swordfish", dependencies: ["SwordfishTool"]),
        // Host benchmarks on real cores: the guest's channel code against the cache-line
        // floor and Linux IPC. Built in release by `swordfish bench`.
        .target(name: "HostBenchSupport"),
        .executableTarget(
            name: "swordfish-hostbench",
            dependencies: ["HostBenchSupport", .product(name: "Channel", package: "Core")]
        ),
        .testTarget(name: "SwordfishToolTests", dependencies: ["SwordfishTool"]),
    ]
)
