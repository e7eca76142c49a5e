/*
 * Keras files through libhdf5: the HDF5 file Keras 2 writes with
 * model.save() (root attributes model_config, keras_version, backend; the
 * weights in model_weights/<layer>/, listed in order by the group's
 * weight_names attribute), and the Keras 3 `.keras` zip (config.json and
 * model.weights.h5, whose weights are layers/<layer>/vars/0..n-1).
 *
 * libhdf5 is a large third-party parser, so this file checks what it can
 * before handing a file over (the signature, that it is in memory with a
 * known size), reads everything through the core (in-memory) driver, never
 * reads more than the shape the config implies, keeps libhdf5 from printing
 * its error stack, and turns that stack into one message. libhdf5 is not
 * thread-safe in Debian's serial build: every call here holds one lock.
 */
#include "nn/format/keras.h"
#include "nn/format/keras_internal.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <hdf5.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NAMES 100000
#define MAX_STRING ((size_t)64 << 20)

static pthread_mutex_t hdf5_lock = PTHREAD_MUTEX_INITIALIZER;

static const unsigned char hdf5_signature[8] = { 0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n' };

int nn_keras_is_hdf5(const void *buf, size_t len)
{
	/* The superblock may follow a user block of 512, 1024, 2048, ... bytes. */
	for (size_t off = 0; off + 8 <= len; off = off ? off * 2 : 512)
		if (!memcmp((const char *)buf + off, hdf5_signature, 8))
			return 1;
	return 0;
}

int nn_keras_is_zip(const void *buf, size_t len)
{
	return len >= 4 && !memcmp(buf, "PK\x03\x04", 4);
}

/* ---- libhdf5's error stack as one message ---- */

typedef struct stack_msg {
	char *buf;
	size_t len, used;
	int n;
} stack_msg;

static herr_t walk_error(unsigned n, const H5E_error2_t *e, void *data)
{
	(void)n;
	stack_msg *m = data;
	/* The innermost two entries say what went wrong; the outer ones only which call failed. */
	if (m->n++ >= 2 || m->used + 4 >= m->len || !e->desc)
		return 0;
	int k = snprintf(m->buf + m->used, m->len - m->used, "%s%s", m->n > 1 ? "; " : "", e->desc);
	if (k > 0)
		m->used += (size_t)k < m->len - m->used ? (size_t)k : m->len - m->used - 1;
	return 0;
}

/* Writes "what: libhdf5 says ..." into why and clears the stack. */
static void hdf5_why(char *why, size_t whylen, const char *what)
{
	char stack[256] = "";
	stack_msg m = { stack, sizeof stack, 0, 0 };
	H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, walk_error, &m);
	for (char *q = stack; *q; q++)
		if (*q == '\n' || *q == '\r')
			*q = ' ';
	H5Eclear2(H5E_DEFAULT);
	snprintf(why, whylen, "%s%s%s", what, stack[0] ? " (libhdf5: " : "", stack[0] ? stack : "");
	if (stack[0]) {
		size_t k = strlen(why);
		if (k + 1 < whylen)
			snprintf(why + k, whylen - k, ")");
	}
}

static void close_id(hid_t *id, herr_t (*fn)(hid_t))
{
	if (*id >= 0)
		fn(*id);
	*id = -1;
}

/* ---- string attributes ---- */

/*
 * Reads an attribute that holds strings (variable- or fixed-length, scalar
 * or one-dimensional) into a NULL-terminated array of n malloc'ed strings.
 * Returns n, or -1 with the reason in why.
 */
