/* lib/changefeed.c: placeholder until written. */
#include "config.h"
typedef int crdb__placeholder_changefeed;
