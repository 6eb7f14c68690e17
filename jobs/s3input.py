"""``bootstrap.source.path: s3://bucket/prefix``: the event objects, downloaded into the run's staging directory.

The key is one object, or a "directory" whose objects (the event files among them, as for a local directory)
are downloaded under their relative keys, so the replay order is a local copy's. Every message names the
object, ``s3://bucket/key:line``, never the copy.
"""

from __future__ import annotations

from pathlib import Path

from feature_ops.inputfiles import EVENT_SUFFIXES, is_event_file
from feature_ops.rejects import InputError
from serving import s3


class S3Input:
    """``path``: the local copy to read (a file or a directory); ``name(file)``: the URI a copied file came from."""

    def __init__(self, uri: str, directory: Path) -> None:
        self.uri = uri.rstrip("/")
        self.names: dict[Path, str] = {}
        single = s3.head(self.uri)
        objects = [single] if single is not None else s3.listing(self.uri + "/")
        if not objects:
            raise InputError(f"input path {self.uri} does not exist (no object at or under it)")
        if single is not None:
            self.path = directory / Path(s3.split(self.uri)[1]).name
            self._download(self.uri, self.path)
            return
        self.path = directory
        for info in objects:
            relative = info.uri[len(self.uri) + 1 :]
            if is_event_file(Path(relative)):
                self._download(info.uri, directory / relative)
        if not self.names:
            raise InputError(f"input directory {self.uri} holds no event files ({', '.join(EVENT_SUFFIXES)})")

    def _download(self, uri: str, path: Path) -> None:
        s3.download(uri, path)
        self.names[path] = uri

    def name(self, file: Path) -> str:
        return self.names.get(file, str(file))
