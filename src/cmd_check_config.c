/*
 * vigil check-config FILE [--node NAME]: reads and checks a configuration
 * file, loads each distinct model once (and each camera's classifier) to
 * show that they load, and prints what the file describes. Opens no source
 * and no socket.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "config.h"
#include "core/log.h"
#include "core/redact.h"
#include "detect/classify.h"
#include "detect/detector.h"

static void usage(FILE *out)
{
	fprintf(out, "usage: vigil check-config FILE [--node NAME]\n"
		     "\n"
		     "Reads a configuration file as `vigil serve --config FILE` would, loads every model it\n"
		     "names, and prints its cameras, models, nodes, MQTT broker and authentication. Opens no\n"
		     "video source and no socket. Exits 0 when the file is good, 2 with the problem otherwise.\n"
		     "\n"
		     "      --node NAME  also check that node NAME is declared, and mark the cameras it runs\n"
		     "  -h, --help       show this help\n");
}

/* A camera's classifier on the detector's labels, loaded and dropped; 0, or -1 with err. */
static int check_classifier(const vg_config *cfg, const vg_config_camera *cam, vg_detector *det, char *err,
			    size_t errlen)
{
	vg_classifier *cls = NULL;
	char msg[1024];
	if (vg_classifier_create(&cls, cam->pipeline.classifier, vg_detector_labels(det), msg, sizeof msg) < 0) {
		snprintf(err, errlen, "%s: camera '%s' (line %d): classifier '%s': %s", cfg->path, cam->name, cam->line,
			 cam->classifier.model, msg);
		return -1;
	}
	printf("classifier of camera '%s': %s loads\n", cam->name, cam->classifier.model);
	vg_classifier_destroy(cls);
	return 0;
}

/*
 * Loads each distinct model once, as serve would share it, and checks every
 * camera's filters (its classes against the model's labels) and classifier
 * on it; prints one line per model.
 */
static int check_models(const vg_config *cfg, char *err, size_t errlen)
{
	for (int i = 0; i < cfg->ncameras; i++) {
		const vg_config_camera *cam = &cfg->cameras[i];
		if (!cam->pipeline.detector)
			continue;
		int seen = 0;
		for (int j = 0; j < i && !seen; j++)
			seen = cfg->cameras[j].pipeline.detector &&
			       vg_config_model_same(cfg->cameras[j].pipeline.detector, cam->pipeline.detector);
		if (seen)
			continue;
		vg_detector *det = NULL;
		char msg[1024];
		if (vg_detector_create(&det, cam->pipeline.detector, msg, sizeof msg) < 0) {
			snprintf(err, errlen, "%s: camera '%s' (line %d): model '%s': %s", cfg->path, cam->name, cam->line,
				 cam->detector.model, msg);
			return -1;
		}
		printf("model %s%s%s%s loads (decoder %s) for", cam->model_key ? "'" : "", cam->model_key ? cam->model_key : "",
		       cam->model_key ? "': " : "", cam->detector.model, vg_detector_decoder_name(det));
		int rc = 0;
		for (int j = i; j < cfg->ncameras && rc == 0; j++) {
			const vg_config_camera *other = &cfg->cameras[j];
			if (!other->pipeline.detector || !vg_config_model_same(other->pipeline.detector, cam->pipeline.detector))
				continue;
			vg_detection_filter filter;
			if (vg_detection_filter_init(&filter, det, other->pipeline.detector, "classes", msg, sizeof msg) < 0) {
				snprintf(err, errlen, "%s: camera '%s' (line %d): %s", cfg->path, other->name, other->line, msg);
				rc = -1;
			} else {
				printf(" %s", other->name);
			}
		}
		printf("\n");
		for (int j = i; j < cfg->ncameras && rc == 0; j++) {
			const vg_config_camera *other = &cfg->cameras[j];
			if (other->pipeline.detector && other->pipeline.classifier &&
			    vg_config_model_same(other->pipeline.detector, cam->pipeline.detector))
				rc = check_classifier(cfg, other, det, err, errlen);
		}
		vg_detector_destroy(det);
		if (rc < 0)
			return -1;
	}
	return 0;
}

