// The durable-tasks task board. Plain browser JavaScript on the official PocketBase SDK (the
// global `PocketBase` from pocketbase.umd.js); no build step. PocketBase is the whole API:
// - tasks are listed, viewed and followed live as the logged-in workspace user (the rules only
//   show their workspace), ordered per record by `seq` and refetched on every (re)connect,
//   because realtime events can arrive out of order and are not replayed;
// - a task starts by creating a PENDING record; cancel and rerun set request flags; the
//   dispatcher in the workers does the rest (pb_migrations/1700000200_front_end_api.js);
// - the "new task" form is generated from the JSON Schema the workers publish in task_types.
// Everything shown is built with DOM nodes (never innerHTML), so record data cannot inject markup.

"use strict"

const pb = new PocketBase(window.location.origin)
pb.autoCancellation(false) // the list and the realtime refetch may overlap; both must land

const LIVE_FOR_MS = 90 * 1000 // a type whose lastSeen is older has no live worker (3 heartbeats)
const STATUSES = ["PENDING", "RUNNING", "SUCCESS", "FAILED", "CANCELLED"]
const SYMBOLS = { PENDING: "◷", RUNNING: "▶", SUCCESS: "✔", FAILED: "✖", CANCELLED: "■" }
const FINAL = ["SUCCESS", "FAILED", "CANCELLED"]
const PAGE = 200

const state = {
  tasks: new Map(), // id -> record, newest seq wins
  types: new Map(), // name -> task_types record
  connected: false,
  filters: { status: "", type: "" },
  draft: null, // the new-task form's values, kept across live re-renders
}

// -- DOM helpers ---------------------------------------------------------------------------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag)
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue
    if (key.startsWith("on")) node.addEventListener(key.slice(2), value)
    else if (key === "text") node.textContent = value
    else node.setAttribute(key, value === true ? "" : value)
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue
    node.append(child instanceof Node ? child : document.createTextNode(String(child)))
  }
  return node
}

function badge(status) {
  const word = String(status || "").toUpperCase()
  return el("span", { class: `badge ${status}`, "data-status": word }, `${SYMBOLS[word] || "•"} ${word}`)
}

function progressBar(record) {
  const value = Math.round(record.progress || 0)
  return el(
    "div",
    { class: `progress ${record.status}` },
    el(
      "div",
      { class: "track", role: "progressbar", "aria-valuemin": 0, "aria-valuemax": 100, "aria-valuenow": value },
      el("div", { class: "fill", style: `width:${value}%` }),
    ),
    el("span", { class: "value", "data-testid": "progress" }, `${value}%`),
  )
}

function age(date) {
  if (!date) return ""
  const seconds = Math.max(0, (Date.now() - new Date(date.replace(" ", "T")).getTime()) / 1000)
  if (seconds < 60) return `${Math.floor(seconds)} s ago`
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`
  if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ago`
  return `${Math.floor(seconds / 86400)} d ago`
}

