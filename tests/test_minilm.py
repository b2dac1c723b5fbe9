"""The transformer of ``08_NLP_Text/00``: its library copy equals the notebook's cells, attention
matches PyTorch's, masks work, the strict load refuses bad checkpoints, the tokenizer's ids and
the published similarities hold with the real files, and the data entry works offline."""

from __future__ import annotations

import ast
import re
import textwrap
from pathlib import Path

import nbformat
import pytest
import torch
import torch.nn.functional as F
from data_fixtures import block_network

from dlcourse import minilm
from dlcourse.config import data_dir
from dlcourse.data import DatasetError, minilm_files
from dlcourse.data.minilm import REMOTE, REVISION, SPEC
from dlcourse.runner.execute import execute_notebook

NOTEBOOK = (
    Path(__file__).resolve().parents[1] / "PyTorch/08_NLP_Text/00_text_classification_welcome.ipynb"
)
COPIED = [
    "attention",
    "MultiHeadSelfAttention",
    "Block",
    "Embeddings",
    "Encoder",
    "mean_pool",
    "RENAMES",
    "UNUSED",
    "checkpoint_name",
    "load_strict",
    "encode",
]


def top_level(source: str) -> dict[str, str]:
    """Name -> source of each top-level function, class or single-name assignment."""
    found = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            found[node.name] = ast.get_source_segment(source, node)
        elif isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            found[node.targets[0].id] = ast.get_source_segment(source, node)
    return found


def notebook_definitions() -> dict[str, str]:
    nb = nbformat.read(NOTEBOOK, as_version=4)
    found: dict[str, str] = {}
    for cell in nb.cells:
        if cell.cell_type == "code" and not re.search(r"^\s*%", cell.source, flags=re.M):
            found.update(top_level(cell.source))
    return found


@pytest.mark.parametrize("name", COPIED)
def test_library_copy_equals_the_notebook_cell(name):
    library = top_level(Path(minilm.__file__).read_text(encoding="utf-8"))
    assert notebook_definitions()[name] == library[name]


def test_attention_matches_scaled_dot_product_attention():
    torch.manual_seed(0)
    q, k, v = torch.randn(3, 2, 4, 7, 16).unbind(0)
    mask = torch.tensor([[1] * 7, [1] * 4 + [0] * 3], dtype=torch.bool)[:, None, None, :]
    for m in (None, mask):
        ours, weights = minilm.attention(q, k, v, m)
        theirs = F.scaled_dot_product_attention(q, k, v, attn_mask=m)
        torch.testing.assert_close(ours, theirs, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(weights.sum(-1), torch.ones(2, 4, 7))


def test_masked_positions_get_zero_weight_and_change_nothing():
    torch.manual_seed(0)
    mha = minilm.MultiHeadSelfAttention(32, 4).eval()
    x = torch.randn(1, 5, 32)
    alone = mha(x, torch.ones(1, 5, dtype=torch.bool))
    padded = torch.cat([x, 1e3 * torch.randn(1, 3, 32)], dim=1)
    out = mha(padded, torch.tensor([[True] * 5 + [False] * 3]))
    assert mha.last_weights is not None
    assert mha.last_weights[..., 5:].abs().max().item() == 0.0
    torch.testing.assert_close(out[:, :5], alone, atol=1e-5, rtol=1e-5)
    pooled = minilm.mean_pool(padded, torch.tensor([[True] * 5 + [False] * 3]))
    torch.testing.assert_close(pooled, x.mean(dim=1))


def test_heads_must_divide_the_width():
    with pytest.raises(ValueError, match="multiple of heads"):
        minilm.MultiHeadSelfAttention(30, 4)


def small_encoder() -> minilm.Encoder:
    return minilm.Encoder(vocab=50, dim=8, layers=2, heads=2, hidden=16, max_len=16)


def checkpoint_of(model: torch.nn.Module) -> dict[str, torch.Tensor]:
    """The model's tensors under BERT's names, with the tensors BERT has and we leave out."""
    tensors = {minilm.checkpoint_name(k): v.clone() for k, v in model.state_dict().items()}
    tensors["pooler.dense.weight"] = torch.zeros(8, 8)
    tensors["pooler.dense.bias"] = torch.zeros(8)
    tensors["embeddings.position_ids"] = torch.arange(16)[None]
    return tensors


def test_strict_load_copies_every_tensor():
    torch.manual_seed(0)
    source, target = small_encoder(), small_encoder()
    names = minilm.load_strict(target, checkpoint_of(source))
    assert len(names) == len(source.state_dict())
    assert "encoder.layer.1.attention.self.query.weight" in names
    for k, v in source.state_dict().items():
        assert torch.equal(target.state_dict()[k], v)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"drop": "encoder.layer.1.output.dense.bias"}, r"missing \['encoder.layer.1.output"),
        ({"set": ("embeddings.word_embeddings.weight", (51, 8))}, r"misshapen.*\(51, 8\)"),
        ({"set": ("encoder.layer.0.extra.weight", (2,))}, r"unexpected \['encoder.layer.0.extra"),
    ],
)
def test_strict_load_refuses_a_missing_misshapen_or_unknown_tensor(change, message):
    torch.manual_seed(0)
    tensors = checkpoint_of(small_encoder())
    if "drop" in change:
        del tensors[change["drop"]]
    else:
        name, shape = change["set"]
        tensors[name] = torch.zeros(shape)
    target = small_encoder()
    before = {k: v.clone() for k, v in target.state_dict().items()}
    with pytest.raises(ValueError, match=message):
        minilm.load_strict(target, tensors)
    assert all(torch.equal(target.state_dict()[k], v) for k, v in before.items())


