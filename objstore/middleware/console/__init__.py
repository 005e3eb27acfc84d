"""The operators' web console (``/console`` on the proxy): routing and
login in ``middleware``, figures in ``cluster``, the last hour in
``history``, HTML in ``pages`` and plots in ``svg``."""
