// `netd status` (the shell's `net`): asks the running service for its status, starting
// it if nobody has. The service prints the lines itself, on the console every program
// shares, and answers once they are out.
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
