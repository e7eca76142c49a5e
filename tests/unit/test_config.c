#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "core/log.h"
#include "test.h"

/*
 * Model files only need to exist for the configuration to load (check-config
 * loads them); these are empty files in a fresh folder.
 */
static char dir[] = "/tmp/vigil-config-XXXXXX";
static char model_a[256], model_b[256], classifier[256];

static void remove_models(void)
{
	unlink(model_a);
	unlink(model_b);
	unlink(classifier);
	rmdir(dir);
}

static void make_models(void)
{
	CHECK(mkdtemp(dir));
	atexit(remove_models);
	snprintf(model_a, sizeof model_a, "%s/a.tflite", dir);
	snprintf(model_b, sizeof model_b, "%s/b.tflite", dir);
	snprintf(classifier, sizeof classifier, "%s/c.tflite", dir);
	const char *paths[] = { model_a, model_b, classifier };
	for (int i = 0; i < 3; i++) {
		FILE *f = fopen(paths[i], "w");
		CHECK(f);
		fclose(f);
	}
}

static vg_config *load_ok(const char *yaml)
{
	vg_config *cfg = NULL;
	char err[1024] = "";
	int rc = vg_config_load_buffer(&cfg, yaml, strlen(yaml), "t.yaml", err, sizeof err);
	CHECK_MSG(rc == 0 && cfg, "load failed: %s\n--- yaml:\n%s", err, yaml);
	return cfg;
}

/* Loading fails with exactly this message. */
#define CHECK_ERR(yaml, expected)                                                                              \
	do {                                                                                                   \
		vg_config *cfg_ = NULL;                                                                        \
		char err_[1024] = "";                                                                          \
		int rc_ = vg_config_load_buffer(&cfg_, (yaml), strlen(yaml), "t.yaml", err_, sizeof err_);     \
		CHECK_MSG(rc_ < 0 && !cfg_, "loaded, expected '%s'", (expected));                              \
		CHECK_MSG(!strcmp(err_, (expected)), "message\n  '%s'\nexpected\n  '%s'", err_, (expected)); \
	} while (0)

