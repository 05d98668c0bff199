// The keys the line editor understands, decoded from the bytes a terminal sends. Keys
// arrive as single bytes (printable characters, control keys) or as escape sequences
// (the cursor keys, Home, End, Delete), in the forms xterm and VT100-style terminals
// send. Anything else a terminal may send, a sequence this decoder does not know or one
// cut short, is swallowed whole: its bytes must never end up in a command line.

/// One key press, as the editor acts on it.
public enum Key: Equatable {
    /// A printable ASCII character, inserted at the cursor.
    case character(UInt8)
    case enter
    /// Delete the character before the cursor (Backspace, or DEL as most terminals send it).
    case backspace
    /// Delete the character at the cursor (the Delete key).
    case delete
    case left
    case right
    /// To the start of the line (Home, Ctrl-A).
    case home
    /// To the end of the line (End, Ctrl-E).
    case end
    /// The previous line in the history.
    case up
    /// The next line in the history, or back to the line being typed.
    case down
    case tab
    /// Ctrl-U: delete from the start of the line to the cursor.
    case killToStart
    /// Ctrl-W: delete the word before the cursor.
    case killPreviousWord
    /// Ctrl-C: give up the line.
    case interrupt
}

/// Turns a terminal's byte stream into keys, one byte at a time.
public struct KeyDecoder {
    enum State {
        case ground
        /// After ESC.
        case escape
        /// After ESC [: a control sequence, collecting its parameter bytes.
        case controlSequence
        /// After ESC O: one more byte names the key (cursor keys in application mode,
        /// Home and End on some terminals).
        case singleShift
    }

    var state = State.ground
    /// The parameter and intermediate bytes of the control sequence so far, one more
    /// than `parameterLimit` at most: a longer sequence is no key this decoder knows.
    var parameters: [UInt8] = []
    static let parameterLimit = 4
    /// The last byte was a carriage return: a line feed right after it ends no second
    /// line (terminals and pipes send `\r`, `\n` or `\r\n` for one Enter).
    var afterReturn = false

    public init() {}

    /// The key `byte` completes, if any.
    public mutating func decode(_ byte: UInt8) -> Key? {
        let followsReturn = afterReturn
        afterReturn = byte == Byte.carriageReturn
        switch state {
        case .ground:
            return ground(byte, followsReturn: followsReturn)
        case .escape:
            switch byte {
            case UInt8(ascii: "["):
                state = .controlSequence
                parameters.removeAll()
                return nil
            case UInt8(ascii: "O"):
                state = .singleShift
                return nil
            case Byte.escape:
                return nil                                 // ESC ESC: still one escape
            default:
                return endSequence(cutShortBy: byte, followsReturn: followsReturn)
            }
        case .controlSequence:
            switch byte {
            case 0x20...0x3F:                              // parameter and intermediate bytes
                if parameters.count <= Self.parameterLimit { parameters.append(byte) }
                return nil
            case 0x40...0x7E:                              // the final byte
                state = .ground
                return parameters.count <= Self.parameterLimit ? Self.controlSequenceKey(parameters, final: byte) : nil
            default:
                return endSequence(cutShortBy: byte, followsReturn: followsReturn)
            }
        case .singleShift:
            switch byte {
            case UInt8(ascii: "A"): state = .ground; return .up
            case UInt8(ascii: "B"): state = .ground; return .down
            case UInt8(ascii: "C"): state = .ground; return .right
            case UInt8(ascii: "D"): state = .ground; return .left
            case UInt8(ascii: "H"): state = .ground; return .home
            case UInt8(ascii: "F"): state = .ground; return .end
            default: return endSequence(cutShortBy: byte, followsReturn: followsReturn)
            }
        }
    }

    /// A byte that completes no sequence this decoder knows ends it, unknown. A
    /// printable byte belongs to the sequence (Alt plus a key sends ESC and the key) and
    /// goes with it; a control byte (Enter, Ctrl-C, another ESC…) is a key of its own,
    /// so a sequence cut short does not swallow the key after it.
    mutating func endSequence(cutShortBy byte: UInt8, followsReturn: Bool) -> Key? {
        state = .ground
        guard byte < 0x20 || byte == Byte.delete else { return nil }
        return ground(byte, followsReturn: followsReturn)
    }

    /// A byte outside any sequence: a key, or the ESC that starts one.
    mutating func ground(_ byte: UInt8, followsReturn: Bool) -> Key? {
        guard byte != Byte.escape else {
            state = .escape
            return nil
        }
        return Self.singleByteKey(byte, followsReturn: followsReturn)
    }

    static func singleByteKey(_ byte: UInt8, followsReturn: Bool) -> Key? {
        switch byte {
        case 0x20..<0x7F: return .character(byte)
        case Byte.carriageReturn: return .enter
        case Byte.lineFeed: return followsReturn ? nil : .enter
        case Byte.backspace, Byte.delete: return .backspace
        case Byte.tab: return .tab
        case Byte.control("A"): return .home
        case Byte.control("E"): return .end
        case Byte.control("U"): return .killToStart
        case Byte.control("W"): return .killPreviousWord
        case Byte.control("C"): return .interrupt
        default: return nil                                // other control bytes, and non-ASCII
        }
    }

    /// The key a whole control sequence (ESC [ parameters final) stands for, if any.
    static func controlSequenceKey(_ parameters: [UInt8], final: UInt8) -> Key? {
        if parameters.isEmpty {
            switch final {
            case UInt8(ascii: "A"): return .up
            case UInt8(ascii: "B"): return .down
            case UInt8(ascii: "C"): return .right
            case UInt8(ascii: "D"): return .left
            case UInt8(ascii: "H"): return .home
            case UInt8(ascii: "F"): return .end
            default: return nil
            }
        }
        // VT220-style editing keys: ESC [ n ~.
        guard final == UInt8(ascii: "~"), parameters.count == 1 else { return nil }
        switch parameters[0] {
        case UInt8(ascii: "1"), UInt8(ascii: "7"): return .home
        case UInt8(ascii: "4"), UInt8(ascii: "8"): return .end
        case UInt8(ascii: "3"): return .delete
        default: return nil
        }
    }
}

/// The control bytes the editor reads and writes.
enum Byte {
    static let backspace: UInt8 = 0x08
    static let tab: UInt8 = 0x09
    static let lineFeed: UInt8 = 0x0A
    static let carriageReturn: UInt8 = 0x0D
    static let escape: UInt8 = 0x1B
    static let space = UInt8(ascii: " ")
    static let delete: UInt8 = 0x7F

    /// The byte Ctrl and `letter` send.
    static func control(_ letter: Unicode.Scalar) -> UInt8 { UInt8(ascii: letter) & 0x1F }
}
