#ifndef TFLITE_BUILDER_H
#define TFLITE_BUILDER_H

/*
 * Builds small TensorFlow Lite flatbuffers from a plain description, for the
 * loader's tests and for the fuzz corpus generator. It writes front to back:
 * each table's vtable just before it, and the objects a table refers to
 * after it, so every offset is forward and is patched once the target is
 * written. It follows TFLite's schema.fbs but is written independently of
 * the loader, so that the two check each other. Header-only on purpose: the
 * tests and fuzz/gen_tflite_corpus.c both include it.
 */

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct tb_field {
	int id;
	int size; /* 1, 4 or 8 */
	uint64_t bits;
} tb_field;

/* TFLite SparsityParameters: one dim_metadata entry per traversal level. Index vector types: 1 int32, 2 uint16, 3 uint8. */
typedef struct tb_sparse_dim {
	int format; /* 0 DENSE, 1 SPARSE_CSR */
	int dense_size;
	int seg_type, n_seg;
	const int *seg;
	int idx_type, n_idx;
	const int *idx;
} tb_sparse_dim;

typedef struct tb_sparsity {
	int n_trav, trav[12];
	int n_block, block_map[6];
	int n_dims;
	tb_sparse_dim dims[12];
} tb_sparsity;

typedef struct tb_tensor {
	const char *name;
	int type; /* TensorType: 0 FLOAT32, 1 FLOAT16, 2 INT32, 3 UINT8, 9 INT8, ... */
	int rank;
	int shape[8];
	uint32_t buffer;
	int n_scale, n_zero_point; /* n_zero_point 0 means "as many as scales" */
	float scale[8];
	int64_t zero_point[8];
	int qdim;
	int sparse;                /* an empty SparsityParameters table, unless sp is set */
	const tb_sparsity *sp;
	int is_variable;
	int n_signature;           /* shape_signature (-1 marks a dimension known at run time), when > 0 */
	int signature[8];
} tb_tensor;

typedef struct tb_op {
	uint32_t opcode;
	int n_in, in[8], n_out, out[8];
	int opt_type; /* BuiltinOptions union tag, 0 for none */
	int n_opt;
	tb_field opt[8];
	const uint8_t *custom;
	size_t custom_len;
} tb_op;

typedef struct tb_code {
	int32_t builtin;
	const char *custom;
	int version;
} tb_code;

typedef struct tb_model {
	uint32_t version; /* 0 writes 3 */
	int n_codes;
	tb_code codes[24];
	int n_tensors;
	tb_tensor tensors[32];
	int n_ops;
	tb_op ops[24];
	int n_in, in[4], n_out, out[4];
	int n_buffers;
	const void *buf_data[24];
	size_t buf_len[24];
	int n_subgraphs; /* 0 writes 1; extra ones are empty */
	const char *description;
	int n_meta;
	const char *meta_name[4];
	uint32_t meta_buffer[4];
	int misalign;         /* puts buffer data one byte past a 16-byte boundary */
	const void *appendix; /* bytes after the flatbuffer, such as a zip */
	size_t appendix_len;
} tb_model;

/* Positions of a few fields in the built file, for tests that corrupt them. */
typedef struct tb_marks {
	size_t model_table, model_vtable, tensors_len, tensor0_table, tensor0_shape_len, tensor0_name_len;
	size_t ops_len, op0_table, op0_inputs_len, op0_input0, tensor0_buffer_field, op0_opcode_field, subgraphs_len;
} tb_marks;

typedef struct tb_buf {
	uint8_t *p;
	size_t len, cap;
	int oom;
} tb_buf;

static inline size_t tb_put(tb_buf *w, const void *d, size_t n)
{
	if (w->len + n > w->cap) {
		size_t cap = w->cap ? w->cap : 1024;
		while (cap < w->len + n)
			cap *= 2;
		uint8_t *p = realloc(w->p, cap);
		if (!p) {
			w->oom = 1;
			return w->len;
		}
		w->p = p;
		w->cap = cap;
	}
	size_t at = w->len;
	if (d)
		memcpy(w->p + at, d, n);
	else
		memset(w->p + at, 0, n);
	w->len += n;
	return at;
}