TEST(config_full_file)
{
	make_models();
	setenv("VG_TEST_TOKEN", "s3cret", 1);
	char yaml[4096];
	snprintf(yaml, sizeof yaml,
		 "listen: 127.0.0.1:9000\n"
		 "max_clients: 7\n"
		 "max_conns_per_address: 0\n"
		 "stall_timeout: 2.5\n"
		 "cors_origin: [https://a.example, 'https://b.example:8443']\n"
		 "allowed_host: cam.example, cam2.example\n"
		 "trusted_proxy: [10.0.0.0/8]\n"
		 "redact_param: [sess, sid]\n"
		 "log_level: warn\n"
		 "json: true\n"
		 "inference_workers: 3\n"
		 "defaults:\n"
		 "  quality: 60\n"
		 "  fps: 5\n"
		 "models:\n"
		 "  people:\n"
		 "    model: %s\n"
		 "    threads: 2\n"
		 "    threshold: 0.6\n"
		 "    classes: [person, bicycle]\n"
		 "    resize: letterbox\n"
		 "nodes:\n"
		 "  a: { listen: 127.0.0.1:8081, url: http://127.0.0.1:8081/ }\n"
		 "  b: { listen: 127.0.0.1:8082 }\n"
		 "mqtt:\n"
		 "  host: 127.0.0.1\n"
		 "  port: 1884\n"
		 "  prefix: site/vigil\n"
		 "  username: cam\n"
		 "  password: ${VG_TEST_TOKEN}\n"
		 "  qos: 2\n"
		 "  max_rate: 2.5\n"
		 "  snapshot: on\n"
		 "  stats_interval: 0\n"
		 "  keepalive: 30\n"
		 "auth:\n"
		 "  token: ${VG_TEST_TOKEN}\n"
		 "  session_secret: abcdefabcdef\n"
		 "  users:\n"
		 "    alice: \"$argon2id$v=19$m=65536,t=2,p=1$c2FsdA$aGFzaA\"\n"
		 "    bob: \"$6$salt$hash\"\n"
		 "cameras:\n"
		 "  door:\n"
		 "    source: rtsp://cam:${VG_TEST_TOKEN}@10.0.0.2/live\n"
		 "    model: people\n"
		 "    threshold: 0.7\n"
		 "    node: a\n"
		 "    classify: %s\n"
		 "    classify_max: 3\n"
		 "    privacy: blur\n"
		 "  yard-2:\n"
		 "    source: lavfi:testsrc=size=320x240\n"
		 "    no_pace: yes\n"
		 "    loop: true\n"
		 "    enabled: off\n"
		 "    node: b\n"
		 "    reconnect_max: 0.5\n",
		 model_a, classifier);
	vg_config *cfg = load_ok(yaml);
	CHECK(!strcmp(cfg->path, "t.yaml"));
	const vg_serve_options *g = &cfg->global;
	CHECK(!strcmp(g->http.listen, "127.0.0.1:9000"));
	CHECK(g->http.max_clients == 7);
	CHECK(g->http.max_conns_per_address == -1);
	CHECK(g->http.stall_timeout_us == 2500000);
	CHECK(g->http.ncors_origins == 2 && !strcmp(g->http.cors_origins[1], "https://b.example:8443"));
	CHECK(g->http.nallowed_hosts == 2 && !strcmp(g->http.allowed_hosts[0], "cam.example") &&
	      !strcmp(g->http.allowed_hosts[1], "cam2.example"));
	CHECK(g->http.ntrusted_proxies == 1);
	CHECK(cfg->nredact_params == 2 && !strcmp(cfg->redact_params[1], "sid"));
	CHECK(g->log_level == VG_LOG_WARN);
	CHECK(g->json == 1);
	CHECK(cfg->inference_workers == 3);

	CHECK(cfg->nnodes == 2 && !strcmp(cfg->nodes[0].name, "a") && !strcmp(cfg->nodes[0].url, "http://127.0.0.1:8081/"));
	CHECK(cfg->nodes[1].url == NULL && !strcmp(cfg->nodes[1].listen, "127.0.0.1:8082"));
	CHECK(vg_config_node_find(cfg, "b") == &cfg->nodes[1]);
	CHECK(vg_config_node_find(cfg, NULL) == NULL);
	CHECK(vg_config_node_find(cfg, "c") == NULL);

	CHECK(!strcmp(cfg->mqtt.host, "127.0.0.1") && cfg->mqtt.port == 1884 && !strcmp(cfg->mqtt.prefix, "site/vigil"));
	CHECK(!strcmp(cfg->mqtt.password, "s3cret") && cfg->mqtt.qos == 2 && cfg->mqtt.max_rate == 2.5);
	CHECK(cfg->mqtt.snapshot == 1 && cfg->mqtt.stats_interval == 0 && cfg->mqtt.keepalive == 30);
	CHECK(cfg->mqtt.client_id == NULL && cfg->mqtt.ca_file == NULL);

	CHECK(!strcmp(cfg->auth.token, "s3cret") && !strcmp(cfg->auth.session_secret, "abcdefabcdef"));
	CHECK(cfg->auth.nusers == 2 && !strcmp(cfg->auth.users[1].name, "bob") &&
	      !strcmp(cfg->auth.users[1].hash, "$6$salt$hash"));
	CHECK(!strncmp(cfg->auth.users[0].hash, "$argon2id$", 10));

	CHECK(cfg->ncameras == 2);
	const vg_config_camera *door = vg_config_camera_find(cfg, "door");
	int door_line = 1;
	for (const char *p = yaml; p < strstr(yaml, "  door:"); p++)
		door_line += *p == '\n';
	CHECK(door == &cfg->cameras[0] && door->line == door_line && door_line > 40);
	/* The source keeps ${NAME}: it is expanded when opened, and shown as written. */
	CHECK(!strcmp(door->pipeline.source.uri, "rtsp://cam:${VG_TEST_TOKEN}@10.0.0.2/live"));
	CHECK(!strcmp(door->model_key, "people") && !strcmp(door->detector.model, model_a));
	CHECK(door->pipeline.detector == &door->detector && door->pipeline.classifier == &door->classifier);
	CHECK(door->detector.threshold > 0.69f && door->detector.threshold < 0.71f);
	CHECK(door->detector.threads == 2 && !strcmp(door->detector.classes, "person,bicycle"));
	CHECK(door->detector.resize_set == 1);
	CHECK(door->pipeline.quality == 60 && door->pipeline.max_fps == 5 && door->pipeline.source.fps == 5);
	CHECK(!strcmp(door->classifier.model, classifier) && door->classifier.max_crops == 3);
	CHECK(door->pipeline.privacy.mode != 0);
	CHECK(door->pipeline.json_out == stdout);
	CHECK(!strcmp(door->node, "a") && door->enabled == 1);
	CHECK(door->pipeline.source.pace == 1 && door->pipeline.source.loop == 0);

	const vg_config_camera *yard = vg_config_camera_find(cfg, "yard-2");
	CHECK(yard && yard->enabled == 0 && !strcmp(yard->node, "b"));
	CHECK(yard->pipeline.detector == NULL && yard->pipeline.classifier == NULL && yard->model_key == NULL);
	CHECK(yard->pipeline.source.pace == 0 && yard->pipeline.source.loop == 1);
	CHECK(yard->pipeline.source.reconnect_max_us == 500000);
	CHECK(vg_config_camera_find(cfg, "gate") == NULL);
	vg_config_free(cfg);
}

