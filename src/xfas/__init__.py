"""xfas: explainable face anti-spoofing."""

__version__ = "0.1.0"
