/*
 * Labels and descriptions that TFLite metadata packs into a model. The
 * metadata writers append a zip archive of "associated files" to the
 * .tflite (the FlatBuffer ignores trailing bytes, the zip reader finds its
 * directory from the end), and name the label file in the TFLITE_METADATA
 * flatbuffer. Label files are stored uncompressed, so no inflater is needed.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nn/format/tflite.h"
#include "nn/format/tflite_internal.h"

#define MAX_LABELS (1 << 20)
#define MAX_LABEL_FILE (16u << 20)
/* Ultralytics metadata is a few kilobytes (class names, image size, strides). */
#define MAX_META_FILE (1u << 20)
/* Metadata entries and associated files looked at: real models have a handful. */
#define MAX_SEARCH 64

/* AssociatedFileType values of label files in metadata_schema.fbs. */
enum { TENSOR_AXIS_LABELS = 2, TENSOR_VALUE_LABELS = 3 };

#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
static void debug_note(const char *fmt, ...)
{
	if (!getenv("NN_DEBUG"))
		return;
	va_list ap;
	va_start(ap, fmt);
	fputs("nn: tflite labels: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int nn__tflite_metadata(nn__fb *b, const nn__fb_table *model, const char *name, const uint8_t **data, size_t *n)
{
	nn__fb_vec meta, buffers;
	size_t want = strlen(name);
	*data = NULL;
	*n = 0;
	if (nn__fb_vector(b, model, 6, 4, &meta) < 0 || nn__fb_vector(b, model, 4, 4, &buffers) < 0)
		return -1;
	for (uint32_t i = 0; i < meta.n; i++) {
		nn__fb_table mt, bt;
		nn__fb_vec v;
		const char *s;
		size_t sn;
		uint32_t bi;
		uint64_t off, size;
		if (nn__fb_vec_table(b, &meta, i, &mt) < 0 || nn__fb_string(b, &mt, 0, &s, &sn) < 0 ||
		    nn__fb_u32(b, &mt, 1, 0, &bi) < 0)
			return -1;
		if (!s || sn != want || memcmp(s, name, want) != 0)
			continue;
		if (bi >= buffers.n || nn__fb_vec_table(b, &buffers, bi, &bt) < 0 || nn__fb_vector(b, &bt, 0, 1, &v) < 0 ||
		    nn__fb_u64(b, &bt, 1, 0, &off) < 0 || nn__fb_u64(b, &bt, 2, 0, &size) < 0)
			return -1;
		if (v.n) {
			*data = b->p + v.pos;
			*n = v.n;
		} else if (off > 1 && off <= b->len && size <= b->len - off) {
			*data = b->p + off;
			*n = (size_t)size;
		}
		return 1;
	}
	return 0;
}

/* Copies string field id of t into *out when present. Returns 0, or -1 when out of memory. */
static int copy_string(nn__fb *b, const nn__fb_table *t, int id, char **out)
{
	const char *s;
	size_t n;
	if (nn__fb_string(b, t, id, &s, &n) <= 0)
		return 0;
	*out = nn__fb_strndup(s, n);
	return *out ? 0 : -1;
}

int nn__tflite_meta_info(const uint8_t *data, size_t n, nn_tflite_info *info)
{
	nn__fb b = { .p = data, .len = n };
	nn__fb_table root;
	if (nn__fb_root(&b, &root) < 0)
		return 0;
	if (copy_string(&b, &root, 0, &info->meta_name) < 0 || copy_string(&b, &root, 1, &info->meta_description) < 0 ||
	    copy_string(&b, &root, 2, &info->meta_version) < 0 || copy_string(&b, &root, 4, &info->meta_author) < 0 ||
	    copy_string(&b, &root, 5, &info->meta_license) < 0)
		return NN_ERR_NOMEM;
	return 0;
}

/* The first label file named in a vector of AssociatedFile tables, if any. */
static int label_file_in(nn__fb *b, const nn__fb_table *t, int id, const char **name, size_t *len)
{
	nn__fb_vec files;
	if (nn__fb_vector(b, t, id, 4, &files) <= 0)
		return 0;
	/* Vectors may share their tables, so the search is bounded rather than trusting the counts. */
	for (uint32_t i = 0; i < files.n && i < MAX_SEARCH; i++) {
		nn__fb_table f;
		uint8_t type;
		if (nn__fb_vec_table(b, &files, i, &f) < 0 || nn__fb_u8(b, &f, 2, 0, &type) < 0)
			return 0;
		if ((type == TENSOR_AXIS_LABELS || type == TENSOR_VALUE_LABELS) && nn__fb_string(b, &f, 0, name, len) > 0 &&
		    *len > 0)
			return 1;
	}
	return 0;
}

/*
 * The name of the label file that the TFLITE_METADATA flatbuffer gives for
 * an output of subgraph 0 (or for the subgraph or the model as a whole).
 * Returns 1 when found.
 */
static int metadata_label_name(const uint8_t *data, size_t n, const char **name, size_t *len)
{
	nn__fb b = { .p = data, .len = n };
	nn__fb_table root, sg;
	nn__fb_vec sgs, outs;
	if (nn__fb_root(&b, &root) < 0)
		return 0;
	if (nn__fb_vector(&b, &root, 3, 4, &sgs) > 0 && sgs.n > 0 && nn__fb_vec_table(&b, &sgs, 0, &sg) == 0) {
		if (nn__fb_vector(&b, &sg, 3, 4, &outs) > 0) {
			for (uint32_t i = 0; i < outs.n && i < MAX_SEARCH; i++) {
				nn__fb_table tm;
				if (nn__fb_vec_table(&b, &outs, i, &tm) == 0 && label_file_in(&b, &tm, 6, name, len))
					return 1;
			}
		}
		if (label_file_in(&b, &sg, 4, name, len))
			return 1;
	}
	return label_file_in(&b, &root, 6, name, len);
}

static uint32_t crc32(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1)));
	}
	return ~c;
}

