/*
 * sink_place.c: the sink tests' temporary directory and unix sink config
 * (sink_place.h).
 */
#include <config.h> /* autoconf's, from the build directory */

#include "tests/daemon/sink_place.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void sink_place_make(struct sink_place *place, const char *test,
		     struct sink_config *cfg, enum slow_policy policy,
		     size_t buffer)
{
	memset(place, 0, sizeof(*place));
	memset(cfg, 0, sizeof(*cfg));
	snprintf(place->dir, sizeof(place->dir), "/tmp/%s.XXXXXX", test);
	ck_assert_ptr_nonnull(mkdtemp(place->dir));
	snprintf(place->path, sizeof(place->path), "%s/s.sock", place->dir);
	snprintf(place->name, sizeof(place->name), "s");
	snprintf(place->feed, sizeof(place->feed), "f");
	cfg->name = place->name;
	cfg->feed = place->feed;
	cfg->type = SINK_UNIX;
	cfg->path = place->path;
	cfg->mode = 0600;
	cfg->policy = policy;
	cfg->buffer_bytes = buffer;
	cfg->resolved = true;
}

void sink_place_remove(struct sink_place *place)
{
	unlink(place->path);
	rmdir(place->dir);
}
