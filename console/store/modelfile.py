"""Serialise a fitted model with skops, byte-for-byte reproducibly, so its sha256 names it."""

from __future__ import annotations

import io
import json
import re
import zipfile
from typing import Any

# skops names arrays and memo entries after id(obj) and stamps the zip with the current time, so
# two dumps of one model differ. Renumbering the ids in order of appearance and fixing the
# timestamps makes equal models give equal bytes: re-exporting the same model is then a no-op.
_ID_IN_SCHEMA = re.compile(r'("__id__": )(\d+)|("file": ")(\d+)(\.\w+")')
_ID_MEMBER = re.compile(r"(\d+)(\.\w+)")
_EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip entry can hold
SCHEMA = "schema.json"


def dumps(model: Any) -> bytes:
    """The model as canonical skops bytes (deflated: trees compress about 5x)."""
    import skops.io

    return canonical(skops.io.dumps(model))


def untrusted_types(data: bytes) -> list[str]:
    """Types skops will not load unless the caller trusts them by name (they are listed)."""
    import skops.io

    return list(skops.io.get_untrusted_types(data=data))


def loads(data: bytes, trusted: list[str] | None = None) -> Any:
    """Load skops bytes, trusting only the named types."""
    import skops.io

    return skops.io.loads(data, trusted=trusted)


def canonical(data: bytes) -> bytes:
    """The same skops archive with object ids renumbered and fixed timestamps."""
    source = zipfile.ZipFile(io.BytesIO(data))
    schema = source.read(SCHEMA).decode()
    numbers: dict[str, str] = {}

    def renumber(old: str) -> str:
        return numbers.setdefault(old, str(len(numbers) + 1))

    def replace(match: re.Match[str]) -> str:
        if match[1]:
            return match[1] + renumber(match[2])
        return match[3] + renumber(match[4]) + match[5]

    schema = _ID_IN_SCHEMA.sub(replace, schema)
    json.loads(schema)  # still valid JSON, or we broke something: fail loudly here
    members: dict[str, bytes] = {SCHEMA: schema.encode()}
    for name in source.namelist():
        if name == SCHEMA:
            continue
        match = _ID_MEMBER.fullmatch(name)
        if match is None or match[1] not in numbers:
            raise ValueError(f"unexpected member {name!r} in the skops archive")
        members[numbers[match[1]] + match[2]] = source.read(name)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for name in sorted(members):
            info = zipfile.ZipInfo(name, date_time=_EPOCH)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            target.writestr(info, members[name], compresslevel=6)
    return out.getvalue()
