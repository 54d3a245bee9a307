"""Compiled Jinja templates kept for the life of the process.

Each series is rendered by a new :class:`~newsletter.render.Renderer` (the preview makes
one on every change), and the pages and the desk make an environment per language: each
new environment parsed and compiled every template again, the larger part of a render's
time. Jinja's bytecode cache, its documented way to skip that, keeps the compiled code here
in memory, keyed by the template's name and file and by the environment's options that
decide the code (delimiters, autoescape, finalize, extensions, gettext style). Jinja
compares the source's checksum on every load, so an edited template is compiled afresh.
"""

from __future__ import annotations

import threading
from typing import Any

import jinja2
from jinja2.bccache import Bucket


def _options(env: jinja2.Environment, name: str) -> tuple[Any, ...]:
    """What, besides the source, decides the code Jinja compiles a template to."""
    escape = env.autoescape(name) if callable(env.autoescape) else env.autoescape
    return (
        env.block_start_string,
        env.block_end_string,
        env.variable_start_string,
        env.variable_end_string,
        env.comment_start_string,
        env.comment_end_string,
        env.line_statement_prefix,
        env.line_comment_prefix,
        env.trim_blocks,
        env.lstrip_blocks,
        env.newline_sequence,
        env.keep_trailing_newline,
        bool(escape),
        getattr(env.finalize, "__qualname__", None),
        tuple(sorted(env.extensions)),
        getattr(env, "newstyle_gettext", False),
        env.optimized,
        env.is_async,
    )


class MemoryBytecodeCache(jinja2.BytecodeCache):
    def __init__(self) -> None:
        self._code: dict[str, bytes] = {}
        self._lock = threading.Lock()

    def get_bucket(
        self, environment: jinja2.Environment, name: str, filename: str | None, source: str
    ) -> Bucket:
        key = self.get_cache_key(name, filename) + repr(_options(environment, name))
        bucket = Bucket(environment, key, self.get_source_checksum(source))
        self.load_bytecode(bucket)
        return bucket

    def load_bytecode(self, bucket: Bucket) -> None:
        with self._lock:
            code = self._code.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)  # dropped by Jinja if the source changed

    def dump_bytecode(self, bucket: Bucket) -> None:
        code = bucket.bytecode_to_string()
        with self._lock:
            self._code[bucket.key] = code

    def clear(self) -> None:
        with self._lock:
            self._code.clear()


#: every environment of the process shares it
COMPILED = MemoryBytecodeCache()
