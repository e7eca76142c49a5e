/*
 * The YAML configuration file (libyaml's document API): every value goes
 * through vg_serve_option_apply, the command line's own parser, so that both
 * accept and refuse the same things. Comparison, lookup and the command line
 * as a configuration are in config_misc.c.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yaml.h>

#include "config_internal.h"
#include "core/redact.h"

/* Larger than any hand-written configuration; a bound on what a mistake (a video given as FILE) reads. */
#define MAX_FILE_SIZE (4 << 20)

#define MODEL_KEYS                                                                                          \
	"model", "labels", "threads", "threshold", "classes", "max_detections", "top_k", "resize", "mean", "std", \
		"bgr", "decoder", "reference_kernels", "sidecar", "no_state", "input_size"
#define CLASSIFY_KEYS "classify", "classify_classes", "classify_max", "classify_sidecar"

static const char *const global_keys[] = {
	"listen", "max_clients", "max_event_clients", "max_conns_per_address", "stall_timeout", "min_client_fps",
	"cors_origin", "allowed_host", "trusted_proxy", "redact_param", "log_level", "json", "inference_workers",
	"defaults", "models", "cameras", "auth", "mqtt", "nodes", "data", "clips", "retain_days", "max_storage", NULL,
};
static const char *const camera_keys[] = {
	"source", "loop", "no_pace", "size", "input_format", "reconnect_max", "quality", "fps", "privacy",
	"privacy_classes", CLASSIFY_KEYS, MODEL_KEYS, "enabled", "node", "track", "zones", "lines", "masks", "min_area", "max_area",
	"event_clips", "pre_capture", "post_capture", NULL,
};
static const char *const zone_keys[] = { "coordinates", "objects", "inertia", "loitering_time", NULL };
static const char *const line_keys[] = { "coordinates", "in", "out", NULL };
static const char *const model_keys[] = { MODEL_KEYS, CLASSIFY_KEYS, NULL };
static const char *const auth_keys[] = { "token", "token_file", "users", "session_secret", NULL };
static const char *const mqtt_keys[] = {
	"host", "port", "client_id", "prefix", "username", "password", "ca_file", "qos", "max_rate", "snapshot",
	"stats_interval", "keepalive", NULL,
};
static const char *const node_keys[] = { "listen", "url", NULL };

/* Global keys that are HTTP options of serve, given to vg_serve_option_apply as they are. */
static const char *const global_option_keys[] = {
	"listen", "max_clients", "max_event_clients", "max_conns_per_address", "stall_timeout", "min_client_fps",
	"json", "data", "clips", "retain_days", "max_storage", NULL,
};
/* Repeatable options: a YAML list, or one string of comma-separated entries. */
static const char *const global_list_keys[] = { "cors_origin", "allowed_host", "trusted_proxy", "redact_param", NULL };
/* Options whose value is itself a comma-separated list: a YAML list is joined with commas. */
static const char *const joined_keys[] = { "classes", "privacy_classes", "classify_classes", NULL };

typedef struct loader {
	vg_config *cfg;
	yaml_document_t doc;
	const char *name;
	char *err;
	size_t errlen;
	yaml_node_t *root, *defaults, *models;
} loader;

static int in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (!strcmp(*list, s))
			return 1;
	return 0;
}

