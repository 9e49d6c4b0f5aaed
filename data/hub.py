"""Watching the labs on the Hugging Face Hub: new public model repositories become
catalog rows whose knowledge time is the minute the watcher first saw them.

Listing
    :func:`_list_models` is the only function that touches the network (tests replace it
    with recorded answers, as :func:`evbt.data.yf._download` for prices): it calls
    ``huggingface_hub.HfApi(token=None).list_models(author=ORG, sort="created_at",
    full=True)``; ``token=None`` is the library's usual place (``HF_TOKEN``, then the
    file ``hf auth login`` writes). The library already retries a request 5 times on a
    network error, HTTP 408/429/5xx (1 to 8 s apart, honouring ``Retry-After``); on top
    of that a failed listing is tried again :data:`TRIES` times with exponential backoff
    (:data:`BASE_DELAY`, doubled), as the price download does. What still fails is an
    :class:`~evbt.errors.OfflineError`: one line naming the organisation and what to do;
    nothing has been written by then (every organisation is listed before anything is
    compared or written).

Releases (the grouping rule)
    A repository's *release key* is its name, lowercased, split on ``-``/``_``, without
    the tokens that name a variant rather than a model: formats and quantisations
    (:data:`FORMAT_TOKENS`: FP8, GGUF, AWQ, ...), roles (:data:`ROLE_TOKENS`: Base,
    Instruct, Chat), tiers of one release (:data:`TIER_TOKENS`: Flash, Pro, Air, ...), sizes (``397B``, ``A17B``, ``0.5B``, ``1T``) and dated snapshots
    (four or eight digits: ``0528``, ``2507``, ``20250528``).
    ``Qwen3.5-397B-A17B-FP8`` -> ``qwen3.5``; ``DeepSeek-V3.1-Base`` -> ``deepseek-v3.1``;
    ``DeepSeek-V4-Flash`` -> ``deepseek-v4``;
    ``DeepSeek-R1-Distill-Qwen-7B`` -> ``deepseek-r1-distill-qwen``.
    Two keys are *related* when equal or when one extends the other by ``-...``
    (``deepseek-r1-distill-qwen`` extends ``deepseek-r1``). A newly seen repository joins
    the release of its organisation with a related key first seen at most
    :data:`GROUP_DAYS` days earlier (its variants, sizes and distillations come out
    together); otherwise it starts a new release. So ``DeepSeek-R1-0528``, four months
    after R1, is a release of its own, and so is ``DeepSeek-V3.1-Terminus``; a GGUF or
    FP8 copy published the day after is not.

Rows
    One ``model_launch`` row per new release, in the user's catalog (through
    :func:`evbt.data.catalog_io.add_events`): ``date``/``time`` = the first sighting in
    UTC, rounded *up* to the minute (``tz = UTC``; the reaction session follows from it
    like any row's), ``known_since`` = that day, ``status = confirmed``,
    ``confidence = single``, ``source`` = the first repository's URL, ``tags`` =
    ``china`` and the organisation's ``tags`` from the watched list, plus ``open_weights``
    when the weights are public (not gated with manual approval). The repository's
    ``createdAt`` is never the knowledge time (a repository can be created private and
    opened later); it and ``lastModified`` are kept in the state for review.

State
    A JSON file (:func:`read_state`, :func:`write_state`; atomic writes) of every
    repository seen, when, and the release it joined. The first listing of an
    organisation is a *baseline*: what it holds is recorded as already public and adds no
    row (when it appeared is unknown; ``evbt events crosscheck`` compares it with the
    catalog). The catalog row is written before the state records it; a run that stopped
    between the two is repaired by the next one, which finds the row (by its source URL)
    and adopts it instead of adding it again.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import re
import time
import tomllib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from evbt.errors import InputError, OfflineError

log = logging.getLogger(__name__)

HUB = "https://huggingface.co"
DEFAULT_ORGS = Path(__file__).resolve().parent / "watch_orgs.toml"
STATE_VERSION = 1
GROUP_DAYS = 7  # a related repository seen within this many days joins the release
TRIES = 3  # listings of one organisation (each already retried by huggingface_hub)
BASE_DELAY = 2.0  # seconds before our first retry; doubled each time
CROSS_BEFORE_DAYS = 120  # crosscheck: repositories created this long before the catalog date
CROSS_AFTER_DAYS = 30  # ... or this long after, count as the same release
UNCHANGED = "the catalog and the watch state are unchanged"

FORMAT_TOKENS = frozenset(
    [
        "fp8",
        "fp4",
        "fp16",
        "bf16",
        "int4",
        "int8",
        "awq",
        "gptq",
        "gguf",
        "mlx",
        "onnx",
        "nvfp4",
        "mxfp4",
        "4bit",
        "8bit",
        "w4a16",
        "w8a8",
        "w4a8",
        "exl2",
        "quantized",
        "dynamic",
    ]
)
ROLE_TOKENS = frozenset(["base", "instruct", "chat", "hf"])
TIER_TOKENS = frozenset(
    ["flash", "pro", "mini", "lite", "air", "max", "plus", "turbo", "nano", "small", "large"]
)
_SIZE = re.compile(r"^[ae]?\d+(?:\.\d+)?[bmkt]$")
_SNAPSHOT = re.compile(r"^(?:\d{4}|\d{8})$")
_ID_BAD = re.compile(r"[^a-z0-9.-]+")

_sleep: Callable[[float], None] = time.sleep  # tests replace this (or pass sleep=)


# ---------------------------------------------------------------- the watched organisations


@dataclass(frozen=True)
class WatchedOrg:
    """One Hub organisation: its name on the Hub and its metadata for the catalog."""

    name: str  # on the Hub, e.g. "deepseek-ai"
    org: str  # in the catalog, e.g. "DeepSeek"
    china: bool = False
    tags: tuple[str, ...] = ()

    def row_tags(self, *, open_weights: bool) -> list[str]:
        tags = (["china"] if self.china else []) + list(self.tags)
        if open_weights:
            tags.append("open_weights")
        return list(dict.fromkeys(t.lower() for t in tags))


def user_orgs_path() -> Path:
    """The user's list: ``watch_orgs.toml`` in the user data folder (need not exist)."""
    import platformdirs

    return Path(platformdirs.user_data_dir("evbt")) / "watch_orgs.toml"


