#include "publish/mqtt.h"

#include <cjson/cJSON.h>
#include <mosquitto.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "core/clock.h"
#include "core/log.h"
#include "publish/topics.h"

#define BACKOFF_MIN_US 250000
#define BACKOFF_MAX_US 8000000
#define SHUTDOWN_US 1500000

/* A retained topic's newest value: a copy of small payloads, a reference to a JPEG. */
typedef struct retained {
	char *topic;
	char *data;
	size_t len;
	vg_blob *blob;
	int dirty;                         /* not yet handed to libmosquitto since it changed or we reconnected */
	struct retained *next;
} retained;

typedef struct qmsg {
	char *topic;
	char *payload;
	size_t len;
} qmsg;

typedef struct cam {
	char word[VG_MQTT_WORD_MAX + 2];
	vg_mqtt_track track;
	int snap_wanted;                   /* detections went out since the last snapshot */
	int snap_sent;
	int64_t snap_last_us;
	struct cam *next;
} cam;

typedef struct fleet_node {
	char *name;
	cJSON *state;
	int64_t heard_us;                  /* when the node last said anything (mono) */
	int64_t beat_us;                   /* its heartbeat interval as it announced it; 0: none announced */
	struct fleet_node *next;
} fleet_node;

/*
 * A node that sends nothing for HEARTBEATS_MISSED heartbeats is shown
 * offline: a frozen node keeps its connection until the broker's keepalive
 * (1.5 x) runs out, and only then does its will go out, so peers watch the
 * heartbeats themselves. With HEARTBEATS_PER_KEEPALIVE beats a keepalive, a
 * frozen node is shown offline after 3/4 of the keepalive.
 */
#define HEARTBEATS_PER_KEEPALIVE 4

/* How long the subscription to a node's own camera topics is held for the broker's retained values. */
#define OWN_RETAINED_WAIT_US 2000000
#define HEARTBEATS_MISSED 3

struct vg_mqtt {
	struct mosquitto *mosq;
	char *host;
	int port, keepalive, qos, snapshot;
	double max_rate;
	char *prefix, *node;
	char *node_topic, *stats_topic, *alive_topic, *offline_json;
	int64_t beat_us;                   /* the heartbeat interval: a quarter of the keepalive */
	int efd;
	pthread_t thread;

	/* Guards the queue, the retained values and stopping. */
	pthread_mutex_t mu;
	qmsg q[VG_MQTT_QUEUE];
	int qhead, qlen;
	size_t qbytes;
	retained *ret;
	int ndirty;
	int stopping;

	pthread_mutex_t cams_mu;
	cam *cams;

	pthread_mutex_t fleet_mu;
	fleet_node *fleet;
	/* This node's cameras as topic words (from its state), and whether to subscribe to their topics again. */
	char (*own)[VG_MQTT_WORD_MAX + 2];
	int n_own;
	atomic_int own_changed;

	pthread_mutex_t cb_mu;
	void (*enabled_fn)(void *opaque, const char *camera, int on);
	void *enabled_opaque;
	char *(*stats_fn)(void *opaque);
	void *stats_opaque;
	int64_t stats_interval_us;         /* 0: never */

	/* The client thread's own. */
	int inflight;
	int ever_tried;
	int64_t next_attempt_us, backoff_us;
	int lost_logged, tls_logged;
	int64_t next_stats_us, next_beat_us;
	int64_t own_unsubscribe_us;        /* when to drop the subscription to the node's own cameras; 0: none held */

	atomic_int connected;
	atomic_ullong connects, published, dropped, errors;
};

