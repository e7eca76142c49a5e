/* SavedModel folders on disk: finding saved_model.pb and variables/, and handing the flat graph to nn_tf_build. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "nn/format/savedmodel.h"
#include "nn/graph.h"

static int is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int nn_savedmodel_is_path(const char *path)
{
	size_t n = strlen(path);
	if (n >= 14 && !strcmp(path + n - 14, "saved_model.pb") && (n == 14 || path[n - 15] == '/'))
		return 1;
	if (!is_dir(path))
		return 0;
	char buf[4096];
	snprintf(buf, sizeof buf, "%s/saved_model.pb", path);
	struct stat st;
	return stat(buf, &st) == 0;
}

#define MAX_PB ((size_t)2 << 30)

int nn_savedmodel_load(nn_graph **out, const char *path, const nn_tf_build_options *o, char *err, size_t errlen)
{
	*out = NULL;
	char dir[4096], pbpath[4200], prefix[4200];
	size_t n = strlen(path);
	if (n >= sizeof dir)
		return nn_graph_fail(err, errlen, NN_ERR_ARG, "%.100s...: path too long", path);
	memcpy(dir, path, n + 1);
	if (!is_dir(dir)) {
		char *slash = strrchr(dir, '/');
		if (slash)
			*slash = 0;
		else
			strcpy(dir, ".");
	}
	while (strlen(dir) > 1 && dir[strlen(dir) - 1] == '/')
		dir[strlen(dir) - 1] = 0;
	snprintf(pbpath, sizeof pbpath, "%s/saved_model.pb", dir);
	snprintf(prefix, sizeof prefix, "%s/variables/variables", dir);

	FILE *f = fopen(pbpath, "rb");
	if (!f)
		return nn_graph_fail(err, errlen, NN_ERR_IO, "%s: cannot open: %s", pbpath, strerror(errno));
	struct stat st;
	if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size > MAX_PB) {
		fclose(f);
		return nn_graph_fail(err, errlen, NN_ERR_IO, "%s: not a regular file of at most 2 GiB", pbpath);
	}
	size_t len = (size_t)st.st_size;
	uint8_t *buf = malloc(len ? len : 1);
	if (!buf) {
		fclose(f);
		return nn_graph_fail(err, errlen, NN_ERR_NOMEM, "%s: out of memory", pbpath);
	}
	size_t got = fread(buf, 1, len, f);
	fclose(f);
	if (got != len) {
		free(buf);
		return nn_graph_fail(err, errlen, NN_ERR_IO, "%s: read %zu of %zu bytes", pbpath, got, len);
	}
	/* A folder without variables/ is fine as long as nothing reads a variable. */
	nn_tf_bundle *vars = NULL;
	char index[4300];
	snprintf(index, sizeof index, "%s.index", prefix);
	struct stat ist;
	int rc = 0;
	if (stat(index, &ist) == 0)
		rc = nn_tf_bundle_open(&vars, prefix, err, errlen);
	nn_savedmodel_flat flat;
	if (rc >= 0)
		rc = nn_savedmodel_flatten(&flat, buf, len, vars, pbpath, err, errlen);
	nn_tf_bundle_free(vars);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	nn_tf_build_options bo = o ? *o : (nn_tf_build_options){ 0 };
	bo.source = pbpath;
	bo.inputs = flat.inputs;
	bo.n_inputs = flat.n_inputs;
	bo.outputs = flat.outputs;
	bo.n_outputs = flat.n_outputs;
	nn_graph *g = NULL;
	rc = nn_tf_build(&g, &flat.g, &bo, err, errlen);
	if (rc >= 0 && g && !(g->origin = strdup(flat.note)))
		rc = nn_graph_fail(err, errlen, NN_ERR_NOMEM, "%s: out of memory", pbpath);
	nn_savedmodel_flat_free(&flat);
	free(buf);
	if (rc < 0) {
		nn_graph_free(g);
		return rc;
	}
	*out = g;
	return 0;
}
