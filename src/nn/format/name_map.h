#ifndef NN_NAME_MAP_H
#define NN_NAME_MAP_H

/*
 * Lookup of things by name for the format readers (a graph's nodes, a
 * weights manifest's entries): open addressing over indices into the
 * caller's array of names, which the map does not copy. Keys are looked up
 * by (pointer, length), so "node:1" can be found as "node" without a copy.
 */

#include <stddef.h>

typedef struct nn_name_map {
	int *slot;      /* index + 1, or 0 for an empty slot */
	size_t cap;     /* a power of two, at least twice the entries */
} nn_name_map;

/* Room for n names. 0, or -1 when out of memory. */
int nn_name_map_init(nn_name_map *m, int n);
void nn_name_map_free(nn_name_map *m);

/* The index of the name equal to key[0..len), or -1. */
int nn_name_map_find(const nn_name_map *m, const char *const *names, const char *key, size_t len);

/* Adds index idx under names[idx]: -1, or the index already there under that name (then nothing is added). */
int nn_name_map_add(nn_name_map *m, const char *const *names, int idx);

#endif