static int read_strings(hid_t obj, const char *name, char ***out, char *why, size_t whylen)
{
	*out = NULL;
	hid_t a = -1, type = -1, space = -1, mem = -1;
	char **v = NULL;
	int n = -1;
	htri_t exists = H5Aexists(obj, name);
	if (exists <= 0) {
		if (exists < 0)
			hdf5_why(why, whylen, "cannot look for the attribute");
		else
			snprintf(why, whylen, "no attribute '%s'", name);
		return -1;
	}
	if ((a = H5Aopen(obj, name, H5P_DEFAULT)) < 0 || (type = H5Aget_type(a)) < 0 || (space = H5Aget_space(a)) < 0) {
		hdf5_why(why, whylen, "cannot open the attribute");
		goto done;
	}
	int rank = H5Sget_simple_extent_ndims(space);
	hssize_t count = H5Sget_simple_extent_npoints(space);
	if (rank < 0 || rank > 1 || count < 0 || count > MAX_NAMES) {
		snprintf(why, whylen, "attribute '%s' is not a list of at most %d strings", name, MAX_NAMES);
		goto done;
	}
	H5T_class_t cls = H5Tget_class(type);
	if (cls != H5T_STRING) {
		snprintf(why, whylen, "attribute '%s' does not hold strings", name);
		goto done;
	}
	v = calloc((size_t)count + 1, sizeof *v);
	if (!v) {
		snprintf(why, whylen, "out of memory");
		goto done;
	}
	htri_t vlen = H5Tis_variable_str(type);
	if (vlen < 0) {
		hdf5_why(why, whylen, "cannot read the string type");
		goto done;
	}
	mem = H5Tcopy(H5T_C_S1);
	/* h5py writes str as UTF-8, older Keras files as ASCII: libhdf5 converts neither into the other. */
	if (mem >= 0) {
		H5T_cset_t cset = H5Tget_cset(type);
		if (cset == H5T_CSET_UTF8 && H5Tset_cset(mem, cset) < 0) {
			hdf5_why(why, whylen, "cannot read the string type");
			goto done;
		}
	}
	if (vlen) {
		char **raw = calloc((size_t)count + 1, sizeof *raw);
		if (!raw || mem < 0 || H5Tset_size(mem, H5T_VARIABLE) < 0 || H5Aread(a, mem, raw) < 0) {
			free(raw);
			hdf5_why(why, whylen, "cannot read the attribute");
			goto done;
		}
		int bad = 0;
		for (hssize_t i = 0; i < count; i++) {
			size_t k = raw[i] ? strnlen(raw[i], MAX_STRING + 1) : 0;
			if (k > MAX_STRING)
				bad = 1;
			else if (!(v[i] = strndup(raw[i] ? raw[i] : "", k)))
				bad = 2;
		}
		H5Dvlen_reclaim(mem, space, H5P_DEFAULT, raw);
		free(raw);
		if (bad) {
			snprintf(why, whylen, bad == 1 ? "a string in '%s' is too long" : "out of memory reading '%s'", name);
			goto done;
		}
	} else {
		size_t size = H5Tget_size(type);
		if (size == 0 || size > MAX_STRING || (size_t)count > MAX_STRING / size) {
			snprintf(why, whylen, "attribute '%s' is too large", name);
			goto done;
		}
		char *raw = malloc((size_t)count * size + 1);
		if (!raw || mem < 0 || H5Tset_size(mem, size) < 0 || H5Tset_strpad(mem, H5T_STR_NULLPAD) < 0 ||
		    H5Aread(a, mem, raw) < 0) {
			free(raw);
			hdf5_why(why, whylen, "cannot read the attribute");
			goto done;
		}
		int bad = 0;
		for (hssize_t i = 0; i < count && !bad; i++)
			if (!(v[i] = strndup(raw + (size_t)i * size, size)))
				bad = 1;
		free(raw);
		if (bad) {
			snprintf(why, whylen, "out of memory reading '%s'", name);
			goto done;
		}
	}
	n = (int)count;
	*out = v;
	v = NULL;
done:
	if (v) {
		for (hssize_t i = 0; i < count; i++)
			free(v[i]);
		free(v);
	}
	close_id(&mem, H5Tclose);
	close_id(&space, H5Sclose);
	close_id(&type, H5Tclose);
	close_id(&a, H5Aclose);
	return n;
}