static inline void tb_u32_at(tb_buf *w, size_t at, uint32_t v)
{
	if (!w->oom)
		memcpy(w->p + at, &v, 4);
}

static inline void tb_align(tb_buf *w, size_t a, size_t extra)
{
	while ((w->len + extra) % a)
		tb_put(w, NULL, 1);
}

/* Patches the uoffset at slot to point at target. */
static inline void tb_ref(tb_buf *w, size_t slot, size_t target)
{
	tb_u32_at(w, slot, (uint32_t)(target - slot));
}

typedef struct tb_table {
	size_t vt, pos;
	int n;
	uint16_t off[24];
} tb_table;

/* Starts a table with field ids 0..n-1: reserves its vtable, then its soffset. */
static inline void tb_begin(tb_buf *w, tb_table *t, int n)
{
	memset(t, 0, sizeof *t);
	t->n = n;
	tb_align(w, 4, 0);
	t->vt = tb_put(w, NULL, 4 + 2 * (size_t)n);
	if ((4 + 2 * n) % 4)
		tb_put(w, NULL, 2);
	t->pos = tb_put(w, NULL, 4);
}

static inline size_t tb_field_put(tb_buf *w, tb_table *t, int id, const void *v, size_t size)
{
	size_t at = tb_put(w, v, size);
	t->off[id] = (uint16_t)(at - t->pos);
	return at;
}

static inline void tb_end(tb_buf *w, tb_table *t)
{
	if (w->oom)
		return;
	uint16_t vt_len = (uint16_t)(4 + 2 * t->n), inl = (uint16_t)(w->len - t->pos);
	memcpy(w->p + t->vt, &vt_len, 2);
	memcpy(w->p + t->vt + 2, &inl, 2);
	for (int i = 0; i < t->n; i++)
		memcpy(w->p + t->vt + 4 + 2 * i, &t->off[i], 2);
	int32_t so = (int32_t)(t->pos - t->vt);
	memcpy(w->p + t->pos, &so, 4);
	tb_align(w, 4, 0);
}

/* A vector's length field, placed so that its elements start on an `align` boundary. Returns its position. */
static inline size_t tb_vec(tb_buf *w, uint32_t n, size_t align)
{
	tb_align(w, align < 4 ? 4 : align, 4);
	return tb_put(w, &n, 4);
}

static inline size_t tb_string(tb_buf *w, const char *s)
{
	size_t at = tb_vec(w, (uint32_t)strlen(s), 4);
	tb_put(w, s, strlen(s) + 1);
	return at;
}

static inline size_t tb_i32_vec(tb_buf *w, int n, const int *v)
{
	size_t at = tb_vec(w, (uint32_t)n, 4);
	for (int i = 0; i < n; i++) {
		int32_t x = v[i];
		tb_put(w, &x, 4);
	}
	return at;
}

/* A SparseIndexVector table (Int32Vector, Uint16Vector or Uint8Vector) holding n values. */
static inline size_t tb_index_vec(tb_buf *w, int type, int n, const int *v)
{
	tb_table vt;
	tb_begin(w, &vt, 1);
	size_t f = tb_field_put(w, &vt, 0, NULL, 4);
	tb_end(w, &vt);
	size_t es = type == 1 ? 4 : type == 2 ? 2 : 1;
	size_t at = tb_vec(w, (uint32_t)n, es);
	for (int i = 0; i < n; i++) {
		int32_t x32 = v[i];
		uint16_t x16 = (uint16_t)v[i];
		uint8_t x8 = (uint8_t)v[i];
		tb_put(w, es == 4 ? (const void *)&x32 : es == 2 ? (const void *)&x16 : (const void *)&x8, es);
	}
	tb_ref(w, f, at);
	return vt.pos;
}

