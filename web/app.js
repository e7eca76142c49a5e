'use strict';

// One camera: the page shows its MJPEG stream, its detections and its stats.
// Many cameras (or cameras of other nodes): a grid of tiles, and a focused
// view of one camera (click a tile, or link to #cam=NAME).
//
// Connections: a browser opens at most six HTTP/1.1 connections to a host, so
// the page holds few. One /events stream carries every camera's detections
// (an unnamed message per frame, with a "camera" key when there are several)
// and, once a second, the stats of all of them (an SSE message of type
// "stats", the same JSON as /api/stats). Only the camera in focus holds an
// MJPEG stream; grid tiles fetch snapshots, one request at a time per tile,
// and only while the grid is shown. The <img> stream is kept alive across
// server restarts.

const $ = (id) => document.getElementById(id);

function fmt(value, digits) {
  return typeof value === 'number' && isFinite(value) ? value.toFixed(digits) : '–';
}

function setText(el, text) {
  if (typeof el === 'string') el = $(el);
  if (el.textContent !== text) el.textContent = text;
}

// A tile asks for a new snapshot this long after it asked for the previous one (once that has arrived).
const SNAPSHOT_INTERVAL_MS = 800;
// A snapshot request that takes longer than this is given up, so that a stuck one cannot freeze its tile.
const SNAPSHOT_TIMEOUT_MS = 5000;
// The camera list is read again this often in the grid, for the other nodes' cameras.
const CAMERAS_INTERVAL_MS = 30000;
// Stats come every second; this long without any means the server is gone, even if no error fired.
const STATS_SILENCE_MS = 3500;
// A tile lists this many detections at most.
const TILE_DETECTIONS = 4;

// name -> { info (from /api/cameras), tile elements, latest event, snapshot state }
const cameras = new Map();
let many = false; // the grid view exists: more than one camera, or cameras of other nodes
let focused = null; // the camera in the focused view when many, else null (the grid is shown)
let streamUrl = '/video_feed'; // what #stream shows, or null when it shows nothing

// --- The focused stream ---

function setStream(url) {
  if (url === streamUrl) return;
  streamUrl = url;
  const img = $('stream');
  if (url) img.src = url;
  else img.removeAttribute('src'); // Ends the MJPEG connection.
}

function restartStream() {
  if (streamUrl) $('stream').src = streamUrl + (streamUrl.includes('?') ? '&' : '?') + 't=' + Date.now();
}

function keepStreamAlive() {
  const img = $('stream');
  let retry = null;
  img.addEventListener('error', () => {
    if (retry || !streamUrl) return;
    retry = setTimeout(() => {
      retry = null;
      restartStream();
    }, 1000);
  });
}

// --- Connection state ---

let wasLive = null;
let statsWatchdog = null;

function setConnection(live) {
  // A stream cut by a server restart does not always fire 'error'; restart it when the server is back.
  if (live && wasLive === false) restartStream();
  wasLive = live;
  const badge = $('conn');
  badge.textContent = live ? 'live' : 'disconnected';
  badge.className = 'badge ' + (live ? 'live' : 'down');
}

function armWatchdog() {
  clearTimeout(statsWatchdog);
  statsWatchdog = setTimeout(() => setConnection(false), STATS_SILENCE_MS);
}

// --- Stats ---

// The focused camera's stats: s is one camera's section of the stats document (or the whole document).
function showStats(s, clients) {
  setText('fps', fmt(s.output.fps, 1));
  setText('source-fps', fmt(s.source.fps, 1));
  setText('latency', fmt(s.output.latency_ms, 1) + ' ms');
  setText('dropped', String(s.analysis.drops + s.output.drops));
  setText('clients', clients);
  const state = $('source-state');
  setText(state, s.source.state);
  state.className = 'state-' + s.source.state;
  setText('resolution', s.source.width && s.source.height ? s.source.width + '×' + s.source.height : '–');
  setText('source-frames', String(s.source.frames));
  const a = s.analysis;
  setText('analysis-fps', a.enabled ? fmt(a.fps, 1) : 'off');
  setText('analysis-latency', a.enabled ? fmt(a.latency_ms, 1) + ' ms' : '–');
  setText('analysis-share', a.enabled ? fmt(a.share * 100, 0) + '% (fair ' + fmt(a.fair_share * 100, 0) + '%)' : '–');
  showCounts(s.zones, s.lines);
}

// "person 2, car 1" from {"person": 2, "car": 1}; "–" for none.
function perLabel(counts) {
  const parts = Object.entries(counts || {}).map(([label, n]) => label + ' ' + n);
  return parts.length ? parts.join(', ') : '–';
}

