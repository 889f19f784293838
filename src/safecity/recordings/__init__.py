"""Recorded footage in the control plane: the segment index, playback, clips, retention."""
