// Running a program on another core (`oncore <core> <program> [args]` in the shell): the
// asking core sends the line in `runRequest` pieces; the target core spawns the program
// on itself, as its own shell's `run` would, and answers `runFinished` when the domain
// ends. The program's output reaches the console like any of that core's lines. The
// line is untrusted input from another core: it is parsed like a shell line, and a line
// that is too long or names no program gets `notStarted`.
import Basics
import BootInfo
import KernelMessages
import ShellCommands

extension CoreState {
    /// The longest line a run request may carry (a program name and its arguments).
    static let runRequestLimit = 1100

    /// A piece of a run request from `source`; a whole line becomes deferred work.
    /// Past the limit the rest of the line is dropped (so memory stays bounded), and
    /// the request is refused when it ends.
    func receiveRunRequest(_ bytes: [UInt8], isEnd: Bool, from source: CoreID) {
        if runRequestLines[source.rawValue].count <= Self.runRequestLimit {
            runRequestLines[source.rawValue].append(contentsOf: bytes)
        }
        guard isEnd else { return }
        let line = runRequestLines[source.rawValue]
        runRequestLines[source.rawValue].removeAll()
        guard line.count <= Self.runRequestLimit else {
            print("core \(id.rawValue): a run request from core \(source.rawValue) is too long; not run")
            return send(.runFinished(.notStarted), to: source)
        }
        deferred.append(.runProgram(line: line, requester: source))
    }

    /// Starts the program a run request names, or answers why not.
    func runRequested(_ line: [UInt8], by requester: CoreID) {
        guard case .run(let name, let arguments) = ShellCommand(parsing: Array("run ".utf8) + line) else {
            print("core \(id.rawValue): a run request from core \(requester.rawValue) names no program")
            return send(.runFinished(.notStarted), to: requester)
        }
        guard let program = bootImage?.program(named: name) else {
            print("core \(id.rawValue): no program '\(String(decoding: name, as: UTF8.self))' in the boot image")
            return send(.runFinished(.notStarted), to: requester)
        }
        do {
            let domain = try spawn(program, arguments: arguments)
            remoteRuns.append((domain: domain.id, requester: requester))
        } catch {
            print("core \(id.rawValue): could not start '\(String(decoding: name, as: UTF8.self))': \(describe(error))")
            send(.runFinished(.notStarted), to: requester)
        }
    }

    /// Tells the core that asked for `domain`, if one did, how it ended.
    func reportRemoteRun(of domain: Domain) {
        guard let index = remoteRuns.firstIndex(where: { $0.domain == domain.id }) else { return }
        let outcome: ProgramOutcome
        switch domain.state {
        case .exited(let status): outcome = .exited(status: status)
        case .stopped, .runnable: outcome = .stopped
        }
        send(.runFinished(outcome), to: remoteRuns[index].requester)
        remoteRuns.remove(at: index)
    }
}
