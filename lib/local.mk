# lib/local.mk: libcrdb, installed as a shared and static library with a
# versioned soname, its header and a pkg-config file. Only crdb_* symbols
# are exported (-export-symbols-regex; tests/check-exports.sh verifies it).
lib_LTLIBRARIES += lib/libcrdb.la
include_HEADERS += lib/crdb.h
lib_libcrdb_la_SOURCES = \
	lib/crdb.h \
	lib/crdb_internal.h \
	lib/crdb_scan.h \
	lib/error.c \
	lib/version.c \
	lib/conn.c \
	lib/features.c \
	lib/types.c \
	lib/bytes.c \
	lib/numeric.c \
	lib/jsonread.c \
	lib/datetime.c \
	lib/array.c \
	lib/hlc.c \
	lib/changefeed.c \
	lib/feedopt.c \
	lib/event.c \
	lib/errclass.c
lib_libcrdb_la_CFLAGS = $(AM_CFLAGS) $(LIBPQ_CFLAGS) $(JANSSON_CFLAGS)
lib_libcrdb_la_LIBADD = $(LIBPQ_LIBS) $(JANSSON_LIBS)
lib_libcrdb_la_LDFLAGS = $(AM_LDFLAGS) -version-info $(LIBCRDB_LT_VERSION) \
	-export-symbols-regex '^crdb_[a-z]'

pkgconfigdir = $(libdir)/pkgconfig
pkgconfig_DATA = lib/libcrdb.pc

# The library's manual, libcrdb(3).
dist_man3_MANS = lib/libcrdb.3
