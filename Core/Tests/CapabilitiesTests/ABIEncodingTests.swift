import XCTest
import Capabilities

/// The user library encodes invocations with the ABI's `InvocationWords`; the kernel
/// decodes them with `Invocation.decode`. Each operation must come out as it went in.
final class ABIEncodingTests: XCTestCase {
    private func decode(_ words: InvocationWords) throws -> Invocation {
        try Invocation.decode(operation: words.operation.rawValue, words.a0, words.a1, words.a2, words.a3)
    }

    func testEveryOperationDecodesAsEncoded() throws {
        let slot = CapabilityAddress.root(9), leaf = CapabilityAddress.leaf(63, 4)
        XCTAssertEqual(try decode(.identify), .identify)
        XCTAssertEqual(try decode(.retype(to: .frame, size: 8192, count: 3, into: leaf)),
                       .retype(to: .frame, size: 8192, count: 3, destination: leaf))
        XCTAssertEqual(try decode(.copy(to: slot)), .copy(destination: slot))
        XCTAssertEqual(try decode(.mint(to: slot, rights: [.read, .grant], badge: 77)),
                       .mint(destination: slot, rights: [.read, .grant], badge: 77))
        XCTAssertEqual(try decode(.delete), .delete)
        XCTAssertEqual(try decode(.revoke), .revoke)
        XCTAssertEqual(try decode(.send((1, 2, 3), capability: leaf)), .send(words: [1, 2, 3], capability: leaf))
        XCTAssertEqual(try decode(.send((4, 5, 6), capability: nil)), .send(words: [4, 5, 6], capability: nil))
        XCTAssertEqual(try decode(.receive(capabilityInto: slot, buffer: 0x1000)), .receive(destination: slot, buffer: 0x1000))
        XCTAssertEqual(try decode(.receive(capabilityInto: nil, buffer: 0x2000)), .receive(destination: nil, buffer: 0x2000))
        XCTAssertEqual(try decode(.wait), .wait)
        XCTAssertEqual(try decode(.map(leaf, at: 511, rights: [.read, .write])), .map(entry: 511, source: leaf, rights: [.read, .write]))
        XCTAssertEqual(try decode(.unmap(at: 3)), .unmap(entry: 3))
        XCTAssertEqual(try decode(.call((7, 8, 9), receivingOn: leaf)), .call(words: [7, 8, 9], receiver: leaf))
    }

    /// A call names two endpoints: the target it sends on (write right) and the one it
    /// receives on (read right); the rules refuse either before the kernel sends anything.
    func testCallChecksBothEndpoints() throws {
        var fixture = Fixture()
        let endpoint = CapabilityAddress.root(20), readOnly = CapabilityAddress.root(21), writeOnly = CapabilityAddress.root(22)
        try fixture.core.retype(Fixture.ram, to: .endpoint, size: 0, count: 1, into: endpoint, in: fixture.space)
        try fixture.core.mint(endpoint, to: readOnly, rights: [.read], badge: 0, in: fixture.space)
        try fixture.core.mint(endpoint, to: writeOnly, rights: [.write], badge: 0, in: fixture.space)
        func refusal(_ target: CapabilityAddress, _ receiver: CapabilityAddress) -> CapabilityError? {
            do {
                _ = try Invocation.call(words: [1, 2, 3], receiver: receiver).perform(on: &fixture.core, target: target, in: fixture.space)
                return nil
            } catch {
                return error as? CapabilityError
            }
        }
        XCTAssertNil(refusal(endpoint, endpoint))
        XCTAssertNil(refusal(writeOnly, readOnly))
        XCTAssertEqual(refusal(readOnly, endpoint), .insufficientRights)
        XCTAssertEqual(refusal(endpoint, writeOnly), .insufficientRights)
        XCTAssertEqual(refusal(Fixture.ram, endpoint), .wrongType(.physicalRAM))
        XCTAssertEqual(refusal(endpoint, Fixture.ram), .wrongType(.physicalRAM))
        XCTAssertEqual(refusal(.root(30), endpoint), .slotEmpty)
        XCTAssertEqual(refusal(endpoint, .root(30)), .slotEmpty)
        XCTAssertThrowsError(try Invocation.decode(operation: CapabilityOperation.call.rawValue, 1, 2, 3, 1 << 40)) {
            XCTAssertEqual($0 as? InvocationError, .badAddress)
        }
    }