/* Writes "NAME:LINE:COLUMN: key 'KEY': message" (without the key part when key is NULL). -1. */
static int fail(loader *L, const yaml_node_t *at, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(loader *L, const yaml_node_t *at, const char *key, const char *fmt, ...)
{
	char msg[768];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	size_t line = at ? at->start_mark.line + 1 : 1, col = at ? at->start_mark.column + 1 : 1;
	if (key)
		snprintf(L->err, L->errlen, "%s:%zu:%zu: key '%.200s': %s", L->name, line, col, key, msg);
	else
		snprintf(L->err, L->errlen, "%s:%zu:%zu: %s", L->name, line, col, msg);
	return -1;
}

static int oom(loader *L)
{
	snprintf(L->err, L->errlen, "%s: out of memory", L->name);
	return -1;
}

static yaml_node_t *node_at(loader *L, int i)
{
	return yaml_document_get_node(&L->doc, i);
}

static const char *text(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static const char *kind(const yaml_node_t *n)
{
	return n->type == YAML_SEQUENCE_NODE ? "a list" : n->type == YAML_MAPPING_NODE ? "a mapping" : "a value";
}

static size_t npairs(const yaml_node_t *map)
{
	return (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
}

/* Edit distance, for "did you mean". Long strings are not worth it. */
static int distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 40 || lb > 40)
		return 99;
	int row[41];
	for (size_t j = 0; j <= lb; j++)
		row[j] = (int)j;
	for (size_t i = 1; i <= la; i++) {
		int diag = row[0];
		row[0] = (int)i;
		for (size_t j = 1; j <= lb; j++) {
			int up = row[j];
			int best = diag + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

/* "prefix.key", or key alone at the top. */
static void join_key(char *dst, size_t cap, const char *prefix, const char *key)
{
	if (prefix && *prefix)
		snprintf(dst, cap, "%s.%s", prefix, key);
	else
		snprintf(dst, cap, "%s", key);
}

/*
 * Checks that map is a mapping whose keys are plain strings, none given twice,
 * each one of known (any key when known is NULL). where names the mapping.
 */
static int check_map(loader *L, yaml_node_t *map, const char *where, const char *const *known)
{
	if (map->type != YAML_MAPPING_NODE)
		return fail(L, map, where, "expects a mapping of keys to values, not %s", kind(map));
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node_at(L, p->key);
		if (!k || k->type != YAML_SCALAR_NODE)
			return fail(L, k, where, "a key must be a plain name, not %s", k ? kind(k) : "nothing");
		if (strlen(text(k)) != k->data.scalar.length)
			return fail(L, k, where, "a key holds a NUL character");
		char full[512];
		join_key(full, sizeof full, where, text(k));
		for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
			yaml_node_t *k2 = node_at(L, q->key);
			if (!strcmp(text(k2), text(k)))
				return fail(L, k, full, "given twice (first at line %zu)", k2->start_mark.line + 1);
		}
		if (known && !in_list(known, text(k))) {
			const char *best = NULL;
			int bestd = 3;
			for (const char *const *c = known; *c; c++) {
				int d = distance(text(k), *c);
				if (d < bestd) {
					bestd = d;
					best = *c;
				}
			}
			if (best)
				return fail(L, k, full, "unknown key; did you mean '%s'?", best);
			return fail(L, k, full, "unknown key");
		}
	}
	return 0;
}

/* The value under key in a mapping already checked, or NULL; *keynode gets the key's node. */
static yaml_node_t *map_get(loader *L, yaml_node_t *map, const char *key, yaml_node_t **keynode)
{
	if (!map)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node_at(L, p->key);
		if (!strcmp(text(k), key)) {
			if (keynode)
				*keynode = k;
			return node_at(L, p->value);
		}
	}
	return NULL;
}

/* Appends n bytes to a growing buffer. 0 or -1. */
static int append(char **buf, size_t *len, size_t *cap, const char *s, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t c = (*len + n + 1) * 2;
		char *b = realloc(*buf, c);
		if (!b)
			return -1;
		*buf = b;
		*cap = c;
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = 0;
	return 0;
}

/* s with each ${NAME} replaced from the environment, into the arena. */
static int expand(loader *L, const yaml_node_t *at, const char *key, const char *s, const char **out)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int rc = -1;
	if (append(&buf, &len, &cap, "", 0) < 0)
		return oom(L);
	while (*s) {
		const char *d = strstr(s, "${");
		if (!d) {
			if (append(&buf, &len, &cap, s, strlen(s)) < 0)
				goto nomem;
			break;
		}
		if (append(&buf, &len, &cap, s, (size_t)(d - s)) < 0)
			goto nomem;
		const char *end = strchr(d + 2, '}');
		if (!end) {
			fail(L, at, key, "'${' without a closing '}'");
			goto out;
		}
		size_t n = (size_t)(end - d - 2);
		int ok = n > 0 && n <= 128 && !(d[2] >= '0' && d[2] <= '9');
		for (size_t i = 0; ok && i < n; i++) {
			char c = d[2 + i];
			ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
		}
		if (!ok) {
			fail(L, at, key, "'${%.*s}' is not an environment variable name (letters, digits and '_')",
			     (int)(n > 64 ? 64 : n), d + 2);
			goto out;
		}
		char name[129];
		memcpy(name, d + 2, n);
		name[n] = 0;
		const char *v = getenv(name);
		if (!v) {
			fail(L, at, key, "uses ${%s}, but the environment variable %s is not set", name, name);
			goto out;
		}
		if (append(&buf, &len, &cap, v, strlen(v)) < 0)
			goto nomem;
		s = end + 1;
	}
	*out = vg_config_strdup(L->cfg, buf);
	rc = *out ? 0 : oom(L);
	goto out;
nomem:
	rc = oom(L);
out:
	free(buf);
	return rc;
}

/*
 * The scalar at n, in the arena, with ${NAME} expanded unless raw (source
 * URIs: they keep ${NAME} in their display form and are expanded when opened,
 * so only checked here).
 */
static int scalar(loader *L, yaml_node_t *n, const char *key, int raw, const char **out)
{
	if (n->type != YAML_SCALAR_NODE)
		return fail(L, n, key, "expects a single value, not %s", kind(n));
	if (strlen(text(n)) != n->data.scalar.length)
		return fail(L, n, key, "holds a NUL character");
	if (!raw)
		return expand(L, n, key, text(n), out);
	char *expanded = NULL, msg[512];
	if (vg_expand_env(text(n), &expanded, msg, sizeof msg) < 0)
		return fail(L, n, key, "%s", msg);
	free(expanded);
	*out = vg_config_strdup(L->cfg, text(n));
	return *out ? 0 : oom(L);
}

/* A value, or a list of values joined with commas. */
static int list_text(loader *L, yaml_node_t *v, const char *key, const char **out)
{
	if (v->type != YAML_SEQUENCE_NODE)
		return scalar(L, v, key, 0, out);
	char *buf = NULL;
	size_t len = 0, cap = 0;
	if (v->data.sequence.items.start == v->data.sequence.items.top)
		return fail(L, v, key, "expects at least one entry");
	for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top; i++) {
		const char *item;
		if (scalar(L, node_at(L, *i), key, 0, &item) < 0 ||
		    (i > v->data.sequence.items.start && append(&buf, &len, &cap, ",", 1) < 0) ||
		    append(&buf, &len, &cap, item, strlen(item)) < 0) {
			int nomem = !L->err[0];
			free(buf);
			return nomem ? oom(L) : -1;
		}
	}
	*out = vg_config_strdup(L->cfg, buf);
	free(buf);
	return *out ? 0 : oom(L);
}

