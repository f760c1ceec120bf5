# tests/lib/local.mk: the code the Check tests share (the case-file reader
# and a raw protocol v3 client), one convenience library built for `make
# check` only and linked into the test programs that use it.
check_LTLIBRARIES = tests/lib/libtestshared.la
tests_lib_libtestshared_la_SOURCES = \
	tests/lib/cases.c tests/lib/cases.h \
	tests/lib/pgwire.c tests/lib/pgwire.h
tests_lib_libtestshared_la_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS)
# The programs that link it add these to their own flags.
TESTS_LIB_CPPFLAGS = -I$(top_srcdir)/tests/lib
TESTS_LIB_LIBADD = tests/lib/libtestshared.la $(CHECK_LIBS)
