// How a program reaches netd, the network driver as a service (docs/network.md): by its
// name, starting it first if nobody has. A connection's first message says what the
// client wants: a link (netd answers with the Ethernet address it gives the client,
// then both set up a ChannelLink) or the driver's status (netd prints it on the console
// and answers when done).
import SwordfishUser
import UserRuntimeC
import Basics

public enum NetdService {
    public static let name = "netd"
    /// How long netd and its clients poll their links, yielding, before they sleep
    /// (about 100 µs): the frames of a burst follow each other within microseconds,
    /// and waking a core that halted costs tens of microseconds under TCG.
    public static let pollCycles: UInt64 = 1 << 18
    /// First words of a client's request, and of netd's answer to it.
    public static let linkRequest: UInt64 = 0x4C49_4E4B        // "LINK"
    public static let statusRequest: UInt64 = 0x5354_4154      // "STAT"
    /// How long a starter waits for a netd it started to register its name (it brings
    /// the device up first), in counter cycles.
    static let startPatience: UInt64 = 100_000_000_000

    /// The cores whose monitors answer, from core 0 up to the first that does not.
    public static func cores() -> [CoreID] {
        var cores: [CoreID] = [CoreID(0)]
        while cores.count < 64, (try? Monitor.ping(core: cores.count)) != nil { cores.append(CoreID(cores.count)) }
        return cores
    }

    /// Where netd goes when nobody says: the knowledge base's pick for a service
    /// (`Monitor.serviceCore`); with MSI-X its interrupts reach any core and its device
    /// capabilities travel there from devmgr. Core 0 if the monitor has no pick yet.
    public static func placement() -> Int {
        (try? Monitor.serviceCore()) ?? 0
    }

    /// Whether netd runs: its domain, if it has registered its name.
    public static func running() -> SystemDomainID? { try? Monitor.lookup(name) }

    /// netd's domain, started (`netd serve`, on `core` or where `placement` says) if it
    /// is not running. `progress` hears what happens ("started netd on core 0").
    public static func ensureRunning(on core: Int? = nil, progress: (String) -> Void = { _ in }) -> Result<SystemDomainID, NetdError> {
        if let domain = running() { return .success(domain) }
        let target = core ?? placement()
        let started: SystemDomainID
        do throws(MonitorStatus) { started = try Monitor.spawn("netd", arguments: "serve", on: target) } catch {
            return .failure(NetdError(what: "starting netd on core \(target): \(error)"))
        }
        progress("started netd on core \(target) (\(core == nil ? "the knowledge base's pick" : "as asked"))")
        let since = user_timestamp()
        while true {
            if let domain = running() { return .success(domain) }
            // Another starter's netd may have won the device; then this one ends.
            if (try? Monitor.isAlive(started)) == false, running() == nil {
                return .failure(NetdError(what: "netd on core \(target) ended before it served"))
            }
            guard user_timestamp() &- since < startPatience else { return .failure(NetdError(what: "netd did not register its name")) }
            try? SystemCall.wait(until: user_timestamp() &+ (1 << 24))
        }
    }

    /// A connection to netd, started first if it is not running.
    public static func connect(startingOn core: Int? = nil, progress: (String) -> Void = { _ in }) -> Result<Connection, NetdError> {
        if case .failure(let error) = ensureRunning(on: core, progress: progress) { return .failure(error) }
        do throws(MonitorStatus) { return .success(try Connection.connect(to: name, waitingUpTo: 1 << 32)) } catch {
            return .failure(NetdError(what: "connecting to netd: \(error)"))
        }
    }

    /// Asks netd for a link: the Ethernet address it gives this client and its port.
    public static func requestLink(on connection: Connection) -> Result<(address: UInt64, port: Int), NetdError> {
        do throws(Connection.Failure) {
            try connection.send([linkRequest, 0, 0])
            let answer = try connection.receive()
            guard answer.count >= 3, answer[0] == linkRequest else { return .failure(NetdError(what: "netd refused a link")) }
            return .success((answer[1], Int(truncatingIfNeeded: answer[2])))
        } catch {
            return .failure(NetdError(what: "asking netd for a link: \(error)"))
        }
    }
}

public struct NetdError: Error {
    public var what: String
}

/// What netd and its clients do after a turn of their loop: poll a little while idle
/// (the next frame of a burst comes within microseconds, and waking a sleeping core
/// costs far more), then sleep, with their doorbells announced so that the peer's next
/// frames ring them and nothing waits for a timer tick.
public struct IdleTurns {
    var since: UInt64? = nil

    public init() {}

    /// After a turn that did (`busy`) or did not find work: true once the loop has been
    /// idle for `NetdService.pollCycles` and should sleep now; until then it yields.
    public mutating func timeToSleep(busy: Bool) -> Bool {
        let now = user_timestamp()
        if busy {
            since = nil
            return false
        }
        guard now &- (since ?? now) >= NetdService.pollCycles else {
            if since == nil { since = now }
            yield()
            return false
        }
        since = nil
        return true
    }

    /// How long one sleep lasts at most: a ring that never comes costs no more.
    public static let sleepCycles: UInt64 = 1 << 22
}
