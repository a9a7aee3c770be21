"""The KPI exchange on object storage (the cluster profile's ``s3://exchange`` bucket).

``kho.exchange`` writes, verifies and indexes version folders on a local file system, where a
rename publishes a folder atomically. On object storage there is no rename, so an export works
on a local mirror of the bucket's ``ioc/`` prefix (under the state dir) and this module keeps
the two in step:

* :func:`pull` before an export: files that are new or of another size in the bucket are
  downloaded, files gone from the bucket (pruned elsewhere) are removed from the mirror;
* :func:`push` after it: version folders the bucket lacks are uploaded data files first and
  ``manifest.json`` last, so a reader that finds a manifest finds every file it lists (the
  manifest is the version's commit, as the folder rename is on disk); then ``latest.json``
  and ``index.json`` (each one PUT, atomic for readers); versions pruned locally are
  deleted from the bucket, manifest first.

A version already in the bucket is never uploaded again (versions are immutable). Only the
JSON pointers and whole new versions travel, so a run moves what it exported, not the history.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
POINTERS = ("latest.json", "index.json")


def filesystem():
    """A pyarrow S3 file system for the endpoint and keys in the environment (``KHO_S3_*``,
    ``AWS_*``), the same settings delta-rs and DuckDB use."""
    from pyarrow import fs

    from kho.storage import s3_settings_from_env

    s3 = s3_settings_from_env()
    if s3 is None:
        raise RuntimeError("the exchange is on object storage but KHO_S3_ENDPOINT is not set; "
                           "`bash infra/local/minio.sh env` prints the local MinIO's settings")
    parts = urlsplit(s3.endpoint)
    return fs.S3FileSystem(access_key=s3.access_key_id, secret_key=s3.secret_access_key, region=s3.region,
                           endpoint_override=parts.netloc, scheme=parts.scheme,
                           force_virtual_addressing=not s3.path_style)


def bucket_path(uri: str) -> str:
    """``s3://bucket/prefix`` -> ``bucket/prefix`` (pyarrow's form)."""
    parts = urlsplit(uri)
    if parts.scheme not in ("s3", "s3a") or not parts.netloc:
        raise ValueError(f"not an s3:// URI: {uri!r}")
    return f"{parts.netloc}/{parts.path.strip('/')}".rstrip("/")


def list_files(filesystem, base: str) -> dict[str, int]:
    """Every file under ``base`` (pyarrow path) by its path relative to ``base``, with its size."""
    from pyarrow import fs

    info = filesystem.get_file_info(base)
    if info.type == fs.FileType.NotFound:
        return {}
    selector = fs.FileSelector(base, recursive=True, allow_not_found=True)
    return {i.path[len(base) + 1:]: i.size for i in filesystem.get_file_info(selector) if i.type == fs.FileType.File}


def list_dirs(filesystem, base: str) -> list[str]:
    """The names of the folders directly under ``base``."""
    from pyarrow import fs

    selector = fs.FileSelector(base, recursive=False, allow_not_found=True)
    return sorted(i.base_name for i in filesystem.get_file_info(selector) if i.type == fs.FileType.Directory)


def _local_files(local: Path) -> dict[str, int]:
    if not local.is_dir():
        return {}
    return {p.relative_to(local).as_posix(): p.stat().st_size for p in local.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(local).parts)}


def _download(filesystem, remote: str, local: Path) -> None:
    local.parent.mkdir(parents=True, exist_ok=True)
    tmp = local.with_name(f".{local.name}.part")
    with filesystem.open_input_stream(remote) as src, tmp.open("wb") as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)
    tmp.replace(local)


def _upload(filesystem, local: Path, remote: str) -> None:
    if filesystem.type_name == "local":  # object stores have no folders to create
        filesystem.create_dir(remote.rsplit("/", 1)[0], recursive=True)
    with local.open("rb") as src, filesystem.open_output_stream(remote) as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)


@dataclass
class Sync:
    """What one pull or push moved (paths relative to the ``ioc/`` prefix)."""

    copied: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)


def pull(filesystem, remote: str, local: Path) -> Sync:
    """Make the mirror ``local`` hold what the bucket holds under ``remote``."""
    have, want = _local_files(local), list_files(filesystem, remote)
    done = Sync()
    for rel, size in sorted(want.items()):
        if have.get(rel) != size:
            _download(filesystem, f"{remote}/{rel}", local / rel)
            done.copied.append(rel)
    for rel in sorted(set(have) - set(want)):
        (local / rel).unlink(missing_ok=True)
        done.deleted.append(rel)
    _remove_empty_dirs(local)
    return done


def push(filesystem, local: Path, remote: str) -> Sync:
    """Publish the mirror's new versions and pointers to the bucket; drop versions pruned locally."""
    have, there = _local_files(local), list_files(filesystem, remote)
    done = Sync()
    new_versions = sorted({_version_dir(rel) for rel in have if _version_dir(rel)} -
                          {_version_dir(rel) for rel in there if rel.endswith("/" + MANIFEST)})
    for folder in new_versions:
        files = sorted(rel for rel in have if rel.startswith(folder + "/"))
        for rel in sorted(files, key=lambda r: r.endswith("/" + MANIFEST)):  # the manifest last: the commit
            _upload(filesystem, local / rel, f"{remote}/{rel}")
            done.copied.append(rel)
    for rel in sorted(have):
        if rel.rsplit("/", 1)[-1] in POINTERS:
            local_bytes = (local / rel).read_bytes()
            if there.get(rel) != len(local_bytes) or _read(filesystem, f"{remote}/{rel}") != local_bytes:
                _upload(filesystem, local / rel, f"{remote}/{rel}")
                done.copied.append(rel)
    gone = sorted({_version_dir(rel) for rel in there if _version_dir(rel)} - {_version_dir(rel) for rel in have})
    for folder in gone:
        files = sorted((rel for rel in there if rel.startswith(folder + "/")),
                       key=lambda r: not r.endswith("/" + MANIFEST))  # the manifest first: uncommit
        for rel in files:
            filesystem.delete_file(f"{remote}/{rel}")
            done.deleted.append(rel)
    return done


def _read(filesystem, remote: str) -> bytes | None:
    try:
        with filesystem.open_input_stream(remote) as src:
            return src.read()
    except (FileNotFoundError, OSError):
        return None


def _version_dir(rel: str) -> str | None:
    """``ioc_citizen/v3/x.csv`` -> ``ioc_citizen/v3``; None for files outside a version folder."""
    parts = rel.split("/")
    if len(parts) >= 3 and parts[1].startswith("v") and parts[1][1:].isdigit():
        return "/".join(parts[:2])
    return None


def _remove_empty_dirs(top: Path) -> None:
    if not top.is_dir():
        return
    for folder in sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: -len(p.parts)):
        if not any(folder.iterdir()):
            folder.rmdir()


def describe(sync: Sync, what: str) -> str:
    return f"{what}: {len(sync.copied)} file(s) copied, {len(sync.deleted)} removed"


__all__: Iterable[str] = ("filesystem", "bucket_path", "list_files", "list_dirs", "pull", "push", "Sync")
