"""The app in several workspaces: who is installed where (`workspaces`), the per-request
authorization read from the installations (`authorize`), and Bolt's OAuth flow around our
stores (`oauth`). Single-token mode is one workspace behind the same interface."""
