"""Segmentation helpers: losses, metrics, object detection scores, tiling, paired augmentation.

Import from the submodules, e.g. ``from dlcourse.segmentation.metrics import dice``.
"""
