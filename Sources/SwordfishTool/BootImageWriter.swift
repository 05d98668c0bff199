import ABI
import Basics
import BootInfo
import Foundation

/// Packs the user programs and the files of User/Files into the boot image the kernel
/// reads as its first boot module (format: Core/Sources/BootInfo/BootImage.swift).
public enum BootImageWriter {
    public static let nameBytes = 48

    public static func image(_ programs: [(name: String, bytes: Data)]) throws(ToolError) -> Data {
        var image = Data("SFIMAGE1".utf8)
        image.append(littleEndian: UInt32(programs.count))
        image.append(littleEndian: UInt32(0))
        var offset = 16 + programs.count * 64
        for program in programs {
            var name = Array(program.name.utf8)
            guard !name.isEmpty, name.count < nameBytes else {
                throw .invalidConfiguration("program name '\(program.name)' must be 1 to \(nameBytes - 1) bytes")
            }
            name += Array(repeating: 0, count: nameBytes - name.count)
            image.append(contentsOf: name)
            image.append(littleEndian: UInt64(offset))
            image.append(littleEndian: UInt64(program.bytes.count))
            offset += program.bytes.count
        }
        for program in programs { image.append(program.bytes) }
        return image
    }
}

extension Data {
    mutating func append<T: FixedWidthInteger>(littleEndian value: T) {
        Swift.withUnsafeBytes(of: value.littleEndian) { append(contentsOf: $0) }
    }
}

/// The user programs: every folder under User/Sources whose name starts with a
/// lower-case letter is an executable target (the capitalised ones are libraries).
public struct UserPrograms: Sendable {
    public var repository: Repository

    public var names: [String] {
        let sources = "\(repository.root)/User/Sources"
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: sources)) ?? []
        return entries.filter { $0.first?.isLowercase == true }.sorted()
    }

    var command: ShellCommand {
        let triple = "x86_64-unknown-none-elf"
        // Programs link the toolchain's Unicode data tables (User/Package.swift), so that
        // String comparison and switching work; the linker needs their folder.
        let libraries = Executables.embeddedLibraries(for: triple).map { ["-Xlinker", "-L\($0)"] } ?? []
        return ShellCommand("swift", [
            "build", "--package-path", "\(repository.root)/User",
            "--triple", triple,
            "--toolset", "\(repository.root)/Kernel/toolset.json",
            "-c", "release",
        ] + libraries)
    }

    /// Builds every program and writes the boot image to `destination`. The image holds
    /// each program without its debug sections (about a megabyte a program, and the
    /// guest carves the image out of its RAM); the whole ELFs go beside it, in
    /// `symbolsFolder(of: destination)`, for symbolising a program's faults.
    public func buildImage(at destination: String) throws(ToolError) {
        try LwIPBuild(repository: repository).run()
        let directory = try SwiftBuild.run(command, what: "the user programs")
        let symbols = Self.symbolsFolder(of: destination)
        try? FileManager.default.removeItem(atPath: symbols)
        do {
            try FileManager.default.createDirectory(atPath: symbols, withIntermediateDirectories: true)
        } catch {
            throw .fileNotWritable(path: symbols, reason: "could not create it")
        }
        let objcopy = Executables.findInToolchain("llvm-objcopy") ?? Executables.find("llvm-objcopy")
        var programs: [(name: String, bytes: Data)] = []
        for name in names {
            let built = "\(directory)/\(name)", whole = "\(symbols)/\(name)"
            try? FileManager.default.removeItem(atPath: whole)
            guard (try? FileManager.default.copyItem(atPath: built, toPath: whole)) != nil else {
                throw .programNotBuilt(name: name, path: built)
            }
            let stripped = "\(whole).stripped"
            if let objcopy {
                try Subprocess.run(ShellCommand(objcopy, ["--strip-debug", whole, stripped]), output: .capture)
            }
            defer { try? FileManager.default.removeItem(atPath: stripped) }
            // Without llvm-objcopy (or if it failed) the program goes in whole.
            guard let bytes = FileManager.default.contents(atPath: stripped) ?? FileManager.default.contents(atPath: whole) else {
                throw .programNotBuilt(name: name, path: built)
            }
            programs.append((name, bytes))
        }
        let image = try BootImageWriter.image(programs + bootFiles())
        guard FileManager.default.createFile(atPath: destination, contents: image) else {
            throw .fileNotWritable(path: destination, reason: "could not create it")
        }
    }

    /// Every file under User/Files, named by its path there (`www/index.html`), in name
    /// order. The monitors hand them out by a name of at most `MonitorRequest.nameBytes`.
    func bootFiles() throws(ToolError) -> [(name: String, bytes: Data)] {
        let folder = "\(repository.root)/User/Files"
        guard let paths = FileManager.default.enumerator(atPath: folder)?.allObjects as? [String] else { return [] }
        var files: [(name: String, bytes: Data)] = []
        for path in paths.sorted() {
            var isFolder: ObjCBool = false
            guard FileManager.default.fileExists(atPath: "\(folder)/\(path)", isDirectory: &isFolder), !isFolder.boolValue else { continue }
            guard path.utf8.count <= MonitorRequest.nameBytes else {
                throw .invalidConfiguration("User/Files/\(path): a boot file's path may have at most \(MonitorRequest.nameBytes) bytes")
            }
            guard let bytes = FileManager.default.contents(atPath: "\(folder)/\(path)") else { throw .programNotBuilt(name: path, path: folder) }
            files.append((path, bytes))
        }
        return files
    }

    /// Where `buildImage` puts the whole ELFs of the image at `image`.
    public static func symbolsFolder(of image: String) -> String { image + ".symbols" }

    /// The ELF of the program called `name` for the boot image at `path`: the whole one
    /// beside it if `buildImage` left it there, else the one in the image, read with the
    /// kernel's own parser; nil when the image is missing or malformed or has no such
    /// program.
    public static func executable(named name: String, inBootImage path: String) -> Data? {
        if let whole = FileManager.default.contents(atPath: "\(symbolsFolder(of: path))/\(name)") { return whole }
        guard let image = FileManager.default.contents(atPath: path) else { return nil }
        return image.withUnsafeBytes { bytes -> Data? in
            guard let parsed = try? BootImage(ByteReader(bytes)),
                  let program = parsed.program(named: Array(name.utf8)) else { return nil }
            return Data(program.bytes.bytes)
        }
    }
}
