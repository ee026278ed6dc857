"""The shared Slack kit: Block Kit primitives, text, payload parsing, errors, pacing, the
directory of users and channels, and how listeners answer. No feature logic here."""
