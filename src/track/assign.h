#ifndef VG_ASSIGN_H
#define VG_ASSIGN_H

#include <stddef.h>

/*
 * Optimal linear assignment with a threshold: rows (tracks) to columns
 * (detections), each used at most once, a pair allowed only when its cost is
 * at most max_cost. Among the allowed matchings it finds one that minimises
 * the sum over matched pairs of (cost - max_cost): a pair is worth matching
 * by how far it is under the threshold. This is the objective of LAPJV with
 * cost_limit as ByteTrack calls it (leaving a row or a column unmatched costs
 * max_cost / 2), and it is not greedy: a slightly worse pair is taken when
 * that frees a much better one elsewhere.
 *
 * The allowed pairs split the problem into independent groups (connected
 * components, found with union-find); each group is solved on its own with
 * the shortest-augmenting-path Hungarian method, so a thousand objects that
 * mostly overlap only their own detection cost little more than a thousand
 * one-by-one problems.
 */

typedef struct vg_assign_pair {
	int row, col;
	double cost;
} vg_assign_pair;

/* Scratch memory kept between calls, so the tracker does not allocate per frame. Zero-initialise it. */
typedef struct vg_assign_ws {
	void *ibuf, *dbuf;   /* indices and groups; one group's dense matrix and potentials */
	size_t icap, dcap;
} vg_assign_ws;

void vg_assign_ws_fini(vg_assign_ws *ws);

/*
 * Solves for the allowed pairs listed (any order; pairs above max_cost are
 * ignored; a pair listed twice counts at its lower cost). Writes
 * row_to_col[rows] and col_to_row[cols] (-1 for unmatched; either may be
 * NULL). ws may be NULL (memory is then allocated for this call only).
 * Returns the number of matched pairs, or -1 when memory runs out or an
 * index is out of range.
 */
int vg_assign_sparse(vg_assign_ws *ws, int rows, int cols, const vg_assign_pair *pairs, int n_pairs,
	double max_cost, int *row_to_col, int *col_to_row);

/* The same on a dense row-major rows x cols cost matrix. */
int vg_assign(const double *cost, int rows, int cols, double max_cost, int *row_to_col, int *col_to_row);

#endif
