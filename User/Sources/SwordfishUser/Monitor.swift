// Asking this core's monitor for something: a request on its service endpoint (a copy
// the kernel put in `InitialSlot.monitor`), carrying this domain's answer endpoint,
// then a sleep until the answer with the same id comes back. The monitor answers every
// request (success, a refusal, or `timedOut` when another monitor it had to ask stays
// silent), so a question never hangs on a dead core. One thread at a time may ask.

public enum Monitor {
    nonisolated(unsafe) static var nextID: UInt32 = 1

    static let service = Capability(slot: InitialSlot.monitor)
    static let answers = Capability(slot: InitialSlot.monitorAnswers)

    /// Asks core `core`'s monitor whether it is there (through this core's monitor and
    /// their ring).
    public static func ping(core: Int) throws(MonitorStatus) {
        _ = try ask(.ping(core: core))
    }

    /// Sends `request` and returns the answer's two values once it comes.
    public static func ask(_ request: MonitorRequest) throws(MonitorStatus) -> (UInt64, UInt64) {
        guard service.type == .endpoint else { throw .noMonitor }
        try claimAnswers()
        let id = nextID
        nextID &+= 1
        while true {
            do throws(InvocationStatus) {
                try service.send(request.words(id: id), capability: answers)
                break
            } catch .endpointFull {
                yield()                                  // the monitor is busy: let it run
            } catch {
                throw .noMonitor
            }
        }
        while true {
            let words: [UInt64]
            do throws(InvocationStatus) {
                words = try answers.receive()
            } catch .endpointEmpty {
                _ = try? answers.wait()
                continue
            } catch {
                throw .noMonitor
            }
            guard let answer = MonitorAnswer(words: words), answer.id == id else { continue }   // a stale answer
            guard answer.status == .success else { throw answer.status }
            return answer.values
        }
    }

    /// Makes the answer endpoint on first use and becomes its receiver.
    static func claimAnswers() throws(MonitorStatus) {
        guard answers.type == .null else { return }
        do throws(InvocationStatus) {
            try Capability.ram.retype(to: .endpoint, into: answers)
            _ = try answers.receive()
        } catch .endpointEmpty {
            return
        } catch {
            throw .noMonitor
        }
    }
}
