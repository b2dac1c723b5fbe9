"""Segmentation helpers: losses, object detection and its scores, the mitosis lessons' shared
cells, filter features, paired augmentation, sub-pixel shifts, a threshold baseline.

Import from the submodules, e.g. ``from dlcourse.segmentation.detection import match_points``.
"""
