// The few frames the virtio-net driver speaks by itself to prove the path works: ARP
// (RFC 826) to learn the gateway's Ethernet address, and ICMP echo (RFC 792) over IPv4
// (RFC 791) to ping it. Not a network stack (that is lwIP's job, issue 13): just enough
// to build these frames and to read the answers.
//
// A received frame is untrusted (anyone on the network writes it): every field is read
// through a bounds check, a length field that points outside the frame or a checksum
// that does not add up makes the frame `malformed`, never a read past its end.

/// A 48-bit Ethernet address, in its wire order in the low six bytes (first byte highest).
public struct EthernetAddress: Equatable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt64

    public init(rawValue: UInt64) { self.rawValue = rawValue & 0xFFFF_FFFF_FFFF }

    public init(bytes: [UInt8]) {
        var value: UInt64 = 0
        for byte in bytes.prefix(6) { value = value << 8 | UInt64(byte) }
        self.init(rawValue: value)
    }

    public static let broadcast = Self(rawValue: 0xFFFF_FFFF_FFFF)
    public static let none = Self(rawValue: 0)

    public var bytes: [UInt8] { (0..<6).map { UInt8(truncatingIfNeeded: rawValue >> (40 - 8 * $0)) } }

    /// `52:54:00:12:34:56`.
    public var description: String {
        bytes.map { byte in
            let text = String(byte, radix: 16)
            return text.count == 1 ? "0" + text : text
        }.joined(separator: ":")
    }
}

/// An IPv4 address, first octet highest.
public struct IPv4Address: Equatable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32

    public init(rawValue: UInt32) { self.rawValue = rawValue }

    public init(_ a: UInt8, _ b: UInt8, _ c: UInt8, _ d: UInt8) {
        rawValue = UInt32(a) << 24 | UInt32(b) << 16 | UInt32(c) << 8 | UInt32(d)
    }

    public var bytes: [UInt8] { (0..<4).map { UInt8(truncatingIfNeeded: rawValue >> (24 - 8 * $0)) } }

    public var description: String { bytes.map { String($0) }.joined(separator: ".") }
}

/// QEMU's user network (slirp): the guest is 10.0.2.15, the gateway 10.0.2.2.
public enum UserNetwork {
    public static let guest = IPv4Address(10, 0, 2, 15)
    public static let gateway = IPv4Address(10, 0, 2, 2)
}

/// A frame worth answering or reporting, read from the wire.
public enum ReceivedFrame: Equatable, Sendable {
    /// An ARP request or reply: who sent it, and for which address.
    case arp(isReply: Bool, sender: EthernetAddress, senderAddress: IPv4Address, targetAddress: IPv4Address)
    /// An ICMP echo reply to `destination` from `source`, with the data it echoed.
    case echoReply(source: IPv4Address, destination: IPv4Address, identifier: UInt16, sequence: UInt16, data: [UInt8])
    /// Something else this driver does not speak: its EtherType (and the IP protocol
    /// for IPv4).
    case other(etherType: UInt16)
}

/// Why a frame was dropped.
public enum FrameError: Error, Equatable, Sendable {
    /// Shorter than its headers, or a length field pointing past its end.
    case truncated
    /// An IPv4 header length under 20 bytes, a version that is not 4, or a fragment.
    case badHeader
    /// The IPv4 header's or the ICMP message's checksum does not add up.
    case badChecksum
}

public enum Frames {
    public static let etherTypeIPv4: UInt16 = 0x0800
    public static let etherTypeARP: UInt16 = 0x0806
    static let ethernetHeaderBytes = 14
    static let arpBytes = 28
    static let ipv4HeaderBytes = 20
    /// A frame shorter than this is padded: Ethernet's 60 bytes without the checksum.
    static let minimumFrameBytes = 60