def default_state_path() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("evbt")) / "watch_state.json"


def load_orgs(path: str | os.PathLike[str] | None = None) -> dict[str, WatchedOrg]:
    """The watched list: ``path``, else the user's file when it exists, else the bundled one."""
    p = Path(path) if path is not None else user_orgs_path()
    if path is None and not p.is_file():
        p = DEFAULT_ORGS
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{p}: no such organisations file: check the path") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise InputError(f"{p}: not a valid TOML file ({e}): fix the syntax") from None
    tables = raw.get("orgs")
    if not isinstance(tables, dict) or not tables:
        raise InputError(f"{p}: no [orgs.NAME] tables: add one per Hugging Face organisation")
    out: dict[str, WatchedOrg] = {}
    for name, t in tables.items():
        where = f"{p}: [orgs.{name}]"
        if not isinstance(t, dict):
            raise InputError(f'{where}: not a table: write [orgs.{name}] with org = "..."')
        unknown = set(t) - {"org", "china", "tags"}
        if unknown:
            raise InputError(
                f"{where}: unknown key {sorted(unknown)[0]!r}: the keys are org, china, tags"
            )
        org, china, tags = t.get("org", name), t.get("china", False), t.get("tags", [])
        if not isinstance(org, str) or not org.strip():
            raise InputError(f'{where}: org must be the catalog\'s name for it, e.g. "DeepSeek"')
        if not isinstance(china, bool):
            raise InputError(f"{where}: china must be true or false")
        if not isinstance(tags, list) or not all(
            isinstance(x, str) and re.match(r"^[a-z0-9][a-z0-9_]*$", x) for x in tags
        ):
            raise InputError(f'{where}: tags must be a list of lowercase tags, e.g. ["efficiency"]')
        out[name] = WatchedOrg(name=name, org=org.strip(), china=china, tags=tuple(tags))
    return out