static void free_strings(char **v, int n)
{
	if (!v)
		return;
	for (int i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* ---- the weights interface over an open file ---- */

/*
 * Keras 3 stores a Functional or Sequential model's layer variables under
 * layers/<class>/vars/<i>, the class in snake case and numbered in the
 * order of model.layers when it repeats ("conv2d", "conv2d_1", ...): not
 * under the layer's name.
 */
typedef struct k3_path {
	const char *name;
	char path[128];
	int index;       /* position in the config's layer list */
	char snake[96];
} k3_path;

typedef struct kh {
	hid_t root;          /* model_weights (Keras 2) or the file's root (Keras 3) */
	int keras3;
	char layer[256];     /* the layer whose list is cached */
	hid_t group;         /* its group, or -1 when the file has none */
	char **names;        /* Keras 2: its weight_names */
	int n;
	int cached;
	struct k3_path *k3;  /* Keras 3: layer name -> group, sorted by name */
	int n_k3;
} kh;

static void kh_release(kh *h)
{
	close_id(&h->group, H5Gclose);
	free_strings(h->names, h->n);
	h->names = NULL;
	h->n = 0;
	h->cached = 0;
}

static int valid_name(const char *s)
{
	return s[0] && strlen(s) < 256 && !strchr(s, '/') && strcmp(s, ".") && strcmp(s, "..");
}

static int by_name(const void *a, const void *b)
{
	return strcmp(((const k3_path *)a)->name, ((const k3_path *)b)->name);
}

static int by_snake(const void *a, const void *b)
{
	const k3_path *x = a, *y = b;
	int c = strcmp(x->snake, y->snake);
	return c ? c : (x->index > y->index) - (x->index < y->index);
}

/* Keras's to_snake_case: drop non-word characters, "_" before Xyz runs and between a lower and an upper letter. */
static void snake_case(const char *in, char *out, size_t cap)
{
	char a[96], b[192];
	size_t n = 0, m = 0;
	for (; *in && n + 1 < sizeof a; in++)
		if (isalnum((unsigned char)*in) || *in == '_')
			a[n++] = *in;
	a[n] = 0;
	for (size_t i = 0; i < n && m + 3 < sizeof b;) {
		size_t j = i + 2;
		if (i + 2 < n && isupper((unsigned char)a[i + 1]) && islower((unsigned char)a[i + 2])) {
			while (j < n && islower((unsigned char)a[j]))
				j++;
			b[m++] = a[i];
			b[m++] = '_';
			for (size_t k = i + 1; k < j && m + 1 < sizeof b; k++)
				b[m++] = a[k];
			i = j;
		} else {
			b[m++] = a[i++];
		}
	}
	b[m] = 0;
	size_t o = 0;
	for (size_t i = 0; i < m && o + 2 < cap;) {
		if (i + 1 < m && islower((unsigned char)b[i]) && isupper((unsigned char)b[i + 1])) {
			out[o++] = b[i];
			out[o++] = '_';
			out[o++] = (char)tolower((unsigned char)b[i + 1]);
			i += 2;
		} else {
			out[o++] = (char)tolower((unsigned char)b[i]);
			i++;
		}
	}
	out[o] = 0;
}

/* The Keras 3 group of every layer of the config (names point into root, which must outlive them). */
static int k3_paths(kh *h, const cJSON *root, char *why, size_t whylen)
{
	const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(root, "config");
	const cJSON *layers = cJSON_IsArray(cfg) ? cfg : cJSON_GetObjectItemCaseSensitive(cfg, "layers");
	int n = cJSON_IsArray(layers) ? cJSON_GetArraySize(layers) : 0;
	if (n < 1 || n > MAX_NAMES) {
		snprintf(why, whylen, "config.json has no list of layers");
		return NN_ERR_FORMAT;
	}
	h->k3 = calloc((size_t)n, sizeof *h->k3);
	if (!h->k3) {
		snprintf(why, whylen, "out of memory");
		return NN_ERR_NOMEM;
	}
	const cJSON *e;
	cJSON_ArrayForEach(e, layers)
	{
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "name");
		const cJSON *cls = cJSON_GetObjectItemCaseSensitive(e, "class_name");
		if (!cJSON_IsString(name))
			name = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(e, "config"), "name");
		if (!cJSON_IsString(name) || !cJSON_IsString(cls)) {
			snprintf(why, whylen, "layer %d of config.json has no name or class_name", h->n_k3);
			return NN_ERR_FORMAT;
		}
		k3_path *k = &h->k3[h->n_k3];
		k->name = name->valuestring;
		k->index = h->n_k3++;
		snake_case(cls->valuestring, k->snake, sizeof k->snake);
	}
	/* Number repeats of a class in list order, then sort by name for the lookups. */
	qsort(h->k3, (size_t)n, sizeof *h->k3, by_snake);
	for (int i = 0, run = 0; i < n; i++) {
		run = i > 0 && !strcmp(h->k3[i].snake, h->k3[i - 1].snake) ? run + 1 : 0;
		if (run)
			snprintf(h->k3[i].path, sizeof h->k3[i].path, "layers/%.90s_%d", h->k3[i].snake, run);
		else
			snprintf(h->k3[i].path, sizeof h->k3[i].path, "layers/%.90s", h->k3[i].snake);
	}
	qsort(h->k3, (size_t)n, sizeof *h->k3, by_name);
	return 0;
}