function duration(from, to) {
  if (!from) return ""
  const end = to ? new Date(to) : new Date()
  const ms = end.getTime() - new Date(from).getTime()
  return ms < 1000 ? `${ms} ms` : ms < 60000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms / 60000)} min`
}

function json(value) {
  return el("pre", {}, JSON.stringify(value, null, 2))
}

// -- data: fetch, follow live, order by seq --------------------------------------------------

function apply(record) {
  const known = state.tasks.get(record.id)
  if (!known || (record.seq || 0) >= (known.seq || 0)) state.tasks.set(record.id, record)
}

function typeIsLive(name) {
  const type = state.types.get(name)
  if (!type || !type.lastSeen) return false
  return Date.now() - new Date(type.lastSeen.replace(" ", "T")).getTime() < LIVE_FOR_MS
}

async function refetch() {
  const [tasks, types] = await Promise.all([
    pb.collection("tasks").getList(1, PAGE, { sort: "-created" }),
    pb.collection("task_types").getFullList({ sort: "name" }),
  ])
  tasks.items.forEach(apply)
  state.types = new Map(types.map((type) => [type.name, type]))
  render()
}

async function follow() {
  // PB_CONNECT fires on the first connection and on every reconnect: events in between are lost.
  await pb.realtime.subscribe("PB_CONNECT", () => {
    state.connected = true
    refetch().catch(showError)
  })
  pb.realtime.onDisconnect = () => {
    state.connected = false
    renderConnection()
  }
  await pb.collection("tasks").subscribe("*", (event) => {
    if (event.action === "delete") state.tasks.delete(event.record.id)
    else apply(event.record)
    scheduleRender()
  })
  await pb.collection("task_types").subscribe("*", (event) => {
    state.types.set(event.record.name, event.record)
    scheduleRender()
  })
}

// -- views -----------------------------------------------------------------------------------

const app = document.getElementById("app")
let renderPending = false

function scheduleRender() {
  if (renderPending) return
  renderPending = true
  requestAnimationFrame(() => {
    renderPending = false
    render()
  })
}

function renderConnection() {
  const node = document.getElementById("connection")
  const user = pb.authStore.record
  node.className = `connection ${user ? (state.connected ? "live" : "down") : ""}`
  node.textContent = user ? (state.connected ? "live" : "reconnecting…") : ""
  document.getElementById("who").textContent = user ? `${user.email} · ${user.workspaceId}` : ""
  document.getElementById("logout").hidden = !user
}

function render(force = false) {
  renderConnection()
  if (!pb.authStore.isValid) return app.replaceChildren(loginView())
  const route = window.location.hash.replace(/^#\/?/, "")
  const [page, arg] = route.split("/")
  if (!force && page === "new" && document.activeElement && app.contains(document.activeElement)) {
    return // never re-render a form under the user's fingers
  }
  if (page === "task" && arg) return app.replaceChildren(taskView(decodeURIComponent(arg)))
  if (page === "new") return app.replaceChildren(newTaskView(decodeURIComponent(arg || "")))
  app.replaceChildren(listView())
}

function loginView() {
  const error = el("div", { class: "form-error", role: "alert" })
  const form = el(
    "form",
    { class: "card login", id: "login-form" },
    el("h1", {}, "Log in"),
    el("div", { class: "field" }, el("label", { for: "email" }, "Email"), el("input", { id: "email", name: "email", type: "email", autocomplete: "username", required: true })),
    el("div", { class: "field" }, el("label", { for: "password" }, "Password"), el("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true })),
    error,
    el("button", { type: "submit" }, "Log in"),
  )
  form.addEventListener("submit", async (event) => {
    event.preventDefault()
    error.textContent = ""
    try {
      await pb.collection("users").authWithPassword(form.email.value, form.password.value)
      await start()
    } catch (err) {
      error.textContent = err.status === 400 ? "Wrong email or password." : describe(err)
    }
  })
  return form
}

function listView() {
  const { status, type } = state.filters
  const tasks = [...state.tasks.values()]
    .filter((t) => (!status || t.status === status) && (!type || t.type === type))
    .sort((a, b) => (a.created < b.created ? 1 : -1))
  const typeNames = [...new Set([...state.types.keys(), ...[...state.tasks.values()].map((t) => t.type)])].sort()
  const filter = (name, label, options) =>
    el(
      "div",
      { class: "field" },
      el("label", { for: `filter-${name}` }, label),
      el(
        "select",
        { id: `filter-${name}`, onchange: (e) => ((state.filters[name] = e.target.value), render()) },
        el("option", { value: "" }, "all"),
        options.map((o) => el("option", { value: o, selected: state.filters[name] === o }, o)),
      ),
    )
  return el(
    "section",
    {},
    el("h1", {}, "Tasks"),
    el("div", { class: "toolbar" }, filter("status", "Status", STATUSES), filter("type", "Type", typeNames), el("a", { class: "button", href: "#/new", id: "new-task" }, "New task")),
    tasks.length
      ? el("ul", { class: "tasks", id: "task-list" }, tasks.map(taskRow))
      : el("p", { class: "empty" }, state.tasks.size ? "No task matches these filters." : "No tasks yet: start one with “New task”."),
  )
}

function taskRow(task) {
  return el(
    "li",
    {},
    el(
      "a",
      { class: "card task", href: `#/task/${encodeURIComponent(task.id)}`, "data-task-id": task.id },
      el("span", { class: "type" }, task.type),
      badge(task.status),
      progressBar(task),
      el("span", { class: "meta" }, el("span", {}, task.id), el("span", {}, age(task.created)), el("span", {}, `attempts ${task.attempts || 0}`)),
      waitingNote(task),
    ),
  )
}

