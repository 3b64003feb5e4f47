"""DigitCam edge daemon: camera -> digits -> ONNX -> MQTT. Never imports torch."""

__version__ = "0.1.0"
