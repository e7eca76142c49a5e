#include <event2/event.h>
#include <event2/thread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>

#include "commands.h"
#include "core/log.h"
#include "core/redact.h"
#include "core/stats.h"
#include "http/server.h"
#include "options.h"
#include "pipeline.h"

typedef struct serve_state {
	struct event_base *base;
	vg_pipeline *pipeline;
	vg_http_server *http;
	struct event *source_end;  /* made active by the source thread when the input ends */
	atomic_int source_result;
	int status;                /* the exit status once the loop ends */
	const char *display_uri;
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

static void on_hangup(evutil_socket_t sig, short events, void *arg)
{
	(void)sig;
	(void)events;
	(void)arg;
	/* The default action of SIGHUP would end the server without a word; a configuration file comes later. */
	vg_info("SIGHUP received: no configuration file to reload, ignored");
}

/* On the loop thread, after the source thread said its input ended. */
static void on_source_end(evutil_socket_t fd, short events, void *arg)
{
	(void)fd;
	(void)events;
	serve_state *s = arg;
	int result = atomic_load(&s->source_result);
	if (result == VG_SOURCE_UNDECODABLE) {
		/* The source logged why; an input that never gives a picture is bad input, as for detect. */
		s->status = VG_EXIT_BAD_INPUT;
		vg_pipeline_stop(s->pipeline);
		vg_http_server_shutdown(s->http);
		event_base_loopbreak(s->base);
		return;
	}
	vg_info("source '%s' ended; the last frame stays available and /healthz answers 503", s->display_uri);
}

/* On the source thread. */
static void sink_source_ended(void *opaque, int result)
{
	serve_state *s = opaque;
	atomic_store(&s->source_result, result);
	event_active(s->source_end, 0, 0);
}

static void sink_frame(void *opaque, vg_blob *part)
{
	serve_state *s = opaque;
	vg_http_server_publish_frame(s->http, part);
}

static void sink_event(void *opaque, vg_blob *sse)
{
	serve_state *s = opaque;
	vg_http_server_publish_event(s->http, sse);
}

int vg_cmd_serve(int argc, char **argv)
{
	vg_serve_options opt;
	char err[512] = "";
	int rc = vg_serve_options_parse(&opt, argc, argv, err, sizeof err);
	if (rc == 1)
		return VG_EXIT_OK;
	if (rc < 0) {
		fprintf(stderr, "vigil: %s\n", err);
		return VG_EXIT_BAD_INPUT;
	}
	vg_log_set_level(opt.log_level);

	/* A client that disconnects mid-write must cost an EPIPE, not the process. */
	signal(SIGPIPE, SIG_IGN);
	evthread_use_pthreads();

	int status = VG_EXIT_BAD_INPUT;
	/* Every page and line shows the source without its secrets (core/redact.h). */
	char display_uri[VG_REDACT_MAX];
	vg_redact_uri(opt.pipeline.source.uri, display_uri, sizeof display_uri);
	vg_stats stats;
	vg_stats_init(&stats, display_uri);
	serve_state s = { .display_uri = display_uri };
	struct event *sigint = NULL, *sigterm = NULL, *sighup = NULL;

	s.base = event_base_new();
	if (!s.base) {
		fprintf(stderr, "vigil: cannot create the event loop\n");
		return VG_EXIT_FAILURE;
	}
	if (vg_http_server_create(&s.http, s.base, &opt.http, &stats, err, sizeof err) < 0)
		goto done;
	s.source_end = event_new(s.base, -1, 0, on_source_end, &s);
	if (!s.source_end) {
		snprintf(err, sizeof err, "cannot create the source end event");
		status = VG_EXIT_FAILURE;
		goto done;
	}
	vg_pipeline_sink sink = { &s, sink_frame, sink_event, sink_source_ended };
	if (vg_pipeline_create(&s.pipeline, &opt.pipeline, &sink, &stats, err, sizeof err) < 0)
		goto done;

	sigint = evsignal_new(s.base, SIGINT, on_stop_signal, &s);
	sigterm = evsignal_new(s.base, SIGTERM, on_stop_signal, &s);
	sighup = evsignal_new(s.base, SIGHUP, on_hangup, &s);
	if (!sigint || !sigterm || !sighup || evsignal_add(sigint, NULL) < 0 || evsignal_add(sigterm, NULL) < 0 ||
	    evsignal_add(sighup, NULL) < 0) {
		snprintf(err, sizeof err, "cannot install signal handlers");
		status = VG_EXIT_FAILURE;
		goto done;
	}
	if (vg_pipeline_start(s.pipeline, err, sizeof err) < 0) {
		status = VG_EXIT_FAILURE;
		goto done;
	}
	vg_info("serving %s%s%s on http://%s/", display_uri, opt.detector.model ? " with " : "",
		opt.detector.model ? opt.detector.model : "", vg_http_server_address(s.http));
	s.status = VG_EXIT_OK;
	event_base_dispatch(s.base);
	status = s.status;
	err[0] = '\0';

done:
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
	if (sighup)
		event_free(sighup);
	/* Only now: the source thread, which activates it, was joined with the pipeline. */
	if (s.source_end)
		event_free(s.source_end);
	event_base_free(s.base);
	libevent_global_shutdown();
	return status;
}
