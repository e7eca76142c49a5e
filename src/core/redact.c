#include "core/redact.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MAX_USER_PARAMS 32

static const char *const secret_words[] = {
	"token", "password", "pass", "pwd", "key", "secret", "auth", "signature",
};

static char *user_params[MAX_USER_PARAMS];
static size_t n_user_params;

int vg_redact_add_param(const char *name)
{
	if (!name || !name[0])
		return -EINVAL;
	if (n_user_params == MAX_USER_PARAMS)
		return -ENOSPC;
	char *copy = strdup(name);
	if (!copy)
		return -ENOMEM;
	user_params[n_user_params++] = copy;
	return 0;
}

void vg_redact_clear_params(void)
{
	for (size_t i = 0; i < n_user_params; i++)
		free(user_params[i]);
	n_user_params = 0;
}

/* Output into a fixed buffer that remembers whether anything was cut off. */
typedef struct {
	char *p;
	size_t cap, len;
	int truncated;
} writer;

static void put(writer *w, const char *s, size_t n)
{
	if (w->cap == 0) {
		w->truncated |= n > 0;
		return;
	}
	size_t room = w->cap - 1 - w->len;
	if (n > room) {
		n = room;
		w->truncated = 1;
	}
	memcpy(w->p + w->len, s, n);
	w->len += n;
	w->p[w->len] = '\0';
}

static int hex(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/*
 * Percent-decodes a parameter name and lowers its case, so that
 * "Pass%77ord" and "PASSWORD" are recognised like "password". '+' is a space
 * in query strings.
 */
static void decode_name(const char *s, size_t n, char *out)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		int c = (unsigned char)s[i];
		if (c == '%' && i + 2 < n && hex(s[i + 1]) >= 0 && hex(s[i + 2]) >= 0) {
			c = hex(s[i + 1]) * 16 + hex(s[i + 2]);
			i += 2;
		} else if (c == '+') {
			c = ' ';
		}
		out[o++] = (char)tolower(c);
	}
	out[o] = '\0';
}

static int is_secret_name(const char *s, size_t n, const char *const *extra, size_t n_extra)
{
	char *name = malloc(n + 1);
	/* Without memory to decide, hiding the value is the safe answer. */
	if (!name)
		return 1;
	decode_name(s, n, name);
	int secret = strcmp(name, "sig") == 0;
	for (size_t i = 0; !secret && i < sizeof secret_words / sizeof secret_words[0]; i++)
		secret = strstr(name, secret_words[i]) != NULL;
	for (size_t i = 0; !secret && extra && i < n_extra; i++)
		secret = extra[i] && strcasecmp(name, extra[i]) == 0;
	free(name);
	return secret;
}

/* Copies name=value pairs separated by '&' or ';', hiding the values of secret names. */
static void put_params(writer *w, const char *s, size_t n, const char *const *extra, size_t n_extra)
{
	size_t i = 0;
	while (i < n) {
		size_t end = i;
		while (end < n && s[end] != '&' && s[end] != ';')
			end++;
		const char *eq = memchr(s + i, '=', end - i);
		if (eq && is_secret_name(s + i, (size_t)(eq - (s + i)), extra, n_extra)) {
			put(w, s + i, (size_t)(eq - (s + i)) + 1);
			put(w, "***", 3);
		} else {
			put(w, s + i, end - i);
		}
		if (end < n)
			put(w, s + end, 1);
		i = end + 1;
	}
}

static int is_scheme_char(int c)
{
	return isalnum(c) || c == '+' || c == '-' || c == '.';
}

/* Length of the scheme before "://" at s, or 0 when s does not start with "scheme://". */
static size_t scheme_len(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n && is_scheme_char((unsigned char)s[i]))
		i++;
	if (i == 0 || !isalpha((unsigned char)s[0]) || n - i < 3 || memcmp(s + i, "://", 3) != 0)
		return 0;
	return i;
}

static void put_uri(writer *w, const char *s, size_t n, const char *const *extra, size_t n_extra)
{
	size_t i = 0;
	size_t sl = scheme_len(s, n);
	if (sl) {
		i = sl + 3;
		put(w, s, i);
		size_t auth_end = i;
		while (auth_end < n && s[auth_end] != '/' && s[auth_end] != '?' && s[auth_end] != '#')
			auth_end++;
		/* The last '@' ends the userinfo: a password may itself contain an unescaped '@'. */
		size_t at = auth_end;
		while (at > i && s[at - 1] != '@')
			at--;
		if (at > i) {
			put(w, "***", 3);
			i = at - 1;
		}
	}
	size_t q = i;
	while (q < n && s[q] != '?' && s[q] != '#')
		q++;
	put(w, s + i, q - i);
	if (q == n)
		return;
	size_t frag = q;
	while (frag < n && s[frag] != '#')
		frag++;
	if (s[q] == '?') {
		put(w, "?", 1);
		put_params(w, s + q + 1, frag - q - 1, extra, n_extra);
	}
	if (frag < n) {
		/* Fragments carry secrets too (OAuth's #access_token=...). */
		put(w, "#", 1);
		put_params(w, s + frag + 1, n - frag - 1, extra, n_extra);
	}
}

