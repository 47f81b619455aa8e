"""Drafting replies: the drafting pack, situation detection, the offline composer."""
