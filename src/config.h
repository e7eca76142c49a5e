#ifndef VG_CONFIG_H
#define VG_CONFIG_H

#include <stddef.h>

#include "options.h"

/*
 * The server's configuration: global settings and the cameras it serves.
 * `vigil serve --config FILE` reads it from a YAML file (libyaml); the
 * single-camera command line is one case of it (vg_config_from_options).
 *
 * The file's keys are the long options of `vigil serve` spelled with
 * underscores (max_detections for --max-detections), grouped as below; each
 * value goes through the same parser as the option, so that the file and the
 * command line accept and refuse the same things. Every error names the file,
 * the line, the column and the key; an unknown key is an error.
 *
 *   listen: 127.0.0.1:8080          # and every other HTTP option of serve
 *   log_level: info                 # debug | info | warn | error
 *   inference_workers: 2            # inferences in flight at once, across cameras
 *   defaults: { model: NAME, threshold: 0.5, quality: 80, ... }  # any camera key
 *   models:                         # declared once, shared by the cameras naming them
 *     people: { model: /path/model.tflite, threads: 1, labels: ..., ... }
 *   auth: { token: ${VIGIL_TOKEN}, token_file: FILE, users: { alice: HASH }, session_secret: ... }
 *   mqtt: { host: 127.0.0.1, port: 1883, client_id: ..., prefix: vigil, username: ..., password: ...,
 *           ca_file: ..., qos: 0, max_rate: 5, snapshot: false, stats_interval: 10, keepalive: 10 }
 *   nodes:                          # a fleet: where each node listens and how others reach it
 *     a: { listen: 127.0.0.1:8081, url: http://127.0.0.1:8081/ }
 *   cameras:
 *     door:                         # [a-z0-9_-]{1,32}
 *       source: rtsp://...          # and loop, no_pace, size, input_format, reconnect_max, redact_param
 *       model: people               # a name under models:, or a model file with its settings here
 *       threshold: 0.6
 *       classes: person,car
 *       fps: 5                      # output cap
 *       enabled: true
 *       node: a
 *       privacy: blur, privacy_classes: person, classify: ..., ...
 *
 * `${NAME}` anywhere in a scalar is replaced from the environment (an unset
 * NAME is an error naming it), so that secrets stay out of the file.
 */

#define VG_CAMERA_NAME_MAX 32

typedef struct vg_config_camera {
	char name[VG_CAMERA_NAME_MAX + 1];
	const char *node;                  /* NULL: node "default" */
	int enabled;
	/*
	 * Ready for vg_pipeline_create: its detector and classifier pointers
	 * point at the two below (or are NULL without a model / classifier).
	 */
	vg_pipeline_options pipeline;
	vg_detector_options detector;
	vg_classifier_options classifier;
	/*
	 * The name under models: this camera's model came from, or NULL. Cameras
	 * with the same model_key and equal detector options share one loaded model.
	 */
	const char *model_key;
	int line;                          /* where the camera was declared, for messages */
} vg_config_camera;

typedef struct vg_config_user {
	const char *name;
	const char *hash;                  /* a crypt(3) / libsodium password hash string */
} vg_config_user;

typedef struct vg_config_auth {
	const char *token;                 /* bearer token, or NULL */
	vg_config_user *users;
	int nusers;
	const char *session_secret;        /* NULL: a random one per process start */
} vg_config_auth;

typedef struct vg_config_mqtt {
	const char *host;                  /* NULL: no MQTT */
	int port;                          /* default 1883 (8883 with ca_file) */
	const char *client_id;             /* default "vigil-" + node name */
	const char *prefix;                /* default "vigil" */
	const char *username, *password;
	const char *ca_file;               /* TLS when set */
	int qos;                           /* 0, 1 or 2 (default 0) */
	double max_rate;                   /* detections messages per second per camera (default 5) */
	int snapshot;                      /* publish PREFIX/CAMERA/snapshot */
	double stats_interval;             /* seconds between PREFIX/nodes/NODE/stats (default 10; 0: never) */
	int keepalive;                     /* seconds (default 10) */
} vg_config_mqtt;

typedef struct vg_config_node {
	const char *name;
	const char *listen;                /* the node's listen address */
	const char *url;                   /* how pages and other nodes reach it */
} vg_config_node;

typedef struct vg_config vg_config;

struct vg_config {
	const char *path;                  /* the file read, or NULL for the command line */
	/*
	 * Global settings: the HTTP options (listen, limits, CORS, hosts,
	 * proxies), the log level and --json as on the command line.
	 */
	vg_serve_options global;
	int inference_workers;             /* default 1 */
	vg_config_auth auth;
	vg_config_mqtt mqtt;
	vg_config_node *nodes;
	int nnodes;
	vg_config_camera *cameras;
	int ncameras;
	/*
	 * redact_param: parameter names to hide in source URIs. Not registered
	 * while loading (the set is process-wide, and check-config or a reload
	 * must not change it): vg_config_apply_redact does that.
	 */
	const char **redact_params;
	int nredact_params;
	/* Private: the strings and arrays above live here. */
	void *arena;
};

/*
 * Reads and checks FILE. Returns 0, or -1 with "FILE:LINE:COLUMN: key 'K': what
 * is wrong" in err.
 */
int vg_config_load(vg_config **out, const char *path, char *err, size_t errlen);

/* vg_config_load on a file's contents already in memory; name is used in messages. */
int vg_config_load_buffer(vg_config **out, const char *data, size_t len, const char *name, char *err,
			  size_t errlen);

/*
 * Makes the file's redact_param names the process-wide set (replacing any
 * registered before), as --redact-param does. 0, or -1 with a message.
 */
int vg_config_apply_redact(const vg_config *cfg, char *err, size_t errlen);

/*
 * 1 when two detectors' options load the same model and run it identically
 * (strings by content), whatever their threshold, classes and maximum count:
 * the filters each camera applies to a shared model's results.
 */
int vg_config_model_same(const vg_detector_options *a, const vg_detector_options *b);
/* 1 when the filters are equal too. */
int vg_config_detector_same(const vg_detector_options *a, const vg_detector_options *b);
int vg_config_classifier_same(const vg_classifier_options *a, const vg_classifier_options *b);

/* The single-camera command line as a configuration of one camera named "default". */
int vg_config_from_options(vg_config **out, const vg_serve_options *opt, char *err, size_t errlen);

/* 1 when s is a valid camera, model or node name: [a-z0-9_-]{1,32}. */
int vg_config_name_valid(const char *s);

/* The camera named NAME, or NULL. */
const vg_config_camera *vg_config_camera_find(const vg_config *cfg, const char *name);

/* 1 when a and b would run identically (a SIGHUP leaves such a camera alone). */
int vg_config_camera_same(const vg_config_camera *a, const vg_config_camera *b);

/* The node named NAME (NULL: "default"), or NULL when the configuration has no such node. */
const vg_config_node *vg_config_node_find(const vg_config *cfg, const char *name);

void vg_config_free(vg_config *cfg);

#endif
