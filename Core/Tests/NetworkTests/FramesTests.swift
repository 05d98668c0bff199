import XCTest
@testable import Network

final class FramesTests: XCTestCase {
    let guestMAC = EthernetAddress(rawValue: 0x5254_0012_3456)
    let gatewayMAC = EthernetAddress(rawValue: 0x5255_0A00_0202)

    func testAddressesPrintAsUsual() {
        XCTAssertEqual(guestMAC.description, "52:54:00:12:34:56")
        XCTAssertEqual(EthernetAddress(bytes: [0x52, 0x54, 0, 0x12, 0x34, 0x56]), guestMAC)
        XCTAssertEqual(UserNetwork.gateway.description, "10.0.2.2")
    }

    func testAnARPRequestReadsBackAsOne() throws {
        let frame = Frames.arpRequest(from: guestMAC, at: UserNetwork.guest, for: UserNetwork.gateway)
        XCTAssertEqual(frame.count, 60, "padded to Ethernet's minimum")
        XCTAssertEqual(Array(frame[0..<6]), [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF])
        XCTAssertEqual(try Frames.parse(frame),
                       .arp(isReply: false, sender: guestMAC, senderAddress: UserNetwork.guest, targetAddress: UserNetwork.gateway))
        let reply = Frames.arpReply(from: gatewayMAC, at: UserNetwork.gateway, to: guestMAC, at: UserNetwork.guest)
        XCTAssertEqual(try Frames.parse(reply),
                       .arp(isReply: true, sender: gatewayMAC, senderAddress: UserNetwork.gateway, targetAddress: UserNetwork.guest))
    }

    func testAnEchoRequestHasValidChecksums() {
        let frame = Frames.echoRequest(from: guestMAC, to: gatewayMAC, source: UserNetwork.guest, destination: UserNetwork.gateway,
                                       identifier: 0x5346, sequence: 7, data: Array(0..<32))
        let ip = frame[14..<34]
        XCTAssertEqual(Frames.checksum(ip), 0)
        XCTAssertEqual(Frames.checksum(frame[34..<(34 + 8 + 32)]), 0)
        // RFC 1071's example: 0001 f203 f4f5 f6f7 sums to ddf2, complement 220d.
        XCTAssertEqual(Frames.checksum([0x00, 0x01, 0xF2, 0x03, 0xF4, 0xF5, 0xF6, 0xF7][...]), 0x220D)
    }

    /// An echo reply as the gateway sends one: the request turned round.
    func echoReply(data: [UInt8] = Array(0..<32)) -> [UInt8] {
        var frame = Frames.echoRequest(from: gatewayMAC, to: guestMAC, source: UserNetwork.gateway, destination: UserNetwork.guest,
                                       identifier: 0x5346, sequence: 7, data: data)
        frame[34] = 0                                    // type 0: reply
        frame[36] = 0
        frame[37] = 0
        let sum = Frames.checksum(frame[34...])
        frame[36] = UInt8(sum >> 8)
        frame[37] = UInt8(truncatingIfNeeded: sum)
        return frame
    }

    func testAnEchoReplyIsRead() throws {
        XCTAssertEqual(try Frames.parse(echoReply()),
                       .echoReply(source: UserNetwork.gateway, destination: UserNetwork.guest, identifier: 0x5346, sequence: 7,
                                  data: Array(0..<32)))
    }

    func testAnEchoReplyPaddedByEthernetKeepsOnlyItsOwnData() throws {
        // 8 bytes of data: the packet is 36 bytes, the frame padded to 60.
        let frame = echoReply(data: [1, 2, 3, 4, 5, 6, 7, 8])
        XCTAssertEqual(frame.count, 60)
        guard case .echoReply(_, _, _, _, let data) = try Frames.parse(frame) else { return XCTFail() }
        XCTAssertEqual(data, [1, 2, 3, 4, 5, 6, 7, 8])
    }

    // MARK: Bad input

