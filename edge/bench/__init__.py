"""`digitcam bench`: speed, memory and accuracy against the targets."""
