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
