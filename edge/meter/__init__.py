"""Printed digits: meter counter wheels and 7-segment displays, and readings that stay plausible."""
