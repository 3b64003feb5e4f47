"""DigitCam edge daemon: camera -> digits -> ONNX -> MQTT. Never imports torch."""

import os

__version__ = "0.1.0"

# numpy and OpenCV each bring an OpenBLAS that starts one thread per core (with its own
# buffers) the first time it is imported; the daemon does no BLAS work worth a thread, so on
# a 4-core Pi that is 6 idle threads. Set before anything imports numpy; a value the user set
# wins.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
