"""The bot scopes the app asks for when a workspace installs it: the manifest's, in one place
(tests/test_manifest.py holds manifest.yml to this list)."""

BOT_SCOPES: tuple[str, ...] = (
    "commands",
    "chat:write",
    "chat:write.public",
    "im:write",
    "users:read",
    "users:read.email",
    "usergroups:read",
    "channels:read",
    "groups:read",
    "files:write",
)