/* The value of an option key as the command line would give it: a list joined with commas where it takes commas. */
static int option_text(loader *L, yaml_node_t *v, const char *key, const char *opt, const char **out)
{
	if (v->type != YAML_SEQUENCE_NODE || !in_list(joined_keys, opt))
		return scalar(L, v, key, !strcmp(opt, "source"), out);
	return list_text(L, v, key, out);
}

/* An option's message without its leading "--option-name ", which the key already says. */
static const char *without_option(const char *msg, const char *opt)
{
	if (strncmp(msg, "--", 2) != 0)
		return msg;
	const char *m = msg + 2;
	for (; *opt; opt++, m++)
		if (*m != *opt && !(*opt == '_' && *m == '-'))
			return msg;
	return *m == ' ' ? m + 1 : msg;
}

/* Applies one option key to o through the command line's parser. */
static int apply(loader *L, vg_serve_options *o, const char *opt, yaml_node_t *v, const char *key)
{
	const char *val;
	char msg[512];
	if (option_text(L, v, key, opt, &val) < 0)
		return -1;
	if ((!strcmp(opt, "model") || !strcmp(opt, "classify")) && access(val, F_OK) != 0)
		return fail(L, v, key, "no such file: '%s'", val);
	if (vg_serve_option_apply(o, opt, val, msg, sizeof msg) < 0)
		return fail(L, v, key, "%s", without_option(msg, opt));
	return 0;
}

/* Applies every pair of a mapping of option keys, but those in skip. */
static int apply_map(loader *L, vg_serve_options *o, yaml_node_t *map, const char *where, const char *const *skip)
{
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		const char *k = text(node_at(L, p->key));
		if (skip && in_list(skip, k))
			continue;
		char key[512];
		join_key(key, sizeof key, where, k);
		if (apply(L, o, k, node_at(L, p->value), key) < 0)
			return -1;
	}
	return 0;
}

static int int_value(loader *L, yaml_node_t *v, const char *key, long lo, long hi, long *out)
{
	const char *s;
	if (scalar(L, v, key, 0, &s) < 0)
		return -1;
	if (vg_parse_int(s, lo, hi, out) < 0)
		return fail(L, v, key, "expects a whole number from %ld to %ld, not '%s'", lo, hi, s);
	return 0;
}

static int double_value(loader *L, yaml_node_t *v, const char *key, double lo, double hi, double *out)
{
	const char *s;
	char *end;
	if (scalar(L, v, key, 0, &s) < 0)
		return -1;
	errno = 0;
	double d = strtod(s, &end);
	if (errno || end == s || *end || !(d >= lo && d <= hi))
		return fail(L, v, key, "expects a number from %g to %g, not '%s'", lo, hi, s);
	*out = d;
	return 0;
}

static int bool_value(loader *L, yaml_node_t *v, const char *key, int *out)
{
	const char *s;
	if (scalar(L, v, key, 0, &s) < 0)
		return -1;
	if (vg_parse_bool(s, out) < 0)
		return fail(L, v, key, "expects true or false (yes/no, on/off), not '%s'", s);
	return 0;
}

/* A non-empty string. */
static int string_value(loader *L, yaml_node_t *v, const char *key, const char **out)
{
	if (scalar(L, v, key, 0, out) < 0)
		return -1;
	if (!**out)
		return fail(L, v, key, "expects a value, not an empty string");
	return 0;
}

int vg_config_name_valid(const char *s)
{
	size_t n = strlen(s);
	int ok = n >= 1 && n <= VG_CAMERA_NAME_MAX;
	for (size_t i = 0; ok && i < n; i++)
		ok = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-';
	return ok;
}

/* Camera, model and node names (keys, so scalars): [a-z0-9_-]{1,32}. */
static int check_name(loader *L, yaml_node_t *k, const char *where, const char *what)
{
	const char *s = text(k);
	if (!vg_config_name_valid(s)) {
		char key[128];
		snprintf(key, sizeof key, "%s.%.40s", where, s);
		return fail(L, k, key, "a %s name is 1 to %d characters of a-z, 0-9, '_' and '-'", what,
			    VG_CAMERA_NAME_MAX);
	}
	return 0;
}

/* The global list options: each entry of a YAML list or of a comma-separated string. */
static int global_list(loader *L, const char *opt, yaml_node_t *v)
{
	vg_config *cfg = L->cfg;
	yaml_node_item_t one = 0;
	yaml_node_item_t *first = v->data.sequence.items.start, *last = v->data.sequence.items.top;
	if (v->type != YAML_SEQUENCE_NODE) {
		first = &one;
		last = first + 1;
	}
	for (yaml_node_item_t *i = first; i < last; i++) {
		yaml_node_t *item = i == &one ? v : node_at(L, *i);
		const char *s;
		if (scalar(L, item, opt, 0, &s) < 0)
			return -1;
		char *copy = vg_config_strdup(cfg, s), *save = NULL;
		if (!copy)
			return oom(L);
		for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
			while (*tok == ' ' || *tok == '\t')
				tok++;
			for (char *e = tok + strlen(tok); e > tok && (e[-1] == ' ' || e[-1] == '\t');)
				*--e = 0;
			if (!strcmp(opt, "redact_param")) {
				/* Checked as --redact-param checks it; registered by vg_config_apply_redact. */
				if (!*tok)
					return fail(L, item, opt, "expects a parameter name, not an empty string");
				if (cfg->nredact_params == VG_MAX_LIST_OPTION)
					return fail(L, item, opt, "at most %d names", VG_MAX_LIST_OPTION);
				cfg->redact_params[cfg->nredact_params++] = tok;
				continue;
			}
			char msg[512];
			if (vg_serve_option_apply(&cfg->global, opt, tok, msg, sizeof msg) < 0)
				return fail(L, item, opt, "%s", without_option(msg, opt));
		}
	}
	return 0;
}

