#include "infer_pool.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/clock.h"

/* The shares in /api/stats are measured over windows this long. */
#define SHARE_WINDOW_US 3000000

struct vg_infer_job {
	vg_infer_pool *pool;
	const void *exclusive;
	vg_infer_fn fn;
	void *opaque;
	vg_frame *pending;      /* newest frame not yet taken */
	int running;
	uint64_t served;        /* when it was last taken, in the pool's count of takes (0: never) */
	uint64_t drops;
	/* The current share window, and the last finished one's verdict. */
	int64_t busy_us;
	int wanted;
	double share_got, share_fair;
	vg_infer_job *prev, *next;
};

struct vg_infer_pool {
	pthread_mutex_t lock;
	pthread_cond_t work;    /* a frame arrived, a run ended, or the pool is closing */
	pthread_t *threads;
	int nthreads;
	int closing;
	vg_infer_job *jobs;     /* a ring of the jobs in the order added */
	uint64_t takes;
	int64_t window_start_us;
	int64_t window_busy_us;
};

static int key_busy(const vg_infer_pool *pool, const void *key)
{
	if (!key || !pool->jobs)
		return 0;
	const vg_infer_job *j = pool->jobs;
	do {
		if (j->running && j->exclusive == key)
			return 1;
		j = j->next;
	} while (j != pool->jobs);
	return 0;
}

/*
 * Of the jobs with a frame waiting that may run now, the one served least
 * recently, or NULL. Plain round robin would starve a job whose model another
 * job keeps busy: each time the model frees, the other job's turn comes first
 * again. Lock held.
 */
static vg_infer_job *next_runnable(vg_infer_pool *pool)
{
	vg_infer_job *best = NULL;
	if (!pool->jobs)
		return NULL;
	vg_infer_job *j = pool->jobs;
	do {
		if (j->pending && !j->running && !key_busy(pool, j->exclusive) && (!best || j->served < best->served))
			best = j;
		j = j->next;
	} while (j != pool->jobs);
	return best;
}

/* Closes the share window when it is old enough. Lock held. */
static void roll_window(vg_infer_pool *pool, int64_t now)
{
	if (now - pool->window_start_us < SHARE_WINDOW_US || !pool->jobs)
		return;
	int wanted = 0;
	vg_infer_job *j = pool->jobs;
	do {
		wanted += j->wanted;
		j = j->next;
	} while (j != pool->jobs);
	do {
		j->share_got = pool->window_busy_us > 0 ? (double)j->busy_us / (double)pool->window_busy_us : 0.0;
		j->share_fair = j->wanted && wanted ? 1.0 / wanted : 0.0;
		j->busy_us = 0;
		/* A job still holding a frame keeps wanting in the next window. */
		j->wanted = j->pending != NULL || j->running;
		j = j->next;
	} while (j != pool->jobs);
	pool->window_busy_us = 0;
	pool->window_start_us = now;
}

static void *worker_main(void *arg)
{
	vg_infer_pool *pool = arg;
	pthread_mutex_lock(&pool->lock);
	for (;;) {
		vg_infer_job *job = NULL;
		while (!pool->closing && !(job = next_runnable(pool)))
			pthread_cond_wait(&pool->work, &pool->lock);
		if (!job)
			break;
		vg_frame *frame = job->pending;
		job->pending = NULL;
		job->running = 1;
		job->served = ++pool->takes;
		pthread_mutex_unlock(&pool->lock);

		int64_t t0 = vg_mono_us();
		job->fn(job->opaque, frame);
		vg_frame_unref(frame);
		int64_t t1 = vg_mono_us();

		pthread_mutex_lock(&pool->lock);
		job->running = 0;
		job->busy_us += t1 - t0;
		pool->window_busy_us += t1 - t0;
		roll_window(pool, t1);
		/* Others may wait for this job's key, or for the job itself to finish (vg_infer_pool_remove). */
		pthread_cond_broadcast(&pool->work);
	}
	pthread_mutex_unlock(&pool->lock);
	return NULL;
}

