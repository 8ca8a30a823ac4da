"""Open Inference Protocol v2's gRPC messages (``grpc_predict_v2.proto``), generated.

The ``*_pb2*`` modules are written by ``python scripts/generate_protos.py``, never by
hand; ``tests/serving/test_grpc.py`` fails when they are stale. ``_pb2_grpc`` (client
stubs, used by the tests) is imported only where it is needed.
"""

from alambic.serving._proto import grpc_predict_v2_pb2

__all__ = ["grpc_predict_v2_pb2"]
