"""Segmentation helpers: losses, Dice, object detection scores, paired augmentation,
sub-pixel shifts.

Import from the submodules, e.g. ``from dlcourse.segmentation.metrics import dice``.
"""
