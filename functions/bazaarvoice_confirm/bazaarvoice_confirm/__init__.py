"""The bazaarvoice_confirm function's code (an importable package: Lambda's handler path is dotted)."""
