"""TensorBoard event files, read record by record into numpy arrays (no TensorFlow).

An event file is a sequence of TFRecords (8-byte length, its masked CRC-32C, the serialized
`Event` proto, the data's masked CRC-32C). `EventAccumulator`, TensorBoard's own reader, builds
one Python object per event and checks the CRCs in pure Python: a million scalars took 34 s and
their objects. This reader frames the records itself, block by block (a few MB at a time), checks
both CRCs with a table-driven CRC-32C vectorised over the block's records, and decodes the
records numpy-wide:

- the layouts torch's `SummaryWriter` (and tensorboardX) write for a scalar, `simple_value`
  or (``new_style=True``) a rank-0 float/double tensor of the "scalars" plugin, are matched
  byte for byte on every record of a block at once, so a scalar costs no Python object;
- every other record (the file version, session logs, histograms, images, summaries of several
  values, other writers' layouts) goes through the `Event` proto parser one by one, and its
  scalars are kept the same way: `simple_value`, or a one-element numeric tensor of a tag whose
  metadata names the "scalars" plugin (metadata comes with the tag's first event only, in TF2).

What TensorBoard shows is kept: every scalar (no reservoir sampling), NaN and inf as logged, the
files of a folder in name order, and its purge of orphaned data, so a run restarted from a
checkpoint is read as TensorBoard plots it: with `file_version` >= 2 a `SessionLog.START` at
step S drops the earlier points at steps >= S; without a file version an event whose step goes
back drops the earlier points of its tags at steps >= its step. A tag holding both
`simple_value` points and scalar tensors keeps the `simple_value` ones (as before, through the
accumulator's SCALARS).

Damage is read around, not raised: a file cut short (a run killed mid-write leaves half a
record) is read up to the cut; a record whose length fails its CRC ends the file's reading there
(the framing is lost); a record whose data fails its CRC, or that does not parse, is skipped.
Each is a note on the run. Records longer than `_CRC_MAX` bytes (images, graphs; never a scalar)
have their length checked but not their data.

Measured by benchmarks/logs_scale.py (2 shared CPU cores, tensorboard 2.21, protobuf upb): a run
of 1,000,000 steps logging three scalars per step (153 MB, 3M events) reads in 4.2 s, 1.4 s per
million points, with a traced peak of 105 MB (35 bytes a point: the arrays are 24); the
EventAccumulator took 30 s per million points and 2.5 times the memory. The Python loop that
frames the records is about a third of the time, the CRCs a quarter.
"""

from __future__ import annotations

import struct
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from advisor.logs.errors import LogsError, MissingExtra
from advisor.logs.run import LoggedRun, Series

_BLOCK = 1 << 20  # bytes read at a time; a record longer than this is read whole
_CRC_MAX = 4096  # data CRCs are checked on records up to this length
_TAG_MAX = 256  # longer tags (or odd layouts) go through the proto parser
_HEADER = struct.Struct("<Q")

# One Summary.Value after its tag, as torch's SummaryWriter writes a scalar with new_style=True:
# a tensor (dtype, packed float_val/double_val, no shape) then metadata naming "scalars".
_SCALARS_METADATA = bytes([0x4A, 0x0B, 0x0A, 0x09, 0x0A, 0x07]) + b"scalars"
_TENSOR_LAYOUTS = (  # (bytes before the value, value dtype, bytes after the value)
    (bytes([0x42, 0x08, 0x08, 0x01, 0x2A, 0x04]), "<f4", _SCALARS_METADATA),
    (bytes([0x42, 0x0C, 0x08, 0x02, 0x32, 0x08]), "<f8", _SCALARS_METADATA),
)


def is_event_file(path: Path) -> bool:
    return path.is_file() and "tfevents" in path.name


# --- CRC-32C (Castagnoli), masked as TFRecord stores it --------------------------------------

