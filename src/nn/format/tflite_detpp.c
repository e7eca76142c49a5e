/*
 * TFLite_Detection_PostProcess: its options are a FlexBuffers map in the
 * operator's custom options, read here with bounds checks on every offset
 * (only the scalar and map types the op uses), and mapped onto the IR's
 * DETECTION_POSTPROCESS node.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "nn/format/tflite_loader.h"

/* FlexBuffers are little-endian; the reads below copy bytes as they are. */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the FlexBuffers reader assumes a little-endian host"
#endif

enum {
	FBT_NULL = 0,
	FBT_INT = 1,
	FBT_UINT = 2,
	FBT_FLOAT = 3,
	FBT_INDIRECT_INT = 6,
	FBT_INDIRECT_UINT = 7,
	FBT_INDIRECT_FLOAT = 8,
	FBT_MAP = 9,
	FBT_BOOL = 26,
};

typedef struct flx {
	const uint8_t *p;
	size_t len;
	char why[160];
} flx;

/* A value: where it is, the width its parent stores it with, its own width and its type. */
typedef struct flx_ref {
	size_t pos;
	unsigned parent_width, width, type;
} flx_ref;

typedef struct flx_map {
	size_t pos, keys;
	unsigned width, key_width;
	uint64_t n;
} flx_map;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static int flx_err(flx *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->why, sizeof f->why, fmt, ap);
	va_end(ap);
	return -1;
}

static int flx_width_ok(uint64_t w)
{
	return w == 1 || w == 2 || w == 4 || w == 8;
}

static int flx_uint(flx *f, size_t pos, unsigned w, uint64_t *v)
{
	*v = 0;
	if (!flx_width_ok(w) || pos > f->len || f->len - pos < w)
		return flx_err(f, "a %u-byte value at offset %zu lies outside the %zu-byte options", w, pos, f->len);
	uint64_t x = 0;
	for (unsigned i = 0; i < w; i++)
		x |= (uint64_t)f->p[pos + i] << (8 * i);
	*v = x;
	return 0;
}

static int flx_int(flx *f, size_t pos, unsigned w, int64_t *v)
{
	uint64_t u;
	if (flx_uint(f, pos, w, &u) < 0)
		return -1;
	if (w < 8 && (u >> (8 * w - 1)) & 1)
		u |= ~(uint64_t)0 << (8 * w);
	memcpy(v, &u, sizeof *v);
	return 0;
}

static int flx_float(flx *f, size_t pos, unsigned w, double *v)
{
	uint64_t u;
	if (w != 4 && w != 8)
		return flx_err(f, "a float of %u bytes, expected 4 or 8", w);
	if (flx_uint(f, pos, w, &u) < 0)
		return -1;
	if (w == 4) {
		uint32_t u32 = (uint32_t)u;
		float x;
		memcpy(&x, &u32, sizeof x);
		*v = x;
	} else {
		memcpy(v, &u, sizeof *v);
	}
	return 0;
}

/* Offsets in FlexBuffers point backwards: the target is pos minus the stored value. */
static int flx_indirect(flx *f, size_t pos, unsigned w, size_t *target)
{
	uint64_t off;
	*target = 0;
	if (flx_uint(f, pos, w, &off) < 0)
		return -1;
	if (off > pos)
		return flx_err(f, "the offset %llu at offset %zu points before the start of the options",
			       (unsigned long long)off, pos);
	*target = pos - (size_t)off;
	return 0;
}

static int flx_root_map(flx *f, flx_map *m)
{
	if (f->len < 3)
		return flx_err(f, "%zu bytes, too short for a FlexBuffer", f->len);
	unsigned bw = f->p[f->len - 1];
	uint8_t packed = f->p[f->len - 2];
	if (!flx_width_ok(bw) || f->len < 2 + (size_t)bw)
		return flx_err(f, "root width %u, expected 1, 2, 4 or 8", bw);
	if (packed >> 2 != FBT_MAP)
		return flx_err(f, "the root is of type %u, expected a map (%d)", packed >> 2, FBT_MAP);
	size_t root = f->len - 2 - bw, pos = 0;
	if (flx_indirect(f, root, bw, &pos) < 0)
		return -1;
	unsigned w = 1u << (packed & 3);
	uint64_t n, kw;
	size_t keys = 0;
	if (pos < 3 * (size_t)w)
		return flx_err(f, "the map at offset %zu has no room for its header", pos);
	if (flx_uint(f, pos - w, w, &n) < 0 || flx_uint(f, pos - 2 * w, w, &kw) < 0 ||
	    flx_indirect(f, pos - 3 * w, w, &keys) < 0)
		return -1;
	if (!flx_width_ok(kw))
		return flx_err(f, "key width %llu, expected 1, 2, 4 or 8", (unsigned long long)kw);
	if (pos > f->len || n > (f->len - pos) / (w + 1))
		return flx_err(f, "a map of %llu entries at offset %zu runs past the end of the options",
			       (unsigned long long)n, pos);
	uint64_t kn;
	if (keys < kw || flx_uint(f, keys - kw, (unsigned)kw, &kn) < 0)
		return flx_err(f, "the key vector of the map at offset %zu lies outside the options", pos);
	if (kn != n || keys > f->len || n > (f->len - keys) / kw)
		return flx_err(f, "the key vector has %llu entries for a map of %llu", (unsigned long long)kn,
			       (unsigned long long)n);
	m->pos = pos;
	m->keys = keys;
	m->width = w;
	m->key_width = (unsigned)kw;
	m->n = n;
	return 0;
}

