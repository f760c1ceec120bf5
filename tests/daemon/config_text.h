/*
 * config_text.h: a configuration for the daemon's Check programs, written
 * from a string into a test directory and loaded as crdbfeedd would.
 */
#ifndef CHECK_CONFIG_TEXT_H
#define CHECK_CONFIG_TEXT_H

#include "daemon/conf.h"

/*
 * Write text to dir/crdbfeedd.conf, every '@' replaced by dir, and load
 * it. Fails the test (printing the loader's diagnostics) when the file
 * cannot be written or does not load. The caller frees the result with
 * config_free().
 */
struct config *config_text(const char *dir, const char *text);

#endif