static int load_globals(loader *L)
{
	vg_config *cfg = L->cfg;
	for (yaml_node_pair_t *p = L->root->data.mapping.pairs.start; p < L->root->data.mapping.pairs.top; p++) {
		const char *k = text(node_at(L, p->key));
		yaml_node_t *v = node_at(L, p->value);
		if (in_list(global_option_keys, k)) {
			if (apply(L, &cfg->global, k, v, k) < 0)
				return -1;
		} else if (in_list(global_list_keys, k)) {
			if (global_list(L, k, v) < 0)
				return -1;
		} else if (!strcmp(k, "log_level")) {
			static const char *const levels[] = { "error", "warn", "info", "debug" };
			const char *s;
			size_t i = 0;
			if (scalar(L, v, k, 0, &s) < 0)
				return -1;
			while (i < 4 && strcmp(s, levels[i]) != 0)
				i++;
			if (i == 4)
				return fail(L, v, k, "expects debug, info, warn or error, not '%s'", s);
			cfg->global.log_level = (enum vg_log_level)i;
		} else if (!strcmp(k, "inference_workers")) {
			long n;
			if (int_value(L, v, k, 1, 64, &n) < 0)
				return -1;
			cfg->inference_workers = (int)n;
		}
	}
	return 0;
}

/* The whole of a small file, for token_file. */
static int read_token_file(loader *L, yaml_node_t *v, const char *key, const char *path, const char **out)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return fail(L, v, key, "cannot read '%s': %s", path, strerror(errno));
	char buf[4097];
	size_t n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	if (n == sizeof buf)
		return fail(L, v, key, "'%s' is longer than a token (4096 bytes)", path);
	buf[n] = 0;
	/* Files end with a newline that is no part of the token. */
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		buf[--n] = 0;
	if (!n || strlen(buf) != n)
		return fail(L, v, key, "'%s' holds no token (it is empty, or holds a NUL byte)", path);
	*out = vg_config_strdup(L->cfg, buf);
	return *out ? 0 : oom(L);
}

static int load_auth(loader *L, yaml_node_t *map)
{
	vg_config_auth *a = &L->cfg->auth;
	yaml_node_t *tk = NULL, *tfk = NULL, *v;
	if (check_map(L, map, "auth", auth_keys) < 0)
		return -1;
	if ((v = map_get(L, map, "token", &tk)) && string_value(L, v, "auth.token", &a->token) < 0)
		return -1;
	if ((v = map_get(L, map, "token_file", &tfk))) {
		const char *path;
		if (tk)
			return fail(L, tfk, "auth.token_file", "give token or token_file, not both");
		if (string_value(L, v, "auth.token_file", &path) < 0 ||
		    read_token_file(L, v, "auth.token_file", path, &a->token) < 0)
			return -1;
	}
	if ((v = map_get(L, map, "session_secret", NULL)) &&
	    string_value(L, v, "auth.session_secret", &a->session_secret) < 0)
		return -1;
	if ((v = map_get(L, map, "users", NULL))) {
		if (check_map(L, v, "auth.users", NULL) < 0)
			return -1;
		a->users = vg_config_alloc(L->cfg, (npairs(v) + 1) * sizeof *a->users);
		if (!a->users)
			return oom(L);
		for (yaml_node_pair_t *p = v->data.mapping.pairs.start; p < v->data.mapping.pairs.top; p++) {
			yaml_node_t *k = node_at(L, p->key);
			char key[512];
			join_key(key, sizeof key, "auth.users", text(k));
			if (!*text(k) || strchr(text(k), ':'))
				return fail(L, k, key, "a user name is not empty and holds no ':'");
			vg_config_user *u = &a->users[a->nusers];
			u->name = vg_config_strdup(L->cfg, text(k));
			if (!u->name)
				return oom(L);
			if (string_value(L, node_at(L, p->value), key, &u->hash) < 0)
				return -1;
			a->nusers++;
		}
	}
	return 0;
}

