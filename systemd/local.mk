# systemd/local.mk: unit files, sysusers.d and tmpfiles.d entries, installed
# where pkg-config's systemd variables say (configure --with-systemdsystemunitdir,
# --with-sysusersdir, --with-tmpfilesdir override them).
#
# The service units name the installed daemon, so they are generated at make
# time from their .in files with the real $(sbindir) (which the user may
# still change with `make sbindir=...`): never at configure time.

SYSTEMD_UNITS_GENERATED = systemd/crdbfeedd.service systemd/crdbfeedd@.service
systemdsystemunit_DATA = $(SYSTEMD_UNITS_GENERATED)
dist_systemdsystemunit_DATA = systemd/crdbfeedd.socket
dist_sysusers_DATA = systemd/sysusers.d/crdbfeedd.conf
dist_tmpfiles_DATA = systemd/tmpfiles.d/crdbfeedd.conf
EXTRA_DIST += systemd/crdbfeedd.service.in systemd/crdbfeedd@.service.in
CLEANFILES += $(SYSTEMD_UNITS_GENERATED)

# A socket unit for one sink: an example to copy, not a unit to enable.
systemdexamplesdir = $(docdir)/examples/systemd
dist_systemdexamples_DATA = systemd/crdbfeedd-sink.socket.example

systemd_unit_edit = sed -e 's|@sbindir[@]|$(sbindir)|g'

systemd/crdbfeedd.service: $(srcdir)/systemd/crdbfeedd.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) systemd && \
	$(systemd_unit_edit) $(srcdir)/systemd/crdbfeedd.service.in >$@.tmp && \
	mv $@.tmp $@

systemd/crdbfeedd@.service: $(srcdir)/systemd/crdbfeedd@.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) systemd && \
	$(systemd_unit_edit) $(srcdir)/systemd/crdbfeedd@.service.in >$@.tmp && \
	mv $@.tmp $@