TEST(config_minimal_defaults)
{
	vg_config *cfg = load_ok("cameras:\n  c1: { source: lavfi:testsrc }\n");
	CHECK(cfg->ncameras == 1 && cfg->nnodes == 0 && cfg->inference_workers == 1);
	CHECK(!strcmp(cfg->global.http.listen, "127.0.0.1:8080") && cfg->global.http.max_clients == 100);
	CHECK(cfg->global.log_level == VG_LOG_INFO && cfg->global.json == 0);
	CHECK(cfg->mqtt.host == NULL && cfg->mqtt.port == 1883 && !strcmp(cfg->mqtt.prefix, "vigil"));
	CHECK(cfg->mqtt.max_rate == 5 && cfg->mqtt.stats_interval == 10 && cfg->mqtt.keepalive == 10);
	CHECK(cfg->auth.token == NULL && cfg->auth.nusers == 0);
	const vg_config_camera *c = &cfg->cameras[0];
	CHECK(c->node == NULL && c->enabled == 1 && c->line == 2 && c->pipeline.quality == 80);
	CHECK(c->pipeline.source.reconnect_max_us == 5000000 && c->pipeline.source.pace == 1);
	CHECK(c->pipeline.detector == NULL && c->pipeline.json_out == NULL);
	vg_config_free(cfg);
}

/* defaults, then the named model's settings, then the camera's own keys. */
TEST(config_override_order)
{
	make_models();
	char yaml[2048];
	snprintf(yaml, sizeof yaml,
		 "defaults:\n"
		 "  model: people\n"
		 "  threshold: 0.2\n"
		 "  max_detections: 9\n"
		 "  top_k: 4\n"
		 "models:\n"
		 "  people: { threshold: 0.5, max_detections: 20, model: %s }\n"
		 "cameras:\n"
		 "  a: { source: lavfi:testsrc }\n"
		 "  b: { source: lavfi:testsrc, max_detections: 30 }\n"
		 "  c: { source: lavfi:testsrc, model: %s }\n",
		 model_a, model_b);
	vg_config *cfg = load_ok(yaml);
	const vg_config_camera *a = vg_config_camera_find(cfg, "a"), *b = vg_config_camera_find(cfg, "b"),
			       *c = vg_config_camera_find(cfg, "c");
	/* The model's threshold beats defaults'; defaults' top_k stays where the model says nothing. */
	CHECK(a->detector.threshold == 0.5f && a->detector.max_detections == 20 && a->detector.top_k == 4);
	CHECK(!strcmp(a->model_key, "people") && !strcmp(a->detector.model, model_a));
	CHECK(b->detector.max_detections == 30 && b->detector.threshold == 0.5f);
	/* A model file given directly: no model_key, defaults' settings only. */
	CHECK(c->model_key == NULL && !strcmp(c->detector.model, model_b));
	CHECK(c->detector.threshold == 0.2f && c->detector.max_detections == 9);
	vg_config_free(cfg);
}

