"""The loudvoice_session function's code (an importable package: Lambda's handler path is dotted)."""