static inline size_t tb_write_sparsity(tb_buf *w, const tb_sparsity *sp)
{
	tb_table st;
	tb_begin(w, &st, 3);
	size_t f0 = tb_field_put(w, &st, 0, NULL, 4);
	size_t f1 = sp->n_block ? tb_field_put(w, &st, 1, NULL, 4) : 0;
	size_t f2 = tb_field_put(w, &st, 2, NULL, 4);
	tb_end(w, &st);
	tb_ref(w, f0, tb_i32_vec(w, sp->n_trav, sp->trav));
	if (f1)
		tb_ref(w, f1, tb_i32_vec(w, sp->n_block, sp->block_map));
	size_t v = tb_vec(w, (uint32_t)sp->n_dims, 4);
	size_t slots = tb_put(w, NULL, 4 * (size_t)sp->n_dims);
	tb_ref(w, f2, v);
	for (int k = 0; k < sp->n_dims; k++) {
		const tb_sparse_dim *d = &sp->dims[k];
		tb_table dt;
		tb_begin(w, &dt, 6);
		int32_t ds = d->dense_size;
		tb_field_put(w, &dt, 1, &ds, 4);
		size_t seg = d->seg_type ? tb_field_put(w, &dt, 3, NULL, 4) : 0;
		size_t idx = d->idx_type ? tb_field_put(w, &dt, 5, NULL, 4) : 0;
		int8_t fmt = (int8_t)d->format;
		uint8_t st8 = (uint8_t)d->seg_type, it8 = (uint8_t)d->idx_type;
		tb_field_put(w, &dt, 0, &fmt, 1);
		if (d->seg_type)
			tb_field_put(w, &dt, 2, &st8, 1);
		if (d->idx_type)
			tb_field_put(w, &dt, 4, &it8, 1);
		tb_end(w, &dt);
		tb_ref(w, slots + 4 * (size_t)k, dt.pos);
		if (seg)
			tb_ref(w, seg, tb_index_vec(w, d->seg_type, d->n_seg, d->seg));
		if (idx)
			tb_ref(w, idx, tb_index_vec(w, d->idx_type, d->n_idx, d->idx));
	}
	return st.pos;
}

static inline size_t tb_write_tensor(tb_buf *w, const tb_tensor *t, tb_marks *mk, int first)
{
	tb_table tt;
	tb_begin(w, &tt, t->n_signature > 0 ? 8 : 7);
	size_t shape = tb_field_put(w, &tt, 0, NULL, 4);
	int8_t type = (int8_t)t->type;
	uint32_t buffer = t->buffer;
	size_t bfield = tb_field_put(w, &tt, 2, &buffer, 4);
	size_t name = t->name ? tb_field_put(w, &tt, 3, NULL, 4) : 0;
	size_t quant = t->n_scale ? tb_field_put(w, &tt, 4, NULL, 4) : 0;
	size_t sparsity = t->sparse || t->sp ? tb_field_put(w, &tt, 6, NULL, 4) : 0;
	size_t signature = t->n_signature > 0 ? tb_field_put(w, &tt, 7, NULL, 4) : 0;
	tb_field_put(w, &tt, 1, &type, 1);
	if (t->is_variable) {
		uint8_t one = 1;
		tb_field_put(w, &tt, 5, &one, 1);
	}
	tb_end(w, &tt);
	size_t v = tb_i32_vec(w, t->rank, t->shape);
	tb_ref(w, shape, v);
	if (first && mk) {
		mk->tensor0_table = tt.pos;
		mk->tensor0_shape_len = v;
		mk->tensor0_buffer_field = bfield;
	}
	if (name) {
		size_t s = tb_string(w, t->name);
		tb_ref(w, name, s);
		if (first && mk)
			mk->tensor0_name_len = s;
	}
	if (quant) {
		tb_table qt;
		tb_begin(w, &qt, 7);
		size_t sc = tb_field_put(w, &qt, 2, NULL, 4), zp = tb_field_put(w, &qt, 3, NULL, 4);
		int32_t qdim = t->qdim;
		tb_field_put(w, &qt, 6, &qdim, 4);
		tb_end(w, &qt);
		tb_ref(w, quant, qt.pos);
		tb_ref(w, sc, tb_vec(w, (uint32_t)t->n_scale, 4));
		tb_put(w, t->scale, 4 * (size_t)t->n_scale);
		int nz = t->n_zero_point ? t->n_zero_point : t->n_scale;
		tb_ref(w, zp, tb_vec(w, (uint32_t)nz, 8));
		tb_put(w, t->zero_point, 8 * (size_t)nz);
	}
	if (signature)
		tb_ref(w, signature, tb_i32_vec(w, t->n_signature, t->signature));
	if (sparsity && t->sp) {
		tb_ref(w, sparsity, tb_write_sparsity(w, t->sp));
	} else if (sparsity) {
		tb_table st;
		tb_begin(w, &st, 0);
		tb_end(w, &st);
		tb_ref(w, sparsity, st.pos);
	}
	return tt.pos;
}

