/*
 * Python literals (see pyliteral.h): a recursive-descent parser over a
 * bounded text, with bounded depth and value count.
 */
#include "detect/pyliteral.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct parser {
	const char *s;
	size_t len, at;
	int depth;
	long values;
	char *err;
	size_t errlen;
	int failed;
} parser;

static int fail(parser *p, const char *fmt, ...)
{
	if (!p->failed) {
		char msg[200];
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(msg, sizeof msg, fmt, ap);
		va_end(ap);
		snprintf(p->err, p->errlen, "at byte %zu: %s", p->at, msg);
		p->failed = 1;
	}
	return -1;
}

static void skip_ws(parser *p)
{
	while (p->at < p->len && (p->s[p->at] == ' ' || p->s[p->at] == '\t' || p->s[p->at] == '\n' ||
				  p->s[p->at] == '\r'))
		p->at++;
}

static int peek(parser *p)
{
	skip_ws(p);
	return p->at < p->len ? (unsigned char)p->s[p->at] : -1;
}

static int word(parser *p, const char *w)
{
	size_t n = strlen(w);
	if (p->len - p->at < n || memcmp(p->s + p->at, w, n) != 0)
		return 0;
	/* A keyword ends where an identifier would not go on. */
	if (p->at + n < p->len) {
		char c = p->s[p->at + n];
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')
			return 0;
	}
	p->at += n;
	return 1;
}

static void free_inner(vg_py *v)
{
	if (!v)
		return;
	if (v->type == VG_PY_STR)
		free(v->s);
	int count = v->type == VG_PY_DICT ? 2 * v->n : v->n;
	if (v->type == VG_PY_LIST || v->type == VG_PY_TUPLE || v->type == VG_PY_DICT) {
		for (int i = 0; i < count; i++)
			free_inner(&v->items[i]);
		free(v->items);
	}
	memset(v, 0, sizeof *v);
}

void vg_py_free(vg_py *v)
{
	free_inner(v);
	free(v);
}

