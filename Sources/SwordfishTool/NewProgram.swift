import ArgumentParser
import Foundation

/// `swordfish new <name>`: a new user program that builds, is in the boot image and has
/// a guest test, in one step. It writes `User/Sources/<name>/main.swift` and
/// `User/Sources/<name>/guest-tests` and adds the name to the `programs` list in
/// User/Package.swift (a list, not a folder scan: SwiftPM re-reads a manifest only when
/// its text changes).
public struct ProgramTemplate: Sendable {
    public var name: String

    /// A name the shell's `run` can type and the package can use as a target: lowercase
    /// letters, digits and dashes, starting with a letter, at most 31 bytes (the
    /// dispatcher frame keeps 31).
    public init(name: String) throws(ToolError) {
        let allowed = name.utf8.allSatisfy { ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "z")) || ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || $0 == UInt8(ascii: "-") }
        guard let first = name.first, first.isLowercase, first.isLetter, allowed, name.utf8.count <= 31 else {
            throw .invalidProgramName(name)
        }
        self.name = name
    }

    public var mainSwift: String {
        """
        // \(name): what it does, in a sentence or two. `run \(name) [words]` in the shell
        // starts it; its guest test is in guest-tests beside this file.
        import SwordfishUser

        let who = arguments.isEmpty ? "world" : arguments.rest(from: 0)
        print("\(name): hello, \\(who)")

        // A thread, and what it hands back to `join`.
        let worker = Thread.spawn { 6 * 7 }
        guard case .returned(let answer) = worker.join() else {
            print("\(name): the worker thread did not return")
            exit(1)
        }
        print("\(name): the worker says \\(answer)")
        exit(0)

        """
    }

    public var guestTests: String {
        """
        # One shell line per test; the program must exit with status 0 and print each
        # `expect` text (see docs/user-programs.md, "Testing a program").
        run \(name) tests
        expect \(name): hello, tests
        expect \(name): the worker says 42

        """
    }

    /// User/Package.swift's text with `name` added to its `let programs = [...]` line
    /// (kept sorted), or nil if there is no such line.
    public func addingProgram(toManifest manifest: String) -> String? {
        var lines = manifest.lines
        guard let index = lines.firstIndex(where: { $0.hasPrefix("let programs = [") && $0.hasSuffix("]") }) else { return nil }
        let inside = lines[index].dropFirst("let programs = [".count).dropLast()
        var names = inside.split(separator: ",").map { $0.trimmingLeadingSpaces().filter { $0 != "\"" && $0 != " " } }
        names.append(name)
        lines[index] = "let programs = [" + names.sorted().map { "\"\($0)\"" }.joined(separator: ", ") + "]"
        return lines.joined(separator: "\n")
    }

    /// Writes the two files and adds the program to User/Package.swift; refuses to
    /// overwrite an existing program.
    public func write(in repository: Repository) throws(ToolError) -> String {
        let folder = "\(repository.root)/User/Sources/\(name)"
        let manifestPath = "\(repository.root)/User/Package.swift"
        guard !FileManager.default.fileExists(atPath: folder) else { throw .programExists(folder) }
        guard let manifest = FileManager.default.contents(atPath: manifestPath).map({ String(decoding: $0, as: UTF8.self) }),
              let updated = addingProgram(toManifest: manifest) else {
            throw .fileNotWritable(path: manifestPath, reason: "no 'let programs = [...]' line to add the program to")
        }
        do {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        } catch {
            throw .fileNotWritable(path: folder, reason: "\(error)")
        }
        for (path, text) in [("\(folder)/main.swift", mainSwift), ("\(folder)/guest-tests", guestTests), (manifestPath, updated)] {
            guard FileManager.default.createFile(atPath: path, contents: Data(text.utf8)) else {
                throw .fileNotWritable(path: path, reason: "could not write it")
            }
        }
        return folder
    }
}

extension SwordfishCommand {
    struct New: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a new user program with a guest test.",
            discussion: "Writes User/Sources/<name>/main.swift and guest-tests. The next build puts it in the boot image (`run <name>` in the shell) and `swordfish test` runs its guest test."
        )

        @OptionGroup var repository: RepositoryOptions

        @Argument(help: "The program's name: lowercase letters, digits and dashes.")
        var name: String

        func run() throws {
            let folder = try ProgramTemplate(name: name).write(in: repository.locate())
            print("created \(folder)/main.swift and guest-tests; `swift run swordfish run`, then `run \(name)`")
        }
    }
}