function waitingNote(task) {
  if (task.status !== "PENDING" || typeIsLive(task.type)) return null
  return el("span", { class: "note", "data-testid": "no-worker" }, `Waiting: no live worker serves “${task.type}”.`)
}

function taskView(id) {
  const task = state.tasks.get(id)
  if (!task) {
    pb.collection("tasks").getOne(id).then((record) => (apply(record), render())).catch(() => {})
    return el("section", {}, el("a", { href: "#/" }, "← all tasks"), el("p", { class: "empty" }, "Loading…"))
  }
  const final = FINAL.includes(task.status)
  const actions = el(
    "div",
    { class: "actions" },
    !final && el("button", { class: "danger", id: "cancel", disabled: task.cancelRequested, onclick: () => request(task, { cancelRequested: true }) }, task.cancelRequested ? "Cancel requested…" : "Cancel"),
    final && el("button", { class: "secondary", id: "rerun", disabled: task.rerunRequested, onclick: () => request(task, { rerunRequested: true }) }, task.rerunRequested ? "Rerun requested…" : "Rerun"),
  )
  return el(
    "section",
    { "data-task-id": task.id },
    el("a", { href: "#/" }, "← all tasks"),
    el("h1", {}, `${task.type} `, badge(task.status)),
    progressBar(task),
    waitingNote(task),
    actions,
    el(
      "dl",
      { class: "facts card" },
      ...[
        ["id", task.id],
        ["created", `${task.created} (${age(task.created)})`],
        ["started", task.startedAt],
        ["completed", task.completedAt],
        ["duration", duration(task.startedAt, task.completedAt)],
        ["attempts", task.attempts || 0],
        ["workflow", task.workflowId],
      ]
        .filter(([, value]) => value !== "" && value !== undefined)
        .flatMap(([key, value]) => [el("dt", {}, key), el("dd", {}, String(value))]),
    ),
    stepsSection(task),
    task.status === "SUCCESS" && !isFlowResult(task.result) ? [el("h2", {}, "Result"), json(task.result)] : null,
    task.input && Object.keys(task.input).length ? [el("h2", {}, "Input"), json(task.input)] : null,
    errorsSection(task),
  )
}

function isFlowResult(result) {
  return result && typeof result === "object" && result.steps && typeof result.steps === "object"
}

function stepsSection(task) {
  const type = state.types.get(task.type)
  const results = isFlowResult(task.result) ? task.result.steps : {}
  const declared = type && type.steps && type.steps.length ? type.steps : Object.keys(results).map((name) => ({ name, dependsOn: [] }))
  if (!declared.length) return null
  return [
    el("h2", {}, "Steps"),
    el(
      "ol",
      { class: "timeline card", id: "steps" },
      declared.map((step) => {
        const result = results[step.name] || { status: "pending" }
        return el(
          "li",
          { class: result.status, "data-step": step.name, "data-step-status": result.status },
          el("div", { class: "step-head" }, el("strong", {}, step.name), badge(result.status)),
          el(
            "div",
            { class: "step-meta" },
            [
              step.dependsOn && step.dependsOn.length ? `after ${step.dependsOn.join(", ")}` : "starts at once",
              result.attempts ? `attempts ${result.attempts}` : "",
              result.startedAt ? `took ${duration(result.startedAt, result.completedAt)}` : "",
            ]
              .filter(Boolean)
              .join(" · "),
          ),
          result.error ? el("div", { class: "form-error" }, result.error) : null,
          result.data !== undefined && result.data !== null ? json(result.data) : null,
        )
      }),
    ),
  ]
}

function errorsSection(task) {
  const entries = Array.isArray(task.errors) ? task.errors : []
  if (!entries.length && !task.errorLog) return null
  return [
    el("h2", {}, "Error log"),
    entries.length
      ? el(
          "ol",
          { class: "errors card", id: "error-log" },
          entries.map((entry) =>
            el(
              "li",
              {},
              el("div", { class: "when" }, `${entry.timestamp} · step ${entry.step} · attempt ${entry.attempt}${entry.maxAttempts ? "/" + entry.maxAttempts : ""}${entry.final ? " · final" : ""}`),
              el("div", {}, el("strong", {}, entry.errorType), `: ${entry.message}`),
              entry.stack ? el("details", {}, el("summary", {}, "stack"), el("pre", {}, entry.stack)) : null,
            ),
          ),
        )
      : el("pre", { id: "error-log" }, task.errorLog),
  ]
}

