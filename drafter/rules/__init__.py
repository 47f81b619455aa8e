"""The rule pack (data), its loading and validation, and the offline rewrite engine."""
