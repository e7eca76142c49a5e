/*
 * The TensorFlow.js graph-model loader.
 *
 * A graph model is a TensorFlow GraphDef in JSON (modelTopology.node[]) and
 * a weights manifest: groups of binary shards, each group's weights laid
 * end to end over its shards in manifest order. This file reads both,
 * checks everything it takes from them, and turns them into the
 * format-independent nn_tf_graph: the nodes, their inputs, their attributes
 * from TF.js's JSON spelling of AttrValue, and each Const's value from the
 * weights (dequantized as TF.js does). tf_ops.c maps that graph onto the IR,
 * as it does for every TensorFlow format.
 *
 * TensorFlow.js keeps int64 tensors as int32 (its weights and kernels have
 * no int64), and the op mapping does the same.
 */
#include "nn/format/tfjs.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "nn/format/name_map.h"
#include "nn/format/tf_graph.h"
#include "nn/ref/quant.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the TF.js loader assumes a little-endian host, like the weight shards"
#endif

/*
 * Limits far above any real model, so that a hostile file cannot make the
 * loader allocate absurd amounts: model.json and all weight shards together.
 */
#define MAX_JSON_BYTES ((size_t)256 << 20)
#define MAX_SHARD_BYTES ((size_t)2 << 30)

#if defined(__GNUC__)
#define PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define PRINTF(a, b)
#endif

typedef enum { W_F32, W_I32, W_BOOL, W_STRING } tj_wtype;
typedef enum { Q_NONE, Q_U8, Q_U16, Q_F16 } tj_qtype;

typedef struct tj_weight {
	const char *name;
	int group;
	size_t offset, bytes;
	tj_wtype type;
	tj_qtype q;
	float scale, min;
	int rank;           /* -1 when more than NN_MAX_RANK */
	int shape[NN_MAX_RANK];
	int64_t elements;
} tj_weight;

typedef struct tj {
	const char *src;    /* model.json's name, for messages */
	char *err;
	size_t errlen;
	int failed;         /* the first message is kept: it is the cause, later ones its consequences */

	const char *dir;                /* file mode: the directory of model.json */
	const nn_tfjs_shard *shards;    /* memory mode */
	int n_shards;

	cJSON *root;
	const cJSON *signature;
	const cJSON *node_list;

	tj_weight *weights;
	int n_weights;
	const char **weight_names;
	nn_name_map weight_map;
	uint8_t **groups;
	size_t *group_len;
	int n_groups;
	size_t shard_budget;

	nn_tf_graph tg;     /* what nn_tf_build maps: it points into root and groups */
} tj;

/* ---- messages ---- */

PRINTF(3, 4) static int fail(tj *c, int code, const char *fmt, ...)
{
	if (c->failed)
		return code;
	c->failed = 1;
	if (c->err && c->errlen) {
		int k = snprintf(c->err, c->errlen, "%s: ", c->src);
		if (k >= 0 && (size_t)k < c->errlen) {
			va_list ap;
			va_start(ap, fmt);
			vsnprintf(c->err + k, c->errlen - (size_t)k, fmt, ap);
			va_end(ap);
		}
	}
	return code;
}

static int nomem(tj *c)
{
	return fail(c, NN_ERR_NOMEM, "out of memory");
}

/* ---- JSON and TensorFlow AttrValue helpers ---- */

static const cJSON *obj_get(const cJSON *o, const char *key)
{
	return cJSON_IsObject(o) ? cJSON_GetObjectItemCaseSensitive(o, key) : NULL;
}

