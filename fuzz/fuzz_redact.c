/*
 * libFuzzer target for the redaction of source URIs and log lines, and the
 * ${NAME} expansion. Inputs come from the command line and from FFmpeg's log
 * messages, so any bytes must be safe. Checks: the output is NUL-terminated
 * within its buffer, redacting twice changes nothing, a cut form is a prefix
 * of the whole one, and no value of a secret-named parameter survives.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/redact.h"

/* A fixed secret placed after a secret-looking name: it must never come out. */
static const char marker[] = "S3CR3Tz";

static size_t count(const char *s, const char *needle)
{
	size_t n = 0;
	for (const char *p = strstr(s, needle); p; p = strstr(p + 1, needle))
		n++;
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in = malloc(size + 1);
	if (!in)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	/* The URI as a C string ends at the first NUL, as it does when it comes from argv. */
	size_t len = strlen(in);
	size_t cap = len * 2 + 64;
	char *out = malloc(cap), *again = malloc(cap), *small = malloc(cap);
	if (!out || !again || !small)
		goto done;

	if (vg_redact_uri(in, out, cap) != 0 || strlen(out) >= cap)
		abort();
	if (vg_redact_uri(out, again, cap) != 0 || strcmp(out, again) != 0)
		abort();
	size_t small_cap = 1 + (size ? data[0] % 48 : 0);
	int rc = vg_redact_uri(in, small, small_cap);
	if (strlen(small) >= small_cap || (rc == 0 && strcmp(small, out) != 0) ||
	    (rc == -ENOSPC && strncmp(small, out, strlen(small)) != 0))
		abort();
	if (vg_redact_text(in, out, cap) != 0 || strlen(out) >= cap)
		abort();

	/* The input as the start of a URL whose last parameter carries the marker under a secret name. */
	char *uri = malloc(len + 64);
	if (uri) {
		memcpy(uri, "rtsp://h/p?", 11);
		memcpy(uri + 11, in, len);
		/* Only a plain query string keeps "&password=" a parameter of its own. */
		int plain = strpbrk(in, "#&=") == NULL;
		strcpy(uri + 11 + len, "&password=");
		strcat(uri, marker);
		/* The input may hold the marker itself, elsewhere; the appended one must be gone. */
		if (vg_redact_uri(uri, out, cap) == 0 && plain && count(out, marker) > count(in, marker))
			abort();
		free(uri);
	}

	char *expanded = NULL, err[256];
	if (vg_expand_env(in, &expanded, err, sizeof err) == 0) {
		if (!expanded)
			abort();
		free(expanded);
	} else if (expanded) {
		abort();
	}
done:
	free(out);
	free(again);
	free(small);
	free(in);
	return 0;
}
