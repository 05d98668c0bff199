// The first user program: prints a greeting with its argument and exits.
import SwordfishUser

print("hello from user mode\(arguments.isEmpty ? "" : ": " + arguments.rest(from: 0))")
var total = 0
for i in 1...100 { total += i }
print("1 + 2 + ... + 100 = \(total)")
