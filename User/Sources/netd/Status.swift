// `netd status` (the shell's `net`): asks the running service for its status, starting
// it if nobody has. The service prints the lines itself, on the console every program
// shares, and answers once they are out. `netd start [core]` and `netd stop` start the
// service (on the core asked for, else the knowledge base's pick) and end it.
import SwordfishUser
import UserRuntimeC
import FrameChannel

func askStatus() -> Never {
    let connection: Connection
    switch NetdService.connect(progress: { print("netd: \($0)") }) {
    case .success(let connected): connection = connected
    case .failure(let error):
        print("netd: \(error.what)")
        exit(1)
    }
    // Where it runs, against where the knowledge base would put it now.
    if let service = NetdService.running() {
        let pick = try? Monitor.serviceCore()
        print(pick == service.core ? "netd: the service runs on core \(service.core), the knowledge base's pick"
                                   : "netd: the service runs on core \(service.core); the knowledge base picks core \(pick.map { "\($0)" } ?? "none")")
    }
    do throws(Connection.Failure) {
        try connection.send([NetdService.statusRequest, 0, 0])
        let answer = try connection.receive()
        guard answer.first == NetdService.statusRequest else {
            print("netd: the service answered something else")
            exit(1)
        }
    } catch {
        print("netd: asking the service: \(error)")
        exit(1)
    }
    connection.close()
    exit(0)
}

/// `netd start [core]`: the service runs when this ends, on `core` if it was not running.
func startService(on core: Int?) -> Never {
    switch NetdService.ensureRunning(on: core, progress: { print("netd: \($0)") }) {
    case .success(let service):
        if let core, service.core != core { print("netd: the service already runs on core \(service.core)") }
        exit(0)
    case .failure(let error):
        print("netd: \(error.what)")
        exit(1)
    }
}

/// `netd stop`: kills the running service and waits until its name is free; its clients'
/// links drop, and devmgr takes the device back.
func stopService() -> Never {
    guard let service = NetdService.running() else {
        print("netd: no service runs")
        exit(0)
    }
    do throws(MonitorStatus) { try Monitor.kill(service) } catch {
        print("netd: stopping the service on core \(service.core): \(error)")
        exit(1)
    }
    let since = user_timestamp()
    while NetdService.running() != nil {
        guard user_timestamp() &- since < 1 << 34 else {
            print("netd: the service on core \(service.core) was killed, but its name is still taken")
            exit(1)
        }
        try? SystemCall.wait(until: user_timestamp() &+ (1 << 24))
    }
    print("netd: stopped the service on core \(service.core)")
    exit(0)
}
