"""``tsad consume``: metric points read from a stream, through ``TsadService.ingest``.

A ``StreamSource`` (``source.py``) hides the stream: Redis Streams with a consumer
group (``redis_streams.py``), NATS JetStream with a durable pull consumer
(``jetstream.py``); a Kafka source would be one more module of the same shape.
``consumer.py`` is the loop (decode, ingest, ack only after the buffer write);
``formats.py`` and ``influx.py`` decode message bodies.
"""
