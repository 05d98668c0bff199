import XCTest
@testable import BootInfo

final class BootInfoPlaceholderTests: XCTestCase {}
