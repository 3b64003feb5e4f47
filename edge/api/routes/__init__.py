"""One router per resource: health, predict, readings, labels, performance, metrics, dataset,
page."""