/* Looks key up (linearly: the maps are small, and the file's key order is not trusted). 1 found, 0 not, -1 bad. */
static int flx_find(flx *f, const flx_map *m, const char *key, flx_ref *out)
{
	size_t klen = strlen(key);
	memset(out, 0, sizeof *out);
	for (uint64_t i = 0; i < m->n; i++) {
		size_t kpos;
		if (flx_indirect(f, m->keys + (size_t)i * m->key_width, m->key_width, &kpos) < 0)
			return -1;
		/* Compare only klen + 1 bytes: scanning each key for its end could take len steps per key. */
		if (kpos >= f->len || f->len - kpos <= klen || memcmp(f->p + kpos, key, klen) != 0 || f->p[kpos + klen])
			continue;
		uint8_t packed = f->p[m->pos + (size_t)m->n * m->width + (size_t)i];
		out->pos = m->pos + (size_t)i * m->width;
		out->parent_width = m->width;
		out->width = 1u << (packed & 3);
		out->type = packed >> 2;
		return 1;
	}
	return 0;
}

/* A number, whatever its FlexBuffers type (TFLite's AsFloat/AsInt32 convert too). 1 read, 0 null, -1 bad. */
static int flx_number(flx *f, const flx_ref *r, double *v)
{
	int64_t i;
	uint64_t u;
	size_t target;
	switch (r->type) {
	case FBT_NULL:
		return 0;
	case FBT_INT:
		if (flx_int(f, r->pos, r->parent_width, &i) < 0)
			return -1;
		*v = (double)i;
		return 1;
	case FBT_UINT:
	case FBT_BOOL:
		if (flx_uint(f, r->pos, r->parent_width, &u) < 0)
			return -1;
		*v = (double)u;
		return 1;
	case FBT_FLOAT:
		return flx_float(f, r->pos, r->parent_width, v) < 0 ? -1 : 1;
	case FBT_INDIRECT_INT:
		if (flx_indirect(f, r->pos, r->parent_width, &target) < 0 || flx_int(f, target, r->width, &i) < 0)
			return -1;
		*v = (double)i;
		return 1;
	case FBT_INDIRECT_UINT:
		if (flx_indirect(f, r->pos, r->parent_width, &target) < 0 || flx_uint(f, target, r->width, &u) < 0)
			return -1;
		*v = (double)u;
		return 1;
	case FBT_INDIRECT_FLOAT:
		if (flx_indirect(f, r->pos, r->parent_width, &target) < 0)
			return -1;
		return flx_float(f, target, r->width, v) < 0 ? -1 : 1;
	default:
		return flx_err(f, "a value of FlexBuffers type %u, expected a number", r->type);
	}
}

static int detpp_key(tfl *c, tfl_op *o, flx *f, const flx_map *m, const char *key, int required, double lo,
		     double hi, double *v)
{
	flx_ref r;
	int found = flx_find(f, m, key, &r);
	if (found > 0)
		found = flx_number(f, &r, v);
	if (found < 0)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: %s: custom option %s: %s", o->desc, o->opname, key, f->why);
	if (found == 0) {
		if (required)
			return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: %s: custom option %s is missing", o->desc, o->opname, key);
		return 0;
	}
	if (!(*v >= lo && *v <= hi))
		return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: %s: custom option %s is %g, expected %g to %g", o->desc, o->opname, key,
			    *v, lo, hi);
	return 0;
}

