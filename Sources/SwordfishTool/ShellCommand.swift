/// A program and its arguments, kept apart so that nothing is ever re-split by a shell.
public struct ShellCommand: Equatable, Sendable, CustomStringConvertible {
    /// A name looked up on `PATH`, or a path.
    public var executable: String
    public var arguments: [String]

    public init(_ executable: String, _ arguments: [String]) {
        self.executable = executable
        self.arguments = arguments
    }

    /// The command as a POSIX shell would need it typed: copy-pasteable.
    public var description: String {
        ([executable] + arguments).map(ShellQuoting.quote).joined(separator: " ")
    }
}

/// Quoting for POSIX shells.
public enum ShellQuoting {
    /// Characters that never need quoting in any POSIX shell position we produce.
    private static let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-")

    /// `word` unchanged when every character is safe, otherwise in single quotes, with each
    /// embedded `'` written as `'\''`.
    public static func quote(_ word: String) -> String {
        if !word.isEmpty, word.allSatisfy(safe.contains) {
            return word
        }
        return "'" + word.replacingAll("'", with: #"'\''"#) + "'"
    }
}

extension String {
    func replacingAll(_ target: Character, with replacement: String) -> String {
        var result = ""
        for character in self {
            if character == target { result += replacement } else { result.append(character) }
        }
        return result
    }
}