def pick_orgs(known: Mapping[str, WatchedOrg], names: Sequence[str]) -> list[WatchedOrg]:
    """``names`` (case-insensitive) from the list; an unlisted name is watched without
    metadata (its Hub name as ``org``, no ``china`` tag). None given: the whole list."""
    if not names:
        return list(known.values())
    by_lower = {k.lower(): v for k, v in known.items()}
    out = []
    for n in names:
        if not re.match(r"^[A-Za-z0-9][A-Za-z0-9._-]*$", n):
            raise InputError(f"--org {n!r}: not a Hugging Face organisation name: e.g. deepseek-ai")
        out.append(by_lower.get(n.lower(), WatchedOrg(name=n, org=n)))
    return out


# ---------------------------------------------------------------- repositories and the network


@dataclass(frozen=True)
class Repo:
    """One public model repository as the Hub listed it."""

    id: str  # "zai-org/GLM-5"
    created_at: pd.Timestamp | None  # UTC; for review only, never the knowledge time
    last_modified: pd.Timestamp | None
    gated: str  # "false", "auto" or "manual"
    pipeline_tag: str = ""

    @property
    def name(self) -> str:
        return self.id.split("/", 1)[1]

    @property
    def url(self) -> str:
        return f"{HUB}/{self.id}"

    @property
    def open_weights(self) -> bool:
        return self.gated != "manual"

    @property
    def key(self) -> str:
        return release_key(self.name)


def _list_models(org: str, token: str | None) -> Iterable[Any]:
    """The Hub's answer for ``org`` (``ModelInfo`` objects). The only network call."""
    from huggingface_hub import HfApi

    return HfApi(token=token).list_models(author=org, sort="created_at", full=True)


class _Malformed(Exception):
    pass


def _utc(v: Any, what: str) -> pd.Timestamp | None:
    if v is None:
        return None
    if not isinstance(v, dt.datetime):
        raise _Malformed(f"{what} is {type(v).__name__}, not a date-time")
    ts = pd.Timestamp(v)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


def _parse(org: str, items: Iterable[Any]) -> list[Repo]:
    """Public, enabled repositories of ``org``; :class:`_Malformed` for an answer that is
    not a listing of model repositories."""
    out: dict[str, Repo] = {}
    for m in items:
        rid = getattr(m, "id", None)
        if not isinstance(rid, str) or rid.count("/") != 1:
            raise _Malformed(f"a repository without an 'owner/name' id ({rid!r})")
        owner, name = rid.split("/")
        if owner.lower() != org.lower() or not name:
            raise _Malformed(f"repository {rid} is not of {org}")
        if getattr(m, "private", False) or getattr(m, "disabled", False):
            continue
        gated = getattr(m, "gated", False)
        if gated not in (None, False, "auto", "manual"):
            raise _Malformed(f"{rid}: gated is {gated!r}")
        out[rid] = Repo(
            id=rid,
            created_at=_utc(getattr(m, "created_at", None), f"{rid}: createdAt"),
            last_modified=_utc(getattr(m, "last_modified", None), f"{rid}: lastModified"),
            gated=str(gated or "false").lower(),
            pipeline_tag=str(getattr(m, "pipeline_tag", None) or ""),
        )
    return sorted(out.values(), key=lambda r: r.id)


def _status(e: BaseException) -> int | None:
    code = getattr(getattr(e, "response", None), "status_code", None)
    return code if isinstance(code, int) else None


def _why(e: BaseException) -> str:
    return " ".join(f"{type(e).__name__}: {e}".split())[:160]


