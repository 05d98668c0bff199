import XCTest
@testable import ShellCommands

final class ShellCommandsPlaceholderTests: XCTestCase {}
