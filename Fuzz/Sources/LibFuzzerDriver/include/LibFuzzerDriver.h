// libFuzzer's public entry for programs that have their own `main` (compiler-rt,
// FuzzerInterface.h). SwiftPM names an executable's entry point `<Module>_main` and
// links it as `main`, so the runtime's own `main` never runs; each harness's `main`
// hands its arguments to this driver instead.
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*callback)(const uint8_t *data, size_t size));
