/*
 * sink_place.h: where the sink tests (check_sink, check_replay) put their
 * unix sink: a private temporary directory with the socket path in it, and
 * the sink's config on that path, with the settings the tests share.
 */
#ifndef CHECK_SINK_PLACE_H
#define CHECK_SINK_PLACE_H

#include <stddef.h>

#include "daemon/conf.h"

struct sink_place {
	char dir[64];
	char path[96];
	char name[8], feed[8];
};

/*
 * Make the directory (under /tmp, named after test) and fill cfg for a
 * unix sink "s" of feed "f" on its socket path: mode 0600, resolved lines
 * on, the given policy and per-subscriber buffer; the rest zero. Fails the
 * test when the directory cannot be made.
 */
void sink_place_make(struct sink_place *place, const char *test,
		     struct sink_config *cfg, enum slow_policy policy,
		     size_t buffer);

/* Remove the socket file and the directory. */
void sink_place_remove(struct sink_place *place);

#endif /* CHECK_SINK_PLACE_H */
