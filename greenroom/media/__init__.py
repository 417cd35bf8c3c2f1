"""The media library: uploaded images and videos, and their renditions for every placement."""
