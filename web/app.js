'use strict';

// The page holds two connections: the MJPEG <img> and one /events stream,
// which carries an event per output frame and, once a second, the stats
// (an SSE message of type "stats", the same JSON as /api/stats). So a tab
// takes one stream slot and one event slot on the server, and the <img> is
// kept alive across server restarts.

const $ = (id) => document.getElementById(id);

function fmt(value, digits) {
  return typeof value === 'number' && isFinite(value) ? value.toFixed(digits) : '–';
}

function setText(id, text) {
  const el = $(id);
  if (el.textContent !== text) el.textContent = text;
}

let wasLive = null;

function restartStream() {
  $('stream').src = '/video_feed?t=' + Date.now();
}

function setConnection(live) {
  // A stream cut by a server restart does not always fire 'error'; restart it when the server is back.
  if (live && wasLive === false) restartStream();
  wasLive = live;
  const badge = $('conn');
  badge.textContent = live ? 'live' : 'disconnected';
  badge.className = 'badge ' + (live ? 'live' : 'down');
}

// Stats come every second; this long without any means the server is gone, even if no error fired.
const STATS_SILENCE_MS = 3500;
let statsWatchdog = null;

function showStats(s) {
    setText('fps', fmt(s.output.fps, 1));
    setText('source-fps', fmt(s.source.fps, 1));
    setText('latency', fmt(s.output.latency_ms, 1) + ' ms');
    setText('dropped', String(s.analysis.drops + s.output.drops));
    setText('clients', s.clients.stream + ' video, ' + s.clients.events + ' events');
    const state = $('source-state');
    setText('source-state', s.source.state);
    state.className = 'state-' + s.source.state;
    setText('resolution', s.source.width && s.source.height ? s.source.width + '×' + s.source.height : '–');
    setText('source-frames', String(s.source.frames));
}

function showDetections(list, segmentation) {
  const ul = $('detections');
  setText('detection-count', String(list.length));
  const items = [];
  for (const d of list) {
    const li = document.createElement('li');
    const label = document.createElement('span');
    label.textContent = d.label;
    const score = document.createElement('span');
    score.className = 'score';
    score.textContent = Math.round(d.score * 100) + '%';
    li.append(label);
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
  // Segmentation models: each class's share of the frame ("person 23% of the frame").
  const classes = segmentation && Array.isArray(segmentation.classes) ? segmentation.classes : [];
  for (const c of classes) {
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
  ul.replaceChildren(...items);
}

function armWatchdog() {
  clearTimeout(statsWatchdog);
  statsWatchdog = setTimeout(() => setConnection(false), STATS_SILENCE_MS);
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
    showStats(s);
    setConnection(true);
    armWatchdog();
  });
  source.onerror = () => setConnection(false);
  source.onmessage = (msg) => {
    let ev;
    try {
      ev = JSON.parse(msg.data);
    } catch (err) {
      return;
    }
    if (typeof ev.capture_time === 'number') {
      setText('latency-browser', fmt(Date.now() - ev.capture_time * 1000, 0) + ' ms');
    }
    showDetections(Array.isArray(ev.detections) ? ev.detections : [], ev.segmentation);
  };
}

function keepStreamAlive() {
  const img = $('stream');
  let retry = null;
  img.addEventListener('error', () => {
    if (retry) return;
    retry = setTimeout(() => {
      retry = null;
      restartStream();
    }, 1000);
  });
}

keepStreamAlive();
listenEvents();
armWatchdog();
