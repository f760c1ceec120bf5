# tests/bench/local.mk: make bench, the benchmark harness (never part of make check).
#
# `make bench` runs tests/bench/bench.py inside crdbsim-env: throughput
# against the limit and the Python alternative, fan-out against the fan-out
# limit (bench_fanout; alone with BENCH_CASES=fanout), latency (alone with
# BENCH_CASES=latency), checkpoint and epoll_ctl counts (strace), memory and
# callgrind instruction counts, ordered delivery against stream, replay
# from the journal and the latency ordered delivery adds after a resolved
# timestamp, a job feed's HTTPS endpoint against a minimal HTTPS sink
# (alone with BENCH_CASES=ingest), LISTEN/NOTIFY against PostgreSQL's
# (notify-bench; alone with BENCH_CASES=notify), the nats sink against the
# Unix sink and the latency through a relay (under tests/nats/nats-env;
# alone with BENCH_CASES=nats); `BENCH_QUICK=1 make bench` is the short
# version. Results go to tests/bench/results/ (see tests/bench/README.md).
# The programs are EXTRA_PROGRAMS: built only for `make bench`.
BENCH_PROGS = tests/bench/bench_reader tests/bench/bench_sub \
	tests/bench/bench_load tests/bench/bench_encode \
	tests/bench/bench_webhook_post tests/bench/bench_webhook_sink \
	tests/bench/bench_fanout
EXTRA_PROGRAMS = tests/bench/bench_reader tests/bench/bench_sub \
	tests/bench/bench_load tests/bench/bench_webhook_post \
	tests/bench/bench_webhook_sink tests/bench/bench_fanout
CLEANFILES += $(BENCH_PROGS) tests/bench/firehose-shim.la

# bench_encode --verify is also a test: the fast encoder and the direct
# wire-to-line path must give jansson's bytes on random rows (every plain
# wrapped row takes the direct path in crdbfeedd).
check_PROGRAMS += tests/bench/bench_encode
TESTS += tests/bench/check-direct.sh
dist_check_SCRIPTS += tests/bench/check-direct.sh

tests_bench_bench_reader_SOURCES = tests/bench/bench_reader.c \
	tests/bench/bench_firehose.c tests/bench/bench_firehose.h
tests_bench_bench_reader_CFLAGS = $(AM_CFLAGS) $(LIBPQ_CFLAGS)
tests_bench_bench_reader_LDADD = $(LIBPQ_LIBS)

tests_bench_bench_sub_SOURCES = tests/bench/bench_sub.c

# The fan-out limit: the firehose to K Unix sockets, batched writes.
tests_bench_bench_fanout_SOURCES = tests/bench/bench_fanout.c \
	tests/bench/bench_firehose.c tests/bench/bench_firehose.h
tests_bench_bench_fanout_CFLAGS = $(AM_CFLAGS) $(LIBPQ_CFLAGS)
tests_bench_bench_fanout_LDADD = $(LIBPQ_LIBS)

tests_bench_bench_load_SOURCES = tests/bench/bench_load.c
tests_bench_bench_load_CFLAGS = $(AM_CFLAGS) $(LIBPQ_CFLAGS)
tests_bench_bench_load_LDADD = $(LIBPQ_LIBS)

# The ingest case (BENCH_CASES=ingest): K emulated nodes posting to a
# job feed's HTTPS endpoint, and the minimal HTTPS sink that is its limit.
tests_bench_bench_webhook_post_SOURCES = tests/bench/bench_webhook_post.c
tests_bench_bench_webhook_post_CFLAGS = $(AM_CFLAGS) $(OPENSSL_CFLAGS)
tests_bench_bench_webhook_post_LDADD = $(OPENSSL_LIBS) -lpthread

tests_bench_bench_webhook_sink_SOURCES = tests/bench/bench_webhook_sink.c
tests_bench_bench_webhook_sink_CFLAGS = $(AM_CFLAGS) $(LIBEVENT_CFLAGS) \
	$(LIBEVENT_OPENSSL_CFLAGS) $(OPENSSL_CFLAGS) $(JANSSON_CFLAGS)
tests_bench_bench_webhook_sink_LDADD = $(LIBEVENT_OPENSSL_LIBS) $(OPENSSL_LIBS) \
	$(LIBEVENT_LIBS) $(JANSSON_LIBS)

# The decode + encode hot path in one process, for callgrind.
tests_bench_bench_encode_SOURCES = tests/bench/bench_encode.c
tests_bench_bench_encode_CPPFLAGS = $(CRDBFEEDD_CPPFLAGS) -I$(top_srcdir)/daemon
tests_bench_bench_encode_CFLAGS = $(AM_CFLAGS) $(CRDBFEEDD_DEP_CFLAGS)
tests_bench_bench_encode_LDADD = $(CRDBFEEDD_LIBS)

