// durable-tasks hooks: the guarded sync route the worker writes through, and a guard on the
// plain records API. The logic lives in durable_tasks_sync.js; it is required inside each
// handler because PocketBase runs handlers in pooled JS runtimes that cannot see this file's
// top-level variables.

// Superusers only (the worker's credentials); the body is a TaskPatch in its JSON form.
routerAdd(
  "POST",
  "/api/durable-tasks/tasks/{id}/sync",
  (e) => require(`${__hooks}/durable_tasks_sync.js`).handleSync(e),
  $apis.requireSuperuserAuth(),
)

// Superusers only: a batch {items: [{taskId, patch, create?}]} applied in one transaction, the
// way the worker's writer sends the state of many tasks at once.
routerAdd(
  "POST",
  "/api/durable-tasks/sync",
  (e) => require(`${__hooks}/durable_tasks_sync.js`).handleSyncBatch(e),
  $apis.requireSuperuserAuth(),
)

// Superusers only: {items: [{taskId, workspaceId, type, input}]} created (when missing) in one
// transaction, and {ids: [...]} read in one request: the clients' coalesced creates and reads.
routerAdd(
  "POST",
  "/api/durable-tasks/create",
  (e) => require(`${__hooks}/durable_tasks_sync.js`).handleCreateBatch(e),
  $apis.requireSuperuserAuth(),
)
routerAdd(
  "POST",
  "/api/durable-tasks/records",
  (e) => require(`${__hooks}/durable_tasks_sync.js`).handleReadBatch(e),
  $apis.requireSuperuserAuth(),
)

onRecordUpdateRequest(
  (e) => require(`${__hooks}/durable_tasks_sync.js`).guardRecordUpdate(e),
  "tasks",
)
