/* Writes the SavedModel fuzz target's seeds: gen_savedmodel_corpus DIR (e.g. fuzz/corpus/savedmodel). */
#include <stdio.h>

#include "sm_builder.h"

static int put(const char *dir, const char *name, pbb *b)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	int ok = f && fwrite(b->p, 1, b->len, f) == b->len;
	if (f)
		fclose(f);
	pbb_free(b);
	return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: gen_savedmodel_corpus DIR\n");
		return 2;
	}
	pbb a = keras_like(FLAW_NONE), b = bare_function(), c = keras_like(FLAW_TWO_ARGS), d = keras_like(FLAW_RECURSIVE);
	return put(argv[1], "keras_like", &a) | put(argv[1], "bare_function", &b) | put(argv[1], "two_args", &c) |
	       put(argv[1], "recursive", &d);
}
