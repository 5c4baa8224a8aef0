"""Local vendor sandboxes: Bazaarvoice, LoudVoice and LiveVox over loopback HTTP (VENDORS.md).

`SandboxServer` lives in `local.sandbox.server`; `python -m local.sandbox` runs it in the foreground.
"""
