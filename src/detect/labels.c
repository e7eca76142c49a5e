#include "detect/labels.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Class ids beyond this are not labels but a corrupt file. */
#define MAX_CLASS_ID 100000

static char *trimmed_copy(const char *s, size_t n)
{
	while (n && isspace((unsigned char)*s)) {
		s++;
		n--;
	}
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	char *out = malloc(n + 1);
	if (out) {
		memcpy(out, s, n);
		out[n] = '\0';
	}
	return out;
}

static int set_name(vg_labels *l, int id, char *name)
{
	if (id >= l->count) {
		char **grown = realloc(l->names, (size_t)(id + 1) * sizeof *grown);
		if (!grown)
			return -1;
		memset(grown + l->count, 0, (size_t)(id + 1 - l->count) * sizeof *grown);
		l->names = grown;
		l->count = id + 1;
	}
	free(l->names[id]);
	l->names[id] = name;
	return 0;
}

/* "12 traffic light" or "12  traffic light": a number, white space, then the name. */
static int split_id_line(const char *line, int *id, const char **name)
{
	const char *p = line;
	if (!isdigit((unsigned char)*p))
		return 0;
	long v = 0;
	while (isdigit((unsigned char)*p)) {
		v = v * 10 + (*p - '0');
		if (v > MAX_CLASS_ID)
			return 0;
		p++;
	}
	if (!isspace((unsigned char)*p))
		return 0;
	while (*p == ' ' || *p == '\t')
		p++;
	if (!*p)
		return 0;
	*id = (int)v;
	*name = p;
	return 1;
}

int vg_labels_parse(vg_labels *out, const char *text, size_t len, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	/* Split into trimmed, non-empty lines first, then decide on the format. */
	char **lines = NULL;
	int n = 0, cap = 0;
	for (size_t i = 0; i < len;) {
		size_t j = i;
		while (j < len && text[j] != '\n')
			j++;
		char *line = trimmed_copy(text + i, j - i);
		if (!line)
			goto nomem;
		if (!line[0]) {
			free(line);
		} else {
			if (n == cap) {
				cap = cap ? cap * 2 : 128;
				char **g = realloc(lines, (size_t)cap * sizeof *g);
				if (!g) {
					free(line);
					goto nomem;
				}
				lines = g;
			}
			lines[n++] = line;
		}
		i = j + 1;
	}
	if (n == 0) {
		snprintf(err, errlen, "no labels in the file");
		free(lines);
		return -1;
	}

	int with_ids = 1;
	for (int i = 0; i < n && with_ids; i++) {
		int id;
		const char *name;
		with_ids = split_id_line(lines[i], &id, &name);
	}
	int first = (!with_ids && strcmp(lines[0], "???") == 0) ? 1 : 0;
	for (int i = first; i < n; i++) {
		int id = i - first;
		const char *name = lines[i];
		if (with_ids)
			split_id_line(lines[i], &id, &name);
		char *copy = strdup(name);
		if (!copy || set_name(out, id, copy) < 0) {
			free(copy);
			goto nomem;
		}
	}
	for (int i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
	return 0;

nomem:
	for (int i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
	vg_labels_free(out);
	snprintf(err, errlen, "out of memory reading labels");
	return -1;
}

int vg_labels_load(vg_labels *out, const char *path, char *err, size_t errlen)
{
	memset(out, 0, sizeof *out);
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "cannot open labels '%s': %s", path, strerror(errno));
		return -1;
	}
	/* Label files are small; anything over 16 MiB is not one. */
	char *buf = malloc(16 << 20);
	size_t len = buf ? fread(buf, 1, 16 << 20, f) : 0;
	int toobig = buf && len == (16 << 20);
	fclose(f);
	if (!buf || toobig) {
		free(buf);
		snprintf(err, errlen, "labels '%s': %s", path, buf ? "file is too large" : "out of memory");
		return -1;
	}
	char why[256];
	int rc = vg_labels_parse(out, buf, len, why, sizeof why);
	free(buf);
	if (rc < 0)
		snprintf(err, errlen, "labels '%s': %s", path, why);
	return rc;
}

int vg_labels_from_list(vg_labels *out, const char *const *names, int count)
{
	memset(out, 0, sizeof *out);
	for (int i = count - 1; i >= 0; i--) {
		char *copy = names[i] ? strdup(names[i]) : NULL;
		if ((names[i] && !copy) || set_name(out, i, copy) < 0) {
			free(copy);
			vg_labels_free(out);
			return -1;
		}
	}
	return 0;
}

const char *vg_labels_get(const vg_labels *labels, int class_id)
{
	if (!labels || class_id < 0 || class_id >= labels->count)
		return NULL;
	return labels->names[class_id];
}

void vg_labels_free(vg_labels *labels)
{
	if (!labels)
		return;
	for (int i = 0; i < labels->count; i++)
		free(labels->names[i]);
	free(labels->names);
	labels->names = NULL;
	labels->count = 0;
}

int vg_labels_parse_classes(const vg_labels *labels, const char *list, const char *option, const char *whose,
			    const char *no_labels, int *ids, int max, char *err, size_t errlen)
{
	char *copy = strdup(list), *save = NULL;
	if (!copy) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	int n = 0, rc = 0;
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		while (isspace((unsigned char)*tok))
			tok++;
		char *end = tok + strlen(tok);
		while (end > tok && isspace((unsigned char)end[-1]))
			*--end = '\0';
		if (!*tok)
			continue;
		int id = -1;
		for (int i = 0; labels && i < labels->count; i++)
			if (labels->names[i] && !strcasecmp(labels->names[i], tok)) {
				id = i;
				break;
			}
		if (id < 0) {
			char *num_end;
			long v = strtol(tok, &num_end, 10);
			if (*num_end || num_end == tok || v < 0 || v > MAX_CLASS_ID) {
				snprintf(err, errlen, "%s: '%s' is not a class name of %s%s", option, tok, whose,
					 labels && labels->count ? "" : no_labels);
				rc = -1;
				break;
			}
			id = (int)v;
		}
		if (n == max) {
			snprintf(err, errlen, "%s: more than %d classes", option, max);
			rc = -1;
			break;
		}
		ids[n++] = id;
	}
	free(copy);
	if (rc == 0 && n == 0) {
		snprintf(err, errlen, "%s: no class given", option);
		rc = -1;
	}
	return rc < 0 ? -1 : n;
}