typedef struct zip_entry {
	const char *name;
	size_t name_len;
	const uint8_t *data;
	size_t size;
	uint16_t method, flags;
	uint32_t crc;
} zip_entry;

static int ends_with_txt(const char *s, size_t n)
{
	return n >= 4 && memcmp(s + n - 4, ".txt", 4) == 0;
}

static int contains_label(const char *s, size_t n)
{
	for (size_t i = 0; i + 5 <= n; i++) {
		static const char w[] = "label";
		size_t k = 0;
		while (k < 5 && (s[i + k] | 0x20) == w[k])
			k++;
		if (k == 5)
			return 1;
	}
	return 0;
}

/* Files Ultralytics zips onto its TFLite exports: model metadata, stored by name, never labels. */
static const char *const ultralytics_files[] = { "temp_meta.txt", "metadata.json" };

static int is_ultralytics_file(const char *s, size_t n)
{
	for (size_t k = 0; k < sizeof ultralytics_files / sizeof ultralytics_files[0]; k++)
		if (n == strlen(ultralytics_files[k]) && memcmp(s, ultralytics_files[k], n) == 0)
			return 1;
	return 0;
}

/*
 * Finds the label file in the zip archive that ends region p[0..len): the
 * entry called want (from the metadata) if given, else the first .txt with
 * "label" in its name, else the first .txt other than Ultralytics' metadata.
 * With only_want, the entry called want or none. Returns 1 with *e set, or 0.
 */
