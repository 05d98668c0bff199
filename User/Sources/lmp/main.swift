// Same-core messages between two domains, for the kernel's tests. The kernel gives the
// client a copy of the server's endpoint (slot 2) once the server receives on it.
//   server       makes an endpoint and receives one message: words 1, 2, 3 and a RAM
//                capability (into slot 3); then stops receiving for a while
//   client       sends that message, then more until one is refused as full (the
//                endpoint holds 8, so within 16 sends whenever the server takes its
//                one); exit 0 if every send before that succeeded. It stays a while
//                before it exits: ending revokes its RAM, and with it any copy in flight.
//   revoker      makes an endpoint, receives once, lets the client get going, then
//                revokes and deletes the endpoint
//   late-client  waits, then sends: the endpoint is gone (slotEmpty); exit 0 if so
//   buffer-server  makes an endpoint and, once the client's first message is there,
//                receives it into buffers the kernel must refuse (badBuffer): read-only,
//                straddling into a read-only page, the kernel's memory, the upper half,
//                unmapped, misaligned. None may change memory, take the message or fill
//                the capability slot; then a good receive gets it whole. (Receive is
//                the only operation that writes to user memory: every other result
//                comes back in registers.)
//   pong [split] makes an endpoint and answers every message on the peer's endpoint
//                (slot 4) until a message says 0: each answer with a call, which also
//                waits for and takes the next message (one invocation per message); with
//                `split`, by send, then wait and receive (three)
//   ping <n> [split]  makes an endpoint, waits for the peer's (slot 4), then measures n
//                round trips, each a call (or with `split` a send, a wait and a receive),
//                and prints the BENCH line for same-core-roundtrip
//   call-refusals  alone: calls that must be refused (a bad target or receiving
//                endpoint, missing rights, an endpoint it does not receive on, one with
//                no receiver, a full one) send nothing; a message carrying a capability
//                is left for receive (capabilityWaiting); a good call on its own
//                endpoint answers with its words and badge
//   call-sleeper, endpoint-killer  run together: the sleeper calls the killer and
//                sleeps for the answer; the killer takes the message and destroys the
//                sleeper's endpoint (revoking its copy, then deleting it): the call
//                must end with slotEmpty
//   hog          puts capabilities in flight on endpoints of its own until the kernel
//                answers tooManyInFlight (its quota), tells the peer (slot 4), receives
//                the peer's capability, and checks a message taken frees a slot
//   hog-peer     once the hog says it is at its quota, sends it a capability: exit 0
//                if the kernel took it
import SwordfishUser
import UserRuntimeC

/// The endpoint each side receives on, where the capability of a message goes, and the
/// peer's endpoint (given by the kernel's test).
let endpoint = Capability(slot: 2), arrived = Capability(slot: 3), peer = Capability(slot: 4)

func makeEndpoint() {
    do throws(InvocationStatus) { try Capability.ram.retype(to: .endpoint, into: endpoint) } catch {
        print("lmp: retype to endpoint: \(error)")
        exit(1)
    }
}

/// Receives on the endpoint (a capability goes to `arrived`), sleeping while it is empty.
func receive() throws(InvocationStatus) -> [UInt64] {
    while true {
        do throws(InvocationStatus) {
            return try endpoint.receive(capabilityDestination: arrived)
        } catch .endpointEmpty {
            try endpoint.wait()
        }
    }
}

/// The first word of the next message on an endpoint this domain has claimed, sleeping
/// first until a message is there (`wait` returns at once if one is): a wait and a
/// receive per message, where `receive()` tries the receive, waits and receives again.
func awaitMessage() throws(InvocationStatus) -> UInt64 {
    while true {
        try endpoint.wait()
        do throws(InvocationStatus) {
            return try endpoint.receiveWords(capabilityDestination: arrived).words.0
        } catch .endpointEmpty {}
    }
}

/// Words for a message line.
func list(_ words: [UInt64]?) -> String {
    guard let words else { return "nothing" }
    var text = "["
    for (i, word) in words.enumerated() { text += (i == 0 ? "" : " ") + String(word) }
    return text + "]"
}

