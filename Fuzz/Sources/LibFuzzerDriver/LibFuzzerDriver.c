// Only the header matters: LLVMFuzzerRunDriver comes from the -sanitize=fuzzer runtime.
#include "LibFuzzerDriver.h"