static int zip_find(const uint8_t *p, size_t len, const char *want, size_t want_len, int only_want, zip_entry *e)
{
	if (len < 22)
		return 0;
	/* The end-of-central-directory record sits in the last 22 + 65535 bytes (its comment is at most 65535). */
	size_t eocd = SIZE_MAX;
	size_t lowest = len - 22 > 65535 ? len - 22 - 65535 : 0;
	for (size_t i = len - 22 + 1; i-- > lowest;) {
		if (p[i] == 'P' && p[i + 1] == 'K' && p[i + 2] == 5 && p[i + 3] == 6 && i + 22 + le16(p + i + 20) <= len) {
			eocd = i;
			break;
		}
	}
	if (eocd == SIZE_MAX)
		return 0;
	uint32_t n_entries = le16(p + eocd + 10), cd_size = le32(p + eocd + 12), cd_off = le32(p + eocd + 16);
	if (cd_size > eocd || cd_off > eocd - cd_size) {
		debug_note("the zip directory (%u bytes at %u) does not fit before its end record at %zu", cd_size, cd_off,
			   eocd);
		return 0;
	}
	/* Offsets count from the archive's start, which lies wherever the archive was appended. */
	size_t base = eocd - cd_size - cd_off, pos = eocd - cd_size;
	zip_entry best = { 0 };
	int best_rank = 0;
	for (uint32_t i = 0; i < n_entries; i++) {
		if (eocd - pos < 46 || memcmp(p + pos, "PK\1\2", 4) != 0) {
			debug_note("zip directory entry %u at %zu is damaged", i, pos);
			return 0;
		}
		zip_entry z = { 0 };
		z.flags = le16(p + pos + 8);
		z.method = le16(p + pos + 10);
		z.crc = le32(p + pos + 16);
		uint32_t comp = le32(p + pos + 20), size = le32(p + pos + 24);
		size_t nl = le16(p + pos + 28), xl = le16(p + pos + 30), cl = le16(p + pos + 32);
		uint32_t local = le32(p + pos + 42);
		if (eocd - pos - 46 < nl + xl + cl) {
			debug_note("zip directory entry %u runs past the directory", i);
			return 0;
		}
		z.name = (const char *)p + pos + 46;
		z.name_len = nl;
		pos += 46 + nl + xl + cl;
		/* Ultralytics' metadata names temp_meta.txt as a label file, but it holds a Python dict. */
		int meta = !only_want && is_ultralytics_file(z.name, nl);
		int rank = meta ? 0
			   : want && nl == want_len && memcmp(z.name, want, nl) == 0 ? 3
			   : only_want						       ? 0
			   : ends_with_txt(z.name, nl) && contains_label(z.name, nl) ? 2
			   : ends_with_txt(z.name, nl)				       ? 1
										       : 0;
		if (rank <= best_rank)
			continue;
		if (z.method != 0 || (z.flags & 1) || comp != size) {
			if (z.flags & 1)
				debug_note("skipping %.*s: it is encrypted", (int)nl, z.name);
			else
				debug_note("skipping %.*s: it is compressed (method %u); only stored entries are read",
					   (int)nl, z.name, z.method);
			continue;
		}
		/* The data follows the local header, whose name and extra field may differ in length from the directory's. */
		size_t lh = base + local;
		if (local > eocd - base || eocd - lh < 30 || memcmp(p + lh, "PK\3\4", 4) != 0) {
			debug_note("the local header of %.*s is damaged", (int)nl, z.name);
			continue;
		}
		size_t start = lh + 30 + le16(p + lh + 26) + le16(p + lh + 28);
		if (start > eocd || size > eocd - start) {
			debug_note("the data of %.*s runs past the archive", (int)nl, z.name);
			continue;
		}
		z.data = p + start;
		z.size = size;
		if (crc32(z.data, z.size) != z.crc) {
			debug_note("%.*s fails its CRC check", (int)nl, z.name);
			continue;
		}
		best = z;
		best_rank = rank;
	}
	if (best_rank == 0)
		return 0;
	*e = best;
	return 1;
}

static int is_space(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f';
}