// The focused camera's zones (objects in them now) and lines (crossings each way since the start).
function showCounts(zones, lines) {
  const items = [];
  for (const [name, z] of Object.entries(zones || {})) {
    const li = document.createElement('li');
    li.className = 'zone';
    li.textContent = name + ': ' + z.total + ' now (' + perLabel(z.objects) + ')';
    items.push(li);
  }
  for (const [name, l] of Object.entries(lines || {})) {
    // The two directions are the keys that are neither a period nor "total".
    const dirs = Object.keys(l).filter((k) => !['hour', 'previous_hour', 'today'].includes(k));
    const li = document.createElement('li');
    li.className = 'line';
    li.textContent = name + ': ' + dirs.map((d) => d + ' ' + Object.values(l[d]).reduce((a, b) => a + b, 0)).join(', ');
    items.push(li);
  }
  $('counts-section').hidden = items.length === 0;
  $('counts').replaceChildren(...items);
}

// The newest zone and line events of each camera ("" for the command line's one camera).
const ZONE_EVENTS_KEPT = 10;
const zoneEvents = new Map();

function zoneEventText(e) {
  const what = e.event === 'crossed' ? 'crossed ' + e.line + ' (' + e.direction + ')'
    : e.event + ' ' + e.zone + (typeof e.dwell_s === 'number' ? ' after ' + fmt(e.dwell_s, 0) + ' s' : '');
  const when = new Date(e.time * 1000).toLocaleTimeString();
  return when + '  ' + e.label + ' #' + e.track_id + ' ' + what;
}

function showZoneEvents(list) {
  const items = (list || []).map((e) => {
    const li = document.createElement('li');
    li.className = 'zone-event ' + e.event;
    li.textContent = zoneEventText(e);
    return li;
  });
  if (items.length === 0) {
    const li = document.createElement('li');
    li.className = 'empty';
    li.textContent = 'none';
    items.push(li);
  }
  $('zone-events').replaceChildren(...items);
}

function onZoneEvent(e) {
  const key = e.camera || '';
  const list = zoneEvents.get(key) || [];
  list.unshift(e);
  list.length = Math.min(list.length, ZONE_EVENTS_KEPT);
  zoneEvents.set(key, list);
  if (many ? e.camera === focused : true) showZoneEvents(list);
}

function setBadge(el, state) {
  setText(el, state);
  el.className = el.className.replace(/ ?state-\S+/g, '') + ' state-' + state;
}

function onStats(doc) {
  viewTracks = !!doc.tracking;
  tracking.clear();
  for (const c of Array.isArray(doc.cameras) ? doc.cameras : []) if (c && c.tracking) tracking.add(c.name);
  syncRecent(false);
  if (!many) {
    showStats(doc, doc.clients.stream + ' video, ' + doc.clients.events + ' events');
  }
  const list = Array.isArray(doc.cameras) ? doc.cameras : [];
  for (const c of list) {
    const cam = cameras.get(c.name);
    if (!cam) continue;
    cam.info.state = c.source.state;
    if (cam.tile) {
      setBadge(cam.tile.state, c.source.state);
      setNote(cam);
      setText(cam.tile.fps, c.analysis.enabled ? 'analysis ' + fmt(c.analysis.fps, 1) + ' fps' : 'no analysis');
    }
    if (many && c.name === focused) {
      setBadge($('focus-state'), c.source.state);
      showStats(c, c.clients.stream + (c.clients.stream === 1 ? ' viewer' : ' viewers'));
    }
  }
  // A camera added or removed (a reloaded configuration): read the list again.
  const local = [...cameras.values()].filter((c) => c.info.local).map((c) => c.info.name);
  if (list.map((c) => c.name).join('\n') !== local.join('\n')) loadCameras();
}

// --- Detections ---

