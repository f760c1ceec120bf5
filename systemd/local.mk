# systemd/local.mk: unit files, sysusers.d and tmpfiles.d entries, installed where pkg-config's systemd variables say.