static char *fmt_alloc(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *fmt_alloc(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	return n < 0 ? NULL : s;
}

/*
 * Wakes the client thread. Callers wake it only when the first message
 * arrives in an empty queue: the thread empties the queue before it sleeps
 * again (or waits for the socket), so later messages need no system call.
 * While disconnected it has nothing to send, so messages wait quietly.
 */
static void wake(vg_mqtt *m)
{
	if (!atomic_load(&m->connected)) {
		pthread_mutex_lock(&m->mu);
		int stopping = m->stopping;
		pthread_mutex_unlock(&m->mu);
		if (!stopping)
			return;
	}
	uint64_t one = 1;
	if (write(m->efd, &one, sizeof one) < 0) {
		/* The counter is saturated: the thread has a wake-up pending anyway. */
	}
}

/*
 * Sets TOPIC's retained value to a copy of DATA, or to BLOB (referenced);
 * marks it for sending. With if_absent, only when this client holds no value
 * for TOPIC yet.
 */
static void retain_put(vg_mqtt *m, const char *topic, const void *data, size_t len, vg_blob *blob, int if_absent)
{
	char *copy = NULL;
	if (!blob) {
		copy = malloc(len + 1);
		if (!copy) {
			atomic_fetch_add(&m->errors, 1);
			return;
		}
		memcpy(copy, data, len);
		copy[len] = '\0';
	}
	pthread_mutex_lock(&m->mu);
	retained *r = m->ret;
	while (r && strcmp(r->topic, topic) != 0)
		r = r->next;
	if (r && if_absent) {
		pthread_mutex_unlock(&m->mu);
		free(copy);
		return;
	}
	if (!r) {
		r = calloc(1, sizeof *r);
		char *t = strdup(topic);
		if (!r || !t) {
			pthread_mutex_unlock(&m->mu);
			free(r);
			free(t);
			free(copy);
			atomic_fetch_add(&m->errors, 1);
			return;
		}
		r->topic = t;
		r->next = m->ret;
		m->ret = r;
	} else if (!blob && !r->blob && r->data && r->len == len && memcmp(r->data, data, len) == 0) {
		/* Already the broker's value, or about to be. */
		pthread_mutex_unlock(&m->mu);
		free(copy);
		return;
	}
	vg_blob *old_blob = r->blob;
	char *old_data = r->data;
	r->data = copy;
	r->len = len;
	r->blob = blob ? vg_blob_ref(blob) : NULL;
	int was_idle = m->ndirty == 0 && m->qlen == 0;
	if (!r->dirty) {
		r->dirty = 1;
		m->ndirty++;
	}
	pthread_mutex_unlock(&m->mu);
	free(old_data);
	vg_blob_unref(old_blob);
	if (was_idle)
		wake(m);
}

static void retain_set(vg_mqtt *m, const char *topic, const void *data, size_t len, vg_blob *blob)
{
	retain_put(m, topic, data, len, blob, 0);
}

/* Queues a message (takes TOPIC and PAYLOAD), or drops it when the queue is full. */
static void enqueue(vg_mqtt *m, char *topic, char *payload, size_t len)
{
	if (!topic || !payload) {
		free(topic);
		free(payload);
		atomic_fetch_add(&m->errors, 1);
		return;
	}
	pthread_mutex_lock(&m->mu);
	if (m->qlen == VG_MQTT_QUEUE || m->qbytes + len > VG_MQTT_QUEUE_BYTES) {
		pthread_mutex_unlock(&m->mu);
		free(topic);
		free(payload);
		atomic_fetch_add(&m->dropped, 1);
		return;
	}
	int was_idle = m->ndirty == 0 && m->qlen == 0;
	qmsg *e = &m->q[(m->qhead + m->qlen) % VG_MQTT_QUEUE];
	e->topic = topic;
	e->payload = payload;
	e->len = len;
	m->qlen++;
	m->qbytes += len;
	pthread_mutex_unlock(&m->mu);
	if (was_idle)
		wake(m);
}

static void schedule_retry(vg_mqtt *m)
{
	m->next_attempt_us = vg_mono_us() + m->backoff_us;
	m->backoff_us = m->backoff_us * 2 > BACKOFF_MAX_US ? BACKOFF_MAX_US : m->backoff_us * 2;
}

static void on_connect(struct mosquitto *mosq, void *obj, int rc)
{
	vg_mqtt *m = obj;
	if (rc != 0) {
		atomic_fetch_add(&m->errors, 1);
		vg_warn("mqtt: %s:%d refused the connection: %s", m->host, m->port, mosquitto_connack_string(rc));
		return;
	}
	vg_info("mqtt: connected to %s:%d", m->host, m->port);
	atomic_store(&m->connected, 1);
	atomic_fetch_add(&m->connects, 1);
	m->inflight = 0;
	m->backoff_us = BACKOFF_MIN_US;
	m->lost_logged = 0;
	pthread_mutex_lock(&m->mu);
	m->ndirty = 0;
	for (retained *r = m->ret; r; r = r->next) {
		r->dirty = 1;
		m->ndirty++;
	}
	pthread_mutex_unlock(&m->mu);
	char *nodes = fmt_alloc("%s/nodes/+", m->prefix);
	char *alive = fmt_alloc("%s/nodes/+/alive", m->prefix);
	char *set = fmt_alloc("%s/+/enabled/set", m->prefix);
	if (!nodes || !alive || !set || mosquitto_subscribe(mosq, NULL, nodes, 1) ||
	    mosquitto_subscribe(mosq, NULL, alive, 0) || mosquitto_subscribe(mosq, NULL, set, 1))
		atomic_fetch_add(&m->errors, 1);
	free(nodes);
	free(alive);
	free(set);
	atomic_store(&m->own_changed, 1);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
	(void)mosq;
	vg_mqtt *m = obj;
	int was = atomic_exchange(&m->connected, 0);
	m->inflight = 0;
	if (was && rc != 0 && !m->lost_logged) {
		m->lost_logged = 1;
		vg_warn("mqtt: lost %s:%d (%s), reconnecting", m->host, m->port, mosquitto_strerror(rc));
	}
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid)
{
	(void)mosq;
	(void)mid;
	vg_mqtt *m = obj;
	/* QoS 1 and 2 messages resent after a reconnect may be acknowledged after the count was reset. */
	if (m->inflight > 0)
		m->inflight--;
}

/* Merges a node's state into the fleet; an offline message keeps what the node said before. */
static void fleet_update(vg_mqtt *m, const char *name, const char *payload, int len)
{
	cJSON *j = NULL;
	if (len > 0) {
		j = cJSON_ParseWithLength(payload, (size_t)len);
		if (!cJSON_IsObject(j)) {
			cJSON_Delete(j);
			vg_debug("mqtt: %s/nodes/%s: state is not a JSON object, ignored", m->prefix, name);
			return;
		}
		/*
		 * A node's state names the node. This also keeps out the topics of
		 * a camera that happens to be called "nodes" (PREFIX/nodes/detections).
		 */
		cJSON *self = cJSON_GetObjectItemCaseSensitive(j, "node");
		if (!cJSON_IsString(self) || strcmp(self->valuestring, name) != 0) {
			cJSON_Delete(j);
			vg_debug("mqtt: %s/nodes/%s: state without \"node\": \"%s\", ignored", m->prefix, name, name);
			return;
		}
		cJSON *on = cJSON_GetObjectItemCaseSensitive(j, "online");
		if (!cJSON_IsBool(on)) {
			cJSON_DeleteItemFromObjectCaseSensitive(j, "online");
			cJSON_AddBoolToObject(j, "online", 1);
		}
	}
	pthread_mutex_lock(&m->fleet_mu);
	fleet_node **pp = &m->fleet;
	while (*pp && strcmp((*pp)->name, name) != 0)
		pp = &(*pp)->next;
	fleet_node *n = *pp;
	if (!j) {
		if (n) {
			*pp = n->next;
			cJSON_Delete(n->state);
			free(n->name);
			free(n);
		}
		pthread_mutex_unlock(&m->fleet_mu);
		return;
	}
	if (!n) {
		n = calloc(1, sizeof *n);
		if (!n || !(n->name = strdup(name))) {
			free(n);
			pthread_mutex_unlock(&m->fleet_mu);
			cJSON_Delete(j);
			return;
		}
		*pp = n;
	}
	n->heard_us = vg_mono_us();
	cJSON *beat = cJSON_GetObjectItemCaseSensitive(j, "heartbeat");
	if (cJSON_IsNumber(beat) && beat->valuedouble > 0 && beat->valuedouble < 86400)
		n->beat_us = (int64_t)(beat->valuedouble * 1e6);
	if (n->state && cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(j, "online"))) {
		for (cJSON *c = j->child; c; c = c->next) {
			cJSON *dup = cJSON_Duplicate(c, 1);
			if (!dup)
				continue;
			cJSON_DeleteItemFromObjectCaseSensitive(n->state, c->string);
			cJSON_AddItemToObject(n->state, c->string, dup);
		}
		cJSON_Delete(j);
	} else {
		cJSON_Delete(n->state);
		n->state = j;
	}
	pthread_mutex_unlock(&m->fleet_mu);
}

