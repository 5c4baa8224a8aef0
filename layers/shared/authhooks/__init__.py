"""authhooks: the shared layer of the auth-hook functions (lands at /opt/python/authhooks)."""

# The one version of the project: pyproject.toml, openapi.yaml and CHANGELOG.md say the same (a test holds them to
# it), and the vendor clients send it as their User-Agent.
__version__ = "0.1.0"
