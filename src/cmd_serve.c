#include <event2/event.h>
#include <event2/thread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "camera_set.h"
#include "commands.h"
#include "config.h"
#include "core/log.h"
#include "core/redact.h"
#include "core/stats.h"
#include "http/auth.h"
#include "http/server.h"
#include "options.h"
#include "publish/mqtt.h"
#include "store/event_store.h"

typedef struct serve_state {
	struct event_base *base;
	vg_camera_set *cameras;
	vg_http_server *http;
	vg_mqtt *mqtt;
	vg_event_store *store;     /* NULL: no camera tracks objects */
	const char *config_path;   /* NULL: the command line's one camera */
	const char *auth_token_file; /* --auth-token, read again on SIGHUP */
	int status;                /* the exit status once the loop ends */
} serve_state;

/*
 * The object events' store, when a camera tracks objects (a model and
 * tracking): under --data, or the user's data folder. A camera added by a
 * reload later finds it only if one was open from the start.
 */
static int open_store(serve_state *s, const vg_config *cfg, const vg_serve_options *cmdline, char *err,
		      size_t errlen)
{
	int wanted = 0;
	for (int i = 0; i < cfg->ncameras; i++)
		wanted |= cfg->cameras[i].pipeline.detector && cfg->cameras[i].pipeline.scene.tracking;
	if (!wanted)
		return 0;
	const vg_serve_options *g = &cfg->global;
	char dir[4096];
	const char *data = cmdline->data_dir ? cmdline->data_dir : g->data_dir;
	if (!data) {
		if (vg_store_default_dir(dir, sizeof dir) != 0) {
			snprintf(err, errlen, "no folder for the events: set --data DIR (HOME is not set)");
			return -1;
		}
		data = dir;
	}
	vg_store_options so = { .dir = data,
				.clips_dir = cmdline->clips_dir ? cmdline->clips_dir : g->clips_dir,
				.retain_days = cmdline->retain_days > 0 ? cmdline->retain_days : g->retain_days,
				.max_bytes = cmdline->max_storage_bytes > 0 ? cmdline->max_storage_bytes
									      : g->max_storage_bytes };
	if (vg_event_store_open(&s->store, &so, err, errlen) < 0)
		return -1;
	vg_http_server_set_store(s->http, s->store);
	return 0;
}

static void shut_down(serve_state *s)
{
	vg_camera_set_stop(s->cameras);
	vg_http_server_shutdown(s->http);
	event_base_loopbreak(s->base);
}