function detectionItems(list, segmentation, limit) {
  const items = [];
  for (const d of list.slice(0, limit)) {
    const li = document.createElement('li');
    const label = document.createElement('span');
    label.textContent = d.label;
    const score = document.createElement('span');
    score.className = 'score';
    score.textContent = Math.round(d.score * 100) + '%';
    li.append(label);
    // Tracked objects: their identity, as the stream draws it ("person #12").
    if (typeof d.track_id === 'number') {
      const id = document.createElement('span');
      id.className = 'track';
      id.textContent = '#' + d.track_id;
      li.append(id);
    }
    // Pose and face models give keypoints: say how many were found (as the stream draws them, score 0.2 and up).
    if (Array.isArray(d.keypoints) && d.keypoints.length > 0) {
      const kp = document.createElement('span');
      kp.className = 'keypoints';
      const found = d.keypoints.filter((k) => typeof k.score === 'number' && k.score >= 0.2).length;
      kp.textContent = found + '/' + d.keypoints.length + ' keypoints';
      li.append(kp);
    }
    li.append(score);
    // A second-stage classifier's answers (--classify): "happy 83%" under the detection.
    if (Array.isArray(d.attributes)) {
      for (const a of d.attributes) {
        const attr = document.createElement('span');
        attr.className = 'attribute';
        attr.title = typeof a.model === 'string' ? a.model : '';
        attr.textContent = a.label + ' ' + Math.round(a.score * 100) + '%';
        li.append(attr);
      }
    }
    items.push(li);
  }
  if (list.length > limit) {
    const li = document.createElement('li');
    li.className = 'more';
    li.textContent = '+' + (list.length - limit) + ' more';
    items.push(li);
  }
  // Segmentation models: each class's share of the frame ("person 23% of the frame").
  const classes = segmentation && Array.isArray(segmentation.classes) ? segmentation.classes : [];
  for (const c of classes.slice(0, limit)) {
    const li = document.createElement('li');
    li.className = 'segment';
    const label = document.createElement('span');
    label.textContent = c.label;
    const area = document.createElement('span');
    area.className = 'score';
    area.textContent = fmt(c.area * 100, 1) + '% of the frame';
    li.append(label, area);
    items.push(li);
  }
  if (items.length === 0) {
    const li = document.createElement('li');
    li.className = 'empty';
    li.textContent = 'none';
    items.push(li);
  }
  return items;
}

// The focused camera's detections.
function showDetections(list, segmentation) {
  setText('detection-count', String(list.length));
  $('detections').replaceChildren(...detectionItems(list, segmentation, Infinity));
}

// Boxes over a tile's image, in percent of the frame (the events' boxes are normalised).
function drawBoxes(layer, list) {
  const boxes = [];
  for (const d of list) {
    if (!Array.isArray(d.box) || d.box.length !== 4) continue;
    const [x0, y0, x1, y1] = d.box.map((v) => Math.min(Math.max(v, 0), 1) * 100);
    const box = document.createElement('span');
    box.className = 'box';
    box.style.left = x0 + '%';
    box.style.top = y0 + '%';
    box.style.width = (x1 - x0) + '%';
    box.style.height = (y1 - y0) + '%';
    const label = document.createElement('span');
    label.textContent = d.label + ' ' + Math.round(d.score * 100) + '%';
    box.append(label);
    boxes.push(box);
  }
  layer.replaceChildren(...boxes);
}

// Events come per frame from every camera; tiles are redrawn once per animation frame at most.
const dirtyTiles = new Set();
let drawPending = false;

function renderTiles() {
  drawPending = false;
  if ($('grid').hidden) return; // Drawn when the grid is shown again.
  for (const cam of dirtyTiles) {
    if (!cam.tile || !cam.event) continue;
    const list = Array.isArray(cam.event.detections) ? cam.event.detections : [];
    drawBoxes(cam.tile.boxes, list);
    cam.tile.detections.replaceChildren(...detectionItems(list, cam.event.segmentation, TILE_DETECTIONS));
    cam.tile.root.dataset.events = String(++cam.eventsShown);
  }
  dirtyTiles.clear();
}

function onFrameEvent(ev) {
  // Without a "camera" key the server runs one camera from the command line.
  const cam = ev.camera ? cameras.get(ev.camera) : null;
  if (cam) {
    cam.event = ev;
    dirtyTiles.add(cam);
    if (!drawPending) {
      drawPending = true;
      requestAnimationFrame(renderTiles);
    }
  }
  if (many && ev.camera !== focused) return;
  if (typeof ev.capture_time === 'number') {
    setText('latency-browser', fmt(Date.now() - ev.capture_time * 1000, 0) + ' ms');
  }
  showDetections(Array.isArray(ev.detections) ? ev.detections : [], ev.segmentation);
}

function listenEvents() {
  // EventSource reconnects by itself, after the retry delay the server sends.
  const source = new EventSource('/events');
  source.addEventListener('stats', (msg) => {
    let s;
    try {
      s = JSON.parse(msg.data);
    } catch (err) {
      return;
    }
    onStats(s);
    setConnection(true);
    armWatchdog();
  });
  for (const type of ['zone', 'line']) {
    source.addEventListener(type, (msg) => {
      try {
        onZoneEvent(JSON.parse(msg.data));
      } catch (err) {
        // A message this page cannot read changes nothing.
      }
    });
  }
  source.addEventListener('object', (msg) => {
    try {
      onObjectMessage(JSON.parse(msg.data));
    } catch (err) {
      // A message this page cannot read changes nothing.
    }
  });
  // Connected, or connected again after a server restart: the list is read again, for what it missed.
  source.addEventListener('open', () => syncRecent(true));
  source.onerror = () => setConnection(false);
  source.onmessage = (msg) => {
    let ev;
    try {
      ev = JSON.parse(msg.data);
    } catch (err) {
      return;
    }
    onFrameEvent(ev);
  };
}

