// `free` for the Swift runtime and the program's argument string; memset and friends
// come from Core's FreestandingC.
#include "user.h"

extern uint64_t user_arguments, user_arguments_length;
void user_free(void *pointer);
void free(void *pointer) { user_free(pointer); }
uint64_t user_argument_bytes(void) { return user_arguments; }
uint64_t user_argument_count(void) { return user_arguments_length; }
