"""Vendor clients: wire format <-> typed results, nothing else (no DynamoDB, no routes)."""
