/*
 * conf_ini.c: the INI reader. Reads a file into raw sections (the text of
 * each key, with its line) and collects every problem as "file:line:
 * message", sorted by line. What the values mean is conf_get.c's.
 *
 * Our own small parser rather than libinih: every problem must be reported
 * as "file:line: message", all of them at once, and inih does not hand the
 * line number of a key to its handler.
 *
 * File shape: `[crdbfeedd]`, `[feed NAME]`, `[sink NAME]` sections, `key =
 * value` lines, `;` or `#` comments (whole lines, or after whitespace at the
 * end of a line), values trimmed, no continuations, lines at most
 * CFG_LINE_MAX bytes. An empty value means "not set" (the default applies).
 */
#include <config.h> /* autoconf's, from the build directory */

#include "conf_internal.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void config_diag_free(struct config_diag *diag)
{
	if (!diag)
		return;
	for (size_t i = 0; i < diag->nlines; i++)
		free(diag->lines[i]);
	free(diag->lines);
	diag->lines = NULL;
	diag->nlines = 0;
}

void config_diag_print(const struct config_diag *diag, FILE *out)
{
	for (size_t i = 0; diag && i < diag->nlines; i++)
		fprintf(out, "%s\n", diag->lines[i]);
}


static void diag_add_line(struct loader *ld, int line, const char *text)
{
	ld->failed = true;
	if (ld->oom || ld->diag->nlines > CFG_DIAG_MAX)
		return;
	/* A bad global value reached through several feeds: say it once. */
	for (size_t i = 0; i < ld->diag->nlines; i++)
		if (strcmp(ld->diag->lines[i], text) == 0)
			return;
	char last[CFG_DIAG_LEN];
	if (ld->diag->nlines == CFG_DIAG_MAX) {
		snprintf(last, sizeof(last), "%.*s: too many problems; stopped listing them",
			 CFG_DIAG_LEN - 64, ld->file);
		text = last;
	}
	char **lines = realloc(ld->diag->lines,
			       (ld->diag->nlines + 1) * sizeof(*lines));
	if (!lines) {
		ld->oom = true;
		return;
	}
	ld->diag->lines = lines;
	int *nums = realloc(ld->diag_line,
			    (ld->diag->nlines + 1) * sizeof(*nums));
	if (!nums) {
		ld->oom = true;
		return;
	}
	ld->diag_line = nums;
	/* Whole-file lines (0) and the final "too many" go last. */
	nums[ld->diag->nlines] = line > 0 && ld->diag->nlines < CFG_DIAG_MAX ?
				 line : INT_MAX;
	char *copy = strdup(text);
	if (!copy) {
		ld->oom = true;
		return;
	}
	lines[ld->diag->nlines++] = copy;
}

/* Report "file:line: message" (line 0: "file: message"). */
void conf_diag(struct loader *ld, int line, const char *fmt, ...)
{
	char text[CFG_DIAG_LEN];
	int n;
	if (line > 0)
		n = snprintf(text, sizeof(text), "%s:%d: ", ld->file, line);
	else
		n = snprintf(text, sizeof(text), "%s: ", ld->file);
	if (n < 0 || (size_t)n >= sizeof(text))
		n = 0;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text + n, sizeof(text) - (size_t)n, fmt, ap);
	va_end(ap);
	diag_add_line(ld, line, text);
}

/* Problems are found section by section; people read them by line. */
void conf_diag_sort(struct loader *ld)
{
	char **lines = ld->diag->lines;
	int *nums = ld->diag_line;
	for (size_t i = 1; nums && i < ld->diag->nlines; i++) {
		char *l = lines[i];
		int n = nums[i];
		size_t j = i;
		for (; j > 0 && nums[j - 1] > n; j--) {
			lines[j] = lines[j - 1];
			nums[j] = nums[j - 1];
		}
		lines[j] = l;
		nums[j] = n;
	}
}

void conf_diag_oom(struct loader *ld)
{
	if (!ld->oom)
		conf_diag(ld, 0, "out of memory");
	ld->oom = true;
	ld->failed = true;
}