int vg_redact_uri_with(const char *uri, const char *const *extra, size_t n, char *dst, size_t cap)
{
	writer w = { dst, cap, 0, 0 };
	if (cap > 0)
		dst[0] = '\0';
	if (!uri)
		uri = "";
	put_uri(&w, uri, strlen(uri), extra, n);
	return w.truncated ? -ENOSPC : 0;
}

int vg_redact_uri(const char *uri, char *dst, size_t cap)
{
	return vg_redact_uri_with(uri, (const char *const *)user_params, n_user_params, dst, cap);
}

char *vg_redact_uri_dup(const char *uri)
{
	/* Each redaction inserts at most three bytes for one removed, so this always fits. */
	size_t cap = 3 * (uri ? strlen(uri) : 0) + 8;
	char *dst = malloc(cap);
	if (dst)
		vg_redact_uri(uri, dst, cap);
	return dst;
}

static int ends_url(int c)
{
	return c == '\0' || isspace(c) || c == '\'' || c == '"' || c == '<' || c == '>' || c == '`';
}

int vg_redact_text(const char *text, char *dst, size_t cap)
{
	writer w = { dst, cap, 0, 0 };
	if (cap > 0)
		dst[0] = '\0';
	if (!text)
		return 0;
	const char *copied = text;
	const char *p = text;
	const char *sep;
	while ((sep = strstr(p, "://")) != NULL) {
		const char *start = sep;
		while (start > copied && is_scheme_char((unsigned char)start[-1]))
			start--;
		const char *end = sep + 3;
		while (!ends_url((unsigned char)*end))
			end++;
		if (start == sep) {
			p = sep + 3;
			continue;
		}
		put(&w, copied, (size_t)(start - copied));
		put_uri(&w, start, (size_t)(end - start), (const char *const *)user_params, n_user_params);
		copied = p = end;
	}
	put(&w, copied, strlen(copied));
	return w.truncated ? -ENOSPC : 0;
}

static int valid_name(const char *s, size_t n)
{
	if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
			return 0;
	return 1;
}

int vg_expand_env(const char *in, char **out, char *err, size_t errlen)
{
	*out = NULL;
	size_t cap = strlen(in) + 1, len = 0;
	char *buf = malloc(cap);
	if (!buf) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (const char *p = in; *p;) {
		const char *piece = p;
		size_t n = 1;
		if (p[0] == '$' && p[1] == '{') {
			const char *close = strchr(p + 2, '}');
			if (!close) {
				snprintf(err, errlen, "'${' without a closing '}' in the source URI");
				free(buf);
				return -EINVAL;
			}
			size_t name_len = (size_t)(close - (p + 2));
			if (!valid_name(p + 2, name_len)) {
				snprintf(err, errlen,
					 "'${%.*s}' in the source URI is not a variable name (letters, digits and '_')",
					 (int)(name_len > 64 ? 64 : name_len), p + 2);
				free(buf);
				return -EINVAL;
			}
			char name[256];
			if (name_len >= sizeof name) {
				snprintf(err, errlen, "a variable name in the source URI is longer than %zu characters",
					 sizeof name - 1);
				free(buf);
				return -EINVAL;
			}
			memcpy(name, p + 2, name_len);
			name[name_len] = '\0';
			piece = getenv(name);
			if (!piece) {
				snprintf(err, errlen, "the source URI uses ${%s}, but the environment variable %s is not set",
					 name, name);
				free(buf);
				return -EINVAL;
			}
			n = strlen(piece);
			p = close + 1;
		} else {
			p++;
		}
		if (len + n + 1 > cap) {
			while (len + n + 1 > cap)
				cap *= 2;
			char *grown = realloc(buf, cap);
			if (!grown) {
				snprintf(err, errlen, "out of memory");
				free(buf);
				return -ENOMEM;
			}
			buf = grown;
		}
		memcpy(buf + len, piece, n);
		len += n;
	}
	buf[len] = '\0';
	*out = buf;
	return 0;
}
