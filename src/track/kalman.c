#include "track/kalman.h"

#include <math.h>
#include <string.h>

/*
 * ByteTrack's and DeepSORT's noise weights: the position's standard
 * deviation is 1/20 of the box height and the velocity's 1/160 of it per
 * step. They are per video frame there; here velocities are per second and a
 * step lasts dt seconds, so the weights are taken per REF_FPS-th of a second
 * and the process noise (a random walk) grows linearly with the number of
 * such periods a step spans. REF_FPS is 10, about the rate at which a
 * detector on a CPU analyses: at 30 (MOT17's frame rate) the filter followed
 * each detection so closely that one false positive overlapping a track
 * pulled it off its object, and the synthetic scenes of test_track_scenes.c
 * lost more identities (mean IDF1 on crossings 0.79 at 30, 0.90 at 10).
 */
#define REF_FPS 10.0
#define W_POS (1.0 / 20.0)
#define W_VEL (1.0 / 160.0)
#define A_POS 1e-2     /* aspect ratio: an absolute deviation, not scaled by height */
#define A_VEL 1e-5
#define A_MEAS 1e-1
#define MIN_H 1e-4     /* keeps the noise positive for degenerate boxes */

static double height_of(const vg_kalman *k)
{
	return k->x[3] > MIN_H ? k->x[3] : MIN_H;
}

void vg_kalman_init(vg_kalman *k, const double z[VG_KF_MEAS])
{
	memset(k, 0, sizeof *k);
	for (int i = 0; i < VG_KF_MEAS; i++)
		k->x[i] = z[i];
	double h = z[3] > MIN_H ? z[3] : MIN_H;
	/* Twice the usual position deviation and ten times the velocity one: a new track knows nothing of its motion. */
	double sd[VG_KF_DIM] = {
		2 * W_POS * h, 2 * W_POS * h, A_POS, 2 * W_POS * h,
		10 * W_VEL * h * REF_FPS, 10 * W_VEL * h * REF_FPS, A_VEL * REF_FPS, 10 * W_VEL * h * REF_FPS,
	};
	for (int i = 0; i < VG_KF_DIM; i++)
		k->P[i][i] = sd[i] * sd[i];
}

void vg_kalman_predict(vg_kalman *k, double dt)
{
	if (!(dt > 0))
		return;
	for (int i = 0; i < VG_KF_MEAS; i++)
		k->x[i] += dt * k->x[i + 4];

	/* P = F P F^T with F = [I dt*I; 0 I]: first the rows (F P), then the columns ((F P) F^T). */
	double (*P)[VG_KF_DIM] = k->P;
	for (int i = 0; i < VG_KF_MEAS; i++)
		for (int j = 0; j < VG_KF_DIM; j++)
			P[i][j] += dt * P[i + 4][j];
	for (int i = 0; i < VG_KF_DIM; i++)
		for (int j = 0; j < VG_KF_MEAS; j++)
			P[i][j] += dt * P[i][j + 4];

	double h = height_of(k), steps = dt * REF_FPS;
	double sd[VG_KF_DIM] = {
		W_POS * h, W_POS * h, A_POS, W_POS * h,
		W_VEL * h * REF_FPS, W_VEL * h * REF_FPS, A_VEL * REF_FPS, W_VEL * h * REF_FPS,
	};
	for (int i = 0; i < VG_KF_DIM; i++)
		P[i][i] += sd[i] * sd[i] * steps;
}

void vg_kalman_update(vg_kalman *k, const double z[VG_KF_MEAS])
{
	double h = height_of(k);
	double r[VG_KF_MEAS] = { W_POS * h, W_POS * h, A_MEAS, W_POS * h };

	/* S = H P H^T + R is the top-left 4x4 block of P plus R; factor it as L L^T. */
	double S[VG_KF_MEAS][VG_KF_MEAS], L[VG_KF_MEAS][VG_KF_MEAS] = { { 0 } };
	for (int i = 0; i < VG_KF_MEAS; i++)
		for (int j = 0; j < VG_KF_MEAS; j++)
			S[i][j] = k->P[i][j] + (i == j ? r[i] * r[i] : 0);
	for (int j = 0; j < VG_KF_MEAS; j++) {
		double d = S[j][j];
		for (int m = 0; m < j; m++)
			d -= L[j][m] * L[j][m];
		if (!(d > 0))
			return; /* not positive definite: only NaN input can do this; keep the prediction */
		L[j][j] = sqrt(d);
		for (int i = j + 1; i < VG_KF_MEAS; i++) {
			double s = S[i][j];
			for (int m = 0; m < j; m++)
				s -= L[i][m] * L[j][m];
			L[i][j] = s / L[j][j];
		}
	}

	/* X = S^-1 (H P), a 4x8 matrix; the gain is K = X^T because P is symmetric. */
	double HP[VG_KF_MEAS][VG_KF_DIM], X[VG_KF_MEAS][VG_KF_DIM];
	memcpy(HP, k->P, sizeof HP);
	for (int c = 0; c < VG_KF_DIM; c++) {
		double y[VG_KF_MEAS];
		for (int i = 0; i < VG_KF_MEAS; i++) {
			double s = HP[i][c];
			for (int m = 0; m < i; m++)
				s -= L[i][m] * y[m];
			y[i] = s / L[i][i];
		}
		for (int i = VG_KF_MEAS - 1; i >= 0; i--) {
			double s = y[i];
			for (int m = i + 1; m < VG_KF_MEAS; m++)
				s -= L[m][i] * X[m][c];
			X[i][c] = s / L[i][i];
		}
	}

	double innov[VG_KF_MEAS];
	for (int i = 0; i < VG_KF_MEAS; i++)
		innov[i] = z[i] - k->x[i];
	for (int i = 0; i < VG_KF_DIM; i++)
		for (int m = 0; m < VG_KF_MEAS; m++)
			k->x[i] += X[m][i] * innov[m];

	/* P -= K H P, then symmetrised so that rounding does not make it drift apart over thousands of steps. */
	for (int i = 0; i < VG_KF_DIM; i++)
		for (int j = 0; j < VG_KF_DIM; j++) {
			double s = 0;
			for (int m = 0; m < VG_KF_MEAS; m++)
				s += X[m][i] * HP[m][j];
			k->P[i][j] -= s;
		}
	for (int i = 0; i < VG_KF_DIM; i++)
		for (int j = i + 1; j < VG_KF_DIM; j++)
			k->P[i][j] = k->P[j][i] = 0.5 * (k->P[i][j] + k->P[j][i]);
}

void vg_kalman_peek(const vg_kalman *k, double dt, double out[VG_KF_MEAS])
{
	if (!(dt > 0))
		dt = 0;
	for (int i = 0; i < VG_KF_MEAS; i++)
		out[i] = k->x[i] + dt * k->x[i + 4];
}
