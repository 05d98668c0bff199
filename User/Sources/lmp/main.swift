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
if role == Array("buffer-server".utf8) {
    // A writable page at `window` and a read-only mapping of another frame right after
    // it, in the 2 MiB at 1 TiB (slots 5–7 the tables, 8 and 9 the frames, 10 the
    // read-only copy).
    let window: UInt64 = 2 << 39
    let read: UInt64 = 1, write: UInt64 = 2
    let map = CapabilityOperation.map.rawValue
    let table = makePageTable(from: 1, into: 5, pml4Entry: 2)
    let writable = invoke(1, CapabilityOperation.retype.rawValue, 2, 4096, 1, 8)
    let readOnly = invoke(1, CapabilityOperation.retype.rawValue, 2, 4096, 1, 9)
    let minted = invoke(9, CapabilityOperation.mint.rawValue, 10, read, 0)
    let first = invoke(7, map, 0, 8, read | write)
    let second = invoke(7, map, 1, 10, read)
    guard table == 0, writable.status == 0, readOnly.status == 0, minted.status == 0, first.status == 0, second.status == 0 else {
        print("lmp: setting up the buffers answered \(table) \(writable.status) \(readOnly.status) \(minted.status) \(first.status) \(second.status)")
        exit(1)
    }
    for offset in stride(from: UInt64(0), to: 4096, by: 8) { user_write(window + offset, 0xB0FF_0000 + offset) }
    makeEndpoint()
    // The first receive makes this domain the endpoint's receiver; then sleep until the
    // client's first message is there.
    let empty = invoke(2, 7, 3, window).status
    let waited = invoke(2, 8).status
    guard empty == endpointEmpty, waited == 0 else { print("lmp: first receive \(empty), wait \(waited)"); exit(1) }
    let badBuffer: UInt64 = 51
    let refused: [(String, UInt64)] = [
        ("read-only", window + 4096), ("straddling into read-only", window + 4096 - 16),
        ("kernel", 0x10_0000), ("upper half", 0xFFFF_8000_0000_0000), ("unmapped", 0x0000_7000_0000_0000),
        ("misaligned", window + 4),
    ]
    var failed = false
    for (what, address) in refused {
        let status = invoke(2, 7, 3, address).status
        if status != badBuffer { print("lmp: receive into a \(what) buffer answered \(status), not badBuffer"); failed = true }
    }
    for offset in stride(from: UInt64(0), to: 4096, by: 8) where user_read(window + offset) != 0xB0FF_0000 + offset {
        print("lmp: a refused receive changed the word at +\(offset)"); failed = true
    }
    for offset in stride(from: UInt64(0), to: 4096, by: 8) where user_read(window + 4096 + offset) != 0 {
        print("lmp: a refused receive wrote to the read-only page at +\(offset)"); failed = true
    }
    if invoke(3, CapabilityOperation.identify.rawValue).value & 0xFF != 0 { print("lmp: a refused receive filled slot 3"); failed = true }
    // The message is still there, whole.
    let status = invoke(2, 7, 3, window).status
    let words = [user_read(window), user_read(window + 8), user_read(window + 16)]
    let capability = invoke(3, CapabilityOperation.identify.rawValue).value & 0xFF
    guard status == 0, words == [1, 2, 3], capability == ramType else {
        print("lmp: the good receive answered \(status), words [\(words[0]) \(words[1]) \(words[2])], capability type \(capability)")
        exit(1)
    }
    for _ in 0..<200 { yield() }
    exit(failed ? 1 : 0)
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
print("usage: lmp server | client | buffer-server | revoker | late-client | pong | ping <n>")
exit(2)