    func testEveryOperationNumberIsDecoded() {
        // All-zero words are valid for every operation but the port accesses, whose
        // width 0 is refused as such (not as an unknown operation).
        for operation in CapabilityOperation.allCases {
            XCTAssertNoThrow(try decode(InvocationWords(operation, 0, 1)), "\(operation)")
        }
        XCTAssertThrowsError(try Invocation.decode(operation: UInt64(CapabilityOperation.allCases.count), 0, 0, 0, 0))
    }

    func testEveryRefusalHasItsOwnStatus() {
        let decoding: [InvocationError] = [.unknownOperation(0), .badAddress, .unknownType(0), .countTooLarge, .unknownRights(0), .badWidth(0)]
        let rules: [CapabilityError] = [
            .invalidRoot, .invalidSlot, .notACNode, .slotEmpty, .slotOccupied, .wrongType(.frame), .insufficientRights,
            .retypeNotAllowed(from: .frame, to: .cnode), .sizeNotAllowed, .invalidCount, .misaligned, .regionInUse,
            .regionExhausted, .notBadgeable, .alreadyBadged, .entryOutOfRange, .entryReserved, .entryOccupied,
            .entryEmpty, .alreadyMapped, .pageSizeMismatch, .outsideRange,
        ]
        let codes = decoding.map { InvocationStatus($0).rawValue } + rules.map { InvocationStatus($0).rawValue }
        XCTAssertEqual(Set(codes).count, codes.count)
        XCTAssertFalse(codes.contains(InvocationStatus.success.rawValue))
        XCTAssertEqual(Set(InvocationStatus.allCases.map(\.name)).count, InvocationStatus.allCases.count)
        XCTAssertEqual(InvocationStatus.slotEmpty.description, "slotEmpty (35)")
    }

    func testIdentityWordRoundTrips() {
        for type in CapabilityType.allCases {
            let identity = CapabilityIdentity(type: type, rights: [.read, .execute], isBadged: type == .endpoint)
            XCTAssertEqual(CapabilityIdentity(word: identity.word), identity)
        }
        XCTAssertNil(CapabilityIdentity(word: 0xFF))
    }
}

final class NotifyInvocationTests: XCTestCase {
    func testNotifyChecksTheCapabilityAndItsCores() throws {
        var fixture = Fixture()
        let notify = try Invocation.decode(operation: CapabilityOperation.notify.rawValue, 3, 0, 0, 0)
        XCTAssertEqual(notify, .notify(core: 3, domain: 0))
        let words = InvocationWords.notify(core: 2, domain: 9)
        XCTAssertEqual(try Invocation.decode(operation: words.operation.rawValue, words.a0, words.a1, words.a2, words.a3),
                       .notify(core: 2, domain: 9))
        XCTAssertNoThrow(try notify.perform(on: &fixture.core, target: Fixture.notify, in: fixture.space))
        XCTAssertThrowsError(try Invocation.notify(core: 4, domain: 1).perform(on: &fixture.core, target: Fixture.notify, in: fixture.space)) {
            XCTAssertEqual($0 as? CapabilityError, .outsideRange)
        }
        XCTAssertThrowsError(try notify.perform(on: &fixture.core, target: Fixture.ram, in: fixture.space)) {
            XCTAssertEqual($0 as? CapabilityError, .wrongType(.physicalRAM))
        }
    }
}

