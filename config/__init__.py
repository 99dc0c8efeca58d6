"""Jixiao settings: every setting, its default and its ``JIXIAO_`` environment variable."""

from config.settings import SETTINGS, Setting, load_settings

__all__ = ["SETTINGS", "Setting", "load_settings"]
