// Guarded writes to `tasks` records, loaded with require() from durable_tasks.pb.js.
//
// applyPatch() is the JavaScript twin of durable_tasks.memory_store.apply_patch (the guard rules
// 1-6 of durable_tasks/store.py); the contract tests run the same cases against both, so change
// them together. The check and the write happen inside one runInTransaction: PocketBase runs
// write transactions one at a time, so no other writer can slip between the read and the save
// (an API rule or a comparison with record.original() would not give that).

const FINAL = ["SUCCESS", "FAILED", "CANCELLED"]
const STATUSES = ["PENDING", "RUNNING"].concat(FINAL)
const MAX_ERROR_ENTRIES = 500 // durable_tasks.store.MAX_ERROR_ENTRIES
const MAX_ERROR_LOG_CHARS = 1000000 // durable_tasks.store.MAX_ERROR_LOG_CHARS

// POST /api/durable-tasks/tasks/{id}/sync: apply one TaskPatch, answer {applied, reason, record}.
function handleSync(e) {
  const id = e.request.pathValue("id")
  const patch = parsePatch(jsonBody(e))
  let outcome = null
  e.app.runInTransaction((txApp) => {
    const record = findTask(txApp, id)
    if (record === null) {
      throw new NotFoundError(`task ${id} has no record; create it first`, {
        id: new ValidationError("task_not_found", "no task record has this id"),
      })
    }
    const state = new RecordState(record)
    const reason = applyPatch(state, patch)
    const applied = state.save(txApp)
    outcome = { applied: applied, reason: reason, record: record }
  })
  return e.json(200, outcome)
}

const MAX_BATCH = 500 // durable_tasks.store.MAX_SYNC_BATCH

// POST /api/durable-tasks/sync: apply a batch of patches in ONE transaction (one fsync for many
// tasks), answering {results: [{taskId, applied, reason, seq}]} in the items' order. Items are
// independent: a bad item gets reason "rejected: ..." and the others still apply. An item with
// `create` ({workspaceId, type, input}) first creates a missing record (PENDING), so a workflow
// started without our client gets its record in the same write.
function handleSyncBatch(e) {
  const items = batchItems(jsonBody(e))
  const results = []
  e.app.runInTransaction((txApp) => {
    for (const item of items) {
      results.push(applyItem(txApp, item))
    }
  })
  return e.json(200, { results: results })
}

function applyItem(txApp, item) {
  const taskId = typeof item.taskId === "string" ? item.taskId : ""
  const outcome = (reason, seq) => ({ taskId: taskId, applied: false, reason: reason, seq: seq })
  let patch
  try {
    patch = parsePatch(item.patch)
  } catch (err) {
    return outcome(`rejected: ${err.message || err}`, -1)
  }
  let record = findTask(txApp, taskId)
  try {
    if (record === null && item.create) record = createTask(txApp, taskId, item.create)
    if (record === null) return outcome("not_found", -1)
    const state = new RecordState(record)
    const reason = applyPatch(state, patch)
    const applied = state.save(txApp)
    return { taskId: taskId, applied: applied, reason: reason, seq: record.getInt("seq") }
  } catch (err) {
    return outcome(`rejected: ${err.message || err}`, -1)
  }
}

// POST /api/durable-tasks/create: create many PENDING records in ONE transaction, the way a
// client coalesces the creates of concurrent starts. Body {items: [{taskId, workspaceId, type,
// input}]}; answer {results: [{taskId, created, record?, reason}]} in the items' order: a record
// that exists is left alone and sent back (created: false), a refused one says why
// ("rejected: ..."), and the other items still apply.
function handleCreateBatch(e) {
  const items = batchItems(jsonBody(e))
  const results = []
  e.app.runInTransaction((txApp) => {
    for (const item of items) {
      const taskId = typeof item.taskId === "string" ? item.taskId : ""
      const found = findTask(txApp, taskId)
      if (found !== null) {
        results.push({ taskId: taskId, created: false, record: found, reason: "exists" })
        continue
      }
      try {
        const record = createTask(txApp, taskId, item)
        results.push({ taskId: taskId, created: true, record: record, reason: "created" })
      } catch (err) {
        results.push({ taskId: taskId, created: false, reason: `rejected: ${err.message || err}` })
      }
    }
  })
  return e.json(200, { results: results })
}

