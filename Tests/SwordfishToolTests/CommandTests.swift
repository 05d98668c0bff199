import Foundation
import XCTest
@testable import SwordfishTool

final class CommandTests: XCTestCase {
    func testRunDefaults() throws {
        let command = try XCTUnwrap(SwordfishCommand.parseAsRoot(["run"]) as? SwordfishCommand.Run)
        XCTAssertEqual(command.boot.cores, 2)
        XCTAssertEqual(command.boot.memory, MemorySize(mebibytes: 512))
        XCTAssertEqual(command.boot.accel, .auto)
        XCTAssertFalse(command.boot.gdb)
        XCTAssertEqual(command.boot.kernelArguments, "")
    }

    func testRunOptionsShapeTheQEMUCommand() throws {
        let command = try XCTUnwrap(SwordfishCommand.parseAsRoot(
            ["run", "--cores", "4", "--memory", "4096M", "--accel", "tcg", "--gdb", "--append", "test quiet"]
        ) as? SwordfishCommand.Run)
        let qemu = command.boot.configuration(kernel: "k", probe: HostProbe(pathExists: { _ in true }))
        XCTAssertEqual(qemu, QEMUConfiguration(
            kernel: "k", cores: 4, memory: MemorySize(mebibytes: 4096)!, accelerator: .tcg,
            kernelArguments: "test quiet", waitsForDebugger: true, hasNetwork: true
        ))
    }

    func testBadOptionsAreRejected() {
        XCTAssertThrowsError(try SwordfishCommand.parseAsRoot(["run", "--memory", "1.5G"]))
        XCTAssertThrowsError(try SwordfishCommand.parseAsRoot(["run", "--cores", "0"]))
        XCTAssertThrowsError(try SwordfishCommand.parseAsRoot(["run", "--accel", "hvf"]))
        XCTAssertThrowsError(try SwordfishCommand.parseAsRoot(["test", "--host-only", "--guest-only"]))
        XCTAssertThrowsError(try SwordfishCommand.parseAsRoot(["test", "--config", "4"]))
        XCTAssertThrowsError(try SwordfishCommand.parseAsRoot(["test", "--timeout", "0"]))
        XCTAssertThrowsError(try SwordfishCommand.parseAsRoot(["run", "--timeout", "0"]))
        XCTAssertThrowsError(try SwordfishCommand.parseAsRoot(["run", "--timeout", "-5"]))
        XCTAssertThrowsError(try SwordfishCommand.parseAsRoot(["run", "--timeout", "1.5"]))
    }

    func testRunTimeout() throws {
        let plain = try XCTUnwrap(SwordfishCommand.parseAsRoot(["run"]) as? SwordfishCommand.Run)
        XCTAssertNil(plain.timeout)
        let timed = try XCTUnwrap(SwordfishCommand.parseAsRoot(["run", "--timeout", "30"]) as? SwordfishCommand.Run)
        XCTAssertEqual(timed.timeout, 30)
    }

    func testOnlyTheFullTestRunHasTheBenchSmokeTest() throws {
        func suites(_ arguments: [String]) throws -> [Bool] {
            let command = try XCTUnwrap(SwordfishCommand.parseAsRoot(["test"] + arguments) as? SwordfishCommand.Test)
            let runner = try command.runner(for: Repository(root: "/r"))
            return [runner.runsHostSuites, runner.runsGuestSuites, runner.runsBenchSmokeTest]
        }
        XCTAssertEqual(try suites([]), [true, true, true])
        XCTAssertEqual(try suites(["--guest-only"]), [false, true, false])
        XCTAssertEqual(try suites(["--host-only"]), [true, false, false])
    }

    func testTestOptions() throws {
        let command = try XCTUnwrap(SwordfishCommand.parseAsRoot(
            ["test", "--guest-only", "--timeout", "60", "--config", "1:128M", "--config", "8:2G"]
        ) as? SwordfishCommand.Test)
        XCTAssertTrue(command.guestOnly)
        XCTAssertEqual(command.timeout, 60)
        XCTAssertEqual(command.configurations.map(\.description), ["1c-128M", "8c-2G"])
    }
}

final class RepositoryTests: XCTestCase {
    private var scratch: URL!

    override func setUpWithError() throws {
        scratch = FileManager.default.temporaryDirectory.appendingPathComponent("swordfish-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch.appendingPathComponent("Kernel"), withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: scratch.appendingPathComponent("Core/Sources"), withIntermediateDirectories: true)
        XCTAssertTrue(FileManager.default.createFile(atPath: scratch.appendingPathComponent("Package.swift").path, contents: Data()))
    }

    override func tearDownWithError() throws {
        try FileManager.default.removeItem(at: scratch)
    }

    func testFindsTheCheckoutAboveTheCurrentFolder() throws {
        let root = scratch.standardizedFileURL.path
        let repository = try Repository.locate(from: "\(root)/Core/Sources", builtFrom: "/nowhere/a/b/c.swift")
        XCTAssertEqual(repository.root, root)
        XCTAssertEqual(repository.kernelToolset, "\(root)/Kernel/toolset.json")
        XCTAssertEqual(repository.logs, "\(root)/results/logs")
        XCTAssertEqual(repository.relative("\(root)/results/logs/x.log"), "results/logs/x.log")
        XCTAssertEqual(repository.relative("/elsewhere"), "/elsewhere")
    }

    func testFallsBackToTheCheckoutTheToolWasBuiltFrom() throws {
        let root = scratch.standardizedFileURL.path
        let repository = try Repository.locate(from: "/", builtFrom: "\(root)/Sources/SwordfishTool/Host.swift")
        XCTAssertEqual(repository.root, root)
        XCTAssertThrowsError(try Repository.locate(from: "/", builtFrom: "/nowhere/a/b/c.swift"))
    }

    func testKernelBuildCommand() {
        let build = KernelBuild(repository: Repository(root: "/r"))
        XCTAssertEqual(build.command.description,
            "swift build --package-path /r/Kernel --triple x86_64-unknown-none-elf --toolset /r/Kernel/toolset.json -c release --product kernel")
    }

    func testHostSuitesUseTheirOwnScratchFolderForThisPackage() {
        let runner = TestRunner(repository: Repository(root: "/r"))
        let suites = runner.hostSuites
        XCTAssertEqual(suites.map(\.name), ["Core", "tool"])
        XCTAssertEqual(suites[0].command.description, "swift test --parallel --package-path /r/Core --xunit-output /r/results/logs/host-Core.xml")
        XCTAssertEqual(suites[1].command.description,
            "swift test --parallel --package-path /r --scratch-path /r/.build-tests --xunit-output /r/results/logs/host-tool.xml")
    }
}
