import XCTest
@testable import KnowledgeBase

final class KnowledgeBasePlaceholderTests: XCTestCase {}
