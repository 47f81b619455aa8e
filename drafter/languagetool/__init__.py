"""LanguageTool-compatible HTTP API: the house-tone check in any LanguageTool client."""
