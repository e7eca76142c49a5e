#include "nn/format/name_map.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* FNV-1a: names in graphs share long prefixes, which it spreads well enough. */
static uint64_t hash_bytes(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ull;
	}
	return h;
}

int nn_name_map_init(nn_name_map *m, int n)
{
	size_t cap = 16;
	while (cap < (size_t)n * 2 + 1)
		cap *= 2;
	m->slot = calloc(cap, sizeof *m->slot);
	m->cap = cap;
	return m->slot ? 0 : -1;
}

void nn_name_map_free(nn_name_map *m)
{
	free(m->slot);
	m->slot = NULL;
	m->cap = 0;
}

int nn_name_map_find(const nn_name_map *m, const char *const *names, const char *key, size_t len)
{
	if (!m->slot)
		return -1;
	size_t i = (size_t)hash_bytes(key, len) & (m->cap - 1);
	for (;; i = (i + 1) & (m->cap - 1)) {
		int v = m->slot[i];
		if (!v)
			return -1;
		const char *name = names[v - 1];
		if (strncmp(name, key, len) == 0 && name[len] == '\0')
			return v - 1;
	}
}

int nn_name_map_add(nn_name_map *m, const char *const *names, int idx)
{
	const char *key = names[idx];
	size_t len = strlen(key);
	size_t i = (size_t)hash_bytes(key, len) & (m->cap - 1);
	for (;; i = (i + 1) & (m->cap - 1)) {
		int v = m->slot[i];
		if (!v) {
			m->slot[i] = idx + 1;
			return -1;
		}
		if (strcmp(names[v - 1], key) == 0)
			return v - 1;
	}
}