    /// An ARP request from `source` (at `sourceAddress`) asking who has `target`.
    public static func arpRequest(from source: EthernetAddress, at sourceAddress: IPv4Address, for target: IPv4Address) -> [UInt8] {
        var frame = ethernetHeader(to: .broadcast, from: source, type: etherTypeARP)
        frame += [0, 1, 0x08, 0x00, 6, 4, 0, 1]                // Ethernet, IPv4, lengths, request
        frame += source.bytes + sourceAddress.bytes + EthernetAddress.none.bytes + target.bytes
        return padded(frame)
    }

    /// The reply to an ARP request for `ourAddress`, from `us`.
    public static func arpReply(from us: EthernetAddress, at ourAddress: IPv4Address,
                                to asker: EthernetAddress, at askerAddress: IPv4Address) -> [UInt8] {
        var frame = ethernetHeader(to: asker, from: us, type: etherTypeARP)
        frame += [0, 1, 0x08, 0x00, 6, 4, 0, 2]
        frame += us.bytes + ourAddress.bytes + asker.bytes + askerAddress.bytes
        return padded(frame)
    }

    /// An ICMP echo request carrying `data`, in an IPv4 packet from `source` to
    /// `destination`, in an Ethernet frame to `next` (the gateway's address).
    public static func echoRequest(from us: EthernetAddress, to next: EthernetAddress, source: IPv4Address,
                                   destination: IPv4Address, identifier: UInt16, sequence: UInt16, data: [UInt8]) -> [UInt8] {
        var icmp: [UInt8] = [8, 0, 0, 0] + bigEndian(identifier) + bigEndian(sequence) + data
        let icmpSum = checksum(icmp[...])
        icmp[2] = UInt8(icmpSum >> 8)
        icmp[3] = UInt8(truncatingIfNeeded: icmpSum)
        let total = UInt16(ipv4HeaderBytes + icmp.count)
        // Version 4, 5 words of header, no options; don't fragment; time to live 64; ICMP.
        var header: [UInt8] = [0x45, 0] + bigEndian(total) + [0, 0, 0x40, 0, 64, 1, 0, 0] + source.bytes + destination.bytes
        let headerSum = checksum(header[...])
        header[10] = UInt8(headerSum >> 8)
        header[11] = UInt8(truncatingIfNeeded: headerSum)
        return padded(ethernetHeader(to: next, from: us, type: etherTypeIPv4) + header + icmp)
    }

    /// Reads a received frame (without virtio's header): what it is, or why it is dropped.
    public static func parse(_ frame: [UInt8]) throws(FrameError) -> ReceivedFrame {
        guard let type = field16(frame, at: 12) else { throw .truncated }
        let payload = frame.dropFirst(ethernetHeaderBytes)
        switch type {
        case etherTypeARP:
            return try parseARP(payload)
        case etherTypeIPv4:
            return try parseIPv4(payload)
        default:
            return .other(etherType: type)
        }
    }

    static func parseARP(_ packet: ArraySlice<UInt8>) throws(FrameError) -> ReceivedFrame {
        guard packet.count >= arpBytes, let operation = field16(packet, at: 6) else { throw .truncated }
        // Only Ethernet and IPv4 addresses of their usual lengths are read; the others
        // would put the address fields elsewhere.
        guard field16(packet, at: 0) == 1, field16(packet, at: 2) == etherTypeIPv4, field8(packet, at: 4) == 6,
              field8(packet, at: 5) == 4, operation == 1 || operation == 2 else {
            return .other(etherType: etherTypeARP)
        }
        return .arp(isReply: operation == 2, sender: EthernetAddress(bytes: Array(bytes(packet, at: 8, count: 6))),
                    senderAddress: IPv4Address(rawValue: field32(packet, at: 14)!),
                    targetAddress: IPv4Address(rawValue: field32(packet, at: 24)!))
    }