// POST /api/durable-tasks/records: read many records in one request. Body {ids: [...]}; answer
// {records: [...]} with the records found (a missing id is simply absent).
function handleReadBatch(e) {
  const ids = jsonBody(e).ids
  if (!Array.isArray(ids) || ids.length > MAX_BATCH || ids.some((id) => typeof id !== "string")) {
    throw new BadRequestError(`invalid batch: ids: a list of at most ${MAX_BATCH} ids is required`)
  }
  const records = []
  for (const id of ids) {
    const record = findTask(e.app, id)
    if (record !== null) records.push(record)
  }
  return e.json(200, { records: records })
}

function batchItems(body) {
  const items = body.items
  if (!Array.isArray(items) || items.length > MAX_BATCH) {
    throw new BadRequestError(`invalid batch: items: a list of at most ${MAX_BATCH} is required`)
  }
  return items.map((item) => (item !== null && typeof item === "object" ? item : {}))
}

// The request body parsed once, into plain JavaScript values. (requestInfo().body hands over
// Go values that each item then had to copy into JavaScript: a third of a batch's cost.)
function jsonBody(e) {
  const text = toString(e.request.body)
  if (!text) return {}
  let body
  try {
    body = JSON.parse(text)
  } catch (_) {
    throw new BadRequestError("invalid body: JSON is required")
  }
  return body !== null && typeof body === "object" && !Array.isArray(body) ? body : {}
}

function findTask(app, taskId) {
  try {
    return app.findRecordById("tasks", taskId)
  } catch (_) {
    return null
  }
}

function createTask(txApp, taskId, create) {
  const record = new Record(txApp.findCollectionByNameOrId("tasks"))
  record.set("id", taskId)
  record.set("workspaceId", create.workspaceId)
  record.set("type", create.type)
  record.set("status", "PENDING")
  record.set("input", create.input === undefined ? null : create.input)
  record.set("progress", 0)
  record.set("attempts", 0)
  record.set("seq", 0)
  txApp.save(record)
  return record
}

// onRecordUpdateRequest for `tasks`: edits through the records API (a user's cancel or rerun
// flag, a hand edit in the dashboard) must not break the guarantees either. PocketBase loaded
// e.record before this hook, so a worker's write may have landed since:
// - every field the request did not send is taken from the stored record, read inside the same
//   transaction as the save. Otherwise the save would put back the old progress and error log
//   (or be refused as going back), and a user's Cancel, clicked while the task reports
//   progress, would be lost;
// - a request that sends `seq` (the dashboard sends every field it loaded; users may not send
//   it) is refused when the record has changed since: its other fields are as stale.
// The edit then bumps `seq` like any other accepted write.
function guardRecordUpdate(e) {
  const sent = sentFields(e)
  e.app.runInTransaction((txApp) => {
    const stored = txApp.findRecordById("tasks", e.record.id)
    const seq = stored.getInt("seq")
    if (sent.has("seq") && e.record.getInt("seq") !== seq) {
      throw new BadRequestError(
        `seq: the record changed since it was loaded (seq ${e.record.getInt("seq")}, now ${seq}); reload it and edit again`,
      )
    }
    for (const name of Object.keys(stored.fieldsData())) {
      if (!sent.has(name)) e.record.set(name, stored.get(name))
    }
    const problem = manualUpdateProblem(stored, e.record)
    if (problem) {
      throw new BadRequestError(problem)
    }
    e.record.set("seq", seq + 1)
    e.app = txApp
    e.next()
  })
}

// The record fields a request body names ("+"/"-" modifiers stripped, in case PocketBase has
// not resolved them into plain names by the time this hook runs).
function sentFields(e) {
  const body = e.requestInfo().body || {}
  return new Set(Object.keys(body).map((key) => key.replace(/^[+-]|[+-]$/g, "")))
}

function manualUpdateProblem(stored, updated) {
  const runId = stored.getString("runId")
  if (updated.getString("runId") !== runId) {
    return null // a new run starts over
  }
  const before = stored.getString("status")
  const after = updated.getString("status")
  if (FINAL.includes(before) && !FINAL.includes(after)) {
    return `status ${before} is final for run "${runId}" and cannot become ${after}`
  }
  const progress = stored.getFloat("progress")
  if (updated.getFloat("progress") < progress) {
    return `progress never goes back within a run: it is ${progress} for run "${runId}"`
  }
  return null
}