static inline void tb_write_op(tb_buf *w, const tb_op *o, tb_marks *mk, int first)
{
	tb_table ot;
	tb_begin(w, &ot, 7);
	size_t opc = tb_field_put(w, &ot, 0, &o->opcode, 4);
	size_t in = tb_field_put(w, &ot, 1, NULL, 4), out = tb_field_put(w, &ot, 2, NULL, 4);
	size_t opt = o->opt_type ? tb_field_put(w, &ot, 4, NULL, 4) : 0;
	size_t custom = o->custom ? tb_field_put(w, &ot, 5, NULL, 4) : 0;
	if (o->opt_type) {
		uint8_t type = (uint8_t)o->opt_type;
		tb_field_put(w, &ot, 3, &type, 1);
	}
	tb_end(w, &ot);
	size_t iv = tb_i32_vec(w, o->n_in, o->in);
	tb_ref(w, in, iv);
	tb_ref(w, out, tb_i32_vec(w, o->n_out, o->out));
	if (first && mk) {
		mk->op0_table = ot.pos;
		mk->op0_inputs_len = iv;
		mk->op0_input0 = iv + 4;
		mk->op0_opcode_field = opc;
	}
	if (opt) {
		int max_id = -1;
		for (int i = 0; i < o->n_opt; i++)
			max_id = o->opt[i].id > max_id ? o->opt[i].id : max_id;
		tb_table pt;
		tb_begin(w, &pt, max_id + 1);
		/* Widest fields first keeps each naturally aligned, as flatc does. */
		for (int size = 8; size >= 1; size /= 2)
			for (int i = 0; i < o->n_opt; i++)
				if (o->opt[i].size == size)
					tb_field_put(w, &pt, o->opt[i].id, &o->opt[i].bits, (size_t)size);
		tb_end(w, &pt);
		tb_ref(w, opt, pt.pos);
	}
	if (custom) {
		tb_ref(w, custom, tb_vec(w, (uint32_t)o->custom_len, 4));
		tb_put(w, o->custom, o->custom_len);
	}
}