def _failure(org: str, e: BaseException, tries: int) -> tuple[bool, str]:
    """(worth retrying, the one-line message) for a failed listing of ``org``."""
    import httpx2
    from huggingface_hub.errors import OfflineModeIsEnabled

    where = f"Hugging Face org {org}"
    after = f"after {tries} tries" if tries > 1 else "at the first try"
    if isinstance(e, _Malformed | ValueError | KeyError | TypeError | AttributeError):
        return True, (
            f"{where}: malformed answer from the Hub {after} ({' '.join(str(e).split())[:160]}): "
            f"run again later; if it persists, upgrade huggingface_hub; {UNCHANGED}"
        )
    if isinstance(e, OfflineModeIsEnabled):
        return False, f"{where}: HF_HUB_OFFLINE is set: unset it to watch the Hub; {UNCHANGED}"
    code = _status(e)
    if code == 429:
        return True, (
            f"{where}: rate limited by the Hub (HTTP 429) {after}: wait a few minutes and run "
            f"again, or log in (HF_TOKEN or `hf auth login`) for a higher limit; {UNCHANGED}"
        )
    if code is not None and code >= 500:
        return True, (
            f"{where}: the Hub answered HTTP {code} {after}: the Hub is having trouble, run "
            f"again later; {UNCHANGED}"
        )
    if code in (401, 403):
        return False, (
            f"{where}: HTTP {code} from the Hub: check or remove your token (HF_TOKEN or "
            f"`hf auth logout`); {UNCHANGED}"
        )
    if code == 404:
        return False, f"{where}: not found on the Hub (HTTP 404): check the name; {UNCHANGED}"
    if code is not None:
        return False, f"{where}: HTTP {code} from the Hub ({_why(e)}); {UNCHANGED}"
    if isinstance(e, httpx2.HTTPError | OSError):
        return True, (
            f"{where}: no answer from the Hub {after} ({_why(e)}): check the network "
            f"(proxy, HF_ENDPOINT) and run again; {UNCHANGED}"
        )
    raise e  # not a failure of the Hub or the network: a bug, reported as one


@contextlib.contextmanager
def _quiet_library() -> Iterator[None]:
    """huggingface_hub logs each of its own retries as a warning; ours say what happened."""
    import huggingface_hub.utils.logging  # noqa: F401  (its import sets the level we change)

    lib = logging.getLogger("huggingface_hub")
    old = lib.level
    lib.setLevel(logging.ERROR)
    try:
        yield
    finally:
        lib.setLevel(old)


def list_repos(
    org: str,
    *,
    token: str | None = None,
    tries: int = TRIES,
    sleep: Callable[[float], None] | None = None,
) -> list[Repo]:
    """The public model repositories of ``org`` (retried with backoff; see module doc)."""
    wait = sleep or _sleep
    for attempt in range(1, tries + 1):
        try:
            with _quiet_library():
                return _parse(org, list(_list_models(org, token)))
        except Exception as e:
            retry, msg = _failure(org, e, attempt)
            if not retry or attempt == tries:
                raise OfflineError(msg) from None
            delay = BASE_DELAY * 2 ** (attempt - 1)
            log.info(
                "hub %s: listing failed (%s); try %d of %d in %.0f s",
                org,
                _why(e),
                attempt + 1,
                tries,
                delay,
            )
            wait(delay)
    raise AssertionError("unreachable")  # pragma: no cover


# ---------------------------------------------------------------- releases


def release_key(name: str) -> str:
    """The release a repository name belongs to (see the module doc's grouping rule)."""
    low = name.strip().lower()
    tokens = [t for t in re.split(r"[-_]", low) if t]
    keep = [
        t
        for t in tokens
        if t not in FORMAT_TOKENS
        and t not in ROLE_TOKENS
        and t not in TIER_TOKENS
        and not _SIZE.match(t)
        and not _SNAPSHOT.match(t)
    ]
    return "-".join(keep) or "-".join(tokens) or low


