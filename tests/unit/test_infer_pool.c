/*
 * The shared inference workers: every camera gets its turn when they together
 * want more than the workers give, jobs sharing a model never run at once, a
 * job's frames are analysed in order, one at a time, and removing a job waits
 * for its run.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "core/clock.h"
#include "http/request.h"
#include "infer_pool.h"
#include "test.h"

#define JOBS 4

typedef struct job_state {
	atomic_int runs;
	atomic_int running;
	atomic_uint_fast64_t last_id;
	atomic_int out_of_order;
	atomic_int overlapped;          /* two runs of this job at once */
	atomic_int *key_running;        /* runs of any job of the same key in progress */
	atomic_int *key_overlaps;
	int sleep_us;
} job_state;

static void sleep_us(int us)
{
	struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = (long)(us % 1000000) * 1000 };
	nanosleep(&ts, NULL);
}

static void run_job(void *opaque, vg_frame *frame)
{
	job_state *s = opaque;
	if (atomic_fetch_add(&s->running, 1) != 0)
		atomic_store(&s->overlapped, 1);
	if (s->key_running && atomic_fetch_add(s->key_running, 1) != 0)
		atomic_store(s->key_overlaps, 1);
	if (frame->id <= atomic_load(&s->last_id))
		atomic_store(&s->out_of_order, 1);
	atomic_store(&s->last_id, frame->id);
	sleep_us(s->sleep_us);
	if (s->key_running)
		atomic_fetch_sub(s->key_running, 1);
	atomic_fetch_sub(&s->running, 1);
	atomic_fetch_add(&s->runs, 1);
}

/* Every job submits a frame as often as it can for the duration: far more than the workers can take. */
static void flood(vg_frame_pool *fp, vg_infer_job **jobs, int n, int64_t duration_us)
{
	uint64_t id = 1;
	int64_t end = vg_mono_us() + duration_us;
	while (vg_mono_us() < end) {
		for (int j = 0; j < n; j++) {
			vg_frame *f = vg_frame_pool_get(fp);
			f->id = id;
			vg_infer_job_submit(jobs[j], f);
		}
		id++;
		sleep_us(500);
	}
}

TEST(infer_pool_round_robin_shares_fairly)
{
	char err[128];
	vg_infer_pool *pool;
	CHECK(vg_infer_pool_create(&pool, 2, err, sizeof err) == 0);
	vg_frame_pool *fp = vg_frame_pool_create(16, 16);
	job_state st[JOBS];
	vg_infer_job *jobs[JOBS];
	memset(st, 0, sizeof st);
	for (int j = 0; j < JOBS; j++) {
		st[j].sleep_us = 2000;
		jobs[j] = vg_infer_pool_add(pool, NULL, run_job, &st[j]);
		CHECK(jobs[j]);
	}
	flood(fp, jobs, JOBS, 400000);
	int min = 1 << 30, max = 0;
	for (int j = 0; j < JOBS; j++) {
		int r = atomic_load(&st[j].runs);
		min = r < min ? r : min;
		max = r > max ? r : max;
		CHECK_MSG(!atomic_load(&st[j].overlapped), "job %d ran twice at once", j);
		CHECK_MSG(!atomic_load(&st[j].out_of_order), "job %d took an older frame after a newer one", j);
		CHECK_MSG(vg_infer_job_drops(jobs[j]) > 0, "job %d dropped nothing while flooded", j);
	}
	/* About 400 ms / 2 ms * 2 workers / 4 jobs = 100 runs each; round robin keeps them within a few of each other. */
	CHECK_MSG(min >= 30, "a job starved: %d runs", min);
	CHECK_MSG(max - min <= 3 + max / 10, "unfair: runs from %d to %d", min, max);
	for (int j = 0; j < JOBS; j++)
		vg_infer_pool_remove(pool, jobs[j]);
	vg_infer_pool_destroy(pool);
	vg_frame_pool_release(fp);
}

TEST(infer_pool_exclusive_key_serialises)
{
	char err[128];
	vg_infer_pool *pool;
	CHECK(vg_infer_pool_create(&pool, 3, err, sizeof err) == 0);
	vg_frame_pool *fp = vg_frame_pool_create(16, 16);
	atomic_int key_running = 0, key_overlaps = 0;
	static const int shared_model;
	job_state st[3];
	vg_infer_job *jobs[3];
	memset(st, 0, sizeof st);
	for (int j = 0; j < 3; j++) {
		st[j].sleep_us = 1000;
		/* Jobs 0 and 1 share a model; job 2 has its own and may run beside them. */
		if (j < 2) {
			st[j].key_running = &key_running;
			st[j].key_overlaps = &key_overlaps;
		}
		jobs[j] = vg_infer_pool_add(pool, j < 2 ? (const void *)&shared_model : NULL, run_job, &st[j]);
	}
	flood(fp, jobs, 3, 200000);
	for (int j = 0; j < 3; j++)
		vg_infer_pool_remove(pool, jobs[j]);
	CHECK_MSG(!atomic_load(&key_overlaps), "two jobs of one model ran at once");
	int shared = atomic_load(&st[0].runs) + atomic_load(&st[1].runs), own = atomic_load(&st[2].runs);
	/* One model at a time: the two together get about what job 2 gets alone, and each about half of it. */
	CHECK_MSG(own > 50 && shared > own / 2 && shared < own * 2, "shared %d, own %d", shared, own);
	CHECK_MSG(atomic_load(&st[0].runs) > shared / 4 && atomic_load(&st[1].runs) > shared / 4, "%d vs %d",
		  atomic_load(&st[0].runs), atomic_load(&st[1].runs));
	vg_infer_pool_destroy(pool);
	vg_frame_pool_release(fp);
}

