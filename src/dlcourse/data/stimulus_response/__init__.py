"""Stimulus → response recordings: a simulator that writes them as CSV files, and the reader.

Layout of one recording (``<name>.csv``): no header, column 0 the stimulus, columns 1..N the
responses of ROI1..ROIN, one row per imaging frame. :func:`load_recordings` reads a folder of
such files (your own recordings too) and crops rows 128:1536.
"""

from dlcourse.data.stimulus_response.experiment import (
    PLAN,
    UNSEEN_KIND,
    load_simulated,
    recording_names,
    simulate_experiment,
    simulate_tables,
    simulated_folder,
)
from dlcourse.data.stimulus_response.files import (
    CROP,
    Recording,
    RecordingError,
    load_recordings,
    read_recording,
    read_table,
    write_recording,
)
from dlcourse.data.stimulus_response.simulate import (
    STIMULUS_KINDS,
    Roi,
    make_rois,
    make_stimulus,
    roi_signal,
    simulate_recording,
)
from dlcourse.data.stimulus_response.split import split_recordings

__all__ = [
    "CROP",
    "PLAN",
    "STIMULUS_KINDS",
    "UNSEEN_KIND",
    "Recording",
    "RecordingError",
    "Roi",
    "load_recordings",
    "load_simulated",
    "make_rois",
    "make_stimulus",
    "read_recording",
    "read_table",
    "recording_names",
    "roi_signal",
    "simulate_experiment",
    "simulate_recording",
    "simulate_tables",
    "simulated_folder",
    "split_recordings",
    "write_recording",
]