static void print_summary(const vg_config *cfg, const char *node)
{
	int disabled = 0;
	for (int i = 0; i < cfg->ncameras; i++)
		disabled += !cfg->cameras[i].enabled;
	printf("cameras: %d", cfg->ncameras);
	if (disabled)
		printf(" (%d disabled)", disabled);
	printf("\n");
	for (int i = 0; i < cfg->ncameras; i++) {
		const vg_config_camera *c = &cfg->cameras[i];
		char shown[VG_REDACT_MAX];
		const char *cnode = c->node ? c->node : "default";
		vg_redact_uri(c->pipeline.source.uri, shown, sizeof shown);
		printf("  %-16s node %-12s %s%s  source %s", c->name, cnode, c->enabled ? "" : "disabled  ",
		       node && !strcmp(node, cnode) && c->enabled ? "(runs here)" : "", shown);
		if (c->pipeline.detector)
			printf("  model %s", c->model_key ? c->model_key : c->detector.model);
		if (c->pipeline.classifier)
			printf("  classify %s", c->classifier.model);
		if (c->pipeline.detector && !c->pipeline.scene.tracking)
			printf("  no tracking");
		const vg_scene_options *sc = &c->pipeline.scene;
		for (int z = 0; z < sc->nzones; z++)
			printf("%s%s", z ? ", " : "  zones ", sc->zones[z].name);
		for (int l = 0; l < sc->nlines; l++)
			printf("%s%s", l ? ", " : "  lines ", sc->lines[l].name);
		printf("\n");
	}
	if (cfg->nnodes) {
		printf("nodes: %d\n", cfg->nnodes);
		for (int i = 0; i < cfg->nnodes; i++)
			printf("  %-16s listen %s%s%s\n", cfg->nodes[i].name, cfg->nodes[i].listen,
			       cfg->nodes[i].url ? "  url " : "", cfg->nodes[i].url ? cfg->nodes[i].url : "");
	} else {
		printf("nodes: none declared (every camera runs on the one server, listening on %s)\n",
		       cfg->global.http.listen);
	}
	if (cfg->mqtt.host)
		printf("mqtt: %s:%d%s, prefix '%s', qos %d\n", cfg->mqtt.host, cfg->mqtt.port, cfg->mqtt.ca_file ? " (TLS)" : "",
		       cfg->mqtt.prefix, cfg->mqtt.qos);
	else
		printf("mqtt: off\n");
	if (cfg->auth.token || cfg->auth.nusers)
		printf("auth: on (%s%s%d user%s)\n", cfg->auth.token ? "bearer token" : "", cfg->auth.token ? ", " : "",
		       cfg->auth.nusers, cfg->auth.nusers == 1 ? "" : "s");
	else
		printf("auth: off\n");
}

int vg_cmd_check_config(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "node", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *node = NULL;
	int c;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			node = optarg;
			break;
		case 'h':
			usage(stdout);
			return VG_EXIT_OK;
		case ':':
			fprintf(stderr, "vigil: option '%s' needs a value\n", argv[optind - 1]);
			return VG_EXIT_BAD_INPUT;
		default:
			fprintf(stderr, "vigil: unknown option '%s' (see vigil check-config --help)\n", argv[optind - 1]);
			return VG_EXIT_BAD_INPUT;
		}
	}
	if (argc - optind != 1) {
		fprintf(stderr, "vigil: check-config needs one configuration file (see vigil check-config --help)\n");
		return VG_EXIT_BAD_INPUT;
	}
	const char *path = argv[optind];
	char err[2048];
	vg_config *cfg = NULL;
	/* Loading models logs what it chose; the summary says what matters here. */
	vg_log_set_level(VG_LOG_WARN);
	if (vg_config_load(&cfg, path, err, sizeof err) < 0) {
		fprintf(stderr, "vigil: %s\n", err);
		return VG_EXIT_BAD_INPUT;
	}
	int status = VG_EXIT_OK;
	if (node && cfg->nnodes && !vg_config_node_find(cfg, node)) {
		fprintf(stderr, "vigil: %s: --node %s: no such node under nodes:\n", path, node);
		status = VG_EXIT_BAD_INPUT;
	} else if (node && !cfg->nnodes && strcmp(node, "default") != 0) {
		fprintf(stderr, "vigil: %s: --node %s: the file declares no nodes: (its cameras run on node 'default')\n",
			path, node);
		status = VG_EXIT_BAD_INPUT;
	} else if (vg_config_apply_redact(cfg, err, sizeof err) < 0 || check_models(cfg, err, sizeof err) < 0) {
		fprintf(stderr, "vigil: %s\n", err);
		status = VG_EXIT_BAD_INPUT;
	} else {
		print_summary(cfg, node);
		printf("%s: OK\n", path);
	}
	vg_config_free(cfg);
	return status;
}
