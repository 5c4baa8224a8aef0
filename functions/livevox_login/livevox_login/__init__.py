"""The livevox_login function's code (an importable package: Lambda's handler path is dotted)."""