    static func parseIPv4(_ packet: ArraySlice<UInt8>) throws(FrameError) -> ReceivedFrame {
        guard let first = field8(packet, at: 0), let total = field16(packet, at: 2),
              let fragment = field16(packet, at: 6), let protocolNumber = field8(packet, at: 9) else { throw .truncated }
        let headerBytes = Int(first & 0x0F) * 4
        guard first >> 4 == 4, headerBytes >= ipv4HeaderBytes else { throw .badHeader }
        // The total length may be less than the frame (Ethernet pads), never more.
        guard Int(total) >= headerBytes, Int(total) <= packet.count else { throw .truncated }
        let header = bytes(packet, at: 0, count: headerBytes)
        guard checksum(header) == 0 else { throw .badChecksum }
        // More fragments, or an offset: a piece of a larger packet, which this driver does not join.
        guard fragment & 0x3FFF == 0 else { throw .badHeader }
        guard protocolNumber == 1 else { return .other(etherType: etherTypeIPv4) }
        let icmp = bytes(packet, at: headerBytes, count: Int(total) - headerBytes)
        guard icmp.count >= 8 else { throw .truncated }
        guard checksum(icmp) == 0 else { throw .badChecksum }
        guard field8(icmp, at: 0) == 0, field8(icmp, at: 1) == 0 else { return .other(etherType: etherTypeIPv4) }
        return .echoReply(source: IPv4Address(rawValue: field32(packet, at: 12)!),
                          destination: IPv4Address(rawValue: field32(packet, at: 16)!),
                          identifier: field16(icmp, at: 4)!, sequence: field16(icmp, at: 6)!,
                          data: Array(icmp.dropFirst(8)))
    }

    /// The Internet checksum (RFC 1071): the ones' complement of the ones' complement
    /// sum of the 16-bit words; over bytes that carry their own checksum it is 0.
    public static func checksum(_ bytes: ArraySlice<UInt8>) -> UInt16 {
        var sum: UInt32 = 0
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let high = UInt32(bytes[index]) << 8
            let low = index + 1 < bytes.endIndex ? UInt32(bytes[index + 1]) : 0
            sum += high | low
            index += 2
        }
        while sum >> 16 != 0 { sum = (sum & 0xFFFF) + (sum >> 16) }
        return ~UInt16(sum)
    }

    static func ethernetHeader(to destination: EthernetAddress, from source: EthernetAddress, type: UInt16) -> [UInt8] {
        destination.bytes + source.bytes + bigEndian(type)
    }

    static func padded(_ frame: [UInt8]) -> [UInt8] {
        frame.count >= minimumFrameBytes ? frame : frame + [UInt8](repeating: 0, count: minimumFrameBytes - frame.count)
    }

    static func bigEndian(_ value: UInt16) -> [UInt8] { [UInt8(value >> 8), UInt8(truncatingIfNeeded: value)] }

    // Checked reads, relative to the slice's start: nil past its end.
    static func field8(_ bytes: ArraySlice<UInt8>, at offset: Int) -> UInt8? {
        offset >= 0 && offset < bytes.count ? bytes[bytes.startIndex + offset] : nil
    }

    static func field8(_ bytes: [UInt8], at offset: Int) -> UInt8? { field8(bytes[...], at: offset) }

    static func field16(_ bytes: ArraySlice<UInt8>, at offset: Int) -> UInt16? {
        guard let high = field8(bytes, at: offset), let low = field8(bytes, at: offset + 1) else { return nil }
        return UInt16(high) << 8 | UInt16(low)
    }

    static func field16(_ bytes: [UInt8], at offset: Int) -> UInt16? { field16(bytes[...], at: offset) }

    static func field32(_ bytes: ArraySlice<UInt8>, at offset: Int) -> UInt32? {
        guard let high = field16(bytes, at: offset), let low = field16(bytes, at: offset + 2) else { return nil }
        return UInt32(high) << 16 | UInt32(low)
    }

    /// `count` bytes at `offset`; the caller has checked they are there.
    static func bytes(_ bytes: ArraySlice<UInt8>, at offset: Int, count: Int) -> ArraySlice<UInt8> {
        bytes[(bytes.startIndex + offset)..<(bytes.startIndex + offset + count)]
    }
}