// The guard rules of durable_tasks/store.py on a RecordState; returns the reason.
function applyPatch(state, patch) {
  const holder = state.get("runId")
  const status = state.get("status")
  let reason = "applied"
  if (patch.newRun && holder && holder !== patch.runId && status === "RUNNING") {
    reason = "stale"
  } else if (!patch.newRun && holder && holder !== patch.runId) {
    reason = "stale"
  } else if (holder === patch.runId && FINAL.includes(status)) {
    reason = "final"
  } else {
    if (holder !== patch.runId) {
      state.set("runId", patch.runId)
      if (holder) {
        state.set("progress", 0)
        state.set("attempts", 0)
        state.set("completedAt", "")
      }
    }
    applyFields(state, patch, holder === patch.runId)
  }
  const error = patch.error
  if (error != null && state.get("errors").every((entry) => entry.key !== error.key)) {
    state.set("errors", state.get("errors").concat([error]).slice(-MAX_ERROR_ENTRIES))
    const log = state.get("errorLog")
    const text = log ? `${log}\n\n${patch.errorText}` : patch.errorText
    state.set("errorLog", lastChars(text, MAX_ERROR_LOG_CHARS))
  }
  return reason
}

function applyFields(state, patch, sameRun) {
  if (patch.workflowId != null) state.set("workflowId", patch.workflowId)
  if (patch.status != null) state.set("status", patch.status)
  if (patch.progress != null) state.set("progress", Math.max(state.get("progress"), patch.progress))
  if (patch.status === "SUCCESS") state.set("progress", 100)
  if (patch.result != null) {
    state.set("result", sameRun ? keepFinishedSteps(state, patch.result) : patch.result)
  }
  if (patch.attempts != null) state.set("attempts", Math.max(state.get("attempts"), patch.attempts))
  if (patch.startedAt != null && !state.get("startedAt")) state.set("startedAt", patch.startedAt)
  if (patch.completedAt != null) state.set("completedAt", patch.completedAt)
  if (patch.steps != null) mergeSteps(state, patch.steps, patch.runId)
}

// Rules 7 and 8: a flow's finished steps, reported by their own activities, merged into the
// stored result; the twin of durable_tasks/_step_merge.py (read its docstring for the why).
// A step's state only moves forward (a later attempt, or within one: pending -> running ->
// finished), so the activities' reports and the workflow's snapshots may land in any order.
// Nothing depends on the order of object keys (PocketBase keeps them sorted).
const STEP_STATUSES = ["pending", "running", "completed", "failed", "skipped", "cancelled"]
const STEP_COUNTED = ["completed", "failed", "skipped"] // finished, for progress

function stepStatus(step) {
  const status = step !== null && typeof step === "object" ? step.status : undefined
  return typeof status === "string" ? status : undefined
}

function stepRank(step) {
  const status = stepStatus(step)
  if (status === "running") return 1
  return STEP_STATUSES.indexOf(status) >= 2 ? 2 : 0
}

// How far a step has gone: its attempt first, then its state within the attempt.
function isFurther(step, than) {
  const attempts = (s) => (s !== null && typeof s === "object" && Number.isInteger(s.attempts) ? s.attempts : 0)
  if (attempts(step) !== attempts(than)) return attempts(step) > attempts(than)
  return stepRank(step) > stepRank(than)
}

function isObject(value) {
  return value !== null && typeof value === "object" && !Array.isArray(value)
}

function stepsOf(result) {
  return isObject(result) && isObject(result.steps) ? result.steps : null
}

// Rule 7: merges reported steps of the result's own run over stored ones they have gone
// further than (unset fields keep their stored value), then recounts and raises progress by
// the flow formula (durable_tasks.progress).
function mergeSteps(state, reported, runId) {
  const stored = state.get("result")
  if (stepsOf(stored) === null || stored.runId !== runId) return
  const result = Object.assign({}, stored) // copies: the stored value is compared on save
  const steps = Object.assign({}, stored.steps)
  result.steps = steps
  let merged = false
  for (const name of Object.keys(reported)) {
    const step = reported[name]
    const before = steps[name]
    if (!isObject(before) || !isFurther(step, before)) continue
    const next = Object.assign({}, before)
    for (const key of Object.keys(step)) if (step[key] != null) next[key] = step[key]
    steps[name] = next
    merged = true
  }
  if (!merged) return
  retally(result, steps)
  state.set("result", result)
  const total = result.totalSteps
  if (!Number.isInteger(total) || total <= 0) return
  let finished = 0
  let running = 0
  for (const step of Object.values(steps)) {
    if (STEP_COUNTED.includes(stepStatus(step))) finished++
    else if (stepStatus(step) === "running") running++
  }
  const progress = Math.min(Math.floor((100 * (finished + 0.05 * running)) / total), 99)
  state.set("progress", Math.max(state.get("progress"), progress))
}