    func testEveryTruncationIsRefusedNotReadPast() {
        let frames = [echoReply(), Frames.arpRequest(from: guestMAC, at: UserNetwork.guest, for: UserNetwork.gateway)]
        for frame in frames {
            // Cut the (unpadded) frame anywhere inside its headers or data.
            let end = frame[12] == 0x08 && frame[13] == 0x06 ? 42 : frame.count
            for length in 0..<end {
                XCTAssertThrowsError(try Frames.parse(Array(frame.prefix(length))), "length \(length)")
            }
        }
    }

    func testATotalLengthPastTheFrameIsRefused() {
        var frame = echoReply()
        frame[16] = 0xFF                                  // total length 0xFF.. > the frame
        XCTAssertThrowsError(try Frames.parse(frame)) { XCTAssertEqual($0 as? FrameError, .truncated) }
    }

    func testAHeaderLengthUnderTwentyOrPastTheFrameIsRefused() {
        var short = echoReply()
        short[14] = 0x44                                  // 16 bytes of header
        XCTAssertThrowsError(try Frames.parse(short)) { XCTAssertEqual($0 as? FrameError, .badHeader) }
        var long = Array(echoReply().prefix(14 + 24))
        long[14] = 0x4F                                   // 60 bytes of header, 24 there
        long[16] = 0
        long[17] = 24
        XCTAssertThrowsError(try Frames.parse(long)) { XCTAssertEqual($0 as? FrameError, .truncated) }
    }

    func testABadChecksumIsRefused() {
        var header = echoReply()
        header[22] ^= 1                                   // time to live
        XCTAssertThrowsError(try Frames.parse(header)) { XCTAssertEqual($0 as? FrameError, .badChecksum) }
        var data = echoReply()
        data[50] ^= 0x80
        XCTAssertThrowsError(try Frames.parse(data)) { XCTAssertEqual($0 as? FrameError, .badChecksum) }
    }

    func testAFragmentIsRefused() {
        var frame = echoReply()
        frame[20] = 0x20                                  // more fragments
        let sum = Frames.checksum({ var header = frame[14..<34]; header[24] = 0; header[25] = 0; return header }())
        frame[24] = UInt8(sum >> 8)
        frame[25] = UInt8(truncatingIfNeeded: sum)
        XCTAssertThrowsError(try Frames.parse(frame)) { XCTAssertEqual($0 as? FrameError, .badHeader) }
    }

    func testOtherFramesAreNamedNotRead() throws {
        var ipv6 = echoReply()
        ipv6[12] = 0x86
        ipv6[13] = 0xDD
        XCTAssertEqual(try Frames.parse(ipv6), .other(etherType: 0x86DD))
        var arpForOtherHardware = Frames.arpRequest(from: guestMAC, at: UserNetwork.guest, for: UserNetwork.gateway)
        arpForOtherHardware[15] = 6                       // IEEE 802 hardware: addresses elsewhere
        XCTAssertEqual(try Frames.parse(arpForOtherHardware), .other(etherType: 0x0806))
    }

    /// Random bytes, and valid frames with random bytes changed: parsing ends with a
    /// frame or an error, never a trap.
    func testRandomBytesNeverTrap() {
        var seed: UInt64 = 0x1CE_0013
        func next() -> UInt64 {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return seed >> 33
        }
        let valid = [echoReply(), Frames.arpRequest(from: guestMAC, at: UserNetwork.guest, for: UserNetwork.gateway)]
        for round in 0..<20_000 {
            var frame: [UInt8]
            if round % 2 == 0 {
                frame = (0..<Int(next() % 100)).map { _ in UInt8(truncatingIfNeeded: next()) }
                if frame.count > 14, next() % 2 == 0 { frame[12] = 0x08; frame[13] = next() % 2 == 0 ? 0x00 : 0x06 }
            } else {
                frame = valid[Int(next() % 2)]
                for _ in 0..<(1 + next() % 4) { frame[Int(next()) % frame.count] = UInt8(truncatingIfNeeded: next()) }
                frame = Array(frame.prefix(Int(next() % UInt64(frame.count + 1))))
            }
            _ = try? Frames.parse(frame)
        }
    }
}