/* Builds the model; returns a malloc'd file of *len bytes, or NULL when out of memory. */
static inline uint8_t *tb_build(const tb_model *m, size_t *len, tb_marks *mk)
{
	tb_buf w = { 0 };
	tb_marks dummy;
	if (!mk)
		mk = &dummy;
	memset(mk, 0, sizeof *mk);
	size_t root = tb_put(&w, NULL, 4);
	tb_put(&w, "TFL3", 4);

	tb_table mt;
	tb_begin(&w, &mt, 7);
	uint32_t version = m->version ? m->version : 3;
	tb_field_put(&w, &mt, 0, &version, 4);
	size_t codes = tb_field_put(&w, &mt, 1, NULL, 4), sgs = tb_field_put(&w, &mt, 2, NULL, 4);
	size_t desc = m->description ? tb_field_put(&w, &mt, 3, NULL, 4) : 0;
	size_t bufs = tb_field_put(&w, &mt, 4, NULL, 4);
	size_t meta = m->n_meta ? tb_field_put(&w, &mt, 6, NULL, 4) : 0;
	tb_end(&w, &mt);
	tb_ref(&w, root, mt.pos);
	mk->model_table = mt.pos;
	mk->model_vtable = mt.vt;

	size_t cv = tb_vec(&w, (uint32_t)m->n_codes, 4), slots = tb_put(&w, NULL, 4 * (size_t)m->n_codes);
	tb_ref(&w, codes, cv);
	for (int i = 0; i < m->n_codes; i++) {
		tb_table ct;
		tb_begin(&w, &ct, 4);
		int32_t b = m->codes[i].builtin, ver = m->codes[i].version ? m->codes[i].version : 1;
		int8_t dep = (int8_t)(b < 127 ? b : 127);
		tb_field_put(&w, &ct, 3, &b, 4);
		tb_field_put(&w, &ct, 2, &ver, 4);
		size_t cs = m->codes[i].custom ? tb_field_put(&w, &ct, 1, NULL, 4) : 0;
		tb_field_put(&w, &ct, 0, &dep, 1);
		tb_end(&w, &ct);
		tb_ref(&w, slots + 4 * (size_t)i, ct.pos);
		if (cs)
			tb_ref(&w, cs, tb_string(&w, m->codes[i].custom));
	}

	int n_sg = m->n_subgraphs ? m->n_subgraphs : 1;
	size_t sv = tb_vec(&w, (uint32_t)n_sg, 4), sslots = tb_put(&w, NULL, 4 * (size_t)n_sg);
	tb_ref(&w, sgs, sv);
	mk->subgraphs_len = sv;
	for (int s = 0; s < n_sg; s++) {
		tb_table st;
		tb_begin(&w, &st, 5);
		size_t tens = tb_field_put(&w, &st, 0, NULL, 4), ins = tb_field_put(&w, &st, 1, NULL, 4);
		size_t outs = tb_field_put(&w, &st, 2, NULL, 4), ops = tb_field_put(&w, &st, 3, NULL, 4);
		tb_end(&w, &st);
		tb_ref(&w, sslots + 4 * (size_t)s, st.pos);
		int nt = s ? 0 : m->n_tensors, no = s ? 0 : m->n_ops;
		size_t tv = tb_vec(&w, (uint32_t)nt, 4), tslots = tb_put(&w, NULL, 4 * (size_t)nt);
		tb_ref(&w, tens, tv);
		if (!s)
			mk->tensors_len = tv;
		for (int i = 0; i < nt; i++) {
			size_t tpos = tb_write_tensor(&w, &m->tensors[i], mk, i == 0);
			tb_ref(&w, tslots + 4 * (size_t)i, tpos);
		}
		tb_ref(&w, ins, tb_i32_vec(&w, s ? 0 : m->n_in, m->in));
		tb_ref(&w, outs, tb_i32_vec(&w, s ? 0 : m->n_out, m->out));
		size_t ov = tb_vec(&w, (uint32_t)no, 4), oslots = tb_put(&w, NULL, 4 * (size_t)no);
		tb_ref(&w, ops, ov);
		if (!s)
			mk->ops_len = ov;
		for (int i = 0; i < no; i++) {
			tb_marks om;
			tb_write_op(&w, &m->ops[i], &om, 1);
			tb_ref(&w, oslots + 4 * (size_t)i, om.op0_table);
			if (i == 0) {
				mk->op0_table = om.op0_table;
				mk->op0_inputs_len = om.op0_inputs_len;
				mk->op0_input0 = om.op0_input0;
				mk->op0_opcode_field = om.op0_opcode_field;
			}
		}
	}
	if (desc)
		tb_ref(&w, desc, tb_string(&w, m->description));

	size_t bv = tb_vec(&w, (uint32_t)m->n_buffers, 4), bslots = tb_put(&w, NULL, 4 * (size_t)m->n_buffers);
	tb_ref(&w, bufs, bv);
	for (int i = 0; i < m->n_buffers; i++) {
		tb_table bt;
		tb_begin(&w, &bt, 1);
		size_t data = m->buf_len[i] ? tb_field_put(&w, &bt, 0, NULL, 4) : 0;
		tb_end(&w, &bt);
		tb_ref(&w, bslots + 4 * (size_t)i, bt.pos);
		if (data) {
			size_t at;
			if (m->misalign) {
				uint32_t n = (uint32_t)m->buf_len[i];
				tb_align(&w, 16, 5);
				at = tb_put(&w, &n, 4);
			} else {
				at = tb_vec(&w, (uint32_t)m->buf_len[i], 16);
			}
			tb_ref(&w, data, at);
			tb_put(&w, m->buf_data[i], m->buf_len[i]);
		}
	}
	if (meta) {
		size_t mv = tb_vec(&w, (uint32_t)m->n_meta, 4), mslots = tb_put(&w, NULL, 4 * (size_t)m->n_meta);
		tb_ref(&w, meta, mv);
		for (int i = 0; i < m->n_meta; i++) {
			tb_table et;
			tb_begin(&w, &et, 2);
			size_t nm = tb_field_put(&w, &et, 0, NULL, 4);
			tb_field_put(&w, &et, 1, &m->meta_buffer[i], 4);
			tb_end(&w, &et);
			tb_ref(&w, mslots + 4 * (size_t)i, et.pos);
			tb_ref(&w, nm, tb_string(&w, m->meta_name[i]));
		}
	}
	if (m->appendix_len)
		tb_put(&w, m->appendix, m->appendix_len);
	if (w.oom) {
		free(w.p);
		return NULL;
	}
	*len = w.len;
	return w.p;
}