async function request(task, flags) {
  try {
    apply(await pb.collection("tasks").update(task.id, flags))
    render()
  } catch (err) {
    showError(err)
  }
}

// -- the new-task form, from the type's JSON Schema ------------------------------------------

function newTaskView(typeName) {
  const types = [...state.types.values()]
  const type = state.types.get(typeName) || types[0]
  if (!type) return el("section", {}, el("a", { href: "#/" }, "← all tasks"), el("p", { class: "empty" }, "No worker has published a task type yet."))
  const schema = type.inputSchema || {}
  const properties = schema.properties || {}
  const required = new Set(schema.required || [])
  const draft = state.draft && state.draft.type === type.name ? state.draft : (state.draft = { type: type.name, values: {} })
  const formError = el("div", { class: "form-error", role: "alert", id: "form-error" })
  const fields = Object.entries(properties).map(([name, prop]) => schemaField(name, resolve(schema, prop), required.has(name), draft))
  const form = el(
    "form",
    { class: "card", id: "new-task-form", novalidate: true },
    el(
      "div",
      { class: "field" },
      el("label", { for: "task-type" }, "Type"),
      el(
        "select",
        { id: "task-type", onchange: (e) => ((window.location.hash = `#/new/${encodeURIComponent(e.target.value)}`), (state.draft = null)) },
        types.map((t) => el("option", { value: t.name, selected: t.name === type.name }, `${t.name}${typeIsLive(t.name) ? "" : " (no live worker)"}`)),
      ),
      type.title ? el("div", { class: "hint" }, type.title) : null,
    ),
    fields.map((f) => f.node),
    el("div", { class: "field" }, el("label", { for: "task-id" }, "Task id ", el("span", { class: "hint" }, "(optional)")), el("input", { id: "task-id", name: "task-id", pattern: "[A-Za-z0-9_-]{1,64}", value: draft.values["@id"] || "", oninput: (e) => (draft.values["@id"] = e.target.value) })),
    formError,
    el("button", { type: "submit", id: "create-task" }, "Start task"),
  )
  form.addEventListener("submit", async (event) => {
    event.preventDefault()
    formError.textContent = ""
    const input = {}
    let ok = true
    for (const field of fields) {
      const outcome = field.read()
      field.show(outcome.error)
      if (outcome.error) ok = false
      else if (outcome.value !== undefined) input[field.name] = outcome.value
    }
    if (!ok) return
    const body = { type: type.name, input }
    const id = form.querySelector("#task-id").value.trim()
    if (id) body.id = id
    try {
      const record = await pb.collection("tasks").create(body)
      apply(record)
      state.draft = null
      window.location.hash = `#/task/${encodeURIComponent(record.id)}`
    } catch (err) {
      formError.textContent = describe(err)
    }
  })
  return el("section", {}, el("a", { href: "#/" }, "← all tasks"), el("h1", {}, "New task"), form)
}

function resolve(schema, prop) {
  if (prop.$ref) return resolve(schema, (schema.$defs || {})[prop.$ref.split("/").pop()] || {})
  if (prop.anyOf) {
    const concrete = prop.anyOf.find((p) => p.type !== "null")
    return concrete ? { ...resolve(schema, concrete), ...prop, anyOf: undefined, nullable: true } : prop
  }
  return prop
}