// --- Recent object events ---
//
// One event per tracked object, kept by the server's store: the focused camera's newest ones are read once from
// /api/events, then kept current by the "object" messages of /events (new, update, end). Only a camera that tracks
// objects (its stats have a "tracking" section) has events, so only then is the list asked for: a server without
// a store answers 404, which the browser would report in its console. If it answers 404 all the same, the panel
// stays hidden.

const RECENT_KEPT = 20;
// A snapshot announced by an "object" message is asked for this much later, so that a top score rising in
// several updates in a row costs one request, not one per update.
const SNAPSHOT_SETTLE_MS = 700;
// A thumbnail that failed to load is asked for again once, this much later.
const THUMB_RETRY_MS = 2000;
const CLIP_TYPE = 'video/mp4; codecs="avc1.64001f"';

const recent = {
  camera: undefined, // whose events are listed: a camera's name, '' for all of them, null for none (the grid)
  list: [], // state objects, newest first
  entries: new Map(), // id -> the entry's elements
  loading: null, // the AbortController of the load under way
  pending: null, // object messages that arrived during the load, applied after it
};

// Whether the camera in view tracks objects, from the stats: the one camera's, or each camera's (by name).
let viewTracks = false;
const tracking = new Set();

// The camera whose events the panel lists: the focused one; with one camera, all of this server's events (the
// command line's camera is listed as "default" but its events have no camera name); null: none.
function recentCamera() {
  if (cameras.size === 0) return null; // Until the camera list is read, whether there are many is not known.
  if (many) return focused !== null && tracking.has(focused) ? focused : null;
  return viewTracks ? '' : null;
}

function validObject(e) {
  return e && typeof e === 'object' && typeof e.id === 'string' && typeof e.start_time === 'number';
}

function pad2(n) {
  return String(n).padStart(2, '0');
}

// Unix seconds as the local time of day, HH:MM:SS.
function clockTime(t) {
  const d = new Date(t * 1000);
  return pad2(d.getHours()) + ':' + pad2(d.getMinutes()) + ':' + pad2(d.getSeconds());
}

function durationText(s) {
  s = Math.max(0, Math.round(s));
  return s < 60 ? s + ' s' : Math.floor(s / 60) + ' min ' + pad2(s % 60) + ' s';
}

function eventUrl(e, what) {
  return '/api/events/' + encodeURIComponent(e.id) + (what ? '/' + what : '');
}

function isLive(e) {
  return typeof e.end_time !== 'number';
}

function makeEntry(e) {
  const li = $('event-template').content.firstElementChild.cloneNode(true);
  const entry = {
    li,
    button: li.querySelector('.event-entry'),
    img: li.querySelector('.event-thumb'),
    placeholder: li.querySelector('.no-snapshot'),
    label: li.querySelector('.event-label'),
    track: li.querySelector('.track'),
    score: li.querySelector('.score'),
    time: li.querySelector('.event-time'),
    zones: li.querySelector('.event-zones'),
    event: e,
    src: null, // the thumbnail's URL, set on the image now or when the timer fires
    timer: null,
    retried: false,
  };
  entry.button.addEventListener('click', () => openEvent(entry.event, entry.button));
  entry.img.addEventListener('error', () => {
    if (entry.timer || !entry.src) return; // A newer snapshot is on its way, or there is none.
    showPlaceholder(entry, true);
    if (entry.retried) return;
    entry.retried = true;
    entry.timer = setTimeout(() => {
      entry.timer = null;
      if (entry.src) entry.img.src = entry.src + '&retry=1';
    }, THUMB_RETRY_MS);
  });
  entry.img.addEventListener('load', () => showPlaceholder(entry, false));
  return entry;
}

// The placeholder covers the image rather than the image being hidden: a lazy image that is not rendered never loads.
function showPlaceholder(entry, shown) {
  entry.placeholder.hidden = !shown;
}

function setThumb(entry) {
  entry.timer = null;
  if (entry.src && entry.img.getAttribute('src') !== entry.src) entry.img.src = entry.src;
}