/* A node's heartbeat: it is still there, whatever its connection looks like to the broker. */
static void fleet_heard(vg_mqtt *m, const char *name, size_t name_len)
{
	pthread_mutex_lock(&m->fleet_mu);
	for (fleet_node *n = m->fleet; n; n = n->next)
		if (strlen(n->name) == name_len && memcmp(n->name, name, name_len) == 0)
			n->heard_us = vg_mono_us();
	pthread_mutex_unlock(&m->fleet_mu);
}

static void enabled_set(vg_mqtt *m, const char *camera, const char *payload, int len)
{
	while (len > 0 && (*payload == ' ' || *payload == '\t' || *payload == '\r' || *payload == '\n')) {
		payload++;
		len--;
	}
	while (len > 0 && (payload[len - 1] == ' ' || payload[len - 1] == '\t' || payload[len - 1] == '\r' ||
			   payload[len - 1] == '\n'))
		len--;
	int on;
	if (len == 2 && strncasecmp(payload, "on", 2) == 0) {
		on = 1;
	} else if (len == 3 && strncasecmp(payload, "off", 3) == 0) {
		on = 0;
	} else {
		vg_warn("mqtt: %s/%s/enabled/set: expected ON or OFF, got %d bytes; ignored", m->prefix, camera, len);
		return;
	}
	pthread_mutex_lock(&m->cb_mu);
	void (*fn)(void *, const char *, int) = m->enabled_fn;
	void *opaque = m->enabled_opaque;
	pthread_mutex_unlock(&m->cb_mu);
	if (fn)
		fn(opaque, camera, on);
}

/*
 * A retained count the broker kept from an earlier run (REST is the topic
 * after the prefix): CAMERA/LABEL of one of this node's cameras, a count
 * above 0, for a label this run has not published. Nothing will ever update
 * it, so it is set to 0: a subscriber must not see three people in a room
 * that has been empty since the restart.
 */
static void stale_count(vg_mqtt *m, const char *rest, const char *payload, int len)
{
	const char *slash = strchr(rest, '/');
	if (!slash || strchr(slash + 1, '/') || len <= 0 || len > 9)
		return;
	for (int i = 0; i < len; i++)
		if (payload[i] < '0' || payload[i] > '9')
			return;
	if (len == 1 && payload[0] == '0')
		return;
	const char *label = slash + 1;
	if (!strcmp(label, "detections") || !strcmp(label, "snapshot") || !strcmp(label, "enabled") ||
	    !strcmp(label, "zones") || !strcmp(label, "lines"))
		return;
	int own = 0;
	pthread_mutex_lock(&m->fleet_mu);
	for (int i = 0; i < m->n_own && !own; i++)
		own = strlen(m->own[i]) == (size_t)(slash - rest) && !memcmp(m->own[i], rest, (size_t)(slash - rest));
	pthread_mutex_unlock(&m->fleet_mu);
	if (!own)
		return;
	char *topic = fmt_alloc("%s/%s", m->prefix, rest);
	if (topic) {
		vg_debug("mqtt: %s: a count of %.*s left by an earlier run, set to 0", topic, len, payload);
		retain_put(m, topic, "0", 1, NULL, 1);
	}
	free(topic);
}

/*
 * Subscribes to (or unsubscribes from) the topics of this node's cameras.
 * The broker hands over the values it retained at once; the subscription is
 * dropped a little later, so that the node does not receive its own
 * detections for the rest of the connection.
 */
