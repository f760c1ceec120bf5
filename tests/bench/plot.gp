# plot.gp: the benchmark's plots, from the data bench.py writes.
# gnuplot -e "results='DIR'; limit=N; python=N; rates='1000 10000'; fmt='png'" plot.gp
# fmt is png (pngcairo) or svg.
if (fmt eq 'svg') {
	set terminal svg size 760,460 dynamic font "sans,12"
} else {
	set terminal pngcairo size 760,460 font "sans,10"
}
set datafile commentschars "#"
set grid ytics

set output results.'/throughput.'.fmt
set title "Firehose throughput by number of subscribers (median, min-max)"
set xlabel "Unix-socket subscribers"
set ylabel "events per second"
set logscale x 2
set xrange [0.7:100]
set yrange [0:*]
set format y "%.1s%c"
set key outside bottom center horizontal
plot results.'/throughput.dat' using 1:2:3:4 with yerrorlines lw 2 pt 7 title "crdbfeedd", \
     limit with lines dt 2 lw 2 title "limit (direct libpq reader)", \
     python with lines dt 3 lw 2 title "Python psycopg stream()"

set output results.'/latency.'.fmt
set title "Latency distribution (single-row commits)"
set xlabel "percentile"
set ylabel "milliseconds"
unset logscale
set logscale y
set xrange [0:100]
set yrange [0.01:*]
set format y "%g"
set key outside bottom center horizontal
plot for [r in rates] results.'/latency-'.r.'.dat' using 1:2 with lines lw 2 \
         title "commit -> subscriber, ".r."/s", \
     for [r in rates] results.'/latency-'.r.'.dat' using 1:4 with lines dt 2 lw 2 \
         title "added by crdbfeedd, ".r."/s"

set output results.'/fanout.'.fmt
set title "Fan-out: crdbfeedd against the fan-out limit (median, min-max)"
set xlabel "Unix-socket subscribers"
set ylabel "events per second (at the subscribers)"
unset logscale
set logscale x 2
set xrange [0.7:100]
set yrange [0:*]
set format y "%.1s%c"
set key outside bottom center horizontal
plot results.'/fanout.dat' using 1:2:3:4 with yerrorlines lw 2 pt 7 title "crdbfeedd", \
     results.'/fanout.dat' using 1:5:6:7 with yerrorlines lw 2 pt 5 dt 2 \
         title "fan-out limit (bench\\_fanout)"

set output results.'/cpu.'.fmt
set title "CPU time per event of the process that reads the feed, by case"
set xlabel ""
set ylabel "µs per event (user + system)"
unset logscale
set xrange [*:*]
set yrange [0:*]
set format y "%g"
set style fill solid 0.6 border -1
set boxwidth 0.7
set xtics rotate by -40 left
unset key
plot results.'/cpu.dat' using 0:2:xtic(1) with boxes
