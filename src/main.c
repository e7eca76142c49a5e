/*
 * vigil: real-time video analytics server.
 * Command dispatch; each command parses its own options.
 */
#include <event2/event.h>
#include <event2/thread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "core/stats.h"
#include "http/server.h"
#include "options.h"
#include "pipeline.h"

/* Exit codes: 0 success, 1 runtime failure, 2 bad usage or input. */
enum { EXIT_BAD_INPUT = 2 };

typedef struct serve_state {
	struct event_base *base;
	vg_pipeline *pipeline;
	vg_http_server *http;
} serve_state;

static void on_stop_signal(evutil_socket_t sig, short events, void *arg)
{
	(void)events;
	serve_state *s = arg;
	vg_info("%s received, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
	vg_pipeline_stop(s->pipeline);
	vg_http_server_shutdown(s->http);
	event_base_loopbreak(s->base);
}

static void sink_frame(void *opaque, vg_blob *part)
{
	vg_http_server_publish_frame(opaque, part);
}

static void sink_event(void *opaque, vg_blob *sse)
{
	vg_http_server_publish_event(opaque, sse);
}

static int cmd_serve(int argc, char **argv)
{
	vg_serve_options opt;
	char err[512] = "";
	int rc = vg_serve_options_parse(&opt, argc, argv, err, sizeof err);
	if (rc == 1)
		return 0;
	if (rc < 0) {
		fprintf(stderr, "vigil: %s\n", err);
		return EXIT_BAD_INPUT;
	}
	vg_log_set_level(opt.log_level);

	/* A client that disconnects mid-write must cost an EPIPE, not the process. */
	signal(SIGPIPE, SIG_IGN);
	evthread_use_pthreads();

	int status = EXIT_BAD_INPUT;
	vg_stats stats;
	vg_stats_init(&stats, opt.pipeline.source.uri);
	serve_state s = { 0 };
	struct event *sigint = NULL, *sigterm = NULL;

	s.base = event_base_new();
	if (!s.base) {
		fprintf(stderr, "vigil: cannot create the event loop\n");
		return 1;
	}
	if (vg_http_server_create(&s.http, s.base, &opt.http, &stats, err, sizeof err) < 0)
		goto fail;
	vg_pipeline_sink sink = { s.http, sink_frame, sink_event };
	if (vg_pipeline_create(&s.pipeline, &opt.pipeline, &sink, &stats, err, sizeof err) < 0)
		goto fail;

	sigint = evsignal_new(s.base, SIGINT, on_stop_signal, &s);
	sigterm = evsignal_new(s.base, SIGTERM, on_stop_signal, &s);
	if (!sigint || !sigterm || evsignal_add(sigint, NULL) < 0 || evsignal_add(sigterm, NULL) < 0) {
		snprintf(err, sizeof err, "cannot install signal handlers");
		status = 1;
		goto fail;
	}
	if (vg_pipeline_start(s.pipeline, err, sizeof err) < 0) {
		status = 1;
		goto fail;
	}
	vg_info("serving %s on http://%s/", opt.pipeline.source.uri, opt.http.listen);
	event_base_dispatch(s.base);
	status = 0;
	err[0] = '\0';

fail:
	if (err[0])
		fprintf(stderr, "vigil: %s\n", err);
	if (s.pipeline)
		vg_pipeline_destroy(s.pipeline);
	if (s.http)
		vg_http_server_destroy(s.http);
	if (sigint)
		event_free(sigint);
	if (sigterm)
		event_free(sigterm);
	event_base_free(s.base);
	libevent_global_shutdown();
	return status;
}

static void usage(FILE *out)
{
	fprintf(out, "usage: vigil COMMAND [options]\n"
		     "\n"
		     "Commands:\n"
		     "  serve     stream a video source, analysed, to browsers (vigil serve --help)\n"
		     "\n"
		     "  vigil --version    print the version\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_BAD_INPUT;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "serve"))
		return cmd_serve(argc - 1, argv + 1);
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		usage(stdout);
		return 0;
	}
	if (!strcmp(cmd, "--version")) {
		printf("vigil %s\n", VG_VERSION);
		return 0;
	}
	fprintf(stderr, "vigil: unknown command '%s' (see vigil --help)\n", cmd);
	return EXIT_BAD_INPUT;
}
