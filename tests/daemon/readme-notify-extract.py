#!/usr/bin/python3
"""readme-notify-extract.py README NAME [OLD NEW]...: print the psycopg
program (or configuration) README.md shows after the marker
"<!-- readme-notify: NAME -->" (the fenced block that follows it), with
each OLD string literal ("OLD", quotes included) replaced
by NEW so that it runs against a test's servers. Each OLD must occur in the
program exactly once, so that a README whose connection string changed
fails here instead of running against the wrong server. Exit 1 with one
line when the marker, the block or a string is missing."""
import re
import sys

readme, name = sys.argv[1], sys.argv[2]
text = open(readme, encoding="utf-8").read()
m = re.search(r"<!-- readme-notify: %s -->\n```[a-z]*\n(.*?)\n```\n" % re.escape(name), text, re.S)
if not m:
    sys.exit("readme-notify-extract: no program %s in %s" % (name, readme))
program = m.group(1) + "\n"
pairs = sys.argv[3:]
if len(pairs) % 2:
    sys.exit("readme-notify-extract: OLD without NEW")
for old, new in zip(pairs[::2], pairs[1::2]):
    if program.count('"%s"' % old) != 1:
        sys.exit('readme-notify-extract: program %s does not hold "%s" exactly once' % (name, old))
    program = program.replace('"%s"' % old, repr(new))
sys.stdout.write(program)