static void subscribe_own(vg_mqtt *m, int on)
{
	pthread_mutex_lock(&m->fleet_mu);
	for (int i = 0; i < m->n_own; i++) {
		char *filter = fmt_alloc("%s/%s/+", m->prefix, m->own[i]);
		int rc = !filter ? MOSQ_ERR_NOMEM
			 : on    ? mosquitto_subscribe(m->mosq, NULL, filter, 0)
				 : mosquitto_unsubscribe(m->mosq, NULL, filter);
		if (rc != MOSQ_ERR_SUCCESS)
			atomic_fetch_add(&m->errors, 1);
		free(filter);
	}
	pthread_mutex_unlock(&m->fleet_mu);
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *msg)
{
	(void)mosq;
	vg_mqtt *m = obj;
	size_t plen = strlen(m->prefix);
	if (!msg->topic || strncmp(msg->topic, m->prefix, plen) != 0 || msg->topic[plen] != '/')
		return;
	const char *rest = msg->topic + plen + 1;
	const char *payload = msg->payload ? msg->payload : "";
	int len = msg->payloadlen;
	if (strncmp(rest, "nodes/", 6) == 0 && rest[6] && !strchr(rest + 6, '/')) {
		fleet_update(m, rest + 6, payload, len);
		return;
	}
	const char *slash = strchr(rest, '/');
	if (strncmp(rest, "nodes/", 6) == 0 && (slash = strchr(rest + 6, '/')) && strcmp(slash, "/alive") == 0) {
		fleet_heard(m, rest + 6, (size_t)(slash - (rest + 6)));
		return;
	}
	if (msg->retain)
		stale_count(m, rest, payload, len);
	slash = strchr(rest, '/');
	if (slash && strcmp(slash, "/enabled/set") == 0 && slash > rest && slash - rest <= VG_MQTT_WORD_MAX) {
		char camera[VG_MQTT_WORD_MAX + 1];
		memcpy(camera, rest, (size_t)(slash - rest));
		camera[slash - rest] = '\0';
		enabled_set(m, camera, payload, len);
	}
}

/* Hands libmosquitto what is waiting, retained values first, up to the in-flight cap. */
static void drain(vg_mqtt *m)
{
	while (atomic_load(&m->connected) && m->inflight < VG_MQTT_INFLIGHT) {
		char *topic = NULL, *payload = NULL;
		vg_blob *blob = NULL;
		size_t len = 0;
		int retain = 0;
		pthread_mutex_lock(&m->mu);
		if (m->ndirty) {
			retained *r = m->ret;
			while (r && !r->dirty)
				r = r->next;
			if (!r) {
				m->ndirty = 0;
				pthread_mutex_unlock(&m->mu);
				continue;
			}
			r->dirty = 0;
			m->ndirty--;
			retain = 1;
			topic = strdup(r->topic);
			if (r->blob) {
				blob = vg_blob_ref(r->blob);
			} else {
				payload = malloc(r->len + 1);
				if (payload)
					memcpy(payload, r->data, r->len);
				len = r->len;
			}
		} else if (m->qlen) {
			qmsg *e = &m->q[m->qhead];
			topic = e->topic;
			payload = e->payload;
			len = e->len;
			m->qhead = (m->qhead + 1) % VG_MQTT_QUEUE;
			m->qlen--;
			m->qbytes -= len;
		} else {
			pthread_mutex_unlock(&m->mu);
			break;
		}
		pthread_mutex_unlock(&m->mu);

		const void *data = payload;
		if (blob) {
			data = blob->payload_len ? blob->data + blob->payload_off : blob->data;
			len = blob->payload_len ? blob->payload_len : blob->len;
		}
		int rc = MOSQ_ERR_NOMEM;
		if (topic && (data || len == 0) && len <= INT32_MAX) {
			m->inflight++;
			rc = mosquitto_publish(m->mosq, NULL, topic, (int)len, data, m->qos, retain);
			if (rc != MOSQ_ERR_SUCCESS && m->inflight > 0)
				m->inflight--;
		}
		if (rc == MOSQ_ERR_SUCCESS) {
			atomic_fetch_add(&m->published, 1);
		} else {
			atomic_fetch_add(&m->errors, 1);
			vg_debug("mqtt: publish %s: %s", topic ? topic : "?", mosquitto_strerror(rc));
		}
		free(topic);
		free(payload);
		vg_blob_unref(blob);
	}
}

