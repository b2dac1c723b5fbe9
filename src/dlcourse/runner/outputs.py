"""Cap the output one notebook cell keeps: its first and last part, with a note of what was cut.

A cell printing 100 MB would otherwise be held in memory several times over and written into
the executed ``.ipynb`` and its ``.html``. :class:`CappedClient` cuts as the outputs arrive,
so memory stays bounded while the cell streams.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from typing import Any

from nbclient import NotebookClient
from nbformat import NotebookNode
from nbformat.v4 import new_output, output_from_msg
from traitlets import Integer

DEFAULT_MAX_OUTPUT_MB = 5.0
_OUTPUT_TYPES = {"stream", "display_data", "execute_result", "error"}
# Counted on top of each output's characters, so that a flood of tiny outputs is capped too.
_OVERHEAD = 100


class _Tail:
    """One cell's outputs past its first half: the latest ones, within a size limit."""

    def __init__(self) -> None:
        self.head = 0  # size stored in the cell itself (the first half), overheads included
        self.overflow = False  # True once an output did not fit in the first half
        self.kept: deque[NotebookNode] = deque()
        self.size = 0  # of the kept outputs, overheads included
        self.cut = 0  # characters left out


class CappedClient(NotebookClient):
    """An nbclient ``NotebookClient`` that keeps at most ``max_output`` characters of output
    per cell (text, data such as base64 images, tracebacks): the first half as it arrives,
    and the last half, with a note on stderr between them saying how much was cut.

    Outputs past the first half wait in a bounded buffer and go into the cell when it ends
    (:meth:`finish_outputs`); :attr:`cut` then maps the cell's index to the characters cut.
    Not capped: outputs captured by ``ipywidgets.Output`` widgets, and display updates
    (``update_display_data``) of an output already kept.
    """

    max_output = Integer(
        int(DEFAULT_MAX_OUTPUT_MB * 1_000_000), help="characters of output kept per cell"
    ).tag(config=True)

    def __init__(self, nb: NotebookNode, km: Any = None, **kw: Any) -> None:
        super().__init__(nb, km, **kw)
        self.cut: dict[int, int] = {}
        self._tails: dict[int, _Tail] = {}
        self.clear_before_next_output = False  # nbclient sets it when a cell starts

    @property
    def _half(self) -> int:
        return max(1, self.max_output // 2)

    @property
    def _tail_limit(self) -> int:
        return max(1, self.max_output - self._half)

    @property
    def _slack(self) -> int:
        """How much further a cut may go to fall on a line end."""
        return min(self._half // 10, 10_000)

    async def async_execute_cell(
        self,
        cell: NotebookNode,
        cell_index: int,
        execution_count: int | None = None,
        store_history: bool = True,
    ) -> NotebookNode:
        """Run the cell as nbclient does, then put its kept tail into its outputs (also when
        the cell fails, times out or its kernel dies)."""
        try:
            return await super().async_execute_cell(
                cell, cell_index, execution_count, store_history
            )
        finally:
            self.finish_outputs(cell.get("outputs", []), cell_index)

    def output(
        self,
        outs: list[NotebookNode],
        msg: dict[str, Any],
        display_id: str | None,
        cell_index: int,
    ) -> NotebookNode | None:
        """Store an output message: in the cell while its first half has room, else in the
        bounded tail."""
        hooked = self.output_hook_stack[msg["parent_header"].get("msg_id")]
        if hooked or msg["msg_type"] not in _OUTPUT_TYPES:
            return super().output(outs, msg, display_id, cell_index)
        if self.clear_before_next_output:  # outs are cleared now: start this cell afresh
            self._tails.pop(cell_index, None)
        tail = self._tails.setdefault(cell_index, _Tail())
        size = output_size(msg["content"]) + _OVERHEAD
        if not tail.overflow and tail.head + size <= self._half:
            out = super().output(outs, msg, display_id, cell_index)
            tail.head += size
            return out
        if self.clear_before_next_output:
            outs[:] = []
            self.clear_display_id_mapping(cell_index)
            self.clear_before_next_output = False
        content = msg["content"]
        if msg["msg_type"] == "stream":  # the common flood: skip nbformat's validation
            out = NotebookNode(output_type="stream", name=content["name"], text=content["text"])
        else:
            out = output_from_msg(msg)
        if not tail.overflow:
            tail.overflow = True
            if out.output_type == "stream":
                out = self._split_head(out, outs, tail)
        self._add_to_tail(out, tail)
        return out

    def clear_output(self, outs: list[NotebookNode], msg: dict[str, Any], cell_index: int) -> None:
        """nbclient's ``clear_output``; an immediate clear also drops the kept tail."""
        hooked = self.output_hook_stack[msg["parent_header"].get("msg_id")]
        if not hooked and not msg["content"].get("wait"):
            self._tails.pop(cell_index, None)
        super().clear_output(outs, msg, cell_index)

    def finish_outputs(self, outs: list[NotebookNode], cell_index: int) -> None:
        """Append the cell's kept tail to ``outs``, after a note of how much was cut."""
        tail = self._tails.pop(cell_index, None)
        if tail is None or not tail.overflow:
            return
        if tail.cut:
            self.cut[cell_index] = tail.cut
            note = (
                f"\n[dlcourse run: {megabytes(tail.cut)} of this cell's output cut here; a cell "
                f"keeps its first and last {megabytes(self._half)} (--max-output-mb)]\n"
            )
            outs.append(new_output("stream", name="stderr", text=note))
        outs.extend(_joined(tail.kept))

    def _split_head(self, out: NotebookNode, outs: list[NotebookNode], tail: _Tail) -> NotebookNode:
        """Store the start of the first stream that does not fit in the cell (up to a line end
        where one is near), and return what the tail may keep of the rest, without copying
        the part in between."""
        text: str = out.text
        room = self._half - tail.head - _OVERHEAD
        end = 0
        if room > 0:
            end = text.rfind("\n", max(0, room - self._slack), room)
            end = room if end == -1 else end + 1
            outs.append(new_output("stream", name=out.name, text=text[:end]))
            tail.head += end + _OVERHEAD
        start = end
        if len(text) - end > self._tail_limit:
            start = max(end, self._line_start(text, len(text) - self._tail_limit))
        tail.cut += start - end
        out.text = text[start:]
        return out

    def _add_to_tail(self, out: NotebookNode, tail: _Tail) -> None:
        """Keep ``out`` among the latest outputs, dropping or trimming the oldest ones."""
        limit = self._tail_limit
        size = output_size(out)
        if out.output_type == "error" and size + _OVERHEAD > limit:
            out = _shortened_error(out, limit // 2)
            tail.cut += size - output_size(out)
            size = output_size(out)
        if out.output_type != "stream" and size + _OVERHEAD > limit:  # can never be kept
            tail.cut += size
            return
        tail.kept.append(out)
        tail.size += size + _OVERHEAD
        while tail.size > limit and tail.kept:
            first = tail.kept[0]
            chars = output_size(first)
            excess = tail.size - limit
            if first.output_type == "stream" and chars > excess:
                start = self._line_start(first.text, excess)
                if start < chars:
                    first.text = first.text[start:]
                    tail.size -= start
                    tail.cut += start
                    continue
            tail.kept.popleft()
            tail.size -= chars + _OVERHEAD
            tail.cut += chars

    def _line_start(self, text: str, at_least: int) -> int:
        """Where to cut the first ``at_least`` characters off ``text``: at a line start when
        one is near."""
        newline = text.find("\n", at_least - 1, at_least - 1 + self._slack)
        return at_least if newline == -1 else newline + 1


def output_size(output: Mapping[str, Any]) -> int:
    """Characters an output (or an output message's content) stores: a stream's text, or the
    data, metadata and traceback of the others."""
    if "text" in output and "data" not in output and isinstance(output["text"], str):
        return len(output["text"])
    parts = [output.get(key) for key in ("data", "metadata", "ename", "evalue", "traceback")]
    return _chars(parts)


def shortened(text: str, limit: int) -> str:
    """``text``, or its first ``limit`` characters and a note of how many were cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... [{len(text) - limit:,} characters cut]"


def _shortened_error(out: NotebookNode, limit: int) -> NotebookNode:
    """An error output within about ``limit`` characters: its message and the ends of its
    traceback lines cut, and only the last lines kept when there are many."""
    line_limit = max(100, limit // 20)
    lines = [shortened(line, line_limit) for line in out.traceback[-10:]]
    evalue = shortened(out.evalue, line_limit)
    return new_output("error", ename=out.ename, evalue=evalue, traceback=lines)


def megabytes(chars: int) -> str:
    """``95.00 MB`` (a million characters to the MB)."""
    return f"{chars / 1_000_000:.2f} MB"


def _chars(item: object) -> int:
    if isinstance(item, str):
        return len(item)
    if isinstance(item, Mapping):
        return sum(len(str(key)) + _chars(value) for key, value in item.items())
    if isinstance(item, (list, tuple)):
        return sum(_chars(value) for value in item)
    return 0 if item is None else 8


def _joined(outputs: Iterable[NotebookNode]) -> list[NotebookNode]:
    """``outputs`` with neighbouring streams of the same name merged into one output."""
    merged: list[NotebookNode] = []
    pieces: list[str] = []
    for out in outputs:
        last = merged[-1] if merged else None
        if last is not None and _same_stream(last, out):
            pieces.append(out.text)
            continue
        if pieces:
            merged[-1].text = "".join(pieces)
        merged.append(out)
        pieces = [out.text] if out.output_type == "stream" else []
    if pieces:
        merged[-1].text = "".join(pieces)
    return merged


def _same_stream(one: NotebookNode, other: NotebookNode) -> bool:
    return one.output_type == other.output_type == "stream" and one.name == other.name
