"""``/images/*``: list, inspect, history, tag, remove, prune, load, save (get), import (create)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol

from dockyard.api import params, wire
from dockyard.api.progress import progress_json
from dockyard.api.responses import empty, error_message, json_message, json_response, json_stream
from dockyard.api.router import Router
from dockyard.errors import DockyardError, InvalidArgument, NotImplemented_
from dockyard.http.server import Request, Response
from dockyard.image.model import DeleteRecord, HistoryItem, ImageView, LoadedImage, PruneReport
from dockyard.image.progress import Progress

LIST_FILTERS = {"dangling", "label", "before", "since", "reference", "until"}
PRUNE_FILTERS = {"dangling", "until", "label", "label!"}


class RegistryBackend(Protocol):
    def pull(self, from_image: str, tag: str, *, platform: str, auth_header: str | None) -> AsyncIterator[Progress]: ...
    def push(self, name: str, tag: str, *, auth_header: str | None) -> AsyncIterator[Progress]: ...


class ImageBackend(Protocol):
    graph_driver: str

    async def list_images(self, *, all_images: bool, filters: dict[str, list[str]]) -> list[ImageView]: ...
    async def shared_sizes(self) -> dict[str, int]: ...
    async def inspect_image(self, name: str) -> ImageView: ...
    async def image_history(self, name: str) -> list[HistoryItem]: ...
    async def tag_image(self, source: str, repo: str, tag: str) -> None: ...
    async def remove_image(self, name: str, *, force: bool, prune: bool) -> list[DeleteRecord]: ...
    async def prune_images(self, filters: dict[str, list[str]]) -> PruneReport: ...
    async def load_images(self, body: AsyncIterator[bytes]) -> list[LoadedImage]: ...
    async def save_images(self, names: list[str]) -> AsyncIterator[bytes]: ...
    async def import_image(self, body: AsyncIterator[bytes], *, repo: str, tag: str, changes: list[str],
                           message: str, platform: str, source: str) -> str: ...


def _version(req: Request) -> str:
    return req.path_params.get("_version", "1.44")


class ImageRoutes:
    def __init__(self, backend: ImageBackend, registry: RegistryBackend) -> None:
        self.backend = backend
        self.registry = registry

    def register(self, router: Router) -> None:
        router.add("GET", "/images/json", self.list_images)
        router.add("POST", "/images/load", self.load)
        router.add("GET", "/images/get", self.save_many)
        router.add("POST", "/images/create", self.create)
        router.add("POST", "/images/prune", self.prune)
        router.add("GET", "/images/{name:.+}/json", self.inspect)
        router.add("GET", "/images/{name:.+}/history", self.history)
        router.add("GET", "/images/{name:.+}/get", self.save_one)
        router.add("POST", "/images/{name:.+}/tag", self.tag)
        router.add("POST", "/images/{name:.+}/push", self.push)
        router.add("DELETE", "/images/{name:.+}", self.remove)

    async def list_images(self, req: Request) -> Response:
        filters = params.filters(req)
        params.check_filter_keys(filters, LIST_FILTERS)
        views = await self.backend.list_images(all_images=params.flag(req, "all"), filters=filters)
        shared = await self.backend.shared_sizes() if params.flag(req, "shared-size") else {}
        version = _version(req)
        return json_response([wire.image_summary(v, shared_size=shared.get(v.id, -1) if shared else -1,
                                                 api_version=version) for v in views])

    async def inspect(self, req: Request) -> Response:
        view = await self.backend.inspect_image(req.path_params["name"])
        return json_response(wire.image_inspect(view, graph_driver=self.backend.graph_driver,
                                                api_version=_version(req)))

    async def history(self, req: Request) -> Response:
        return json_response(wire.history(await self.backend.image_history(req.path_params["name"])))

    async def tag(self, req: Request) -> Response:
        repo = req.query_value("repo") or ""
        if not repo:
            raise InvalidArgument("repository name must have at least one component")
        await self.backend.tag_image(req.path_params["name"], repo, req.query_value("tag") or "")
        return empty(201)

    async def remove(self, req: Request) -> Response:
        records = await self.backend.remove_image(req.path_params["name"], force=params.flag(req, "force"),
                                                  prune=not params.flag(req, "noprune"))
        return json_response(wire.delete_records(records))

    async def prune(self, req: Request) -> Response:
        filters = params.filters(req)
        params.check_filter_keys(filters, PRUNE_FILTERS)
        return json_response(wire.prune_report(await self.backend.prune_images(filters)))

    async def load(self, req: Request) -> Response:
        quiet = params.flag(req, "quiet")
        loaded = await self.backend.load_images(req.body_chunks())

        async def messages() -> AsyncIterator[bytes]:
            for item in loaded:
                text = f"Loaded image: {item.tag}\n" if item.tag else f"Loaded image ID: {item.image_id}\n"
                yield json_message({"stream": text})

        del quiet  # dockerd prints the same lines either way; quiet only hides progress bars
        return json_stream(messages())

    async def save_many(self, req: Request) -> Response:
        names = req.query.get("names", [])
        return await self._save(names)

    async def save_one(self, req: Request) -> Response:
        return await self._save([req.path_params["name"]])

    async def _save(self, names: list[str]) -> Response:
        stream = await self.backend.save_images(names)
        return Response(status=200, headers=[("Content-Type", "application/x-tar")], body=stream)

    async def create(self, req: Request) -> Response:
        source = req.query_value("fromSrc")
        if source is None:
            image = req.query_value("fromImage") or ""
            if not image:
                raise InvalidArgument("fromImage or fromSrc is required")
            events = self.registry.pull(image, req.query_value("tag") or "",
                                        platform=req.query_value("platform") or "",
                                        auth_header=req.headers.get("x-registry-auth"))
            return await progress_response(events)
        if source != "-":
            raise NotImplemented_("importing from a URL is not supported; pass the tarball as the request body")
        repo = req.query_value("repo") or ""
        tag = req.query_value("tag") or ""
        changes = req.query.get("changes", [])
        message = req.query_value("message") or ""
        platform = req.query_value("platform") or ""
        image_id = await self.backend.import_image(req.body_chunks(), repo=repo, tag=tag, changes=changes,
                                                   message=message, platform=platform, source=source)

        async def messages() -> AsyncIterator[bytes]:
            yield json_message({"status": image_id})

        return json_stream(messages())

    async def push(self, req: Request) -> Response:
        events = self.registry.push(req.path_params["name"], req.query_value("tag") or "",
                                    auth_header=req.headers.get("x-registry-auth"))
        return await progress_response(events)


async def progress_response(events: AsyncIterator[Progress]) -> Response:
    """Errors before the first message are HTTP errors; after it, a final error message."""
    try:
        first = await anext(events)
    except StopAsyncIteration:
        first = None

    async def body() -> AsyncIterator[bytes]:
        if first is not None:
            yield json_message(progress_json(first))
        try:
            async for p in events:
                yield json_message(progress_json(p))
        except DockyardError as exc:
            yield error_message(str(exc))
        except Exception as exc:  # a bug: still end the stream the way clients understand
            yield error_message(f"internal error: {exc}")

    return json_stream(body())


async def stream_with_errors(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """Once a stream has started, an error can only travel as a final JSON message."""
    try:
        async for chunk in chunks:
            yield chunk
    except DockyardError as exc:
        yield error_message(str(exc))