static const char *obj_string(const cJSON *o, const char *key)
{
	const cJSON *v = obj_get(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* An int64 as protobuf's JSON mapping writes it (a string, "3") or as a plain number. */
static int json_int(const cJSON *v, int64_t *out)
{
	if (cJSON_IsString(v) && v->valuestring) {
		const char *s = v->valuestring;
		char *end;
		errno = 0;
		long long x = strtoll(s, &end, 10);
		if (end == s || *end || errno)
			return -1;
		*out = x;
		return 0;
	}
	if (cJSON_IsNumber(v)) {
		double d = v->valuedouble;
		if (!(d >= -9.0e18 && d <= 9.0e18) || d != floor(d))
			return -1;
		*out = (int64_t)d;
		return 0;
	}
	return -1;
}

/* A float as a number, or as the strings protobuf's JSON mapping uses for the special values. */
static int json_float(const cJSON *v, double *out)
{
	if (cJSON_IsNumber(v)) {
		*out = v->valuedouble;
		return 0;
	}
	if (cJSON_IsString(v) && v->valuestring) {
		if (!strcmp(v->valuestring, "NaN"))
			*out = NAN;
		else if (!strcmp(v->valuestring, "Infinity"))
			*out = INFINITY;
		else if (!strcmp(v->valuestring, "-Infinity"))
			*out = -INFINITY;
		else
			return -1;
		return 0;
	}
	return -1;
}

static int b64_value(int ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+' || ch == '-')
		return 62;
	if (ch == '/' || ch == '_')
		return 63;
	return -1;
}

/* Decodes base64 (either alphabet, padding optional) into out, NUL-terminated: its length, or -1 when malformed or too long. */
static int b64_decode(const char *s, char *out, size_t cap)
{
	size_t n = 0;
	uint32_t acc = 0;
	int bits = 0;
	for (; *s && *s != '='; s++) {
		int v = b64_value((unsigned char)*s);
		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (n + 1 >= cap)
				return -1;
			out[n++] = (char)((acc >> bits) & 0xff);
		}
	}
	for (; *s == '='; s++)
		;
	if (*s || n > INT32_MAX)
		return -1;
	out[n] = 0;
	return (int)n;
}
/* ---- weights ---- */


/* Weight w as a constant tensor: its bytes when stored as they are, else dequantized into the graph's arena. */
static int decode_weight(tj *c, const tj_weight *w, nn_tf_tensor *x)
{
	memset(x, 0, sizeof *x);
	if (w->rank < 0) {
		/* Left for the op mapping to refuse, should a node need it. */
		x->dtype = NN_TF_FLOAT;
		x->rank = NN_MAX_RANK + 1;
		return 0;
	}
	x->rank = w->rank;
	for (int d = 0; d < w->rank; d++)
		x->dims[d] = w->shape[d];
	x->elements = w->elements;
	x->dtype = w->type == W_F32 ? NN_TF_FLOAT : w->type == W_I32 ? NN_TF_INT32 : w->type == W_BOOL ? NN_TF_BOOL
												  : NN_TF_STRING;
	const uint8_t *p = c->groups[w->group] + w->offset;
	if (w->type == W_STRING)
		return 0;
	if (w->q == Q_NONE) {
		x->data = p;
		return 0;
	}
	int64_t n = w->elements;
	if ((uint64_t)n > SIZE_MAX / 4)
		return nomem(c);
	void *data = nn_tf_alloc(&c->tg, (size_t)n * 4 + 1);
	if (!data)
		return nomem(c);
	x->data = data;
	for (int64_t i = 0; i < n; i++) {
		double v;
		switch (w->q) {
		case Q_U8:
			v = (double)p[i] * w->scale + w->min;
			break;
		case Q_U16: {
			uint16_t q;
			memcpy(&q, p + 2 * i, 2);
			v = (double)q * w->scale + w->min;
			break;
		}
		default: {
			uint16_t h;
			memcpy(&h, p + 2 * i, 2);
			((float *)data)[i] = nn_ref_f16_to_f32(h);
			continue;
		}
		}
		if (w->type == W_F32) {
			((float *)data)[i] = (float)v;
		} else {
			/* TF.js rounds integer weights after dequantizing them, with JavaScript's Math.round. */
			double r = floor(v + 0.5);
			((int32_t *)data)[i] = r < INT32_MIN ? INT32_MIN : r > INT32_MAX ? INT32_MAX : (int32_t)r;
		}
	}
	return 0;
}

/* "'a.bin'" or "'a.bin' and 2 more", for messages about a group's shards. */
static const char *shards_desc(const cJSON *paths, char *buf, size_t len)
{
	int n = cJSON_GetArraySize(paths);
	const cJSON *first = cJSON_GetArrayItem(paths, 0);
	const char *s = cJSON_IsString(first) ? first->valuestring : "?";
	if (n <= 1)
		snprintf(buf, len, "'%.120s'", n ? s : "");
	else
		snprintf(buf, len, "'%.120s' and %d more", s, n - 1);
	return buf;
}

/* Shard paths stay beside model.json: relative, and never climbing out through "..". */
static int safe_path(const char *p)
{
	if (!p[0] || p[0] == '/')
		return 0;
	for (const char *s = p; *s;) {
		const char *e = strchr(s, '/');
		size_t len = e ? (size_t)(e - s) : strlen(s);
		if (len == 2 && s[0] == '.' && s[1] == '.')
			return 0;
		if (!e)
			break;
		s = e + 1;
	}
	return 1;
}

/* Reads a whole file of at most cap bytes, NUL-terminated. why gets the reason on failure. */
static int read_whole(const char *path, size_t cap, uint8_t **buf, size_t *len, char *why, size_t whylen)
{
	*buf = NULL;
	*len = 0;
	FILE *f = fopen(path, "rb");
	if (!f) {
		snprintf(why, whylen, "cannot open: %s", strerror(errno));
		return NN_ERR_IO;
	}
	struct stat st;
	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
		fclose(f);
		snprintf(why, whylen, "not a regular file");
		return NN_ERR_IO;
	}
	if (st.st_size < 0 || (unsigned long long)st.st_size > cap) {
		fclose(f);
		snprintf(why, whylen, "%lld bytes, more than the %zu allowed", (long long)st.st_size, cap);
		return NN_ERR_FORMAT;
	}
	size_t n = (size_t)st.st_size;
	uint8_t *b = malloc(n + 1);
	if (!b) {
		fclose(f);
		snprintf(why, whylen, "out of memory reading %zu bytes", n);
		return NN_ERR_NOMEM;
	}
	size_t got = fread(b, 1, n, f);
	int bad = ferror(f);
	fclose(f);
	if (got != n || bad) {
		free(b);
		snprintf(why, whylen, "read %zu of %zu bytes", got, n);
		return NN_ERR_IO;
	}
	b[n] = 0;
	*buf = b;
	*len = n;
	return 0;
}

