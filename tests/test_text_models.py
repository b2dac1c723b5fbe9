"""Text pipeline on hand-made text, and the text models' handling of padding."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from dlcourse.data.text import PAD_ID, UNK_ID, Vocab, pad_sequences, tokenize
from dlcourse.text_models import (
    AvgPoolClassifier,
    ConvClassifier,
    FastText,
    LSTMClassifier,
    bigram_ids,
    build,
    count_parameters,
    left_align,
    masked_mean,
    token_counts,
)

VOCAB = Vocab(["<pad>", "<unk>", "the", "movie", ".", "was", "great", "!", "don't", "boring"])


def padded(texts: list[str], maxlen: int) -> torch.Tensor:
    seqs = [VOCAB.encode(t) for t in texts]
    flat = np.array([i for s in seqs for i in s], dtype=np.int64)
    return torch.from_numpy(pad_sequences(flat, np.array([len(s) for s in seqs]), maxlen))


def test_tokenizer_handles_html_breaks_punctuation_and_apostrophes():
    text = "The movie was GREAT!<br /><br />Don't miss it... (really)"
    assert tokenize(text) == [
        "the", "movie", "was", "great", "!", "don't", "miss", "it", ".", ".", ".",
        "(", "really", ")",
    ]  # fmt: skip


def test_vocabulary_maps_unknown_words_to_unk_and_decodes_without_padding():
    ids = VOCAB.encode("The movie was dreadful. Boring!")
    assert ids == [2, 3, 5, UNK_ID, 4, 9, 7]
    assert VOCAB.decode([PAD_ID, PAD_ID, *ids]) == "the movie was <unk> . boring !"
    assert VOCAB.encode("") == []


def test_left_align_moves_padding_to_the_end_and_keeps_order():
    x = torch.tensor([[0, 0, 5, 6, 7], [1, 2, 3, 4, 5], [0, 0, 0, 0, 9], [0, 0, 0, 0, 0]])
    assert left_align(x).tolist() == [
        [5, 6, 7, 0, 0], [1, 2, 3, 4, 5], [9, 0, 0, 0, 0], [0, 0, 0, 0, 0],
    ]  # fmt: skip
    assert token_counts(x).tolist() == [3, 5, 1, 0]


def test_masked_mean_ignores_padding():
    vectors = torch.tensor([[[1.0, 2.0], [3.0, 4.0], [100.0, 100.0]]])
    mask = torch.tensor([[True, True, False]])
    assert masked_mean(vectors, mask).tolist() == [[2.0, 3.0]]
    assert masked_mean(vectors, torch.zeros(1, 3, dtype=torch.bool)).tolist() == [[0.0, 0.0]]


def test_masked_average_model_ignores_padding_and_unmasked_one_does_not():
    torch.manual_seed(0)
    texts = ["the movie was great !", "boring ."]
    masked = AvgPoolClassifier(len(VOCAB), dim=4, hidden=3, masked=True).eval()
    short, long = padded(texts, 6), padded(texts, 40)
    torch.testing.assert_close(masked(short), masked(long))
    plain = AvgPoolClassifier(len(VOCAB), dim=4, hidden=3, masked=False).eval()
    plain.load_state_dict(masked.state_dict())
    assert not torch.allclose(plain(short), plain(long))


def test_keras_avgpool_model_has_160289_parameters():
    assert count_parameters(AvgPoolClassifier(10_000, dim=16, hidden=16)) == 160_289


@pytest.mark.parametrize("bidirectional", [False, True])
def test_packed_lstm_equals_a_loop_over_single_unpadded_reviews(bidirectional):
    torch.manual_seed(0)
    model = LSTMClassifier(len(VOCAB), dim=5, hidden=4, bidirectional=bidirectional).eval()
    texts = ["the movie was great !", "boring .", "don't", "the the movie movie was boring ."]
    x = padded(texts, 12)
    batch = model(x)
    for i, text in enumerate(texts):
        alone = torch.tensor([VOCAB.encode(text)])  # one review, no padding at all
        torch.testing.assert_close(batch[i : i + 1], model(alone))
    assert batch.shape == (len(texts),)


def test_padded_lstm_with_masked_pooling_equals_the_packed_one():
    torch.manual_seed(0)
    packed = LSTMClassifier(len(VOCAB), dim=5, hidden=4).eval()
    padded_model = LSTMClassifier(len(VOCAB), dim=5, hidden=4, packed=False).eval()
    padded_model.load_state_dict(packed.state_dict())
    texts = ["the movie was great !", "boring .", "", "the the movie movie was boring ."]
    for maxlen in (7, 40):  # some reviews cut, then every review padded
        x = padded(texts, maxlen)
        torch.testing.assert_close(padded_model(x), packed(x), rtol=0, atol=1e-6)
    with pytest.raises(ValueError, match="bidirectional LSTM needs packed=True"):
        LSTMClassifier(len(VOCAB), bidirectional=True, packed=False)


def test_fasttext_bigrams_skip_padding_and_padding_leaves_the_output_unchanged():
    x = torch.tensor([[0, 0, 2, 3, 4]])
    ids = bigram_ids(x, num_words=10, buckets=7)
    assert ids[0, :2].tolist() == [PAD_ID, PAD_ID]
    assert all(10 <= i < 17 for i in ids[0, 2:].tolist())
    torch.manual_seed(0)
    model = FastText(len(VOCAB), dim=4, buckets=50).eval()
    texts = ["the movie was great !", "boring ."]
    torch.testing.assert_close(model(padded(texts, 6)), model(padded(texts, 30)))


def test_conv_model_gives_one_logit_per_review():
    model = ConvClassifier(len(VOCAB), dim=4, channels=3, kernel_size=3)
    assert model(padded(["the movie was great !", "boring ."], 8)).shape == (2,)


@pytest.mark.parametrize("architecture", ["avgpool", "lstm", "conv", "fasttext"])
def test_embeddings_start_small_as_in_keras(architecture):
    torch.manual_seed(0)
    model = build(architecture, num_words=500)
    table = next(m for m in model.modules() if isinstance(m, nn.Embedding | nn.EmbeddingBag))
    assert 0.045 < table.weight.abs().max() <= 0.05  # U(±0.05), not PyTorch's N(0, 1)


def test_build_names_the_known_architectures():
    assert isinstance(build("avgpool", num_words=12, dim=2, hidden=2), AvgPoolClassifier)
    with pytest.raises(ValueError, match="unknown architecture 'gpt'.*avgpool"):
        build("gpt")
