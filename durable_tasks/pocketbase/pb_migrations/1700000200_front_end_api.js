// PocketBase as the whole front-end API (issue 10): users start tasks by creating a record, ask
// for a cancel or a rerun by setting a flag on their own record, and read the task types the
// workers publish in `task_types`.
//
// What a user may write is decided here, by rules, so no backend stands between a front end and
// PocketBase. A user of workspace W may:
// - create a task of W, as PENDING, choosing only its id, type and input (workspaceId and
//   status may be left out: PocketBase checks this rule on the request, then
//   pb_hooks/durable_tasks_requests.pb.js fills them in with W and PENDING);
// - set `cancelRequested` / `rerunRequested` on a task of W, and nothing else of it.
// Execution state (status after creation, progress, result, error log, attempts, run ids, seq)
// stays the worker's: superusers bypass rules, and the worker writes through the guarded sync
// route. The dispatcher in each worker turns the records and flags into workflow starts,
// cancels and reruns.

const WORKSPACE_USER = '@request.auth.id != "" && @request.auth.collectionName = "users"'
const WORKSPACE_MEMBER = `${WORKSPACE_USER} && @request.auth.workspaceId = workspaceId`

// Never in a user's request body: execution state, and what must not change after creation.
const PROTECTED = [
  "progress",
  "result",
  "errorLog",
  "errors",
  "attempts",
  "workflowId",
  "runId",
  "startedAt",
  "completedAt",
  "seq",
]
const notSent = (fields) => fields.map((name) => `@request.body.${name}:isset = false`).join(" && ")

const CREATE_RULE = [
  WORKSPACE_USER,
  '(workspaceId = "" || workspaceId = @request.auth.workspaceId)',
  '(status = "" || status = "PENDING")',
  notSent([...PROTECTED, "cancelRequested", "rerunRequested"]),
].join(" && ")

const UPDATE_RULE = [
  WORKSPACE_MEMBER,
  notSent([...PROTECTED, "status", "workspaceId", "type", "input", "id"]),
].join(" && ")

migrate(
  (app) => {
    const tasks = app.findCollectionByNameOrId("tasks")
    tasks.fields.add(new BoolField({ name: "cancelRequested" }))
    tasks.fields.add(new BoolField({ name: "rerunRequested" }))
    tasks.createRule = CREATE_RULE
    tasks.updateRule = UPDATE_RULE
    tasks.indexes.push("CREATE INDEX `idx_tasks_created` ON `tasks` (`created`)")
    app.save(tasks)

    // One record per task type, upserted by every worker that serves it (id: derived from the
    // name, so concurrent workers converge on one record). `lastSeen` is refreshed while a
    // worker runs: a type whose lastSeen is old has no live worker, and its tasks wait.
    const types = new Collection({
      type: "base",
      name: "task_types",
      listRule: WORKSPACE_USER,
      viewRule: WORKSPACE_USER,
      createRule: null,
      updateRule: null,
      deleteRule: null,
      fields: [
        { name: "name", type: "text", required: true, max: 100 },
        { name: "kind", type: "select", required: true, maxSelect: 1, values: ["simple", "flow"] },
        { name: "title", type: "text", max: 200 },
        { name: "inputSchema", type: "json", maxSize: 1024 * 1024 },
        { name: "steps", type: "json", maxSize: 1024 * 1024 },
        { name: "lastSeen", type: "date", required: true },
        { name: "created", type: "autodate", onCreate: true, onUpdate: false },
        { name: "updated", type: "autodate", onCreate: true, onUpdate: true },
      ],
      indexes: ["CREATE UNIQUE INDEX `idx_task_types_name` ON `task_types` (`name`)"],
    })
    app.save(types)
  },
  (app) => {
    app.delete(app.findCollectionByNameOrId("task_types"))
    const tasks = app.findCollectionByNameOrId("tasks")
    tasks.fields.removeByName("cancelRequested")
    tasks.fields.removeByName("rerunRequested")
    tasks.createRule = null
    tasks.updateRule = null
    tasks.indexes = tasks.indexes.filter((index) => !index.includes("idx_tasks_created"))
    app.save(tasks)
  },
)
