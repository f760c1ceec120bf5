/* lib/hlc.c: placeholder until written. */
#include "config.h"
typedef int crdb__placeholder_hlc;