TEST(config_env_expansion)
{
	make_models();
	setenv("VG_TEST_Q", "55", 1);
	setenv("VG_TEST_DIR", model_a, 1);
	vg_config *cfg = load_ok("cameras:\n"
				 "  a:\n"
				 "    source: /videos/${VG_TEST_Q}.mp4\n"
				 "    quality: ${VG_TEST_Q}\n"
				 "    model: ${VG_TEST_DIR}\n"
				 "    labels: x${VG_TEST_Q}y${VG_TEST_Q}$z\n");
	const vg_config_camera *a = &cfg->cameras[0];
	CHECK(a->pipeline.quality == 55);
	CHECK(!strcmp(a->detector.model, model_a));
	CHECK(!strcmp(a->detector.labels, "x55y55$z"));
	CHECK(!strcmp(a->pipeline.source.uri, "/videos/${VG_TEST_Q}.mp4"));
	vg_config_free(cfg);

	unsetenv("VG_TEST_UNSET");
	CHECK_ERR("cameras:\n  a:\n    source: lavfi:testsrc\n    labels: /l/${VG_TEST_UNSET}.txt\n",
		  "t.yaml:4:13: key 'cameras.a.labels': uses ${VG_TEST_UNSET}, but the environment variable "
		  "VG_TEST_UNSET is not set");
	CHECK_ERR("auth:\n  token: ${VG_TEST_UNSET}\ncameras: { a: { source: x } }\n",
		  "t.yaml:2:10: key 'auth.token': uses ${VG_TEST_UNSET}, but the environment variable VG_TEST_UNSET "
		  "is not set");
	CHECK_ERR("cameras:\n  a: { source: lavfi:testsrc, labels: \"${A-B}\" }\n",
		  "t.yaml:2:39: key 'cameras.a.labels': '${A-B}' is not an environment variable name (letters, "
		  "digits and '_')");
	CHECK_ERR("cameras:\n  a:\n    source: lavfi:testsrc\n    labels: ${OPEN\n",
		  "t.yaml:4:13: key 'cameras.a.labels': '${' without a closing '}'");
	/* Sources are not expanded, but a variable they name must be set. */
	CHECK_ERR("cameras:\n  a: { source: \"rtsp://h/?t=${VG_TEST_UNSET}\" }\n",
		  "t.yaml:2:16: key 'cameras.a.source': the source URI uses ${VG_TEST_UNSET}, but the environment "
		  "variable VG_TEST_UNSET is not set");
}

