#ifndef VG_KALMAN_H
#define VG_KALMAN_H

/*
 * A constant-velocity Kalman filter over a box: centre x, centre y, aspect
 * ratio (width / height) and height, with their velocities, as in DeepSORT
 * and ByteTrack. Its noise is proportional to the box's height, so a near,
 * large object may move more per step than a far, small one.
 *
 * Coordinates must be isotropic (the same unit on both axes): the tracker
 * passes x scaled by the frame's aspect ratio. Velocities are per second, and
 * steps take the elapsed time in seconds, so analyses need not be evenly
 * spaced. The state is a fixed-size struct; nothing is allocated.
 */

enum { VG_KF_DIM = 8, VG_KF_MEAS = 4 };

typedef struct vg_kalman {
	double x[VG_KF_DIM];             /* cx, cy, a, h, vcx, vcy, va, vh */
	double P[VG_KF_DIM][VG_KF_DIM];  /* covariance of x */
} vg_kalman;

/* Starts a filter at a measurement z = (cx, cy, a, h) with zero velocity and a wide velocity uncertainty. */
void vg_kalman_init(vg_kalman *k, const double z[VG_KF_MEAS]);

/* Moves the state dt seconds ahead (dt <= 0 leaves it as it is). */
void vg_kalman_predict(vg_kalman *k, double dt);

/* Corrects the state with a measurement z = (cx, cy, a, h) taken at the state's current time. */
void vg_kalman_update(vg_kalman *k, const double z[VG_KF_MEAS]);

/* The mean dt seconds ahead, without touching the filter (for drawing between analyses). */
void vg_kalman_peek(const vg_kalman *k, double dt, double out[VG_KF_MEAS]);

#endif
