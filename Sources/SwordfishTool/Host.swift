import Foundation

extension HostProbe {
    /// The real file system.
    public static let live = HostProbe(pathExists: { FileManager.default.fileExists(atPath: $0) })
}

/// Finding programs the way a shell does.
public enum Executables {
    /// The first executable `name` on `PATH`, or `name` itself when it contains a slash
    /// and is executable.
    public static func find(
        _ name: String, searchPath: String? = ProcessInfo.processInfo.environment["PATH"]
    ) -> String? {
        if name.contains("/") {
            return FileManager.default.isExecutableFile(atPath: name) ? name : nil
        }
        for directory in (searchPath ?? "/usr/local/bin:/usr/bin:/bin").split(separator: ":") {
            let candidate = "\(directory)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) {
                return candidate
            }
        }
        return nil
    }

    /// The toolchain's Embedded Swift libraries for `triple` (where the Unicode data
    /// tables that full `String` comparison needs live), nil if not found.
    public static func embeddedLibraries(for triple: String) -> String? {
        guard let swift = find("swift") else { return nil }
        let directory = URL(fileURLWithPath: swift).resolvingSymlinksInPath().deletingLastPathComponent()
            .appendingPathComponent("../lib/swift/embedded/\(triple)").standardized.path
        return FileManager.default.fileExists(atPath: directory) ? directory : nil
    }

    /// A tool shipped beside `swift` in the toolchain (found through `PATH`, symlinks
    /// resolved), such as `llvm-symbolizer` or `swift-demangle`.
    public static func findInToolchain(_ name: String) -> String? {
        guard let swift = find("swift") else { return nil }
        let directory = URL(fileURLWithPath: swift).resolvingSymlinksInPath().deletingLastPathComponent()
        let candidate = directory.appendingPathComponent(name).path
        return FileManager.default.isExecutableFile(atPath: candidate) ? candidate : nil
    }
}

/// The Swordfish checkout the tool works on, and where things live in it.
public struct Repository: Equatable, Sendable {
    public var root: String

    public init(root: String) {
        self.root = root
    }

    /// The nearest folder at or above `start` that holds both `Package.swift` and
    /// `Kernel/`; failing that, the checkout this tool was built from.
    public static func locate(
        from start: String = FileManager.default.currentDirectoryPath,
        builtFrom sourceFile: String = #filePath
    ) throws(ToolError) -> Repository {
        var candidates = ancestors(of: start)
        // Sources/SwordfishTool/Host.swift → the checkout's root.
        candidates += ancestors(of: sourceFile).dropFirst(3).prefix(1)
        for candidate in candidates where isCheckout(candidate) {
            return Repository(root: candidate)
        }
        throw .repositoryNotFound(searchedFrom: start)
    }

    private static func ancestors(of path: String) -> [String] {
        var url = URL(fileURLWithPath: path).standardizedFileURL
        var result = [url.path]
        while url.path != "/" {
            url = url.deletingLastPathComponent()
            result.append(url.path)
        }
        return result
    }

    private static func isCheckout(_ path: String) -> Bool {
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: "\(path)/Package.swift")
            && FileManager.default.fileExists(atPath: "\(path)/Kernel", isDirectory: &isDirectory)
            && isDirectory.boolValue
    }

    public var kernelPackage: String { "\(root)/Kernel" }
    public var kernelToolset: String { "\(root)/Kernel/toolset.json" }
    public var corePackage: String { "\(root)/Core" }
    /// Where test logs go; `results/` is ignored by git.
    public var logs: String { "\(root)/results/logs" }
    /// A build folder of its own for the root package's tests, so that `swift test` does
    /// not wait on the lock that `swift run swordfish` holds on `.build`.
    public var testScratch: String { "\(root)/.build-tests" }

    /// `path` relative to the root when it is inside it, for shorter messages.
    public func relative(_ path: String) -> String {
        path.hasPrefix(root + "/") ? String(path.dropFirst(root.count + 1)) : path
    }
}