static void *client_main(void *arg)
{
	vg_mqtt *m = arg;
	int64_t deadline = 0;
	int leaving = 0;
	for (;;) {
		pthread_mutex_lock(&m->mu);
		int stopping = m->stopping;
		pthread_mutex_unlock(&m->mu);
		int64_t now = vg_mono_us();
		if (stopping && !leaving) {
			leaving = 1;
			deadline = now + SHUTDOWN_US;
			if (!atomic_load(&m->connected))
				break;
			/* A clean disconnect does not fire the will, so say it ourselves. */
			mosquitto_publish(m->mosq, NULL, m->node_topic, (int)strlen(m->offline_json), m->offline_json,
					  m->qos, 1);
			mosquitto_disconnect(m->mosq);
		}
		if (leaving && (mosquitto_socket(m->mosq) < 0 || now >= deadline))
			break;
		if (!leaving && mosquitto_socket(m->mosq) < 0 && now >= m->next_attempt_us) {
			int rc = m->ever_tried ? mosquitto_reconnect_async(m->mosq)
					       : mosquitto_connect_async(m->mosq, m->host, m->port, m->keepalive);
			m->ever_tried = 1;
			/*
			 * The next attempt is spaced from this one however this one
			 * ends (refused, a failed handshake, a lost connection), so
			 * that no failure can turn into a busy loop.
			 */
			schedule_retry(m);
			if (rc != MOSQ_ERR_SUCCESS && !m->lost_logged) {
				m->lost_logged = 1;
				vg_warn("mqtt: cannot reach %s:%d (%s), retrying", m->host, m->port, mosquitto_strerror(rc));
			}
		}
		if (!leaving && atomic_load(&m->connected) && m->stats_interval_us && now >= m->next_stats_us) {
			m->next_stats_us = now + m->stats_interval_us;
			pthread_mutex_lock(&m->cb_mu);
			char *(*fn)(void *) = m->stats_fn;
			void *opaque = m->stats_opaque;
			pthread_mutex_unlock(&m->cb_mu);
			char *json = fn ? fn(opaque) : NULL;
			if (json)
				enqueue(m, strdup(m->stats_topic), json, strlen(json));
		}
		if (!leaving && atomic_load(&m->connected) && atomic_exchange(&m->own_changed, 0)) {
			subscribe_own(m, 1);
			m->own_unsubscribe_us = now + OWN_RETAINED_WAIT_US;
		}
		if (m->own_unsubscribe_us && now >= m->own_unsubscribe_us) {
			m->own_unsubscribe_us = 0;
			if (atomic_load(&m->connected))
				subscribe_own(m, 0);
		}
		if (!leaving && m->beat_us && atomic_load(&m->connected) && now >= m->next_beat_us) {
			m->next_beat_us = now + m->beat_us;
			enqueue(m, strdup(m->alive_topic), strdup("1"), 1);
		}
		if (!leaving)
			drain(m);

		int sock = mosquitto_socket(m->mosq);
		struct pollfd p[2] = { { .fd = m->efd, .events = POLLIN }, { .fd = sock, .events = POLLIN } };
		int np = 1;
		if (sock >= 0) {
			if (mosquitto_want_write(m->mosq))
				p[1].events |= POLLOUT;
			np = 2;
		}
		int64_t wait_us = 1000000;
		if (leaving)
			wait_us = deadline - now;
		else if (sock < 0)
			wait_us = m->next_attempt_us - now;
		else if (m->stats_interval_us && m->next_stats_us - now < wait_us)
			wait_us = m->next_stats_us - now;
		if (!leaving && m->beat_us && sock >= 0 && m->next_beat_us - now < wait_us)
			wait_us = m->next_beat_us - now;
		if (wait_us > 1000000)
			wait_us = 1000000;
		if (wait_us < 0)
			wait_us = 0;
		poll(p, (nfds_t)np, (int)((wait_us + 999) / 1000));
		if (p[0].revents & POLLIN) {
			uint64_t v;
			if (read(m->efd, &v, sizeof v) < 0) {
				/* Nothing to clear. */
			}
		}
		/*
		 * Not mosquitto_loop: it uses select(), which fails for
		 * descriptors past FD_SETSIZE, and a server with many cameras
		 * and clients gets there. mosquitto_loop_read also drives a TLS
		 * handshake, which may wait for the socket to be writable.
		 */
		if (np == 2 && p[1].revents) {
			int rc = mosquitto_loop_read(m->mosq, 1);
			if (rc == MOSQ_ERR_TLS && !m->tls_logged) {
				m->tls_logged = 1;
				vg_warn("mqtt: TLS handshake with %s:%d failed (is mqtt.ca_file the broker's CA?)", m->host,
					m->port);
			}
			if (mosquitto_socket(m->mosq) >= 0 && (p[1].revents & POLLOUT))
				mosquitto_loop_write(m->mosq, 1);
		}
		if (mosquitto_socket(m->mosq) >= 0)
			mosquitto_loop_misc(m->mosq);
	}
	return NULL;
}

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;

static void lib_init(void)
{
	mosquitto_lib_init();
}

static void free_all(vg_mqtt *m)
{
	if (m->mosq)
		mosquitto_destroy(m->mosq);
	if (m->efd >= 0)
		close(m->efd);
	for (int i = 0; i < m->qlen; i++) {
		qmsg *e = &m->q[(m->qhead + i) % VG_MQTT_QUEUE];
		free(e->topic);
		free(e->payload);
	}
	for (retained *r = m->ret, *next; r; r = next) {
		next = r->next;
		free(r->topic);
		free(r->data);
		vg_blob_unref(r->blob);
		free(r);
	}
	for (cam *c = m->cams, *next; c; c = next) {
		next = c->next;
		vg_mqtt_track_fini(&c->track);
		free(c);
	}
	for (fleet_node *n = m->fleet, *next; n; n = next) {
		next = n->next;
		cJSON_Delete(n->state);
		free(n->name);
		free(n);
	}
	pthread_mutex_destroy(&m->mu);
	pthread_mutex_destroy(&m->cams_mu);
	free(m->own);
	pthread_mutex_destroy(&m->fleet_mu);
	pthread_mutex_destroy(&m->cb_mu);
	free(m->host);
	free(m->prefix);
	free(m->node);
	free(m->node_topic);
	free(m->stats_topic);
	free(m->alive_topic);
	free(m->offline_json);
	free(m);
}