static int load_mqtt(loader *L, yaml_node_t *map)
{
	vg_config_mqtt *m = &L->cfg->mqtt;
	yaml_node_t *v, *pk = NULL;
	long n;
	if (check_map(L, map, "mqtt", mqtt_keys) < 0)
		return -1;
	if (!(v = map_get(L, map, "host", NULL)))
		return fail(L, map, "mqtt", "no host: (the broker's address)");
	if (string_value(L, v, "mqtt.host", &m->host) < 0)
		return -1;
	static const struct {
		const char *key;
		size_t off;
	} strings[] = {
		{ "client_id", offsetof(vg_config_mqtt, client_id) }, { "prefix", offsetof(vg_config_mqtt, prefix) },
		{ "username", offsetof(vg_config_mqtt, username) },   { "password", offsetof(vg_config_mqtt, password) },
		{ "ca_file", offsetof(vg_config_mqtt, ca_file) },
	};
	for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
		char key[64];
		join_key(key, sizeof key, "mqtt", strings[i].key);
		if ((v = map_get(L, map, strings[i].key, NULL)) &&
		    string_value(L, v, key, (const char **)((char *)m + strings[i].off)) < 0)
			return -1;
	}
	if ((v = map_get(L, map, "prefix", NULL)) &&
	    (strpbrk(m->prefix, "+#") || m->prefix[0] == '/' || m->prefix[strlen(m->prefix) - 1] == '/'))
		return fail(L, v, "mqtt.prefix", "expects a topic prefix without '+', '#' or a leading or trailing '/', not '%s'",
			    m->prefix);
	if ((v = map_get(L, map, "password", NULL)) && !m->username)
		return fail(L, v, "mqtt.password", "needs username");
	if ((v = map_get(L, map, "ca_file", NULL)) && access(m->ca_file, R_OK) != 0)
		return fail(L, v, "mqtt.ca_file", "cannot read '%s': %s", m->ca_file, strerror(errno));
	if ((v = map_get(L, map, "port", &pk))) {
		if (int_value(L, v, "mqtt.port", 1, 65535, &n) < 0)
			return -1;
		m->port = (int)n;
	} else if (m->ca_file) {
		m->port = 8883;
	}
	if ((v = map_get(L, map, "qos", NULL))) {
		if (int_value(L, v, "mqtt.qos", 0, 2, &n) < 0)
			return -1;
		m->qos = (int)n;
	}
	if ((v = map_get(L, map, "keepalive", NULL))) {
		/* libmosquitto refuses less than 5 seconds. */
		if (int_value(L, v, "mqtt.keepalive", 5, 65535, &n) < 0)
			return -1;
		m->keepalive = (int)n;
	}
	if ((v = map_get(L, map, "max_rate", NULL)) && double_value(L, v, "mqtt.max_rate", 0.01, 1000, &m->max_rate) < 0)
		return -1;
	if ((v = map_get(L, map, "stats_interval", NULL)) &&
	    double_value(L, v, "mqtt.stats_interval", 0, 86400, &m->stats_interval) < 0)
		return -1;
	if ((v = map_get(L, map, "snapshot", NULL)) && bool_value(L, v, "mqtt.snapshot", &m->snapshot) < 0)
		return -1;
	return 0;
}

static int load_nodes(loader *L, yaml_node_t *map)
{
	vg_config *cfg = L->cfg;
	if (check_map(L, map, "nodes", NULL) < 0)
		return -1;
	if (!npairs(map))
		return fail(L, map, "nodes", "declares no node");
	cfg->nodes = vg_config_alloc(cfg, npairs(map) * sizeof *cfg->nodes);
	if (!cfg->nodes)
		return oom(L);
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node_at(L, p->key), *v = node_at(L, p->value), *f;
		vg_config_node *n = &cfg->nodes[cfg->nnodes];
		char where[128], key[160];
		if (check_name(L, k, "nodes", "node") < 0)
			return -1;
		snprintf(where, sizeof where, "nodes.%s", text(k));
		if (check_map(L, v, where, node_keys) < 0)
			return -1;
		n->name = vg_config_strdup(cfg, text(k));
		if (!n->name)
			return oom(L);
		if (!(f = map_get(L, v, "listen", NULL)))
			return fail(L, k, where, "no listen: (the address this node serves HTTP on)");
		snprintf(key, sizeof key, "%s.listen", where);
		if (string_value(L, f, key, &n->listen) < 0)
			return -1;
		if ((f = map_get(L, v, "url", NULL))) {
			snprintf(key, sizeof key, "%s.url", where);
			if (string_value(L, f, key, &n->url) < 0)
				return -1;
			if (strncmp(n->url, "http://", 7) != 0 && strncmp(n->url, "https://", 8) != 0)
				return fail(L, f, key, "expects an http:// or https:// URL, not '%s'", n->url);
		}
		cfg->nnodes++;
	}
	return 0;
}

/* Checks each models: entry on its own, so that a mistake is reported where it is even if no camera uses it. */
static int check_models(loader *L)
{
	if (check_map(L, L->models, "models", NULL) < 0)
		return -1;
	for (yaml_node_pair_t *p = L->models->data.mapping.pairs.start; p < L->models->data.mapping.pairs.top; p++) {
		yaml_node_t *k = node_at(L, p->key), *v = node_at(L, p->value);
		char where[128];
		if (check_name(L, k, "models", "model") < 0)
			return -1;
		snprintf(where, sizeof where, "models.%s", text(k));
		if (check_map(L, v, where, model_keys) < 0)
			return -1;
		if (!map_get(L, v, "model", NULL))
			return fail(L, k, where, "no model: (the model file)");
		vg_serve_options scratch;
		vg_serve_options_init(&scratch);
		if (apply_map(L, &scratch, v, where, NULL) < 0)
			return -1;
	}
	return 0;
}

/* The declared model names, for a message. */
static void model_names(loader *L, char *dst, size_t cap)
{
	size_t len = 0;
	dst[0] = 0;
	if (!L->models || !npairs(L->models)) {
		snprintf(dst, cap, " (none is declared)");
		return;
	}
	for (yaml_node_pair_t *p = L->models->data.mapping.pairs.start; p < L->models->data.mapping.pairs.top; p++) {
		int n = snprintf(dst + len, cap - len, "%s%s", p == L->models->data.mapping.pairs.start ? " (" : ", ",
				 text(node_at(L, p->key)));
		if (n < 0 || (size_t)n >= cap - len - 1)
			break;
		len += (size_t)n;
	}
	if (len + 2 < cap)
		snprintf(dst + len, cap - len, ")");
}

static const char *const special_keys[] = { "model",   "enabled", "node",     "track",
					     "zones",   "lines",   "masks",    "min_area",
					     "max_area", NULL };

/*
 * One entry of zones: or lines: (NAME: {coordinates: ..., ...}), added to o
 * as --zone / --line would add it, then given its other settings.
 */