/* Removing a job whose run is in progress returns only after that run. */
TEST(infer_pool_remove_waits_for_run)
{
	char err[128];
	vg_infer_pool *pool;
	CHECK(vg_infer_pool_create(&pool, 1, err, sizeof err) == 0);
	vg_frame_pool *fp = vg_frame_pool_create(16, 16);
	job_state st;
	memset(&st, 0, sizeof st);
	st.sleep_us = 100000;
	vg_infer_job *job = vg_infer_pool_add(pool, NULL, run_job, &st);
	vg_frame *f = vg_frame_pool_get(fp);
	f->id = 1;
	vg_infer_job_submit(job, f);
	while (!atomic_load(&st.running))
		sleep_us(1000);
	/* A frame left waiting is released, never run. */
	f = vg_frame_pool_get(fp);
	f->id = 2;
	vg_infer_job_submit(job, f);
	vg_infer_pool_remove(pool, job);
	CHECK(atomic_load(&st.running) == 0);
	CHECK(atomic_load(&st.runs) == 1);
	vg_frame_pool_stats fs;
	vg_frame_pool_get_stats(fp, &fs);
	CHECK_MSG(fs.in_use == 0, "%llu frames still held", (unsigned long long)fs.in_use);
	vg_infer_pool_destroy(pool);
	vg_frame_pool_release(fp);
}

/* The shares reported: a flooded job among two gets about half, and half is its fair share. */
TEST(infer_pool_reports_shares)
{
	char err[128];
	vg_infer_pool *pool;
	CHECK(vg_infer_pool_create(&pool, 1, err, sizeof err) == 0);
	vg_frame_pool *fp = vg_frame_pool_create(16, 16);
	job_state st[2];
	vg_infer_job *jobs[2];
	memset(st, 0, sizeof st);
	for (int j = 0; j < 2; j++) {
		st[j].sleep_us = 2000;
		jobs[j] = vg_infer_pool_add(pool, NULL, run_job, &st[j]);
	}
	/* Past one share window (3 s), so that a verdict exists. */
	flood(fp, jobs, 2, 3300000);
	double got, fair;
	vg_infer_job_share(jobs[0], &got, &fair);
	CHECK_MSG(got > 0.4 && got < 0.6 && fair == 0.5, "share %.3f, fair %.3f", got, fair);
	for (int j = 0; j < 2; j++)
		vg_infer_pool_remove(pool, jobs[j]);
	vg_infer_pool_destroy(pool);
	vg_frame_pool_release(fp);
}

TEST(http_query_param)
{
	char v[16];
	const char *q = "camera=door&token=a%20b+c&empty=&flag&x=%4";
	CHECK(vg_http_query_param(q, strlen(q), "camera", v, sizeof v) == 4 && strcmp(v, "door") == 0);
	CHECK(vg_http_query_param(q, strlen(q), "token", v, sizeof v) == 5 && strcmp(v, "a b c") == 0);
	CHECK(vg_http_query_param(q, strlen(q), "empty", v, sizeof v) == 0);
	CHECK(vg_http_query_param(q, strlen(q), "flag", v, sizeof v) == 0);
	CHECK(vg_http_query_param(q, strlen(q), "missing", v, sizeof v) == 0);
	CHECK(vg_http_query_param(q, strlen(q), "x", v, sizeof v) == -1);      /* a cut escape */
	CHECK(vg_http_query_param(q, strlen(q), "camera", v, 4) == -1);        /* does not fit */
	CHECK(vg_http_query_param("a=%00", 5, "a", v, sizeof v) == -1);        /* NUL */
	CHECK(vg_http_query_param("cam=x&camera=y", 14, "camera", v, sizeof v) == 1 && v[0] == 'y');
	CHECK(vg_http_query_param(NULL, 0, "camera", v, sizeof v) == 0);
}

TEST_SUITE(infer_pool, TEST_ENTRY(infer_pool_round_robin_shares_fairly), TEST_ENTRY(infer_pool_exclusive_key_serialises),
	   TEST_ENTRY(infer_pool_remove_waits_for_run), TEST_ENTRY(infer_pool_reports_shares),
	   TEST_ENTRY(http_query_param));