/* A prefix is topic levels without wildcards: "vigil", "site/vigil". */
static int prefix_ok(const char *p)
{
	if (!*p || *p == '/' || p[strlen(p) - 1] == '/' || strstr(p, "//"))
		return 0;
	return strpbrk(p, "+#") == NULL;
}

int vg_mqtt_create(vg_mqtt **out, const vg_config_mqtt *opt, const char *node, char *err, size_t errlen)
{
	*out = NULL;
	if (!opt->host || !*opt->host) {
		snprintf(err, errlen, "mqtt.host: expected a broker host name or address");
		return -1;
	}
	int port = opt->port ? opt->port : opt->ca_file ? 8883 : 1883;
	if (port < 1 || port > 65535) {
		snprintf(err, errlen, "mqtt.port: expected 1..65535, got %d", opt->port);
		return -1;
	}
	if (opt->qos < 0 || opt->qos > 2) {
		snprintf(err, errlen, "mqtt.qos: expected 0, 1 or 2, got %d", opt->qos);
		return -1;
	}
	if (opt->keepalive != 0 && (opt->keepalive < 5 || opt->keepalive > 65535)) {
		snprintf(err, errlen, "mqtt.keepalive: expected 5..65535 seconds (or 0: none), got %d", opt->keepalive);
		return -1;
	}
	const char *prefix = opt->prefix ? opt->prefix : "vigil";
	if (!prefix_ok(prefix)) {
		snprintf(err, errlen, "mqtt.prefix: expected topic levels without + or # or empty levels, got '%s'",
			 prefix);
		return -1;
	}
	if (opt->ca_file && access(opt->ca_file, R_OK) != 0) {
		snprintf(err, errlen, "mqtt.ca_file: cannot read %s", opt->ca_file);
		return -1;
	}
	pthread_once(&lib_once, lib_init);

	vg_mqtt *m = calloc(1, sizeof *m);
	if (!m) {
		snprintf(err, errlen, "mqtt: out of memory");
		return -1;
	}
	m->efd = -1;
	pthread_mutex_init(&m->mu, NULL);
	pthread_mutex_init(&m->cams_mu, NULL);
	pthread_mutex_init(&m->fleet_mu, NULL);
	pthread_mutex_init(&m->cb_mu, NULL);
	char word[VG_MQTT_WORD_MAX + 2];
	vg_mqtt_topic_word(node ? node : "default", word, sizeof word);
	m->host = strdup(opt->host);
	m->port = port;
	m->keepalive = opt->keepalive;
	m->qos = opt->qos;
	m->snapshot = opt->snapshot;
	m->max_rate = opt->max_rate;
	m->stats_interval_us = opt->stats_interval > 0 ? (int64_t)(opt->stats_interval * 1e6) : 0;
	if (m->stats_interval_us && m->stats_interval_us < 100000)
		m->stats_interval_us = 100000;
	m->prefix = strdup(prefix);
	m->node = strdup(word);
	m->node_topic = fmt_alloc("%s/nodes/%s", prefix, word);
	m->stats_topic = fmt_alloc("%s/nodes/%s/stats", prefix, word);
	m->alive_topic = fmt_alloc("%s/nodes/%s/alive", prefix, word);
	/* Without a keepalive the user asked for no liveness checks: no heartbeats either. */
	m->beat_us = (int64_t)m->keepalive * 1000000 / HEARTBEATS_PER_KEEPALIVE;
	m->offline_json = fmt_alloc("{\"node\":\"%s\",\"online\":false}", word);
	char *online = fmt_alloc("{\"node\":\"%s\",\"online\":true}", word);
	char *client_id = opt->client_id ? strdup(opt->client_id) : fmt_alloc("vigil-%s", word);
	m->backoff_us = BACKOFF_MIN_US;
	m->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!m->host || !m->prefix || !m->node || !m->node_topic || !m->stats_topic || !m->alive_topic || !m->offline_json ||
	    !online || !client_id || m->efd < 0) {
		snprintf(err, errlen, "mqtt: out of memory");
		goto fail;
	}
	m->mosq = mosquitto_new(client_id, true, m);
	if (!m->mosq) {
		snprintf(err, errlen, "mqtt: cannot create a client");
		goto fail;
	}
	int rc;
	if (opt->username && (rc = mosquitto_username_pw_set(m->mosq, opt->username, opt->password))) {
		snprintf(err, errlen, "mqtt.username: %s", mosquitto_strerror(rc));
		goto fail;
	}
	if (opt->ca_file && (rc = mosquitto_tls_set(m->mosq, opt->ca_file, NULL, NULL, NULL, NULL))) {
		snprintf(err, errlen, "mqtt.ca_file: %s: %s", opt->ca_file, mosquitto_strerror(rc));
		goto fail;
	}
	rc = mosquitto_will_set(m->mosq, m->node_topic, (int)strlen(m->offline_json), m->offline_json, opt->qos, true);
	if (rc) {
		snprintf(err, errlen, "mqtt: last will on %s: %s", m->node_topic, mosquitto_strerror(rc));
		goto fail;
	}
	/* Events are small: Nagle's algorithm would hold them back for the acknowledgement of the one before. */
	mosquitto_int_option(m->mosq, MOSQ_OPT_TCP_NODELAY, 1);
	mosquitto_connect_callback_set(m->mosq, on_connect);
	mosquitto_disconnect_callback_set(m->mosq, on_disconnect);
	mosquitto_publish_callback_set(m->mosq, on_publish);
	mosquitto_message_callback_set(m->mosq, on_message);
	vg_mqtt_set_node_state(m, online);
	if (pthread_create(&m->thread, NULL, client_main, m) != 0) {
		snprintf(err, errlen, "mqtt: cannot start its thread");
		goto fail;
	}
	free(online);
	free(client_id);
	*out = m;
	return 0;
