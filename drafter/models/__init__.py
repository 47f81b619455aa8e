"""Typed models (pydantic v2) of what the project reads: rule files, the drafting pack, eval
datasets and the LLM's JSON replies. Loaders validate with them and build runtime objects."""