static int kh_layer(kh *h, const char *layer, char *why, size_t whylen)
{
	if (h->cached && !strcmp(h->layer, layer))
		return 0;
	kh_release(h);
	if (!valid_name(layer)) {
		snprintf(why, whylen, "a layer name that cannot be an HDF5 group name");
		return NN_ERR_FORMAT;
	}
	snprintf(h->layer, sizeof h->layer, "%s", layer);
	char path[300];
	const char *group = layer;
	if (h->keras3) {
		k3_path key = { .name = layer };
		const k3_path *k = bsearch(&key, h->k3, (size_t)h->n_k3, sizeof *h->k3, by_name);
		if (!k) {
			snprintf(why, whylen, "the layer is not in the config's layer list");
			return NN_ERR_FORMAT;
		}
		group = k->path;
	}
	snprintf(path, sizeof path, h->keras3 ? "%s/vars" : "%s", group);
	htri_t e = h->keras3 ? H5Lexists(h->root, "layers", H5P_DEFAULT) : 1;
	if (e > 0)
		e = H5Lexists(h->root, group, H5P_DEFAULT);
	if (e > 0 && h->keras3)
		e = H5Lexists(h->root, path, H5P_DEFAULT);
	if (e < 0) {
		hdf5_why(why, whylen, "cannot look up the layer's group");
		return NN_ERR_FORMAT;
	}
	h->cached = 1;
	if (!e) {
		snprintf(why, whylen, "no group %s%s", h->keras3 ? "" : "model_weights/", path);
		return 0;
	}
	h->group = H5Gopen2(h->root, path, H5P_DEFAULT);
	if (h->group < 0) {
		hdf5_why(why, whylen, "cannot open the layer's weight group");
		h->cached = 0;
		return NN_ERR_FORMAT;
	}
	if (h->keras3) {
		H5G_info_t info;
		if (H5Gget_info(h->group, &info) < 0 || info.nlinks > MAX_NAMES) {
			hdf5_why(why, whylen, "cannot list the layer's variables");
			h->cached = 0;
			return NN_ERR_FORMAT;
		}
		h->n = (int)info.nlinks;
		return 0;
	}
	char sub[256];
	int n = read_strings(h->group, "weight_names", &h->names, sub, sizeof sub);
	if (n < 0) {
		snprintf(why, whylen, "group model_weights/%.100s: %s", layer, sub);
		h->cached = 0;
		return NN_ERR_FORMAT;
	}
	h->n = n;
	return 0;
}

static int kh_count(void *ctx, const char *layer, int expected, char *why, size_t whylen)
{
	(void)expected;
	kh *h = ctx;
	int rc = kh_layer(h, layer, why, whylen);
	return rc < 0 ? rc : h->n;
}

