/*
 * MQTT publishing through a real Mosquitto on a free loopback port:
 *   1. burst: N detections messages as fast as the calls go (every frame a
 *      change, no rate limit): the cost of a publish call, the messages a
 *      subscriber received per second, and how many were dropped;
 *   2. paced: messages at RATE per second: latency from the publish call to
 *      arrival at a subscriber in this process (p50, p99, max).
 * Prints figures and RESULT lines for bench/run; no pass or fail.
 * Usage: bench-mqtt [N] [RATE]   (defaults: 20000 messages, 500 per second)
 */
#include <arpa/inet.h>
#include <inttypes.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/clock.h"
#include "publish/mqtt.h"

#define MOSQUITTO_BIN "/usr/sbin/mosquitto"

static atomic_long received;
static int64_t *lat;
static atomic_long nlat;
static long lat_cap;

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc)
{
	(void)obj;
	if (rc == 0)
		mosquitto_subscribe(mosq, NULL, "bench/+/detections", 0);
}

/* The frame id is the publish call's monotonic time: the latency is now minus it. */
static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg)
{
	(void)mosq;
	(void)obj;
	int64_t now = vg_mono_us();
	atomic_fetch_add(&received, 1);
	const char *p = msg->payloadlen > 0 ? strstr(msg->payload, "\"frame_id\":") : NULL;
	if (!p)
		return;
	int64_t sent = strtoll(p + 11, NULL, 10);
	long i = atomic_fetch_add(&nlat, 1);
	if (i < lat_cap)
		lat[i] = now - sent;
}

static int free_port(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof a;
	if (bind(s, (struct sockaddr *)&a, sizeof a) != 0 || getsockname(s, (struct sockaddr *)&a, &len) != 0)
		return -1;
	close(s);
	return ntohs(a.sin_port);
}

static void wait_for(long want, int64_t timeout_us)
{
	int64_t end = vg_mono_us() + timeout_us;
	while (atomic_load(&received) < want && vg_mono_us() < end)
		vg_sleep_us(2000);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 20000;
	double rate = argc > 2 ? atof(argv[2]) : 500;
	if (access(MOSQUITTO_BIN, X_OK) != 0) {
		fprintf(stderr, "bench-mqtt: %s absent\n", MOSQUITTO_BIN);
		return 77;
	}
	int port = free_port();
	char conf[] = "/tmp/vg-bench-mqtt-XXXXXX";
	int fd = mkstemp(conf);
	if (fd < 0 || port < 0)
		return 1;
	dprintf(fd, "listener %d 127.0.0.1\nallow_anonymous true\npersistence false\nset_tcp_nodelay true\n"
		"max_queued_messages 100000\n", port);
	close(fd);
	pid_t broker = fork();
	if (broker == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		freopen("/dev/null", "w", stderr);
		execl(MOSQUITTO_BIN, "mosquitto", "-c", conf, (char *)NULL);
		_exit(127);
	}
	vg_sleep_us(300000);

	mosquitto_lib_init();
	struct mosquitto *sub = mosquitto_new(NULL, true, NULL);
	mosquitto_connect_callback_set(sub, on_connect);
	mosquitto_message_callback_set(sub, on_message);
	if (mosquitto_connect(sub, "127.0.0.1", port, 30) || mosquitto_loop_start(sub)) {
		fprintf(stderr, "bench-mqtt: cannot connect to the broker\n");
		kill(broker, SIGKILL);
		unlink(conf);
		return 1;
	}
	lat_cap = n;
	lat = calloc((size_t)n, sizeof *lat);

	vg_config_mqtt o = { .host = "127.0.0.1", .port = port, .prefix = "bench", .max_rate = 0, .keepalive = 10 };
	char err[256];
	vg_mqtt *m;
	if (vg_mqtt_create(&m, &o, "bench", err, sizeof err)) {
		fprintf(stderr, "bench-mqtt: %s\n", err);
		return 1;
	}
	vg_mqtt_stats st;
	for (int i = 0; i < 300; i++) {
		vg_mqtt_get_stats(m, &st);
		if (st.connected)
			break;
		vg_sleep_us(10000);
	}
	vg_sleep_us(200000);

	/* Five people, one of them walking: every frame is a change. */
	vg_detection d[5];
	memset(d, 0, sizeof d);
	for (int i = 0; i < 5; i++) {
		snprintf(d[i].label, sizeof d[i].label, "person");
		d[i].x0 = 0.1f * (float)i;
		d[i].y0 = 0.2f;
		d[i].x1 = d[i].x0 + 0.08f;
		d[i].y1 = 0.7f;
		d[i].score = 0.8f;
	}

	int64_t t0 = vg_mono_us();
	for (long i = 0; i < n; i++) {
		d[0].x0 = (i % 2) ? 0.5f : 0.0f;
		vg_mqtt_publish_detections(m, "cam", d, 5, 768, 576, (uint64_t)vg_mono_us(), vg_wall_us());
	}
	int64_t t1 = vg_mono_us();
	vg_mqtt_get_stats(m, &st);
	uint64_t dropped = st.dropped;
	wait_for(n - (long)dropped, 10000000);
	int64_t t2 = vg_mono_us();
	long got = atomic_load(&received);
	double call_us = (double)(t1 - t0) / (double)n;
	printf("burst: %ld publish calls in %.1f ms (%.2f us a call), %ld received in %.1f ms (%.0f messages/s), "
	       "%" PRIu64 " dropped (queue full)\n",
	       n, (double)(t1 - t0) / 1000.0, call_us, got, (double)(t2 - t0) / 1000.0,
	       (double)got * 1e6 / (double)(t2 - t0), dropped);
	printf("RESULT mqtt_publish_call_us %.3f\n", call_us);
	printf("RESULT mqtt_burst_msgs_per_s %.0f\n", (double)got * 1e6 / (double)(t2 - t0));

	/* Paced. */
	vg_sleep_us(300000);
	atomic_store(&received, 0);
	atomic_store(&nlat, 0);
	long paced = (long)(rate * 4);
	if (paced > n)
		paced = n;
	int64_t start = vg_mono_us();
	for (long i = 0; i < paced; i++) {
		int64_t due = start + (int64_t)((double)i * 1e6 / rate);
		vg_sleep_us(due - vg_mono_us());
		d[0].x0 = (i % 2) ? 0.5f : 0.0f;
		vg_mqtt_publish_detections(m, "cam", d, 5, 768, 576, (uint64_t)vg_mono_us(), vg_wall_us());
	}
	wait_for(paced, 5000000);
	long k = atomic_load(&nlat);
	if (k > lat_cap)
		k = lat_cap;
	qsort(lat, (size_t)k, sizeof *lat, cmp_i64);
	if (k > 0) {
		printf("paced: %ld messages at %.0f/s, %ld received; latency publish call -> subscriber: p50 %.3f ms, "
		       "p99 %.3f ms, max %.3f ms\n",
		       paced, rate, k, (double)lat[k / 2] / 1000.0, (double)lat[k * 99 / 100] / 1000.0,
		       (double)lat[k - 1] / 1000.0);
		printf("RESULT mqtt_latency_p50_ms %.3f\n", (double)lat[k / 2] / 1000.0);
		printf("RESULT mqtt_latency_p99_ms %.3f\n", (double)lat[k * 99 / 100] / 1000.0);
	}

	vg_mqtt_destroy(m);
	mosquitto_disconnect(sub);
	mosquitto_loop_stop(sub, true);
	mosquitto_destroy(sub);
	kill(broker, SIGKILL);
	waitpid(broker, NULL, 0);
	unlink(conf);
	free(lat);
	return 0;
}