/* One shard's bytes: from the directory of model.json, or from the buffers given. *owned when to be freed. */
static int get_shard(tj *c, int group, const char *path, const uint8_t **data, size_t *len, int *owned)
{
	*owned = 0;
	if (!safe_path(path))
		return fail(c, NN_ERR_FORMAT,
			    "weightsManifest[%d] names the shard '%.200s'; expected a path relative to model.json that "
			    "stays beside it",
			    group, path);
	if (!c->dir) {
		for (int i = 0; i < c->n_shards; i++)
			if (c->shards[i].path && !strcmp(c->shards[i].path, path)) {
				if (c->shards[i].len > c->shard_budget)
					return fail(c, NN_ERR_FORMAT, "weight shards take more than %zu bytes in all",
						    MAX_SHARD_BYTES);
				*data = c->shards[i].data;
				*len = c->shards[i].len;
				return 0;
			}
		return fail(c, NN_ERR_IO, "weight shard '%.200s' (weightsManifest[%d]) is missing", path, group);
	}
	char *full = malloc(strlen(c->dir) + strlen(path) + 2);
	if (!full)
		return nomem(c);
	sprintf(full, "%s%s%s", c->dir, c->dir[0] ? "/" : "", path);
	uint8_t *buf;
	char why[160];
	int rc = read_whole(full, c->shard_budget, &buf, len, why, sizeof why);
	if (rc < 0) {
		fail(c, rc, "weight shard '%.300s' (weightsManifest[%d]): %s", full, group, why);
		free(full);
		return rc;
	}
	free(full);
	*data = buf;
	*owned = 1;
	return 0;
}

/* The bytes a weight takes in its shards, checked against what is left of them. */
static int weight_bytes(tj *c, int gi, const cJSON *paths, tj_weight *w, size_t avail)
{
	char sd[192];
	if (w->type == W_STRING) {
		/* Each string is a little-endian uint32 length and that many bytes. */
		const uint8_t *p = c->groups[gi] + w->offset;
		size_t off = 0;
		for (int64_t i = 0; i < w->elements; i++) {
			uint32_t l;
			if (avail - off < 4)
				goto short_shards;
			memcpy(&l, p + off, 4);
			off += 4;
			if (avail - off < l)
				goto short_shards;
			off += l;
		}
		w->bytes = off;
		return 0;
	}
	{
		size_t size = w->q == Q_U8 ? 1 : w->q != Q_NONE ? 2 : w->type == W_BOOL ? 1 : 4;
		if ((uint64_t)w->elements > avail / size)
			goto short_shards;
		w->bytes = (size_t)w->elements * size;
		return 0;
	}
short_shards:
	return fail(c, NN_ERR_FORMAT,
		    "weight '%.160s' (weightsManifest[%d]) runs past the end of its shards %s, which hold %zu bytes: the "
		    "manifest and the shards do not match (truncated or missing .bin data?)",
		    w->name, gi, shards_desc(paths, sd, sizeof sd), w->offset + avail);
}

static int parse_weight(tj *c, int gi, const cJSON *paths, const cJSON *spec, tj_weight *w, size_t offset,
			size_t group_len)
{
	memset(w, 0, sizeof *w);
	w->group = gi;
	w->offset = offset;
	w->name = obj_string(spec, "name");
	if (!w->name || !w->name[0])
		return fail(c, NN_ERR_FORMAT, "weightsManifest[%d] has a weight without a name", gi);
	const char *dt = obj_string(spec, "dtype");
	if (!dt)
		return fail(c, NN_ERR_FORMAT, "weight '%.160s' has no dtype", w->name);
	if (!strcmp(dt, "float32"))
		w->type = W_F32;
	else if (!strcmp(dt, "int32"))
		w->type = W_I32;
	else if (!strcmp(dt, "bool"))
		w->type = W_BOOL;
	else if (!strcmp(dt, "string"))
		w->type = W_STRING;
	else
		return fail(c, NN_ERR_UNSUPPORTED,
			    "weight '%.160s' has dtype '%.40s'; expected float32, int32, bool or string", w->name, dt);

	const cJSON *shape = obj_get(spec, "shape"), *d;
	if (!cJSON_IsArray(shape))
		return fail(c, NN_ERR_FORMAT, "weight '%.160s' has no shape array", w->name);
	int rank = 0;
	w->elements = 1;
	cJSON_ArrayForEach(d, shape)
	{
		int64_t v;
		if (json_int(d, &v) < 0 || v < 0 || v > INT32_MAX)
			return fail(c, NN_ERR_FORMAT, "weight '%.160s' has a dimension that is not an integer from 0 to %d",
				    w->name, INT32_MAX);
		if (v && w->elements > (INT64_C(1) << 56) / v)
			return fail(c, NN_ERR_FORMAT, "weight '%.160s' has a shape that overflows", w->name);
		w->elements *= v;
		if (rank < NN_MAX_RANK)
			w->shape[rank] = (int)v;
		rank++;
	}
	w->rank = rank <= NN_MAX_RANK ? rank : -1;

	const cJSON *q = obj_get(spec, "quantization");
	if (q) {
		const char *qd = obj_string(q, "dtype");
		if (!qd)
			return fail(c, NN_ERR_FORMAT, "weight '%.160s' has a quantization without a dtype", w->name);
		if (!strcmp(qd, "uint8"))
			w->q = Q_U8;
		else if (!strcmp(qd, "uint16"))
			w->q = Q_U16;
		else if (!strcmp(qd, "float16"))
			w->q = Q_F16;
		else
			return fail(c, NN_ERR_UNSUPPORTED,
				    "weight '%.160s' is quantized to '%.40s'; expected uint8, uint16 or float16", w->name, qd);
		if (w->q == Q_F16 && w->type != W_F32)
			return fail(c, NN_ERR_FORMAT, "weight '%.160s' is %s quantized to float16; only float32 can be",
				    w->name, dt);
		if (w->q != Q_F16) {
			double scale, min;
			if (w->type != W_F32 && w->type != W_I32)
				return fail(c, NN_ERR_FORMAT, "weight '%.160s' is %s quantized to %s; only float32 and int32 can be",
					    w->name, dt, qd);
			if (json_float(obj_get(q, "scale"), &scale) < 0 || json_float(obj_get(q, "min"), &min) < 0 ||
			    !isfinite(scale) || !isfinite(min) || fabs(scale) > 1e30 || fabs(min) > 1e30)
				return fail(c, NN_ERR_FORMAT, "weight '%.160s' is quantized to %s without a finite scale and min",
					    w->name, qd);
			w->scale = (float)scale;
			w->min = (float)min;
		}
	}
	return weight_bytes(c, gi, paths, w, group_len - offset);
}

