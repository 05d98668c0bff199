import XCTest
@testable import Memory

final class MemoryPlaceholderTests: XCTestCase {}