/* ---- Describing models: tensors, buffers and operators appended to a tb_model ---- */

/* The description's arrays are fixed; outgrowing one is a bug in the caller, so it stops the program. */
#define TB_ROOM(array, n)                                      \
	do {                                                   \
		if ((size_t)(n) >= sizeof(array) / sizeof((array)[0])) \
			abort();                               \
	} while (0)

static inline int tb_add_tensor(tb_model *m, const char *name, int type, int rank, const int *shape,
				uint32_t buffer)
{
	TB_ROOM(m->tensors, m->n_tensors);
	if (rank < 0 || rank > 8)
		abort();
	tb_tensor *t = &m->tensors[m->n_tensors];
	memset(t, 0, sizeof *t);
	t->name = name;
	t->type = type;
	t->rank = rank;
	for (int i = 0; i < rank; i++)
		t->shape[i] = shape[i];
	t->buffer = buffer;
	return m->n_tensors++;
}

static inline uint32_t tb_add_buffer(tb_model *m, const void *data, size_t len)
{
	if (m->n_buffers == 0) {
		m->buf_len[0] = 0;
		m->n_buffers = 1;
	}
	TB_ROOM(m->buf_data, m->n_buffers);
	m->buf_data[m->n_buffers] = data;
	m->buf_len[m->n_buffers] = len;
	return (uint32_t)m->n_buffers++;
}

static inline tb_op *tb_add_op(tb_model *m, int32_t code, const char *custom, int n_in, const int *in, int n_out,
			       const int *out)
{
	int ci = -1;
	TB_ROOM(m->ops, m->n_ops);
	if (n_in < 0 || n_in > 8 || n_out < 0 || n_out > 8)
		abort();
	for (int i = 0; i < m->n_codes; i++)
		if (m->codes[i].builtin == code && (!custom || (m->codes[i].custom && !strcmp(custom, m->codes[i].custom))))
			ci = i;
	if (ci < 0) {
		TB_ROOM(m->codes, m->n_codes);
		ci = m->n_codes++;
		m->codes[ci] = (tb_code){ .builtin = code, .custom = custom };
	}
	tb_op *o = &m->ops[m->n_ops++];
	memset(o, 0, sizeof *o);
	o->opcode = (uint32_t)ci;
	o->n_in = n_in;
	o->n_out = n_out;
	memcpy(o->in, in, sizeof *in * (size_t)n_in);
	memcpy(o->out, out, sizeof *out * (size_t)n_out);
	return o;
}

