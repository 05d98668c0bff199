// uchan: two domains talk by name, whichever cores they are on (`Monitor.bind`): over a
// channel of rings when on different cores, over same-core messages on one core.
//   serve <name> <count>       register the name, take the first binding, answer
//                              `count` messages with the same number plus one
//   talk <name> <count> [bench] bind to the name, send 1…count and check every answer
//                              comes back in order; with `bench`, print the median
//                              round trip as the BENCH line cross-core-user-roundtrip
//   orphan <core>              start a server on that core, bind to it, trade one
//                              message, kill the server: the next receive must fail
//                              with peerEnded (exit 0), not hang
import SwordfishUser
import UserRuntimeC

func fail(_ text: String) -> Never {
    print("uchan: \(text)")
    exit(1)
}

if arguments.first == "orphan" {
    guard let core = arguments.integer(at: 1) else { exit(2) }
    let name = "orphan-\(core)"
    let server: UInt64
    do throws(MonitorStatus) { server = try Monitor.spawn("uchan", arguments: "serve \(name) 1000000", on: core) } catch { fail("spawn: \(error)") }
    var binding: Monitor.Binding? = nil
    while binding == nil {
        do throws(MonitorStatus) { binding = try Monitor.bind(name) } catch { guard error == .noSuchName else { fail("bind: \(error)") }; yield() }
    }
    guard case .channel(var channel, _) = binding! else { fail("the server runs on this core") }
    while !channel.trySend([1]) {}
    do throws(UserChannel.Failure) { _ = try channel.receive() } catch { fail("the first answer: \(error)") }
    do throws(MonitorStatus) { try Monitor.kill(server) } catch { fail("kill: \(error)") }
    _ = channel.trySend([2])
    do throws(UserChannel.Failure) {
        let answer = try channel.receive()
        if answer.words[0] != 3 { fail("an answer after the kill: \(answer.words[0])") }
        _ = try channel.receive()                        // the one sent before the kill may come
        fail("a message after the server was killed")
    } catch {
        guard error == .peerEnded else { fail("after the kill: \(error)") }
    }
    print("uchan: the killed server's channel says peerEnded")
    exit(0)
}
guard arguments.count >= 3, let name = arguments[1], let count = arguments.integer(at: 2), count > 0 else {
    print("usage: uchan serve <name> <count> | talk <name> <count> [bench] | orphan <core>")
    exit(2)
}
let endpoint = Capability(slot: 2), page = Capability(slot: 3)

switch arguments.first {
case "serve":
    do throws(InvocationStatus) {
        try Capability.ram.retype(to: .endpoint, into: endpoint)
        _ = try? endpoint.receive()                    // becomes its receiver
    } catch {
        fail("no endpoint: \(error)")
    }
    do throws(MonitorStatus) { try Monitor.register(name, endpoint: endpoint) } catch { fail("register \(name): \(error)") }
    // The first message says how the client came: a BindOffer (another core) or a
    // number (this core, on the endpoint).
    var first: [UInt64] = []
    while first.isEmpty {
        do throws(InvocationStatus) {
            first = try endpoint.receive(capabilityDestination: page)
        } catch .endpointEmpty {
            try? endpoint.wait()
        } catch {
            fail("receive: \(error)")
        }
    }
    if first[0] == BindOffer.marker {
        var channel: UserChannel
        do throws(MonitorStatus) { channel = try UserChannel(offer: first, page: page) } catch { fail("offer: \(error)") }
        var answered = 0
        while answered < count {
            let message: (tag: UInt16, words: [UInt64])?
            do throws(ChannelError) { message = try channel.tryReceive() } catch { fail("the client's ring is corrupt") }
            guard let message else { continue }         // polling: the peer is on another core
            while !channel.trySend([message.words[0] + 1]) {}
            answered += 1
        }
    } else {
        // Same core: the client's endpoint came with its first message.
        var words = first
        for answered in 0..<count {
            if answered > 0 {
                while true {
                    do throws(InvocationStatus) { words = try endpoint.receive(); break } catch .endpointEmpty { try? endpoint.wait() } catch { fail("receive: \(error)") }
                }
            }
            while (try? page.send((words[0] + 1, 0, 0))) == nil { yield() }
        }
    }
    print("uchan: answered \(count) messages")
    exit(0)
case "talk":
    // The server may not have registered yet: bind until it has (within 10 s).
    var binding: Monitor.Binding? = nil
    let start = user_timestamp()
    while binding == nil {
        do throws(MonitorStatus) { binding = try Monitor.bind(name) } catch {
            guard error == .noSuchName, user_timestamp() &- start < 20_000_000_000 else { fail("bind \(name): \(error)") }
            yield()
        }
    }
    let bench = arguments[3] == "bench"
    var samples: [UInt64] = []
    switch binding! {
    case .channel(var channel, _):
        for number in 1...count {
            let sent = user_timestamp()
            while !channel.trySend([UInt64(number)]) {}
            var answer: (tag: UInt16, words: [UInt64])? = nil
            while answer == nil {
                do throws(ChannelError) { answer = try channel.tryReceive() } catch { fail("the server's ring is corrupt") }
            }
            if bench { samples.append(user_timestamp() &- sent) }
            guard answer!.words[0] == UInt64(number) + 1 else { fail("message \(number) came back as \(answer!.words[0])") }
        }
        print("uchan: \(count) messages over a channel to another core, in order")
    case .endpoint(let server, _):
        // The reply endpoint goes along with the first message.
        let replies = Capability(slot: 4)
        do throws(InvocationStatus) {
            try Capability.ram.retype(to: .endpoint, into: replies)
            _ = try? replies.receive()
        } catch {
            fail("no reply endpoint: \(error)")
        }
        for number in 1...count {
            while (try? server.send((UInt64(number), 0, 0), capability: number == 1 ? replies : nil)) == nil { yield() }
            var words: [UInt64] = []
            while words.isEmpty {
                do throws(InvocationStatus) { words = try replies.receive() } catch .endpointEmpty { try? replies.wait() } catch { fail("receive: \(error)") }
            }
            guard words[0] == UInt64(number) + 1 else { fail("message \(number) came back as \(words[0])") }
        }
        print("uchan: \(count) messages over an endpoint on this core, in order")
    }
    if bench, !samples.isEmpty {
        samples.sort()
        print("BENCH name=cross-core-user-roundtrip unit=cycles median=\(samples[samples.count / 2]) p99=\(samples[samples.count * 99 / 100]) samples=\(samples.count)")
    }
    exit(0)
default:
    print("usage: uchan serve <name> <count> | talk <name> <count> [bench]")
    exit(2)
}
