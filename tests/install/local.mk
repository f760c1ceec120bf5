# tests/install/local.mk: make install DESTDIR and a program built against the installed libcrdb.