static inline void tb_opt(tb_op *o, int type, int id, int size, uint64_t bits)
{
	TB_ROOM(o->opt, o->n_opt);
	o->opt_type = type;
	o->opt[o->n_opt++] = (tb_field){ id, size, bits };
}

static inline uint64_t tb_fbits(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	return u;
}

/* ---- FlexBuffers maps (custom options), zip archives and TFLite metadata, for labels ---- */

typedef struct tb_flex_kv {
	const char *key;
	int type; /* 1 INT, 3 FLOAT, 26 BOOL */
	double value;
} tb_flex_kv;

/* Encodes a FlexBuffers map of 4-byte scalars, keys in the order given (sorted by the caller). */
static inline size_t tb_flex_map(uint8_t *out, const tb_flex_kv *kv, int n)
{
	size_t pos = 0, keys[16];
	for (int i = 0; i < n; i++) {
		keys[i] = pos;
		memcpy(out + pos, kv[i].key, strlen(kv[i].key) + 1);
		pos += strlen(kv[i].key) + 1;
	}
	while (pos % 4)
		out[pos++] = 0;
	uint32_t u = (uint32_t)n;
	memcpy(out + pos, &u, 4);
	pos += 4;
	size_t kvec = pos;
	for (int i = 0; i < n; i++, pos += 4) {
		u = (uint32_t)(pos - keys[i]);
		memcpy(out + pos, &u, 4);
	}
	/* Map header: offset to the keys vector, its byte width, the count; then values and their types. */
	u = (uint32_t)(pos - kvec);
	memcpy(out + pos, &u, 4);
	u = 4;
	memcpy(out + pos + 4, &u, 4);
	u = (uint32_t)n;
	memcpy(out + pos + 8, &u, 4);
	pos += 12;
	size_t map = pos;
	for (int i = 0; i < n; i++, pos += 4) {
		if (kv[i].type == 3) {
			float f = (float)kv[i].value;
			memcpy(out + pos, &f, 4);
		} else {
			int32_t v = (int32_t)kv[i].value;
			memcpy(out + pos, &v, 4);
		}
	}
	for (int i = 0; i < n; i++)
		out[pos++] = (uint8_t)(kv[i].type << 2 | 2);
	u = (uint32_t)(pos - map);
	memcpy(out + pos, &u, 4);
	pos += 4;
	out[pos++] = 9 << 2 | 2;
	out[pos++] = 4;
	return pos;
}

