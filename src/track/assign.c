#include "track/assign.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

void vg_assign_ws_fini(vg_assign_ws *ws)
{
	if (!ws)
		return;
	free(ws->ibuf);
	free(ws->dbuf);
	memset(ws, 0, sizeof *ws);
}

static void *reserve(void **buf, size_t *cap, size_t need)
{
	if (need <= *cap)
		return *buf;
	size_t n = *cap ? *cap : 4096;
	while (n < need)
		n *= 2;
	void *p = realloc(*buf, n);
	if (!p)
		return NULL;
	*buf = p;
	*cap = n;
	return p;
}

static int find(int *parent, int x)
{
	while (parent[x] != x) {
		parent[x] = parent[parent[x]]; /* path halving keeps the trees flat without recursion */
		x = parent[x];
	}
	return x;
}

/*
 * The Hungarian method (Kuhn, Munkres) as successive shortest augmenting
 * paths with dual potentials, the core of Jonker and Volgenant's LAPJV
 * without its initialisation heuristics: O(n^2 m) for an n x m matrix with
 * n <= m. Every row is assigned; p[j] is the 1-based row of column j (0 when
 * the column is free). Arrays are 1-based, index 0 being the virtual column
 * each search starts from.
 */
static void hungarian(const double *a, int n, int m, double *u, double *v, double *minv, int *p, int *way,
	unsigned char *used)
{
	for (int j = 0; j <= m; j++) {
		v[j] = 0;
		p[j] = 0;
	}
	for (int i = 0; i <= n; i++)
		u[i] = 0;
	for (int i = 1; i <= n; i++) {
		p[0] = i;
		int j0 = 0;
		for (int j = 0; j <= m; j++) {
			minv[j] = HUGE_VAL;
			used[j] = 0;
		}
		do {
			used[j0] = 1;
			int i0 = p[j0], j1 = 0;
			double delta = HUGE_VAL;
			const double *row = a + (size_t)(i0 - 1) * (size_t)m;
			for (int j = 1; j <= m; j++) {
				if (used[j])
					continue;
				double cur = row[j - 1] - u[i0] - v[j];
				if (cur < minv[j]) {
					minv[j] = cur;
					way[j] = j0;
				}
				if (minv[j] < delta) {
					delta = minv[j];
					j1 = j;
				}
			}
			for (int j = 0; j <= m; j++) {
				if (used[j]) {
					u[p[j]] += delta;
					v[j] -= delta;
				} else {
					minv[j] -= delta;
				}
			}
			j0 = j1;
		} while (p[j0] != 0);
		do {
			int j1 = way[j0];
			p[j0] = p[j1];
			j0 = j1;
		} while (j0);
	}
}