def related(a: str, b: str) -> bool:
    """Equal keys, or one extends the other by ``-...``."""
    return a == b or a.startswith(b + "-") or b.startswith(a + "-")


def _iso(ts: pd.Timestamp | None) -> str | None:
    return None if ts is None else ts.tz_convert("UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def _ts(v: str | None) -> pd.Timestamp | None:
    return None if v is None else pd.Timestamp(v).tz_convert("UTC")


def row_instant(first_seen: pd.Timestamp) -> pd.Timestamp:
    """The row's date/time: the first sighting in UTC rounded up to the minute (never
    before the sighting)."""
    ts = first_seen.tz_convert("UTC")
    return ts.ceil("min")


def event_id(org: str, key: str, seen: pd.Timestamp) -> str:
    """``hub-<org>-<release key>-<YYYYMMDD>``: never a bundled id, so a watcher row can
    not replace a curated one in the overlay."""
    slug = _ID_BAD.sub("-", f"hub-{org.lower()}-{key}-{row_instant(seen):%Y%m%d}")
    return re.sub(r"[-.]{2,}", "-", slug).strip("-.")


@dataclass
class Release:
    """One release: a new catalog row (``new``) or variants joining an earlier one."""

    event_id: str
    org: WatchedOrg
    key: str
    first_seen: pd.Timestamp
    repos: list[Repo] = field(default_factory=list)
    new: bool = True

    def row(self) -> dict[str, Any]:
        first = self.repos[0]
        at = row_instant(self.first_seen)
        return {
            "id": self.event_id,
            "name": f"{first.name} (on Hugging Face)",
            "org": self.org.org,
            "kind": "model_launch",
            "tags": ";".join(
                self.org.row_tags(open_weights=any(r.open_weights for r in self.repos))
            ),
            "date": f"{at:%Y-%m-%d}",
            "time": f"{at:%H:%M}",
            "tz": "UTC",
            "tickers": "",
            "scheduled": False,
            "status": "confirmed",
            "known_since": f"{at:%Y-%m-%d}",
            "source": first.url,
            "confidence": "single",
        }

    def review(self) -> dict[str, Any]:
        """What a user checks before trusting the row (createdAt is *not* the knowledge time)."""
        return {
            "event_id": self.event_id,
            "new_row": self.new,
            "hub_org": self.org.name,
            "release_key": self.key,
            "first_seen": _iso(self.first_seen),
            "repos": [
                {
                    "id": r.id,
                    "url": r.url,
                    "created_at": _iso(r.created_at),
                    "last_modified": _iso(r.last_modified),
                    "gated": r.gated,
                }
                for r in self.repos
            ],
        }


@dataclass
class Plan:
    releases: list[Release]  # new rows first, then variants of earlier releases
    baseline: dict[str, int]  # org -> repositories recorded without rows (first listing)
    adopted: list[str]  # event ids found in the catalog but not in the state (repaired)
    empty: list[str]  # organisations whose first listing was empty
    state: dict[str, Any]  # the state to write after the rows

    @property
    def rows(self) -> list[dict[str, Any]]:
        return [r.row() for r in self.releases if r.new]


def empty_state() -> dict[str, Any]:
    return {"version": STATE_VERSION, "orgs": {}, "repos": {}, "events": {}}


def _adopt(
    state: dict[str, Any], catalog: pd.DataFrame | None, orgs: Mapping[str, WatchedOrg]
) -> list[str]:
    """Rows the watcher wrote that the state does not know (a run stopped between the
    catalog write and the state write): record them as the releases they are."""
    if catalog is None or catalog.empty:
        return []
    out = []
    by_lower = {o.lower(): w for o, w in orgs.items()}
    for _, r in catalog.iterrows():
        src = str(r["source"])
        if not (str(r["id"]).startswith("hub-") and src.startswith(HUB + "/")):
            continue
        if r["id"] in state["events"]:
            continue
        rid = src[len(HUB) + 1 :]
        owner = rid.split("/")[0]
        w = by_lower.get(owner.lower())
        if w is None or "/" not in rid:
            continue
        hh, mm = (int(x) for x in str(r["time"]).split(":")) if ":" in str(r["time"]) else (0, 0)
        seen = pd.Timestamp(r["date"]).tz_localize("UTC") + pd.Timedelta(hours=hh, minutes=mm)
        key = release_key(rid.split("/", 1)[1])
        state["events"][r["id"]] = {
            "org": w.name,
            "key": key,
            "first_seen": _iso(seen),
            "repos": [rid],
        }
        state["repos"].setdefault(
            rid,
            {"first_seen": _iso(seen), "event": r["id"], "created_at": None, "last_modified": None},
        )
        out.append(str(r["id"]))
    return out


def plan(
    state: dict[str, Any],
    listings: Mapping[str, list[Repo]],
    orgs: Mapping[str, WatchedOrg],
    now: pd.Timestamp,
    *,
    catalog: pd.DataFrame | None = None,
) -> Plan:
    """Compare ``listings`` (seen at ``now``) with ``state``: the releases to add, and the
    new state. Pure: nothing is read or written."""
    now = pd.Timestamp(now)
    now = now.tz_localize("UTC") if now.tzinfo is None else now.tz_convert("UTC")
    st = json.loads(json.dumps(state))  # a copy: the caller's state is the old one until written
    adopted = _adopt(st, catalog, orgs)
    taken = set(catalog["id"]) if catalog is not None else set()
    releases: list[Release] = []
    baseline: dict[str, int] = {}
    empty: list[str] = []
    for name, repos in listings.items():
        w = orgs[name]
        ost = st["orgs"].setdefault(name, {})
        first_listing = "baseline" not in ost
        if not repos and first_listing:
            empty.append(name)  # said once, on the first listing
        ost.setdefault("baseline", _iso(now))
        ost["last_listing"] = _iso(now)
        fresh = [r for r in repos if r.id not in st["repos"]]
        if first_listing:
            for r in fresh:
                st["repos"][r.id] = _seen(r, now, None)
            if fresh:
                baseline[name] = len(fresh)
            continue
        # shorter keys first, so a release's main repository names it
        for r in sorted(fresh, key=lambda r: (len(r.key), r.key, len(r.name), r.name)):
            rel = _join(st, releases, w, r, now)
            if rel is None:
                eid = event_id(w.name, r.key, now)
                while eid in taken or eid in st["events"]:  # a second release of the key today
                    eid = _bump(eid)
                rel = Release(eid, w, r.key, now, [], new=True)
                releases.append(rel)
                st["events"][eid] = {
                    "org": w.name,
                    "key": r.key,
                    "first_seen": _iso(now),
                    "repos": [],
                }
            rel.repos.append(r)
            st["events"][rel.event_id]["repos"].append(r.id)
            st["repos"][r.id] = _seen(r, now, rel.event_id)
    releases.sort(key=lambda r: (not r.new, r.event_id))
    return Plan(releases, baseline, adopted, empty, st)


def _bump(eid: str) -> str:
    m = re.match(r"^(.*)-(\d+)$", eid)
    base, n = (eid, 1) if not m or len(m.group(2)) == 8 else (m.group(1), int(m.group(2)))
    return f"{base}-{n + 1}"


def _seen(r: Repo, now: pd.Timestamp, eid: str | None) -> dict[str, Any]:
    return {
        "first_seen": _iso(now),
        "event": eid,
        "created_at": _iso(r.created_at),
        "last_modified": _iso(r.last_modified),
    }


def _join(
    st: dict[str, Any], releases: list[Release], w: WatchedOrg, r: Repo, now: pd.Timestamp
) -> Release | None:
    """The release ``r`` joins (this run's, or an earlier one as a variant), else None."""
    best: tuple[pd.Timestamp, str] | None = None
    for eid, ev in st["events"].items():
        if ev["org"].lower() != w.name.lower() or not related(r.key, ev["key"]):
            continue
        seen = _ts(ev["first_seen"])
        assert seen is not None
        if now - seen > pd.Timedelta(days=GROUP_DAYS) or seen > now:
            continue
        if best is None or seen > best[0]:
            best = (seen, eid)
    if best is None:
        return None
    for rel in releases:
        if rel.event_id == best[1]:
            return rel
    ev = st["events"][best[1]]
    seen = _ts(ev["first_seen"])
    assert seen is not None
    rel = Release(best[1], w, ev["key"], seen, [], new=False)
    releases.append(rel)
    return rel


# ---------------------------------------------------------------- the state file


def read_state(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The watcher's state (an empty one when the file does not exist yet)."""
    p = Path(path)
    if not p.exists():
        return empty_state()
    if p.is_dir():
        raise InputError(f"{p}: the watch state is a folder: pass a file path for --state")
    try:
        raw = json.loads(p.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(
            f"{p}: corrupt watch state ({type(e).__name__}): restore it, or delete it to "
            "start afresh (the next run is then a baseline and adds no rows)"
        ) from None
    ok = (
        isinstance(raw, dict)
        and raw.get("version") == STATE_VERSION
        and all(isinstance(raw.get(k), dict) for k in ("orgs", "repos", "events"))
    )
    if not ok:
        raise InputError(
            f"{p}: not an evbt watch state (version {STATE_VERSION}): pass the right --state, "
            "or delete it to start afresh"
        )
    return raw


def write_state(path: str | os.PathLike[str], state: Mapping[str, Any]) -> None:
    """Write the state atomically (temp file in the same folder, fsync, rename)."""
    from evbt.fsutil import atomic_write

    p = Path(path)
    try:
        p.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(p, json.dumps(state, indent=1, sort_keys=True).encode("utf-8"))
    except OSError as e:
        raise InputError(
            f"{p}: cannot write the watch state ({e.strerror}): pick another --state"
        ) from None


# ---------------------------------------------------------------- the whole run


def _now() -> pd.Timestamp:
    """The sighting instant (tests replay listings at recorded instants)."""
    return pd.Timestamp.now(tz="UTC")


@dataclass
class WatchResult:
    plan: Plan
    catalog: Path
    state: Path
    dry_run: bool
    listed: dict[str, int]


def _target_catalog(path: str | os.PathLike[str] | None) -> tuple[Path, pd.DataFrame | None]:
    from evbt.data.catalog_io import user_catalog_path, validate_catalog

    if path is None:
        return user_catalog_path(), validate_catalog(None)  # bundled + user: every id taken
    p = Path(path)
    return p, validate_catalog(p)


def watch(
    orgs: Sequence[WatchedOrg],
    *,
    state_path: str | os.PathLike[str] | None = None,
    catalog: str | os.PathLike[str] | None = None,
    dry_run: bool = False,
    now: pd.Timestamp | None = None,
    token: str | None = None,
    sleep: Callable[[float], None] | None = None,
) -> WatchResult:
    """List every organisation, then add the new releases' rows, then record the state.

    Any failure before the catalog write leaves the catalog and the state as they were;
    the state is written only after the rows it records.
    """
    from evbt.data.catalog_io import add_events

    sp = Path(state_path) if state_path is not None else default_state_path()
    state = read_state(sp)  # a corrupt state fails before any network
    cat_path, cat = _target_catalog(catalog)
    listings = {w.name: list_repos(w.name, token=token, sleep=sleep) for w in orgs}
    seen_at = _now() if now is None else pd.Timestamp(now)  # after the answers came
    by_name = {w.name: w for w in orgs}
    p = plan(state, listings, by_name, seen_at, catalog=cat)
    if not dry_run:
        if p.rows:
            add_events(catalog, p.rows)  # all or nothing; then, only then, the state
        write_state(sp, p.state)
    return WatchResult(p, cat_path, sp, dry_run, {k: len(v) for k, v in listings.items()})


# ---------------------------------------------------------------- crosscheck


def crosscheck(
    catalog: pd.DataFrame,
    listings: Mapping[str, list[Repo]],
    orgs: Mapping[str, WatchedOrg],
    state: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Each confirmed ``model_launch`` row of a watched organisation against the Hub's
    repositories of the same release: the earliest ``createdAt`` (and the watcher's first
    sighting, when the state has one) and the days between them and the catalog's date.

    Same release: the catalog id's release key equals the repository's (else, when none
    does, extends or is extended by it), the id's dated snapshot (``0528``) is in the
    repository name, and the repository was created from :data:`CROSS_BEFORE_DAYS` before
    to :data:`CROSS_AFTER_DAYS` after the catalog date. Watcher rows (``hub-...``) are
    left out. Read-only.
    """
    seen = dict((state or {}).get("repos", {}))
    out: list[dict[str, Any]] = []
    for name, repos in listings.items():
        w = orgs[name]
        rows = catalog[
            (catalog["kind"] == "model_launch")
            & (catalog["status"] == "confirmed")
            & (catalog["org"].str.lower() == w.org.lower())
            & ~catalog["id"].str.startswith("hub-")
        ]
        for _, r in rows.iterrows():
            day = pd.Timestamp(r["date"])
            key = release_key(str(r["id"]))
            snaps = {t for t in re.split(r"[-_]", str(r["id"])) if _SNAPSHOT.match(t)}
            lo, hi = (
                day - pd.Timedelta(days=CROSS_BEFORE_DAYS),
                day + pd.Timedelta(days=CROSS_AFTER_DAYS),
            )

            def in_window(
                x: Repo, snaps: set[str] = snaps, lo: pd.Timestamp = lo, hi: pd.Timestamp = hi
            ) -> bool:
                toks = set(re.split(r"[-_]", x.name.lower()))
                c = x.created_at
                return (
                    snaps <= toks
                    and c is not None
                    and lo <= c.tz_localize(None) <= hi + pd.Timedelta(days=1)
                )

            same = [x for x in repos if x.key == key and in_window(x)]
            if not same:
                same = [x for x in repos if related(x.key, key) and in_window(x)]
            rec: dict[str, Any] = {
                "event_id": r["id"],
                "org": r["org"],
                "hub_org": name,
                "date": f"{day:%Y-%m-%d}",
                "known_since": None
                if pd.isna(r["known_since"])
                else f"{r['known_since']:%Y-%m-%d}",
                "repos": sorted(x.id for x in same),
                "first_repo": None,
                "created_at": None,
                "first_seen": None,
                "days": None,
                "note": "",
            }
            if not same:
                rec["note"] = "no repository of this release on the Hub"
                out.append(rec)
                continue
            first = min(same, key=lambda x: (x.created_at, x.id))
            assert first.created_at is not None
            created = first.created_at
            days = (pd.Timestamp(created.date()) - day).days
            sightings = [
                _ts(seen[x.id]["first_seen"]) for x in same if seen.get(x.id, {}).get("event")
            ]
            first_seen = min((s for s in sightings if s is not None), default=None)
            rec.update(
                first_repo=first.id,
                created_at=_iso(created),
                days=days,
                first_seen=_iso(first_seen),
            )
            if days < 0:
                rec["note"] = (
                    f"weights created on the Hub {-days} days before the catalog date: if public "
                    f"then, set known_since {created:%Y-%m-%d} (createdAt can predate public "
                    "visibility: check the repository's history first)"
                )
            elif days > 0:
                rec["note"] = f"weights on the Hub {days} days after the catalog date"
            else:
                rec["note"] = "same day"
            out.append(rec)
    return out
