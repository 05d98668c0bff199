// pingpong: two threads of one domain pass a number back and forth over two endpoints,
// the receiving side served by a waitset. `run pingpong [rounds]` (default 10).
import SwordfishUser

let rounds = arguments.integer(at: 0) ?? 10
let ping = Capability(slot: 2), pong = Capability(slot: 3)
do {
    // Endpoints are fixed-size objects: retype takes size 0 for them.
    try Capability.ram.retype(to: .endpoint, count: 2, into: ping)
} catch {
    print("pingpong: no endpoints: \(error)")
    exit(1)
}

/// Sends `value` on `endpoint`, letting the other thread run while it is full.
func send(_ value: Int, on endpoint: Capability) {
    while true {
        do {
            return try endpoint.send((UInt64(value), 0, 0))
        } catch .endpointFull {
            Thread.yield()
        } catch {
            print("pingpong: send: \(error)")
            exit(1)
        }
    }
}

// The second thread answers every number on `ping` with the next one on `pong`.
let pings = Waitset()
let answerer = Thread.spawn {
    for _ in 1...rounds { pings.dispatch() }            // each sleeps until a ping comes
    return rounds
}
var pingsSeen = 0
do {
    try pings.add(endpoint: ping) { message in
        pingsSeen = Int(message.words[0])
        send(pingsSeen + 1, on: pong)
    }
} catch {
    print("pingpong: cannot serve ping: \(error)")
    exit(1)
}

// The first thread sends and waits for each answer.
let pongs = Waitset()
var answer = 0
do {
    try pongs.add(endpoint: pong) { message in answer = Int(message.words[0]) }
} catch {
    print("pingpong: cannot serve pong: \(error)")
    exit(1)
}
for round in 1...rounds {
    send(2 * round - 1, on: ping)
    pongs.dispatch()
    guard answer == 2 * round else {
        print("pingpong: round \(round) came back as \(answer)")
        exit(1)
    }
}
// join hands back what the thread returned, or how it faulted.
guard answerer.join() == .returned(rounds) else {
    print("pingpong: the answering thread did not finish")
    exit(1)
}
print("pingpong: \(rounds) round trips")
exit(0)
