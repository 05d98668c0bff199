// monitor-ping <core>…: asks this core's monitor to ping each listed core's monitor
// (over the monitors' rings) and checks that each answers, and that a core the machine
// does not have is refused. Exit 0 if all went as expected.
import SwordfishUser

let cores = (0..<arguments.count).compactMap { arguments.integer(at: $0) }
guard !cores.isEmpty, cores.count == arguments.count else {
    print("usage: monitor-ping <core>…")
    exit(2)
}
var failed = false
for core in cores {
    do throws(MonitorStatus) {
        try Monitor.ping(core: core)
    } catch {
        print("monitor-ping: core \(core)'s monitor: \(error)")
        failed = true
    }
}
do throws(MonitorStatus) {
    try Monitor.ping(core: 4096)
    print("monitor-ping: a ping to core 4096 was answered")
    failed = true
} catch {
    if error != .noSuchCore { print("monitor-ping: core 4096: \(error), not noSuchCore"); failed = true }
}
if !failed { print("monitor-ping: \(cores.count) monitors answered") }
exit(failed ? 1 : 0)
