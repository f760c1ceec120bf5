# tests/crdbsim/render.mk: unit tests of crdbsim's changefeed statement
# parser (parse.c) and CockroachDB JSON renderer (render.c). Owned by the
# RENDER helper; tests/crdbsim/local.mk includes this fragment. The engine
# links parse.c/render.c into crdbsim through feed.mk.