TEST(config_errors)
{
	make_models();
	/* Syntax. */
	CHECK_ERR("cameras:\n  a: [1, 2\n", "t.yaml:3:1: YAML syntax error: did not find expected ',' or ']' while "
					    "parsing a flow sequence");
	CHECK_ERR("", "t.yaml:1:1: the file holds no configuration (at least cameras: is needed)");
	CHECK_ERR("- a\n- b\n", "t.yaml:1:1: expects a mapping of keys to values, not a list");
	CHECK_ERR("cameras: { a: { source: x } }\n---\nlisten: 1\n",
		  "t.yaml:3:1: a second YAML document; the configuration is one document");
	/* Unknown and duplicate keys. */
	CHECK_ERR("cameras:\n  door:\n    source: x\n    treshold: 0.5\n",
		  "t.yaml:4:5: key 'cameras.door.treshold': unknown key; did you mean 'threshold'?");
	CHECK_ERR("cameras:\n  door:\n    source: x\n    max-detections: 5\n",
		  "t.yaml:4:5: key 'cameras.door.max-detections': unknown key; did you mean 'max_detections'?");
	CHECK_ERR("listen: 1\nwhatever: 2\ncameras: { a: { source: x } }\n",
		  "t.yaml:2:1: key 'whatever': unknown key");
	CHECK_ERR("cameras:\n  door:\n    source: x\n    quality: 5\n    quality: 6\n",
		  "t.yaml:5:5: key 'cameras.door.quality': given twice (first at line 4)");
	CHECK_ERR("cameras:\n  a: { source: x }\n  a: { source: y }\n",
		  "t.yaml:3:3: key 'cameras.a': given twice (first at line 2)");
	/* Values, through the command line's own checks. */
	CHECK_ERR("cameras:\n  door:\n    source: x\n    threshold: 1.5\n",
		  "t.yaml:4:16: key 'cameras.door.threshold': expects a score between 0 and 1, not '1.5'");
	CHECK_ERR("cameras:\n  door: { source: x, quality: [1] }\n",
		  "t.yaml:2:31: key 'cameras.door.quality': expects a single value, not a list");
	CHECK_ERR("cameras:\n  door: { source: x, loop: maybe }\n",
		  "t.yaml:2:28: key 'cameras.door.loop': expects true or false (yes/no, on/off), not 'maybe'");
	CHECK_ERR("cameras:\n  door: { source: x, enabled: 2 }\n",
		  "t.yaml:2:31: key 'cameras.door.enabled': expects true or false (yes/no, on/off), not '2'");
	CHECK_ERR("max_clients: 0\ncameras: { a: { source: x } }\n",
		  "t.yaml:1:14: key 'max_clients': expects a whole number from 1 to 100000, not '0'");
	CHECK_ERR("cors_origin: [https://ok.example, ftp://bad]\ncameras: { a: { source: x } }\n",
		  "t.yaml:1:35: key 'cors_origin': expects an origin such as https://example.com:8443 or *, not "
		  "'ftp://bad'");
	CHECK_ERR("log_level: loud\ncameras: { a: { source: x } }\n",
		  "t.yaml:1:12: key 'log_level': expects debug, info, warn or error, not 'loud'");
	CHECK_ERR("defaults: { quality: 0 }\ncameras: { a: { source: x } }\n",
		  "t.yaml:1:22: key 'defaults.quality': expects a whole number from 1 to 100, not '0'");
	CHECK_ERR("defaults: { qualty: 1 }\ncameras: { a: { source: x } }\n",
		  "t.yaml:1:13: key 'defaults.qualty': unknown key; did you mean 'quality'?");
	/* Cameras. */
	CHECK_ERR("cameras:\n  Front Door: { source: x }\n",
		  "t.yaml:2:3: key 'cameras.Front Door': a camera name is 1 to 32 characters of a-z, 0-9, '_' and '-'");
	CHECK_ERR("cameras:\n  abcdefghijabcdefghijabcdefghijabc: { source: x }\n",
		  "t.yaml:2:3: key 'cameras.abcdefghijabcdefghijabcdefghijabc': a camera name is 1 to 32 characters "
		  "of a-z, 0-9, '_' and '-'");
	CHECK_ERR("cameras:\n  door:\n    quality: 5\n",
		  "t.yaml:2:3: key 'cameras.door': no source: (the camera's video: a file, /dev/videoN, rtsp://..., "
		  "http://... or lavfi:GRAPH)");
	CHECK_ERR("listen: 1\n", "t.yaml:1:1: no cameras: (at least one camera is needed)");
	CHECK_ERR("cameras: {}\n", "t.yaml:1:10: key 'cameras': declares no camera (at least one is needed)");
	CHECK_ERR("cameras:\n", "t.yaml:1:1: key 'cameras': declares no camera (at least one is needed)");
	CHECK_ERR("cameras:\n  door: { source: x, privacy: blur }\n",
		  "t.yaml:2:3: key 'cameras.door': --privacy needs a model (--model) that finds what it hides");
	/* Models. */
	CHECK_ERR("models:\n  people: { model: /nonexistent/p.tflite }\ncameras:\n  door: { source: x, model: cars }\n",
		  "t.yaml:2:20: key 'models.people.model': no such file: '/nonexistent/p.tflite'");
	char yaml[1024], expected[1024];
	snprintf(yaml, sizeof yaml, "models:\n  people: { model: %s }\ncameras:\n  door: { source: x, model: cars }\n",
		 model_a);
	CHECK_ERR(yaml, "t.yaml:4:29: key 'cameras.door.model': 'cars' is neither a model declared under models: "
			"(people) nor an existing file");
	CHECK_ERR("cameras:\n  door: { source: x, model: /no/such.tflite }\n",
		  "t.yaml:2:29: key 'cameras.door.model': '/no/such.tflite' is neither a model declared under "
		  "models: (none is declared) nor an existing file");
	CHECK_ERR("models:\n  people: { threads: 2 }\ncameras: { a: { source: x } }\n",
		  "t.yaml:2:3: key 'models.people': no model: (the model file)");
	snprintf(yaml, sizeof yaml, "models:\n  people: { model: %s, source: x }\ncameras: { a: { source: x } }\n",
		 model_a);
	snprintf(expected, sizeof expected, "t.yaml:2:%zu: key 'models.people.source': unknown key",
		 strlen("  people: { model: , ") + strlen(model_a) + 1);
	CHECK_ERR(yaml, expected);
	snprintf(yaml, sizeof yaml, "models:\n  people: { threads: 99, model: %s }\ncameras: { a: { source: x } }\n",
		 model_a);
	CHECK_ERR(yaml, "t.yaml:2:22: key 'models.people.threads': expects a whole number from 1 to 64, not '99'");
	/* Nodes. */
	CHECK_ERR("nodes:\n  a: { listen: 1 }\ncameras:\n  door: { source: x, node: b }\n",
		  "t.yaml:4:28: key 'cameras.door.node': node 'b' is not declared under nodes:");
	CHECK_ERR("nodes:\n  a: { listen: 1 }\ncameras:\n  door: { source: x }\n",
		  "t.yaml:4:3: key 'cameras.door': no node: given, and nodes: declares no node named 'default' to "
		  "run it");
	CHECK_ERR("nodes:\n  a: { url: http://x/ }\ncameras: { a: { source: x } }\n",
		  "t.yaml:2:3: key 'nodes.a': no listen: (the address this node serves HTTP on)");
	CHECK_ERR("nodes:\n  a: { listen: 1, url: ftp://x/ }\ncameras: { a: { source: x } }\n",
		  "t.yaml:2:24: key 'nodes.a.url': expects an http:// or https:// URL, not 'ftp://x/'");
	/* MQTT and auth. */
	CHECK_ERR("mqtt:\n  host: h\n  qos: 3\ncameras: { a: { source: x } }\n",
		  "t.yaml:3:8: key 'mqtt.qos': expects a whole number from 0 to 2, not '3'");
	CHECK_ERR("mqtt:\n  host: h\n  port: 0\ncameras: { a: { source: x } }\n",
		  "t.yaml:3:9: key 'mqtt.port': expects a whole number from 1 to 65535, not '0'");
	CHECK_ERR("mqtt:\n  host: h\n  port: 70000\ncameras: { a: { source: x } }\n",
		  "t.yaml:3:9: key 'mqtt.port': expects a whole number from 1 to 65535, not '70000'");
	CHECK_ERR("mqtt:\n  port: 1883\ncameras: { a: { source: x } }\n",
		  "t.yaml:2:3: key 'mqtt': no host: (the broker's address)");
	CHECK_ERR("mqtt: { host: h, prefix: a/# }\ncameras: { a: { source: x } }\n",
		  "t.yaml:1:26: key 'mqtt.prefix': expects a topic prefix without '+', '#' or a leading or trailing "
		  "'/', not 'a/#'");
	CHECK_ERR("auth: { token: a, token_file: /etc/hostname }\ncameras: { a: { source: x } }\n",
		  "t.yaml:1:19: key 'auth.token_file': give token or token_file, not both");
	CHECK_ERR("auth: { token_file: /nonexistent/token }\ncameras: { a: { source: x } }\n",
		  "t.yaml:1:21: key 'auth.token_file': cannot read '/nonexistent/token': No such file or directory");
	CHECK_ERR("auth: { users: { alice: '' } }\ncameras: { a: { source: x } }\n",
		  "t.yaml:1:25: key 'auth.users.alice': expects a value, not an empty string");
}

