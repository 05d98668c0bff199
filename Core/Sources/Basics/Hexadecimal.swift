// Hexadecimal numbers for messages, without Foundation or `String(_:radix:)` (which
// Embedded Swift's kernel and user programs avoid: it pulls in Unicode tables).

/// `value` as `0x` and lowercase hexadecimal digits, without leading zeros.
public func hexadecimal(_ value: UInt64) -> String {
    var text: [UInt8] = []
    var rest = value
    repeat {
        let digit = UInt8(rest & 0xF)
        text.append(digit < 10 ? UInt8(ascii: "0") + digit : UInt8(ascii: "a") + digit - 10)
        rest >>= 4
    } while rest != 0
    return "0x" + String(decoding: text.reversed(), as: UTF8.self)
}