static int load_weights(tj *c)
{
	const cJSON *man = obj_get(c->root, "weightsManifest");
	if (!man)
		return 0;
	if (!cJSON_IsArray(man))
		return fail(c, NN_ERR_FORMAT, "weightsManifest is not an array");
	int ng = cJSON_GetArraySize(man), nw = 0, gi = 0;
	const cJSON *grp;
	cJSON_ArrayForEach(grp, man)
	{
		const cJSON *ws = obj_get(grp, "weights");
		if (!cJSON_IsArray(ws))
			return fail(c, NN_ERR_FORMAT, "weightsManifest[%d] has no weights array", gi);
		int k = cJSON_GetArraySize(ws);
		if (k > INT32_MAX - nw)
			return fail(c, NN_ERR_FORMAT, "weightsManifest lists too many weights");
		nw += k;
		gi++;
	}
	c->groups = calloc((size_t)ng + 1, sizeof *c->groups);
	c->group_len = calloc((size_t)ng + 1, sizeof *c->group_len);
	c->weights = calloc((size_t)nw + 1, sizeof *c->weights);
	c->weight_names = calloc((size_t)nw + 1, sizeof *c->weight_names);
	if (!c->groups || !c->group_len || !c->weights || !c->weight_names || nn_name_map_init(&c->weight_map, nw) < 0)
		return nomem(c);

	gi = 0;
	cJSON_ArrayForEach(grp, man)
	{
		const cJSON *paths = obj_get(grp, "paths"), *p;
		if (!cJSON_IsArray(paths))
			return fail(c, NN_ERR_FORMAT, "weightsManifest[%d] has no paths array", gi);
		int np = cJSON_GetArraySize(paths);
		const uint8_t **data = calloc((size_t)np + 1, sizeof *data);
		size_t *lens = calloc((size_t)np + 1, sizeof *lens);
		int *owned = calloc((size_t)np + 1, sizeof *owned);
		int rc = 0, i = 0;
		size_t total = 0;
		if (!data || !lens || !owned)
			rc = nomem(c);
		cJSON_ArrayForEach(p, paths)
		{
			if (rc < 0)
				break;
			if (!cJSON_IsString(p)) {
				rc = fail(c, NN_ERR_FORMAT, "weightsManifest[%d].paths[%d] is not a string", gi, i);
				break;
			}
			rc = get_shard(c, gi, p->valuestring, &data[i], &lens[i], &owned[i]);
			if (rc < 0)
				break;
			c->shard_budget -= lens[i];
			total += lens[i];
			i++;
		}
		if (rc == 0 && i == 1 && owned[0]) {
			/* One shard read from disk: its buffer is the group's. */
			c->groups[gi] = (uint8_t *)data[0];
			owned[0] = 0;
			c->group_len[gi] = total;
		} else if (rc == 0) {
			/* The group's weights run across its shards as if they were one file. */
			c->groups[gi] = malloc(total ? total : 1);
			if (!c->groups[gi])
				rc = nomem(c);
			size_t off = 0;
			for (int k = 0; rc == 0 && k < i; k++) {
				if (lens[k])
					memcpy(c->groups[gi] + off, data[k], lens[k]);
				off += lens[k];
			}
			c->group_len[gi] = total;
		}
		for (int k = 0; k < i; k++)
			if (owned && owned[k])
				free((void *)data[k]);
		free(data);
		free(lens);
		free(owned);
		c->n_groups = gi + 1;
		if (rc < 0)
			return rc;

		size_t off = 0;
		const cJSON *spec;
		cJSON_ArrayForEach(spec, obj_get(grp, "weights"))
		{
			tj_weight *w = &c->weights[c->n_weights];
			if ((rc = parse_weight(c, gi, paths, spec, w, off, total)) < 0)
				return rc;
			c->weight_names[c->n_weights] = w->name;
			if (nn_name_map_add(&c->weight_map, c->weight_names, c->n_weights) >= 0)
				return fail(c, NN_ERR_FORMAT, "weight '%.160s' appears twice in weightsManifest", w->name);
			c->n_weights++;
			off += w->bytes;
		}
		if (off != total) {
			char sd[192];
			return fail(c, NN_ERR_FORMAT,
				    "the shards %s of weightsManifest[%d] hold %zu bytes, but its weights take %zu: the "
				    "manifest and the shards do not match",
				    shards_desc(paths, sd, sizeof sd), gi, total, off);
		}
		gi++;
	}
	return 0;
}

/* ---- the graph ---- */