TEST(config_token_file)
{
	char path[] = "/tmp/vigil-token-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0);
	CHECK(write(fd, "tok-123\n", 8) == 8);
	close(fd);
	char yaml[512];
	snprintf(yaml, sizeof yaml, "auth: { token_file: %s }\ncameras: { a: { source: x } }\n", path);
	vg_config *cfg = load_ok(yaml);
	CHECK(!strcmp(cfg->auth.token, "tok-123"));
	vg_config_free(cfg);
	unlink(path);
}

TEST(config_camera_same)
{
	make_models();
	char yaml[2048];
	snprintf(yaml, sizeof yaml,
		 "models: { m: { model: %s } }\n"
		 "cameras:\n"
		 "  a: { model: m, threshold: 0.5, source: lavfi:testsrc }\n"
		 "  b: { model: m, threshold: 0.5, source: lavfi:testsrc }\n",
		 model_a);
	vg_config *one = load_ok(yaml), *two = load_ok(yaml);
	/* Equal by content, though every string is a different copy. */
	CHECK(one->cameras[0].pipeline.source.uri != two->cameras[0].pipeline.source.uri);
	CHECK(vg_config_camera_same(&one->cameras[0], &two->cameras[0]));
	/* Another name is another camera. */
	CHECK(!vg_config_camera_same(&one->cameras[0], &one->cameras[1]));
	static const char *const changes[] = {
		"source: lavfi:testsrc2", "source: lavfi:testsrc, threads: 2", "source: lavfi:testsrc, quality: 50",
		"source: lavfi:testsrc, enabled: false", "source: lavfi:testsrc, fps: 3", "source: lavfi:testsrc, loop: true",
		"source: lavfi:testsrc, classes: person", "source: lavfi:testsrc, resize: letterbox",
		"source: lavfi:testsrc, mean: 1", "source: lavfi:testsrc, privacy: fill", "source: lavfi:testsrc, node: x",
		"source: lavfi:testsrc, classify: /etc/hostname", "source: lavfi:testsrc, event_clips: true",
		"source: lavfi:testsrc, pre_capture: 2", "source: lavfi:testsrc, post_capture: 9", NULL,
	};
	for (const char *const *c = changes; *c; c++) {
		snprintf(yaml, sizeof yaml,
			 "models: { m: { model: %s } }\n"
			 "cameras:\n"
			 "  a: { model: m, threshold: 0.5, %s }\n",
			 model_a, *c);
		vg_config *three = load_ok(yaml);
		CHECK_MSG(!vg_config_camera_same(&one->cameras[0], &three->cameras[0]), "'%s' seen as the same", *c);
		vg_config_free(three);
	}
	/* The same model file given directly, not by name: another model_key, so not the same. */
	snprintf(yaml, sizeof yaml, "cameras:\n  a: { model: %s, threshold: 0.5, source: lavfi:testsrc }\n", model_a);
	vg_config *four = load_ok(yaml);
	CHECK(!vg_config_camera_same(&one->cameras[0], &four->cameras[0]));
	CHECK(vg_config_detector_same(&one->cameras[0].detector, &four->cameras[0].detector));
	vg_config_free(four);
	vg_config_free(one);
	vg_config_free(two);
}

