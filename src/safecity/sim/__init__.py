"""Synthetic city: rendered street scenes with ground truth, simulated cameras and site gateways."""
