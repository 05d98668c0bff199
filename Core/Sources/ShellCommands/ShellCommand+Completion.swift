// What Tab may complete a word to, by where it stands on the line: a command name first;
// after `run`, or `oncore <core>`, a program name; after `skb` and `bench`, their one
// subcommand; after `trace`, on or off. The shell supplies the program names (from the boot image).

extension ShellCommand {
    /// Every command's name, in `help`'s order: the first word of each help line (a
    /// command with two lines, like `skb`, once).
    public static var names: [[UInt8]] {
        var names: [[UInt8]] = []
        for line in helpLines {
            let name = line.withUTF8Buffer { Array($0.prefix { $0 != UInt8(ascii: " ") }) }
            if names.last != name { names.append(name) }
        }
        return names
    }

    /// The words that may follow `words` on a command line.
    public static func completions(after words: [[UInt8]], programs: [[UInt8]]) -> [[UInt8]] {
        guard let command = words.first else { return names }
        switch (command, words.count) {
        case (Array("run".utf8), 1): return programs
        case (Array("oncore".utf8), 2) where decimal(words[1]) != nil: return programs
        case (Array("skb".utf8), 1): return [Array("tree".utf8)]
        case (Array("bench".utf8), 1): return [Array("channel".utf8)]
        case (Array("trace".utf8), 1): return [Array("on".utf8), Array("off".utf8)]
        default: return []
        }
    }
}
