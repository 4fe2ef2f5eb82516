"""The issue's peer for the gateway: a minimal FastAPI + aiokafka endpoint.

`POST /v1/reads` takes one read or a JSON array of reads, publishes each to the reads topic
(keyed by camera_id, acks=all, idempotent, as the gateway does) and answers 202 after Kafka has
them all. No auth, no validation, no dedup, no metrics: what the gateway must at least match
while doing all of those. Served by uvicorn from `benchmarks.http_stack` (`--servers minimal`),
with the same `ANPR_KAFKA_BOOTSTRAP` and `ANPR_TOPIC_PREFIX`; `GET /readyz` answers once the
producer is up.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator

import orjson
from aiokafka import AIOKafkaProducer
from fastapi import FastAPI, Request, Response


def app() -> FastAPI:
    topic = os.environ.get("ANPR_TOPIC_PREFIX", "anpr.") + "reads.v1"
    producer = AIOKafkaProducer(
        bootstrap_servers=os.environ["ANPR_KAFKA_BOOTSTRAP"], acks="all", enable_idempotence=True
    )

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        await producer.start()
        try:
            yield
        finally:
            await producer.stop()

    peer = FastAPI(lifespan=lifespan)

    @peer.get("/readyz")
    async def readyz() -> dict[str, str]:
        return {"status": "ready"}

    @peer.post("/v1/reads", status_code=202)
    async def post_reads(request: Request) -> Response:
        parsed = orjson.loads(await request.body())
        reads = parsed if isinstance(parsed, list) else [parsed]
        sent = [
            await producer.send(topic, orjson.dumps(read), key=str(read["camera_id"]).encode())
            for read in reads
        ]
        await asyncio.gather(*sent)
        return Response(orjson.dumps({"accepted": len(reads)}), 202, media_type="application/json")

    return peer
