/// An amount of guest RAM, always a whole number of MiB because that is QEMU's `-m` unit.
///
/// Written as QEMU writes it: a number with an optional `M` or `G` suffix (either case);
/// a bare number means MiB, as it does for `-m`.
public struct MemorySize: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let mebibytes: UInt64

    public init?(mebibytes: UInt64) {
        guard mebibytes > 0, mebibytes <= Self.largestMebibytes else { return nil }
        self.mebibytes = mebibytes
    }

    /// Parses `128M`, `1G`, `4096M`, `2g`, `512`.
    public init(parsing text: String) throws(ToolError) {
        var digits = Substring(text)
        var unit: UInt64 = 1
        switch digits.last {
        case "M", "m": digits = digits.dropLast()
        case "G", "g": digits = digits.dropLast(); unit = 1024
        default: break
        }
        guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }),
              let count = UInt64(digits) else {
            throw .invalidMemorySize(text)
        }
        let (product, overflow) = count.multipliedReportingOverflow(by: unit)
        guard !overflow, let size = MemorySize(mebibytes: product) else {
            throw .invalidMemorySize(text)
        }
        self = size
    }

    public var bytes: UInt64 { mebibytes * 1024 * 1024 }

    /// The shortest exact spelling, `4G` rather than `4096M`; used for `-m` and log names.
    public var description: String {
        mebibytes % 1024 == 0 ? "\(mebibytes / 1024)G" : "\(mebibytes)M"
    }

    public static func < (lhs: MemorySize, rhs: MemorySize) -> Bool {
        lhs.mebibytes < rhs.mebibytes
    }

    /// 1 TiB: more than any machine this runs on, small enough that bytes never overflow.
    static let largestMebibytes: UInt64 = 1024 * 1024
}
