"""What a server process holds: deployments, the watcher that swaps them, tokens, capture.

A :class:`Deployment` is one endpoint's loaded models and routing table; it never
changes once built. A watcher thread polls the store (endpoint revisions, alias holders)
and, on a change, loads what is new in the background, then replaces the deployments
in one assignment: a request uses the deployment it started with, so none fails or
waits for a load. An endpoint whose new models cannot load keeps serving the ones it
had (the others move on), and its load is tried again with a growing delay.
"""

from __future__ import annotations

import hashlib
import logging
import random
import re
import threading
import time
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from alambic.errors import AlambicError, ServingError
from alambic.serving._capture import CaptureBuffer, capture_root
from alambic.serving._config import Endpoint, Variant
from alambic.serving._metrics import metrics
from alambic.serving._options import ServerOptions
from alambic.serving._predictor import Predictor, RequestError

__all__ = ["Deployment", "ServerState", "bearer"]

log = logging.getLogger(__name__)
RETRY_SECONDS = (1.0, 2.0, 5.0, 10.0, 30.0)  # between attempts to load a failing endpoint


_TOKEN68 = re.compile(r"[A-Za-z0-9._~+/-]+=*")  # RFC 6750's b64token: one word
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]{0,29}")  # a name safe to echo
_EXPECTED = "Bearer <token>"
_HOW = "send 'Authorization: Bearer <token>' (create a token with `alambic tokens create`)"


def bearer(headers: list[str]) -> str:
    """The token of the request's ``Authorization: Bearer <token>`` header.

    Args:
        headers: the values of every ``Authorization`` header of the request.

    Raises:
        RequestError: 401 without the header; 400 (``field: "authorization"``) when it is
            repeated, empty, of another scheme, or holds no token or more than one word.

    Example:
        >>> bearer(["Bearer alm_0123_secret"])
        'alm_0123_secret'
        >>> try:
        ...     bearer(["Bearer alm_0123 secret"])  # two words
        ... except RequestError as exc:
        ...     print(exc.status, exc.field)
        400 authorization
    """
    if not headers:
        raise RequestError(f"this route needs a token: {_HOW}", status=401)

    def malformed(problem: str) -> RequestError:
        return RequestError(
            f"{problem}; {_HOW}", status=400, field="authorization", expected=_EXPECTED
        )

    if len(headers) > 1:
        raise malformed(f"the request has {len(headers)} Authorization headers, not one")
    scheme, _, text = headers[0].strip().partition(" ")
    if not scheme:
        raise malformed("the Authorization header is empty")
    if scheme.lower() != "bearer":
        named = repr(scheme) if _SCHEME.fullmatch(scheme) else "another scheme"
        raise malformed(f"the Authorization header uses {named}, not Bearer")
    text = text.strip()
    if not text:
        raise malformed("the Authorization header has no token after 'Bearer' (an empty variable?)")
    if not _TOKEN68.fullmatch(text):
        raise malformed(
            "the token in the Authorization header is malformed: a token is one word of "
            "letters, digits and -._~+/ (no spaces, line breaks or other characters); if "
            "it comes from a shell variable, check that it holds the token alone, as "
            "TOKEN=$(alambic tokens create NAME --quiet) does"
        )
    return text


