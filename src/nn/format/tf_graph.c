#include "nn/format/tf_graph.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct nn_tf_arena_block {
	nn_tf_arena_block *next;
	size_t used, cap;
	_Alignas(max_align_t) unsigned char data[];
};

#define ARENA_BLOCK ((size_t)64 << 10)

void *nn_tf_alloc(nn_tf_graph *g, size_t bytes)
{
	size_t align = _Alignof(max_align_t);
	size_t need = (bytes + align - 1) / align * align;
	if (need < bytes)
		return NULL;
	nn_tf_arena_block *b = g->arena;
	if (!b || b->cap - b->used < need) {
		/* Large requests get a block of their own, behind the current one, so its free space stays usable. */
		size_t cap = need > ARENA_BLOCK / 4 ? need : ARENA_BLOCK;
		if (cap > SIZE_MAX - sizeof *b)
			return NULL;
		nn_tf_arena_block *nb = malloc(sizeof *nb + cap);
		if (!nb)
			return NULL;
		nb->used = 0;
		nb->cap = cap;
		if (b && cap != ARENA_BLOCK) {
			nb->next = b->next;
			b->next = nb;
		} else {
			nb->next = b;
			g->arena = nb;
		}
		b = nb;
	}
	void *p = b->data + b->used;
	b->used += need;
	memset(p, 0, bytes);
	return p;
}

char *nn_tf_strdup(nn_tf_graph *g, const char *s, size_t len)
{
	if (len == SIZE_MAX)
		return NULL;
	char *p = nn_tf_alloc(g, len + 1);
	if (p && len)
		memcpy(p, s, len);
	return p;
}

void nn_tf_graph_free(nn_tf_graph *g)
{
	nn_tf_arena_block *b = g->arena;
	while (b) {
		nn_tf_arena_block *next = b->next;
		free(b);
		b = next;
	}
	memset(g, 0, sizeof *g);
}

size_t nn_tf_dtype_size(nn_tf_dtype dt)
{
	switch (dt) {
	case NN_TF_BOOL:
	case NN_TF_UINT8:
	case NN_TF_INT8:
	case NN_TF_QINT8:
	case NN_TF_QUINT8:
		return 1;
	case NN_TF_INT16:
	case NN_TF_UINT16:
	case NN_TF_QINT16:
	case NN_TF_QUINT16:
	case NN_TF_HALF:
	case NN_TF_BFLOAT16:
		return 2;
	case NN_TF_FLOAT:
	case NN_TF_INT32:
	case NN_TF_UINT32:
	case NN_TF_QINT32:
		return 4;
	case NN_TF_DOUBLE:
	case NN_TF_INT64:
	case NN_TF_UINT64:
		return 8;
	default:
		return 0;
	}
}

const char *nn_tf_dtype_name(nn_tf_dtype dt)
{
	switch (dt) {
	case NN_TF_FLOAT: return "float";
	case NN_TF_DOUBLE: return "double";
	case NN_TF_INT32: return "int32";
	case NN_TF_UINT8: return "uint8";
	case NN_TF_INT16: return "int16";
	case NN_TF_INT8: return "int8";
	case NN_TF_STRING: return "string";
	case NN_TF_INT64: return "int64";
	case NN_TF_BOOL: return "bool";
	case NN_TF_QINT8: return "qint8";
	case NN_TF_QUINT8: return "quint8";
	case NN_TF_QINT32: return "qint32";
	case NN_TF_BFLOAT16: return "bfloat16";
	case NN_TF_QINT16: return "qint16";
	case NN_TF_QUINT16: return "quint16";
	case NN_TF_UINT16: return "uint16";
	case NN_TF_HALF: return "half";
	case NN_TF_RESOURCE: return "resource";
	case NN_TF_VARIANT: return "variant";
	case NN_TF_UINT32: return "uint32";
	case NN_TF_UINT64: return "uint64";
	default: return "an unknown dtype";
	}
}

const nn_tf_attr *nn_tf_node_attr(const nn_tf_node *n, const char *name)
{
	for (int i = 0; i < n->n_attrs; i++)
		if (n->attrs[i].name && !strcmp(n->attrs[i].name, name))
			return &n->attrs[i];
	return NULL;
}
