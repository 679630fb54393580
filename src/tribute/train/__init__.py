"""Training: token data (``data``), the shared loop (``loop``), and ``pretrain``.

Import the submodules directly (``from tribute.train.loop import train``); this package
imports nothing at load time so that ``tribute --help`` stays torch-free.
"""
