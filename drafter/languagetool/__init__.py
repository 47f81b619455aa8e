"""LanguageTool's HTTP API as a protocol (no web framework): the house-tone check in any
LanguageTool client. drafter.web.languagetool serves it."""