function schemaField(name, prop, required, draft) {
  const id = `field-${name}`
  const kind = prop.enum ? "enum" : prop.type || "json"
  const stored = draft.values[name]
  const initial = stored !== undefined ? stored : prop.default !== undefined ? (kind === "json" || kind === "object" || kind === "array" ? JSON.stringify(prop.default) : prop.default) : ""
  const remember = (e) => (draft.values[name] = e.target.type === "checkbox" ? e.target.checked : e.target.value)
  let input
  if (kind === "boolean") input = el("input", { id, name, type: "checkbox", checked: Boolean(initial), onchange: remember })
  else if (kind === "enum") input = el("select", { id, name, onchange: remember }, el("option", { value: "" }, ""), prop.enum.map((v) => el("option", { value: v, selected: String(initial) === String(v) }, String(v))))
  else if (kind === "integer" || kind === "number") input = el("input", { id, name, type: "number", step: kind === "integer" ? "1" : "any", value: initial, oninput: remember })
  else if (kind === "string" && !(prop.maxLength === undefined && /body|text|description/i.test(name))) input = el("input", { id, name, type: "text", value: initial, oninput: remember })
  else input = el("textarea", { id, name, oninput: remember }, kind === "string" ? String(initial) : initial)
  const error = el("div", { class: "error", id: `${id}-error`, "data-error-for": name })
  const node = el(
    "div",
    { class: "field", "data-field": name },
    el("label", { for: id, class: required ? "required" : "" }, prop.title || name, prop.description ? el("span", { class: "hint" }, ` — ${prop.description}`) : null),
    input,
    error,
  )
  return {
    name,
    node,
    show(message) {
      error.textContent = message || ""
      node.classList.toggle("invalid", Boolean(message))
      input.setAttribute("aria-invalid", message ? "true" : "false")
    },
    read() {
      if (kind === "boolean") return { value: input.checked }
      const raw = input.value.trim()
      if (raw === "") return required ? { error: "Required." } : { value: undefined }
      return check(prop, kind, raw)
    },
  }
}

// The checks the workers' pydantic models make that a form can make too; the worker has the
// last word (its message lands in the task's error log, naming the field).
function check(prop, kind, raw) {
  let value = raw
  if (kind === "integer" || kind === "number") {
    value = Number(raw)
    if (!Number.isFinite(value)) return { error: "Enter a number." }
    if (kind === "integer" && !Number.isInteger(value)) return { error: "Enter a whole number." }
    if (prop.minimum !== undefined && value < prop.minimum) return { error: `Must be at least ${prop.minimum}.` }
    if (prop.maximum !== undefined && value > prop.maximum) return { error: `Must be at most ${prop.maximum}.` }
    if (prop.exclusiveMinimum !== undefined && value <= prop.exclusiveMinimum) return { error: `Must be more than ${prop.exclusiveMinimum}.` }
    if (prop.exclusiveMaximum !== undefined && value >= prop.exclusiveMaximum) return { error: `Must be less than ${prop.exclusiveMaximum}.` }
    if (prop.multipleOf && Math.abs(value / prop.multipleOf - Math.round(value / prop.multipleOf)) > 1e-9) return { error: `Must be a multiple of ${prop.multipleOf}.` }
    return { value }
  }
  if (kind === "string") {
    if (prop.minLength !== undefined && raw.length < prop.minLength) return { error: `At least ${prop.minLength} characters.` }
    if (prop.maxLength !== undefined && raw.length > prop.maxLength) return { error: `At most ${prop.maxLength} characters.` }
    if (prop.pattern && !new RegExp(prop.pattern).test(raw)) return { error: `Must match ${prop.pattern}.` }
    if (prop.format === "email" && !/^[^@\s]+@[^@\s]+$/.test(raw)) return { error: "Enter an email address." }
    return { value: raw }
  }
  if (kind === "enum") {
    const match = prop.enum.find((v) => String(v) === raw)
    return match === undefined ? { error: `One of ${prop.enum.join(", ")}.` } : { value: match }
  }
  try {
    value = JSON.parse(raw)
  } catch (_) {
    return { error: "Enter valid JSON." }
  }
  if (kind === "object" && (typeof value !== "object" || value === null || Array.isArray(value))) return { error: "Enter a JSON object." }
  if (kind === "array" && !Array.isArray(value)) return { error: "Enter a JSON array." }
  return { value }
}

// -- start -----------------------------------------------------------------------------------

function describe(err) {
  const data = (err && err.response && err.response.data) || {}
  const fields = Object.entries(data).map(([field, e]) => `${field}: ${e.message}`)
  return [err && err.message, ...fields].filter(Boolean).join(" — ")
}

function showError(err) {
  console.error(err)
  const node = document.getElementById("connection")
  if (node) node.textContent = `error: ${describe(err)}`
}

async function start() {
  render()
  if (!pb.authStore.isValid) return
  try {
    await follow()
  } catch (err) {
    showError(err)
  }
}

document.getElementById("logout").addEventListener("click", () => {
  pb.realtime.unsubscribe()
  pb.authStore.clear()
  state.tasks.clear()
  state.connected = false
  render()
})
window.addEventListener("hashchange", () => render(true))
setInterval(() => {
  if (!(document.activeElement && app.contains(document.activeElement))) render() // ages, liveness
}, 10000)
start()
