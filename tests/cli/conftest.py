"""The small spoken dataset and settings file the `train` commands are tested with."""

from __future__ import annotations

import pytest
import yaml

from voicelab.selftest.tiny import build_dataset, tiny_config


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    """The tiny model's spoken dataset, made once per test module."""
    return build_dataset(tmp_path_factory.mktemp("datasets") / "joe")


@pytest.fixture
def settings_file(tmp_path, dataset):
    """The tiny model's settings as a `--config` file (the dataset given on the command line)."""
    settings = tiny_config(dataset)
    del settings["dataset"]
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return path
