// envalign episode viewer: a virtualised, filterable list and chat lanes per agent.
// Plain JavaScript, no libraries. Every piece of record text goes through textContent, never
// innerHTML: agent text is untrusted.
"use strict";
(function () {
  const started = performance.now();
  const ROW_HEIGHT = 26;
  const FOLD_CHARS = 400;
  const FOLD_LINES = 8;
  const data = JSON.parse(document.getElementById("episodes-data").textContent);
  const rows = data.rows; // [env, seed, mean return, success, steps, task, policies, returns text]
  const count = rows.length;

  // The precomputed filter index: one lower-case key per episode, envs as small integers.
  const keys = rows.map((r) => (r[5] + " " + r[1] + " " + r[6] + " " + data.envs[r[0]]).toLowerCase());
  let turnKeys = null; // built on the first search "in turns"

  const list = document.getElementById("list");
  const spacer = document.getElementById("spacer");
  const detail = document.getElementById("detail");
  const status = document.getElementById("status");
  const envFilter = document.getElementById("env-filter");
  const successFilter = document.getElementById("success-filter");
  const minReturn = document.getElementById("min-return");
  const search = document.getElementById("search");
  const searchText = document.getElementById("search-text");

  let visible = new Int32Array(count).map((_, i) => i);
  let sortColumn = -1;
  let sortAscending = true;
  let selected = -1;
  const state = { loadMs: 0, filterMs: 0, visibleCount: count, renderedRows: 0, opened: -1, link: "" };
  window.envalignViewer = state;

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function successText(value) {
    if (value === 1) return ["\u2713", "ok"];
    if (value === 0) return ["\u2717", "fail"];
    return ["\u2013", "na"];
  }

  // ---- the list -------------------------------------------------------------------------------
  function renderList() {
    spacer.style.height = visible.length * ROW_HEIGHT + "px";
    const first = Math.max(0, Math.floor(list.scrollTop / ROW_HEIGHT) - 5);
    const last = Math.min(visible.length, first + Math.ceil(list.clientHeight / ROW_HEIGHT) + 10);
    const fragment = document.createDocumentFragment();
    for (let position = first; position < last; position++) {
      const index = visible[position];
      const r = rows[index];
      const row = el("div", "row" + (index === selected ? " selected" : ""));
      row.style.top = position * ROW_HEIGHT + "px";
      row.dataset.index = index;
      row.append(el("span", "c-env", data.envs[r[0]].replace(/^envalign\//, "")), el("span", "c-seed", r[1]));
      row.append(el("span", "c-ret", r[7] || r[2].toFixed(3)));
      const [mark, kind] = successText(r[3]);
      row.append(el("span", "c-ok " + kind, mark), el("span", "c-steps", r[4]));
      row.append(el("span", "c-task", r[5]));
      row.title = "policies: " + r[6];
      fragment.append(row);
    }
    spacer.replaceChildren(fragment);
    state.renderedRows = last - first;
  }

  let scheduled = false;
  list.addEventListener("scroll", () => {
    if (scheduled) return;
    scheduled = true;
    requestAnimationFrame(() => {
      scheduled = false;
      renderList();
    });
  });
  window.addEventListener("resize", renderList);
  spacer.addEventListener("click", (event) => {
    const row = event.target.closest(".row");
    if (row) openEpisode(Number(row.dataset.index));
  });

  // ---- filtering and sorting ------------------------------------------------------------------
  function applyFilter() {
    const begin = performance.now();
    const env = envFilter.value === "" ? -1 : Number(envFilter.value);
    const outcome = successFilter.value;
    const wanted = outcome === "" ? undefined : outcome === "none" ? null : Number(outcome);
    const floor = minReturn.value === "" ? -Infinity : Number(minReturn.value);
    const needle = search.value.trim().toLowerCase();
    if (needle && searchText.checked && turnKeys === null) {
      turnKeys = data.details.map((text) => text.toLowerCase());
    }
    const inTurns = needle && searchText.checked;
    const kept = new Int32Array(count);
    let n = 0;
    for (let i = 0; i < count; i++) {
      const r = rows[i];
      if (env >= 0 && r[0] !== env) continue;
      if (wanted !== undefined && r[3] !== wanted) continue;
      if (r[2] < floor) continue;
      if (needle && keys[i].indexOf(needle) < 0 && !(inTurns && turnKeys[i].indexOf(needle) >= 0)) continue;
      if (link !== null && !link.matches(i)) continue;
      kept[n++] = i;
    }
    visible = kept.slice(0, n);
    sortVisible();
    list.scrollTop = 0;
    renderList();
    state.filterMs = performance.now() - begin;
    state.visibleCount = n;
    status.textContent = n + " of " + count + " episodes \u00b7 filtered in " + state.filterMs.toFixed(1) + " ms";
  }

  // ---- links: #env=ID&seed=1,4-6&policy=NAME&policy.AGENT=NAME&success=1&min=X&q=TEXT&episode=N ----
  // (written by envalign.training.view.links.viewer_link). Seeds and policies have no control on the
  // page: they show as a "link" note with a button that drops them.
  let link = null;
  const linkNote = document.getElementById("link-filter");
  const linkText = document.getElementById("link-text");

  function parseSeeds(text) {
    const spans = [];
    for (const part of text.split(",")) {
      const match = /^\s*(\d+)\s*(?:-\s*(\d+))?\s*$/.exec(part);
      if (match) spans.push([Number(match[1]), Number(match[2] === undefined ? match[1] : match[2])]);
    }
    return spans;
  }

  function readLink() {
    const params = new URLSearchParams(location.hash.slice(1));
    if ([...params.keys()].some((key) => key !== "episode")) {
      // A link states the whole filter: what it leaves out is not filtered.
      envFilter.value = successFilter.value = minReturn.value = search.value = "";
    }
    const seeds = params.has("seed") ? parseSeeds(params.get("seed")) : null;
    const wanted = []; // [agent or null, policy]
    for (const [key, value] of params) {
      if (key === "policy") wanted.push([null, value]);
      else if (key.startsWith("policy.")) wanted.push([key.slice(7), value]);
    }
    const about = [];
    if (seeds !== null) about.push("seed " + params.get("seed"));
    for (const [agent, name] of wanted) about.push((agent === null ? "a policy" : agent) + " = " + name);
    link = seeds === null && wanted.length === 0 ? null : {
      about: about.join(" \u00b7 "),
      matches(i) {
        if (seeds !== null && !seeds.some(([low, high]) => rows[i][1] >= low && rows[i][1] <= high)) return false;
        const played = data.policies ? data.policies[i] : {};
        return wanted.every(([agent, name]) => (agent === null ? Object.values(played).includes(name) : played[agent] === name));
      },
    };
    if (params.has("env")) {
      const index = data.envs.indexOf(params.get("env"));
      if (index < 0) {
        const none = { about: "environment " + params.get("env") + " (not in this file)", matches: () => false };
        link = link === null ? none : { about: link.about + " \u00b7 " + none.about, matches: () => false };
        envFilter.value = "";
      } else envFilter.value = String(index);
    }
    if (params.has("success")) successFilter.value = params.get("success");
    if (params.has("min")) minReturn.value = params.get("min");
    if (params.has("q")) search.value = params.get("q");
    linkNote.hidden = link === null;
    linkText.textContent = link === null ? "" : link.about;
    state.link = link === null ? "" : link.about;
    applyFilter();
    const episode = params.get("episode");
    if (episode !== null && /^\d+$/.test(episode) && Number(episode) < count) openEpisode(Number(episode));
  }

  function linkHash(index) {
    const params = new URLSearchParams(location.hash.slice(1));
    if (link === null) {
      for (const key of [...params.keys()]) if (key === "seed" || key.startsWith("policy")) params.delete(key);
    }
    params.set("episode", String(index));
    return "#" + params.toString().replace(/\+/g, "%20");
  }

  document.getElementById("clear-link").addEventListener("click", () => {
    link = null;
    linkNote.hidden = true;
    state.link = "";
    history.replaceState(null, "", selected >= 0 ? linkHash(selected) : location.pathname + location.search);
    applyFilter();
  });
  window.addEventListener("hashchange", readLink);

  function sortVisible() {
    if (sortColumn < 0) return;
    const column = sortColumn;
    const sign = sortAscending ? 1 : -1;
    const value = (i) => {
      const v = rows[i][column];
      return column === 0 ? data.envs[v] : v === null ? -1 : v;
    };
    visible.sort((a, b) => {
      const x = value(a), y = value(b);
      return (x < y ? -1 : x > y ? 1 : a - b) * sign;
    });
  }

  document.getElementById("list-head").addEventListener("click", (event) => {
    const cell = event.target.closest("[data-sort]");
    if (!cell) return;
    const column = Number(cell.dataset.sort);
    sortAscending = column === sortColumn ? !sortAscending : true;
    sortColumn = column;
    for (const other of document.querySelectorAll("[data-sort]")) other.classList.remove("sorted", "asc");
    cell.classList.add("sorted");
    if (sortAscending) cell.classList.add("asc");
    applyFilter();
  });

  let typing = null;
  function debounced() {
    clearTimeout(typing);
    typing = setTimeout(applyFilter, 120);
  }
  envFilter.addEventListener("change", applyFilter);
  successFilter.addEventListener("change", applyFilter);
  searchText.addEventListener("change", applyFilter);
  minReturn.addEventListener("input", debounced);
  search.addEventListener("input", debounced);

  // ---- one episode ----------------------------------------------------------------------------
  function folded(label, text, className) {
    const box = el("details", className);
    box.append(el("summary", null, label));
    box.append(el("pre", null, text));
    return box;
  }

  function longText(text) {
    return text.length > FOLD_CHARS || text.split("\n").length > FOLD_LINES;
  }

  function textBlock(text, className, label) {
    if (!longText(text)) return el("div", className, text);
    const lines = text.split("\n").length;
    const preview = text.slice(0, 80).split("\n")[0];
    return folded(label + " (" + lines + " lines): " + preview + "\u2026", text, className + " folded");
  }

  function number(value) {
    return typeof value === "number" ? (value > 0 ? "+" : "") + value.toFixed(3) : String(value);
  }

  function turnCard(turn, shared) {
    const card = el("div", "turn");
    card.dataset.agent = turn.agent;
    card.append(textBlock(String(turn.observation || ""), "obs", "observation"));
    const action = String(turn.action);
    card.append(el("div", action.includes("\n") ? "action code" : "action", action));
    const line = el("div");
    const kind = turn.reward > 0 ? "pos" : turn.reward < 0 ? "neg" : "zero";
    line.append(el("span", "reward " + kind, "reward " + number(turn.reward)));
    const parts = Object.entries(turn.reward_components || {});
    if (parts.length) {
      line.append(el("span", "components", "  = " + parts.map(([k, v]) => k + " " + number(v)).join(", ")));
    }
    card.append(line);
    if (turn.feedback) card.append(textBlock(String(turn.feedback), "feedback", "feedback"));
    if (turn.extras && Object.keys(turn.extras).length) {
      card.append(folded("extras: " + Object.keys(turn.extras).join(", "), JSON.stringify(turn.extras, null, 2), "extras"));
    }
    if (turn.valid_actions !== undefined && turn.valid_actions !== null) {
      const actions = typeof turn.valid_actions === "number" ? shared[turn.valid_actions] : turn.valid_actions;
      card.append(folded("valid actions (" + actions.length + ")", actions.join("\n"), "valid"));
    }
    const metrics = turn.metrics && Object.keys(turn.metrics).length ? JSON.stringify(turn.metrics) : "";
    const about = [turn.finish_reason, turn.tokens ? turn.tokens + " tokens" : "", metrics].filter(Boolean);
    if (about.length) card.append(el("div", "components", about.join(" \u00b7 ")));
    return card;
  }

  function summaryList(pairs) {
    const box = el("dl", "summary");
    for (const [name, value] of pairs) box.append(el("dt", null, name), el("dd", null, value));
    return box;
  }

  function lanes(episode, shared) {
    const agents = episode.agents;
    const grid = el("div", "lanes");
    grid.style.gridTemplateColumns = "3em repeat(" + agents.length + ", minmax(0, 1fr))";
    grid.append(el("div", "lane-head", "step"));
    for (const agent of agents) grid.append(el("div", "lane-head", agent + " (" + (episode.policies || {})[agent] + ")"));
    const byStep = new Map();
    for (const turn of episode.turns) {
      if (!byStep.has(turn.step)) byStep.set(turn.step, {});
      byStep.get(turn.step)[turn.agent] = turn;
    }
    for (const [step, turns] of byStep) {
      grid.append(el("div", "step-label", step));
      for (const agent of agents) grid.append(turns[agent] ? turnCard(turns[agent], shared) : el("div", "turn empty"));
    }
    return grid;
  }

  function openEpisode(index) {
    selected = index;
    state.opened = index;
    renderList();
    const episode = JSON.parse(data.details[index]);
    const shared = data.shared;
    const body = document.createDocumentFragment();
    body.append(el("h2", null, episode.env_id + " \u00b7 seed " + episode.seed));
    const returns = Object.entries(episode.returns || {}).map(([a, v]) => a + " " + number(v)).join(", ");
    const success = Object.entries(episode.success || {}).map(([a, v]) => a + " " + (v === null ? "\u2013" : v ? "yes" : "no")).join(", ");
    const top = el("div", "top");
    body.append(top);
    top.append(summaryList([
      ["task", episode.task_id || ""],
      ["returns", returns],
      ["success", success],
      ["steps", episode.steps + (episode.terminated ? " (terminated)" : " (truncated)")],
      ["policies", Object.entries(episode.policies || {}).map(([a, p]) => a + ": " + p).join(", ")],
      ["env kwargs", JSON.stringify(episode.env_kwargs || {})],
      ["wall time", (episode.wall_time_s || 0).toFixed(2) + " s"],
    ]));
    const key = String(index);
    if (data.gifs[key] || data.gifNotes[key]) {
      const frames = el("div", "frames");
      if (data.gifs[key]) {
        const picture = el("img");
        picture.alt = "replayed frames of episode " + index;
        picture.src = data.gifs[key];
        frames.append(picture);
      }
      if (data.gifNotes[key]) frames.append(el("div", "note", data.gifNotes[key]));
      top.append(frames);
    }
    for (const [agent, prompt] of Object.entries(episode.system_prompts || {})) {
      body.append(folded("system prompt of " + agent, typeof prompt === "number" ? shared[prompt] : prompt, "system"));
    }
    body.append(lanes(episode, shared));
    detail.replaceChildren(body);
    detail.scrollTop = 0;
    history.replaceState(null, "", linkHash(index));
  }

  // Arrow keys (or j/k) step through the filtered list when no input has the focus.
  document.addEventListener("keydown", (event) => {
    if (event.target.closest("input, select, textarea")) return;
    const move = { ArrowDown: 1, j: 1, ArrowUp: -1, k: -1 }[event.key];
    if (!move || visible.length === 0) return;
    event.preventDefault();
    const position = Math.max(0, Math.min(visible.length - 1, visible.indexOf(selected) + move));
    const top = position * ROW_HEIGHT;
    if (top < list.scrollTop || top + ROW_HEIGHT > list.scrollTop + list.clientHeight) {
      list.scrollTop = top - list.clientHeight / 2;
    }
    openEpisode(visible[position]);
  });

  // ---- start ----------------------------------------------------------------------------------
  document.getElementById("source").textContent = data.source;
  data.envs.forEach((env, i) => {
    const option = el("option", null, env);
    option.value = String(i);
    envFilter.append(option);
  });
  readLink();
  state.loadMs = performance.now() - started;
})();
