#!/bin/sh
# check-direct.sh: crdbfeedd's fast row encoders against the jansson
# reference, byte for byte, on 100,000 random rows (tests/bench/bench_encode
# --verify): the general encoder, and the direct wire-to-line path that
# every plain wrapped row takes. Fails on the first difference, or when no
# row took the direct path.
set -eu
exec "${top_builddir:-.}/tests/bench/bench_encode" --verify 100000