// later: the snapshot may not be on the server's disk yet (the state came in a message), so wait a little.
function updateEntry(entry, e, later) {
  entry.event = e;
  const live = isLive(e);
  const b = entry.button;
  b.dataset.id = e.id;
  b.dataset.live = String(live);
  b.dataset.hasClip = String(!!e.has_clip);
  b.dataset.hasSnapshot = String(!!e.has_snapshot);
  b.classList.toggle('live', live);
  b.title = e.has_clip ? 'Play the clip' : 'Show the snapshot';
  setText(entry.label, String(e.label || 'object'));
  setText(entry.track, typeof e.track_id === 'number' ? '#' + e.track_id : '');
  const score = typeof e.top_score === 'number' ? e.top_score : e.score;
  setText(entry.score, typeof score === 'number' ? Math.round(score * 100) + '%' : '');
  setText(entry.time, clockTime(e.start_time) + ' · ' + (live ? 'live' : durationText(e.end_time - e.start_time)));
  const zones = Array.isArray(e.entered_zones) ? e.entered_zones.filter((z) => typeof z === 'string') : [];
  setText(entry.zones, zones.length ? 'entered ' + zones.join(', ') : '');
  entry.zones.hidden = zones.length === 0;
  if (e.has_snapshot) {
    // The best snapshot changes with the top score: its time in the URL makes the browser fetch the new one.
    const src = eventUrl(e, 'snapshot.jpg') + '?crop=1&t=' + encodeURIComponent(String(e.top_score_time ?? ''));
    entry.img.alt = 'Snapshot of ' + (e.label || 'object') + (typeof e.track_id === 'number' ? ' #' + e.track_id : '');
    if (src !== entry.src) {
      entry.src = src;
      entry.retried = false;
      if (!entry.img.getAttribute('src')) showPlaceholder(entry, false); // An empty frame while it loads.
      if (!later) {
        clearTimeout(entry.timer);
        setThumb(entry);
      } else if (!entry.timer) {
        entry.timer = setTimeout(() => setThumb(entry), SNAPSHOT_SETTLE_MS);
      }
    }
  } else {
    clearTimeout(entry.timer);
    entry.timer = null;
    entry.src = null;
    entry.img.removeAttribute('src');
    showPlaceholder(entry, true);
  }
}

function renderRecent(later) {
  const seen = new Set();
  const items = [];
  for (const e of recent.list) {
    let entry = recent.entries.get(e.id);
    if (!entry) {
      entry = makeEntry(e);
      recent.entries.set(e.id, entry);
    }
    updateEntry(entry, e, later);
    seen.add(e.id);
    items.push(entry.li);
  }
  for (const [id, entry] of recent.entries) {
    if (seen.has(id)) continue;
    clearTimeout(entry.timer);
    recent.entries.delete(id);
  }
  if (items.length === 0) {
    const li = document.createElement('li');
    li.className = 'empty';
    li.textContent = 'none yet';
    items.push(li);
  }
  const ul = $('recent-events');
  // Only when an entry came, went or moved: moving the elements would lose the keyboard focus.
  if (items.length !== ul.children.length || items.some((li, i) => ul.children[i] !== li)) ul.replaceChildren(...items);
  setText('recent-count', String(recent.list.length));
}

// An object message (new, update, end) into the list: replaced in place by id, or placed by its start time.
function applyObject(e) {
  const list = recent.list;
  const i = list.findIndex((x) => x.id === e.id);
  if (i >= 0) {
    list[i] = e;
    return;
  }
  let at = list.findIndex((x) => x.start_time < e.start_time);
  if (at < 0) at = list.length;
  if (at >= RECENT_KEPT) return;
  list.splice(at, 0, e);
  list.length = Math.min(list.length, RECENT_KEPT);
}

function onObjectMessage(m) {
  const e = m && m.after;
  if (!validObject(e) || recent.camera === null || recent.camera === undefined) return;
  if (recent.camera !== '' && e.camera !== recent.camera) return;
  if (recent.pending) {
    recent.pending.push(e);
    return;
  }
  if ($('recent').hidden) return; // No store (404) or not loaded yet: the next load reads them.
  applyObject(e);
  renderRecent(true);
}

