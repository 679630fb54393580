"""The dependency warnings tribute silences, in one place, and why each is harmless.

A user reads a wall of ``FutureWarning`` lines as errors; these come from the libraries'
internals, not from anything the user asked (seen with transformers 5.24, PEFT 0.21):

- ``is_gradient_checkpointing`` is deprecated: PEFT asks transformers the old name on every
  LoRA wrap; tribute never turns gradient checkpointing on.
- ``past_key_values`` is deprecated: the name of the cache argument changed in transformers 5.2x;
  tribute passes the cache by the current name, and ``generate()`` still uses the old one inside.
- ``Setting save_embedding_layers to True``: PEFT notices the grown embedding (a fine-tuned style
  token) and saves it, which is what tribute wants.
"""

from __future__ import annotations

import warnings

HARMLESS = (
    (FutureWarning, r".*is_gradient_checkpointing.*"),
    (FutureWarning, r".*`past_key_values` is deprecated.*"),
    (UserWarning, r".*save_embedding_layers.*"),
)


def quiet_dependencies() -> None:
    """Filter the known harmless dependency warnings and transformers' own deprecation log
    lines for the cache argument. Idempotent: a filter already in place moves to the front, so
    this holds even after ``warnings.catch_warnings()`` restored an older filter list."""
    for category, message in HARMLESS:
        warnings.filterwarnings("ignore", message=message, category=category)
    import logging

    logging.getLogger("transformers.utils.generic").setLevel(logging.ERROR)