/* Appends a code point as UTF-8. */
static void put_utf8(char *out, size_t *n, unsigned long cp)
{
	if (cp < 0x80) {
		out[(*n)++] = (char)cp;
	} else if (cp < 0x800) {
		out[(*n)++] = (char)(0xC0 | (cp >> 6));
		out[(*n)++] = (char)(0x80 | (cp & 0x3F));
	} else if (cp < 0x10000) {
		out[(*n)++] = (char)(0xE0 | (cp >> 12));
		out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[(*n)++] = (char)(0x80 | (cp & 0x3F));
	} else {
		out[(*n)++] = (char)(0xF0 | (cp >> 18));
		out[(*n)++] = (char)(0x80 | ((cp >> 12) & 0x3F));
		out[(*n)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[(*n)++] = (char)(0x80 | (cp & 0x3F));
	}
}

static int hex_digits(parser *p, int count, unsigned long *out)
{
	unsigned long v = 0;
	for (int i = 0; i < count; i++) {
		if (p->at >= p->len)
			return fail(p, "string ends inside an escape");
		char c = p->s[p->at++];
		int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		if (d < 0)
			return fail(p, "expected a hexadecimal digit in an escape, found '%c'", c);
		v = v * 16 + (unsigned long)d;
	}
	*out = v;
	return 0;
}

static int parse_string(parser *p, vg_py *v)
{
	char q = p->s[p->at++];
	size_t start = p->at;
	/* The decoded string is never longer than its source (an escape of n bytes makes at most 4, n >= 4 then). */
	size_t cap = 0;
	while (start + cap < p->len && p->s[start + cap] != q) {
		if (p->s[start + cap] == '\\')
			cap++;
		cap++;
	}
	if (start + cap >= p->len)
		return fail(p, "string not closed (expected %c)", q);
	char *out = malloc(cap + 4);
	if (!out)
		return fail(p, "out of memory");
	size_t n = 0;
	while (p->s[p->at] != q) {
		char c = p->s[p->at++];
		if (c == '\n') {
			free(out);
			return fail(p, "line break inside a string");
		}
		if (c != '\\') {
			out[n++] = c;
			continue;
		}
		char e = p->s[p->at++];
		unsigned long cp = 0;
		switch (e) {
		case 'n': out[n++] = '\n'; break;
		case 't': out[n++] = '\t'; break;
		case 'r': out[n++] = '\r'; break;
		case '0': out[n++] = '\0'; break;
		case 'b': out[n++] = '\b'; break;
		case 'f': out[n++] = '\f'; break;
		case '\\': case '\'': case '"': case '/': out[n++] = e; break;
		case 'x':
		case 'u':
		case 'U':
			if (hex_digits(p, e == 'x' ? 2 : e == 'u' ? 4 : 8, &cp) < 0 || cp > 0x10FFFF) {
				free(out);
				return fail(p, "bad \\%c escape", e);
			}
			put_utf8(out, &n, cp);
			break;
		default:
			free(out);
			p->at--;
			return fail(p, "unknown escape \\%c", e);
		}
	}
	p->at++;
	out[n] = '\0';
	v->type = VG_PY_STR;
	v->s = out;
	v->len = n;
	return 0;
}

static int parse_number(parser *p, vg_py *v)
{
	size_t start = p->at;
	if (p->s[p->at] == '-' || p->s[p->at] == '+')
		p->at++;
	int is_float = 0, digits = 0;
	while (p->at < p->len) {
		char c = p->s[p->at];
		if (c >= '0' && c <= '9')
			digits++;
		else if (c == '.' || c == 'e' || c == 'E' || ((c == '-' || c == '+') && (p->s[p->at - 1] == 'e' || p->s[p->at - 1] == 'E')))
			is_float = 1;
		else if (c != '_')
			break;
		p->at++;
	}
	size_t n = p->at - start;
	if (!digits || n > 64)
		return fail(p, "bad number");
	char buf[72];
	size_t k = 0;
	for (size_t i = start; i < p->at; i++)
		if (p->s[i] != '_')
			buf[k++] = p->s[i];
	buf[k] = '\0';
	char *end;
	errno = 0;
	if (is_float) {
		v->type = VG_PY_FLOAT;
		v->f = strtod(buf, &end);
	} else {
		v->type = VG_PY_INT;
		v->i = strtoll(buf, &end, 10);
		v->f = (double)v->i;
	}
	if (*end != '\0' || errno == ERANGE)
		return fail(p, "bad number '%s'", buf);
	return 0;
}

static int parse_value(parser *p, vg_py *v);

/* A list, tuple or dict: items until the closing bracket, a trailing comma allowed. */
static int parse_container(parser *p, vg_py *v, char close, vg_py_type type)
{
	p->at++;
	if (++p->depth > VG_PY_MAX_DEPTH)
		return fail(p, "nested deeper than %d", VG_PY_MAX_DEPTH);
	v->type = type;
	int per = type == VG_PY_DICT ? 2 : 1, cap = 0;
	for (;;) {
		int c = peek(p);
		if (c < 0)
			return fail(p, "text ends before '%c'", close);
		if (c == close) {
			p->at++;
			break;
		}
		if (v->n * per + per > cap) {
			int ncap = cap ? cap * 2 : 8;
			vg_py *ni = realloc(v->items, (size_t)ncap * sizeof *ni);
			if (!ni)
				return fail(p, "out of memory");
			memset(ni + cap, 0, (size_t)(ncap - cap) * sizeof *ni);
			v->items = ni;
			cap = ncap;
		}
		vg_py *slot = &v->items[v->n * per];
		/* Count the slot before parsing it, so that a failure frees what it holds. */
		v->n++;
		if (parse_value(p, slot) < 0)
			return -1;
		if (type == VG_PY_DICT) {
			if (peek(p) != ':')
				return fail(p, "expected ':' after a dict key");
			p->at++;
			if (parse_value(p, slot + 1) < 0)
				return -1;
		}
		c = peek(p);
		if (c == ',') {
			p->at++;
		} else if (c != close) {
			return fail(p, "expected ',' or '%c'", close);
		}
	}
	p->depth--;
	return 0;
}

static int parse_value(parser *p, vg_py *v)
{
	memset(v, 0, sizeof *v);
	if (++p->values > VG_PY_MAX_VALUES)
		return fail(p, "more than %d values", VG_PY_MAX_VALUES);
	int c = peek(p);
	if (c < 0)
		return fail(p, "expected a value, found the end");
	if (c == '{')
		return parse_container(p, v, '}', VG_PY_DICT);
	if (c == '[')
		return parse_container(p, v, ']', VG_PY_LIST);
	if (c == '(')
		return parse_container(p, v, ')', VG_PY_TUPLE);
	if (c == '\'' || c == '"')
		return parse_string(p, v);
	if (c == '-' || c == '+' || c == '.' || (c >= '0' && c <= '9'))
		return parse_number(p, v);
	if (word(p, "True") || word(p, "true")) {
		v->type = VG_PY_BOOL;
		v->i = 1;
		return 0;
	}
	if (word(p, "False") || word(p, "false")) {
		v->type = VG_PY_BOOL;
		return 0;
	}
	if (word(p, "None") || word(p, "null")) {
		v->type = VG_PY_NONE;
		return 0;
	}
	if (c >= 0x20 && c < 0x7f)
		return fail(p, "unexpected '%c'", c);
	return fail(p, "unexpected byte 0x%02x", c);
}

int vg_py_parse(const char *text, size_t len, vg_py **out, char *err, size_t errlen)
{
	*out = NULL;
	if (len > VG_PY_MAX_TEXT) {
		snprintf(err, errlen, "%zu bytes, more than the %d a literal may have", len, VG_PY_MAX_TEXT);
		return -1;
	}
	parser p = { .s = text, .len = len, .err = err, .errlen = errlen };
	vg_py *v = calloc(1, sizeof *v);
	if (!v) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if (parse_value(&p, v) < 0 || (peek(&p) >= 0 && fail(&p, "unexpected text after the value") < 0)) {
		vg_py_free(v);
		return -1;
	}
	*out = v;
	return 0;
}

const vg_py *vg_py_get(const vg_py *d, const char *key)
{
	if (!d || d->type != VG_PY_DICT)
		return NULL;
	for (int i = 0; i < d->n; i++) {
		const vg_py *k = &d->items[2 * i];
		if (k->type == VG_PY_STR && !strcmp(k->s, key))
			return &d->items[2 * i + 1];
	}
	return NULL;
}

int vg_py_number(const vg_py *v, double *out)
{
	if (!v || (v->type != VG_PY_INT && v->type != VG_PY_FLOAT))
		return 0;
	*out = v->f;
	return 1;
}