TEST(config_from_options)
{
	char *argv[] = { "serve", "--source", "lavfi:testsrc", "--quality", "42", "--listen", "127.0.0.1:9999",
			 "--cors-origin", "https://x.example", "--threshold", "0.3", "--model", "/m.tflite", NULL };
	vg_serve_options opt;
	char err[512];
	CHECK(vg_serve_options_parse(&opt, 13, argv, err, sizeof err) == 0);
	vg_config *cfg = NULL;
	CHECK(vg_config_from_options(&cfg, &opt, err, sizeof err) == 0);
	/* The configuration owns its copies: the options going away changes nothing. */
	memset(&opt, 0, sizeof opt);
	CHECK(cfg->path == NULL && cfg->ncameras == 1 && cfg->inference_workers == 1);
	const vg_config_camera *c = vg_config_camera_find(cfg, "default");
	CHECK(c && c->enabled && c->node == NULL && c->model_key == NULL);
	CHECK(!strcmp(c->pipeline.source.uri, "lavfi:testsrc") && c->pipeline.quality == 42);
	CHECK(c->pipeline.detector == &c->detector && !strcmp(c->detector.model, "/m.tflite"));
	CHECK(c->detector.threshold == 0.3f && c->pipeline.classifier == NULL);
	CHECK(!strcmp(cfg->global.http.listen, "127.0.0.1:9999"));
	CHECK(cfg->global.http.ncors_origins == 1 && cfg->global.http.cors_origins == cfg->global.cors_origins &&
	      !strcmp(cfg->global.http.cors_origins[0], "https://x.example"));
	CHECK(cfg->mqtt.host == NULL && cfg->nnodes == 0 && vg_config_node_find(cfg, NULL) == NULL);
	vg_config_free(cfg);
}

