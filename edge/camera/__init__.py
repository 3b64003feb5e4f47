"""Camera sources, the frame grabber thread and safe image decoding."""
