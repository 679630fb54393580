"""Corpus ingestion: any folder of songs → a clean, de-duplicated, family-split corpus."""

from tribute.corpus.build import BuildConfig, build
from tribute.corpus.info import info_text
from tribute.corpus.store import SPLITS, Corpus

__all__ = ["SPLITS", "BuildConfig", "Corpus", "build", "info_text"]
