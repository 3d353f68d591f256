"""What can go wrong with the stored index, as exceptions every engine raises alike."""

REPAIR = "请运行 `qa index update` 从原文件重新嵌入（或 `qa index build --full` 全部重建）"


class IndexMissing(Exception):
    """No usable committed index at the path; `qa index build` makes one."""


class StoreUnavailable(IndexMissing):
    """The configured store cannot be reached or refused a request, so no index can be read from it."""


class IndexCorrupt(IndexMissing):
    """A file of the committed index cannot be read as written; rebuilding repairs it."""


class IndexWriteError(Exception):
    """The new index could not be written (a full disk, say); the committed one is untouched."""


class IndexBusy(Exception):
    """Another process is writing the index."""