int vg_assign_sparse(vg_assign_ws *ws, int rows, int cols, const vg_assign_pair *pairs, int n_pairs,
	double max_cost, int *row_to_col, int *col_to_row)
{
	if (rows < 0 || cols < 0 || n_pairs < 0 || (n_pairs > 0 && !pairs))
		return -1;
	vg_assign_ws local = { 0 };
	if (!ws)
		ws = &local;
	int matched = -1;
	int nodes = rows + cols;

	/* Index memory: parent, comp and slot per node; three group offsets; rows, columns and pairs by group. */
	size_t ni = (size_t)nodes * 3 + (size_t)(nodes + 1) * 3 + (size_t)nodes + (size_t)n_pairs + 4;
	int *ib = reserve(&ws->ibuf, &ws->icap, ni * sizeof(int));
	if (!ib)
		goto out;
	int *parent = ib, *comp = parent + nodes, *slot = comp + nodes;
	int *node_start = slot + nodes, *pair_start = node_start + nodes + 1, *fill = pair_start + nodes + 1;
	int *node_list = fill + nodes + 1, *pair_list = node_list + nodes;

	for (int r = 0; r < rows; r++)
		if (row_to_col)
			row_to_col[r] = -1;
	for (int c = 0; c < cols; c++)
		if (col_to_row)
			col_to_row[c] = -1;
	for (int i = 0; i < nodes; i++) {
		parent[i] = i;
		comp[i] = -1;
	}
	for (int k = 0; k < n_pairs; k++) {
		const vg_assign_pair *q = &pairs[k];
		if (q->row < 0 || q->row >= rows || q->col < 0 || q->col >= cols)
			goto out;
		if (!(q->cost <= max_cost))
			continue; /* above the threshold, or NaN */
		int x = find(parent, q->row), y = find(parent, rows + q->col);
		if (x != y)
			parent[x] = y;
	}

	/* Number the groups, then bucket nodes and pairs by group (a counting sort). */
	int groups = 0;
	for (int k = 0; k < n_pairs; k++) {
		const vg_assign_pair *q = &pairs[k];
		if (!(q->cost <= max_cost))
			continue;
		int nd[2] = { q->row, rows + q->col };
		for (int e = 0; e < 2; e++) {
			if (comp[nd[e]] >= 0)
				continue;
			int root = find(parent, nd[e]);
			if (comp[root] < 0)
				comp[root] = groups++;
			comp[nd[e]] = comp[root];
		}
	}
	memset(node_start, 0, sizeof(int) * (size_t)(groups + 1));
	memset(pair_start, 0, sizeof(int) * (size_t)(groups + 1));
	for (int i = 0; i < nodes; i++)
		if (comp[i] >= 0)
			node_start[comp[i] + 1]++;
	for (int k = 0; k < n_pairs; k++)
		if (pairs[k].cost <= max_cost)
			pair_start[comp[pairs[k].row] + 1]++;
	for (int g = 0; g < groups; g++) {
		node_start[g + 1] += node_start[g];
		pair_start[g + 1] += pair_start[g];
	}
	/* Rows come before columns inside each group because nodes are visited in index order. */
	memcpy(fill, node_start, sizeof(int) * (size_t)groups);
	for (int i = 0; i < nodes; i++)
		if (comp[i] >= 0)
			node_list[fill[comp[i]]++] = i;
	memcpy(fill, pair_start, sizeof(int) * (size_t)groups);
	for (int k = 0; k < n_pairs; k++)
		if (pairs[k].cost <= max_cost)
			pair_list[fill[comp[pairs[k].row]]++] = k;

	matched = 0;
	for (int g = 0; g < groups; g++) {
		int nr = 0, nc = 0;
		for (int s = node_start[g]; s < node_start[g + 1]; s++) {
			int nd = node_list[s];
			slot[nd] = nd < rows ? nr++ : nc++;
		}
		const int *gp = pair_list + pair_start[g];
		int np = pair_start[g + 1] - pair_start[g];
		if (nr == 1 && nc == 1) {
			const vg_assign_pair *best = &pairs[gp[0]];
			for (int k = 1; k < np; k++)
				if (pairs[gp[k]].cost < best->cost)
					best = &pairs[gp[k]];
			if (row_to_col)
				row_to_col[best->row] = best->col;
			if (col_to_row)
				col_to_row[best->col] = best->row;
			matched++;
			continue;
		}

		/*
		 * The smaller side becomes the matrix's rows. Each row also gets a
		 * column of its own "unmatched" at cost 0, against which a real pair
		 * costs (cost - max_cost) <= 0; forbidden pairs cost more than any
		 * solution that uses only allowed pairs and dummies can.
		 */
		int flip = nr > nc;
		int n = flip ? nc : nr, big_side = flip ? nr : nc, m = big_side + n;
		double spread = 0;
		for (int k = 0; k < np; k++) {
			double d = fabs(pairs[gp[k]].cost - max_cost);
			if (d > spread)
				spread = d;
		}
		double big = (spread + 1) * (double)(n + 1);
		size_t nd_ = (size_t)n * (size_t)m + (size_t)(n + 1) + 2 * (size_t)(m + 1);
		size_t bytes = nd_ * sizeof(double) + 2 * (size_t)(m + 1) * sizeof(int) + (size_t)(m + 1);
		double *db = reserve(&ws->dbuf, &ws->dcap, bytes);
		if (!db) {
			matched = -1;
			goto out;
		}
		double *a = db, *u = a + (size_t)n * (size_t)m, *v = u + n + 1, *minv = v + m + 1;
		int *p = (int *)(minv + m + 1), *way = p + m + 1;
		unsigned char *used = (unsigned char *)(way + m + 1);
		for (int i = 0; i < n; i++) {
			double *row = a + (size_t)i * (size_t)m;
			for (int j = 0; j < big_side; j++)
				row[j] = big;
			for (int j = big_side; j < m; j++)
				row[j] = 0;
		}
		for (int k = 0; k < np; k++) {
			const vg_assign_pair *q = &pairs[gp[k]];
			int r = slot[q->row], c = slot[rows + q->col];
			int i = flip ? c : r, j = flip ? r : c;
			double w = q->cost - max_cost;
			double *e = &a[(size_t)i * (size_t)m + (size_t)j];
			if (w < *e)
				*e = w;
		}
		hungarian(a, n, m, u, v, minv, p, way, used);
		for (int j = 1; j <= big_side; j++) {
			if (!p[j] || a[(size_t)(p[j] - 1) * (size_t)m + (size_t)(j - 1)] >= big)
				continue;
			int i = p[j] - 1, jj = j - 1;
			/* Local slots back to global indices: this group's rows, then its columns, in node_list. */
			int r = flip ? jj : i, c = flip ? i : jj;
			int gr = node_list[node_start[g] + r], gc = node_list[node_start[g] + nr + c] - rows;
			if (row_to_col)
				row_to_col[gr] = gc;
			if (col_to_row)
				col_to_row[gc] = gr;
			matched++;
		}
	}
out:
	if (ws == &local)
		vg_assign_ws_fini(&local);
	return matched;
}

int vg_assign(const double *cost, int rows, int cols, double max_cost, int *row_to_col, int *col_to_row)
{
	if (rows < 0 || cols < 0 || (rows && cols && !cost))
		return -1;
	size_t n = 0, total = (size_t)rows * (size_t)cols;
	for (size_t k = 0; k < total; k++)
		n += cost[k] <= max_cost;
	vg_assign_pair *pairs = malloc((n ? n : 1) * sizeof *pairs);
	if (!pairs)
		return -1;
	size_t k = 0;
	for (int r = 0; r < rows; r++)
		for (int c = 0; c < cols; c++) {
			double w = cost[(size_t)r * (size_t)cols + (size_t)c];
			if (w <= max_cost)
				pairs[k++] = (vg_assign_pair){ r, c, w };
		}
	int rc = n > INT32_MAX ? -1 : vg_assign_sparse(NULL, rows, cols, pairs, (int)n, max_cost, row_to_col, col_to_row);
	free(pairs);
	return rc;
}