/* A TensorShapeProto ({"dim": [{"size": "1"}, ...]}) into the arena; rank -1 when unknown. -1 when malformed. */
static int parse_shape(tj *c, const cJSON *s, int *rank, int64_t **dims)
{
	*rank = -1;
	*dims = NULL;
	if (!cJSON_IsObject(s) || cJSON_IsTrue(obj_get(s, "unknownRank")))
		return 0;
	const cJSON *dim = obj_get(s, "dim"), *d;
	if (dim && !cJSON_IsArray(dim))
		return -1;
	int n = cJSON_GetArraySize(dim), r = 0;
	if (!(*dims = nn_tf_alloc(&c->tg, ((size_t)n + 1) * sizeof **dims)))
		return nomem(c);
	cJSON_ArrayForEach(d, dim)
	{
		int64_t v = 0;
		const cJSON *size = obj_get(d, "size");
		if (!cJSON_IsObject(d) || (size && json_int(size, &v) < 0) || v < -1 || v > INT32_MAX)
			return -1;
		(*dims)[r++] = v;
	}
	*rank = r;
	return 0;
}

/* TensorFlow's spelling of a dtype ("DT_FLOAT"), or NN_TF_INVALID. */
static nn_tf_dtype dtype_of(const char *s)
{
	if (!s || strncmp(s, "DT_", 3) != 0)
		return NN_TF_INVALID;
	for (int t = 1; t <= NN_TF_UINT64; t++) {
		const char *name = nn_tf_dtype_name((nn_tf_dtype)t);
		if (strlen(name) == strlen(s + 3) && !strcasecmp(name, s + 3))
			return (nn_tf_dtype)t;
	}
	return NN_TF_INVALID;
}

/* A base64 string into the arena; -1 when malformed. */
static int attr_bytes(tj *c, const cJSON *v, const char **s, size_t *len)
{
	if (!cJSON_IsString(v) || !v->valuestring)
		return -1;
	size_t cap = strlen(v->valuestring) / 4 * 3 + 4;
	char *buf = nn_tf_alloc(&c->tg, cap);
	if (!buf)
		return nomem(c);
	int n = b64_decode(v->valuestring, buf, cap);
	if (n < 0)
		return -1;
	*s = buf;
	*len = (size_t)n;
	return 0;
}

/* A list attribute ({"list": {"i": [...]}}, or "f", "b", "s", "type", "shape"). */
static int parse_list(tj *c, const char *node, const char *key, const cJSON *list, nn_tf_attr *a)
{
	static const char *const kinds[] = { "i", "f", "b", "s", "type", "shape" };
	a->kind = NN_TF_ATTR_LIST;
	a->list_kind = NN_TF_ATTR_INT;
	if (!cJSON_IsObject(list))
		goto bad;
	for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
		const cJSON *items = obj_get(list, kinds[k]), *v;
		if (!items)
			continue;
		if (!cJSON_IsArray(items))
			goto bad;
		int n = cJSON_GetArraySize(items), i = 0;
		size_t m = (size_t)n + 1;
		a->n = n;
		switch (k) {
		case 0: {
			int64_t *vals = nn_tf_alloc(&c->tg, m * sizeof *vals);
			if (!vals)
				return nomem(c);
			cJSON_ArrayForEach(v, items) if (json_int(v, &vals[i++]) < 0) goto bad;
			a->ints = vals;
			break;
		}
		case 1: {
			double *vals = nn_tf_alloc(&c->tg, m * sizeof *vals);
			if (!vals)
				return nomem(c);
			cJSON_ArrayForEach(v, items) if (json_float(v, &vals[i++]) < 0) goto bad;
			a->floats = vals;
			a->list_kind = NN_TF_ATTR_FLOAT;
			break;
		}
		case 2: {
			int64_t *vals = nn_tf_alloc(&c->tg, m * sizeof *vals);
			if (!vals)
				return nomem(c);
			cJSON_ArrayForEach(v, items)
			{
				if (!cJSON_IsBool(v))
					goto bad;
				vals[i++] = cJSON_IsTrue(v);
			}
			a->ints = vals;
			a->list_kind = NN_TF_ATTR_BOOL;
			break;
		}
		case 3: {
			const char **vals = nn_tf_alloc(&c->tg, m * sizeof *vals);
			size_t *lens = nn_tf_alloc(&c->tg, m * sizeof *lens);
			if (!vals || !lens)
				return nomem(c);
			cJSON_ArrayForEach(v, items)
			{
				int rc = attr_bytes(c, v, &vals[i], &lens[i]);
				if (rc == NN_ERR_NOMEM)
					return rc;
				if (rc < 0)
					goto bad;
				i++;
			}
			a->strings = vals;
			a->string_lens = lens;
			a->list_kind = NN_TF_ATTR_STRING;
			break;
		}
		case 4: {
			nn_tf_dtype *vals = nn_tf_alloc(&c->tg, m * sizeof *vals);
			if (!vals)
				return nomem(c);
			cJSON_ArrayForEach(v, items)
			{
				if (!cJSON_IsString(v))
					goto bad;
				vals[i++] = dtype_of(v->valuestring);
			}
			a->types = vals;
			a->list_kind = NN_TF_ATTR_TYPE;
			break;
		}
		default: {
			int *ranks = nn_tf_alloc(&c->tg, m * sizeof *ranks);
			const int64_t **dims = nn_tf_alloc(&c->tg, m * sizeof *dims);
			if (!ranks || !dims)
				return nomem(c);
			cJSON_ArrayForEach(v, items)
			{
				int64_t *d;
				int rc = parse_shape(c, v, &ranks[i], &d);
				if (rc == NN_ERR_NOMEM)
					return rc;
				if (rc < 0)
					goto bad;
				dims[i++] = d;
			}
			a->ranks = ranks;
			a->shape_dims = dims;
			a->list_kind = NN_TF_ATTR_SHAPE;
			break;
		}
		}
		return 0;
	}
	return 0;