static int load_zone_or_line(loader *L, vg_serve_options *o, int zone, yaml_node_t *k, yaml_node_t *v,
			     const char *where)
{
	char zwhere[256], key[320], msg[512];
	join_key(zwhere, sizeof zwhere, where, text(k));
	if (check_map(L, v, zwhere, zone ? zone_keys : line_keys) < 0)
		return -1;
	yaml_node_t *c = map_get(L, v, "coordinates", NULL);
	if (!c)
		return fail(L, k, zwhere, zone ? "no coordinates: (X1, Y1, X2, Y2, X3, Y3, ... within 0..1)"
					       : "no coordinates: (X1, Y1, X2, Y2 within 0..1)");
	const char *coords;
	join_key(key, sizeof key, zwhere, "coordinates");
	if (list_text(L, c, key, &coords) < 0)
		return -1;
	char spec[2048];
	if ((size_t)snprintf(spec, sizeof spec, "%s:%s", text(k), coords) >= sizeof spec)
		return fail(L, c, key, "too long");
	const char *opt = zone ? "zone" : "line";
	if (vg_serve_option_apply(o, opt, spec, msg, sizeof msg) < 0)
		return fail(L, c, key, "%s", without_option(msg, opt));
	yaml_node_t *f;
	if (!zone) {
		vg_line_def *d = &o->lines[o->pipeline.scene.nlines - 1];
		for (int dir = 0; dir < 2; dir++) {
			const char *name, *dk = dir == VG_LINE_IN ? "in" : "out";
			if (!(f = map_get(L, v, dk, NULL)))
				continue;
			join_key(key, sizeof key, zwhere, dk);
			if (string_value(L, f, key, &name) < 0)
				return -1;
			if (strlen(name) >= sizeof d->dir_name[dir] || !vg_track_name_valid(name))
				return fail(L, f, key, "a direction's name is 1 to %zu letters, digits, '_' and '-'",
					    sizeof d->dir_name[dir] - 1);
			memcpy(d->dir_name[dir], name, strlen(name) + 1);
		}
		if (!strcmp(d->dir_name[0], d->dir_name[1]))
			return fail(L, v, zwhere, "its two directions have one name, '%s'", d->dir_name[0]);
		return 0;
	}
	vg_zone_def *d = &o->zones[o->pipeline.scene.nzones - 1];
	if ((f = map_get(L, v, "objects", NULL))) {
		const char *list;
		join_key(key, sizeof key, zwhere, "objects");
		if (list_text(L, f, key, &list) < 0)
			return -1;
		for (const char *p = list; *p;) {
			size_t n = strcspn(p, ",");
			while (n > 0 && p[n - 1] == ' ')
				n--;
			if (n == 0 || n >= sizeof d->objects[0])
				return fail(L, f, key, "a label of 1 to %zu characters expected", sizeof d->objects[0] - 1);
			if (d->n_objects == VG_ZONE_MAX_OBJECTS)
				return fail(L, f, key, "at most %d labels", VG_ZONE_MAX_OBJECTS);
			memcpy(d->objects[d->n_objects], p, n);
			d->objects[d->n_objects++][n] = '\0';
			p += strcspn(p, ",");
			while (*p == ',' || *p == ' ')
				p++;
		}
	}
	long inertia;
	if ((f = map_get(L, v, "inertia", NULL))) {
		join_key(key, sizeof key, zwhere, "inertia");
		if (int_value(L, f, key, 1, 1000, &inertia) < 0)
			return -1;
		d->inertia = (int)inertia;
	}
	if ((f = map_get(L, v, "loitering_time", NULL))) {
		join_key(key, sizeof key, zwhere, "loitering_time");
		if (double_value(L, f, key, 0, 86400 * 7, &d->loitering_time_s) < 0)
			return -1;
	}
	return 0;
}

/* A node of the camera's, else the defaults'; *w says whose. */
static yaml_node_t *own_or_default(loader *L, yaml_node_t *v, const char *key, const char *where, const char **w)
{
	yaml_node_t *m = map_get(L, v, key, NULL);
	*w = where;
	if (!m && (m = map_get(L, L->defaults, key, NULL)))
		*w = "defaults";
	return m;
}

/* masks: (a list of polygons, each a list or a string of coordinates) and min_area: / max_area: ({LABEL: F}). */
static int load_masks_and_areas(loader *L, vg_serve_options *o, yaml_node_t *v, const char *where)
{
	char key[160], msg[512];
	const char *w;
	yaml_node_t *m = own_or_default(L, v, "masks", where, &w);
	if (m) {
		join_key(key, sizeof key, w, "masks");
		if (m->type != YAML_SEQUENCE_NODE)
			return fail(L, m, key, "expects a list of polygons (each X1, Y1, X2, Y2, X3, Y3, ... within 0..1)");
		for (yaml_node_item_t *i = m->data.sequence.items.start; i < m->data.sequence.items.top; i++) {
			const char *coords;
			yaml_node_t *item = node_at(L, *i);
			if (list_text(L, item, key, &coords) < 0)
				return -1;
			if (vg_serve_option_apply(o, "mask", coords, msg, sizeof msg) < 0)
				return fail(L, item, key, "%s", without_option(msg, "mask"));
		}
	}
	for (int max = 0; max < 2; max++) {
		const char *name = max ? "max_area" : "min_area";
		if (!(m = own_or_default(L, v, name, where, &w)))
			continue;
		join_key(key, sizeof key, w, name);
		if (check_map(L, m, key, NULL) < 0)
			return -1;
		for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++) {
			const char *f;
			char lkey[320], arg[256];
			join_key(lkey, sizeof lkey, key, text(node_at(L, p->key)));
			if (scalar(L, node_at(L, p->value), lkey, 0, &f) < 0)
				return -1;
			snprintf(arg, sizeof arg, "%s:%s", text(node_at(L, p->key)), f);
			if (vg_serve_option_apply(o, name, arg, msg, sizeof msg) < 0)
				return fail(L, node_at(L, p->value), lkey, "%s", without_option(msg, name));
		}
	}
	return 0;
}