static hid_t kh_open(kh *h, const char *layer, int i, char *name, size_t namelen, char *why, size_t whylen)
{
	int rc = kh_layer(h, layer, why, whylen);
	if (rc < 0)
		return -1;
	if (i < 0 || i >= h->n || h->group < 0) {
		snprintf(why, whylen, "the file holds %d weights for the layer", h->n);
		return -1;
	}
	char idx[16];
	const char *path = h->keras3 ? (snprintf(idx, sizeof idx, "%d", i), idx) : h->names[i];
	snprintf(name, namelen, "%s", path);
	htri_t e = path[0] ? H5Lexists(h->group, path, H5P_DEFAULT) : 0;
	if (e <= 0) {
		if (e < 0)
			hdf5_why(why, whylen, "cannot look up the dataset");
		else
			snprintf(why, whylen, "the dataset '%.120s' is missing", path);
		return -1;
	}
	hid_t d = H5Dopen2(h->group, path, H5P_DEFAULT);
	if (d < 0)
		hdf5_why(why, whylen, "cannot open the dataset");
	return d;
}

static int kh_info(void *ctx, const char *layer, int i, const char *role, int rank_hint, const int64_t *shape_hint,
		   nn_keras_weight *w, char *why, size_t whylen)
{
	(void)role, (void)rank_hint, (void)shape_hint;
	kh *h = ctx;
	hid_t d = kh_open(h, layer, i, w->name, sizeof w->name, why, whylen);
	if (d < 0)
		return NN_ERR_FORMAT;
	int rc = NN_ERR_FORMAT;
	hid_t type = H5Dget_type(d), space = H5Dget_space(d);
	if (type < 0 || space < 0) {
		hdf5_why(why, whylen, "cannot read the dataset's type or shape");
		goto done;
	}
	if (H5Tget_class(type) != H5T_FLOAT) {
		snprintf(why, whylen, "dataset '%.120s' is not floating point: only float16/32/64 weights are supported",
			 w->name);
		rc = NN_ERR_UNSUPPORTED;
		goto done;
	}
	size_t size = H5Tget_size(type);
	if (size != 2 && size != 4 && size != 8) {
		snprintf(why, whylen, "dataset '%.120s' has %zu-byte floats", w->name, size);
		rc = NN_ERR_UNSUPPORTED;
		goto done;
	}
	int rank = H5Sget_simple_extent_ndims(space);
	if (rank < 0) {
		hdf5_why(why, whylen, "cannot read the dataset's shape");
		goto done;
	}
	w->rank = rank > NN_MAX_RANK ? -1 : rank;
	if (rank <= NN_MAX_RANK) {
		hsize_t dims[NN_MAX_RANK];
		if (H5Sget_simple_extent_dims(space, dims, NULL) < 0) {
			hdf5_why(why, whylen, "cannot read the dataset's shape");
			goto done;
		}
		for (int k = 0; k < rank; k++)
			w->shape[k] = dims[k] > (hsize_t)INT64_MAX ? -1 : (int64_t)dims[k];
	}
	/* Checked here too, before the builder allocates what the shape says (see kh_read). */
	hssize_t count = H5Sget_simple_extent_npoints(space);
	hsize_t stored = H5Dget_storage_size(d);
	if (count < 0 || (uint64_t)stored < (uint64_t)count * size / 64) {
		snprintf(why, whylen, "dataset '%.120s' stores %llu bytes for %lld values of %zu bytes", w->name,
			 (unsigned long long)stored, (long long)count, size);
		goto done;
	}
	rc = 0;
done:
	close_id(&space, H5Sclose);
	close_id(&type, H5Tclose);
	H5Dclose(d);
	return rc;
}

