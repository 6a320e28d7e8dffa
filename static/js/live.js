/* Live updates over /ws/calls (no polling): the wallboard, the campaign page, the call page, the calls list.
 *
 * One socket per page, opened only on pages that show live data. Frames carry one message, or
 * {"type": "batch", "messages": [...]} when several arrive together (in order). On every (re)open the page
 * resynchronizes: it fetches its current state (the server's partial) and replays what arrived meanwhile,
 * so nothing that happened while disconnected is missed. Reconnects by itself with exponential backoff
 * and jitter; a banner shows while disconnected. The server closes with 4408 (this page fell behind) or
 * 4503 (the server lost its channel layer, Redis: updates were lost) to ask for exactly that. */
(function () {
  "use strict";

  /* The lifecycle's status table, learnt from the page (calls/templatetags/call_status.py embeds it in every
   * live page), never copied here: RANK orders the states (a message of a lower rank than what a row shows
   * is late), ACTIVE[status] for those still running, TERMINAL the ended ones, LABEL their names as shown,
   * TALKING the state timed from answered_at; BADGES the server's status badge of each state. */
  var RANK = {}, ACTIVE = {}, TERMINAL = [], LABEL = {}, TALKING = null, BADGES = null;

  function learnStatuses() {
    var el = document.getElementById("call-statuses");
    if (!el) throw new Error("live.js: this page lacks the status table ({% call_status_table %})");
    var table = JSON.parse(el.textContent);
    RANK = table.rank;
    ACTIVE = {};
    table.active.forEach(function (status) { ACTIVE[status] = true; });
    TERMINAL = table.terminal;
    LABEL = table.labels;
    TALKING = table.talking;
    BADGES = document.getElementById("call-status-badges");
  }

  /* The badge of a state: a copy of the server's (calls/_status_badge.html), named by the call's outcome
   * when the message carries it (`outcome`: "Busy", "Voicemail", as every page names it, calls/outcomes.py). */
  function badge(status, outcome, why) {
    var proto = BADGES && BADGES.content.querySelector('[data-badge-for="' + CSS.escape(status) + '"]');
    var span;
    if (proto && proto.firstElementChild) {
      span = proto.firstElementChild.cloneNode(true);
    } else {
      span = document.createElement("span"); // a state this page's table does not know
      span.className = "badge badge-" + status;
      span.textContent = LABEL[status] || status;
    }
    if (outcome) span.textContent = outcome;
    if (why) span.title = why;
    return span;
  }

  var BACKOFF_FIRST_MS = 500, BACKOFF_MAX_MS = 15000;
  /* A socket counts as live again (banner gone, backoff reset) once it has stayed open this long: while
   * Redis is down the server accepts and closes at once (4503), and that must neither flash "Live" nor
   * reset the backoff into a tight reconnect loop. */
  var STEADY_MS = 1000;
  /* Close codes that ask the page to reconnect and resync (docs/live.md): it fell behind; the server lost
   * its channel layer. */
  var RESYNC_CODES = { 4408: true, 4503: true };
  var INTERRUPTED = "Live updates interrupted — reconnecting…";
  var ACTIVE_ROWS = 200, ENDED_ROWS = 10, KNOWN_CALLS = 5000;
  /* The wallboard's metrics (live/metrics.py) are fetched again after calls change: not before this long
   * (several changes share one fetch), at most once in METRICS_EVERY_MS, spread by a random jitter so that
   * the screens watching the same floor do not all ask at once. The server keeps them 2 s
   * (LIVE_CACHE_SECONDS): waiting longer than that, a fetch always sees the change that asked for it. */
  var METRICS_DELAY_MS = 2500, METRICS_EVERY_MS = 5000, METRICS_JITTER_MS = 1000;
  /* TV mode: signed out (4401/4403), the page reloads after this long, which signs in again or shows why. */
  var TV_RELOAD_MS = 30000;

  function $(selector, root) { return (root || document).querySelector(selector); }
  function $all(selector, root) { return Array.prototype.slice.call((root || document).querySelectorAll(selector)); }
  function time(iso) { return iso ? Date.parse(iso) : NaN; }
  function meta(name) { var m = $('meta[name="' + name + '"]'); return m ? m.content : ""; }

  function flash(el) {
    if (!el) return;
    el.classList.remove("live-flash");
    void el.offsetWidth; // restart the animation
    el.classList.add("live-flash");
  }
  document.addEventListener("animationend", function (e) {
    if (e.animationName === "live-flash" && e.target.classList) e.target.classList.remove("live-flash");
  });

  function clock(ms) {
    var s = Math.max(0, Math.floor(ms / 1000)), h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
    s = s % 60;
    var mm = h ? String(m).padStart(2, "0") : String(m);
    return (h ? h + ":" : "") + mm + ":" + String(s).padStart(2, "0");
  }

  function fetchHtml(url) {
    return fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "live.js" } }).then(function (r) {
      if (!r.ok || r.redirected) throw new Error("resync failed: HTTP " + r.status);
      return r.text();
    });
  }

  /* ---- the connection --------------------------------------------------------------------------- */

  function Connection(query, view) {
    this.query = query;
    this.view = view;
    this.ws = null;
    this.attempt = 0;
    this.timer = null;
    this.held = false;
    this.banner = null;
    this.steadyTimer = null;
  }

  Connection.prototype.url = function () {
    var scheme = location.protocol === "https:" ? "wss:" : "ws:";
    return scheme + "//" + location.host + "/ws/calls" + this.query;
  };

  Connection.prototype.connect = function () {
    var self = this;
    clearTimeout(this.timer);
    this.timer = null;
    if (this.ws || this.held) return;
    var ws = new WebSocket(this.url());
    this.ws = ws;
    ws.onopen = function () {
      self.steadyTimer = setTimeout(function () {
        if (self.ws !== ws) return;
        self.attempt = 0;
        self.status("live", "Live");
        self.showBanner(null);
      }, STEADY_MS);
      self.view.resync();
    };
    ws.onmessage = function (event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (err) { return; }
      var messages = frame.type === "batch" ? frame.messages : [frame];
      for (var i = 0; i < messages.length; i++) self.view.receive(messages[i]);
    };
    ws.onclose = function (event) {
      if (self.ws !== ws) return;
      self.ws = null;
      clearTimeout(self.steadyTimer);
      if (event.code === 4401 || event.code === 4403) {
        self.status("denied", "Signed out");
        self.showBanner("Live updates stopped: you are signed out or may not watch. Sign in again, then reload.");
        if (self.view.tv) setTimeout(function () { location.reload(); }, TV_RELOAD_MS);
        else self.schedule(BACKOFF_MAX_MS);
        return;
      }
      self.status("down", "Reconnecting…");
      self.showBanner(RESYNC_CODES[event.code] ? INTERRUPTED : "Live updates are disconnected. Reconnecting…");
      self.schedule();
    };
  };

  Connection.prototype.schedule = function (fixed) {
    if (this.held || this.timer) return;
    var delay = fixed || Math.min(BACKOFF_MAX_MS, BACKOFF_FIRST_MS * Math.pow(2, this.attempt));
    delay = delay * (0.5 + Math.random() / 2);
    this.attempt += 1;
    this.timer = setTimeout(this.connect.bind(this), delay);
  };

  Connection.prototype.now = function () { this.attempt = 0; this.connect(); };

  Connection.prototype.status = function (state, text) {
    $all("[data-live-status]").forEach(function (el) { el.dataset.state = state; el.textContent = text; });
  };

  Connection.prototype.showBanner = function (text) {
    if (!this.banner) {
      var banner = document.createElement("div");
      banner.className = "live-banner";
      banner.setAttribute("role", "status");
      banner.id = "live-banner";
      banner.innerHTML = '<span></span><button type="button" class="secondary">Reconnect now</button>';
      banner.querySelector("button").addEventListener("click", this.now.bind(this));
      var main = $("main") || document.body;
      main.insertBefore(banner, main.firstChild);
      this.banner = banner;
    }
    this.banner.hidden = !text;
    if (text) this.banner.querySelector("span").textContent = text;
  };

  /* Test and operator hooks: drop() closes the socket the way a network failure would and holds the
   * reconnect until resume(); the page then resynchronizes like after any reconnect. */
  Connection.prototype.drop = function () {
    this.held = true;
    clearTimeout(this.timer);
    this.timer = null;
    if (this.ws) this.ws.close(4000, "dropped");
  };
  Connection.prototype.resume = function () { this.held = false; this.now(); };
  /* interrupt() closes the socket the way a network failure would, and lets the page reconnect by itself. */
  Connection.prototype.interrupt = function () { if (this.ws) this.ws.close(4000, "interrupted"); };

  /* ---- rows shared by the wallboard and the campaign page --------------------------------------- */

  function RowPainter(root) {
    this.root = root;
    this.template = $("#call-row-template", root);
    this.callUrl = root.dataset.callUrl || meta("wordcab-call-url");
    this.agentNames = {};
  }

  RowPainter.prototype.row = function (call) {
    var tr = document.getElementById("live-call-" + call.id);
    if (tr) return { tr: tr, created: false };
    tr = this.template.content.firstElementChild.cloneNode(true);
    tr.id = "live-call-" + call.id;
    return { tr: tr, created: true };
  };

  RowPainter.prototype.fill = function (tr, call, outcome) {
    tr.dataset.callId = call.id;
    tr.dataset.status = call.status;
    tr.dataset.createdAt = call.created_at || "";
    tr.dataset.answeredAt = call.answered_at || "";
    tr.dataset.endedAt = call.ended_at || "";
    var id = $('[data-field="id"]', tr);
    id.textContent = call.id;
    if (id.tagName === "A" && this.callUrl) id.href = this.callUrl.replace("CALL_ID", encodeURIComponent(call.id));
    var agent = $('[data-field="agent"]', tr);
    agent.textContent = this.agentNames[call.agent_id] || agent.textContent || call.agent_id;
    var phone = $('[data-field="phone_number"]', tr), shown = phone.querySelector("[data-e164]");
    // A number the server formatted for reading (agents' `phone` filter) stays; a new row shows E.164.
    if (!shown || shown.dataset.e164 !== call.phone_number) phone.textContent = call.phone_number;
    $('[data-field="status"]', tr).replaceChildren(badge(call.status, outcome, call.error && call.error.message));
    var duration = $('[data-field="duration"]', tr);
    if (!ACTIVE[call.status]) duration.textContent = call.duration == null ? "" : call.duration + " s";
  };

  /* Running timers: since answered (the TALKING state) or since created (the other active states). */
  function tickTimers(root, offset) {
    var now = Date.now() + offset;
    $all("tr[data-call-id]", root).forEach(function (tr) {
      if (!ACTIVE[tr.dataset.status]) return;
      var since = time(tr.dataset.status === TALKING ? tr.dataset.answeredAt : tr.dataset.createdAt);
      if (isNaN(since)) return;
      var cell = $('[data-field="duration"]', tr);
      if (cell) cell.textContent = clock(now - since);
    });
  }

  function toggleEmpty(root) {
    $all("[data-empty-for]", root).forEach(function (p) {
      var body = document.getElementById(p.dataset.emptyFor);
      p.hidden = !!(body && body.children.length);
    });
  }

  /* ---- the wallboard ----------------------------------------------------------------------------- */

  function Wallboard(root) {
    this.root = root;
    this.tv = "tv" in root.dataset;
    this.syncing = true;
    this.buffer = [];
    this.offset = 0;
    this.metricsTimer = null;
    this.metricsAt = 0;
    this.rolledOver = false;
    this.init();
    var self = this;
    setInterval(function () { self.tick(); }, 1000);
    if (this.tv) tvMode();
  }

  Wallboard.prototype.init = function () {
    var state = JSON.parse($("#wallboard-state", this.root).textContent);
    this.snapshotAt = time(state.snapshot_at);
    this.today = time(state.today);
    this.tomorrow = time(state.tomorrow);
    this.offset = this.snapshotAt - Date.now();
    this.counts = state.counts;
    this.known = new Map();
    var self = this;
    Object.keys(state.calls).forEach(function (id) {
      self.known.set(id, { status: state.calls[id].status, agent: state.calls[id].agent_id, counted: true });
    });
    this.painter = new RowPainter(this.root);
    this.painter.agentNames = state.agents;
    this.chart = state.chart;
    this.active = $("#active-calls", this.root);
    this.ended = $("#ended-calls", this.root);
    this.showWaiting();
    this.tick();
  };

  Wallboard.prototype.resync = function () {
    var self = this;
    this.syncing = true;
    this.buffer = [];
    fetchHtml(this.root.dataset.boardUrl).then(function (html) {
      self.root.innerHTML = html;
      self.init();
      var empty = $("[data-live-empty]");
      if (empty && $("tr[data-call-id]", self.root)) empty.remove();
      var pending = self.buffer;
      self.buffer = [];
      self.syncing = false;
      pending.forEach(function (m) { self.apply(m, false); });
      if (self.scheduleMetrics) self.scheduleMetrics(); // the board's metrics may be a cached moment old
    }).catch(function () {
      self.syncing = false;
      setTimeout(function () { if (connection.ws) self.resync(); }, 2000);
    });
  };

  Wallboard.prototype.receive = function (message) {
    if (this.syncing) this.buffer.push(message);
    else this.apply(message, true);
  };

  /* A call the snapshot did not know: new since (count it), or one that had already ended when the
   * snapshot was taken, whose late message must not be counted twice. The snapshot lists every active
   * call, so an unknown call created before it had ended before it. (Provider timestamps such as
   * ended_at are when the provider says it happened, not when we learnt it, so they cannot decide.)
   * The half second covers a call inserted just before the snapshot and committed just after. */
  Wallboard.prototype.fresh = function (call) {
    return time(call.created_at) > this.snapshotAt - 500;
  };

  Wallboard.prototype.apply = function (message, animate) {
    if (message.type === "campaign.updated" && message.campaign) return this.campaign(message.campaign, animate);
    if (message.type !== "call.updated" || !message.call) return;
    var call = message.call, prev = this.known.get(call.id);
    if (prev && RANK[call.status] < RANK[prev.status]) return; // late: the board already shows a newer state
    var empty = $("[data-live-empty]");
    if (empty) empty.remove();
    if (!prev || prev.status !== call.status) {
      var counted = prev && prev.counted ? true : this.fresh(call);
      if (prev && prev.counted && ACTIVE[prev.status]) this.count(prev.status, call.agent_id, -1);
      if (counted && (ACTIVE[call.status] || time(call.created_at) >= this.today)) this.count(call.status, call.agent_id, 1);
      if (!prev && counted) this.started(call);
      this.known.delete(call.id);
      this.known.set(call.id, { status: call.status, agent: call.agent_id, counted: counted });
      if (this.known.size > KNOWN_CALLS) this.known.delete(this.known.keys().next().value);
      this.scheduleMetrics();
    }
    this.paint(call, animate, message.outcome);
  };

  /* Running campaigns: how far each has got; a campaign that stops running leaves the list. */
  Wallboard.prototype.campaign = function (c, animate) {
    var list = $("#running-campaigns", this.root);
    if (!list) return;
    var li = $('li[data-campaign-id="' + CSS.escape(c.id) + '"]', list);
    if (c.status !== "running") {
      if (li) li.remove();
      if (!list.children.length) list.innerHTML = '<li class="muted">No campaign is running.</li>';
      return;
    }
    if (!li) {
      $all("li:not([data-campaign-id])", list).forEach(function (x) { x.remove(); });
      li = document.createElement("li");
      li.dataset.campaignId = c.id;
      li.innerHTML = '<a class="name"></a><progress data-campaign-progress value="0" max="1" aria-label="progress"></progress>' +
        '<span class="nums"><b data-campaign-done>0</b> of <span data-campaign-total>0</span> <span data-campaign-unit></span></span>';
      $("[data-campaign-progress]", li).dataset.doneStates = list.dataset.doneStates || "";
      var link = $("a", li);
      link.textContent = c.name;
      link.href = (this.root.dataset.campaignUrl || "").replace("CAMPAIGN_ID", encodeURIComponent(c.id));
      list.insertBefore(li, list.firstChild);
    }
    if (c.updated_at && li.dataset.updatedAt && c.updated_at < li.dataset.updatedAt) return; // an older count
    li.dataset.updatedAt = c.updated_at || "";
    if (showProgress(li, c) && animate) flash(li);
  };

  /* How far a campaign is (campaigns/selectors.py campaign_progress): its contacts done of all, or for a
   * campaign without contacts (the demo's) its calls ended of all. The contact states that count as done
   * are the server's, on the bar (data-done-states); the call states, the status table's TERMINAL. */
  function progressOf(c, doneStates) {
    var contacts = c.counts || {}, calls = c.calls || {};
    if (contacts.total) {
      var rejected = c.rejected || 0;  // rows the import skipped: neither done nor to do
      var done = doneStates.reduce(function (sum, state) { return sum + (contacts[state] || 0); }, 0);
      return { done: Math.max(0, done - rejected), total: Math.max(0, contacts.total - rejected), unit: "contacts done" };
    }
    var ended = TERMINAL.reduce(function (sum, status) { return sum + (calls[status] || 0); }, 0);
    return { done: ended, total: calls.total || 0, unit: "calls ended" };
  }

  /* "n of m contacts done" (or calls ended) and its bar, inside `root`; true when something changed. */
  function showProgress(root, c) {
    var bar = $("[data-campaign-progress]", root);
    var doneStates = ((bar && bar.dataset.doneStates) || "").split(" ").filter(Boolean);
    var p = progressOf(c, doneStates);
    var doneEl = $("[data-campaign-done]", root), totalEl = $("[data-campaign-total]", root);
    var unitEl = $("[data-campaign-unit]", root);
    if (bar) { bar.max = Math.max(1, p.total); bar.value = p.done; }
    if (unitEl) unitEl.textContent = p.unit;
    if (!doneEl || (doneEl.textContent === String(p.done) && totalEl.textContent === String(p.total))) return false;
    doneEl.textContent = p.done;
    totalEl.textContent = p.total;
    return true;
  }

  Wallboard.prototype.count = function (status, agentId, delta) {
    this.counts[status] = Math.max(0, (this.counts[status] || 0) + delta);
    var tile = $('[data-count="' + status + '"]', this.root);
    if (tile) { tile.textContent = this.counts[status]; flash(tile.parentElement); }
    if (ACTIVE[status] && status !== TALKING) this.showWaiting();
    if (ACTIVE[status]) {
      var agent = this.agent(agentId);
      var live = $("[data-agent-active]", agent);
      live.textContent = Math.max(0, Number(live.textContent) + delta);
      if (status === TALKING) {
        var talking = $("[data-agent-talking]", agent);
        talking.textContent = Math.max(0, Number(talking.textContent) + delta);
      }
      this.bars();
    }
  };

  Wallboard.prototype.agent = function (agentId) {
    var li = $('#occupancy li[data-agent-id="' + CSS.escape(agentId) + '"]', this.root);
    if (li) return li;
    var list = $("#occupancy", this.root);
    $all("li:not([data-agent-id])", list).forEach(function (x) { x.remove(); });
    li = document.createElement("li");
    li.dataset.agentId = agentId;
    li.innerHTML = '<span class="name"></span><svg class="bar" viewBox="0 0 100 1" preserveAspectRatio="none" aria-hidden="true"><rect data-agent-bar height="1" width="0"/></svg>' +
      '<span class="nums"><b data-agent-active>0</b> live · <span data-agent-talking>0</span> talking · <span data-agent-today>0</span> today</span>';
    $(".name", li).textContent = this.painter.agentNames[agentId] || agentId;
    list.appendChild(li);
    return li;
  };

  Wallboard.prototype.bars = function () {
    var items = $all("#occupancy li[data-agent-id]", this.root);
    var peak = Math.max.apply(null, [1].concat(items.map(function (li) { return Number($("[data-agent-active]", li).textContent); })));
    items.forEach(function (li) {
      $("[data-agent-bar]", li).setAttribute("width", Math.round(Number($("[data-agent-active]", li).textContent) / peak * 100));
    });
  };

  /* A call created after the snapshot: one more in its minute of the chart and in its agent's day. */
  Wallboard.prototype.started = function (call) {
    var today = $("[data-agent-today]", this.agent(call.agent_id));
    today.textContent = Number(today.textContent) + 1;
    var minute = Math.floor(time(call.created_at) / 60000);
    this.roll(minute);
    for (var i = this.chart.length - 1; i >= 0; i--) {
      if (this.chart[i].minute === minute) { this.chart[i].n += 1; break; }
    }
    this.drawChart();
  };

  Wallboard.prototype.roll = function (minute) {
    var last = this.chart[this.chart.length - 1].minute;
    if (minute <= last) return;
    for (var m = last + 1; m <= minute; m++) { this.chart.shift(); this.chart.push({ minute: m, n: 0 }); }
    this.drawChart();
  };

  Wallboard.prototype.drawChart = function () {
    var svg = $("#cpm-chart", this.root);
    if (!svg) return;
    var box = svg.viewBox.baseVal, height = box.height, width = box.width / this.chart.length;
    var peak = Math.max.apply(null, [1].concat(this.chart.map(function (b) { return b.n; })));
    var rects = $all("rect", svg);
    this.chart.forEach(function (b, i) {
      var rect = rects[i];
      if (!rect) return;
      var h = Math.round(b.n / peak * (height - 4) * 10) / 10;
      rect.setAttribute("x", (i * width).toFixed(2));
      rect.setAttribute("y", (height - h).toFixed(1));
      rect.setAttribute("height", h);
      rect.dataset.minute = b.minute;
      rect.dataset.n = b.n;
      rect.querySelector("title").textContent = b.n;
    });
    var label = $("[data-cpm-peak]", this.root);
    if (label) label.textContent = peak;
    var total = this.chart.reduce(function (sum, b) { return sum + b.n; }, 0);
    var busy = $("[data-cpm-busy]", this.root), quiet = $("[data-cpm-quiet]", this.root);
    if (busy) busy.hidden = !total; // no calls: the caption says so, not "peak 1/min"
    if (quiet) quiet.hidden = !!total;
  };

  Wallboard.prototype.paint = function (call, animate, outcome) {
    var got = this.painter.row(call), tr = got.tr;
    this.painter.fill(tr, call, outcome);
    var table = ACTIVE[call.status] ? this.active : this.ended;
    if (tr.parentElement !== table) {
      table.insertBefore(tr, table.firstChild);
      var limit = table === this.active ? ACTIVE_ROWS : ENDED_ROWS;
      while (table.children.length > limit) table.lastElementChild.remove();
    }
    var shown = $('[data-count="active"]', this.root);
    if (shown) shown.textContent = this.active.children.length;
    tickTimers(this.root, this.offset);
    toggleEmpty(this.root);
    if (animate) flash(tr);
  };

  /* Calls waiting now (placed or ringing, not answered yet): the active states but the talking one. */
  Wallboard.prototype.showWaiting = function () {
    var el = $("[data-waiting]", this.root);
    if (!el) return;
    var counts = this.counts, waiting = Object.keys(ACTIVE).reduce(function (sum, status) {
      return status === TALKING ? sum : sum + (counts[status] || 0);
    }, 0);
    if (el.textContent !== String(waiting)) { el.textContent = waiting; flash(el.parentElement); }
  };

  /* The metrics of a period that includes now, fetched again a little after calls changed. */
  Wallboard.prototype.scheduleMetrics = function () {
    var section = $("#wallboard-metrics", this.root);
    if (!section || !("metricsLive" in section.dataset) || this.metricsTimer) return;
    var self = this;
    var wait = Math.max(METRICS_DELAY_MS, this.metricsAt + METRICS_EVERY_MS - Date.now()) + Math.random() * METRICS_JITTER_MS;
    this.metricsTimer = setTimeout(function () {
      self.metricsTimer = null;
      self.metricsAt = Date.now();
      fetchHtml(section.dataset.metricsUrl).then(function (html) {
        var current = $("#wallboard-metrics", self.root);
        var holder = document.createElement("div");
        holder.innerHTML = html;
        var fresh = $("#wallboard-metrics", holder);
        if (!current || !fresh || self.syncing) return; // a resync brings them anyway
        current.replaceWith(fresh);
        self.showWaiting();
      }).catch(function () { /* the next change or resync brings them */ });
    }, wait);
  };

  Wallboard.prototype.tick = function () {
    var now = Date.now() + this.offset;
    tickTimers(this.root, this.offset);
    if (this.chart && this.chart.length) this.roll(Math.floor(now / 60000));
    if (!this.rolledOver && now >= this.tomorrow) { // midnight: "today" starts again
      this.rolledOver = true;
      if (this.tv) location.reload(); // a screen on the wall also picks up a new version once a day
      else this.resync();
    }
    if (this.tv) showClock();
  };

  /* ---- TV mode (/tv/): full screen, the time, the screen kept awake --------------------------------- */

  function tvMode() {
    var button = $("[data-fullscreen]");
    if (button && document.fullscreenEnabled) {
      var show = function () { button.hidden = !!document.fullscreenElement; };
      button.addEventListener("click", function () { document.documentElement.requestFullscreen().catch(show); });
      document.addEventListener("fullscreenchange", show);
      show();
    }
    keepAwake();
    document.addEventListener("visibilitychange", function () { if (!document.hidden) keepAwake(); });
    showClock();
  }

  /* A screen on the wall must not sleep: a wake lock where the browser grants one (it is released whenever
   * the page is hidden, so it is asked for again when it shows). */
  function keepAwake() {
    if (navigator.wakeLock && navigator.wakeLock.request) navigator.wakeLock.request("screen").catch(function () {});
  }

  function showClock() {
    var el = $("[data-tv-clock]");
    if (el) el.textContent = new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", timeZone: el.dataset.timeZone || undefined });
  }

  /* ---- the campaign page ------------------------------------------------------------------------- */

  function CampaignPage(root) {
    this.root = root;
    this.syncing = true;
    this.buffer = [];
    this.init();
    var self = this;
    setInterval(function () { tickTimers(self.root, 0); }, 1000);
  }

  CampaignPage.prototype.init = function () {
    var state = JSON.parse($("#campaign-state", this.root).textContent);
    this.painter = new RowPainter(this.root);
    this.painter.agentNames[state.agent_id] = this.root.dataset.agentName;
    this.body = $("#campaign-calls", this.root);
    this.updatedAt = state.updated_at;
    this.status = state.status;
    tickTimers(this.root, 0);
  };

  CampaignPage.prototype.resync = Wallboard.prototype.resync;
  CampaignPage.prototype.receive = Wallboard.prototype.receive;

  /* A campaign.updated fills the counts in place: its contacts per state (data-campaign-count) and its calls
   * per status (data-campaign-call). A new status changes the controls too: the board is fetched again. */
  CampaignPage.prototype.apply = function (message, animate) {
    if (message.type === "campaign.updated" && message.campaign) {
      var c = message.campaign;
      if (c.updated_at && c.updated_at < this.updatedAt) return;
      this.updatedAt = c.updated_at || this.updatedAt;
      var root = this.root;
      [["data-campaign-count", c.counts || {}], ["data-campaign-call", c.calls || {}]].forEach(function (pair) {
        Object.keys(pair[1]).forEach(function (name) {
          var el = $("[" + pair[0] + '="' + name + '"]', root);
          if (el && el.textContent !== String(pair[1][name])) { el.textContent = pair[1][name]; if (animate) flash(el.parentElement); }
        });
      });
      showProgress(root, c);
      if (c.status !== this.status) {
        this.status = c.status;
        var badge = $("[data-campaign-status]", root);
        if (badge) {
          badge.textContent = c.status.charAt(0).toUpperCase() + c.status.slice(1);
          badge.className = "badge badge-campaign-" + c.status;
          badge.dataset.campaignStatus = c.status;
        }
        this.resync();
      }
    } else if (message.type === "call.updated" && message.call) {
      var call = message.call, tr = document.getElementById("live-call-" + call.id);
      if (tr && RANK[call.status] < RANK[tr.dataset.status]) return;
      var got = this.painter.row(call);
      this.painter.fill(got.tr, call, message.outcome);
      if (got.created) this.body.insertBefore(got.tr, this.body.firstChild);
      tickTimers(this.root, 0);
      toggleEmpty(this.root);
      if (animate) flash(got.tr);
    }
  };

  /* ---- the call page and the calls list (their markup belongs to the calls pages) ---------------- */

  /* The call page's duration while the call runs: a clock since it was answered (the TALKING state) or
   * placed, in step with the server's time when the page was rendered (data-now). The partial is rendered
   * again on every update, so the clocks are looked up on each tick. */
  function tickCallClocks() {
    $all("[data-live-duration]").forEach(function (el) {
      if (!el.dataset.offset) el.dataset.offset = String((time(el.dataset.now) - Date.now()) || 0);
      var since = time(el.dataset.status === TALKING ? el.dataset.answeredAt : el.dataset.createdAt);
      var face = $("[data-live-clock]", el);
      if (face && !isNaN(since)) face.textContent = clock(Date.now() + Number(el.dataset.offset) - since);
    });
  }

  function CallPage(root) {
    this.root = root;
    this.id = root.dataset.callId;
    tickCallClocks();
    setInterval(tickCallClocks, 1000);
    document.body.addEventListener("htmx:afterSettle", tickCallClocks);
  }
  CallPage.prototype.resync = function () {
    document.body.dispatchEvent(new CustomEvent("call-updated", { detail: { call: null, resync: true } }));
  };
  CallPage.prototype.receive = function (message) {
    if (message.type === "call.updated" && message.call && message.call.id === this.id) {
      document.body.dispatchEvent(new CustomEvent("call-updated", { detail: { call: message.call } }));
    } else if (message.type === "transcript.segment" && message.call_id === this.id) {
      // the transcript panel (static/js/transcript.js) adds the line
      document.body.dispatchEvent(new CustomEvent("transcript-segment", { detail: { segment: message.segment } }));
    }
  };

  /* The calls list: rows are the server's partial (`calls:row`), fetched when their call changes; at most
   * one fetch per row in flight, and one more after it if the call changed again meanwhile. On the newest
   * page (data-live-prepend) a resync also adds the calls created while disconnected. */
  function CallsList(root) {
    this.root = root;
    this.rowUrl = root.dataset.rowUrl || meta("wordcab-call-row-url");
    this.inflight = {};
  }
  CallsList.prototype.resync = function () {
    var self = this;
    $all('tr[id^="call-row-"]', this.root).forEach(function (tr) { self.refresh(tr.id.slice("call-row-".length), false); });
    if ("livePrepend" in this.root.dataset) this.addMissed();
    document.body.dispatchEvent(new CustomEvent("calls-resync", { detail: {} }));
  };
  /* The rows of the page as the server renders it now that this page lacks (calls created while it was
   * disconnected, so newer than every row shown) go on top, in the server's order. */
  CallsList.prototype.addMissed = function () {
    var self = this;
    fetchHtml(location.href).then(function (html) {
      var page = new DOMParser().parseFromString(html, "text/html");
      var missed = $all('#call-rows > tr[id^="call-row-"]', page).filter(function (tr) { return !document.getElementById(tr.id); });
      for (var i = missed.length - 1; i >= 0; i--) self.prepend(document.importNode(missed[i], true), true);
    }).catch(function () { /* the next resync adds them */ });
  };
  CallsList.prototype.prepend = function (row, animate) {
    this.root.insertBefore(row, this.root.firstChild);
    var table = this.root.closest("table");
    if (table && table.hidden) { // the empty list's placeholder gives way to its first call
      table.hidden = false;
      var empty = table.parentElement.querySelector(".empty");
      if (empty) empty.remove();
    }
    if (window.htmx) window.htmx.process(row);
    if (animate) flash(row);
  };
  CallsList.prototype.receive = function (message) {
    if (message.type !== "call.updated" || !message.call) return;
    var id = message.call.id;
    if (document.getElementById("call-row-" + id)) this.refresh(id, true);
    else if ("livePrepend" in this.root.dataset) this.refresh(id, true, true);
  };
  CallsList.prototype.refresh = function (id, animate, prepend) {
    var self = this;
    if (!this.rowUrl) return;
    if (this.inflight[id]) { this.inflight[id] = "again"; return; }
    this.inflight[id] = "busy";
    fetchHtml(this.rowUrl.replace("CALL_ID", encodeURIComponent(id))).then(function (html) {
      var holder = document.createElement("tbody");
      holder.innerHTML = html.trim();
      var fresh = holder.firstElementChild;
      if (!fresh) return;
      var old = document.getElementById("call-row-" + id);
      if (old) {
        old.replaceWith(fresh);
        if (window.htmx) window.htmx.process(fresh);
        if (animate) flash(fresh);
      } else if (prepend) self.prepend(fresh, animate);
    }).catch(function () { /* the next update or resync repaints it */ }).then(function () {
      var again = self.inflight[id] === "again";
      delete self.inflight[id];
      if (again) self.refresh(id, animate, prepend);
    });
  };

  /* ---- wiring ------------------------------------------------------------------------------------- */

  var connection = null;

  function start() {
    var root, View, query = "";
    if ((root = $('[data-live="wallboard"]'))) {
      View = Wallboard;
    } else if ((root = $('[data-live="campaign"]'))) {
      View = CampaignPage;
      query = "?campaign_id=" + encodeURIComponent(root.dataset.campaignId);
    } else if ((root = $("#call-detail[data-call-id]"))) {
      View = CallPage;
      query = "?call_id=" + encodeURIComponent(root.dataset.callId);
    } else if ((root = $('[data-live="calls"]'))) {
      View = CallsList;
    } else {
      return;
    }
    learnStatuses();
    var view = new View(root);
    connection = new Connection(query, view);
    connection.connect();
    window.addEventListener("online", function () { if (!connection.ws) connection.now(); });
    window.wordcabLive = {
      drop: connection.drop.bind(connection),
      resume: connection.resume.bind(connection),
      interrupt: connection.interrupt.bind(connection),
      connected: function () { return !!(connection.ws && connection.ws.readyState === WebSocket.OPEN); },
      synced: function () { return !view.syncing; },
    };
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
