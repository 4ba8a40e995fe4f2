"""Backgrone: background removal that runs on the user's device."""
__version__ = "0.1.0"
