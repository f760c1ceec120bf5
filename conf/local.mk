# conf/local.mk: the notify table and function for CockroachDB
# (conf/notify.sql, doc/crdb-wire.md §15), installed as
# $(datadir)/crdbfeed/notify.sql for the senders' databases.
dist_pkgdata_DATA = conf/notify.sql