static inline uint32_t tb_crc32(const uint8_t *p, size_t n)
{
	static uint32_t table[256];
	if (!table[1])
		for (uint32_t i = 0; i < 256; i++) {
			uint32_t c = i;
			for (int k = 0; k < 8; k++)
				c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
	uint32_t c = 0xffffffffu;
	for (size_t i = 0; i < n; i++)
		c = table[(c ^ p[i]) & 0xff] ^ (c >> 8);
	return ~c;
}

/* A zip of the given files, stored (or marked deflated), with offsets relative to its own start. */
static inline size_t tb_zip(uint8_t *out, int n, const char *const *names, const char *const *data, int method,
			    int bad_crc)
{
	size_t pos = 0, local[8];
	uint8_t h[46];
	for (int i = 0; i < n; i++) {
		size_t nl = strlen(names[i]);
		uint32_t dl = (uint32_t)strlen(data[i]);
		uint32_t crc = tb_crc32((const uint8_t *)data[i], dl) ^ (uint32_t)bad_crc;
		memset(h, 0, 30);
		memcpy(h, "PK\3\4", 4);
		h[8] = (uint8_t)method;
		memcpy(h + 14, &crc, 4);
		memcpy(h + 18, &dl, 4);
		memcpy(h + 22, &dl, 4);
		h[26] = (uint8_t)nl;
		local[i] = pos;
		memcpy(out + pos, h, 30);
		memcpy(out + pos + 30, names[i], nl);
		memcpy(out + pos + 30 + nl, data[i], dl);
		pos += 30 + nl + dl;
	}
	size_t cd = pos;
	for (int i = 0; i < n; i++) {
		size_t nl = strlen(names[i]);
		uint32_t dl = (uint32_t)strlen(data[i]);
		uint32_t crc = tb_crc32((const uint8_t *)data[i], dl) ^ (uint32_t)bad_crc, lo = (uint32_t)local[i];
		memset(h, 0, 46);
		memcpy(h, "PK\1\2", 4);
		h[10] = (uint8_t)method;
		memcpy(h + 16, &crc, 4);
		memcpy(h + 20, &dl, 4);
		memcpy(h + 24, &dl, 4);
		h[28] = (uint8_t)nl;
		memcpy(h + 42, &lo, 4);
		memcpy(out + pos, h, 46);
		memcpy(out + pos + 46, names[i], nl);
		pos += 46 + nl;
	}
	uint32_t cd_size = (uint32_t)(pos - cd), cd_off = (uint32_t)cd;
	memset(h, 0, 22);
	memcpy(h, "PK\5\6", 4);
	h[8] = h[10] = (uint8_t)n;
	memcpy(h + 12, &cd_size, 4);
	memcpy(h + 16, &cd_off, 4);
	memcpy(out + pos, h, 22);
	return pos + 22;
}

/* A TFLITE_METADATA flatbuffer naming `label_file` as the TENSOR_AXIS_LABELS file of output 0. */
static inline size_t tb_metadata(uint8_t *out, const char *label_file)
{
	tb_buf w = { 0 };
	size_t root = tb_put(&w, NULL, 4);
	tb_put(&w, "M001", 4);
	tb_table mm, sg, tm, af;
	tb_begin(&w, &mm, 4);
	size_t name = tb_field_put(&w, &mm, 0, NULL, 4), sgs = tb_field_put(&w, &mm, 3, NULL, 4);
	tb_end(&w, &mm);
	tb_ref(&w, root, mm.pos);
	tb_ref(&w, name, tb_string(&w, "TestModel"));
	size_t sv = tb_vec(&w, 1, 4), slot = tb_put(&w, NULL, 4);
	tb_ref(&w, sgs, sv);
	tb_begin(&w, &sg, 4);
	size_t outs = tb_field_put(&w, &sg, 3, NULL, 4);
	tb_end(&w, &sg);
	tb_ref(&w, slot, sg.pos);
	size_t ov = tb_vec(&w, 1, 4), oslot = tb_put(&w, NULL, 4);
	tb_ref(&w, outs, ov);
	tb_begin(&w, &tm, 7);
	size_t files = tb_field_put(&w, &tm, 6, NULL, 4);
	tb_end(&w, &tm);
	tb_ref(&w, oslot, tm.pos);
	size_t fv = tb_vec(&w, 1, 4), fslot = tb_put(&w, NULL, 4);
	tb_ref(&w, files, fv);
	tb_begin(&w, &af, 3);
	size_t fname = tb_field_put(&w, &af, 0, NULL, 4);
	uint8_t type = 2;
	tb_field_put(&w, &af, 2, &type, 1);
	tb_end(&w, &af);
	tb_ref(&w, fslot, af.pos);
	tb_ref(&w, fname, tb_string(&w, label_file));
	if (w.oom) {
		free(w.p);
		return 0;
	}
	memcpy(out, w.p, w.len);
	free(w.p);
	return w.len;
}

#endif