async function loadRecent(camera) {
  if (recent.loading) recent.loading.abort();
  recent.camera = camera;
  recent.list = [];
  for (const entry of recent.entries.values()) clearTimeout(entry.timer);
  recent.entries.clear();
  recent.pending = null;
  recent.loading = null;
  if (camera === null) {
    $('recent').hidden = true;
    return;
  }
  const ctl = new AbortController();
  recent.loading = ctl;
  recent.pending = [];
  try {
    const r = await fetch('/api/events?limit=' + RECENT_KEPT + (camera ? '&camera=' + encodeURIComponent(camera) : ''),
      { cache: 'no-store', signal: AbortSignal.any([ctl.signal, AbortSignal.timeout(10000)]) });
    if (r.status === 404) {
      // This server keeps no events: no panel.
      await r.arrayBuffer();
      if (recent.loading === ctl) $('recent').hidden = true;
      return;
    }
    if (!r.ok) throw new Error('GET /api/events answered ' + r.status);
    const doc = await r.json();
    if (recent.loading !== ctl) return;
    recent.list = (Array.isArray(doc) ? doc.filter(validObject) : []).slice(0, RECENT_KEPT);
    for (const e of recent.pending) applyObject(e);
    recent.pending = null;
    renderRecent();
    $('recent').hidden = false;
  } catch (err) {
    // Read again when the event stream reconnects.
    if (recent.loading === ctl) recent.camera = undefined;
  } finally {
    if (recent.loading === ctl) {
      recent.loading = null;
      recent.pending = null;
    }
  }
}

// Called whenever the view may have changed camera; reads the list again only when it did.
function syncRecent(force) {
  const camera = recentCamera();
  if (force || camera !== recent.camera) loadRecent(camera);
}

// --- The event dialog: the clip, or the snapshot ---

let dialogOpener = null;

function canPlayClips() {
  return document.createElement('video').canPlayType(CLIP_TYPE) !== '';
}

function showFullSnapshot(media, e) {
  const note = $('event-note');
  if (e.has_snapshot) {
    const img = document.createElement('img');
    img.className = 'event-snapshot';
    img.alt = 'Snapshot of ' + (e.label || 'object') + (typeof e.track_id === 'number' ? ' #' + e.track_id : '');
    img.src = eventUrl(e, 'snapshot.jpg') + '?t=' + encodeURIComponent(String(e.top_score_time ?? ''));
    media.replaceChildren(img);
    $('event-dialog').dataset.mode = 'snapshot';
  } else {
    media.replaceChildren();
    $('event-dialog').dataset.mode = 'none';
  }
  if (e.has_clip) {
    note.textContent = 'This browser cannot play the clip (H.264 in MP4): download it instead.';
    note.hidden = false;
  }
}

function openEvent(e, opener) {
  const dlg = $('event-dialog');
  const media = $('event-media');
  const note = $('event-note');
  note.hidden = true;
  note.textContent = '';
  setText('event-dialog-title', (e.label || 'object') + (typeof e.track_id === 'number' ? ' #' + e.track_id : '') +
    ' · ' + clockTime(e.start_time) + ' · ' + (isLive(e) ? 'live' : durationText(e.end_time - e.start_time)));
  dlg.dataset.id = e.id;
  if (e.has_clip && canPlayClips()) {
    const video = document.createElement('video');
    video.className = 'event-clip';
    video.controls = true;
    video.autoplay = true;
    video.muted = true;
    video.playsInline = true;
    video.preload = 'auto';
    video.setAttribute('playsinline', '');
    // A clip this browser cannot decode after all: the snapshot instead.
    video.addEventListener('error', () => {
      if (media.contains(video)) showFullSnapshot(media, e);
    });
    video.src = eventUrl(e, 'clip.mp4');
    media.replaceChildren(video);
    dlg.dataset.mode = 'video';
  } else {
    showFullSnapshot(media, e);
  }
  const clipLink = $('event-clip-link');
  clipLink.hidden = !e.has_clip;
  if (e.has_clip) clipLink.href = eventUrl(e, 'clip.mp4');
  const snapLink = $('event-snapshot-link');
  snapLink.hidden = !e.has_snapshot;
  if (e.has_snapshot) snapLink.href = eventUrl(e, 'snapshot.jpg');
  dialogOpener = opener || null;
  if (!dlg.open) dlg.showModal();
  $('event-dialog-close').focus();
}

function closeEvent() {
  const dlg = $('event-dialog');
  if (dlg.open) dlg.close();
}

function setupEventDialog() {
  const dlg = $('event-dialog');
  $('event-dialog-close').addEventListener('click', closeEvent);
  // A click on the backdrop (the dialog element itself, outside its content) closes it too.
  dlg.addEventListener('click', (ev) => {
    if (ev.target === dlg) closeEvent();
  });
  dlg.addEventListener('close', () => {
    // Stops the download of the clip, which may still be growing.
    const video = $('event-media').querySelector('video');
    if (video) {
      video.pause();
      video.removeAttribute('src');
      video.load();
    }
    $('event-media').replaceChildren();
    delete dlg.dataset.mode;
    // The entry may have been drawn again while the dialog was open (an update of its event): the one of its id.
    const opener = dialogOpener && dialogOpener.isConnected ? dialogOpener
      : [...document.querySelectorAll('#recent-events .event-entry')].find((b) => b.dataset.id === dlg.dataset.id);
    if (opener) opener.focus();
    dialogOpener = null;
  });
}

