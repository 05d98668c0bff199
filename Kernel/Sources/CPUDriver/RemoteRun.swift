// Running a program on another core for the in-kernel tests (the shell's `oncore` goes
// through the monitors instead): the asking core sends the line in `runRequest` pieces,
// all labelled with one request id; the target core spawns the program on itself and
// answers `runFinished` with the same id when the domain ends. The program's output
// reaches the console like any of that core's lines.
//
// Everything from another core is untrusted. The line is parsed like a shell line, and
// one that is too long or names no program gets `notStarted`. Each core serves one
// request per asking core at a time (a second one is refused at once), so a core that
// floods this one costs it a bounded line buffer and nothing more.
import Basics
import BootInfo
import KernelMessages
import ShellCommands

/// What a core keeps about run requests: lines arriving, and requests being served.
struct RunRequests {
    /// The longest line a run request may carry (a program name and its arguments).
    static let lineLimit = 1100

    /// By asking core: the id and the line so far of the request arriving.
    var arriving: [(id: UInt32, line: [UInt8])?]
    /// By asking core: the request being served (deferred, or its domain running).
    var serving: [UInt32?]
    /// The domains started for other cores: which request each serves.
    var domains: [(domain: Int, requester: CoreID, id: UInt32)] = []
    /// On the asking side: the next id, and the answers by target core.
    var nextID: UInt32 = 1
    var answers: [(id: UInt32, outcome: ProgramOutcome)?]

    init(coreCount: Int) {
        arriving = Array(repeating: nil, count: coreCount)
        serving = Array(repeating: nil, count: coreCount)
        answers = Array(repeating: nil, count: coreCount)
    }
}

extension CoreState {
    /// Asks `core` to run `line`; returns the request's id (its answer arrives in
    /// `runRequests.answers[core]`).
    func requestRun(_ line: [UInt8], on core: CoreID) -> UInt32 {
        let id = runRequests.nextID
        runRequests.nextID &+= 1
        for message in KernelMessage.pieces(of: line, { .runRequest(id: id, bytes: $0, isEnd: $1) }) { send(message, to: core) }
        return id
    }

    /// The answer to request `id` from `core`, if it has come.
    func runAnswer(from core: Int, id: UInt32) -> ProgramOutcome? {
        guard let answer = runRequests.answers[core], answer.id == id else { return nil }
        return answer.outcome
    }

    /// A piece of a run request from `source`; a whole line becomes deferred work. Past
    /// the limit the rest of the line is dropped (so memory stays bounded), and the
    /// request is refused when it ends.
    func receiveRunRequest(id: UInt32, _ bytes: [UInt8], isEnd: Bool, from source: CoreID) {
        var arriving = runRequests.arriving[source.rawValue]
        if arriving?.id != id { arriving = (id, []) }              // a new request replaces a broken one
        if arriving!.line.count <= RunRequests.lineLimit { arriving!.line.append(contentsOf: bytes) }
        runRequests.arriving[source.rawValue] = isEnd ? nil : arriving
        guard isEnd else { return }
        guard runRequests.serving[source.rawValue] == nil else {
            print("core \(self.id.rawValue): core \(source.rawValue) asked for a second program before the first ended; not run")
            return send(.runFinished(id: id, .notStarted), to: source)
        }
        guard arriving!.line.count <= RunRequests.lineLimit else {
            print("core \(self.id.rawValue): a run request from core \(source.rawValue) is too long; not run")
            return send(.runFinished(id: id, .notStarted), to: source)
        }
        runRequests.serving[source.rawValue] = id
        deferred.append(.runProgram(line: arriving!.line, requester: source, id: id))
    }

    /// Starts the program a run request names, or answers why not.
    func runRequested(_ line: [UInt8], by requester: CoreID, id: UInt32) {
        guard case .run(let name, let arguments) = ShellCommand(parsing: Array("run ".utf8) + line) else {
            print("core \(self.id.rawValue): a run request from core \(requester.rawValue) names no program")
            return finishRunRequest(id: id, of: requester, .notStarted)
        }
        guard let program = bootImage?.program(named: name) else {
            print("core \(self.id.rawValue): no program '\(String(decoding: name, as: UTF8.self))' in the boot image")
            return finishRunRequest(id: id, of: requester, .notStarted)
        }
        do {
            let domain = try spawn(program, arguments: arguments)
            runRequests.domains.append((domain: domain.id, requester: requester, id: id))
        } catch {
            print("core \(self.id.rawValue): could not start '\(String(decoding: name, as: UTF8.self))': \(describe(error))")
            finishRunRequest(id: id, of: requester, .notStarted)
        }
    }

    /// Tells the core that asked for `domain`, if one did, how it ended.
    func reportRemoteRun(of domain: Domain) {
        guard let index = runRequests.domains.firstIndex(where: { $0.domain == domain.id }) else { return }
        let request = runRequests.domains.remove(at: index)
        switch domain.state {
        case .exited(let status): finishRunRequest(id: request.id, of: request.requester, .exited(status: status))
        case .stopped, .runnable: finishRunRequest(id: request.id, of: request.requester, .stopped)
        }
    }

    func finishRunRequest(id: UInt32, of requester: CoreID, _ outcome: ProgramOutcome) {
        runRequests.serving[requester.rawValue] = nil
        send(.runFinished(id: id, outcome), to: requester)
    }
}