bad:
	return fail(c, NN_ERR_FORMAT, "node '%.160s': attribute '%.80s' is not a well-formed list", node, key);
}

/*
 * The attributes of a node from their JSON form ({"i": "3"}, {"s": base64},
 * ...). An empty object is a value left at its default, as protobuf's JSON
 * writes it, and is left out so that the mapping takes the op's default.
 */
static int parse_attrs(tj *c, const char *node, const char *op, const cJSON *attrs, nn_tf_node *x)
{
	if (!attrs)
		return 0;
	if (!cJSON_IsObject(attrs))
		return fail(c, NN_ERR_FORMAT, "node '%.160s': attr is not an object", node);
	int n = cJSON_GetArraySize(attrs), k = 0;
	nn_tf_attr *list = nn_tf_alloc(&c->tg, ((size_t)n + 1) * sizeof *list);
	if (!list)
		return nomem(c);
	const cJSON *e;
	cJSON_ArrayForEach(e, attrs)
	{
		nn_tf_attr *a = &list[k];
		const cJSON *v;
		int rc = 0;
		a->name = e->string;
		if (!a->name || !cJSON_IsObject(e))
			return fail(c, NN_ERR_FORMAT, "node '%.160s' (op %.60s): attribute '%.80s' is not an object", node, op,
				    a->name ? a->name : "");
		if ((v = obj_get(e, "list"))) {
			if ((rc = parse_list(c, node, a->name, v, a)) < 0)
				return rc;
		} else if ((v = obj_get(e, "i"))) {
			a->kind = NN_TF_ATTR_INT;
			if (json_int(v, &a->i) < 0)
				return fail(c, NN_ERR_FORMAT, "node '%.160s' (op %.60s): attribute '%.80s' is not an integer", node,
					    op, a->name);
		} else if ((v = obj_get(e, "f"))) {
			a->kind = NN_TF_ATTR_FLOAT;
			if (json_float(v, &a->f) < 0)
				return fail(c, NN_ERR_FORMAT, "node '%.160s' (op %.60s): attribute '%.80s' is not a number", node, op,
					    a->name);
		} else if ((v = obj_get(e, "b"))) {
			a->kind = NN_TF_ATTR_BOOL;
			if (!cJSON_IsBool(v))
				return fail(c, NN_ERR_FORMAT, "node '%.160s' (op %.60s): attribute '%.80s' is not a boolean", node, op,
					    a->name);
			a->b = cJSON_IsTrue(v);
		} else if ((v = obj_get(e, "s"))) {
			a->kind = NN_TF_ATTR_STRING;
			if ((rc = attr_bytes(c, v, &a->s, &a->s_len)) == NN_ERR_NOMEM)
				return rc;
			if (rc < 0)
				return fail(c, NN_ERR_FORMAT, "node '%.160s' (op %.60s): attribute '%.80s' is not a base64 string",
					    node, op, a->name);
		} else if ((v = obj_get(e, "type"))) {
			a->kind = NN_TF_ATTR_TYPE;
			if (!cJSON_IsString(v))
				return fail(c, NN_ERR_FORMAT, "node '%.160s' (op %.60s): attribute '%.80s' is not a type name", node,
					    op, a->name);
			a->type = dtype_of(v->valuestring);
		} else if ((v = obj_get(e, "shape"))) {
			int64_t *dims;
			a->kind = NN_TF_ATTR_SHAPE;
			if ((rc = parse_shape(c, v, &a->rank, &dims)) == NN_ERR_NOMEM)
				return rc;
			if (rc < 0)
				return fail(c, NN_ERR_FORMAT, "node '%.160s' (op %.60s): attribute '%.80s' is a malformed shape", node,
					    op, a->name);
			a->dims = dims;
		} else if ((v = obj_get(e, "func"))) {
			a->kind = NN_TF_ATTR_FUNC;
			a->s = obj_string(v, "name");
			a->s_len = a->s ? strlen(a->s) : 0;
		} else if ((v = obj_get(e, "placeholder"))) {
			a->kind = NN_TF_ATTR_PLACEHOLDER;
			a->s = cJSON_IsString(v) ? v->valuestring : NULL;
			a->s_len = a->s ? strlen(a->s) : 0;
		} else {
			/* A default value, or a tensor (a Const's, whose value comes from the weights): left out. */
			continue;
		}
		k++;
	}
	x->attrs = list;
	x->n_attrs = k;
	return 0;
}