int vg_infer_pool_create(vg_infer_pool **out, int workers, char *err, size_t errlen)
{
	*out = NULL;
	if (workers < 1)
		workers = 1;
	vg_infer_pool *pool = calloc(1, sizeof *pool);
	if (!pool || !(pool->threads = calloc((size_t)workers, sizeof *pool->threads))) {
		free(pool);
		snprintf(err, errlen, "inference workers: out of memory");
		return -1;
	}
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->work, NULL);
	pool->window_start_us = vg_mono_us();
	for (int i = 0; i < workers; i++) {
		if (pthread_create(&pool->threads[i], NULL, worker_main, pool) != 0) {
			snprintf(err, errlen, "cannot start inference worker %d of %d", i + 1, workers);
			vg_infer_pool_destroy(pool);
			return -1;
		}
		pool->nthreads++;
	}
	*out = pool;
	return 0;
}

void vg_infer_pool_destroy(vg_infer_pool *pool)
{
	if (!pool)
		return;
	pthread_mutex_lock(&pool->lock);
	pool->closing = 1;
	pthread_cond_broadcast(&pool->work);
	pthread_mutex_unlock(&pool->lock);
	for (int i = 0; i < pool->nthreads; i++)
		pthread_join(pool->threads[i], NULL);
	/* Jobs left behind by a caller that did not remove them are freed rather than leaked. */
	while (pool->jobs)
		vg_infer_pool_remove(pool, pool->jobs);
	pthread_cond_destroy(&pool->work);
	pthread_mutex_destroy(&pool->lock);
	free(pool->threads);
	free(pool);
}

vg_infer_job *vg_infer_pool_add(vg_infer_pool *pool, const void *exclusive, vg_infer_fn fn, void *opaque)
{
	vg_infer_job *job = calloc(1, sizeof *job);
	if (!job)
		return NULL;
	job->pool = pool;
	job->exclusive = exclusive;
	job->fn = fn;
	job->opaque = opaque;
	pthread_mutex_lock(&pool->lock);
	if (!pool->jobs) {
		job->prev = job->next = job;
		pool->jobs = job;
	} else {
		job->next = pool->jobs;
		job->prev = pool->jobs->prev;
		job->prev->next = job;
		pool->jobs->prev = job;
	}
	pthread_mutex_unlock(&pool->lock);
	return job;
}

void vg_infer_pool_remove(vg_infer_pool *pool, vg_infer_job *job)
{
	if (!job)
		return;
	pthread_mutex_lock(&pool->lock);
	vg_frame *pending = job->pending;
	job->pending = NULL;
	while (job->running)
		pthread_cond_wait(&pool->work, &pool->lock);
	if (job->next == job) {
		pool->jobs = NULL;
	} else {
		job->prev->next = job->next;
		job->next->prev = job->prev;
		if (pool->jobs == job)
			pool->jobs = job->next;
	}
	pthread_mutex_unlock(&pool->lock);
	vg_frame_unref(pending);
	free(job);
}

void vg_infer_job_submit(vg_infer_job *job, vg_frame *frame)
{
	vg_infer_pool *pool = job->pool;
	pthread_mutex_lock(&pool->lock);
	vg_frame *old = job->pending;
	job->pending = frame;
	job->wanted = 1;
	if (old)
		job->drops++;
	pthread_cond_signal(&pool->work);
	pthread_mutex_unlock(&pool->lock);
	vg_frame_unref(old);
}

uint64_t vg_infer_job_drops(const vg_infer_job *job)
{
	pthread_mutex_lock(&job->pool->lock);
	uint64_t d = job->drops;
	pthread_mutex_unlock(&job->pool->lock);
	return d;
}

void vg_infer_job_share(const vg_infer_job *job, double *got, double *fair)
{
	pthread_mutex_lock(&job->pool->lock);
	roll_window(job->pool, vg_mono_us());
	*got = job->share_got;
	*fair = job->share_fair;
	pthread_mutex_unlock(&job->pool->lock);
}
