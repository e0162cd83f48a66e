"""Text steps shared by triage and knowledge: normalising, word segmentation and the sentence encoder. Pure:
no storage, no runtime."""