/* modelTopology.node[] as nn_tf_nodes: names, ops and inputs point into the JSON. */
static int parse_nodes(tj *c)
{
	const cJSON *topo = obj_get(c->root, "modelTopology");
	const cJSON *list = obj_get(topo, "node"), *e;
	if (!cJSON_IsObject(topo) || !cJSON_IsArray(list))
		return fail(c, NN_ERR_FORMAT, "no modelTopology.node array: not a TensorFlow.js graph model");
	int n = cJSON_GetArraySize(list);
	if (n <= 0)
		return fail(c, NN_ERR_FORMAT, "modelTopology.node is empty");
	c->node_list = list;
	if (!(c->tg.nodes = nn_tf_alloc(&c->tg, (size_t)n * sizeof *c->tg.nodes)))
		return nomem(c);
	cJSON_ArrayForEach(e, list)
	{
		nn_tf_node *x = &c->tg.nodes[c->tg.n_nodes];
		x->name = obj_string(e, "name");
		x->op = obj_string(e, "op");
		if (!x->name || !x->name[0] || !x->op || !x->op[0])
			return fail(c, NN_ERR_FORMAT, "modelTopology.node[%d] has no name or no op", c->tg.n_nodes);
		const cJSON *in = obj_get(e, "input"), *s;
		if (in && !cJSON_IsArray(in) && !cJSON_IsNull(in))
			return fail(c, NN_ERR_FORMAT, "node '%.160s': input is not an array", x->name);
		int k = cJSON_GetArraySize(in), j = 0;
		const char **inputs = nn_tf_alloc(&c->tg, ((size_t)k + 1) * sizeof *inputs);
		if (!inputs)
			return nomem(c);
		cJSON_ArrayForEach(s, in)
		{
			if (!cJSON_IsString(s) || !s->valuestring)
				return fail(c, NN_ERR_FORMAT, "node '%.160s': input %d is not a string", x->name, j);
			inputs[j++] = s->valuestring;
		}
		x->inputs = inputs;
		x->n_inputs = j;
		int rc = parse_attrs(c, x->name, x->op, obj_get(e, "attr"), x);
		if (rc < 0)
			return rc;
		c->tg.n_nodes++;
	}
	return 0;
}

/* Each Const gets the weight named after it as its "value". */
static int bind_constants(tj *c)
{
	for (int i = 0; i < c->tg.n_nodes; i++) {
		nn_tf_node *x = &c->tg.nodes[i];
		if (strcmp(x->op, "Const") != 0)
			continue;
		int wi = nn_name_map_find(&c->weight_map, c->weight_names, x->name, strlen(x->name));
		if (wi < 0)
			return fail(c, NN_ERR_FORMAT,
				    "node '%.160s' (op Const): weightsManifest has no weight named after this constant", x->name);
		nn_tf_tensor *t = nn_tf_alloc(&c->tg, sizeof *t);
		nn_tf_attr *attrs = nn_tf_alloc(&c->tg, ((size_t)x->n_attrs + 1) * sizeof *attrs);
		if (!t || !attrs)
			return nomem(c);
		int rc = decode_weight(c, &c->weights[wi], t);
		if (rc < 0)
			return rc;
		/* Any "value" attribute of the JSON's own was left out by parse_attrs. */
		if (x->n_attrs)
			memcpy(attrs, x->attrs, (size_t)x->n_attrs * sizeof *attrs);
		attrs[x->n_attrs] = (nn_tf_attr){ .name = "value", .kind = NN_TF_ATTR_TENSOR, .tensor = t };
		x->attrs = attrs;
		x->n_attrs++;
	}
	return 0;
}

static int node_index(const tj *c, const char *name, size_t len)
{
	for (int i = 0; i < c->tg.n_nodes; i++)
		if (!strncmp(c->tg.nodes[i].name, name, len) && !c->tg.nodes[i].name[len])
			return i;
	return -1;
}

static int by_tensor(const void *a, const void *b)
{
	return strcmp(((const nn_tf_endpoint *)a)->tensor, ((const nn_tf_endpoint *)b)->tensor);
}

static int by_endpoint_name(const void *a, const void *b)
{
	return strcmp(((const nn_tf_endpoint *)a)->name, ((const nn_tf_endpoint *)b)->name);
}

/*
 * The signature's inputs (those that name output 0 of a Placeholder: their
 * shapes fill in what the Placeholder leaves unknown) and outputs, as
 * endpoints named after the nodes, as TF.js names them.
 */
static int signature_endpoints(tj *c, nn_tf_endpoint **ins, int *n_ins, nn_tf_endpoint **outs, int *n_outs)
{
	*n_ins = *n_outs = 0;
	const cJSON *ii = obj_get(c->signature, "inputs"), *oo = obj_get(c->signature, "outputs"), *e;
	int ni = cJSON_GetArraySize(ii), no = cJSON_GetArraySize(oo);
	*ins = nn_tf_alloc(&c->tg, ((size_t)ni + 1) * sizeof **ins);
	*outs = nn_tf_alloc(&c->tg, ((size_t)no + 1) * sizeof **outs);
	if (!*ins || !*outs)
		return nomem(c);
	cJSON_ArrayForEach(e, ii)
	{
		const char *s = obj_string(e, "name");
		if (!s)
			s = e->string;
		if (!s)
			continue;
		size_t len = strlen(s);
		if (len > 2 && !strcmp(s + len - 2, ":0"))
			len -= 2;
		int j = node_index(c, s, len);
		if (j < 0 || strcmp(c->tg.nodes[j].op, "Placeholder") != 0)
			continue;
		nn_tf_endpoint *p = &(*ins)[(*n_ins)++];
		p->name = c->tg.nodes[j].name;
		p->tensor = s;
		int64_t *dims;
		int rc = parse_shape(c, obj_get(e, "tensorShape"), &p->rank, &dims);
		if (rc == NN_ERR_NOMEM)
			return rc;
		if (rc < 0)
			return fail(c, NN_ERR_FORMAT, "signature input '%.160s' has a malformed tensorShape", s);
		if (p->rank > NN_MAX_RANK)
			return fail(c, NN_ERR_UNSUPPORTED, "node '%.160s' (op Placeholder): the input has more than %d dimensions",
				    p->name, NN_MAX_RANK);
		for (int d = 0; d < p->rank; d++)
			p->dims[d] = dims[d];
	}
	qsort(*ins, (size_t)*n_ins, sizeof **ins, by_endpoint_name);
	cJSON_ArrayForEach(e, oo)
	{
		const char *s = obj_string(e, "name");
		if (!s)
			s = e->string;
		if (!s)
			return fail(c, NN_ERR_FORMAT, "signature.outputs has an entry without a name");
		nn_tf_endpoint *p = &(*outs)[(*n_outs)++];
		p->tensor = s;
		p->rank = -1;
		/* TF.js names an output after its node, with ":port" for ports other than 0. */
		size_t len = strlen(s);
		if (len > 2 && !strcmp(s + len - 2, ":0"))
			len -= 2;
		if (!(p->name = nn_tf_strdup(&c->tg, s, len)))
			return nomem(c);
	}
	qsort(*outs, (size_t)*n_outs, sizeof **outs, by_tensor);
	return 0;
}

