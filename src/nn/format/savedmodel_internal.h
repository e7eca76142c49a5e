#ifndef NN_SAVEDMODEL_INTERNAL_H
#define NN_SAVEDMODEL_INTERNAL_H

/*
 * What savedmodel_read.c (the messages of saved_model.pb: signatures, the
 * function library, the object graph) and savedmodel.c (choosing a
 * signature, inlining the calls, binding the variables) share.
 */

#include <stddef.h>
#include <stdint.h>

#include "nn/format/graphdef.h"
#include "nn/format/pb.h"
#include "nn/format/savedmodel.h"
#include "nn/graph.h"

/* Field numbers: saved_model.proto, meta_graph.proto, saved_object_graph.proto, struct.proto, function.proto, op_def.proto. */
enum { SM_META_GRAPHS = 2 };
enum { MG_META_INFO = 1, MG_GRAPH_DEF = 2, MG_SIGNATURE_DEF = 5, MG_OBJECT_GRAPH = 7 };
enum { MI_TAGS = 4 };
enum { SIG_INPUTS = 1, SIG_OUTPUTS = 2 };
enum { TI_NAME = 1, TI_DTYPE = 2, TI_SHAPE = 3 };
enum { LIB_FUNCTION = 1 };
enum { FD_SIGNATURE = 1, FD_NODE_DEF = 3, FD_RET = 4 };
enum { OPDEF_NAME = 1, OPDEF_INPUT_ARG = 2, OPDEF_OUTPUT_ARG = 3 };
enum { ARG_NAME = 1 };
enum { OG_NODES = 1, OG_CONCRETE_FUNCTIONS = 2 };
enum { OBJ_CHILDREN = 1, OBJ_FUNCTION = 6, OBJ_VARIABLE = 7, OBJ_BARE_FUNCTION = 8, OBJ_CONSTANT = 9 };
enum { REF_NODE_ID = 1, REF_LOCAL_NAME = 2 };
enum { SVAR_NAME = 6, SCONST_OPERATION = 1, SFUNC_CONCRETE = 1, SBARE_NAME = 1 };
enum { SCF_BOUND_INPUTS = 2, SCF_INPUT_SIGNATURE = 3 };
enum { SV_TENSOR_SPEC = 33, SV_LIST = 51, SV_TUPLE = 52, SV_DICT = 53, SV_NAMED_TUPLE = 54 };
enum { TS_NAME = 1, TS_SHAPE = 2, TS_DTYPE = 3 };

#define MAX_CALL_DEPTH 64
#define MAX_SPECS 64
#define MAX_STRUCT_DEPTH 32

typedef struct namemap {
	const char **keys;
	int *vals;
	size_t cap;
} namemap;

/* ---- what the reader keeps ---- */

typedef struct tinfo {
	const char *key;  /* the signature's name for it */
	const char *name; /* "node:0" */
	nn_tf_dtype dtype;
	int rank; /* -1: unknown */
	int64_t dims[NN_MAX_RANK];
} tinfo;

typedef struct sig {
	const char *key;
	tinfo *in, *out;
	int n_in, n_out;
} sig;

typedef struct obj {
	int n_children;
	int *child_ids;
	const char **child_names;
	int kind;
	const char *var_name;  /* variable: its name, as VarHandleOp's shared_name spells it */
	const char *const_op;  /* constant: the Const node it is */
	const char **fn_names; /* function, bare concrete function: the concrete functions */
	int n_fn_names;
} obj;

typedef struct cfn {
	const char *name;
	int *bound;
	int n_bound;
	tinfo *specs;
	int n_specs;
} cfn;

typedef struct fn {
	const char *name;
	const char **in, **out;
	int n_in, n_out;
	nn_tf_node *nodes;
	int n_nodes;
	const char **ret_key, **ret_val;
	int n_ret;
	namemap map;
	int active;
} fn;

typedef struct binding {
	const char *flat;
	int obj;
} binding;

typedef struct sm {
	nn_tf_graph *g;
	nn_tf_reader r;
	const char *source;
	char *err;
	size_t errlen;
	const nn_tf_bundle *vars;
	obj *objs;
	int n_objs;
	cfn *cfns;
	int n_cfns;
	fn *fns;
	int n_fns;
	namemap fnmap;
	sig *sigs;
	int n_sigs;
	nn_tf_node *top;
	int n_top;
	namemap topmap;
	nn_tf_node *flat;
	int n_flat, cap_flat;
	binding *binds;
	int n_binds, cap_binds;
	int *bfs_parent;
	const char **bfs_name;
} sm;

#define NOMEM(c) nn_sm_fail((c), NN_ERR_NOMEM, "out of memory")

int nn_sm_map_init(nn_tf_graph *g, namemap *m, int n);
int nn_sm_map_put(namemap *m, const char *key, int val);
int nn_sm_map_get(const namemap *m, const char *key, size_t n);
int nn_sm_fail(sm *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void *nn_sm_alloc(sm *c, size_t n, size_t size);
const char *nn_sm_str(sm *c, const nn_pb_field *f);
int nn_sm_next(sm *c, nn_pb *m, nn_pb_field *f, const char *what);
int nn_sm_want(sm *c, const nn_pb_field *f, int wire, const char *what);
int nn_sm_count(sm *c, const uint8_t *p, size_t n, uint32_t number, const char *what);
int nn_sm_map_entry(sm *c, const nn_pb_field *e, nn_pb_field *key, nn_pb_field *val, const char *what);
int nn_sm_read_signature(sm *c, const nn_pb_field *e, sig *s);
int nn_sm_read_library(sm *c, const uint8_t *lib, size_t len);
fn *nn_sm_find_fn(sm *c, const char *name);
int nn_sm_read_object_graph(sm *c, const nn_pb_field *og);
cfn *nn_sm_find_cfn(sm *c, const char *name);
int nn_sm_checkpoint_key(sm *c, int id, char *key, size_t cap, int escape);

#endif
