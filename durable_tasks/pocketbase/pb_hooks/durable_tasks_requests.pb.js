// Tasks created by users (pb_migrations/1700000200_front_end_api.js): a front end sends only
// the id, type and input; the server fills in the rest before the create rule is checked, so
// the rule can insist on the user's own workspace and on PENDING, and a new record looks the
// same whoever created it. Superusers (the worker, the admin UI) only get the PENDING default.

onRecordCreateRequest((e) => {
  if (!e.record.getString("status")) {
    e.record.set("status", "PENDING") // also for a task typed into the admin UI
  }
  if (!e.hasSuperuserAuth() && e.auth && e.auth.collection().name === "users") {
    if (!e.record.getString("workspaceId")) {
      e.record.set("workspaceId", e.auth.getString("workspaceId"))
    }
    e.record.set("progress", 0)
    e.record.set("attempts", 0)
    e.record.set("seq", 0)
  }
  e.next()
}, "tasks")

// POST /api/durable-tasks/tasks/{id}/claim-rerun (superusers: the workers' dispatchers).
// Every dispatcher sees a user's rerun request; the one whose claim clears the flag inside this
// transaction reruns the task, the others get {claimed: false}. That makes a rerun request run
// once, as a PENDING record starts once. The claim also clears a cancel request (a rerun starts
// with none) and bumps seq like any accepted write, so front ends see the flags reset.
routerAdd(
  "POST",
  "/api/durable-tasks/tasks/{id}/claim-rerun",
  (e) => {
    const id = e.request.pathValue("id")
    let claimed = false
    e.app.runInTransaction((txApp) => {
      let record
      try {
        record = txApp.findRecordById("tasks", id)
      } catch (_) {
        throw new NotFoundError(`task ${id} has no record`)
      }
      if (!record.getBool("rerunRequested")) return
      record.set("rerunRequested", false)
      record.set("cancelRequested", false)
      record.set("seq", record.getInt("seq") + 1)
      txApp.save(record)
      claimed = true
    })
    return e.json(200, { claimed: claimed })
  },
  $apis.requireSuperuserAuth(),
)