/// Sends `word` to the peer, yielding while its endpoint is full.
func sendToPeer(_ word: UInt64) {
    while true {
        do throws(InvocationStatus) {
            return try peer.send((word, 0, 0))
        } catch .endpointFull {
            yield()
        } catch {
            print("lmp: send: \(error)")
            exit(1)
        }
    }
}

/// Sends `word` to the peer and returns the first word of the answer on this domain's
/// endpoint, in one call; yields while the peer's endpoint is full.
func callPeer(_ word: UInt64) -> UInt64 {
    while true {
        do throws(InvocationStatus) {
            return try peer.call((word, 0, 0), receivingOn: endpoint).words.0
        } catch .endpointFull {
            yield()
        } catch {
            print("lmp: call: \(error)")
            exit(1)
        }
    }
}

/// Makes this domain the endpoint's receiver (the kernel takes the first receive as the
/// claim) while nothing can be there yet.
func claimEndpoint() {
    do throws(InvocationStatus) {
        _ = try endpoint.receive()
        print("lmp: a message before any sender")
        exit(1)
    } catch .endpointEmpty {
    } catch {
        print("lmp: first receive: \(error)")
        exit(1)
    }
}

let role = arguments.first ?? ""
if role == "server" {
    makeEndpoint()
    let words = try? receive()
    guard words == [1, 2, 3], arrived.type == .physicalRAM else {
        print("lmp: first message \(list(words)), capability type \(arrived.type.rawValue)")
        exit(1)
    }
    for _ in 0..<200 { yield() }
    exit(0)
} else if role == "client" {
    // Words 1, 2, 3 and the RAM capability; then more until the endpoint is full.
    var sent = 0
    var refusal: InvocationStatus? = nil
    do throws(InvocationStatus) {
        try endpoint.send((1, 2, 3), capability: .ram)
        sent = 1
        while sent < 16 {
            try endpoint.send((UInt64(sent + 1), 0, 0))
            sent += 1
        }
    } catch {
        refusal = error
    }
    if refusal != .endpointFull { print("lmp: after \(sent) sends the endpoint answered \(refusal.map { "\($0)" } ?? "nothing"), not full") }
    for _ in 0..<100 { yield() }
    exit(sent >= 1 && refusal == .endpointFull ? 0 : 1)
} else if role == "revoker" {
    makeEndpoint()
    claimEndpoint()
    for _ in 0..<50 { yield() }
    do throws(InvocationStatus) {
        try endpoint.revoke()
        try endpoint.delete()
    } catch {
        print("lmp: revoke and delete: \(error)")
        exit(1)
    }
    exit(0)
} else if role == "late-client" {
    for _ in 0..<100 { yield() }
    do throws(InvocationStatus) {
        try endpoint.send((7, 7, 7))
        print("lmp: a send to a revoked endpoint went through")
        exit(1)
    } catch {
        if error != .slotEmpty { print("lmp: send to a revoked endpoint answered \(error)") }
        exit(error == .slotEmpty ? 0 : 1)
    }
}
if role == "buffer-server" {
    // A writable page at `window` and a read-only mapping of another frame right after
    // it, in the 2 MiB at 1 TiB (slots 5–7 the tables, 8 and 9 the frames, 10 the
    // read-only copy). Receive is the only invocation that writes to user memory, and
    // it takes its buffer as a raw address, so this role uses the raw form.
    let window: UInt64 = 2 << 39
    let writable = Capability(slot: 8), readOnly = Capability(slot: 10)
    do throws(InvocationStatus) {
        let table = try makePageTable(from: .ram, into: 5, pml4Entry: 2)
        try Capability.ram.retype(to: .frame, size: 4096, into: writable)
        try Capability.ram.retype(to: .frame, size: 4096, into: Capability(slot: 9))
        try Capability(slot: 9).mint(to: readOnly, rights: [.read])
        try table.map(writable, at: 0, rights: [.read, .write])
        try table.map(readOnly, at: 1, rights: [.read])
    } catch {
        print("lmp: setting up the buffers: \(error)")
        exit(1)
    }
    for offset in stride(from: UInt64(0), to: 4096, by: 8) { user_write(window + offset, 0xB0FF_0000 + offset) }
    makeEndpoint()
    claimEndpoint()
    do throws(InvocationStatus) { try endpoint.wait() } catch {                   // until the client's first message is there
        print("lmp: wait: \(error)")
        exit(1)
    }
    let refused: [(String, UInt64)] = [
        ("read-only", window + 4096), ("straddling into read-only", window + 4096 - 16),
        ("kernel", 0x10_0000), ("upper half", 0xFFFF_8000_0000_0000), ("unmapped", 0x0000_7000_0000_0000),
        ("misaligned", window + 4),
    ]
    var failed = false
    for (what, address) in refused {
        let status = Capability.invokeRaw(endpoint.address.encoded, CapabilityOperation.receive.rawValue, arrived.address.encoded, address).status
        if status != InvocationStatus.badBuffer.rawValue {
            print("lmp: receive into a \(what) buffer answered \(status), not badBuffer")
            failed = true
        }
    }
    for offset in stride(from: UInt64(0), to: 4096, by: 8) where user_read(window + offset) != 0xB0FF_0000 + offset {
        print("lmp: a refused receive changed the word at +\(offset)")
        failed = true
    }
    for offset in stride(from: UInt64(0), to: 4096, by: 8) where user_read(window + 4096 + offset) != 0 {
        print("lmp: a refused receive wrote to the read-only page at +\(offset)")
        failed = true
    }
    if arrived.type != .null { print("lmp: a refused receive filled the capability slot"); failed = true }
    // The message is still there, whole.
    let words = try? endpoint.receive(capabilityDestination: arrived)
    guard words == [1, 2, 3], arrived.type == .physicalRAM else {
        print("lmp: the good receive got \(list(words)), capability type \(arrived.type.rawValue)")
        exit(1)
    }
    for _ in 0..<200 { yield() }
    exit(failed ? 1 : 0)
}
/// Sends `word` to the peer and returns the answer's first word: one call, or with
/// `split` a send, a wait and a receive.
func exchange(_ word: UInt64, split: Bool) -> UInt64 {
    guard split else { return callPeer(word) }
    sendToPeer(word)
    guard let answer = try? awaitMessage() else { exit(1) }
    return answer
}

