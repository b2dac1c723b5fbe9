"""IMDB: tokenizer, vocabulary from the training split, padding, the on-disk cache, multi-hot."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from data_fixtures import expect_imdb_counts, write_imdb

import dlcourse.data.imdb as imdb_module
from dlcourse.data import (
    DatasetError,
    TextData,
    Vocab,
    load_imdb,
    load_imdb_texts,
    multi_hot,
    tokenize,
)
from dlcourse.data.text import pad_sequences

REVIEWS = {
    ("train", "pos"): ["A great film.<br /><br />Great fun!", "Great acting, great story."],
    ("train", "neg"): ["A dull film... I don't like it.", "Dull, dull, dull."],
    ("test", "pos"): ["Great, simply wonderful!"],
    ("test", "neg"): ["Dull film."],
}


@pytest.fixture
def imdb_root(tmp_path, monkeypatch):
    write_imdb(tmp_path, REVIEWS)
    expect_imdb_counts(monkeypatch, REVIEWS)
    return tmp_path


def rows(data: TextData, split: str) -> list[tuple[str, int]]:
    x, y = (data.x_train, data.y_train) if split == "train" else (data.x_test, data.y_test)
    return sorted((data.vocab.decode(row), int(label)) for row, label in zip(x, y, strict=True))


def test_tokenizer_lowercases_drops_line_breaks_and_splits_punctuation():
    assert tokenize("Great fun!<br /><br />I DON'T know...") == [
        "great", "fun", "!", "i", "don't", "know", ".", ".", ".",
    ]  # fmt: skip


def test_vocabulary_comes_from_the_training_split_by_frequency(imdb_root):
    data = load_imdb(num_words=None, maxlen=20, root=imdb_root, download=False)
    itos = data.vocab.itos
    assert itos[:2] == ["<pad>", "<unk>"]
    assert itos[2:6] == [".", "dull", "great", ","]  # 7, 4, 4 (tie: alphabetical), 3 times
    assert "wonderful" not in itos and "simply" not in itos  # test-only words
    assert data.vocab.encode("Simply great") == [1, 4]


def test_reviews_are_padded_at_the_start_and_keep_their_labels(imdb_root):
    data = load_imdb(num_words=None, maxlen=20, root=imdb_root)
    assert tuple(data.x_train.shape) == (4, 20) and data.x_train.dtype == torch.int64
    assert data.y_train.dtype == torch.int64 and data.classes == ["negative", "positive"]
    assert rows(data, "train") == [
        ("a dull film . . . i don't like it .", 0),
        ("a great film . great fun !", 1),
        ("dull , dull , dull .", 0),
        ("great acting , great story .", 1),
    ]
    assert rows(data, "test") == [("dull film .", 0), ("great , <unk> <unk> !", 1)]
    short = data.x_train[data.y_train == 1][0]
    assert short[0] == data.vocab.pad_id and short[-1] != data.vocab.pad_id


def test_num_words_and_maxlen_limit_ids_and_length(imdb_root):
    data = load_imdb(num_words=4, maxlen=3, root=imdb_root)
    assert len(data.vocab) == 4 and int(data.x_train.max()) < 4
    assert tuple(data.x_test.shape) == (2, 3)
    assert rows(data, "test") == [("<unk> <unk> <unk>", 1), ("dull <unk> .", 0)]


def test_text_data_encodes_new_text_like_the_training_data(imdb_root):
    data = load_imdb(num_words=None, maxlen=6, root=imdb_root)
    encoded = data.encode(["Great story!", "dull"])
    assert tuple(encoded.shape) == (2, 6)
    assert data.vocab.decode(encoded[0]) == "great story !"
    assert encoded[1].tolist() == [0, 0, 0, 0, 0, 3]


def test_second_load_uses_the_cache(imdb_root, monkeypatch):
    first = load_imdb(num_words=None, maxlen=10, root=imdb_root)
    cache = imdb_root / imdb_module.CACHE
    assert cache.is_file()
    assert [p.name for p in cache.parent.iterdir()] == [cache.name]  # no temporary file left

    def fail(text: str) -> list[str]:
        raise AssertionError("tokenized again although cached")

    monkeypatch.setattr(imdb_module, "tokenize", fail)
    again = load_imdb(num_words=5, maxlen=8, root=imdb_root)
    assert again.vocab.itos == first.vocab.itos[:5]
    assert tuple(again.x_train.shape) == (4, 8)


def test_cache_is_rebuilt_when_reviews_change_or_it_is_corrupt(imdb_root):
    load_imdb(root=imdb_root)
    positive = imdb_root / "aclImdb" / "train" / "pos"
    (positive / "1_7.txt").unlink()
    (positive / "99_9.txt").write_text("Wonderful!")
    assert "wonderful" in load_imdb(num_words=None, root=imdb_root).vocab.itos
    (imdb_root / imdb_module.CACHE).write_bytes(b"garbage")
    data = load_imdb(num_words=None, root=imdb_root)
    assert len(data.x_train) == 4 and "wonderful" in data.vocab.itos


def test_bad_arguments_are_explained(imdb_root):
    with pytest.raises(ValueError, match="num_words=2"):
        load_imdb(num_words=2, root=imdb_root)
    with pytest.raises(ValueError, match="maxlen=0"):
        load_imdb(maxlen=0, root=imdb_root)


def test_missing_imdb_without_download_says_what_to_place(tmp_path):
    with pytest.raises(DatasetError, match=r"aclImdb/train/pos/\*\.txt"):
        load_imdb(root=tmp_path, download=False)


def test_pad_sequences_pads_before_and_keeps_the_last_tokens():
    flat = np.array([5, 6, 7, 8, 9, 4], dtype=np.int32)
    out = pad_sequences(flat, np.array([1, 4, 0, 1]), maxlen=3)
    assert out.dtype == np.int64
    assert out.tolist() == [[0, 0, 5], [7, 8, 9], [0, 0, 0], [0, 0, 4]]


def test_multi_hot_marks_each_id_once_in_float32():
    x = torch.tensor([[0, 0, 2, 3, 3], [1, 4, 4, 4, 4]])
    out = multi_hot(x, num_words=6)
    assert out.dtype == torch.float32 and tuple(out.shape) == (2, 6)
    assert out.tolist() == [[0, 0, 1, 1, 0, 0], [0, 1, 0, 0, 1, 0]]
    assert torch.equal(multi_hot(x.numpy(), 6), out)


def test_multi_hot_rejects_ids_beyond_num_words():
    with pytest.raises(ValueError, match="num_words=4"):
        multi_hot(torch.tensor([[1, 4]]), num_words=4)


def test_vocab_round_trip():
    vocab = Vocab(["<pad>", "<unk>", "good", "movie", "!"])
    ids = vocab.encode("Good movie, really!")
    assert ids == [2, 3, 1, 1, 4]
    assert vocab.decode([0, 0, *ids]) == "good movie <unk> <unk> !"


def test_a_split_with_missing_reviews_is_not_taken_as_complete(tmp_path):
    write_imdb(tmp_path, {(split, label): ["One review."] for split, label in REVIEWS})
    assert imdb_module.SPEC.locate(tmp_path) is None  # 1 review per class, not 12,500
    with pytest.raises(DatasetError, match=r"not in the data directory"):
        load_imdb(root=tmp_path, download=False)


def test_folder_check_counts_reviews_per_class_and_split(imdb_root):
    assert imdb_module.SPEC.locate(imdb_root) == imdb_root / "aclImdb"
    (imdb_root / "aclImdb" / "test" / "neg" / "0_7.txt").unlink()
    assert imdb_module.SPEC.locate(imdb_root) is None


def test_a_cache_that_cannot_be_written_is_a_warning_and_the_data_loads(imdb_root):
    (imdb_root / "cache").write_text("a file where the cache folder should be")
    with pytest.warns(UserWarning, match="Could not write the IMDB token cache"):
        data = load_imdb(num_words=None, maxlen=20, root=imdb_root)
    assert len(data.x_train) == 4 and len(data.x_test) == 2


def test_raw_texts_come_in_load_imdbs_row_order(imdb_root):
    data = load_imdb(num_words=None, maxlen=50, root=imdb_root)
    texts, labels = load_imdb_texts("train", root=imdb_root)
    assert labels.tolist() == data.y_train.tolist()
    assert [" ".join(tokenize(t)) for t in texts] == [data.vocab.decode(r) for r in data.x_train]
    assert any("<br />" in t for t in texts)  # as written
    texts, labels = load_imdb_texts("test", 1, root=imdb_root)
    assert len(texts) == 1 and labels.tolist() == data.y_test[:1].tolist()
    with pytest.raises(ValueError, match="split"):
        load_imdb_texts("unsup", root=imdb_root)