final class MonitorInterfaceTests: XCTestCase {
    func testEveryRequestDecodesAsEncoded() {
        let requests: [MonitorRequest] = [
            .hello, .ping(core: 7), .register(name: Array("echo".utf8)), .unregister(name: Array("sixteen-bytes-xy".utf8)),
            .lookup(name: Array("a".utf8)), .argumentPiece(Array("some words".utf8)), .argumentPiece([0, 1, 2]),
            .spawn(program: Array("hello".utf8), core: 3), .kill(domain: 0x1_0000_0005), .bind(name: Array("echo".utf8)), .alive(domain: 0x2_0000_0009), .state(domain: 0x3_0000_0002), .printDomains, .printNames, .printCounters,
            .awaitEnd(domain: 0x3_0000_0001),
            .printKnowledge, .knowledgeDigest, .serviceCore,
            .ioPorts(base: 0x70, count: 2), .ioPorts(base: .max, count: .max), .interrupt(irq: 8),
            .deviceMemory(base: 0xFEBC_0000, bytes: 4096),
            .allocate(bytes: 65536), .free, .memoryStatus, .sendCapability(domain: 0x2_0000_0004),
            .receiveCapability(source: 0), .receiveCapability(source: 0xFF_FFFF), .receiveCopy(type: .frame, base: 0x1234_5000, size: 4096), .revokeCapability, .retypeCapability(count: 16),
        ]
        for request in requests {
            let words = request.words(id: 0x12_3456)
            let decoded = MonitorRequest.decode([words.0, words.1, words.2])
            XCTAssertEqual(decoded?.request, request)
            XCTAssertEqual(decoded?.id, 0x12_3456)
        }
    }

    func testGarbageIsNotARequest() {
        XCTAssertNil(MonitorRequest.decode([0, 0, 0]))                 // kind 0
        XCTAssertNil(MonitorRequest.decode([99, 0, 0]))
        XCTAssertNil(MonitorRequest.decode([2, 0, 0]))                 // register without a name
        XCTAssertNil(MonitorRequest.decode([5 | 17 << 32, 0, 0]))      // a piece longer than 16 bytes
        XCTAssertNil(MonitorRequest.decode([1, 2]))
        let copy = MonitorRequest.receiveCopy(type: .frame, base: 0x1000, size: 4096).words(id: 1)
        XCTAssertNil(MonitorRequest.decode([copy.0 & 0xFFFF_FFFF | 0xEE << 32, copy.1, copy.2]))    // no such type
        XCTAssertNil(MonitorRequest.decode([copy.0 | 0x100 << 32, copy.1, copy.2]))                 // bits past the type
    }

    func testRepliesRoundTrip() {
        let reply = MonitorReply(status: .nameTaken, id: 77, values: (1, 2))
        let words = reply.words
        XCTAssertEqual(MonitorReply(words: [words.0, words.1, words.2]), reply)
        XCTAssertNil(MonitorReply(words: [200, 0, 0]))
    }

    func testDomainEndsRoundTrip() {
        for end in [DomainEnd.exited(status: 0), .exited(status: -3), .exited(status: .max), .stopped] {
            XCTAssertEqual(DomainEnd(words: end.words), end)
        }
        XCTAssertNil(DomainEnd(words: (0, 0)))
        XCTAssertNil(DomainEnd(words: (2, 5)), "a stop carries no status")
        XCTAssertNil(DomainEnd(words: (3, 0)))
    }

    func testDomainEventsRoundTrip() {
        let event = DomainEvent(kind: .exited, domain: 12, status: -3, program: Array("monitor-ping".utf8))
        XCTAssertEqual(DomainEvent(words: event.encoded), event)
        XCTAssertNil(DomainEvent(words: [9, 0, 0, 0, 0, 0, 0, 0]))
    }
}

final class SystemDomainIDTests: XCTestCase {
    func testTheWordRoundTripsAndReadsAsCoreDotLocal() {
        let id = SystemDomainID(core: 7, local: 42)
        XCTAssertEqual(id.rawValue, 7 << 32 | 42)
        XCTAssertEqual(id.core, 7)
        XCTAssertEqual(id.local, 42)
        XCTAssertEqual("\(id)", "7.42")
    }
}