static int load(tj *c, const char *json, size_t len, nn_graph **out)
{
	*out = NULL;
	if (len > MAX_JSON_BYTES)
		return fail(c, NN_ERR_FORMAT, "%zu bytes of JSON, more than the %zu allowed", len, MAX_JSON_BYTES);
	const char *end = NULL;
	c->root = cJSON_ParseWithLengthOpts(json, len, &end, 0);
	if (!c->root) {
		size_t at = end && end >= json && end <= json + len ? (size_t)(end - json) : 0;
		int line = 1;
		for (size_t i = 0; i < at; i++)
			line += json[i] == '\n';
		return fail(c, NN_ERR_FORMAT, "malformed JSON near byte %zu (line %d)", at, line);
	}
	if (!cJSON_IsObject(c->root))
		return fail(c, NN_ERR_FORMAT, "the JSON is not an object: not a TensorFlow.js model.json");
	const char *format = obj_string(c->root, "format");
	if (format && strcmp(format, "graph-model") != 0)
		return fail(c, NN_ERR_UNSUPPORTED, "format '%.60s' is not supported; expected a TensorFlow.js graph model "
			    "(\"format\": \"graph-model\")",
			    format);
	c->signature = obj_get(c->root, "signature");
	if (c->signature && !cJSON_IsObject(c->signature))
		c->signature = NULL;
	c->shard_budget = MAX_SHARD_BYTES;

	int rc;
	nn_tf_endpoint *ins, *outs;
	nn_tf_build_options o = { .source = c->src };
	if ((rc = parse_nodes(c)) < 0 || (rc = load_weights(c)) < 0 || (rc = bind_constants(c)) < 0 ||
	    (rc = signature_endpoints(c, &ins, &o.n_inputs, &outs, &o.n_outputs)) < 0)
		return rc;
	o.inputs = ins;
	o.outputs = outs;
	c->failed = 1; /* nn_tf_build writes its own message */
	return nn_tf_build(out, &c->tg, &o, c->err, c->errlen);
}

static void cleanup(tj *c)
{
	free(c->weights);
	free(c->weight_names);
	nn_name_map_free(&c->weight_map);
	for (int i = 0; i < c->n_groups; i++)
		free(c->groups[i]);
	free(c->groups);
	free(c->group_len);
	nn_tf_graph_free(&c->tg);
	cJSON_Delete(c->root);
}
int nn_tfjs_load_buffers(nn_graph **out, const char *json, size_t json_len, const nn_tfjs_shard *shards,
			 int n_shards, const char *name, char *err, size_t errlen)
{
	if (err && errlen)
		err[0] = 0;
	tj c = { .src = name ? name : "(memory)", .err = err, .errlen = errlen, .shards = shards, .n_shards = n_shards };
	if (!out || (!json && json_len) || (n_shards > 0 && !shards)) {
		if (out)
			*out = NULL;
		return fail(&c, NN_ERR_ARG, "nn_tfjs_load_buffers: no output pointer, JSON or shards");
	}
	int rc = load(&c, json ? json : "", json_len, out);
	cleanup(&c);
	return rc;
}

int nn_tfjs_load(nn_graph **out, const char *path, char *err, size_t errlen)
{
	if (err && errlen)
		err[0] = 0;
	tj c = { .src = path ? path : "(null)", .err = err, .errlen = errlen };
	if (!out || !path) {
		if (out)
			*out = NULL;
		return fail(&c, NN_ERR_ARG, "nn_tfjs_load: no output pointer or path");
	}
	*out = NULL;
	uint8_t *json;
	size_t len;
	char why[160];
	int rc = read_whole(path, MAX_JSON_BYTES, &json, &len, why, sizeof why);
	if (rc < 0)
		return fail(&c, rc, "%s", why);
	const char *slash = strrchr(path, '/');
	/* Shards sit beside model.json; a bare file name means the current directory. */
	char *dir = slash ? strndup(path, (size_t)(slash - path) + (slash == path)) : strdup("");
	if (!dir) {
		free(json);
		return nomem(&c);
	}
	c.dir = dir;
	rc = load(&c, (const char *)json, len, out);
	cleanup(&c);
	free(dir);
	free(json);
	return rc;
}

int nn_tfjs_is_model_path(const char *path)
{
	size_t n = path ? strlen(path) : 0;
	return n > 5 && strcasecmp(path + n - 5, ".json") == 0;
}
