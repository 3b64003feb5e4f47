"""Finding, normalising and cropping digits in a grayscale image: pure functions, no I/O."""