def real_folder() -> Path:
    root = data_dir()
    if SPEC.locate(root) is None:
        pytest.skip(f"all-MiniLM-L6-v2 is not in {root} (run ../shared/data/provision.py)")
    return root / SPEC.folder


@pytest.mark.realdata
def test_tokenizer_ids_for_a_fixed_sentence():
    _, tokenizer = minilm.load_minilm(real_folder())
    ids, mask = minilm.encode(tokenizer, ["Don't watch this unwatchable film!", "A gem."], 128)
    expected = [101, 2123, 1005, 1056, 3422, 2023, 4895, 18866, 3085, 2143, 999, 102]
    assert ids[0].tolist() == expected
    assert ids[1].tolist() == [101, 1037, 17070, 1012, 102] + [0] * 7
    assert mask.sum(1).tolist() == [12, 5]
    cut, _ = minilm.encode(tokenizer, ["Don't watch this unwatchable film!"], 6)
    assert cut[0].tolist() == [101, 2123, 1005, 1056, 3422, 102]


@pytest.mark.realdata
def test_real_weights_reproduce_the_published_similarities():
    with pytest.MonkeyPatch.context() as mp:
        block_network(mp)
        model, tokenizer = minilm.load_minilm(minilm_files())
    texts = ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."]
    ids, mask = minilm.encode(tokenizer, texts, 256)
    with torch.no_grad():
        e = F.normalize(minilm.mean_pool(model(ids, mask), mask), dim=-1)
    similarity = (e @ e.T)[[0, 0, 1], [1, 2, 2]]
    torch.testing.assert_close(
        similarity, torch.tensor([0.6660, 0.1046, 0.1411]), atol=1e-4, rtol=0
    )


def fake_copy(root: Path) -> Path:
    """Files of the published sizes (their content is not read by the data entry)."""
    folder = root / SPEC.folder
    folder.mkdir(parents=True)
    for remote in REMOTE:
        with open(folder / remote.name, "wb") as fh:
            fh.truncate(remote.size)
    return folder


def test_data_entry_uses_a_local_copy_without_network(tmp_path, monkeypatch):
    folder = fake_copy(tmp_path)
    block_network(monkeypatch)
    assert minilm_files(tmp_path) == folder
    assert minilm_files(tmp_path, download=False) == folder


def test_data_entry_without_a_copy_says_where_to_put_the_files(tmp_path, monkeypatch):
    with pytest.raises(DatasetError) as err:
        minilm_files(tmp_path, download=False)
    assert "all-MiniLM-L6-v2/model.safetensors" in str(err.value)
    assert str(tmp_path) in str(err.value)
    block_network(monkeypatch, strict=False)
    with pytest.raises(DatasetError, match="Could not download") as err:
        minilm_files(tmp_path)
    assert "huggingface.co/sentence-transformers/all-MiniLM-L6-v2/resolve/" in str(err.value)
    assert "all-MiniLM-L6-v2/tokenizer.json" in str(err.value)


def test_a_truncated_copy_is_not_complete(tmp_path):
    folder = fake_copy(tmp_path)
    with open(folder / "model.safetensors", "r+b") as fh:
        fh.truncate(1000)
    with pytest.raises(DatasetError):
        minilm_files(tmp_path, download=False)


def test_remote_files_are_pinned_and_hashed():
    assert REVISION == "1110a243fdf4706b3f48f1d95db1a4f5529b4d41"
    for remote in REMOTE:
        (url,) = remote.urls
        assert f"/resolve/{REVISION}/" in url
        assert re.fullmatch(r"sha256:[0-9a-f]{64}", remote.known_hash)


@pytest.mark.notebooks
def test_solutions_run_after_the_notebook(tmp_path):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    (details,) = re.findall(r"<details>(.*?)</details>", text, flags=re.S)
    blocks = re.findall(r"```python\n(.*?)\n *```", details, flags=re.S)
    assert len(blocks) == 3
    nb.cells += [nbformat.v4.new_code_cell(textwrap.dedent(block)) for block in blocks]
    path = tmp_path / NOTEBOOK.name
    nbformat.write(nb, path)
    run = execute_notebook(path, quick=True, timeout=600)
    assert run.error is None, run.error