static int kh_read(void *ctx, const char *layer, int i, float *dst, int64_t n, char *why, size_t whylen)
{
	kh *h = ctx;
	char name[160];
	hid_t d = kh_open(h, layer, i, name, sizeof name, why, whylen);
	if (d < 0)
		return NN_ERR_FORMAT;
	int rc = NN_ERR_FORMAT;
	hid_t space = H5Dget_space(d), type = H5Dget_type(d);
	hssize_t count = space >= 0 ? H5Sget_simple_extent_npoints(space) : -1;
	/*
	 * A dataset can declare any shape and hold no bytes (libhdf5 then reads
	 * its fill value): a small hostile file would make us allocate what its
	 * shapes say. Keras writes weights uncompressed; compression up to 64x
	 * is allowed, nothing beyond.
	 */
	hsize_t stored = H5Dget_storage_size(d);
	size_t esize = type >= 0 ? H5Tget_size(type) : 0;
	if (count == n && (esize == 0 || (uint64_t)stored < (uint64_t)n * esize / 64)) {
		snprintf(why, whylen, "dataset '%.120s' stores %llu bytes for %lld values of %zu bytes", name,
			 (unsigned long long)stored, (long long)n, esize);
	} else if (count != n) {
		if (count < 0)
			hdf5_why(why, whylen, "cannot read the dataset's shape");
		else
			snprintf(why, whylen, "dataset '%.120s' holds %lld values, expected %lld", name, (long long)count,
				 (long long)n);
	} else if (H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, dst) < 0) {
		/* libhdf5 converts float16 and float64 to float32 itself. */
		hdf5_why(why, whylen, "cannot read the dataset");
	} else {
		rc = 0;
	}
	close_id(&space, H5Sclose);
	close_id(&type, H5Tclose);
	H5Dclose(d);
	return rc;
}

/* ---- opening a file image ---- */

static hid_t open_image(const void *buf, size_t len, char *why, size_t whylen)
{
	hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
	hid_t f = -1;
	/* The core driver works on a copy of the image in memory; nothing is written back. */
	if (fapl < 0 || H5Pset_fapl_core(fapl, 1 << 20, 0) < 0 || H5Pset_file_image(fapl, (void *)buf, len) < 0)
		hdf5_why(why, whylen, "cannot set up libhdf5's in-memory driver");
	/*
	 * The name only labels the image, but the core driver refuses one that
	 * exists on disk, so it is one that cannot exist.
	 */
	else if ((f = H5Fopen("/proc/self/vigil-keras-image", H5F_ACC_RDONLY, fapl)) < 0)
		hdf5_why(why, whylen, "libhdf5 cannot open it as an HDF5 file");
	if (fapl >= 0)
		H5Pclose(fapl);
	return f;
}

/* One optional string attribute (the first string), or NULL. */
static char *attr_string(hid_t obj, const char *name)
{
	char why[64], **v = NULL;
	int n = read_strings(obj, name, &v, why, sizeof why);
	H5Eclear2(H5E_DEFAULT);
	if (n < 1) {
		free_strings(v, n > 0 ? n : 0);
		return NULL;
	}
	char *s = v[0];
	v[0] = NULL;
	free_strings(v, n);
	return s;
}

static int fail(char *err, size_t errlen, int code, const char *src, const char *what)
{
	if (err && errlen) {
		snprintf(err, errlen, "%s: %s", src, what);
		if (strlen(err) >= strlen(src))
			nn_keras_clean_message(err + strlen(src));
	}
	return code;
}