/* A camera's track:, zones: and lines: (its own, else the defaults'). */
static int load_scene(loader *L, vg_serve_options *o, yaml_node_t *v, const char *where)
{
	char key[128];
	for (int zone = 1; zone >= 0; zone--) {
		const char *name = zone ? "zones" : "lines", *w = where;
		yaml_node_t *m = map_get(L, v, name, NULL);
		if (!m && (m = map_get(L, L->defaults, name, NULL)))
			w = "defaults";
		if (!m)
			continue;
		join_key(key, sizeof key, w, name);
		if (check_map(L, m, key, NULL) < 0)
			return -1;
		for (yaml_node_pair_t *p = m->data.mapping.pairs.start; p < m->data.mapping.pairs.top; p++)
			if (load_zone_or_line(L, o, zone, node_at(L, p->key), node_at(L, p->value), key) < 0)
				return -1;
	}
	if (load_masks_and_areas(L, o, v, where) < 0)
		return -1;
	yaml_node_t *f;
	const char *w = where;
	if (!(f = map_get(L, v, "track", NULL)) && (f = map_get(L, L->defaults, "track", NULL)))
		w = "defaults";
	if (f) {
		join_key(key, sizeof key, w, "track");
		if (bool_value(L, f, key, &o->pipeline.scene.tracking) < 0)
			return -1;
	}
	return 0;
}

static int load_camera(loader *L, yaml_node_t *k, yaml_node_t *v, vg_config_camera *cam)
{
	vg_config *cfg = L->cfg;
	char where[64], key[96];
	yaml_node_t *f, *fk = NULL;
	if (check_name(L, k, "cameras", "camera") < 0)
		return -1;
	snprintf(where, sizeof where, "cameras.%s", text(k));
	if (check_map(L, v, where, camera_keys) < 0)
		return -1;
	memcpy(cam->name, text(k), strlen(text(k)) + 1);
	cam->line = (int)k->start_mark.line + 1;
	cam->enabled = 1;

	/* Order: defaults, then the named model's settings, then the camera's own keys. */
	vg_serve_options o;
	vg_serve_options_init(&o);
	if (L->defaults && apply_map(L, &o, L->defaults, "defaults", special_keys) < 0)
		return -1;
	const char *mwhere = where;
	if (!(f = map_get(L, v, "model", NULL)) && (f = map_get(L, L->defaults, "model", NULL)))
		mwhere = "defaults";
	if (f) {
		const char *name;
		snprintf(key, sizeof key, "%s.model", mwhere);
		if (string_value(L, f, key, &name) < 0)
			return -1;
		yaml_node_t *m = map_get(L, L->models, name, NULL);
		if (m) {
			char mw[64];
			snprintf(mw, sizeof mw, "models.%s", name);
			if (apply_map(L, &o, m, mw, NULL) < 0)
				return -1;
			cam->model_key = name;
		} else if (access(name, F_OK) == 0) {
			if (apply(L, &o, "model", f, key) < 0)
				return -1;
		} else {
			char names[256];
			model_names(L, names, sizeof names);
			return fail(L, f, key, "'%s' is neither a model declared under models:%s nor an existing file", name,
				    names);
		}
	}
	if (apply_map(L, &o, v, where, special_keys) < 0 || load_scene(L, &o, v, where) < 0)
		return -1;

	if (!o.pipeline.source.uri)
		return fail(L, k, where, "no source: (the camera's video: a file, /dev/videoN, rtsp://..., http://... or lavfi:GRAPH)");
	char msg[512];
	if (vg_serve_options_check(&o, msg, sizeof msg) < 0)
		return fail(L, k, where, "%s", msg);

	const char *ewhere = where;
	if (!(f = map_get(L, v, "enabled", NULL)) && (f = map_get(L, L->defaults, "enabled", NULL)))
		ewhere = "defaults";
	if (f) {
		snprintf(key, sizeof key, "%s.enabled", ewhere);
		if (bool_value(L, f, key, &cam->enabled) < 0)
			return -1;
	}
	const char *nwhere = where;
	fk = k;
	if (!(f = map_get(L, v, "node", NULL)) && (f = map_get(L, L->defaults, "node", NULL)))
		nwhere = "defaults";
	if (f) {
		snprintf(key, sizeof key, "%s.node", nwhere);
		if (string_value(L, f, key, &cam->node) < 0)
			return -1;
		if (!vg_config_name_valid(cam->node))
			return fail(L, f, key, "a node name is 1 to %d characters of a-z, 0-9, '_' and '-'",
				    VG_CAMERA_NAME_MAX);
		if (cfg->nnodes && !vg_config_node_find(cfg, cam->node))
			return fail(L, f, key, "node '%s' is not declared under nodes:", cam->node);
	} else if (cfg->nnodes && !vg_config_node_find(cfg, NULL)) {
		return fail(L, fk, where, "no node: given, and nodes: declares no node named 'default' to run it");
	}

	cam->pipeline = o.pipeline;
	cam->detector = o.detector;
	cam->classifier = o.classifier;
	cam->pipeline.detector = cam->detector.model ? &cam->detector : NULL;
	cam->pipeline.classifier = cam->classifier.model ? &cam->classifier : NULL;
	cam->pipeline.json_out = cfg->global.json ? stdout : NULL;
	if (vg_config_own_scene(cfg, &cam->pipeline.scene, &o) < 0)
		return oom(L);
	return 0;
}

