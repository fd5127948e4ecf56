"""Scrapy settings of the project (``scrapy.cfg`` points here).

Archive defaults live in ``settings/base.py``; environment overrides are applied
once, below, through ``settings/env.py``. Scrapy's own settings are derived from
them so that one variable governs both sides.
"""

from __future__ import annotations

from settings.base import *  # noqa: F403
from settings.env import overrides_from_env

globals().update(overrides_from_env())

BOT_NAME = "cited-archive"
SPIDER_MODULES = ["crawler.spiders"]
NEWSPIDER_MODULE = "crawler.spiders"