def _crc_tables() -> np.ndarray:
    """The CRC-32C byte table and the three more of slicing-by-4 (a word per step)."""
    table = np.arange(256, dtype=np.uint32)
    for _ in range(8):
        table = np.where(table & 1, (table >> 1) ^ np.uint32(0x82F63B78), table >> 1)
    tables = [table.astype(np.uint32)]
    for _ in range(3):
        prev = tables[-1]
        tables.append((prev >> 8) ^ tables[0][prev & 0xFF])
    return np.stack(tables)


_CRC = _crc_tables()


def masked_crc32c(buf: np.ndarray, starts: np.ndarray, lengths: np.ndarray) -> np.ndarray:
    """The masked CRC-32C of `buf[s:s+n]` for every (s, n), numpy-wide over the segments.

    Four bytes a pass (slicing-by-4), then the last 0 to 3 bytes one a pass. The segments are
    taken longest first, so a pass touches only the segments still running: the work is the
    total length, not the count times the longest.
    """
    order = np.argsort(-lengths, kind="stable")
    s, n = starts[order], lengths[order]
    crc = np.full(s.size, 0xFFFFFFFF, dtype=np.uint32)
    words = _numbers(buf, "<u4")
    t0, t1, t2, t3 = _CRC
    longest = int(n[0]) // 4 if n.size else 0
    running = np.searchsorted(-n, -4 * np.arange(1, longest + 1), side="right")  # n >= 4(k+1)
    for k in range(longest):
        m = running[k]
        c = crc[:m] ^ words[s[:m] + 4 * k]
        crc[:m] = t3[c & 0xFF] ^ t2[(c >> 8) & 0xFF] ^ t1[(c >> 16) & 0xFF] ^ t0[c >> 24]
    tail_at = s + 4 * (n // 4)
    for j in range(3):
        left = np.flatnonzero(n % 4 > j)
        if not left.size:
            break
        c = crc[left]
        crc[left] = t0[(c ^ buf[tail_at[left] + j]) & 0xFF] ^ (c >> 8)
    crc ^= np.uint32(0xFFFFFFFF)
    masked = ((crc >> 15) | (crc << 17)) + np.uint32(0xA282EAD8)
    out = np.empty_like(masked)
    out[order] = masked
    return out


def _length_crcs(buf: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """The masked CRC of each record's 8-byte length field: computed once per distinct length
    (a log has a handful), looked up for the rest."""
    lengths = _numbers(buf, "<u8")[starts - 12]
    distinct, inverse = np.unique(lengths, return_inverse=True)
    fields = np.ascontiguousarray(distinct.astype("<u8")).view(np.uint8)
    crcs = masked_crc32c(fields, 8 * np.arange(distinct.size), np.full(distinct.size, 8))
    return crcs[inverse.reshape(-1)]


# --- framing ---------------------------------------------------------------------------------

@dataclass
class _Block:
    """The whole records of one block: data offsets and lengths into `buf`, in file order."""

    buf: np.ndarray
    starts: np.ndarray
    lengths: np.ndarray


def _frame(data: bytes, limit: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Data offsets and lengths of the whole records in data[:limit], and where they end.

    The one loop over records in Python (each length says where the next record starts); it
    keeps only the offsets, the lengths follow from them."""
    ends = array("q")
    pos = 0
    unpack = _HEADER.unpack_from
    append = ends.append
    while pos + 12 <= limit:
        end = pos + 16 + unpack(data, pos)[0]
        if end > limit:
            break
        append(end)
        pos = end
    stops = np.frombuffer(ends, dtype=np.int64) if ends else np.empty(0, np.int64)
    starts = np.empty_like(stops)
    starts[:1] = 12
    starts[1:] = stops[:-1] + 12
    return starts, stops - starts - 4, pos


def _length_ok(data: bytes, pos: int) -> bool:
    """Whether the record at `pos` has its length's CRC right (`data` holds its 12 bytes)."""
    buf = np.frombuffer(data, dtype=np.uint8, count=pos + 12)
    crc = _length_crcs(buf, np.array([pos + 12]))[0]
    return int(crc) == struct.unpack_from("<I", data, pos + 8)[0]


def _damaged_length(path: Path, at: int, notes: list[str]) -> None:
    notes.append(f"{path.name}: the record at byte {at} has a damaged length (CRC mismatch); "
                 f"the {path.stat().st_size - at} bytes from there on were not read")


def _blocks(path: Path, notes: list[str]) -> Iterator[_Block]:
    """The file's records, a block at a time; damage ends the file or skips a record, with a
    note."""
    with path.open("rb") as f:
        carry = b""
        offset = 0  # file offset of carry[0]
        while True:
            chunk = f.read(_BLOCK)
            data = carry + chunk if carry else chunk
            starts, lengths, end = _frame(data, len(data))
            # The record at `end` does not fit: a damaged length, a record longer than the
            # block, or a file cut short.
            damaged = end + 12 <= len(data) and not _length_ok(data, end)
            if not starts.size and not damaged and chunk and end + 12 <= len(data):
                data += f.read(16 + _HEADER.unpack_from(data, 0)[0] - len(data))
                starts, lengths, end = _frame(data, len(data))
            if starts.size:
                buf = np.frombuffer(data, dtype=np.uint8)
                st, ln = starts, lengths
                stored = _numbers(buf, "<u4")[st - 4]
                bad = np.flatnonzero(_length_crcs(buf, st) != stored)
                if bad.size:
                    first = int(bad[0])
                    if first:
                        yield _checked(path, offset, _Block(buf, st[:first], ln[:first]), notes)
                    _damaged_length(path, offset + int(st[first]) - 12, notes)
                    return
                yield _checked(path, offset, _Block(buf, st, ln), notes)
            if damaged:
                _damaged_length(path, offset + end, notes)
                return
            if not chunk:  # end of file: what is left is a cut-short record
                if end < len(data):
                    notes.append(f"{path.name}: the file ends inside a record (its last "
                                 f"{len(data) - end} bytes, from byte {offset + end}): the "
                                 "writer stopped mid-write; the records before it were read")
                return
            carry = data[end:]
            offset += end


def _checked(path: Path, offset: int, block: _Block, notes: list[str]) -> _Block:
    """The block without the records whose data fails its CRC (noted)."""
    small = np.flatnonzero(block.lengths <= _CRC_MAX)
    if not small.size:
        return block
    st, ln = block.starts[small], block.lengths[small]
    stored = _numbers(block.buf, "<u4")[st + ln]
    bad = small[masked_crc32c(block.buf, st, ln) != stored]
    if not bad.size:
        return block
    notes.append(f"{path.name}: {bad.size} record(s) with damaged data (CRC mismatch) skipped, "
                 f"the first at byte {offset + int(block.starts[bad[0]]) - 12}")
    keep = np.ones(block.starts.size, dtype=bool)
    keep[bad] = False
    return _Block(block.buf, block.starts[keep], block.lengths[keep])


# --- decoding, numpy-wide for the common layouts ---------------------------------------------

def _at(buf: np.ndarray, idx: np.ndarray) -> np.ndarray:
    """buf[idx], with positions past the end reading as 0 (the caller checks bounds)."""
    return buf[np.minimum(idx, buf.size - 1)]


def _varint(buf: np.ndarray, pos: np.ndarray, ok: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Protobuf varints at `pos` (where `ok`): their values, the positions after them, and
    `ok` less the ones longer than 10 bytes."""
    value = np.zeros(pos.size, dtype=np.uint64)
    running = ok.copy()
    pos = pos.copy()
    for k in range(10):
        if not running.any():
            break
        byte = _at(buf, pos).astype(np.uint64)
        value[running] |= (byte[running] & np.uint64(0x7F)) << np.uint64(7 * k)
        pos[running] += 1
        running &= (byte & np.uint64(0x80)) != 0
    return value, pos, ok & ~running


def _numbers(buf: np.ndarray, dtype: str) -> np.ndarray:
    """`buf` seen as numbers of `dtype` starting at every byte (a strided view, no copy):
    `_numbers(buf, "<f8")[pos]` reads the doubles at the byte offsets `pos`."""
    size = np.dtype(dtype).itemsize
    return np.ndarray((max(buf.size - size + 1, 0),), dtype=dtype, buffer=buf, strides=(1,))


def _gather(buf: np.ndarray, pos: np.ndarray, width: int) -> np.ndarray:
    return buf[np.minimum(pos[:, None] + np.arange(width), buf.size - 1)]


@dataclass
class _Points:
    """Scalars of one tag in chunks: record number, step, value, wall time."""

    record: list[np.ndarray] = field(default_factory=list)
    step: list[np.ndarray] = field(default_factory=list)
    value: list[np.ndarray] = field(default_factory=list)
    wall: list[np.ndarray] = field(default_factory=list)

    def add(self, record, step, value, wall) -> None:
        self.record.append(np.asarray(record, np.int64))
        self.step.append(np.asarray(step, np.int64))
        self.value.append(np.asarray(value, np.float64))
        self.wall.append(np.asarray(wall, np.float64))

    def arrays(self) -> tuple[np.ndarray, ...]:
        """(record, step, value, wall) in record order; the chunks are let go field by field,
        so the peak is one field's copy over the chunks, not all four."""
        out = []
        for name in ("record", "step", "value", "wall"):
            chunks = getattr(self, name)
            out.append(chunks[0] if len(chunks) == 1 else np.concatenate(chunks))
            chunks.clear()
        rec = out[0]
        if rec.size > 1 and np.any(rec[1:] < rec[:-1]):  # slow-path points among fast ones
            order = np.argsort(rec, kind="stable")
            out = [a[order] for a in out]
        return tuple(out)


def _fast(scan: _Scan, block: _Block, first_record: int) -> np.ndarray:
    """Decode the block's records in the common scalar layouts; the mask of those decoded."""
    buf, start, end = block.buf, block.starts, block.starts + block.lengths
    n = start.size
    ok = block.lengths > 0
    has_wall = ok & (_at(buf, start) == 0x09)
    wall = np.zeros(n)
    if has_wall.any():
        wall[has_wall] = _numbers(buf, "<f8")[start[has_wall] + 1]
    pos = np.where(has_wall, start + 9, start)
    has_step = ok & (pos < end) & (_at(buf, pos) == 0x10)
    step, after, ok_step = _varint(buf, pos + 1, has_step)
    ok &= ~has_step | ok_step
    pos = np.where(has_step, after, pos)
    step = np.where(has_step, step, 0).view(np.int64)
    for field_key in (0x2A, 0x0A):  # Event.summary holding one Summary.value, to the end
        ok &= (pos < end) & (_at(buf, pos) == field_key)
        length, pos, ok = _varint(buf, pos + 1, ok)
        ok &= pos + length.astype(np.int64) == end
    ok &= (pos < end) & (_at(buf, pos) == 0x0A)
    tag_len, tag_at, ok = _varint(buf, pos + 1, ok)
    tag_len = tag_len.astype(np.int64)
    ok &= (tag_len > 0) & (tag_len <= _TAG_MAX)
    pos = tag_at + tag_len
    simple = ok & (pos + 5 == end) & (_at(buf, pos) == 0x15)
    kinds = [(simple, pos + 1, "<f4", scan.scalars)]
    for before, dtype, after_bytes in _TENSOR_LAYOUTS:
        width = len(before) + np.dtype(dtype).itemsize + len(after_bytes)
        cand = ok & ~simple & (pos + width == end)
        if cand.any():
            idx = np.flatnonzero(cand)
            head = _gather(buf, pos[idx], len(before))
            tail = _gather(buf, pos[idx] + width - len(after_bytes), len(after_bytes))
            match = ((head == np.frombuffer(before, np.uint8)).all(axis=1)
                     & (tail == np.frombuffer(after_bytes, np.uint8)).all(axis=1))
            hit = np.zeros(n, dtype=bool)
            hit[idx[match]] = True
            kinds.append((hit, pos + len(before), dtype, scan.tensors))
    decoded = np.zeros(n, dtype=bool)
    for mask, value_at, dtype, into in kinds:
        idx = np.flatnonzero(mask)
        if not idx.size:
            continue
        decoded[idx] = True
        values = _numbers(buf, dtype)[value_at[idx]]
        for tag, members in _group_tags(buf, tag_at[idx], tag_len[idx]):
            sel = idx[members]
            if into is scan.tensors:
                scan.plugins.setdefault(tag, "scalars")
            into.setdefault(tag, _Points()).add(first_record + sel, step[sel],
                                                values[members], wall[sel])
    return decoded


def _group_tags(buf: np.ndarray, at: np.ndarray, length: np.ndarray):
    """(tag, indices) for each distinct tag among the (at, length) byte ranges: the tag bytes of
    every record side by side, compared exactly (np.unique on the rows)."""
    width = int(length.max())
    rows = _gather(buf, at, width)
    rows[np.arange(width) >= length[:, None]] = 0
    keyed = np.concatenate([length.astype("<u2").view(np.uint8).reshape(-1, 2), rows], axis=1)
    keys = np.ascontiguousarray(keyed).view(np.dtype((np.void, width + 2))).reshape(-1)
    unique, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    for u in range(unique.size):
        i = first[u]
        tag = bytes(buf[at[i]:at[i] + length[i]]).decode("utf-8", errors="replace")
        yield tag, np.flatnonzero(inverse.reshape(-1) == u)


# --- the run ---------------------------------------------------------------------------------

@dataclass
class _Scan:
    """What the files of one run hold, as they are read in order."""

    scalars: dict[str, _Points] = field(default_factory=dict)
    tensors: dict[str, _Points] = field(default_factory=dict)
    plugins: dict[str, str] = field(default_factory=dict)  # tag -> plugin of its metadata
    purges: list[tuple[int, int, tuple[str, ...] | None]] = field(default_factory=list)
    other: set[str] = field(default_factory=set)  # kinds of non-scalar data seen
    notes: list[str] = field(default_factory=list)
    records: int = 0
    file_version: float | None = None
    latest_step: int = 0  # TensorBoard's most_recent_step, for files without a version
    unparsed: int = 0


def _tensor_scalar(proto) -> float | None:
    """A one-element numeric tensor's value, or None."""
    from tensorboard.util import tensor_util

    if any(d.size != 1 for d in proto.tensor_shape.dim):  # one value may fill a whole shape
        return None
    if len(proto.float_val) == 1:
        return float(proto.float_val[0])
    if len(proto.double_val) == 1:
        return float(proto.double_val[0])
    try:
        array = tensor_util.make_ndarray(proto)
    except Exception:  # an unknown dtype: not a scalar we can read
        return None
    if array.size != 1 or array.dtype.kind not in "fiub":
        return None
    return float(array.reshape(-1)[0])


def _file_version(text: str) -> float | None:
    try:
        return float(text.split(":", 1)[1])
    except (IndexError, ValueError):
        return None


def _slow(scan: _Scan, block: _Block, indices: np.ndarray, first_record: int,
          event_pb2) -> None:
    """The records the fast path left, one `Event` proto each."""
    for i in indices.tolist():
        start = int(block.starts[i])
        try:
            event = event_pb2.Event.FromString(block.buf[start:start + int(block.lengths[i])]
                                               .tobytes())
        except Exception:  # DecodeError; a damaged record that passed its CRC
            scan.unparsed += 1
            continue
        record = first_record + i
        kind = event.WhichOneof("what")
        if kind == "file_version":
            scan.file_version = _file_version(event.file_version)
        _maybe_purge(scan, event, kind, record)
        if kind == "summary":
            _summary(scan, event, record)
        elif kind in ("graph_def", "meta_graph_def", "tagged_run_metadata"):
            scan.other.add("graphs")


def _maybe_purge(scan: _Scan, event, kind: str | None, record: int) -> None:
    """TensorBoard's purge of orphaned data (EventAccumulator._MaybePurgeOrphanedData)."""
    if scan.file_version is not None and scan.file_version >= 2:
        if kind == "session_log" and event.session_log.status == event.session_log.START:
            scan.purges.append((record, event.step, None))
    elif event.step < scan.latest_step and kind == "summary":
        scan.purges.append((record, event.step, tuple(v.tag for v in event.summary.value)))
    else:
        scan.latest_step = event.step


def _summary(scan: _Scan, event, record: int) -> None:
    for value in event.summary.value:
        if value.HasField("metadata") and value.metadata.plugin_data.plugin_name:
            scan.plugins.setdefault(value.tag, value.metadata.plugin_data.plugin_name)
        which = value.WhichOneof("value")
        if which == "simple_value":
            scan.scalars.setdefault(value.tag, _Points()).add(
                [record], [event.step], [value.simple_value], [event.wall_time])
        elif which == "tensor":
            number = _tensor_scalar(value.tensor)
            if number is not None:
                scan.tensors.setdefault(value.tag, _Points()).add(
                    [record], [event.step], [number], [event.wall_time])
            else:
                scan.other.add(scan.plugins.get(value.tag) or "tensors")
        elif which is not None:
            scan.other.add({"histo": "histograms", "image": "images"}.get(which, which))


def _read_file(scan: _Scan, path: Path, event_pb2) -> None:
    for block in _blocks(path, scan.notes):
        first, count = scan.records, block.starts.size
        scan.records += count
        skip = 0
        if scan.file_version is None or scan.file_version < 2:
            # The file version comes first in a file: read it, then decide.
            _slow(scan, block, np.arange(1), first, event_pb2)
            skip = 1
        if scan.file_version is None or scan.file_version < 2:
            # TF1-era files: the legacy purge rule needs each event's step in order, so every
            # record goes through the proto parser (slower, and rare).
            _slow(scan, block, np.arange(skip, count), first, event_pb2)
            continue
        rest = _Block(block.buf, block.starts[skip:], block.lengths[skip:])
        decoded = _fast(scan, rest, first + skip)
        _slow(scan, block, skip + np.flatnonzero(~decoded), first, event_pb2)


def _series(scan: _Scan) -> dict[str, Series]:
    series: dict[str, Series] = {}
    dropped = 0
    tensor_tags = [t for t in scan.tensors if scan.plugins.get(t) == "scalars"]
    for tag, points in [*scan.scalars.items(),
                        *((t, scan.tensors[t]) for t in tensor_tags if t not in scan.scalars)]:
        rec, step, value, wall = points.arrays()
        keep = np.ones(rec.size, dtype=bool)
        for record, at_step, tags in scan.purges:
            if tags is None or tag in tags:
                keep &= ~((rec < record) & (step >= at_step))
        dropped += int(rec.size - keep.sum())
        if not keep.all():
            step, value, wall = step[keep], value[keep], wall[keep]
        if step.size:
            series[tag] = Series(tag, step, value, wall)
    if dropped:
        scan.notes.append(f"{dropped} point(s) dropped as TensorBoard drops them: logged before "
                          "a restart at a step the restarted run logged again")
    return series


def read_events(path: Path, name: str) -> LoggedRun:
    """One run from an event file or a folder of event files (TensorBoard's 'run')."""
    try:
        from tensorboard.compat.proto import event_pb2
    except ImportError:
        raise MissingExtra("tensorboard", "tensorboard", str(path),
                           "TensorBoard event files") from None
    files = [path] if path.is_file() else sorted(p for p in path.iterdir() if is_event_file(p))
    scan = _Scan()
    for file in files:
        _read_file(scan, file, event_pb2)
    if scan.unparsed:
        scan.notes.append(f"{scan.unparsed} record(s) that are not TensorBoard events skipped")
    series = _series(scan)
    if not series:
        seen = f"only {', '.join(sorted(scan.other))}" if scan.other else "no events at all"
        damage = f" ({'; '.join(scan.notes)})" if scan.notes else ""
        raise LogsError(f"{path}: the event file(s) hold no scalars ({seen}){damage}; "
                        "log the loss with SummaryWriter.add_scalar('train/loss', loss, step)")
    return LoggedRun(name=name, source="tensorboard", path=str(path), series=series,
                     notes=scan.notes)