// --- Grid tiles ---

function makeTile(info) {
  const root = $('tile-template').content.firstElementChild.cloneNode(true);
  root.dataset.camera = info.name;
  const tile = {
    root,
    img: root.querySelector('.snapshot'),
    frame: root.querySelector('.frame'),
    boxes: root.querySelector('.boxes'),
    note: root.querySelector('.note'),
    state: root.querySelector('.tile-state'),
    fps: root.querySelector('.tile-fps'),
    detections: root.querySelector('.tile-detections'),
    view: root.querySelector('.tile-view'),
  };
  setText(root.querySelector('.tile-name'), info.name);
  if (info.width > 0 && info.height > 0) tile.frame.style.aspectRatio = info.width + ' / ' + info.height;
  if (info.local) {
    tile.img.alt = 'Latest frame of camera ' + info.name;
    tile.view.setAttribute('aria-label', 'Open camera ' + info.name);
    tile.view.addEventListener('click', () => {
      location.hash = 'cam=' + encodeURIComponent(info.name);
    });
    setBadge(tile.state, info.state);
  } else {
    // Another node's camera: no stream from here (it would take this host's connections), a link to its node.
    root.classList.add('remote');
    const link = document.createElement('a');
    link.className = 'tile-view';
    link.textContent = (info.online ? 'On node ' : 'Offline: node ') + info.node;
    if (typeof info.url === 'string' && /^https?:\/\//.test(info.url)) {
      link.href = info.url.replace(/\/+$/, '') + '/#cam=' + encodeURIComponent(info.name);
    }
    tile.view.replaceWith(link);
    tile.view = link;
    tile.img = null;
    setBadge(tile.state, info.online ? info.state : 'offline');
    setText(tile.fps, info.node);
    tile.fps.title = 'Node';
  }
  return tile;
}

// The text over a tile that has no image yet.
function setNote(cam) {
  const notes = { disabled: 'disabled', reconnecting: 'no connection to the source', ended: 'the source ended' };
  setText(cam.tile.note, cam.snapshots > 0 || !cam.info.local ? '' : notes[cam.info.state] || 'waiting for a frame');
}

function showSnapshot(cam, blob, frameId) {
  const url = URL.createObjectURL(blob);
  const old = cam.snapshotUrl;
  cam.snapshotUrl = url;
  cam.tile.img.src = url;
  if (old) URL.revokeObjectURL(old);
  cam.snapshots++;
  setNote(cam);
  cam.tile.root.dataset.snapshots = String(cam.snapshots);
  if (frameId) cam.tile.root.dataset.frameId = frameId;
}

async function fetchSnapshot(cam) {
  cam.loading = true;
  cam.lastAsked = performance.now();
  try {
    const r = await fetch(cam.info.snapshot, { cache: 'no-store', signal: AbortSignal.timeout(SNAPSHOT_TIMEOUT_MS) });
    // 503: the camera has no frame yet (starting, reconnecting); the next round asks again.
    if (r.ok) {
      const blob = await r.blob();
      if (cameras.get(cam.info.name) === cam) showSnapshot(cam, blob, r.headers.get('X-Frame-Id'));
    } else {
      await r.arrayBuffer();
    }
  } catch (err) {
    // The server is gone or slow; the connection badge says so, and the next round asks again.
  } finally {
    cam.loading = false;
  }
}

// Every tile whose previous snapshot has arrived and is old enough asks for the next one.
function refreshTiles() {
  if ($('grid').hidden || document.hidden) return;
  const now = performance.now();
  for (const cam of cameras.values()) {
    // A camera that is not running has no new frame (starting, reconnecting, disabled, ended): its tile keeps the last.
    if (cam.tile && cam.info.local && cam.info.state === 'running' && !cam.loading &&
      now - cam.lastAsked >= SNAPSHOT_INTERVAL_MS) {
      fetchSnapshot(cam);
    }
  }
}

// --- The camera list and the views ---

function sameInfo(a, b) {
  return a.local === b.local && a.online === b.online && a.url === b.url && a.node === b.node &&
    a.width === b.width && a.height === b.height && a.snapshot === b.snapshot;
}

