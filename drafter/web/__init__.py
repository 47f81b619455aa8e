"""The Gradio app over the drafter library (``drafter.web.app.build_app``; ``drafter serve`` starts it)."""

import os

# Before any ui module imports gradio: no analytics, no version check, nothing phoned home.
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
