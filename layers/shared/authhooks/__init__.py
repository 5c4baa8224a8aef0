"""authhooks: the shared layer of the auth-hook functions (lands at /opt/python/authhooks)."""