def _fraction(*parts: str) -> float:
    digest = hashlib.blake2b("\x00".join(parts).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


@dataclass(frozen=True)
class Deployment:
    """One endpoint's loaded variants and shadows (immutable: swapped whole)."""

    endpoint: Endpoint
    variants: tuple[tuple[Variant, Predictor], ...]
    shadows: tuple[tuple[Variant, Predictor], ...]
    revision: int

    def choose(self, key: str | None) -> tuple[Variant, Predictor]:
        """A variant by weight: random, or fixed for a caller's key."""
        point = random.random() if key is None else _fraction(self.endpoint.name, key)  # noqa: S311
        total = 0.0
        for variant, predictor in self.variants:
            total += variant.weight
            if point < total:
                return variant, predictor
        return self.variants[-1]

    def by_version(self, version: str) -> tuple[Variant, Predictor] | None:
        """The variant serving that version (``"3"``), or None."""
        for variant, predictor in self.variants:
            if predictor.version == version:
                return variant, predictor
        return None

    def holdout(self, key: str | None) -> bool:
        """Whether this request is in the holdout share (fixed for a caller's key)."""
        share = self.endpoint.holdout
        if share <= 0:
            return False
        point = random.random() if key is None else _fraction("holdout", self.endpoint.name, key)  # noqa: S311
        return point < share


@dataclass
class _Failure:
    error: str
    attempts: int
    retry_at: float  # time.monotonic()
    since: float  # time.time() of the first failure


class ServerState:
    """What a server process holds: deployments, the watcher, capture, token cache.

    Args:
        endpoints: names to serve (None: every endpoint in the store, new ones included).
        options: polling, token cache and capture bounds (the defaults when None).
    """

    def __init__(
        self, endpoints: list[str] | None = None, *, options: ServerOptions | None = None
    ) -> None:
        from alambic.serving._endpoints import serving_store

        self.names = endpoints
        self.options = ServerOptions() if options is None else options
        self.store = serving_store()
        self.deployments: dict[str, Deployment] = {}
        self.failures: dict[str, _Failure] = {}  # endpoints whose latest load failed
        self._predictors: dict[str, Predictor] = {}  # by model ref name/version
        self._state: Any = None
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self._tokens: dict[str, tuple[Any, float]] = {}
        self._lock = threading.Lock()
        self.capture: CaptureBuffer | None = None

    # -- loading ---------------------------------------------------------------------
    def _groups(self, configs: dict[str, Endpoint]) -> list[str]:
        from alambic.registry import parse_ref

        return sorted({parse_ref(ref)[0] for e in configs.values() for ref in e.models})

    def _records(self, *, strict: bool = False) -> list[Any]:
        records = self.store.list_endpoints()
        if self.names is not None:
            records = [r for r in records if r.name in self.names]
            missing = set(self.names) - {r.name for r in records}
            if missing and strict:
                raise ServingError(
                    f"no endpoint {sorted(missing)}; create it with `alambic endpoints create`"
                )
        return records

    def _configs(self) -> dict[str, Endpoint]:
        """The stored configs that parse (one that does not fails only its own load)."""
        configs = {}
        for record in self._records():
            try:
                configs[record.name] = Endpoint.parse(record.name, record.config)
            except AlambicError:
                continue
        return configs

    def _predictor(self, ref: str) -> Predictor:
        from alambic.config import settings
        from alambic.registry import registry_store, resolve
        from alambic.store import ArtifactRef, ArtifactStore, load_value

        record = resolve(ref)
        if record.ref in self._predictors:
            return self._predictors[record.ref]
        policy = registry_store().get_group(record.group).policy
        artifact = ArtifactRef.from_dict(record.model)
        store = ArtifactStore(settings().artifacts)
        try:
            if policy.get("allow_pickle"):  # the group opted in: code may run on load
                from alambic.models import loads_model

                with store.local_file(artifact.hash) as path:
                    model = loads_model(path.read_bytes(), trusted=["*"], allow_pickle=True)
            else:
                model = load_value(store, artifact)
        except AlambicError as exc:
            raise ServingError(
                f"cannot load {record.ref} for serving: {exc}. Formats that can run code load "
                f"only if the group opted in: al.registry.set_policy({record.group!r}, "
                "allow_pickle=True)"
            ) from exc
        predictor = Predictor(model, record.ref)
        self._predictors[record.ref] = predictor
        return predictor

    def _deploy(self, endpoint: Endpoint, revision: int) -> Deployment:
        return Deployment(
            endpoint,
            tuple((v, self._predictor(v.model)) for v in endpoint.variants),
            tuple((v, self._predictor(v.model)) for v in endpoint.shadows),
            revision,
        )

    def load(self, *, strict: bool = False) -> dict[str, Deployment]:
        """Build every deployment from the store and swap them in at once.

        An endpoint whose models cannot load keeps the deployment it had (if any), and is
        listed in :attr:`failures` until a later load succeeds.

        Args:
            strict: raise instead, leaving every deployment as it was (at start-up).

        Raises:
            ServingError: (strict) an endpoint is missing or its models cannot load.
        """
        m = metrics()
        with self._lock:
            # The state first: a change made while this loads is seen at the next poll.
            groups = self._groups(self._configs())
            state = self._watched(groups)
            records = self._records(strict=strict)
            fresh: dict[str, Deployment] = {}
            failures: dict[str, _Failure] = {}
            for record in records:
                name = record.name
                try:
                    endpoint = Endpoint.parse(name, record.config)
                    fresh[name] = self._deploy(endpoint, record.revision)
                except Exception as exc:  # a missing flavor's import too, not only ours
                    if strict:
                        raise ServingError(f"endpoint {name!r}: {exc}") from exc
                    failures[name] = self._failed(name, exc)
                    if name in self.deployments:
                        fresh[name] = self.deployments[name]
            gone = {*self.deployments, *self.failures} - {r.name for r in records}
            self.deployments = fresh  # one assignment: requests see old or new, whole
            self.failures = failures
            self._state = state  # what was seen; failures are retried on their own clock
            used = {p.ref for d in fresh.values() for _, p in (*d.variants, *d.shadows)}
            self._predictors = {k: p for k, p in self._predictors.items() if k in used}
            for name in (r.name for r in records):  # every series exists from the start
                m.capture_dropped.labels(name)
                m.capture_rows.labels(name)
                m.reload_failing.labels(name).set(1 if name in failures else 0)
            for name in gone:  # a deleted endpoint raises no alarm
                m.reload_failing.labels(name).set(0)
            return fresh

    def _failed(self, name: str, exc: Exception) -> _Failure:
        before = self.failures.get(name)
        attempts = 1 if before is None else before.attempts + 1
        delay = RETRY_SECONDS[min(attempts, len(RETRY_SECONDS)) - 1]
        keeps = "its previous ones" if name in self.deployments else "nothing"
        log.error(
            "endpoint %s: cannot load its new models (%s: %s); it keeps serving %s; next "
            "attempt in %.0f s",
            *(name, type(exc).__name__, exc, keeps, delay),
        )
        since = time.time() if before is None else before.since
        return _Failure(f"{exc}", attempts, time.monotonic() + delay, since)

    def _changed(self) -> bool:
        """Whether to load again: the store changed, or a failed endpoint's retry is due."""
        now = time.monotonic()
        if any(f.retry_at <= now for f in self.failures.values()):
            return True
        groups = self._groups(self._configs())  # what the stored configs need now
        return bool(self._watched(groups) != self._state)

    def _watched(self, groups: list[str]) -> tuple[Any, ...]:
        """What the watcher compares: endpoint revisions, and where the registry's
        references to these groups point (a change in either means a reload)."""
        from alambic.registry import pointers

        return self.store.revisions(self.names), *pointers(groups)

    def _watch(self) -> None:
        m = metrics()
        while not self._stop.wait(self.options.poll_seconds):
            try:
                if self._changed():
                    self.load()
                    m.reloads.labels("failed" if self.failures else "ok").inc()
                    log.info("endpoints reloaded: %s", self.summary())
            except Exception:  # keep serving the models in place; retry at the next poll
                m.reloads.labels("failed").inc()
                log.exception("reloading endpoints failed; the previous models stay in service")

    def start(self) -> None:
        """Load every endpoint (failing loudly), then watch and capture in the background."""
        self.load(strict=True)
        m = metrics()
        m.reloads.labels("ok")
        m.reloads.labels("failed")
        self.capture = CaptureBuffer(
            capture_root(),
            max_rows=self.options.capture_max_rows,
            max_bytes=self.options.capture_max_bytes,
            flush_seconds=self.options.capture_flush_seconds,
            on_drop=lambda endpoint, rows: m.capture_dropped.labels(endpoint).inc(rows),
            on_written=lambda endpoint, rows: m.capture_rows.labels(endpoint).inc(rows),
        )
        self._watcher = threading.Thread(target=self._watch, name="alambic-watch", daemon=True)
        self._watcher.start()

    def stop(self) -> None:
        """Stop watching, and write what capture holds."""
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(5)
        if self.capture is not None:
            self.capture.close()

    def summary(self) -> dict[str, Any]:
        """What is served now, per endpoint: variants with the version each serves, shadows,
        shares, and the error of a reload that failed (None when none did)."""
        summary: dict[str, Any] = {}
        for name, d in self.deployments.items():
            failure = self.failures.get(name)
            summary[name] = {
                "revision": d.revision,
                "variants": [
                    {"name": v.name, "model": v.model, "version": p.ref, "weight": v.weight}
                    for v, p in d.variants
                ],
                "shadows": [
                    {"name": v.name, "model": v.model, "version": p.ref} for v, p in d.shadows
                ],
                "holdout": d.endpoint.holdout,
                "public": d.endpoint.public,
                "capture": d.endpoint.capture,
                "reload_error": None if failure is None else failure.error,
            }
        return summary

    # -- tokens ----------------------------------------------------------------------
    def token(self, text: str) -> Any:
        """The token's record (cached ``token_ttl`` seconds), or None."""
        from alambic.serving._endpoints import check_token

        now = time.monotonic()
        hit = self._tokens.get(text)
        if hit is not None and hit[1] > now:
            return hit[0]
        record = check_token(self.store, text)
        if len(self._tokens) > 10_000:  # garbage tokens must not grow memory
            self._tokens.clear()
        self._tokens[text] = (record, now + self.options.token_ttl)
        return record

    async def authorize(
        self, request: Request, *, endpoint: str | None, admin: bool = False
    ) -> Any:
        """The caller's token record; RequestError 401 (no or bad token) or 403 (scope).

        A token seen in the last ``token_ttl`` seconds is checked from memory; another is
        looked up in a thread, so a flood of unknown tokens never blocks other requests. A
        header that is not ``Bearer <token>`` is a bad request (400, see :func:`bearer`).
        """
        return await self.check_token(
            request.headers.getlist("authorization"), endpoint=endpoint, admin=admin
        )

    async def check_token(
        self, authorization: list[str], *, endpoint: str | None, admin: bool = False
    ) -> Any:
        """:meth:`authorize` for the ``authorization`` values of any transport's request
        (HTTP headers, gRPC metadata)."""
        import anyio.to_thread

        text = bearer(authorization)
        hit = self._tokens.get(text)
        if hit is not None and hit[1] > time.monotonic():
            record = hit[0]
        else:
            record = await anyio.to_thread.run_sync(self.token, text)
        if record is None:
            raise RequestError("the token is unknown or revoked", status=401)
        if admin and record.scope != "admin":
            raise RequestError(
                f"token {record.id} has scope {record.scope}; this route needs admin", status=403
            )
        if record.scope not in ("invoke", "admin"):  # read, run: the control plane's scopes
            raise RequestError(
                f"token {record.id} has scope {record.scope}, for `alambic server`; serving "
                "needs a token of scope invoke or admin",
                status=403,
            )
        if endpoint is not None and record.endpoints and endpoint not in record.endpoints:
            raise RequestError(
                f"token {record.id} is restricted to {record.endpoints}; it may not use "
                f"endpoint {endpoint!r}",
                status=403,
            )
        return record