// Rule 8: a snapshot of the same flow run (same startedAt) keeps each step it shows unfinished
// that the stored result has finished and gone further with. The stored result is parsed only when the snapshot has
// unfinished steps.
function keepFinishedSteps(state, incoming) {
  const steps = stepsOf(incoming)
  if (steps === null || incoming.startedAt == null) return incoming
  const open = Object.keys(steps).filter((name) => stepRank(steps[name]) < 2)
  if (open.length === 0) return incoming
  const stored = state.get("result")
  const storedSteps = stepsOf(stored)
  if (storedSteps === null || stored.startedAt !== incoming.startedAt) return incoming
  let kept = false
  for (const name of open) {
    const before = storedSteps[name]
    if (stepRank(before) === 2 && isFurther(before, steps[name])) {
      steps[name] = before
      kept = true
    }
  }
  if (kept) retally(incoming, steps)
  return incoming
}

// The lists and counts derived from the steps: names kept in their listed order, new ones
// added sorted; the current step, if it finished, becomes the running step started last.
function retally(result, steps) {
  const lists = [
    ["completed", "completedSteps", "completedCount"],
    ["failed", "failedSteps", "failedCount"],
  ]
  for (const [status, namesKey, countKey] of lists) {
    const listed = Array.isArray(result[namesKey]) ? result[namesKey] : []
    const names = listed.filter((n) => typeof n === "string" && stepStatus(steps[n]) === status)
    const added = Object.keys(steps)
      .filter((name) => stepStatus(steps[name]) === status && !names.includes(name))
      .sort()
    result[namesKey] = names.concat(added)
    result[countKey] = names.length + added.length
  }
  const current = result.currentStep
  if (typeof current === "string" && stepRank(steps[current]) === 2) {
    let best = null
    for (const name of Object.keys(steps)) {
      if (stepStatus(steps[name]) !== "running") continue
      const started = typeof steps[name].startedAt === "string" ? steps[name].startedAt : ""
      if (best === null || started > best[0] || (started === best[0] && name > best[1])) {
        best = [started, name]
      }
    }
    result.currentStep = best === null ? null : best[1]
  }
}

// The task fields a patch may touch, read from the record only when needed (the JSON ones can
// be megabytes) and written back only when their value really changed.
const READERS = {
  status: (record) => record.getString("status"),
  progress: (record) => record.getFloat("progress"),
  result: (record) => parseJSONField(record, "result") ?? null,
  errorLog: (record) => record.getString("errorLog"),
  errors: (record) => parseJSONField(record, "errors") ?? [],
  attempts: (record) => record.getInt("attempts"),
  workflowId: (record) => record.getString("workflowId"),
  runId: (record) => record.getString("runId"),
  startedAt: (record) => record.getString("startedAt"),
  completedAt: (record) => record.getString("completedAt"),
}

class RecordState {
  constructor(record) {
    this.record = record
    this.stored = {}
    this.pending = {}
  }

  get(field) {
    if (field in this.pending) return this.pending[field]
    return this.storedValue(field)
  }

  storedValue(field) {
    if (!(field in this.stored)) this.stored[field] = READERS[field](this.record)
    return this.stored[field]
  }

  set(field, value) {
    this.pending[field] = value
  }

  // Writes the fields that changed, with seq + 1; returns whether anything changed. A new
  // result rides along unexamined when anything else changes (an equal value written again
  // is harmless); alone, it is compared with the stored one (parsed only then: a flow's
  // result is the biggest field), so a repeated patch writes nothing.
  save(txApp) {
    const changed = Object.keys(this.pending).filter(
      (field) => field !== "result" && !deepEqual(this.pending[field], this.storedValue(field)),
    )
    if (
      "result" in this.pending &&
      (changed.length > 0 || !deepEqual(this.pending.result, this.storedValue("result")))
    ) {
      changed.push("result")
    }
    if (changed.length === 0) return false
    for (const field of changed) this.record.set(field, this.pending[field])
    this.record.set("seq", this.record.getInt("seq") + 1)
    txApp.save(this.record)
    return true
  }
}

// Python counts (and trims) by code point, JavaScript strings by UTF-16 unit; they differ only
// where a character outside the BMP (an emoji) is made of two units. Keep the last `limit`
// code points like Python, never splitting a pair. Scanning a long string is slow in the hooks'
// engine (~0.4 s per million units), so the common case (no such character in the kept part)
// costs one regular-expression test, and the rare case only counts the parts it adds.
const ASTRAL = /[\u{10000}-\u{10FFFF}]/u
const ASTRAL_ALL = /[\u{10000}-\u{10FFFF}]/gu

function lastChars(text, limit) {
  if (text.length <= limit) {
    return text
  }
  let start = wholePairStart(text, text.length - limit)
  if (start === text.length - limit && !ASTRAL.test(text.slice(start))) {
    return text.slice(start)
  }
  let points = codePoints(text.slice(start))
  while (points < limit && start > 0) {
    const from = wholePairStart(text, Math.max(0, start - (limit - points)))
    points += codePoints(text.slice(from, start))
    start = from
  }
  return text.slice(start)
}

