// swift-tools-version: 6.0
// libFuzzer harnesses for every parser of untrusted input in Core (DESIGN.md,
// "Testing"). Each harness is its own executable, built for the host with
// `-sanitize=fuzzer`; `./run` builds and runs them all over the corpus in Corpus/.
// `fuzz-seeds` writes the hand-made seed files of that corpus; it is built without
// the sanitizer, like any other tool.
import PackageDescription

let harnesses: [(name: String, modules: [String])] = [
    ("FuzzELF", ["ELF"]),
    ("FuzzMADT", ["ACPI"]),
    ("FuzzSRAT", ["ACPI"]),
    ("FuzzACPITables", ["ACPI"]),
    ("FuzzPVHMemoryMap", ["BootInfo"]),
    ("FuzzBootImage", ["BootInfo", "ELF"]),
    ("FuzzKnowledgeBase", ["KnowledgeBase"]),
    ("FuzzFrames", ["Network"]),
    ("FuzzVirtqueue", ["Virtio"]),
    ("FuzzHTTP", ["HTTP"]),
    ("FuzzPCICapabilities", ["PCI"]),
]

let package = Package(
    name: "Fuzz",
    products: harnesses.map { .executable(name: $0.name, targets: [$0.name]) }
        + [.executable(name: "fuzz-seeds", targets: ["fuzz-seeds"])],
    dependencies: [.package(path: "../Core")],
    targets: harnesses.map { harness in
        .executableTarget(
            name: harness.name,
            dependencies: ["FuzzSupport", .product(name: "Basics", package: "Core")]
                + harness.modules.map { .product(name: $0, package: "Core") })
    } + [
        .target(name: "LibFuzzerDriver"),
        .target(name: "FuzzSupport", dependencies: ["LibFuzzerDriver", .product(name: "Basics", package: "Core")]),
        .executableTarget(name: "fuzz-seeds"),
    ]
)