function setCameras(list) {
  const grid = $('grid');
  const next = new Map();
  for (const info of list) {
    if (!info || typeof info.name !== 'string' || next.has(info.name)) continue;
    let cam = cameras.get(info.name);
    if (!cam || !sameInfo(cam.info, info)) {
      if (cam && cam.snapshotUrl) URL.revokeObjectURL(cam.snapshotUrl);
      cam = { info, tile: makeTile(info), event: null, eventsShown: 0, snapshots: 0, snapshotUrl: null,
        loading: false, lastAsked: -Infinity };
      setNote(cam);
    } else {
      cam.info = info;
    }
    next.set(info.name, cam);
  }
  for (const [name, cam] of cameras) {
    if (!next.has(name) && cam.snapshotUrl) URL.revokeObjectURL(cam.snapshotUrl);
  }
  cameras.clear();
  for (const [name, cam] of next) cameras.set(name, cam);
  // Only when a tile came or went: moving the elements would lose the keyboard focus.
  const tiles = [...cameras.values()].map((c) => c.tile.root);
  if (tiles.length !== grid.children.length || tiles.some((t, i) => grid.children[i] !== t)) grid.replaceChildren(...tiles);

  many = cameras.size > 1 || [...cameras.values()].some((c) => !c.info.local);
  document.body.classList.toggle('many', many);
  const count = $('camera-count');
  count.hidden = !many;
  setText(count, cameras.size + ' cameras');
  route();
}

let camerasLoading = false;
let camerasAsked = -Infinity;

// Also called by the stats when their cameras differ from the list (a failed read is retried that way).
async function loadCameras() {
  if (camerasLoading || performance.now() - camerasAsked < 2000) return;
  camerasLoading = true;
  camerasAsked = performance.now();
  try {
    const r = await fetch('/api/cameras', { cache: 'no-store', signal: AbortSignal.timeout(5000) });
    if (!r.ok) throw new Error('GET /api/cameras answered ' + r.status);
    const doc = await r.json();
    setCameras(Array.isArray(doc.cameras) ? doc.cameras : []);
  } catch (err) {
    // Tried again when the next stats arrive.
  } finally {
    camerasLoading = false;
  }
}

function hashCamera() {
  const m = /^#cam=(.+)$/.exec(location.hash);
  if (!m) return null;
  try {
    return decodeURIComponent(m[1]);
  } catch (err) {
    return null;
  }
}

// Shows the view the URL asks for: the grid, or one camera (#cam=NAME).
function route() {
  if (!many) {
    // One camera: the page as it always was.
    focused = null;
    $('grid').hidden = true;
    $('focus').hidden = false;
    $('focus-bar').hidden = true;
    setStream('/video_feed');
    syncRecent(false);
    return;
  }
  const name = hashCamera();
  const cam = name !== null ? cameras.get(name) : null;
  if (cam && cam.info.local) showFocus(cam);
  else showGrid();
  syncRecent(false);
}

function showFocus(cam) {
  const name = cam.info.name;
  const changed = focused !== name;
  focused = name;
  $('grid').hidden = true;
  $('focus').hidden = false;
  $('focus-bar').hidden = false;
  setText('focus-name', name);
  setBadge($('focus-state'), cam.info.state || '–');
  document.title = name + ' – vigil';
  $('stream').alt = 'Live video of camera ' + name;
  setStream(cam.info.video_feed);
  if (changed) {
    for (const id of ['fps', 'source-fps', 'latency', 'latency-browser', 'dropped', 'clients', 'source-state',
      'resolution', 'source-frames', 'analysis-fps', 'analysis-latency', 'analysis-share']) setText(id, '–');
    const ev = cam.event;
    showDetections(ev && Array.isArray(ev.detections) ? ev.detections : [], ev && ev.segmentation);
    showCounts(null, null);
    showZoneEvents(zoneEvents.get(name));
    $('back').focus();
  }
}

function showGrid() {
  const was = focused;
  focused = null;
  setStream(null);
  $('focus').hidden = true;
  $('grid').hidden = false;
  document.title = 'vigil';
  for (const cam of cameras.values()) if (cam.event) dirtyTiles.add(cam);
  renderTiles();
  refreshTiles();
  // Back from a camera: the keyboard focus returns to its tile.
  const cam = was !== null ? cameras.get(was) : null;
  if (cam && cam.tile) cam.tile.view.focus();
}

function backToGrid() {
  history.pushState(null, '', location.pathname + location.search);
  route();
}

$('back').addEventListener('click', backToGrid);
document.addEventListener('keydown', (e) => {
  // Escape in the event dialog closes the dialog only.
  if (e.key === 'Escape' && many && focused !== null && !$('event-dialog').open) backToGrid();
});
window.addEventListener('hashchange', route);
document.addEventListener('visibilitychange', refreshTiles);

keepStreamAlive();
setupEventDialog();
listenEvents();
armWatchdog();
loadCameras();
setInterval(refreshTiles, 200);
setInterval(() => {
  if (many) loadCameras();
}, CAMERAS_INTERVAL_MS);