static int load_document(loader *L)
{
	vg_config *cfg = L->cfg;
	yaml_node_t *v, *ck = NULL;
	if (check_map(L, L->root, NULL, global_keys) < 0)
		return -1;
	if (load_globals(L) < 0)
		return -1;
	if ((v = map_get(L, L->root, "auth", NULL)) && load_auth(L, v) < 0)
		return -1;
	if ((v = map_get(L, L->root, "mqtt", NULL)) && load_mqtt(L, v) < 0)
		return -1;
	if ((v = map_get(L, L->root, "nodes", NULL)) && load_nodes(L, v) < 0)
		return -1;
	if ((L->models = map_get(L, L->root, "models", NULL)) && check_models(L) < 0)
		return -1;
	if ((L->defaults = map_get(L, L->root, "defaults", NULL)) && check_map(L, L->defaults, "defaults", camera_keys) < 0)
		return -1;
	yaml_node_t *cams = map_get(L, L->root, "cameras", &ck);
	if (!cams)
		return fail(L, L->root, NULL, "no cameras: (at least one camera is needed)");
	if (cams->type == YAML_SCALAR_NODE && !*text(cams))
		return fail(L, ck, "cameras", "declares no camera (at least one is needed)");
	if (check_map(L, cams, "cameras", NULL) < 0)
		return -1;
	if (!npairs(cams))
		return fail(L, cams, "cameras", "declares no camera (at least one is needed)");
	cfg->cameras = vg_config_alloc(cfg, npairs(cams) * sizeof *cfg->cameras);
	if (!cfg->cameras)
		return oom(L);
	for (yaml_node_pair_t *p = cams->data.mapping.pairs.start; p < cams->data.mapping.pairs.top; p++) {
		if (load_camera(L, node_at(L, p->key), node_at(L, p->value), &cfg->cameras[cfg->ncameras]) < 0)
			return -1;
		cfg->ncameras++;
	}
	return 0;
}

/* libyaml's message for a syntax error, with where it is. */
static int syntax_error(loader *L, const yaml_parser_t *parser)
{
	const yaml_mark_t *m = parser->problem ? &parser->problem_mark : &parser->context_mark;
	snprintf(L->err, L->errlen, "%s:%zu:%zu: YAML syntax error: %s%s%s", L->name, m->line + 1, m->column + 1,
		 parser->problem ? parser->problem : "malformed document", parser->context ? " " : "",
		 parser->context ? parser->context : "");
	return -1;
}

int vg_config_load_buffer(vg_config **out, const char *data, size_t len, const char *name, char *err, size_t errlen)
{
	*out = NULL;
	if (errlen)
		err[0] = 0;
	vg_config *cfg = vg_config_new();
	if (!cfg) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	loader L = { .cfg = cfg, .name = name, .err = err, .errlen = errlen };
	yaml_parser_t parser;
	int rc = -1;
	cfg->path = vg_config_strdup(cfg, name);
	cfg->redact_params = vg_config_alloc(cfg, VG_MAX_LIST_OPTION * sizeof *cfg->redact_params);
	if (!cfg->path || !cfg->redact_params) {
		oom(&L);
		vg_config_free(cfg);
		return -1;
	}
	if (!yaml_parser_initialize(&parser)) {
		oom(&L);
		vg_config_free(cfg);
		return -1;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);
	if (!yaml_parser_load(&parser, &L.doc)) {
		syntax_error(&L, &parser);
		goto done_parser;
	}
	L.root = yaml_document_get_root_node(&L.doc);
	if (!L.root) {
		snprintf(err, errlen, "%s:1:1: the file holds no configuration (at least cameras: is needed)", name);
	} else if (load_document(&L) == 0) {
		/* A second document would be silently ignored: say so instead. */
		yaml_document_t next;
		if (!yaml_parser_load(&parser, &next)) {
			syntax_error(&L, &parser);
		} else {
			yaml_node_t *r = yaml_document_get_root_node(&next);
			if (r)
				fail(&L, r, NULL, "a second YAML document; the configuration is one document");
			else
				rc = 0;
			yaml_document_delete(&next);
		}
	}
	yaml_document_delete(&L.doc);
done_parser:
	yaml_parser_delete(&parser);
	if (rc < 0) {
		if (!err[0])
			snprintf(err, errlen, "%s: out of memory", name);
		vg_config_free(cfg);
		return -1;
	}
	*out = cfg;
	return 0;
}

int vg_config_load(vg_config **out, const char *path, char *err, size_t errlen)
{
	*out = NULL;
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	char *data = malloc(MAX_FILE_SIZE + 1);
	if (!data) {
		fclose(f);
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	size_t n = fread(data, 1, MAX_FILE_SIZE + 1, f);
	int bad = ferror(f);
	fclose(f);
	if (bad || n > MAX_FILE_SIZE) {
		snprintf(err, errlen, bad ? "%s: cannot read it (a folder?)" : "%s: larger than %d MiB: not a configuration file",
			 path, MAX_FILE_SIZE >> 20);
		free(data);
		return -1;
	}
	int rc = vg_config_load_buffer(out, data, n, path, err, errlen);
	free(data);
	return rc;
}
