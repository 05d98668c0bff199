// The first user program: prints a greeting with its argument and exits.
import SwordfishUser

let words = arguments
print("hello from user mode\(words.isEmpty ? "" : ": " + String(decoding: words, as: UTF8.self))")
var total = 0
for i in 1...100 { total += i }
print("1 + 2 + ... + 100 = \(total)")