fail:
	free(online);
	free(client_id);
	free_all(m);
	return -1;
}

void vg_mqtt_destroy(vg_mqtt *m)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->mu);
	m->stopping = 1;
	pthread_mutex_unlock(&m->mu);
	wake(m);
	pthread_join(m->thread, NULL);
	free_all(m);
}

/* Keeps the camera names of this node's state, whose retained counts are this node's to correct. */
static void own_cameras(vg_mqtt *m, const cJSON *cameras)
{
	int n = cJSON_GetArraySize(cameras);
	char(*own)[VG_MQTT_WORD_MAX + 2] = n > 0 ? calloc((size_t)n, sizeof *own) : NULL;
	int k = 0;
	for (int i = 0; own && i < n; i++) {
		const cJSON *c = cJSON_GetArrayItem(cameras, i);
		if (cJSON_IsString(c))
			vg_mqtt_topic_word(c->valuestring, own[k++], sizeof own[0]);
	}
	pthread_mutex_lock(&m->fleet_mu);
	free(m->own);
	m->own = own;
	m->n_own = k;
	pthread_mutex_unlock(&m->fleet_mu);
	atomic_store(&m->own_changed, 1);
	wake(m);
}

void vg_mqtt_set_node_state(vg_mqtt *m, const char *json)
{
	if (!m || !json)
		return;
	cJSON *j = cJSON_Parse(json);
	char *with_beat = NULL;
	own_cameras(m, cJSON_GetObjectItemCaseSensitive(j, "cameras"));
	/* The state announces the heartbeat, so that peers know when silence means the node is gone. */
	if (m->beat_us && cJSON_IsObject(j)) {
		cJSON_DeleteItemFromObjectCaseSensitive(j, "heartbeat");
		cJSON_AddNumberToObject(j, "heartbeat", (double)m->beat_us / 1e6);
		with_beat = cJSON_PrintUnformatted(j);
	}
	cJSON_Delete(j);
	const char *out = with_beat ? with_beat : json;
	retain_set(m, m->node_topic, out, strlen(out), NULL);
	free(with_beat);
}

/* The camera's state, created on first use; cams_mu held. */
static cam *cam_get(vg_mqtt *m, const char *camera)
{
	char word[VG_MQTT_WORD_MAX + 2];
	vg_mqtt_topic_word(camera, word, sizeof word);
	for (cam *c = m->cams; c; c = c->next)
		if (strcmp(c->word, word) == 0)
			return c;
	cam *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	memcpy(c->word, word, sizeof word);
	vg_mqtt_track_init(&c->track);
	c->next = m->cams;
	m->cams = c;
	return c;
}

void vg_mqtt_publish_detections(vg_mqtt *m, const char *camera, const vg_detection *dets, int n, int width,
				int height, uint64_t frame_id, int64_t capture_wall_us)
{
	if (!m)
		return;
	if (n < 0 || !dets)
		n = 0;
	if (n > VG_MAX_DETECTIONS)
		n = VG_MAX_DETECTIONS;
	int64_t now = vg_mono_us();
	pthread_mutex_lock(&m->cams_mu);
	cam *c = cam_get(m, camera);
	if (!c || !vg_mqtt_track_changed(&c->track, dets, n) || !vg_mqtt_track_due(&c->track, now, m->max_rate)) {
		pthread_mutex_unlock(&m->cams_mu);
		return;
	}
	vg_mqtt_label_count *changed = malloc((size_t)(n + c->track.ncounts + 1) * sizeof *changed);
	int nchanged = changed ? vg_mqtt_track_commit(&c->track, dets, n, now, changed) : -1;
	if (nchanged < 0) {
		pthread_mutex_unlock(&m->cams_mu);
		free(changed);
		atomic_fetch_add(&m->errors, 1);
		return;
	}
	c->snap_wanted = 1;
	/* Under cams_mu, so that two threads of one camera cannot leave an older count as the newest. */
	for (int i = 0; i < nchanged; i++) {
		char *topic = fmt_alloc("%s/%s/%s", m->prefix, c->word, changed[i].word);
		char num[16];
		int len = snprintf(num, sizeof num, "%d", changed[i].count);
		if (topic)
			retain_set(m, topic, num, (size_t)len, NULL);
		free(topic);
	}
	char *topic = fmt_alloc("%s/%s/detections", m->prefix, c->word);
	pthread_mutex_unlock(&m->cams_mu);
	free(changed);
	char *payload = vg_mqtt_detections_payload(camera, dets, n, width, height, frame_id, capture_wall_us);
	enqueue(m, topic, payload, payload ? strlen(payload) : 0);
}

