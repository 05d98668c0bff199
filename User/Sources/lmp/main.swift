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
//   pong         makes an endpoint and answers every message on the peer's endpoint
//                (slot 4) until a message says 0
//   ping <n>     makes an endpoint, waits for the peer's (slot 4), then measures n round
//                trips and prints the BENCH line for same-core-roundtrip
import SwordfishUser
import UserRuntimeC

func timestamp() -> UInt64 { user_timestamp() }

let endpointType: UInt64 = 10, ramType: UInt64 = 1
let slotEmpty: UInt64 = 35, endpointFull: UInt64 = 48, endpointEmpty: UInt64 = 49
var buffer: [UInt64] = [0, 0, 0]

func makeEndpoint() {
    let made = invoke(1, CapabilityOperation.retype.rawValue, endpointType, 0, 1, 2)
    guard made.status == 0 else { print("lmp: retype to endpoint: \(made.status)"); exit(1) }
}

/// Receives on slot 2 (capability into slot 3), sleeping while the endpoint is empty.
func receive() -> UInt64 {
    while true {
        let status = buffer.withUnsafeMutableBufferPointer { words in
            invoke(2, 7, 3, UInt64(UInt(bitPattern: words.baseAddress))).status
        }
        if status != endpointEmpty { return status }
        let waited = invoke(2, 8).status
        if waited != 0 { return waited }
    }
}

let role = arguments
if role == Array("server".utf8) {
    makeEndpoint()
    let first = receive()
    let capability = invoke(3, CapabilityOperation.identify.rawValue)
    guard first == 0, buffer == [1, 2, 3], capability.status == 0, capability.value & 0xFF == ramType else {
        print("lmp: first message \(first) [\(buffer[0]) \(buffer[1]) \(buffer[2])], capability \(capability.status) \(capability.value & 0xFF)")
        exit(1)
    }
    for _ in 0..<200 { yield() }
    exit(0)
} else if role == Array("client".utf8) {
    let first = invoke(2, 6, 1, 2, 3, 1)                         // words 1, 2, 3 and the RAM capability
    var sent = first.status == 0 ? 1 : 0
    var last: UInt64 = first.status
    while last == 0 && sent < 16 {
        last = invoke(2, 6, UInt64(sent + 1), 0, 0, UInt64.max).status
        if last == 0 { sent += 1 }
    }
    if last != endpointFull { print("lmp: after \(sent) sends the endpoint answered \(last), not full") }
    for _ in 0..<100 { yield() }
    exit(first.status == 0 && last == endpointFull ? 0 : 1)
} else if role == Array("revoker".utf8) {
    makeEndpoint()
    let status = buffer.withUnsafeMutableBufferPointer { invoke(2, 7, UInt64.max, UInt64(UInt(bitPattern: $0.baseAddress))).status }
    guard status == endpointEmpty else { print("lmp: first receive \(status)"); exit(1) }
    for _ in 0..<50 { yield() }
    let revoke = invoke(2, CapabilityOperation.revoke.rawValue)
    let delete = invoke(2, CapabilityOperation.delete.rawValue)
    exit(revoke.status == 0 && delete.status == 0 ? 0 : 1)
} else if role == Array("late-client".utf8) {
    for _ in 0..<100 { yield() }
    let status = invoke(2, 6, 7, 7, 7, UInt64.max).status
    if status != slotEmpty { print("lmp: send to a revoked endpoint answered \(status)") }
    exit(status == slotEmpty ? 0 : 1)
}
if role == Array("pong".utf8) {
    makeEndpoint()
    while true {
        guard receive() == 0 else { exit(1) }
        if buffer[0] == 0 { exit(0) }
        while invoke(4, 6, buffer[0], 0, 0, UInt64.max).status != 0 { yield() }
    }
} else if role.starts(with: Array("ping ".utf8)) {
    var rounds = 0
    for byte in role.dropFirst(5) where byte >= 48 && byte <= 57 { rounds = rounds * 10 + Int(byte - 48) }
    guard rounds > 0 else { exit(2) }
    makeEndpoint()
    let status = buffer.withUnsafeMutableBufferPointer { invoke(2, 7, UInt64.max, UInt64(UInt(bitPattern: $0.baseAddress))).status }
    guard status == endpointEmpty else { exit(1) }
    while invoke(4, CapabilityOperation.identify.rawValue).value & 0xFF != endpointType { yield() }
    var samples: [UInt64] = []
    samples.reserveCapacity(rounds)
    for round in 0..<(rounds + rounds / 10) {
        let start = timestamp()
        while invoke(4, 6, UInt64(round + 1), 0, 0, UInt64.max).status != 0 { yield() }
        guard receive() == 0, buffer[0] == UInt64(round + 1) else { exit(1) }
        if round >= rounds / 10 { samples.append(timestamp() &- start) }       // after the warm-up
    }
    while invoke(4, 6, 0, 0, 0, UInt64.max).status != 0 { yield() }
    samples.sort()
    print("BENCH name=same-core-roundtrip unit=cycles median=\(samples[samples.count / 2]) p99=\(samples[samples.count * 99 / 100]) samples=\(samples.count)")
    exit(0)
}
print("usage: lmp server | client | revoker | late-client | pong | ping <n>")
exit(2)
