#include "hostbench.h"
