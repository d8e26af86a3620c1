// Probe routes for `python -m bench.pocketbase_cost`, loaded only into the throwaway PocketBase
// that command starts (never shipped, never in the dev stack). Each does part of what the sync
// route does, so the CPU a patch costs can be split: parsing, finding, PocketBase's own save.
// Body: {items: [{taskId, patch: {progress}}]}, as the sync route takes it.

routerAdd(
  "POST",
  "/api/bench-probe/parse",
  (e) => {
    const items = JSON.parse(toString(e.request.body)).items
    return e.json(200, { count: items.length })
  },
  $apis.requireSuperuserAuth(),
)

routerAdd(
  "POST",
  "/api/bench-probe/find",
  (e) => {
    const items = JSON.parse(toString(e.request.body)).items
    e.app.runInTransaction((txApp) => {
      for (const item of items) txApp.findRecordById("tasks", item.taskId)
    })
    return e.json(200, { count: items.length })
  },
  $apis.requireSuperuserAuth(),
)

routerAdd(
  "POST",
  "/api/bench-probe/save",
  (e) => {
    const items = JSON.parse(toString(e.request.body)).items
    e.app.runInTransaction((txApp) => {
      for (const item of items) {
        const record = txApp.findRecordById("tasks", item.taskId)
        record.set("progress", item.patch.progress)
        record.set("seq", record.getInt("seq") + 1)
        txApp.save(record)
      }
    })
    return e.json(200, { count: items.length })
  },
  $apis.requireSuperuserAuth(),
)