# Ordered delivery's hold alone: add + release rows/s in memory, spilled
# and durable (built with the tests, run by hand: it prints figures).
check_PROGRAMS += tests/bench/bench_order
tests_bench_bench_order_SOURCES = tests/bench/bench_order.c
tests_bench_bench_order_CPPFLAGS = $(CRDBFEEDD_CPPFLAGS)
tests_bench_bench_order_CFLAGS = $(AM_CFLAGS) $(CRDBFEEDD_DEP_CFLAGS)
tests_bench_bench_order_LDADD = $(CRDBFEEDD_LIBS) $(LMDB_LIBS)

# LD_PRELOAD shim that adds crdbsim's firehose options to crdbfeedd's
# statement (see firehose-shim.c): a libtool module, built only for make
# bench. No sanitizer flags: it is preloaded into any build of crdbfeedd.
# -rpath makes libtool build a shared object although it is never installed.
EXTRA_LTLIBRARIES += tests/bench/firehose-shim.la
tests_bench_firehose_shim_la_SOURCES = tests/bench/firehose-shim.c
tests_bench_firehose_shim_la_CFLAGS = $(WARN_CFLAGS) $(DEBUG_CFLAGS) $(LIBPQ_CFLAGS)
tests_bench_firehose_shim_la_LDFLAGS = -module -avoid-version -shared \
	-rpath '$(abs_builddir)/tests/bench'
tests_bench_firehose_shim_la_LIBADD = -ldl
FIREHOSE_SHIM = $(abs_top_builddir)/tests/bench/.libs/firehose-shim.so

EXTRA_DIST += tests/bench/firehose-shim.c \
	tests/bench/bench.py tests/bench/README.md tests/bench/plot.gp \
	tests/bench/notify-bench

# One full run's results, committed as documentation (README, Performance).
EXTRA_DIST += tests/bench/results/results.json \
	tests/bench/results/throughput.csv tests/bench/results/latency.csv \
	tests/bench/results/throughput.dat tests/bench/results/latency-1000.dat \
	tests/bench/results/latency-10000.dat \
	tests/bench/results/throughput.png tests/bench/results/throughput.svg \
	tests/bench/results/latency.png tests/bench/results/latency.svg \
	tests/bench/results/ordered.json tests/bench/results/ordered.csv \
	tests/bench/results/latency-ordered-10000.dat \
	tests/bench/results/fanout.json tests/bench/results/fanout.dat \
	tests/bench/results/fanout.png tests/bench/results/fanout.svg \
	tests/bench/results/cpu.dat tests/bench/results/cpu.png \
	tests/bench/results/cpu.svg tests/bench/results/ingest.json \
	tests/bench/results/nats.json tests/bench/results/notify.json

# Figures from an unoptimised or instrumented build mean nothing: make bench
# refuses a build whose compile line ends at -O0 (--enable-debug, or CFLAGS
# without -O) and one with sanitizers. The last -O on the line wins, and
# AM_CFLAGS comes before CFLAGS on automake's compile line.
bench: daemon/crdbfeedd daemon/crdbfeedctl tests/crdbsim/crdbsim $(BENCH_PROGS) \
		tests/bench/firehose-shim.la tests/nats/nats-consume
	@opt=-O0; for f in $(AM_CFLAGS) $(CFLAGS); do \
		case $$f in -O*) opt=$$f;; esac; \
	done; \
	if test "x$$opt" = x-O0; then \
		echo "make bench: refused: this build compiles at -O0 (configured with --enable-debug or CFLAGS without -O); benchmark an optimised build (configure without --enable-debug)" >&2; \
		exit 1; \
	fi; \
	if test -n '$(SAN_CFLAGS)'; then \
		echo "make bench: refused: this build has sanitizers ($(SAN_CFLAGS)); benchmark a build without --enable-asan or --enable-fuzzing" >&2; \
		exit 1; \
	fi
	top_srcdir='$(abs_top_srcdir)' top_builddir='$(abs_top_builddir)' \
	CRDBSIM='$(abs_top_builddir)/tests/crdbsim/crdbsim' \
	LIBTOOL='$(abs_top_builddir)/libtool' \
	FIREHOSE_SHIM='$(FIREHOSE_SHIM)' \
	$(top_srcdir)/tests/crdbsim/crdbsim-env /usr/bin/python3 \
		$(top_srcdir)/tests/bench/bench.py
