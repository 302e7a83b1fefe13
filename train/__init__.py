"""Command-line training scripts and their hyperparameters (see ``train/common.py``)."""