/* The file and the command line share one parser: the same value is refused by both, with the same words. */
TEST(config_option_apply)
{
	vg_serve_options o;
	char err[512];
	vg_serve_options_init(&o);
	CHECK(vg_serve_option_apply(&o, "max_detections", "7", err, sizeof err) == 0 && o.detector.max_detections == 7);
	CHECK(vg_serve_option_apply(&o, "max-detections", "8", err, sizeof err) == 0 && o.detector.max_detections == 8);
	CHECK(vg_serve_option_apply(&o, "no_pace", "on", err, sizeof err) == 0 && o.pipeline.source.pace == 0);
	CHECK(vg_serve_option_apply(&o, "no_pace", "False", err, sizeof err) == 0 && o.pipeline.source.pace == 1);
	CHECK(vg_serve_option_apply(&o, "top_k", "0", err, sizeof err) < 0);
	CHECK(!strcmp(err, "--top-k expects a whole number from 1 to 100, not '0'") || strstr(err, "--top-k expects"));
	CHECK(vg_serve_option_apply(&o, "verbose", "true", err, sizeof err) < 0);
	CHECK(vg_serve_option_apply(&o, "config", "x", err, sizeof err) < 0);
	CHECK(vg_serve_option_apply(&o, "nope", "x", err, sizeof err) < 0 && !strcmp(err, "unknown option 'nope'"));

	char *argv[] = { "serve", "--config", "f.yaml", "--threshold", "0.5", NULL };
	CHECK(vg_serve_options_parse(&o, 5, argv, err, sizeof err) < 0);
	CHECK_MSG(!strcmp(err, "--threshold cannot be combined with --config: put it in the configuration file f.yaml "
			       "instead"),
		  "%s", err);
	char *argv2[] = { "serve", "--config", "f.yaml", "--node", "a", "-q", NULL };
	CHECK(vg_serve_options_parse(&o, 6, argv2, err, sizeof err) == 0);
	CHECK(!strcmp(o.config_path, "f.yaml") && !strcmp(o.node, "a") && o.log_level_set && o.log_level == VG_LOG_ERROR);
	char *argv3[] = { "serve", "--node", "a", NULL };
	CHECK(vg_serve_options_parse(&o, 3, argv3, err, sizeof err) < 0 && strstr(err, "--node needs --config"));
}

TEST_SUITE(config, TEST_ENTRY(config_full_file), TEST_ENTRY(config_minimal_defaults), TEST_ENTRY(config_override_order),
	   TEST_ENTRY(config_env_expansion), TEST_ENTRY(config_errors), TEST_ENTRY(config_token_file),
	   TEST_ENTRY(config_camera_same), TEST_ENTRY(config_from_options), TEST_ENTRY(config_option_apply));