void vg_mqtt_publish_snapshot(vg_mqtt *m, const char *camera, vg_blob *jpeg)
{
	if (!m || !jpeg || !m->snapshot)
		return;
	int64_t now = vg_mono_us();
	pthread_mutex_lock(&m->cams_mu);
	cam *c = cam_get(m, camera);
	int go = c && (!c->snap_sent || (c->snap_wanted && (m->max_rate <= 0 ||
							   (double)(now - c->snap_last_us) * m->max_rate >= 1e6)));
	if (go) {
		c->snap_sent = 1;
		c->snap_wanted = 0;
		c->snap_last_us = now;
		char *topic = fmt_alloc("%s/%s/snapshot", m->prefix, c->word);
		if (topic)
			retain_set(m, topic, NULL, 0, jpeg);
		free(topic);
	}
	pthread_mutex_unlock(&m->cams_mu);
}

void vg_mqtt_publish_enabled(vg_mqtt *m, const char *camera, int enabled)
{
	if (!m)
		return;
	char word[VG_MQTT_WORD_MAX + 2];
	vg_mqtt_topic_word(camera, word, sizeof word);
	char *topic = fmt_alloc("%s/%s/enabled", m->prefix, word);
	if (topic)
		retain_set(m, topic, enabled ? "ON" : "OFF", enabled ? 2 : 3, NULL);
	free(topic);
}

void vg_mqtt_publish_zone_event(vg_mqtt *m, const char *camera, const vg_zone_event *ev, uint64_t frame_id,
				int count)
{
	if (!m)
		return;
	char cam[VG_MQTT_WORD_MAX + 2], name[VG_MQTT_WORD_MAX + 2], label[VG_MQTT_WORD_MAX + 2];
	vg_mqtt_topic_word(camera, cam, sizeof cam);
	vg_mqtt_topic_word(ev->name, name, sizeof name);
	int line = ev->kind == VG_LINE_CROSSED;
	char *json = vg_zone_event_json(ev, camera, frame_id ? (int64_t)frame_id : -1);
	enqueue(m, fmt_alloc("%s/%s/%s/%s", m->prefix, cam, line ? "lines" : "zones", name), json,
		json ? strlen(json) : 0);
	if (line || count < 0 || (ev->kind != VG_ZONE_ENTERED && ev->kind != VG_ZONE_LEFT))
		return;
	vg_mqtt_topic_word(ev->label, label, sizeof label);
	char *topic = fmt_alloc("%s/%s/zones/%s/%s", m->prefix, cam, name, label);
	char num[16];
	int len = snprintf(num, sizeof num, "%d", count);
	if (topic)
		retain_set(m, topic, num, (size_t)len, NULL);
	free(topic);
}

void vg_mqtt_publish_object_event(vg_mqtt *m, const vg_object_message *msg)
{
	if (!m)
		return;
	char *json = vg_object_message_json(msg);
	enqueue(m, fmt_alloc("%s/events", m->prefix), json, json ? strlen(json) : 0);
}

void vg_mqtt_publish_stats(vg_mqtt *m, const char *json)
{
	if (!m || !json)
		return;
	enqueue(m, strdup(m->stats_topic), strdup(json), strlen(json));
}

void vg_mqtt_on_enabled_set(vg_mqtt *m, void (*fn)(void *opaque, const char *camera, int on), void *opaque)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->cb_mu);
	m->enabled_fn = fn;
	m->enabled_opaque = opaque;
	pthread_mutex_unlock(&m->cb_mu);
}

void vg_mqtt_set_stats_source(vg_mqtt *m, char *(*fn)(void *opaque), void *opaque)
{
	if (!m)
		return;
	pthread_mutex_lock(&m->cb_mu);
	m->stats_fn = fn;
	m->stats_opaque = opaque;
	pthread_mutex_unlock(&m->cb_mu);
	wake(m);
}

char *vg_mqtt_fleet_json(vg_mqtt *m)
{
	cJSON *root = cJSON_CreateObject();
	if (!root)
		return NULL;
	if (m) {
		int64_t now = vg_mono_us();
		pthread_mutex_lock(&m->fleet_mu);
		for (fleet_node *n = m->fleet; n; n = n->next) {
			cJSON *dup = cJSON_Duplicate(n->state, 1);
			if (!dup)
				continue;
			/* Silent for too many heartbeats: frozen or cut off, though the broker has not said so yet. */
			if (n->beat_us && now - n->heard_us > HEARTBEATS_MISSED * n->beat_us &&
			    cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(dup, "online"))) {
				cJSON_ReplaceItemInObjectCaseSensitive(dup, "online", cJSON_CreateFalse());
				cJSON_AddBoolToObject(dup, "silent", 1);
			}
			cJSON_AddItemToObject(root, n->name, dup);
		}
		pthread_mutex_unlock(&m->fleet_mu);
	}
	char *s = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	return s;
}

void vg_mqtt_get_stats(const vg_mqtt *m, vg_mqtt_stats *out)
{
	memset(out, 0, sizeof *out);
	if (!m)
		return;
	vg_mqtt *mm = (vg_mqtt *)m;
	out->connected = atomic_load(&mm->connected);
	out->connects = atomic_load(&mm->connects);
	out->published = atomic_load(&mm->published);
	out->dropped = atomic_load(&mm->dropped);
	out->errors = atomic_load(&mm->errors);
	pthread_mutex_lock(&mm->mu);
	out->queue_depth = mm->qlen;
	out->queue_bytes = mm->qbytes;
	pthread_mutex_unlock(&mm->mu);
}
