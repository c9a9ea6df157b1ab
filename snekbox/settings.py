"""Deploy-time settings: defaults from config/snekbox.toml, overridden by SNEKBOX_* variables."""

from __future__ import annotations

import dataclasses
import functools
import importlib.resources
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path

from snekbox import limits

# config/ in a checkout, installed with the package as snekbox.config.
CONFIG_DIR = Path(str(importlib.resources.files("snekbox.config")))
DEFAULTS_FILE = CONFIG_DIR / "snekbox.toml"
ENV_PREFIX = "SNEKBOX_"
# Bytes a request body of pure ASCII holds per byte sent while it is parsed: the bytes, the
# text and the values parsed out of it.
BODY_BYTES_HELD = 3
# An answer held in memory until sent: up to 10 bytes per byte of output (the text, up to 4
# bytes a character, and its JSON, where \x01 becomes \u0001); its files are streamed.
ANSWER_BYTES_PER_OUTPUT_BYTE = 10
# How an on/off setting may be given in the environment.
SWITCH_WORDS = {"true": True, "yes": True, "on": True, "1": True}
SWITCH_WORDS |= {"false": False, "no": False, "off": False, "0": False}


class SettingsError(ValueError):
    """A setting is missing from the defaults file or has a value of the wrong type."""


@dataclasses.dataclass(frozen=True)
class Settings:
    """Every setting of the service; config/snekbox.toml documents each one."""

    nsjail_path: str
    nsjail_config: str
    work_dir: str
    job_uid_base: int
    job_uid_count: int
    job_uid_locks: str
    tmpfs_size: int
    output_limit: int
    max_output_files: int
    time_limit: float
    memory_limit: int
    max_time_limit: float
    max_memory_limit: int
    max_output_limit: int
    process_limit: int
    max_process_limit: int
    max_stdin: int
    max_cases: int
    max_body_size: int
    body_budget: int
    request_timeout: float
    max_reading: int
    runtimes: str
    packages: str
    workers: int
    max_jobs: int
    max_queue: int
    pool_size: int
    health_interval: float
    demote_after_cpu: float
    api_tokens: str
    api_tokens_file: str
    playground: bool
    mcp_url: str
    mcp_token: str

    @property
    def nsjail_config_path(self) -> Path:
        return CONFIG_DIR / self.nsjail_config

    @property
    def jobs_at_once(self) -> int:
        """max_jobs, or when 0: 8 per core, as many as half the memory can hold (both as
        the machine or the container's cgroup limits allow)."""
        if self.max_jobs > 0:
            return self.max_jobs
        cores, memory = limits.capacity()
        per_job = self.memory_limit + self.tmpfs_size
        return max(1, min(int(8 * cores), memory // 2 // per_job))

    @property
    def slot_bytes(self) -> int:
        """The most one job slot can hold: its job (memory and a full /home), then its
        answer until sent. A host or pod needs this for every slot (deploy/README.md)."""
        return (
            max(self.max_memory_limit, ANSWER_BYTES_PER_OUTPUT_BYTE * self.max_output_limit)
            + self.tmpfs_size
        )

    @property
    def worker_body_budget(self) -> int:
        """body_budget, or by default room for one largest body: its bytes, and twice its
        text while it is parsed."""
        return self.body_budget or BODY_BYTES_HELD * self.max_body_size

    @property
    def pool_per_worker(self) -> int:
        return -(-self.pool_size // self.workers)


def _boolean(raw: str) -> bool:
    """A switch from the environment (bool("false") would be True)."""
    try:
        return SWITCH_WORDS[raw.strip().lower()]
    except KeyError:
        raise ValueError(raw) from None


def _convert(name: str, raw: str, kind: type) -> object:
    try:
        return _boolean(raw) if kind is bool else kind(raw)
    except ValueError:
        raise SettingsError(
            f"{ENV_PREFIX}{name.upper()}={raw!r} is not a valid {kind.__name__}"
        ) from None


def load(environ: Mapping[str, str] | None = None, defaults_file: Path = DEFAULTS_FILE) -> Settings:
    """Read the defaults file, then apply any SNEKBOX_<KEY> variable from `environ`."""
    variables = os.environ if environ is None else environ
    with open(defaults_file, "rb") as f:
        values = tomllib.load(f)
    kinds = {field.name: str(field.type) for field in dataclasses.fields(Settings)}
    unknown = set(values) - set(kinds)
    missing = set(kinds) - set(values)
    if unknown or missing:
        raise SettingsError(
            f"{defaults_file}: unknown {sorted(unknown)}, missing {sorted(missing)}"
        )
    for name, kind_name in kinds.items():
        kind = {"int": int, "float": float, "str": str, "bool": bool}[kind_name]
        raw = variables.get(ENV_PREFIX + name.upper())
        values[name] = _convert(name, raw, kind) if raw is not None else kind(values[name])
    if 0 < values["body_budget"] < BODY_BYTES_HELD * values["max_body_size"]:
        raise SettingsError(
            f"{ENV_PREFIX}BODY_BUDGET={values['body_budget']} is under "
            f"{BODY_BYTES_HELD} x "
            f"{ENV_PREFIX}MAX_BODY_SIZE={values['max_body_size']}: the largest "
            "request allowed could never be read (its bytes, its text and its "
            "parsed values are held)"
        )
    if not 1 <= values["process_limit"] <= values["max_process_limit"]:
        raise SettingsError(
            f"{ENV_PREFIX}PROCESS_LIMIT={values['process_limit']} must be at least 1 and at "
            f"most {ENV_PREFIX}MAX_PROCESS_LIMIT={values['max_process_limit']}"
        )
    if values["max_reading"] < 1:
        raise SettingsError(
            f"{ENV_PREFIX}MAX_READING={values['max_reading']}: at least one "
            "request must be read at a time"
        )
    return Settings(**values)


@functools.cache
def current() -> Settings:
    """The settings of this process, read once."""
    return load()
