"""The AI Meeting server (installed with the ``server`` extra)."""