// Moves a cut that falls inside a surrogate pair to just before the pair.
function wholePairStart(text, i) {
  const low = text.charCodeAt(i)
  const high = i > 0 ? text.charCodeAt(i - 1) : 0
  return low >= 0xdc00 && low <= 0xdfff && high >= 0xd800 && high <= 0xdbff ? i - 1 : i
}

function codePoints(text) {
  const astral = text.match(ASTRAL_ALL)
  return text.length - (astral ? astral.length : 0)
}

function parseJSONField(record, field) {
  const raw = record.getString(field)
  return raw ? JSON.parse(raw) : null
}

// Validates the body the way TaskPatch does, so a bad request is refused before any write.
function parsePatch(body) {
  // a fresh object parsed from the request body (jsonBody), normalised in place below
  const patch = body !== null && typeof body === "object" ? body : {}
  const bad = (field, message) => {
    throw new BadRequestError(`invalid patch: ${field}: ${message}`, {
      [field]: new ValidationError("invalid_patch", message),
    })
  }
  if (typeof patch.runId !== "string") bad("runId", "a string is required")
  if (patch.newRun != null && typeof patch.newRun !== "boolean") bad("newRun", "must be a boolean")
  if (patch.workflowId != null && typeof patch.workflowId !== "string") {
    bad("workflowId", "must be a string")
  }
  if (patch.status != null && !STATUSES.includes(patch.status)) {
    bad("status", `must be one of ${STATUSES.join(", ")}`)
  }
  const progress = patch.progress
  if (progress != null && !(typeof progress === "number" && progress >= 0 && progress <= 100)) {
    bad("progress", "must be a number from 0 to 100")
  }
  const attempts = patch.attempts
  if (attempts != null && !(Number.isInteger(attempts) && attempts >= 0)) {
    bad("attempts", "must be a non-negative integer")
  }
  for (const field of ["startedAt", "completedAt"]) {
    if (patch[field] != null) {
      patch[field] = normalizeDate(patch[field], () => bad(field, "must be an ISO 8601 date"))
    }
  }
  if (patch.steps != null) {
    const steps = isObject(patch.steps) ? patch.steps : bad("steps", "must map step names to step results")
    for (const name of Object.keys(steps)) steps[name] = stepReport(steps[name], (m) => bad(`steps.${name}`, m))
  }
  if (patch.error != null) {
    if (typeof patch.error !== "object" || typeof patch.error.key !== "string") {
      bad("error", "must be an error entry with a string key")
    }
    if (typeof patch.errorText !== "string") bad("errorText", "is required with error")
  }
  return patch
}

// A reported step as StepResult takes it (its fields, nothing else), or bad(message).
function stepReport(step, bad) {
  if (!isObject(step)) return bad("must be a step result")
  if (typeof step.stepType !== "string") return bad("stepType: a string is required")
  if (!STEP_STATUSES.includes(step.status)) return bad(`status: must be one of ${STEP_STATUSES.join(", ")}`)
  if (step.error != null && typeof step.error !== "string") return bad("error: must be a string")
  if (step.attempts != null && !Number.isInteger(step.attempts)) return bad("attempts: must be an integer")
  for (const field of ["startedAt", "completedAt"]) {
    if (step[field] != null && typeof step[field] !== "string") return bad(`${field}: must be a date`)
  }
  const clean = {}
  for (const field of ["stepType", "status", "error", "attempts", "startedAt", "completedAt", "data"]) {
    if (field in step) clean[field] = step[field]
  }
  return clean
}

// Dates are compared the way PocketBase stores them (UTC, millisecond precision).
function normalizeDate(value, onError) {
  if (typeof value !== "string") {
    return onError()
  }
  let normalized = ""
  try {
    normalized = new DateTime(value).string()
  } catch (_) {
    return onError()
  }
  return normalized || onError()
}

function deepEqual(a, b) {
  if (a === b) return true
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false
  if (Array.isArray(a) !== Array.isArray(b)) return false
  const keysA = Object.keys(a)
  const keysB = Object.keys(b)
  if (keysA.length !== keysB.length) return false
  const has = (key) => Object.prototype.hasOwnProperty.call(b, key)
  return keysA.every((key) => has(key) && deepEqual(a[key], b[key]))
}

module.exports = {
  handleSync,
  handleSyncBatch,
  handleCreateBatch,
  handleReadBatch,
  guardRecordUpdate,
  applyPatch,
}