/* One line without its end, trimmed of surrounding blanks. */
static void trim(const char **s, size_t *n)
{
	while (*n && is_space(**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n && is_space((*s)[*n - 1]))
		(*n)--;
}

/* Whether a (trimmed, non-empty) line reads "<id> <name>"; sets the id and the name. */
static int id_line(const char *s, size_t n, long *id, const char **name, size_t *name_len)
{
	size_t k = 0;
	long v = 0;
	while (k < n && s[k] >= '0' && s[k] <= '9') {
		v = v * 10 + (s[k] - '0');
		if (v >= MAX_LABELS)
			return 0;
		k++;
	}
	if (k == 0 || k == n || !is_space(s[k]))
		return 0;
	*name = s + k;
	*name_len = n - k;
	trim(name, name_len);
	*id = v;
	return *name_len > 0;
}

static void free_labels(nn_graph *g)
{
	for (int i = 0; i < g->n_labels; i++)
		free(g->labels[i]);
	free(g->labels);
	g->labels = NULL;
	g->n_labels = 0;
}

/*
 * One label per line; trailing empty lines are dropped, inner ones kept so
 * that indices still match. Files where every line reads "<id> <name>"
 * (Coral's format) are indexed by id, with gaps left as empty strings.
 */
static int parse_labels(nn_graph *g, const char *s, size_t n)
{
	if (n >= 3 && memcmp(s, "\xef\xbb\xbf", 3) == 0) {
		s += 3;
		n -= 3;
	}
	size_t lines = 0, last_nonempty = 0;
	int all_ids = 1, any = 0;
	long max_id = -1;
	for (size_t pos = 0; pos < n;) {
		const char *nl = memchr(s + pos, '\n', n - pos);
		size_t end = nl ? (size_t)(nl - s) : n;
		const char *line = s + pos, *name;
		size_t len = end - pos, name_len;
		long id;
		trim(&line, &len);
		lines++;
		if (len) {
			any = 1;
			last_nonempty = lines;
			if (!id_line(line, len, &id, &name, &name_len))
				all_ids = 0;
			else if (id > max_id)
				max_id = id;
		}
		pos = end + 1;
	}
	if (!any)
		return 0;
	size_t count = all_ids ? (size_t)max_id + 1 : last_nonempty;
	if (count > MAX_LABELS) {
		debug_note("%zu labels, more than %d", count, MAX_LABELS);
		return 0;
	}
	char **labels = calloc(count, sizeof *labels);
	if (!labels)
		return NN_ERR_NOMEM;
	size_t idx = 0;
	for (size_t pos = 0; pos < n && idx < count;) {
		const char *nl = memchr(s + pos, '\n', n - pos);
		size_t end = nl ? (size_t)(nl - s) : n;
		const char *line = s + pos, *name = NULL;
		size_t len = end - pos, name_len = 0;
		long id = 0;
		trim(&line, &len);
		pos = end + 1;
		if (all_ids) {
			if (!len || !id_line(line, len, &id, &name, &name_len) || labels[id])
				continue;
			labels[id] = nn__fb_strndup(name, name_len);
			if (!labels[id])
				goto nomem;
		} else {
			labels[idx] = nn__fb_strndup(line, len);
			if (!labels[idx++])
				goto nomem;
		}
	}
	for (size_t i = 0; i < count; i++)
		if (!labels[i] && !(labels[i] = strdup("")))
			goto nomem;
	free_labels(g);
	g->labels = labels;
	g->n_labels = (int)count;
	return (int)count;
nomem:
	for (size_t i = 0; i < count; i++)
		free(labels[i]);
	free(labels);
	return NN_ERR_NOMEM;
}

int nn_tflite_read_labels(nn_graph *g, const void *buf, size_t len)
{
	if (!g || !buf)
		return 0;
	nn__fb b = { .p = buf, .len = len };
	nn__fb_table model;
	const uint8_t *meta = NULL;
	const char *want = NULL;
	size_t meta_len = 0, want_len = 0;
	zip_entry e;
	if (nn__fb_root(&b, &model) < 0)
		return 0;
	if (nn__tflite_metadata(&b, &model, "TFLITE_METADATA", &meta, &meta_len) > 0 && meta)
		metadata_label_name(meta, meta_len, &want, &want_len);
	int found = zip_find(buf, len, want, want_len, 0, &e);
	/* Some writers keep the archive in a metadata buffer of its own instead of after the model. */
	nn__fb_vec mv, buffers;
	if (!found && nn__fb_vector(&b, &model, 6, 4, &mv) > 0 && nn__fb_vector(&b, &model, 4, 4, &buffers) > 0) {
		for (uint32_t i = 0; i < mv.n && i < MAX_SEARCH && !found; i++) {
			nn__fb_table mt, bt;
			nn__fb_vec data;
			uint32_t bi;
			if (nn__fb_vec_table(&b, &mv, i, &mt) < 0 || nn__fb_u32(&b, &mt, 1, 0, &bi) < 0 || bi >= buffers.n ||
			    nn__fb_vec_table(&b, &buffers, bi, &bt) < 0 || nn__fb_vector(&b, &bt, 0, 1, &data) <= 0)
				continue;
			found = zip_find(b.p + data.pos, data.n, want, want_len, 0, &e);
		}
	}
	if (!found) {
		if (want)
			debug_note("the metadata names label file %.*s, but no readable zip entry holds it", (int)want_len,
				   want);
		return 0;
	}
	if (e.size > MAX_LABEL_FILE) {
		debug_note("%.*s is %zu bytes, too large for a label file", (int)e.name_len, e.name, e.size);
		return 0;
	}
	return parse_labels(g, (const char *)e.data, e.size);
}

int nn_tflite_read_zip_metadata(nn_graph *g, const void *buf, size_t len)
{
	if (!g || !buf)
		return 0;
	int stored = 0;
	for (size_t k = 0; k < sizeof ultralytics_files / sizeof ultralytics_files[0]; k++) {
		zip_entry e;
		const char *name = ultralytics_files[k];
		if (!zip_find(buf, len, name, strlen(name), 1, &e))
			continue;
		if (e.size > MAX_META_FILE) {
			debug_note("%s is %zu bytes, too large for model metadata", name, e.size);
			continue;
		}
		if (nn_graph_add_metadata(g, name, (const char *)e.data, e.size) < 0)
			return NN_ERR_NOMEM;
		stored++;
	}
	return stored;
}
