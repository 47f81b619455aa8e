"""One module per command: NAME, HELP, add_arguments(parser), run(args, app).

The parser imports every command module, so a module imports at its top only what building
its parser needs; what running it needs is imported inside run(), which keeps `drafter rewrite`
from paying for the eval harness, the web app or the retrieval stack.
"""
