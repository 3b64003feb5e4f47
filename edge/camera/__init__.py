"""Camera sources, the frame grabber thread and safe image decoding.

source = open_source(settings.camera)          # folder, image, video, device or stream
grabber = FrameGrabber(source, stop, backoff_max_s)
"""

from edge.camera.capture import redact_url
from edge.camera.grabber import FrameGrabber, GrabberState, capture_one, open_source
from edge.camera.sources import IMAGE_EXTENSIONS, Frame, FrameSource, SourceError

__all__ = [
    "IMAGE_EXTENSIONS",
    "Frame",
    "FrameGrabber",
    "FrameSource",
    "GrabberState",
    "SourceError",
    "capture_one",
    "open_source",
    "redact_url",
]
