// The `media` collection: what the video example's `upload` step publishes — one record per
// unique `key` (the step's idempotency key, so a retry or a rerun finds the record it already
// made), holding the transcoded video and its thumbnail as files.
//
// Like `tasks`: only superusers write (the worker); users of a workspace may list and view that
// workspace's media. The files are protected, so downloading one also needs a file token of a
// user allowed to view the record — a file URL alone does not cross workspaces. Sizes are
// explicit rather than PocketBase's 5 MB file default.

const MIB = 1024 * 1024

const WORKSPACE_MEMBER =
  '@request.auth.id != "" && @request.auth.collectionName = "users" && ' +
  "@request.auth.workspaceId = workspaceId"

migrate(
  (app) => {
    const media = new Collection({
      type: "base",
      name: "media",
      listRule: WORKSPACE_MEMBER,
      viewRule: WORKSPACE_MEMBER,
      createRule: null,
      updateRule: null,
      deleteRule: null,
      fields: [
        { name: "workspaceId", type: "text", required: true, max: 64 },
        { name: "key", type: "text", required: true, max: 200 },
        { name: "videoId", type: "text", required: true, max: 200 },
        {
          name: "video",
          type: "file",
          required: true,
          maxSelect: 1,
          maxSize: 512 * MIB,
          mimeTypes: ["video/mp4"],
          protected: true,
        },
        {
          name: "thumbnail",
          type: "file",
          required: true,
          maxSelect: 1,
          maxSize: 5 * MIB,
          mimeTypes: ["image/jpeg"],
          protected: true,
        },
        { name: "created", type: "autodate", onCreate: true, onUpdate: false },
        { name: "updated", type: "autodate", onCreate: true, onUpdate: true },
      ],
      indexes: [
        "CREATE UNIQUE INDEX `idx_media_key` ON `media` (`key`)",
        "CREATE INDEX `idx_media_workspaceId` ON `media` (`workspaceId`)",
      ],
    })
    app.save(media)
  },
  (app) => {
    app.delete(app.findCollectionByNameOrId("media"))
  },
)
