#ifndef VG_INFER_POOL_H
#define VG_INFER_POOL_H

#include <stddef.h>
#include <stdint.h>

#include "core/frame.h"

/*
 * The inference workers that every camera of a server shares. Each camera is
 * a job with a latest-wins frame slot; the workers take the jobs' newest
 * frames in turn, the job served least recently first, so that when the
 * cameras together want more inference than the CPU gives, each still gets
 * its share and none starves. At most one frame of a job is in flight, so a
 * camera's results stay in frame order, and jobs that name the same exclusive
 * key (a loaded model they share) never run at the same time: one model
 * instance runs one inference at a time and uses its own threads inside it.
 */

typedef struct vg_infer_pool vg_infer_pool;
typedef struct vg_infer_job vg_infer_job;

/* Called on a worker with a frame the callee borrows (the pool releases it afterwards). */
typedef void (*vg_infer_fn)(void *opaque, vg_frame *frame);

/* Starts `workers` threads (at least 1). 0, or -1 with a message in err. */
int vg_infer_pool_create(vg_infer_pool **out, int workers, char *err, size_t errlen);

/* Joins the workers; every job must have been removed. */
void vg_infer_pool_destroy(vg_infer_pool *pool);

/*
 * Adds a job. exclusive: jobs with the same non-NULL key never run at once
 * (NULL: no such constraint). Returns the job, or NULL when out of memory.
 */
vg_infer_job *vg_infer_pool_add(vg_infer_pool *pool, const void *exclusive, vg_infer_fn fn, void *opaque);

/*
 * Removes a job: its waiting frame is released, and a run in progress is
 * waited for, so that after this returns fn is never called again.
 */
void vg_infer_pool_remove(vg_infer_pool *pool, vg_infer_job *job);

/*
 * Hands the job its newest frame (takes the reference); a frame still waiting
 * is replaced and counted as dropped. Never after vg_infer_pool_remove.
 */
void vg_infer_job_submit(vg_infer_job *job, vg_frame *frame);

/* Frames replaced before a worker took them. */
uint64_t vg_infer_job_drops(const vg_infer_job *job);

/*
 * The fraction of the workers' busy time this job had over the last few
 * seconds (0..1), and the fraction it would have with an equal split among
 * the jobs that wanted inference in that time (1 / their number; 0 when
 * none did).
 */
void vg_infer_job_share(const vg_infer_job *job, double *got, double *fair);

#endif