if role == "pong" {
    let split = arguments[1] == "split"
    makeEndpoint()
    claimEndpoint()
    guard var word = try? awaitMessage() else { exit(1) }
    while word != 0 { word = exchange(word, split: split) }
    exit(0)
} else if role == "ping" {
    guard let rounds = arguments.integer(at: 1), rounds > 0 else { exit(2) }
    let split = arguments[2] == "split"
    makeEndpoint()
    claimEndpoint()
    while peer.type != .endpoint { yield() }
    var samples: [UInt64] = []
    samples.reserveCapacity(rounds)
    for round in 0..<(rounds + rounds / 10) {
        let start = user_timestamp()
        guard exchange(UInt64(round + 1), split: split) == UInt64(round + 1) else { exit(1) }
        if round >= rounds / 10 { samples.append(user_timestamp() &- start) }       // after the warm-up
    }
    sendToPeer(0)
    samples.sort()
    print("BENCH name=same-core-roundtrip unit=cycles median=\(samples[samples.count / 2]) p99=\(samples[samples.count * 99 / 100]) samples=\(samples.count)")
    exit(0)
}
if role == "hog" {
    // Capabilities in flight up to this domain's quota, on endpoints of its own (slots
    // 20–34, each holding 8 messages); past it the kernel answers tooManyInFlight.
    // Then the peer, told so, must still send a capability here (the quota is this
    // domain's, not the core's), and one message taken frees one slot of the quota.
    makeEndpoint()
    claimEndpoint()
    let own = 20, count = 15
    do throws(InvocationStatus) { try Capability.ram.retype(to: .endpoint, count: count, into: Capability(slot: UInt32(own))) } catch {
        print("lmp: retype to endpoints: \(error)")
        exit(1)
    }
    for index in 0..<count {
        do throws(InvocationStatus) { _ = try Capability(slot: UInt32(own + index)).receive() } catch .endpointEmpty {} catch {
            print("lmp: claiming endpoint \(own + index): \(error)")
            exit(1)
        }
    }
    var inFlight = 0
    var refusal: InvocationStatus? = nil
    while refusal == nil {
        do throws(InvocationStatus) {
            try Capability(slot: UInt32(own + inFlight % count)).send((UInt64(inFlight), 0, 0), capability: .ram)
            inFlight += 1
        } catch {
            refusal = error
        }
    }
    guard refusal == .tooManyInFlight, inFlight >= 4 else {
        print("lmp: after \(inFlight) capabilities in flight the kernel answered \(refusal.map { "\($0)" } ?? "nothing"), not tooManyInFlight")
        exit(1)
    }
    while peer.type != .endpoint { yield() }
    sendToPeer(1)                                   // "at my quota": the peer sends now
    guard let words = try? receive(), words == [2, 0, 0], arrived.type == .physicalRAM else {
        print("lmp: the peer's capability did not arrive while this domain was at its quota")
        exit(1)
    }
    do throws(InvocationStatus) {
        _ = try arrived.delete()
        _ = try Capability(slot: UInt32(own)).receive(capabilityDestination: arrived)
        _ = try arrived.delete()
        try Capability(slot: UInt32(own)).send((99, 0, 0), capability: .ram)
    } catch {
        print("lmp: a message taken did not give its slot back: \(error)")
        exit(1)
    }
    print("lmp: \(inFlight) capabilities in flight, then tooManyInFlight")
    exit(0)
} else if role == "hog-peer" {
    makeEndpoint()
    claimEndpoint()
    guard let words = try? receive(), words == [1, 0, 0] else { exit(1) }
    do throws(InvocationStatus) {
        try peer.send((2, 0, 0), capability: .ram)
    } catch {
        print("lmp: a capability to a domain at its own quota was refused: \(error)")
        exit(1)
    }
    for _ in 0..<100 { yield() }
    exit(0)
}
if role == "call-refusals" {
    // Slot 2 its endpoint (claimed), 5 a second endpoint it never receives on (so it has
    // no receiver), 6 a receive-only and 7 a send-only copy of slot 2, 8 a copy badged
    // 42; slot 9 stays empty. After each refusal the endpoint must still be empty: the
    // refused call sent nothing.
    let unclaimed = Capability(slot: 5), readOnly = Capability(slot: 6), writeOnly = Capability(slot: 7)
    let badged = Capability(slot: 8), empty = Capability(slot: 9)
    makeEndpoint()
    claimEndpoint()
    do throws(InvocationStatus) {
        try Capability.ram.retype(to: .endpoint, into: unclaimed)
        try endpoint.mint(to: readOnly, rights: [.read])
        try endpoint.mint(to: writeOnly, rights: [.write])
        try endpoint.mint(to: badged, rights: [.read, .write], badge: 42)
    } catch {
        print("lmp: setting up: \(error)")
        exit(1)
    }
    var failed = false
    func expect(_ what: String, _ got: InvocationStatus?, _ wanted: InvocationStatus?) {
        guard got != wanted else { return }
        print("lmp: \(what) answered \(got.map { "\($0)" } ?? "success"), not \(wanted.map { "\($0)" } ?? "success")")
        failed = true
    }
    func refusal(_ target: Capability, receivingOn receiver: Capability) -> InvocationStatus? {
        do throws(InvocationStatus) { _ = try target.call((7, 8, 9), receivingOn: receiver); return nil } catch { return error }
    }
    func rawRefusal(_ target: UInt64, receivingOn receiver: UInt64) -> InvocationStatus? {
        let status = Capability.invokeRaw(target, CapabilityOperation.call.rawValue, 7, 8, 9, receiver).status
        return status == 0 ? nil : InvocationStatus(rawValue: status) ?? .unknownOperation
    }
    func expectNothingSent(after what: String) {
        do throws(InvocationStatus) {
            let words = try endpoint.receive()
            print("lmp: \(what) sent \(list(words))")
            failed = true
        } catch .endpointEmpty {} catch {
            print("lmp: receive after \(what): \(error)")
            failed = true
        }
    }
    // Each call made, then checked, one at a time: a message one of them sent is
    // found right after it.
    let refused: [(String, () -> InvocationStatus?, InvocationStatus)] = [
        ("a call to an empty slot", { refusal(empty, receivingOn: endpoint) }, .slotEmpty),
        ("a call to RAM", { refusal(.ram, receivingOn: endpoint) }, .wrongType),
        ("a call on a receive-only copy", { refusal(readOnly, receivingOn: endpoint) }, .insufficientRights),
        ("a call receiving on an empty slot", { refusal(endpoint, receivingOn: empty) }, .slotEmpty),
        ("a call receiving on RAM", { refusal(endpoint, receivingOn: .ram) }, .wrongType),
        ("a call receiving on a send-only copy", { refusal(endpoint, receivingOn: writeOnly) }, .insufficientRights),
        ("a call receiving on an endpoint it does not receive on", { refusal(endpoint, receivingOn: unclaimed) }, .notEndpointOwner),
        ("a call to an endpoint with no receiver", { refusal(unclaimed, receivingOn: endpoint) }, .noReceiver),
        ("a call to a malformed address", { rawRefusal(1 << 40, receivingOn: endpoint.address.encoded) }, .badAddress),
        ("a call receiving on a malformed address", { rawRefusal(endpoint.address.encoded, receivingOn: 1 << 40) }, .badAddress),
        ("a call to a slot past the CNode", { rawRefusal(UInt64(InitialSlot.rootSlots), receivingOn: endpoint.address.encoded) }, .invalidSlot),
    ]
    for (what, call, wanted) in refused {
        expect(what, call(), wanted)
        expectNothingSent(after: what)
    }
    // A full endpoint: eight messages, then the call is refused and the eight stay.
    for word in 1...UInt64(MessageLayout.endpointCapacity) { try? endpoint.send((word, 0, 0)) }
    expect("a call to a full endpoint", refusal(endpoint, receivingOn: endpoint), .endpointFull)
    for word in 1...UInt64(MessageLayout.endpointCapacity) {
        let got = try? endpoint.receive()
        if got != [word, 0, 0] { print("lmp: after the refused call, message \(word) was \(list(got))"); failed = true }
    }
    expectNothingSent(after: "a call to a full endpoint")
    // A message with a capability first: the call's words go, the call answers
    // capabilityWaiting, and both messages stay for receive, in order.
    try? endpoint.send((1, 2, 3), capability: .ram)
    expect("a call with a capability waiting", refusal(endpoint, receivingOn: endpoint), .capabilityWaiting)
    let first = try? endpoint.receive(capabilityDestination: arrived)
    let second = try? endpoint.receive()
    if first != [1, 2, 3] || arrived.type != .physicalRAM || second != [7, 8, 9] {
        print("lmp: after capabilityWaiting: \(list(first)), capability type \(arrived.type.rawValue), then \(list(second))")
        failed = true
    }
    // A good call on its own endpoint, through the badged copy: its own words come back
    // at once, with the badge.
    do throws(InvocationStatus) {
        let answer = try badged.call((4, 5, 6), receivingOn: endpoint)
        if answer.words != (4, 5, 6) || answer.badge != 42 {
            print("lmp: a call to itself answered (\(answer.words.0) \(answer.words.1) \(answer.words.2)), badge \(answer.badge)")
            failed = true
        }
    } catch {
        print("lmp: a call to itself: \(error)")
        failed = true
    }
    expectNothingSent(after: "a good call")
    exit(failed ? 1 : 0)
}
if role == "call-sleeper" {
    makeEndpoint()
    claimEndpoint()
    while peer.type != .endpoint { yield() }
    do throws(InvocationStatus) {
        let answer = try peer.call((1, 0, 0), receivingOn: endpoint)
        print("lmp: a call whose endpoint died was answered \(answer.words.0)")
        exit(1)
    } catch {
        if error != .slotEmpty { print("lmp: a call whose endpoint died answered \(error), not slotEmpty") }
        exit(error == .slotEmpty ? 0 : 1)
    }
} else if role == "endpoint-killer" {
    makeEndpoint()
    claimEndpoint()
    guard let word = try? awaitMessage(), word == 1 else { exit(1) }
    // The sleeper's endpoint: revoking this copy deletes the sleeper's, deleting it
    // then destroys the object.
    do throws(InvocationStatus) {
        try peer.revoke()
        try peer.delete()
    } catch {
        print("lmp: destroying the sleeper's endpoint: \(error)")
        exit(1)
    }
    exit(0)
}
print("usage: lmp server | client | buffer-server | revoker | late-client | pong [split] | ping <n> [split] | call-refusals | call-sleeper | endpoint-killer | hog | hog-peer")
exit(2)
