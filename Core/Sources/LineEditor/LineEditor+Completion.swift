// Tab: the word before the cursor is completed from the caller's candidates, as far as
// they agree. One candidate completes the word and adds a space; several extend it to
// what they have in common and are listed, then the prompt and the line are drawn again
// below the list; none leaves the line as it is.

extension LineEditor {
    mutating func complete(_ candidates: Candidates) -> [UInt8] {
        var start = cursor
        while start > 0, line[start - 1] != Byte.space { start -= 1 }
        let typed = line[start..<cursor]
        let matches = Self.distinct(candidates(Self.words(in: line[..<start])).filter { $0.starts(with: typed) })
        guard let first = matches.first else { return [] }
        var addition = Array(Self.commonPrefix(of: matches).dropFirst(typed.count))
        if matches.count == 1, cursor == line.count || line[cursor] != Byte.space { addition.append(Byte.space) }
        // A completion that does not fit is not made (nor half made).
        var echo = line.count + addition.count <= lineLimit ? replace(cursor..<cursor, with: addition) : []
        guard matches.count > 1 else { return echo }
        echo.append(Byte.lineFeed)
        echo += first
        for match in matches.dropFirst() { echo += [Byte.space, Byte.space] + match }
        echo.append(Byte.lineFeed)
        return echo + redrawn
    }

    static func words(in text: ArraySlice<UInt8>) -> [[UInt8]] {
        text.split(separator: Byte.space).map { Array($0) }
    }

    /// `words` without repeats, in their order.
    static func distinct(_ words: [[UInt8]]) -> [[UInt8]] {
        var result: [[UInt8]] = []
        for word in words where !result.contains(word) { result.append(word) }
        return result
    }

    /// The longest start all of `words` share (`words` is not empty).
    static func commonPrefix(of words: [[UInt8]]) -> ArraySlice<UInt8> {
        var prefix = words[0][...]
        for word in words.dropFirst() {
            var length = 0
            while length < prefix.count, length < word.count, prefix[length] == word[length] { length += 1 }
            prefix = prefix.prefix(length)
        }
        return prefix
    }
}