int nn__tfl_map_detection_postprocess(tfl *c, tfl_op *o, nn_node *tmpl)
{
	nn__fb *b = &c->fb;
	nn__fb_vec v;
	int8_t format;
	uint64_t off, size;
	if (nn__fb_vector(b, &o->t, 5, 1, &v) < 0 || nn__fb_i8(b, &o->t, 6, 0, &format) < 0 ||
	    nn__fb_u64(b, &o->t, 9, 0, &off) < 0 || nn__fb_u64(b, &o->t, 10, 0, &size) < 0)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: %s: custom options: %s", o->desc, o->opname, b->why);
	if (format != 0)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: %s: custom options format %d, expected FLEXBUFFERS (0)", o->desc,
			    o->opname, format);
	flx f = { .p = b->p + v.pos, .len = v.n };
	if (v.n == 0 && off > 1) {
		if (off > b->len || size > b->len - off)
			return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: %s: custom options at offset %llu run past the end of the file",
				    o->desc, o->opname, (unsigned long long)off);
		f.p = b->p + off;
		f.len = (size_t)size;
	}
	flx_map m;
	if (flx_root_map(&f, &m) < 0)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: %s: custom options: %s", o->desc, o->opname, f.why);

	nn_detection_postprocess_params *p = &tmpl->p.detpp;
	double max_det, max_cls, per_class = 100, regular = 0, score, iou, ncls, ys, xs, hs, ws;
	int rc;
	if ((rc = detpp_key(c, o, &f, &m, "max_detections", 1, 1, MAX_PARAM, &max_det)) < 0 ||
	    (rc = detpp_key(c, o, &f, &m, "max_classes_per_detection", 1, 1, MAX_PARAM, &max_cls)) < 0 ||
	    (rc = detpp_key(c, o, &f, &m, "detections_per_class", 0, 1, MAX_PARAM, &per_class)) < 0 ||
	    (rc = detpp_key(c, o, &f, &m, "use_regular_nms", 0, 0, 1, &regular)) < 0 ||
	    (rc = detpp_key(c, o, &f, &m, "nms_score_threshold", 1, -1e30, 1e30, &score)) < 0 ||
	    (rc = detpp_key(c, o, &f, &m, "nms_iou_threshold", 1, 0, 1, &iou)) < 0 ||
	    (rc = detpp_key(c, o, &f, &m, "num_classes", 1, 1, MAX_PARAM, &ncls)) < 0 ||
	    (rc = detpp_key(c, o, &f, &m, "y_scale", 1, 1e-30, 1e30, &ys)) < 0 ||
	    (rc = detpp_key(c, o, &f, &m, "x_scale", 1, 1e-30, 1e30, &xs)) < 0 ||
	    (rc = detpp_key(c, o, &f, &m, "h_scale", 1, 1e-30, 1e30, &hs)) < 0 ||
	    (rc = detpp_key(c, o, &f, &m, "w_scale", 1, 1e-30, 1e30, &ws)) < 0)
		return rc;
	p->max_detections = (int)max_det;
	p->max_classes_per_detection = (int)max_cls;
	p->detections_per_class = (int)per_class;
	p->use_regular_nms = regular != 0;
	p->nms_score_threshold = (float)score;
	p->nms_iou_threshold = (float)iou;
	p->num_classes = (int)ncls;
	p->y_scale = (float)ys;
	p->x_scale = (float)xs;
	p->h_scale = (float)hs;
	p->w_scale = (float)ws;
	if (p->max_classes_per_detection > p->num_classes)
		return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: %s: max_classes_per_detection %d exceeds num_classes %d", o->desc,
			    o->opname, p->max_classes_per_detection, p->num_classes);

	/* Inputs: box encodings [1, N, >=4], class scores [1, N, num_classes (+1 background)], anchors [N, 4]. */
	const nn_tensor *boxes = &c->g->tensors[o->in[0]], *scores = &c->g->tensors[o->in[1]],
			*anchors = &c->g->tensors[o->in[2]];
	char a[96], s2[96], s3[96];
	if (boxes->rank != 3 || boxes->shape[0] != 1 || boxes->shape[2] < 4 || scores->rank != 3 ||
	    scores->shape[0] != 1 || scores->shape[1] != boxes->shape[1] || scores->shape[2] < p->num_classes ||
	    scores->shape[2] > p->num_classes + 1 || anchors->rank != 2 || anchors->shape[0] != boxes->shape[1] ||
	    anchors->shape[1] != 4)
		return nn__tfl_fail(c, NN_ERR_SHAPE,
			    "%s: %s: inputs of shapes %s, %s and %s, expected [1,N,4], [1,N,%d or %d] and [N,4]", o->desc,
			    o->opname, nn__tfl_shape_str(boxes, a, sizeof a), nn__tfl_shape_str(scores, s2, sizeof s2),
			    nn__tfl_shape_str(anchors, s3, sizeof s3), p->num_classes, p->num_classes + 1);

	/* TFLite sizes the four outputs when it prepares the op, so converters leave their shapes empty. */
	int nbox = p->max_detections * p->max_classes_per_detection;
	const int want[4][3] = { { 1, nbox, 4 }, { 1, nbox, 0 }, { 1, nbox, 0 }, { 1, 0, 0 } };
	const int want_rank[4] = { 3, 2, 2, 1 };
	for (int k = 0; k < 4; k++) {
		nn_tensor *t = &c->g->tensors[o->out[k]];
		char td[160];
		nn__tfl_tensor_desc(c, o->out[k], td, sizeof td);
		if (t->dtype != NN_F32)
			return nn__tfl_fail(c, NN_ERR_FORMAT, "%s: %s: output %d, %s, is %s, expected float32", o->desc, o->opname,
				    k, td, nn_dtype_name(t->dtype));
		if (t->rank == 0) {
			t->rank = want_rank[k];
			memcpy(t->shape, want[k], sizeof want[k]);
			continue;
		}
		int same = t->rank == want_rank[k];
		for (int d = 0; same && d < t->rank; d++)
			same = t->shape[d] == want[k][d];
		if (!same)
			return nn__tfl_fail(c, NN_ERR_SHAPE, "%s: %s: output %d, %s, has shape %s, expected %d dimensions [1,%d%s",
				    o->desc, o->opname, k, td, nn__tfl_shape_str(t, a, sizeof a), want_rank[k], nbox,
				    k == 0 ? ",4]" : k == 3 ? "] without the count" : "]");
	}
	return 0;
}