/* Builds from an open HDF5 file: config given (Keras 3 zip) or read from the model_config attribute. */
static int build_from(hid_t file, const char *config, size_t config_len, int keras3, const char *src, nn_graph **out,
		      char *err, size_t errlen)
{
	char why[512];
	char *owned = NULL, *version = NULL, *backend = NULL;
	kh h = { .root = -1, .group = -1, .keras3 = keras3 };
	cJSON *k3_root = NULL;
	int rc;
	if (!config) {
		char **v = NULL;
		htri_t has = H5Aexists(file, "model_config");
		int n = has > 0 ? read_strings(file, "model_config", &v, why, sizeof why) : -1;
		if (has > 0 && n < 0) {
			char msg[600];
			snprintf(msg, sizeof msg, "cannot read the 'model_config' attribute: %s", why);
			rc = fail(err, errlen, NN_ERR_FORMAT, src, msg);
			goto done;
		}
		if (n < 0) {
			char **names = NULL;
			int weights_only = read_strings(file, "layer_names", &names, why, sizeof why) >= 0;
			free_strings(names, weights_only ? 1 : 0);
			H5Eclear2(H5E_DEFAULT);
			rc = fail(err, errlen, NN_ERR_FORMAT, src,
				  weights_only ? "the file holds weights only (Keras save_weights): the model's "
						 "architecture (model_config) is not in it; save the model with model.save()"
					       : "not a Keras model file: the HDF5 root has no 'model_config' attribute");
			goto done;
		}
		if (n != 1) {
			free_strings(v, n);
			rc = fail(err, errlen, NN_ERR_FORMAT, src, "the 'model_config' attribute is not one string");
			goto done;
		}
		owned = v[0];
		free(v);
		config = owned;
		config_len = strlen(owned);
		version = attr_string(file, "keras_version");
		backend = attr_string(file, "backend");
		if (backend && !strcmp(backend, "theano")) {
			rc = fail(err, errlen, NN_ERR_UNSUPPORTED, src,
				  "the model was saved by Keras with the Theano backend, whose convolution kernels are "
				  "flipped; only TensorFlow-backend files are supported");
			goto done;
		}
	}
	if (keras3) {
		k3_root = cJSON_ParseWithLength(config, config_len);
		if (!k3_root || (rc = k3_paths(&h, k3_root, why, sizeof why)) < 0) {
			rc = fail(err, errlen, NN_ERR_FORMAT, src, k3_root ? why : "config.json is not valid JSON");
			goto done;
		}
	}
	const char *root = keras3 ? "/" : "model_weights";
	htri_t e = H5Lexists(file, root, H5P_DEFAULT);
	if (e <= 0 || (h.root = H5Gopen2(file, root, H5P_DEFAULT)) < 0) {
		if (e < 0 || e > 0)
			hdf5_why(why, sizeof why, "cannot open the group model_weights");
		else
			snprintf(why, sizeof why, "the file has no group model_weights (saved without weights?)");
		rc = fail(err, errlen, NN_ERR_FORMAT, src, why);
		goto done;
	}
	nn_keras_weights w = { .ctx = &h, .count = kh_count, .info = kh_info, .read = kh_read };
	rc = nn_keras_build(out, config, config_len, keras3 ? "3" : version, &w, src, err, errlen);
done:
	kh_release(&h);
	close_id(&h.root, H5Gclose);
	free(h.k3);
	cJSON_Delete(k3_root);
	H5Eclear2(H5E_DEFAULT);
	free(owned);
	free(version);
	free(backend);
	return rc;
}

static int load_image(nn_graph **out, const void *buf, size_t len, const char *config, size_t config_len, int keras3,
		      const char *src, char *err, size_t errlen)
{
	char why[512];
	pthread_mutex_lock(&hdf5_lock);
	/* Messages go into err; libhdf5 must not print its stack to stderr. */
	H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
	hid_t f = open_image(buf, len, why, sizeof why);
	int rc;
	if (f < 0)
		rc = fail(err, errlen, NN_ERR_FORMAT, src, why);
	else
		rc = build_from(f, config, config_len, keras3, src, out, err, errlen);
	if (f >= 0)
		H5Fclose(f);
	H5Eclear2(H5E_DEFAULT);
	pthread_mutex_unlock(&hdf5_lock);
	return rc;
}

int nn_keras_load_hdf5(nn_graph **out, const void *buf, size_t len, const char *src, char *err, size_t errlen)
{
	*out = NULL;
	if (!src)
		src = "(memory)";
	if (!buf || !nn_keras_is_hdf5(buf, len))
		return fail(err, errlen, NN_ERR_FORMAT, src, "not an HDF5 file (no HDF5 signature)");
	/* The smallest superblock with its root group is far above this. */
	if (len < 96)
		return fail(err, errlen, NN_ERR_FORMAT, src, "truncated HDF5 file (shorter than a superblock)");
	return load_image(out, buf, len, NULL, 0, 0, src, err, errlen);
}

/* ---- Keras 3 .keras: a zip of stored (uncompressed) entries ---- */