char *conf_strndup(struct loader *ld, const char *s, size_t len)
{
	char *p = malloc(len + 1);
	if (!p) {
		conf_diag_oom(ld);
		return NULL;
	}
	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *conf_strdup(struct loader *ld, const char *s)
{
	return s ? conf_strndup(ld, s, strlen(s)) : NULL;
}

const char *conf_skip_space(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* Length of s without trailing blanks. */
size_t conf_trimmed_len(const char *s, size_t len)
{
	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	return len;
}

static bool name_is_valid(const char *name)
{
	size_t len = strlen(name);
	if (len == 0 || len > CFG_NAME_MAX || name[0] == '.' || name[0] == '-')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (!isalnum(c) && c != '_' && c != '-' && c != '.')
			return false;
	}
	return true;
}

void conf_raw_free(struct raw_file *rf)
{
	for (size_t i = 0; i < rf->nsections; i++) {
		struct raw_section *s = &rf->sections[i];
		for (size_t k = 0; s->values && k < cfg_nkeys; k++)
			free(s->values[k].value);
		free(s->values);
		free(s->name);
	}
	free(rf->sections);
	memset(rf, 0, sizeof(*rf));
}

static struct raw_section *raw_find(struct raw_file *rf,
				    enum cfg_section kind, const char *name)
{
	for (size_t i = 0; i < rf->nsections; i++) {
		struct raw_section *s = &rf->sections[i];
		if (s->kind == kind &&
		    (kind == CFG_SECTION_GLOBAL || strcmp(s->name, name) == 0))
			return s;
	}
	return NULL;
}

bool conf_raw_has_feed(const struct raw_file *rf, const char *name)
{
	for (size_t i = 0; i < rf->nsections; i++)
		if (rf->sections[i].kind == CFG_SECTION_FEED &&
		    strcmp(rf->sections[i].name, name) == 0)
			return true;
	return false;
}

struct raw_section *conf_raw_add(struct loader *ld, struct raw_file *rf,
				 enum cfg_section kind, const char *name,
				 int line)
{
	struct raw_section *grown = realloc(rf->sections,
					   (rf->nsections + 1) * sizeof(*grown));
	if (!grown) {
		conf_diag_oom(ld);
		return NULL;
	}
	rf->sections = grown;
	if (rf->global)
		rf->global = raw_find(rf, CFG_SECTION_GLOBAL, NULL);
	struct raw_section *s = &rf->sections[rf->nsections];
	memset(s, 0, sizeof(*s));
	s->kind = kind;
	s->line = line;
	s->values = calloc(cfg_nkeys, sizeof(*s->values));
	if (!s->values || (name && !(s->name = conf_strdup(ld, name)))) {
		free(s->values);
		conf_diag_oom(ld);
		return NULL;
	}
	rf->nsections++;
	if (kind == CFG_SECTION_GLOBAL)
		rf->global = s;
	return s;
}

/* "[crdbfeedd]", "[feed NAME]", "[sink NAME]"; NULL when ignored. */
static struct raw_section *read_section(struct loader *ld, struct raw_file *rf,
					const char *text, size_t len, int line)
{
	/* text starts with '[' and len is trimmed */
	if (len < 2 || text[len - 1] != ']') {
		conf_diag(ld, line, "malformed section header (expected [crdbfeedd], [feed NAME] or [sink NAME])");
		return NULL;
	}
	char inner[CFG_LINE_MAX + 1];
	size_t ilen = len - 2;
	memcpy(inner, text + 1, ilen);
	inner[ilen] = '\0';
	char shown[128];
	snprintf(shown, sizeof(shown), "%.100s", inner);
	char *word = (char *)conf_skip_space(inner);
	size_t wlen = strcspn(word, " \t");
	char *rest = (char *)conf_skip_space(word + wlen);
	rest[conf_trimmed_len(rest, strlen(rest))] = '\0';
	word[wlen] = '\0';

	enum cfg_section kind;
	if (strcmp(word, "crdbfeedd") == 0) {
		kind = CFG_SECTION_GLOBAL;
		if (*rest) {
			conf_diag(ld, line, "[crdbfeedd] takes no name");
			return NULL;
		}
	} else if (strcmp(word, "feed") == 0 || strcmp(word, "sink") == 0) {
		kind = word[0] == 'f' ? CFG_SECTION_FEED : CFG_SECTION_SINK;
		if (!*rest) {
			conf_diag(ld, line, "[%s] needs a name: [%s NAME]", word, word);
			return NULL;
		}
		if (!name_is_valid(rest)) {
			conf_diag(ld, line, "invalid %s name '%.*s' (1 to %d letters, digits, '_', '-' or '.', not starting with '.' or '-')",
			     word, CFG_NAME_MAX + 8, rest, CFG_NAME_MAX);
			return NULL;
		}
	} else {
		conf_diag(ld, line, "unknown section [%s] (expected [crdbfeedd], [feed NAME] or [sink NAME])",
		     shown);
		return NULL;
	}

	struct raw_section *prev = raw_find(rf, kind, rest);
	if (prev) {
		if (kind == CFG_SECTION_GLOBAL)
			conf_diag(ld, line, "section [crdbfeedd] repeated (first at line %d)",
			     prev->line);
		else
			conf_diag(ld, line, "section [%s %s] repeated (first at line %d)",
			     word, rest, prev->line);
		return NULL;
	}

	return conf_raw_add(ld, rf, kind, kind == CFG_SECTION_GLOBAL ? NULL : rest,
			    line);
}

/* Edit distance of two short strings (at most 127 bytes each); case
 * differences cost nothing, so 'Tables' is near 'tables'. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t row[128], prev[128];
	if (la > 127 || lb > 127)
		return SIZE_MAX;
	for (size_t j = 0; j <= lb; j++)
		prev[j] = j;
	for (size_t i = 1; i <= la; i++) {
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cost = tolower((unsigned char)a[i - 1]) ==
				      tolower((unsigned char)b[j - 1]) ? 0 : 1;
			size_t best = prev[j - 1] + cost;
			if (prev[j] + 1 < best)
				best = prev[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
		}
		memcpy(prev, row, (lb + 1) * sizeof(row[0]));
	}
	return prev[lb];
}

/* The section's key closest to a misspelt one, if close enough. */
static const char *nearest_key(enum cfg_section section, const char *key)
{
	const char *best = NULL;
	size_t best_d = 3; /* at most 2 edits */
	for (size_t i = 0; i < cfg_nkeys; i++) {
		if (cfg_keys[i].section != section)
			continue;
		size_t d = edit_distance(key, cfg_keys[i].name);
		if (d < best_d) {
			best_d = d;
			best = cfg_keys[i].name;
		}
	}
	return best;
}

int conf_raw_set(struct loader *ld, struct raw_section *sec, const char *key,
		 const char *val, size_t vlen, int line)
{
	ssize_t idx = conf_key_index(sec->kind, key);
	if (idx < 0) {
		const char *where = sec->kind == CFG_SECTION_GLOBAL ? "[crdbfeedd]" :
				    sec->kind == CFG_SECTION_FEED ? "a [feed] section" :
				    "a [sink] section";
		char hint[160] = "";
		const char *near;
		if (sec->kind != CFG_SECTION_FEED && conf_key_index(CFG_SECTION_FEED, key) >= 0)
			snprintf(hint, sizeof(hint), " (it belongs in a [feed NAME] section)");
		else if (sec->kind != CFG_SECTION_SINK && conf_key_index(CFG_SECTION_SINK, key) >= 0)
			snprintf(hint, sizeof(hint), " (it belongs in a [sink NAME] section)");
		else if ((near = nearest_key(sec->kind, key)))
			snprintf(hint, sizeof(hint), " (did you mean '%s'?)", near);
		conf_diag(ld, line, "unknown key '%s' in %s%s", key, where, hint);
		return -1;
	}
	struct raw_value *v = &sec->values[idx];
	if (v->value) {
		conf_diag(ld, line, "duplicate key '%s' (first set at line %d)", key,
			  v->line);
		return -1;
	}
	if (!(v->value = conf_strndup(ld, val, vlen)))
		return -1;
	v->line = line;
	return 0;
}

static void read_key(struct loader *ld, struct raw_section *sec,
		     bool in_ignored_section, const char *text, size_t len,
		     int line)
{
	const char *eq = memchr(text, '=', len);
	if (!eq) {
		conf_diag(ld, line, "expected 'key = value', a [section] or a comment");
		return;
	}
	size_t klen = conf_trimmed_len(text, (size_t)(eq - text));
	if (klen == 0) {
		conf_diag(ld, line, "missing key before '='");
		return;
	}
	if (in_ignored_section)
		return; /* its header was already reported */
	if (!sec) {
		conf_diag(ld, line, "key '%.*s' outside any section (start with [crdbfeedd])",
		     (int)(klen > 100 ? 100 : klen), text);
		return;
	}
	char key[128];
	if (klen >= sizeof(key)) {
		conf_diag(ld, line, "unknown key '%.100s...'", text);
		return;
	}
	/* (text is cut at klen below; the '%.100s' above stops at 100) */
	memcpy(key, text, klen);
	key[klen] = '\0';
	/* text is not cut at len (a comment may follow): stay within len */
	size_t voff = (size_t)(eq + 1 - text);
	while (voff < len && (text[voff] == ' ' || text[voff] == '\t'))
		voff++;
	const char *val = text + voff;
	conf_raw_set(ld, sec, key, val, conf_trimmed_len(val, len - voff), line);
}

/* Cut a trailing comment: `;` or `#` at the start or after a blank. */
static size_t strip_comment(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((s[i] == ';' || s[i] == '#') &&
		    (i == 0 || s[i - 1] == ' ' || s[i - 1] == '\t'))
			return i;
	return len;
}

static void read_line(struct loader *ld, struct raw_file *rf,
		      struct raw_section **cur, bool *ignored,
		      const char *buf, size_t len, int line)
{
	const char *text = conf_skip_space(buf);
	len -= (size_t)(text - buf);
	len = conf_trimmed_len(text, strip_comment(text, len));
	if (len == 0)
		return;
	if (text[0] == '[') {
		*cur = read_section(ld, rf, text, len, line);
		*ignored = *cur == NULL;
		return;
	}
	read_key(ld, *cur, *ignored, text, len, line);
}

int conf_read_file(struct loader *ld, FILE *fp, struct raw_file *rf)
{
	char buf[CFG_LINE_MAX + 1];
	struct raw_section *cur = NULL;
	bool ignored = false;
	int line = 0;
	bool eof = false;
	while (!eof && !ld->oom) {
		size_t len = 0;
		bool too_long = false, nul = false;
		int c;
		line++;
		while ((c = getc(fp)) != EOF && c != '\n') {
			if (c == '\0')
				nul = true;
			if (len < CFG_LINE_MAX)
				buf[len++] = (char)c;
			else
				too_long = true;
		}
		if (c == EOF) {
			if (ferror(fp)) {
				conf_diag(ld, line > 1 ? line : 0, "cannot read: %s",
				     strerror(errno));
				return -1;
			}
			eof = true;
			if (len == 0 && !too_long)
				break;
		}
		buf[len] = '\0';
		if (len > 0 && buf[len - 1] == '\r')
			buf[--len] = '\0';
		/* A UTF-8 byte order mark on the first line is not text. */
		if (line == 1 && len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) {
			memmove(buf, buf + 3, len - 2);
			len -= 3;
		}
		if (too_long) {
			conf_diag(ld, line, "line longer than %d bytes", CFG_LINE_MAX);
			continue;
		}
		if (nul) {
			conf_diag(ld, line, "line contains a NUL byte");
			continue;
		}
		read_line(ld, rf, &cur, &ignored, buf, len, line);
	}
	return 0;
}

