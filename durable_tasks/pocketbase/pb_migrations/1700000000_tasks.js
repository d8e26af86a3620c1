// The `tasks` collection (one record per durable task; the task id is the record id) and the
// `users.workspaceId` field its access rules depend on.
//
// Only superusers write tasks (the worker, through the transactional sync route in pb_hooks/);
// users of a workspace may list, view and subscribe to that workspace's tasks, nothing else.
// Limits are explicit because PocketBase's defaults (5,000 characters of text, 1 MiB of JSON)
// are too small for a long error log or the result of a 200-step flow.

const MIB = 1024 * 1024

const WORKSPACE_MEMBER =
  '@request.auth.id != "" && @request.auth.collectionName = "users" && ' +
  "@request.auth.workspaceId = workspaceId"

migrate(
  (app) => {
    const tasks = new Collection({
      type: "base",
      name: "tasks",
      listRule: WORKSPACE_MEMBER,
      viewRule: WORKSPACE_MEMBER,
      createRule: null,
      updateRule: null,
      deleteRule: null,
      fields: [
        {
          // Our task ids are the record ids: allow what JobData.task_id allows.
          name: "id",
          type: "text",
          system: true,
          primaryKey: true,
          required: true,
          min: 1,
          max: 64,
          pattern: "^[A-Za-z0-9_-]+$",
          autogeneratePattern: "[a-z0-9]{15}",
        },
        { name: "workspaceId", type: "text", required: true, max: 64 },
        { name: "type", type: "text", required: true, max: 100 },
        {
          name: "status",
          type: "select",
          required: true,
          maxSelect: 1,
          values: ["PENDING", "RUNNING", "SUCCESS", "FAILED", "CANCELLED"],
        },
        { name: "progress", type: "number", min: 0, max: 100 },
        { name: "input", type: "json", maxSize: MIB },
        { name: "result", type: "json", maxSize: 5 * MIB },
        { name: "errorLog", type: "text", max: 2000000 },
        { name: "errors", type: "json", maxSize: 5 * MIB },
        { name: "attempts", type: "number", min: 0, onlyInt: true },
        { name: "workflowId", type: "text", max: 300 },
        { name: "runId", type: "text", max: 300 },
        { name: "startedAt", type: "date" },
        { name: "completedAt", type: "date" },
        { name: "seq", type: "number", min: 0, onlyInt: true },
        { name: "created", type: "autodate", onCreate: true, onUpdate: false },
        { name: "updated", type: "autodate", onCreate: true, onUpdate: true },
      ],
      indexes: [
        "CREATE INDEX `idx_tasks_workspaceId` ON `tasks` (`workspaceId`)",
        "CREATE INDEX `idx_tasks_status` ON `tasks` (`status`)",
        "CREATE INDEX `idx_tasks_type` ON `tasks` (`type`)",
      ],
    })
    app.save(tasks)

    // A user's workspace decides what they can read: only a superuser may set it. Public
    // sign-up is closed (users are created by an operator), and the update rule refuses any
    // request that carries workspaceId, so a user cannot move themselves to another tenant.
    const users = app.findCollectionByNameOrId("users")
    users.fields.add(new TextField({ name: "workspaceId", max: 64 }))
    users.createRule = null
    users.updateRule = "id = @request.auth.id && @request.body.workspaceId:isset = false"
    app.save(users)
  },
  (app) => {
    app.delete(app.findCollectionByNameOrId("tasks"))

    const users = app.findCollectionByNameOrId("users")
    users.fields.removeByName("workspaceId")
    users.createRule = ""
    users.updateRule = "id = @request.auth.id"
    app.save(users)
  },
)