static uint32_t le16(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t le32(const unsigned char *p)
{
	return le16(p) | le16(p + 2) << 16;
}

/*
 * Finds an entry by name through the zip's central directory and checks
 * its local header and bounds. Returns 1 with the data's place, 0 when
 * absent, or -1 with the reason in why.
 */
static int zip_entry(const unsigned char *p, size_t len, const char *want, const unsigned char **data, size_t *n,
		     char *why, size_t whylen)
{
	if (len < 22) {
		snprintf(why, whylen, "the zip archive is truncated");
		return -1;
	}
	size_t end = len - 22;
	/* The end record sits in the last 22 + 65535 bytes (after an optional comment). */
	for (;; end--) {
		if (!memcmp(p + end, "PK\x05\x06", 4))
			break;
		if (end == 0 || len - end > 22 + 65535) {
			snprintf(why, whylen, "the zip archive has no end-of-directory record");
			return -1;
		}
	}
	uint32_t entries = le16(p + end + 10), cd_size = le32(p + end + 12), cd_off = le32(p + end + 16);
	if ((size_t)cd_off > end || (size_t)cd_size > end - cd_off) {
		snprintf(why, whylen, "the zip directory lies outside the file");
		return -1;
	}
	size_t pos = cd_off, stop = (size_t)cd_off + cd_size, wl = strlen(want);
	for (uint32_t i = 0; i < entries; i++) {
		if (stop - pos < 46 || memcmp(p + pos, "PK\x01\x02", 4)) {
			snprintf(why, whylen, "zip directory entry %u is damaged", i);
			return -1;
		}
		uint32_t method = le16(p + pos + 10), csize = le32(p + pos + 20), usize = le32(p + pos + 24);
		uint32_t nl = le16(p + pos + 28), xl = le16(p + pos + 30), cl = le16(p + pos + 32), lo = le32(p + pos + 42);
		if (stop - pos - 46 < (size_t)nl + xl + cl) {
			snprintf(why, whylen, "zip directory entry %u runs past the directory", i);
			return -1;
		}
		if (nl == wl && !memcmp(p + pos + 46, want, wl)) {
			if (method != 0) {
				snprintf(why, whylen, "zip entry %.100s is compressed (method %u); vigil reads stored entries only",
					 want, method);
				return -1;
			}
			if (csize != usize || (size_t)lo > len || len - lo < 30 || memcmp(p + lo, "PK\x03\x04", 4)) {
				snprintf(why, whylen, "zip entry %.100s has a damaged local header", want);
				return -1;
			}
			size_t start = (size_t)lo + 30 + le16(p + lo + 26) + le16(p + lo + 28);
			if (start > len || len - start < csize) {
				snprintf(why, whylen, "zip entry %.100s runs past the end of the file", want);
				return -1;
			}
			*data = p + start;
			*n = csize;
			return 1;
		}
		pos += 46 + (size_t)nl + xl + cl;
	}
	return 0;
}

int nn_keras_load_zip(nn_graph **out, const void *buf, size_t len, const char *src, char *err, size_t errlen)
{
	*out = NULL;
	if (!src)
		src = "(memory)";
	char why[256];
	const unsigned char *cfg, *w;
	size_t cfg_len, w_len;
	int a = zip_entry(buf, len, "config.json", &cfg, &cfg_len, why, sizeof why);
	int b = a < 0 ? -1 : zip_entry(buf, len, "model.weights.h5", &w, &w_len, why, sizeof why);
	if (a < 0 || b < 0)
		return fail(err, errlen, NN_ERR_FORMAT, src, why);
	if (!a || !b)
		return fail(err, errlen, NN_ERR_FORMAT, src,
			    "a zip archive, but not a Keras 3 .keras file (config.json and model.weights.h5 expected)");
	if (!nn_keras_is_hdf5(w, w_len))
		return fail(err, errlen, NN_ERR_FORMAT, src, "model.weights.h5 in the .keras archive is not an HDF5 file");
	return load_image(out, w, w_len, (const char *)cfg, cfg_len, 1, src, err, errlen);
}