static void on_stop_signal(evutil_socket_t sig, short events, void *arg)
{
	(void)events;
	serve_state *s = arg;
	vg_info("%s received, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
	shut_down(s);
}

/* The access control of a configuration re-read, with the --auth-token file read again (a rotated token). */
static void reload_auth(serve_state *s, const vg_config *cfg)
{
	char err[512];
	vg_config_auth auth = cfg->auth;
	char *token = NULL;
	if (s->auth_token_file && vg_auth_read_token_file(s->auth_token_file, &token, err, sizeof err) < 0) {
		vg_error("SIGHUP: --auth-token %s; access control stays as it was", err);
		return;
	}
	if (token)
		auth.token = token;
	if (vg_http_server_set_auth(s->http, &auth, err, sizeof err) < 0)
		vg_error("SIGHUP: %s; access control stays as it was", err);
	free(token);
}

/* SIGHUP re-reads the configuration file; cameras it did not change go on undisturbed. */
static void on_hangup(evutil_socket_t sig, short events, void *arg)
{
	(void)sig;
	(void)events;
	serve_state *s = arg;
	if (!s->config_path) {
		/* The default action of SIGHUP would end the server without a word. */
		vg_info("SIGHUP received: no configuration file to reload (see --config), ignored");
		return;
	}
	char err[1024];
	vg_config *cfg;
	if (vg_config_load(&cfg, s->config_path, err, sizeof err) < 0) {
		vg_error("SIGHUP: %s; the cameras stay as they were", err);
		return;
	}
	vg_info("SIGHUP: re-read %s", s->config_path);
	reload_auth(s, cfg);
	vg_reload_counts n;
	vg_camera_set_reload(s->cameras, cfg, &n);
	char failed[32] = "";
	if (n.failed)
		snprintf(failed, sizeof failed, ", %d failed", n.failed);
	vg_info("SIGHUP: cameras %d started, %d stopped, %d restarted, %d unchanged%s (auth: reloaded; other server "
		"settings apply at the next start)",
		n.started, n.stopped, n.restarted, n.unchanged, failed);
}

/* The command line's camera proved undecodable: bad input, as for detect. */
static void on_fatal(void *opaque)
{
	serve_state *s = opaque;
	s->status = VG_EXIT_BAD_INPUT;
	shut_down(s);
}

int vg_cmd_serve(int argc, char **argv)
{
	vg_serve_options opt;
	char err[1024] = "";
	int rc = vg_serve_options_parse(&opt, argc, argv, err, sizeof err);
	if (rc == 1)
		return VG_EXIT_OK;
	if (rc < 0) {
		fprintf(stderr, "vigil: %s\n", err);
		return VG_EXIT_BAD_INPUT;
	}
	vg_config *cfg;
	if ((opt.config_path ? vg_config_load(&cfg, opt.config_path, err, sizeof err)
			     : vg_config_from_options(&cfg, &opt, err, sizeof err)) < 0) {
		fprintf(stderr, "vigil: %s\n", err);
		return VG_EXIT_BAD_INPUT;
	}
	const vg_serve_options *global = &cfg->global;
	/* -v and -q beside --config win over the file's log_level. */
	vg_log_set_level(opt.log_level_set ? opt.log_level : global->log_level);
	if (opt.config_path && vg_config_apply_redact(cfg, err, sizeof err) < 0) {
		fprintf(stderr, "vigil: %s\n", err);
		vg_config_free(cfg);
		return VG_EXIT_BAD_INPUT;
	}
	/* --auth-token FILE: read once, here, and never logged; it joins the configuration's auth:. */
	vg_config_auth auth = cfg->auth;
	char *token = NULL;
	if (opt.auth_token_file) {
		if (vg_auth_read_token_file(opt.auth_token_file, &token, err, sizeof err) < 0) {
			fprintf(stderr, "vigil: --auth-token %s\n", err);
			vg_config_free(cfg);
			return VG_EXIT_BAD_INPUT;
		}
		auth.token = token;
	}

	/* A client that disconnects mid-write must cost an EPIPE, not the process. */
	signal(SIGPIPE, SIG_IGN);
	evthread_use_pthreads();

	int status = VG_EXIT_BAD_INPUT;
	vg_stats http_stats;
	vg_stats_init(&http_stats, NULL);
	serve_state s = { .config_path = opt.config_path, .auth_token_file = opt.auth_token_file };
	struct event *sigint = NULL, *sigterm = NULL, *sighup = NULL;

	s.base = event_base_new();
	if (!s.base) {
		vg_config_free(cfg);
		fprintf(stderr, "vigil: cannot create the event loop\n");
		free(token);
		return VG_EXIT_FAILURE;
	}
	vg_http_options http = global->http;
	http.auth = &auth;
	const vg_config_node *node = vg_config_node_find(cfg, opt.node);
	if (opt.node && cfg->nnodes > 0 && !node) {
		snprintf(err, sizeof err, "%s: no node '%s' under nodes:", opt.config_path, opt.node);
		vg_config_free(cfg);
		goto done;
	}
	if (node && node->listen)
		http.listen = node->listen;
	if (vg_http_server_create(&s.http, s.base, &http, &http_stats, err, sizeof err) < 0) {
		vg_config_free(cfg);
		goto done;
	}
	vg_http_server_set_node(s.http, opt.node, node ? node->url : NULL);
	/* How the fleet reaches this node: the nodes: entry's url, else the address bound. */
	char self_url[VG_HTTP_ADDRESS_LEN + 16];
	snprintf(self_url, sizeof self_url, "http://%s/", vg_http_server_address(s.http));
	if (cfg->mqtt.host) {
		/* The broker being down is no error: the client keeps trying in the background. */
		if (vg_mqtt_create(&s.mqtt, &cfg->mqtt, opt.node, err, sizeof err) < 0) {
			vg_config_free(cfg);
			goto done;
		}
		atomic_store(&http_stats.mqtt_enabled, 1);
	}
	if (open_store(&s, cfg, &opt, err, sizeof err) < 0) {
		vg_config_free(cfg);
		goto done;
	}
	vg_camera_set_options co = {
		.base = s.base,
		.http = s.http,
		.node = opt.node,
		.strict = opt.config_path == NULL,
		.fatal = on_fatal,
		.opaque = &s,
		.mqtt = s.mqtt,
		.node_url = node && node->url ? node->url : self_url,
		.http_stats = &http_stats,
		.store = s.store,
	};
	/* From here the set owns cfg. */
	if (vg_camera_set_create(&s.cameras, &co, cfg, err, sizeof err) < 0)
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
	if (vg_camera_set_start(s.cameras, err, sizeof err) < 0) {
		status = VG_EXIT_FAILURE;
		goto done;
	}
	const vg_config *running = vg_camera_set_config(s.cameras);
	if (opt.config_path) {
		vg_info("serving %d camera%s of %s%s%s on http://%s/", running->ncameras, running->ncameras == 1 ? "" : "s",
			opt.config_path, opt.node ? " as node " : "", opt.node ? opt.node : "",
			vg_http_server_address(s.http));
	} else {
		const vg_config_camera *cam = &running->cameras[0];
		char display[VG_REDACT_MAX];
		vg_redact_uri(cam->pipeline.source.uri, display, sizeof display);
		vg_info("serving %s%s%s on http://%s/", display,
			cam->pipeline.detector ? " with " : "", cam->pipeline.detector ? cam->detector.model : "",
			vg_http_server_address(s.http));
	}
	if (s.store)
		vg_info("object events kept in %s", vg_event_store_dir(s.store));
	s.status = VG_EXIT_OK;
	event_base_dispatch(s.base);
	status = s.status;
	err[0] = '\0';

done:
	if (err[0])
		fprintf(stderr, "vigil: %s\n", err);
	/* Pipelines first (they publish to MQTT), then MQTT (its thread calls into the set), then the set. */
	if (s.cameras)
		vg_camera_set_stop(s.cameras);
	vg_mqtt_destroy(s.mqtt);
	vg_camera_set_destroy(s.cameras);
	if (s.http)
		vg_http_server_destroy(s.http);
	vg_event_store_close(s.store);
	if (sigint)
		event_free(sigint);
	if (sigterm)
		event_free(sigterm);
	if (sighup)
		event_free(sighup);
	event_base_free(s.base);
	libevent_global_shutdown();
	free(token);
	return status;
}
