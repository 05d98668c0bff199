// The layouts are header-only; SwiftPM needs one source file per C target.
